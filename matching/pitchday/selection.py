"""Choosing who pitches: which candidates of an event's pool take its pitch slots, and in
what order.

The choice is a mixed-integer programme solved by HiGHS through ``scipy.optimize.milp``,
over one binary per candidate. A listing's value is its *total fit*: the sum, over the
attending investors, of its score for each investor who scores it at or above the
threshold (a score below it is not a match and counts nothing). Summing scores rather
than counting matches keeps the strength of a fit; cutting at the threshold keeps a
crowd of weak fits from outweighing real ones.

Hard rules: the number of pitch slots, at most N per city and per publisher (raised to
the pinned count where pins alone exceed it), pinned listings in, excluded ones out.
Soft rules, met wherever the pool allows, in this order of priority: at least M
listings of each kind, then at least k matches for every attending investor. They are
solved lexicographically, not traded against fit at an invented exchange rate: a first
solve finds the least shortfall (kinds weighted above every coverage shortfall), a
second maximises total fit among the plans with no more shortfall than that. Shortfalls
are slack variables, so an impossible rule never makes the run fail: it is reported.

Ties are broken by listing id (a perturbation too small to outweigh a hundredth of a
point), and the model is built in listing-id order, so the same input gives the same
plan.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from catalog.taxonomy import SECTOR_PARENT, ListingKind, Sector

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

KINDS = tuple(kind.value for kind in ListingKind)
# Branch-and-bound nodes per solve: a bound on the work that, unlike a time limit, gives
# the same plan on a fast machine and a slow one. Reached, the best plan found is kept and
# the gap to the solver's bound says how far from optimal it may be.
NODE_LIMIT = 5_000
# Fit is optimised in hundredths of a point (scores are shown to two decimals), so the
# tie-break, worth less than one hundredth in total, never outweighs a real difference.
CENTI = 100.0
TIE_BREAK = 0.9


@dataclass(frozen=True)
class Candidate:
    """What the optimiser needs of one listing in the pool."""

    listing_id: int
    kind: str
    sector: str
    city: int
    publisher: int
    pinned: bool = False


@dataclass(frozen=True)
class Rules:
    slots: int
    max_per_city: int | None = None
    max_per_publisher: int | None = None
    min_per_kind: int = 0
    min_per_investor: int = 0


@dataclass(frozen=True)
class Solution:
    chosen: tuple[int, ...]  # listing ids, ascending
    objective: float  # total fit of the chosen listings
    bound: float  # the solver's bound: no plan as good on the rules has more fit
    kind_wanted: dict[str, int]  # the kind minimum, as far as the pool has listings
    kind_shortfall: dict[str, int]
    coverage_wanted: npt.NDArray[np.int64]  # per investor: min(k, matches in the pool)
    coverage_shortfall: npt.NDArray[np.int64]  # per investor
    optimal: bool
    nodes: int
    solves: int
    seconds: float
    caps_raised: dict[str, list[Hashable]] = field(default_factory=dict)


def fit_matrix(scores: npt.ArrayLike, passed: npt.ArrayLike, threshold: float) -> FloatArray:
    """Candidates x investors: the score (to two decimals) where the investor's hard
    constraints pass and the score reaches ``threshold``, else 0."""
    rounded = np.round(np.asarray(scores, dtype=np.float64), 2)
    keep = np.asarray(passed, dtype=np.bool_) & (rounded >= threshold) & (rounded > 0)
    fit: FloatArray = np.where(keep, rounded, 0.0)
    return fit


def _indicator(rows: Sequence[Sequence[int]], n: int) -> sparse.csr_matrix:
    indptr = np.cumsum([0, *(len(r) for r in rows)])
    indices = np.fromiter((i for r in rows for i in r), dtype=np.int64, count=int(indptr[-1]))
    return sparse.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(rows), n))


@dataclass
class _Outcome:
    chosen: BoolArray
    dual_bound: float  # of the minimisation solved
    optimal: bool
    nodes: int


class _Model:
    """The rules over one binary per candidate (in listing-id order), with shortfall
    variables for the kind minimums and for the coverage of the investors ``active``."""

    def __init__(self, pool: Sequence[Candidate], matches: BoolArray, rules: Rules) -> None:
        self.pool, self.matches, self.n = pool, matches, len(pool)
        self.pinned = np.array([c.pinned for c in pool], dtype=np.bool_)
        if self.pinned.sum() > rules.slots:
            raise ValueError("more pinned listings than pitch slots")
        self.slots = min(rules.slots, self.n)
        self.kind_wanted = {
            kind: min(rules.min_per_kind, sum(c.kind == kind for c in pool)) for kind in KINDS
        }
        self.kinds = [kind for kind in KINDS if self.kind_wanted[kind] > 0]
        self.coverage_wanted = np.minimum(
            np.minimum(rules.min_per_investor, matches.sum(axis=0)), self.slots
        ).astype(np.int64)
        self.caps_raised: dict[str, list[Hashable]] = {}
        rows: list[list[int]] = []
        limits: list[int] = []
        for name, keys, cap in (
            ("city", [c.city for c in pool], rules.max_per_city),
            ("publisher", [c.publisher for c in pool], rules.max_per_publisher),
        ):
            if cap is None:
                continue
            members: dict[Hashable, list[int]] = defaultdict(list)
            for i, key in enumerate(keys):
                members[key].append(i)
            for key, group in members.items():
                if len(group) <= cap:
                    continue
                pins = int(self.pinned[group].sum())
                rows.append(group)
                limits.append(max(cap, pins))  # pins are always in, even past the quota
                if pins > cap:
                    self.caps_raised.setdefault(name, []).append(key)
        self.quotas = (_indicator([list(range(self.n)), *rows], self.n), [self.slots, *limits])
        self.by_kind = _indicator(
            [[i for i, c in enumerate(pool) if c.kind == kind] for kind in self.kinds], self.n
        )

    def solve(
        self,
        x_cost: FloatArray,
        *,
        active: Sequence[int] = (),
        s_cost: float = 0.0,
        u_cost: float = 0.0,
        kind_shortfall_at_most: int | None = None,
    ) -> _Outcome:
        """Minimise ``x_cost @ x + s_cost * sum(s) + u_cost * sum(u)`` under the rules."""
        n, n_s, n_u = self.n, len(active), len(self.kinds)
        zeros = sparse.csr_matrix

        def over(x: sparse.spmatrix, s: sparse.spmatrix, u: sparse.spmatrix) -> sparse.spmatrix:
            return sparse.hstack([x, s, u])

        quota_rows, quota_limits = self.quotas
        blocks = [over(quota_rows, zeros((quota_rows.shape[0], n_s)), zeros((quota_rows.shape[0], n_u)))]
        lower: list[float] = [0.0] * quota_rows.shape[0]
        upper: list[float] = [float(v) for v in quota_limits]
        if n_u:
            blocks.append(over(self.by_kind, zeros((n_u, n_s)), sparse.identity(n_u)))
            lower += [float(self.kind_wanted[k]) for k in self.kinds]
            upper += [np.inf] * n_u
            if kind_shortfall_at_most is not None:
                blocks.append(over(zeros((1, n)), zeros((1, n_s)), np.ones((1, n_u))))
                lower.append(0.0)
                upper.append(kind_shortfall_at_most + 0.5)
        if n_s:
            cover = sparse.csr_matrix(self.matches[:, list(active)].T.astype(np.float64))
            blocks.append(over(cover, sparse.identity(n_s), zeros((n_s, n_u))))
            lower += [float(v) for v in self.coverage_wanted[list(active)]]
            upper += [np.inf] * n_s
        matrix = sparse.csr_matrix(sparse.vstack(blocks))
        cost = np.concatenate([x_cost, np.full(n_s, s_cost), np.full(n_u, u_cost)])
        bounds = Bounds(
            np.concatenate([self.pinned.astype(np.float64), np.zeros(n_s + n_u)]),
            np.concatenate(
                [
                    np.ones(n),
                    self.coverage_wanted[list(active)].astype(np.float64),
                    [float(self.kind_wanted[k]) for k in self.kinds],
                ]
            ),
        )
        result = milp(
            cost,
            integrality=np.concatenate([np.ones(n), np.zeros(n_s + n_u)]),
            bounds=bounds,
            constraints=LinearConstraint(matrix, lower, upper),
            options={"node_limit": NODE_LIMIT, "mip_rel_gap": 0.0},
        )
        if result.x is None:  # no plan within the node limit: pins, then fit, greedily
            return _Outcome(self.fallback(-x_cost), -np.inf, False, int(result.mip_node_count or 0))
        dual = getattr(result, "mip_dual_bound", None)
        return _Outcome(
            np.asarray(result.x[:n]) > 0.5,
            float(dual) if dual is not None and np.isfinite(dual) else float(result.fun),
            result.status == 0,
            int(getattr(result, "mip_node_count", 0) or 0),
        )

    def shortfall(self, chosen: BoolArray) -> tuple[npt.NDArray[np.int64], dict[str, int]]:
        """Each investor's missing matches, and each kind's missing listings, in a plan."""
        have = self.matches[chosen].sum(axis=0)
        missing = np.maximum(self.coverage_wanted - have, 0).astype(np.int64)
        kinds = Counter(self.pool[i].kind for i in np.flatnonzero(chosen))
        return missing, {kind: max(self.kind_wanted[kind] - kinds[kind], 0) for kind in KINDS}

    def fallback(self, value: FloatArray) -> BoolArray:
        """Pins, then the best by value within the quotas (never needed in practice:
        taking the pins alone is a plan, and HiGHS finds one at its root)."""
        chosen = self.pinned.copy()
        quota_rows, limits = self.quotas
        used = quota_rows @ chosen.astype(np.float64)
        for i in np.lexsort((np.arange(self.n), -value)):
            column = quota_rows[:, i].toarray().ravel()
            if chosen[i] or np.any(used + column > np.asarray(limits)):
                continue
            chosen[i] = True
            used += column
        return chosen


def solve(candidates: Sequence[Candidate], fit: npt.ArrayLike, rules: Rules) -> Solution:
    """The best set of candidates under ``rules``: ``fit`` has a row per candidate (in
    ``candidates``' order) and a column per attending investor (in a fixed order)."""
    started = time.perf_counter()
    order = sorted(range(len(candidates)), key=lambda i: candidates[i].listing_id)
    pool = [candidates[i] for i in order]
    fits = np.asarray(fit, dtype=np.float64).reshape(len(candidates), -1)[order]
    matches = fits > 0
    model = _Model(pool, matches, rules)
    n = model.n
    value = np.rint(fits * CENTI).sum(axis=1)  # whole hundredths of a point
    # Ties go to the lower listing id: a bonus below one hundredth for any whole plan.
    tie_break = TIE_BREAK * (n - np.arange(n)) / (n * max(model.slots, 1)) if n else value
    nodes, solves, optimal = 0, 0, True

    # First the kind minimums (a tiny solve: a kind short here is short whatever else).
    kind_least: int | None = None
    if model.kinds:
        first = model.solve(np.zeros(n), u_cost=1.0)
        nodes, solves, optimal = first.nodes, 1, first.optimal
        kind_least = sum(model.shortfall(first.chosen)[1].values())

    # Then fit, with a missing match costing more than any plan's whole fit can give:
    # that makes the one solve lexicographic (coverage first, then fit). Coverage rows
    # join only for investors a plan leaves short (constraint generation): a plan that
    # satisfies the rows left out is optimal for the full problem, and the bound of the
    # smaller problem is a bound for the full one.
    penalty = float(np.sort(value)[::-1][: model.slots].sum() + CENTI)
    x_cost = -(value + tie_break)
    active: list[int] = []
    while True:
        outcome = model.solve(
            x_cost, active=active, s_cost=penalty, kind_shortfall_at_most=kind_least
        )
        nodes, solves = nodes + outcome.nodes, solves + 1
        missing, kind_short = model.shortfall(outcome.chosen)
        newly_short = sorted(set(np.flatnonzero(missing).tolist()) - set(active))
        if not newly_short:
            break
        active = sorted([*active, *newly_short])
    optimal = optimal and outcome.optimal
    total = float(value[outcome.chosen].sum())
    # fit <= -(dual bound) + penalty * shortfall, for every plan with no more shortfall.
    bound = -outcome.dual_bound + penalty * float(missing.sum())
    bound = max(total, float(np.floor(bound + 1e-6)))
    return Solution(
        chosen=tuple(pool[i].listing_id for i in np.flatnonzero(outcome.chosen)),
        objective=round(total / CENTI, 2),
        bound=round(bound / CENTI, 2),
        kind_wanted=model.kind_wanted,
        kind_shortfall=kind_short,
        coverage_wanted=model.coverage_wanted,
        coverage_shortfall=missing,
        optimal=optimal,
        nodes=nodes,
        solves=solves,
        seconds=time.perf_counter() - started,
        caps_raised=model.caps_raised,
    )


# --- the pitch order -----------------------------------------------------------------------


def family(sector: str) -> str:
    """A sector's parent, or the sector itself at the top of the taxonomy."""
    parent = SECTOR_PARENT.get(Sector(sector))
    return parent.value if parent is not None else sector


def _least_repeats(counts: Counter[Hashable], last: Hashable | None) -> int:
    """The fewest back-to-back pairs of one publisher that the ``counts`` left can have
    when they follow a listing of ``last``."""
    total = sum(counts.values()) + (last is not None)
    if not total:
        return 0
    extended = counts + Counter([last]) if last is not None else counts
    most = max(extended.values())
    leaders = {key for key, count in extended.items() if count == most}
    # The most frequent publisher's listings need someone between each: after a fixed
    # first listing of another publisher there is one gap fewer to put them in.
    fixed_first_elsewhere = last is not None and last not in leaders
    return max(0, 2 * most - total - (0 if fixed_first_elsewhere else 1))


def pitch_order(chosen: Sequence[Candidate], value: dict[int, float]) -> list[int]:
    """The chosen listing ids in pitch order: related sectors together (families by their
    total fit, strongest first; the parent sector, then its children), and never two
    listings of one publisher back to back unless there is no other way."""
    family_fit: Counter[str] = Counter()
    for c in chosen:
        family_fit[family(c.sector)] += value.get(c.listing_id, 0.0)
    preferred = sorted(
        chosen,
        key=lambda c: (
            -family_fit[family(c.sector)],
            family(c.sector),
            c.sector != family(c.sector),
            c.sector,
            -value.get(c.listing_id, 0.0),
            c.listing_id,
        ),
    )
    left = Counter(c.publisher for c in preferred)
    order: list[int] = []
    last: int | None = None
    while preferred:
        best_index, best_cost = 0, None
        for index, c in enumerate(preferred):
            after = left - Counter([c.publisher])
            cost = int(c.publisher == last) + _least_repeats(after, c.publisher)
            if best_cost is None or cost < best_cost:
                best_index, best_cost = index, cost
        pick = preferred.pop(best_index)
        left[pick.publisher] -= 1
        left = +left
        order.append(pick.listing_id)
        last = pick.publisher
    return order
