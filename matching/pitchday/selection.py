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
    bound: float  # the solver's upper bound on the total fit (dual bound)
    kind_wanted: dict[str, int]  # the kind minimum, as far as the pool has listings
    kind_shortfall: dict[str, int]
    coverage_wanted: npt.NDArray[np.int64]  # per investor: min(k, matches in the pool)
    coverage_shortfall: npt.NDArray[np.int64]  # per investor
    shortfall_bound: float  # the solver's lower bound on the weighted shortfall
    optimal: bool
    nodes: int
    seconds: float
    caps_raised: dict[str, list[Hashable]] = field(default_factory=dict)


def fit_matrix(scores: npt.ArrayLike, passed: npt.ArrayLike, threshold: float) -> FloatArray:
    """Candidates x investors: the score (to two decimals) where the investor's hard
    constraints pass and the score reaches ``threshold``, else 0."""
    rounded = np.round(np.asarray(scores, dtype=np.float64), 2)
    keep = np.asarray(passed, dtype=np.bool_) & (rounded >= threshold) & (rounded > 0)
    fit: FloatArray = np.where(keep, rounded, 0.0)
    return fit


def _group_rows(
    keys: Sequence[Hashable], cap: int | None, pinned: BoolArray
) -> tuple[list[list[int]], list[int], list[Hashable]]:
    """Members and limits of each group larger than ``cap``; the groups whose pins alone
    exceed it (their limit is the pinned count)."""
    if cap is None:
        return [], [], []
    members: dict[Hashable, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        members[key].append(i)
    rows, limits, raised = [], [], []
    for key, group in members.items():
        if len(group) <= cap:
            continue
        pins = int(pinned[group].sum())
        rows.append(group)
        limits.append(max(cap, pins))
        if pins > cap:
            raised.append(key)
    return rows, limits, raised


def _indicator(rows: Sequence[Sequence[int]], n: int) -> sparse.csr_matrix:
    indptr = np.cumsum([0, *(len(r) for r in rows)])
    indices = np.fromiter((i for r in rows for i in r), dtype=np.int64, count=int(indptr[-1]))
    return sparse.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(rows), n))


def _solve(
    c: FloatArray, integrality: FloatArray, bounds: Bounds, constraints: list[LinearConstraint]
) -> tuple[FloatArray | None, float, bool, int]:
    """(x, dual bound, optimal, nodes) of one HiGHS solve, minimising ``c @ x``."""
    result = milp(
        c,
        integrality=integrality,
        bounds=bounds,
        constraints=constraints,
        options={"node_limit": NODE_LIMIT, "mip_rel_gap": 0.0},
    )
    x = None if result.x is None else np.asarray(result.x, dtype=np.float64)
    dual = getattr(result, "mip_dual_bound", None)
    bound = float(dual) if dual is not None and np.isfinite(dual) else float(result.fun or 0.0)
    return x, bound, result.status == 0, int(getattr(result, "mip_node_count", 0) or 0)


def solve(candidates: Sequence[Candidate], fit: npt.ArrayLike, rules: Rules) -> Solution:
    """The best set of candidates under ``rules``: ``fit`` has a row per candidate (in
    ``candidates``' order) and a column per attending investor (in a fixed order)."""
    started = time.perf_counter()
    order = sorted(range(len(candidates)), key=lambda i: candidates[i].listing_id)
    pool = [candidates[i] for i in order]
    fits = np.asarray(fit, dtype=np.float64).reshape(len(candidates), -1)[order]
    n, m = fits.shape
    matches = fits > 0
    value = np.rint(fits * CENTI).sum(axis=1)  # whole hundredths of a point
    pinned = np.array([c.pinned for c in pool], dtype=np.bool_)
    if pinned.sum() > rules.slots:
        raise ValueError("more pinned listings than pitch slots")
    slots = min(rules.slots, n)

    kind_wanted = {
        kind: min(rules.min_per_kind, sum(c.kind == kind for c in pool)) for kind in KINDS
    }
    wanted_kinds = [kind for kind in KINDS if kind_wanted[kind] > 0]
    coverage_wanted = np.minimum(
        np.minimum(rules.min_per_investor, matches.sum(axis=0)), slots
    ).astype(np.int64)
    covered = np.flatnonzero(coverage_wanted > 0)

    # Variables: x (a binary per candidate), s (coverage shortfall per investor who can be
    # covered), u (shortfall per kind with a minimum).
    n_s, n_u = len(covered), len(wanted_kinds)
    width = n + n_s + n_u
    lower = np.zeros(width)
    lower[:n] = pinned
    upper = np.concatenate(
        [np.ones(n), coverage_wanted[covered], [kind_wanted[k] for k in wanted_kinds]]
    ).astype(np.float64)
    bounds = Bounds(lower, upper)
    integrality = np.concatenate([np.ones(n), np.zeros(n_s + n_u)])

    def padded(block: sparse.spmatrix, s: sparse.spmatrix | None = None) -> sparse.csr_matrix:
        """``block`` over x, with ``s`` over the shortfall columns (zero if None)."""
        rest = s if s is not None else sparse.csr_matrix((block.shape[0], n_s + n_u))
        return sparse.csr_matrix(sparse.hstack([block, rest]))

    constraints = [LinearConstraint(padded(sparse.csr_matrix(np.ones((1, n)))), 0, slots)]
    caps_raised: dict[str, list[Hashable]] = {}
    for name, keys, cap in (
        ("city", [c.city for c in pool], rules.max_per_city),
        ("publisher", [c.publisher for c in pool], rules.max_per_publisher),
    ):
        rows, limits, raised = _group_rows(keys, cap, pinned)
        if rows:
            constraints.append(LinearConstraint(padded(_indicator(rows, n)), 0, limits))
        if raised:
            caps_raised[name] = raised
    if n_u:
        kinds = _indicator(
            [[i for i, c in enumerate(pool) if c.kind == kind] for kind in wanted_kinds], n
        )
        slack = sparse.hstack([sparse.csr_matrix((n_u, n_s)), sparse.identity(n_u)])
        minimum = [kind_wanted[k] for k in wanted_kinds]
        constraints.append(LinearConstraint(padded(kinds, slack), minimum, np.inf))
    if n_s:
        cover = sparse.csr_matrix(matches[:, covered].T.astype(np.float64))
        slack = sparse.hstack([sparse.identity(n_s), sparse.csr_matrix((n_s, n_u))])
        constraints.append(LinearConstraint(padded(cover, slack), coverage_wanted[covered], np.inf))

    # First, the least shortfall: a missing kind outweighs every coverage shortfall.
    kind_weight = float(coverage_wanted.sum() + 1)
    penalty = np.concatenate([np.zeros(n), np.ones(n_s), np.full(n_u, kind_weight)])
    shortfall_bound, optimal, nodes = 0.0, True, 0
    if n_s or n_u:
        x1, shortfall_bound, optimal, nodes = _solve(penalty, integrality, bounds, constraints)
        least = _shortfall(x1, matches, pool, covered, coverage_wanted, kind_wanted, n)
        weighted = least[0].sum() + kind_weight * sum(least[1].values())
        constraints.append(LinearConstraint(penalty.reshape(1, -1), 0, weighted + 0.5))

    # Then the most fit among those plans; ties go to the lower listing id.
    rank = np.arange(n, dtype=np.float64)  # the pool is in listing-id order
    tie_break = TIE_BREAK * (n - rank) / (n * max(slots, 1))
    objective = np.concatenate([-(value + tie_break), np.zeros(n_s + n_u)])
    if slots >= n and not (n_s or n_u):
        x2: FloatArray | None = np.ones(width)  # room for every candidate: nothing to choose
        dual = float(objective[:n].sum())
    else:
        x2, dual, solved, more = _solve(objective, integrality, bounds, constraints)
        optimal, nodes = optimal and solved, nodes + more
    chosen_mask = x2[:n] > 0.5 if x2 is not None else _fallback(pool, value, pinned, slots, rules)
    total = float(value[chosen_mask].sum())
    bound = max(total, float(np.floor(-dual - 1e-9)) if x2 is not None else total)
    missing, kind_short = _shortfall(
        chosen_mask.astype(np.float64), matches, pool, covered, coverage_wanted, kind_wanted, n
    )
    per_investor = np.zeros(m, dtype=np.int64)
    per_investor[covered] = missing
    return Solution(
        chosen=tuple(pool[i].listing_id for i in np.flatnonzero(chosen_mask)),
        objective=round(total / CENTI, 2),
        bound=round(bound / CENTI, 2),
        kind_wanted=kind_wanted,
        kind_shortfall=kind_short,
        coverage_wanted=coverage_wanted,
        coverage_shortfall=per_investor,
        shortfall_bound=round(max(shortfall_bound, 0.0), 2),
        optimal=optimal and x2 is not None,
        nodes=nodes,
        seconds=time.perf_counter() - started,
        caps_raised=caps_raised,
    )


def _shortfall(
    x: FloatArray | None,
    matches: BoolArray,
    pool: Sequence[Candidate],
    covered: npt.NDArray[np.int64],
    coverage_wanted: npt.NDArray[np.int64],
    kind_wanted: dict[str, int],
    n: int,
) -> tuple[npt.NDArray[np.int64], dict[str, int]]:
    """Coverage shortfall of each covered investor and kind shortfall of a plan ``x``."""
    chosen = (x[:n] > 0.5) if x is not None else np.zeros(n, dtype=np.bool_)
    have = matches[chosen][:, covered].sum(axis=0)
    missing = np.maximum(coverage_wanted[covered] - have, 0).astype(np.int64)
    kinds = Counter(pool[i].kind for i in np.flatnonzero(chosen))
    return missing, {kind: max(kind_wanted[kind] - kinds[kind], 0) for kind in KINDS}


def _fallback(
    pool: Sequence[Candidate], value: FloatArray, pinned: BoolArray, slots: int, rules: Rules
) -> BoolArray:
    """Pins, then the best by fit within the quotas: only if the solver found no plan at
    all within its node limit (it always has one: taking the pins alone is feasible)."""
    chosen = pinned.copy()
    cities = Counter(c.city for c, p in zip(pool, pinned, strict=True) if p)
    publishers = Counter(c.publisher for c, p in zip(pool, pinned, strict=True) if p)
    for i in np.lexsort((np.arange(len(pool)), -value)):
        if chosen.sum() >= slots:
            break
        c = pool[i]
        if chosen[i]:
            continue
        if rules.max_per_city is not None and cities[c.city] >= rules.max_per_city:
            continue
        if rules.max_per_publisher is not None and publishers[c.publisher] >= (
            rules.max_per_publisher
        ):
            continue
        chosen[i] = True
        cities[c.city] += 1
        publishers[c.publisher] += 1
    return chosen


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
