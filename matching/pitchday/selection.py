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
listings of each kind, then at least k matches for every attending investor, then the
most total fit. The priority is strict, not a trade at an invented exchange rate: a
tiny first solve finds the least kind shortfall; the main solve then charges each
missing match more than any plan's whole fit can be worth, which makes one solve
lexicographic. Shortfalls are slack variables, so an impossible rule never makes the run
fail: it is reported, with the solver's proof of how much of it is unavoidable.

Coverage rows (one per investor, dense: an investor matches many listings) join only for
the investors a plan leaves short or at their minimum, solving again until no investor
left out falls short (constraint generation): the last plan is then optimal for the
whole problem, and each smaller problem's bound bounds the whole one.

Ties are broken by listing id (a perturbation too small to outweigh a hundredth of a
point), and the model is built in listing-id order, so the same input gives the same
plan.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from sqlmodel import Session, col, select

from catalog.models import City, Listing
from catalog.taxonomy import SECTOR_PARENT, ListingKind, ListingStatus, Sector
from core.db import utcnow
from core.errors import InvalidInput, NotFound
from core.principal import Principal
from core.settings import ScoringSettings
from matching.access import ensure_may_organise
from matching.matrix import listing_rows
from matching.models import InvestorProfile
from matching.pitchday import selection_reasons as reasons
from matching.pitchday.models import EventCandidate, EventInvestor, EventListing, PitchEvent
from matching.pitchday.pool import pool_rows, publishers_of, set_pool
from matching.pitchday.schemas import (
    ChosenListing,
    CoverageReport,
    EventUpdate,
    InvestorShort,
    KindCount,
    LeftOutListing,
    Named,
    PositionChange,
    SelectionChanges,
    SelectionPublic,
    SelectionRequest,
    SelectionRules,
    ServedInvestor,
    Why,
)
from matching.pitchday.service import update_event
from matching.ranking import preferences
from matching.scoring import ListingMatrix, score_listings

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

KINDS = tuple(kind.value for kind in ListingKind)
# Branch-and-bound nodes per solve: a bound on the work that, unlike a time limit, gives
# the same plan on a fast machine and a slow one. Reached, the best plan found is kept and
# the gap to the solver's bound says how far from optimal it may be.
NODE_LIMIT = 200
# A wall-clock limit on top, for pathological rules (a high minimum per investor that the
# pool cannot meet, over hundreds of investors): reached, the plan says so, and may then
# differ from one run to the next.
SOLVER_SECONDS = 8.0
MIN_SOLVE_SECONDS = 0.5
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
    coverage_bound: int  # the fewest missing matches the solver proves unavoidable
    optimal: bool
    stopped_by_time: bool
    nodes: int
    solves: int
    seconds: float
    caps_raised: dict[str, list[int]] = field(default_factory=dict)


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
    stopped_by_time: bool
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
        self.caps_raised: dict[str, list[int]] = {}
        groups: list[list[int]] = [list(range(self.n))]  # first, the slots
        limits: list[int] = [self.slots]
        for name, keys, cap in (
            ("city", [c.city for c in pool], rules.max_per_city),
            ("publisher", [c.publisher for c in pool], rules.max_per_publisher),
        ):
            if cap is None:
                continue
            members: dict[int, list[int]] = defaultdict(list)
            for i, key in enumerate(keys):
                members[key].append(i)
            for key, group in members.items():
                if len(group) <= cap:
                    continue
                pins = int(self.pinned[group].sum())
                groups.append(group)
                limits.append(max(cap, pins))  # pins are always in, even past a quota
                if pins > cap:
                    self.caps_raised.setdefault(name, []).append(key)
        self.quota_rows = _indicator(groups, self.n)
        self.quota_limits = np.array(limits, dtype=np.float64)
        self.by_kind = _indicator(
            [[i for i, c in enumerate(pool) if c.kind == kind] for kind in self.kinds], self.n
        )

    def solve(
        self,
        x_cost: FloatArray,
        *,
        deadline: float,
        active: Sequence[int] = (),
        s_cost: float = 0.0,
        u_cost: float = 0.0,
        kind_shortfall_at_most: int | None = None,
    ) -> _Outcome:
        """Minimise ``x_cost @ x + s_cost * sum(s) + u_cost * sum(u)`` under the rules."""
        n, n_s, n_u = self.n, len(active), len(self.kinds)
        if n == 0:  # an empty pool: nothing to choose (and HiGHS wants a variable)
            return _Outcome(np.zeros(0, dtype=np.bool_), 0.0, True, False, 0)
        covered = list(active)

        def row(
            x: sparse.spmatrix | None,
            s: sparse.spmatrix | None,
            u: sparse.spmatrix | None,
            height: int,
        ) -> sparse.spmatrix:
            parts = [
                part if part is not None else sparse.csr_matrix((height, size))
                for part, size in ((x, n), (s, n_s), (u, n_u))
            ]
            return sparse.hstack(parts)

        height = self.quota_rows.shape[0]
        blocks = [row(self.quota_rows, None, None, height)]
        lower = [np.zeros(height)]
        upper = [self.quota_limits]
        if n_u:
            blocks.append(row(self.by_kind, None, sparse.identity(n_u), n_u))
            lower.append(np.array([self.kind_wanted[k] for k in self.kinds], dtype=np.float64))
            upper.append(np.full(n_u, np.inf))
            if kind_shortfall_at_most is not None:
                blocks.append(row(None, None, sparse.csr_matrix(np.ones((1, n_u))), 1))
                lower.append(np.zeros(1))
                upper.append(np.array([kind_shortfall_at_most + 0.5]))
        if n_s:
            cover = sparse.csr_matrix(self.matches[:, covered].T.astype(np.float64))
            blocks.append(row(cover, sparse.identity(n_s), None, n_s))
            lower.append(self.coverage_wanted[covered].astype(np.float64))
            upper.append(np.full(n_s, np.inf))
        upper_bounds = [np.ones(n), self.coverage_wanted[covered].astype(np.float64)]
        upper_bounds.append(np.array([self.kind_wanted[k] for k in self.kinds], dtype=np.float64))
        result = milp(
            np.concatenate([x_cost, np.full(n_s, s_cost), np.full(n_u, u_cost)]),
            integrality=np.concatenate([np.ones(n), np.zeros(n_s + n_u)]),
            bounds=Bounds(
                np.concatenate([self.pinned.astype(np.float64), np.zeros(n_s + n_u)]),
                np.concatenate(upper_bounds),
            ),
            constraints=LinearConstraint(
                sparse.csr_matrix(sparse.vstack(blocks)),
                np.concatenate(lower),
                np.concatenate(upper),
            ),
            options={
                "node_limit": NODE_LIMIT,
                "time_limit": max(deadline - time.perf_counter(), MIN_SOLVE_SECONDS),
                "mip_rel_gap": 0.0,
            },
        )
        nodes = int(result.get("mip_node_count") or 0)
        by_time = result.status == 1 and "time" in str(result.message).lower()
        if result.x is None:  # no plan found in time: pins, then value, within the quotas
            return _Outcome(self.fallback(-x_cost), -np.inf, False, by_time, nodes)
        dual = result.get("mip_dual_bound")
        return _Outcome(
            chosen=np.asarray(result.x[:n]) > 0.5,
            dual_bound=float(dual) if dual is not None and np.isfinite(dual) else float(result.fun),
            optimal=result.status == 0,
            stopped_by_time=by_time,
            nodes=nodes,
        )

    def shortfall(self, chosen: BoolArray) -> tuple[npt.NDArray[np.int64], dict[str, int]]:
        """Each investor's missing matches, and each kind's missing listings, in a plan."""
        have = self.matches[chosen].sum(axis=0)
        missing = np.maximum(self.coverage_wanted - have, 0).astype(np.int64)
        kinds = Counter(self.pool[int(i)].kind for i in np.flatnonzero(chosen))
        return missing, {kind: max(self.kind_wanted[kind] - kinds[kind], 0) for kind in KINDS}

    def fallback(self, value: FloatArray) -> BoolArray:
        """Pins, then the best by value within the quotas: for a solve stopped before it
        found any plan (taking the pins alone is one, so HiGHS practically always has one)."""
        chosen = self.pinned.copy()
        used = self.quota_rows @ chosen.astype(np.float64)
        for i in np.lexsort((np.arange(self.n), -value)):
            column = self.quota_rows[:, [i]].toarray().ravel()
            if chosen[i] or np.any(used + column > self.quota_limits):
                continue
            chosen[i] = True
            used += column
        return chosen


def solve(
    candidates: Sequence[Candidate],
    fit: npt.ArrayLike,
    rules: Rules,
    *,
    seconds: float = SOLVER_SECONDS,
) -> Solution:
    """The best set of candidates under ``rules``: ``fit`` has a row per candidate (in
    ``candidates``' order) and a column per attending investor (in a fixed order)."""
    started = time.perf_counter()
    deadline = started + seconds
    order = sorted(range(len(candidates)), key=lambda i: candidates[i].listing_id)
    pool = [candidates[i] for i in order]
    fits = np.asarray(fit, dtype=np.float64)
    if fits.ndim != 2 or fits.shape[0] != len(candidates):
        raise ValueError("fit needs a row per candidate and a column per investor")
    fits = fits[order]
    model = _Model(pool, fits > 0, rules)
    n = model.n
    value = np.rint(fits * CENTI).sum(axis=1)  # whole hundredths of a point
    # Ties go to the lower listing id: a bonus below one hundredth for any whole plan.
    tie_break = TIE_BREAK * (n - np.arange(n)) / (n * max(model.slots, 1)) if n else value
    outcomes: list[_Outcome] = []

    # First the kind minimums (a tiny solve: a kind short here is short whatever else).
    kind_least: int | None = None
    if model.kinds:
        outcomes.append(model.solve(np.zeros(n), deadline=deadline, u_cost=1.0))
        kind_least = sum(model.shortfall(outcomes[-1].chosen)[1].values())

    # Then fit, with a missing match costing more than any plan's whole fit: that makes
    # one solve lexicographic (coverage first, then fit). Coverage rows join only for the
    # investors a plan leaves short or at their minimum (constraint generation): a plan
    # that meets the rows left out is optimal for the full problem, and the bound of the
    # smaller problem bounds the full one.
    penalty = float(np.sort(value)[::-1][: model.slots].sum() + CENTI)
    x_cost = -(value + tie_break)
    active: set[int] = set()
    complete = False
    fit_alone = np.inf  # the bound on fit with no coverage rule at all
    lower_bound = -np.inf  # of the penalised objective: every round's is valid for all
    best: tuple[tuple[float, ...], BoolArray] | None = None
    while True:
        outcome = model.solve(
            x_cost,
            deadline=deadline,
            active=sorted(active),
            s_cost=penalty,
            kind_shortfall_at_most=kind_least,
        )
        outcomes.append(outcome)
        if not active:
            fit_alone = -outcome.dual_bound
        lower_bound = max(lower_bound, outcome.dual_bound)
        missing, kind_short = model.shortfall(outcome.chosen)
        # A stopped round may leave a worse plan than the one before: keep the best.
        rank = (
            sum(kind_short.values()),
            float(missing.sum()),
            float(x_cost[outcome.chosen].sum()),
        )
        if best is None or rank < best[0]:
            best = (rank, outcome.chosen)
        short = set(np.flatnonzero(missing).tolist())
        if short <= active:
            complete = True
            break
        if time.perf_counter() >= deadline:
            break
        have = model.matches[outcome.chosen].sum(axis=0)
        wanted = model.coverage_wanted
        active |= short | set(np.flatnonzero((wanted > 0) & (have <= wanted)).tolist())
    chosen = best[1]
    missing, kind_short = model.shortfall(chosen)
    total = float(value[chosen].sum())
    # Every plan with no more shortfall has fit <= -(lower bound) + penalty * shortfall;
    # and no plan has more fit than the best with no coverage rule.
    fit_bound = min(-lower_bound + penalty * float(missing.sum()), fit_alone)
    fit_bound = max(total, float(np.floor(fit_bound + 1e-6)))
    return Solution(
        chosen=tuple(pool[i].listing_id for i in np.flatnonzero(chosen)),
        objective=round(total / CENTI, 2),
        bound=round(fit_bound / CENTI, 2),
        kind_wanted=model.kind_wanted,
        kind_shortfall=kind_short,
        coverage_wanted=model.coverage_wanted,
        coverage_shortfall=missing,
        coverage_bound=max(0, int(np.ceil(lower_bound / penalty - 1e-9))),
        optimal=complete and all(o.optimal for o in outcomes),
        stopped_by_time=any(o.stopped_by_time for o in outcomes),
        nodes=sum(o.nodes for o in outcomes),
        solves=len(outcomes),
        seconds=time.perf_counter() - started,
        caps_raised=model.caps_raised,
    )


# --- the pitch order -----------------------------------------------------------------------


def family(sector: str) -> str:
    """A sector's parent, or the sector itself at the top of the taxonomy."""
    parent = SECTOR_PARENT.get(Sector(sector))
    return parent.value if parent is not None else sector


def _least_repeats(counts: Counter[int], last: int | None) -> int:
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
    listings of one publisher back to back unless there is no other way.

    The first order in that preference with every family together and no publisher twice
    in a row, if there is one (a depth-first search, states that failed remembered);
    else the preferred order bent as little as it takes for the fewest repeats."""
    family_fit: defaultdict[str, float] = defaultdict(float)
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
    grouped = _grouped_without_repeats(preferred)
    return grouped if grouped is not None else _fewest_repeats(preferred)


class _GaveUp(Exception):
    pass


ORDER_SEARCH_STEPS = 20_000


def _grouped_without_repeats(preferred: Sequence[Candidate]) -> list[int] | None:
    """The first order (in ``preferred``'s preference) that keeps each sector family
    together and never repeats a publisher, or None if there is none (or the search
    runs past its budget)."""
    n = len(preferred)
    used = [False] * n
    order: list[int] = []
    left: Counter[tuple[str, int]] = Counter((family(c.sector), c.publisher) for c in preferred)
    failed: set[tuple[object, ...]] = set()
    steps = 0

    def extend(last: int | None, current: str | None) -> bool:
        nonlocal steps
        if len(order) == n:
            return True
        state = (last, current, tuple(sorted((+left).items())))
        if state in failed:
            return False
        steps += 1
        if steps > ORDER_SEARCH_STEPS:
            raise _GaveUp
        publishers: Counter[int] = Counter()
        in_family: Counter[int] = Counter()
        for (name, publisher), count in left.items():
            publishers[publisher] += count
            if name == current:
                in_family[publisher] += count
        publishers, in_family = +publishers, +in_family  # drop the counts at zero
        # Prune: the rest cannot avoid a repeat, or the family under way cannot.
        if _least_repeats(publishers, last) or _least_repeats(in_family, last):
            failed.add(state)
            return False
        for i, c in enumerate(preferred):
            name = family(c.sector)
            if used[i] or c.publisher == last or (in_family and name != current):
                continue
            used[i] = True
            order.append(c.listing_id)
            left[(name, c.publisher)] -= 1
            if extend(c.publisher, name):
                return True
            used[i] = False
            order.pop()
            left[(name, c.publisher)] += 1
        failed.add(state)
        return False

    try:
        return order if extend(None, None) else None
    except _GaveUp:
        return None


def _fewest_repeats(preferred: Sequence[Candidate]) -> list[int]:
    """The preferred order, taking at each step the first listing that keeps the fewest
    publisher repeats still possible (exact: ``_least_repeats`` is)."""
    remaining = list(preferred)
    left = Counter(c.publisher for c in remaining)
    order: list[int] = []
    last: int | None = None
    while remaining:
        best_index, best_cost = 0, None
        for index, c in enumerate(remaining):
            after = left - Counter([c.publisher])
            cost = int(c.publisher == last) + _least_repeats(after, c.publisher)
            if best_cost is None or cost < best_cost:
                best_index, best_cost = index, cost
        pick = remaining.pop(best_index)
        left[pick.publisher] -= 1
        left = +left
        order.append(pick.listing_id)
        last = pick.publisher
    return order


# --- why each listing is in or out, and what changed --------------------------------------


def needed_for(
    chosen: Sequence[int], fit: npt.ArrayLike, wanted: npt.ArrayLike
) -> dict[int, list[int]]:
    """For each chosen row, the investors (columns) at or below their minimum number of
    matches that it matches: without it they would have fewer."""
    matches = np.asarray(fit) > 0
    wanted = np.asarray(wanted)
    rows = list(chosen)
    have = matches[rows].sum(axis=0) if rows else np.zeros(matches.shape[1])
    at_minimum = (wanted > 0) & (have <= wanted)
    return {row: np.flatnonzero(matches[row] & at_minimum).tolist() for row in rows}


@dataclass(frozen=True)
class LeftOut:
    # no_fit | pinned_full | lower_fit | city_full | publisher_full | rules_first | not_reached
    code: str
    lowest: int | None = None  # lower_fit: the chosen listing with the least fit


def why_left_out(
    candidates: Sequence[Candidate], value: dict[int, float], chosen: Sequence[int], rules: Rules
) -> dict[int, LeftOut]:
    """Why each candidate not chosen stays out, by listing id: the first of its quota
    being full, scoring for nobody, a lower total fit than every listing chosen on its
    merits, or the slots going to listings the kind and coverage rules needed."""
    picked = set(chosen)
    by_id = {c.listing_id: c for c in candidates}
    cities = Counter(by_id[i].city for i in picked)
    publishers = Counter(by_id[i].publisher for i in picked)
    on_merit = [by_id[i] for i in picked if not by_id[i].pinned]
    lowest = min(
        on_merit, key=lambda c: (value.get(c.listing_id, 0.0), -c.listing_id), default=None
    )
    full = len(picked) >= min(rules.slots, len(candidates))
    reasons: dict[int, LeftOut] = {}
    for c in candidates:
        if c.listing_id in picked:
            continue
        own = value.get(c.listing_id, 0.0)
        floor = value.get(lowest.listing_id, 0.0) if lowest is not None else 0.0
        below = lowest is not None and (own, -c.listing_id) < (floor, -lowest.listing_id)
        if full and own <= 0:
            reason = LeftOut("no_fit")
        elif full and lowest is None:
            reason = LeftOut("pinned_full")
        elif full and below:
            reason = LeftOut("lower_fit", lowest.listing_id if lowest is not None else None)
        elif rules.max_per_city is not None and cities[c.city] >= rules.max_per_city:
            reason = LeftOut("city_full")
        elif (
            rules.max_per_publisher is not None
            and publishers[c.publisher] >= rules.max_per_publisher
        ):
            reason = LeftOut("publisher_full")
        else:
            reason = LeftOut("rules_first" if full else "not_reached")
        reasons[c.listing_id] = reason
    return reasons


@dataclass(frozen=True)
class Changes:
    added: list[str]
    removed: list[str]
    moved: list[tuple[str, int, int]]  # slug, position before, position now (1-based)


def changes(before: Sequence[str], after: Sequence[str]) -> Changes:
    """What a new pitch order changes in the one before it."""
    was = {slug: n for n, slug in enumerate(before, start=1)}
    now = {slug: n for n, slug in enumerate(after, start=1)}
    return Changes(
        added=[slug for slug in after if slug not in was],
        removed=[slug for slug in before if slug not in now],
        moved=[
            (slug, was[slug], now[slug]) for slug in after if slug in was and was[slug] != now[slug]
        ],
    )


# --- the service: an event's pool in, its plan stored and returned -----------------------

MAX_SERVED_SHOWN = 10


def selection_rules(
    event: PitchEvent,
    request: SelectionRequest | None,
    settings: ScoringSettings,
    *,
    check: bool = True,
) -> SelectionRules:
    """The rules of a run: those sent, else the last run's, else the defaults (the
    threshold: the score from which the matching service counts a fit); 422 naming the
    rule that the event's pitch slots cannot hold."""
    sent = request.model_dump(exclude_unset=True, exclude={"pinned", "excluded"}) if request else {}
    rules = SelectionRules.model_validate(
        {"threshold": settings.match_threshold} | (event.selection_rules or {}) | sent
    )
    if not check:
        return rules
    if rules.min_per_kind * len(KINDS) > event.slot_count:
        raise InvalidInput(
            f"at least {rules.min_per_kind} of each of {len(KINDS)} kinds needs "
            f"{rules.min_per_kind * len(KINDS)} pitch slots; the event has {event.slot_count}",
            field="min_per_kind",
        )
    if rules.min_per_investor > event.slot_count:
        raise InvalidInput(
            f"no investor can be served by more than the {event.slot_count} listings that pitch",
            field="min_per_investor",
        )
    return rules


def _flags(
    pool: Sequence[EventCandidate], slugs: dict[int, str], request: SelectionRequest | None
) -> dict[int, tuple[bool, bool]]:
    """The pool's (pinned, excluded) by listing id, with the lists sent in ``request``
    replacing the stored ones; 422 naming ``pinned`` or ``excluded`` for a listing not in
    the pool (as published), or one both pinned and excluded."""
    flags = {row.listing_id: (row.pinned, row.excluded) for row in pool}
    by_slug = {slug: listing_id for listing_id, slug in slugs.items()}
    for field_name, index in (("pinned", 0), ("excluded", 1)):
        sent = getattr(request, field_name, None) if request is not None else None
        if sent is None:
            continue
        for slug in sent:
            if slug not in by_slug:
                raise InvalidInput(
                    f"'{slug}' is not a published listing of the pool", field=field_name
                )
        named = {by_slug[slug] for slug in sent}
        for listing_id, pair in flags.items():
            updated = list(pair)
            updated[index] = listing_id in named
            flags[listing_id] = (updated[0], updated[1])
    for listing_id, (is_pinned, is_excluded) in flags.items():
        if is_pinned and is_excluded and listing_id in slugs:
            raise InvalidInput(f"'{slugs[listing_id]}' is both pinned and excluded", field="pinned")
    return flags


def _scores(
    session: Session,
    listings: Sequence[Listing],
    profiles: Sequence[InvestorProfile],
    catalogue: ListingMatrix,
    settings: ScoringSettings,
) -> tuple[FloatArray, BoolArray]:
    """Scores and hard-constraint passes of every listing (rows, by id) for every profile
    (columns), as the catalogue-wide ranking scores them."""
    scores = np.zeros((len(listings), len(profiles)))
    passed = np.zeros((len(listings), len(profiles)), dtype=np.bool_)
    if listings and profiles:
        matrix = ListingMatrix.build(listing_rows(session, listings), reference=catalogue)
        for j, profile in enumerate(profiles):
            scored = score_listings(matrix, preferences(profile), settings)
            scores[:, j], passed[:, j] = scored.score, scored.passed
    return scores, passed


def select_pitches(
    session: Session,
    *,
    event: PitchEvent,
    principal: Principal,
    request: SelectionRequest | None,
    expected_version: int,
    catalogue: ListingMatrix,
    settings: ScoringSettings,
) -> SelectionPublic:
    """Choose who pitches from the event's pool, set the programme to the plan in pitch
    order, and store the plan with its reasons (from the current version only: 412 if
    stale, and nothing changes on any error)."""
    ensure_may_organise(event, principal)
    rules = selection_rules(event, request, settings)
    pool = pool_rows(session, event)
    listings = list(
        session.exec(
            select(Listing)
            .where(
                col(Listing.id).in_([row.listing_id for row in pool]),
                Listing.status == ListingStatus.published,
            )
            .order_by(col(Listing.id))
        )
    )
    flags = _flags(pool, {x.id or 0: x.slug for x in listings}, request)
    pins = [x for x in listings if flags[x.id or 0][0]]
    if len(pins) > event.slot_count:
        raise InvalidInput(
            f"{len(pins)} pinned listings for {event.slot_count} pitch slots", field="pinned"
        )
    profiles = sorted(attending_profiles(session, event), key=lambda p: p.id or 0)
    scores, passed = _scores(session, listings, profiles, catalogue, settings)
    fit = fit_matrix(scores, passed, rules.threshold)
    rows = [i for i, x in enumerate(listings) if not flags[x.id or 0][1]]
    candidates = [
        Candidate(
            listing_id=listings[i].id or 0,
            kind=listings[i].kind,
            sector=listings[i].sector,
            city=listings[i].city_id,
            publisher=listings[i].organisation_id,
            pinned=flags[listings[i].id or 0][0],
        )
        for i in rows
    ]
    solution = solve(
        candidates,
        fit[rows],
        Rules(
            slots=event.slot_count,
            max_per_city=rules.max_per_city,
            max_per_publisher=rules.max_per_publisher,
            min_per_kind=rules.min_per_kind,
            min_per_investor=rules.min_per_investor,
        ),
    )
    plan = _plan(session, event, rules, listings, flags, profiles, fit, candidates, solution)
    plan.notes.extend(
        [reasons.unpublished(len(pool) - len(listings))] if len(pool) > len(listings) else []
    )

    # Only now, with the plan made, write: the version first (412 if stale).
    before = programme_slugs(session, event)
    after = [chosen.listing_slug for chosen in plan.chosen]
    update_event(
        session,
        event=event,
        data=EventUpdate.model_validate({"listings": after}),
        expected_version=expected_version,
        principal=principal,
    )
    if request is not None and (request.pinned is not None or request.excluded is not None):
        set_pool(session, event, {row.listing_id: flags[row.listing_id] for row in pool})
    difference = changes(before, after)
    plan.changes = SelectionChanges(
        first_run=event.selection is None,
        added=difference.added,
        removed=difference.removed,
        moved=[PositionChange(listing_slug=s, was=a, now=b) for s, a, b in difference.moved],
    )
    event.selection_rules = rules.model_dump(mode="json")
    event.selected_at = plan.selected_at
    event.selection = plan.model_dump(mode="json", exclude={"version"})
    session.add(event)
    session.flush()
    plan.version = event.version
    return plan


def programme_slugs(session: Session, event: PitchEvent) -> list[str]:
    """The slugs of the listings that pitch, in pitch order."""
    return list(
        session.exec(
            select(Listing.slug)
            .join(EventListing, col(EventListing.listing_id) == Listing.id)
            .where(EventListing.event_id == event.id)
            .order_by(col(EventListing.position))
        )
    )


def attending_profiles(session: Session, event: PitchEvent) -> list[InvestorProfile]:
    return list(
        session.exec(
            select(InvestorProfile)
            .join(EventInvestor, col(EventInvestor.investor_profile_id) == InvestorProfile.id)
            .where(EventInvestor.event_id == event.id)
        )
    )


def stored_selection(
    session: Session, *, event: PitchEvent, principal: Principal
) -> SelectionPublic:
    """The last plan, as it was made (its reasons are those of that moment)."""
    ensure_may_organise(event, principal)
    if event.selection is None:
        raise NotFound("no selection has been made for this event yet", field="selection")
    return SelectionPublic.model_validate(event.selection | {"version": event.version})


def _plan(
    session: Session,
    event: PitchEvent,
    rules: SelectionRules,
    listings: Sequence[Listing],
    flags: dict[int, tuple[bool, bool]],
    profiles: Sequence[InvestorProfile],
    fit: FloatArray,
    candidates: Sequence[Candidate],
    solution: Solution,
) -> SelectionPublic:
    """The plan with its reasons (the version and the changes are the caller's)."""
    row_of = {x.id or 0: i for i, x in enumerate(listings)}
    totals = {listing_id: float(fit[row].sum()) for listing_id, row in row_of.items()}
    served = {listing_id: int((fit[row] > 0).sum()) for listing_id, row in row_of.items()}
    cities = {
        c.id or 0: Named(slug=c.slug, name_th=c.name_th, name_en=c.name_en)
        for c in session.exec(select(City).where(col(City.id).in_({x.city_id for x in listings})))
    }
    publishers = publishers_of(session, list(row_of))
    by_id = {x.id or 0: x for x in listings}
    by_candidate = {c.listing_id: c for c in candidates}
    order = pitch_order([by_candidate[i] for i in solution.chosen], totals)
    kind_chosen = Counter(by_id[i].kind for i in order)
    coverage_rows = [row_of[c.listing_id] for c in candidates]
    wanted = solution.coverage_wanted
    needed = needed_for([row_of[i] for i in order], fit, wanted)

    def chosen_reasons(listing_id: int) -> list[Why]:
        listing = by_id[listing_id]
        found = []
        if flags[listing_id][0]:
            found.append(reasons.pinned())
        if totals[listing_id] > 0:
            found.append(reasons.serves(served[listing_id], totals[listing_id], rules.threshold))
        elif not flags[listing_id][0]:
            found.append(reasons.fills_a_slot(rules.threshold))
        names = [profiles[j].name for j in needed[row_of[listing_id]]]
        if names:
            found.append(reasons.needed_by(names, rules.min_per_investor))
        kind_wanted = solution.kind_wanted.get(listing.kind, 0)
        if kind_wanted and kind_chosen[listing.kind] <= kind_wanted:
            found.append(reasons.kind_minimum(listing.kind, kind_wanted))
        return found

    def investors_of(listing_id: int) -> list[ServedInvestor]:
        row = fit[row_of[listing_id]]
        best = sorted(
            np.flatnonzero(row > 0).tolist(), key=lambda j: (-row[j], profiles[j].id or 0)
        )
        return [
            ServedInvestor(
                investor_profile_id=profiles[j].id or 0,
                name=profiles[j].name,
                score=round(float(row[j]), 2),
            )
            for j in best[:MAX_SERVED_SHOWN]
        ]

    chosen = [
        ChosenListing(
            position=position,
            listing_slug=by_id[listing_id].slug,
            title_th=by_id[listing_id].title_th,
            title_en=by_id[listing_id].title_en,
            kind=by_id[listing_id].kind,
            sector=by_id[listing_id].sector,
            city=cities[by_id[listing_id].city_id],
            publisher=publishers[listing_id],
            pinned=flags[listing_id][0],
            total_fit=round(totals[listing_id], 2),
            investor_count=served[listing_id],
            investors=investors_of(listing_id),
            reasons=chosen_reasons(listing_id),
        )
        for position, listing_id in enumerate(order, start=1)
    ]
    chosen_by_slug = {c.listing_slug: c for c in chosen}
    codes = why_left_out(
        candidates,
        totals,
        solution.chosen,
        Rules(
            slots=event.slot_count,
            max_per_city=rules.max_per_city,
            max_per_publisher=rules.max_per_publisher,
        ),
    )

    def left_out_reason(listing_id: int) -> Why:
        listing = by_id[listing_id]
        if flags[listing_id][1]:
            return reasons.excluded()
        why = codes[listing_id]
        if why.code == "no_fit":
            return reasons.no_fit(rules.threshold)
        if why.code == "pinned_full":
            return reasons.pinned_full()
        if why.code == "lower_fit" and why.lowest is not None:
            other = chosen_by_slug[by_id[why.lowest].slug]
            return reasons.lower_fit(
                totals[listing_id],
                other.total_fit,
                other.title_th,
                other.title_en or other.title_th,
            )
        if why.code == "city_full" and rules.max_per_city is not None:
            return reasons.city_full(cities[listing.city_id], rules.max_per_city)
        if why.code == "publisher_full" and rules.max_per_publisher is not None:
            return reasons.publisher_full(publishers[listing_id], rules.max_per_publisher)
        if why.code == "rules_first":
            return reasons.rules_first(totals[listing_id])
        return reasons.not_reached()

    picked = set(solution.chosen)
    left_out = [
        LeftOutListing(
            listing_slug=listing.slug,
            title_th=listing.title_th,
            title_en=listing.title_en,
            kind=listing.kind,
            sector=listing.sector,
            city=cities[listing.city_id],
            publisher=publishers[listing.id or 0],
            total_fit=round(totals[listing.id or 0], 2),
            investor_count=served[listing.id or 0],
            reason=left_out_reason(listing.id or 0),
        )
        for listing in sorted(listings, key=lambda x: (-totals[x.id or 0], x.id or 0))
        if (listing.id or 0) not in picked
    ]
    missing = solution.coverage_shortfall
    no_match = (
        int(((fit[coverage_rows] > 0).sum(axis=0) == 0).sum())
        if rules.min_per_investor and len(profiles)
        else 0
    )
    short = [
        InvestorShort(
            investor_profile_id=profiles[j].id or 0,
            name=profiles[j].name,
            matches=int(wanted[j] - missing[j]),
            wanted=int(wanted[j]),
        )
        for j in np.flatnonzero(missing > 0).tolist()
    ]
    notes: list[Why] = []
    if not profiles:
        notes.append(reasons.no_investors())
    if candidates and len(candidates) <= event.slot_count and len(order) == len(candidates):
        notes.append(reasons.all_chosen(len(candidates), event.slot_count))
    if solution.caps_raised:
        notes.append(
            reasons.pins_over_quota(
                [cities[int(key)].name_en for key in solution.caps_raised.get("city", [])],
                [
                    next(
                        publishers[x.id or 0].name_en for x in listings if x.organisation_id == key
                    )
                    for key in solution.caps_raised.get("publisher", [])
                ],
            )
        )
    available = Counter(c.kind for c in candidates)
    for kind in KINDS:
        if rules.min_per_kind and kind_chosen[kind] < rules.min_per_kind:
            notes.append(reasons.kind_short(kind, kind_chosen[kind], rules.min_per_kind))
    if short:
        notes.append(
            reasons.coverage_short(
                len(short), rules.min_per_investor, int(missing.sum()), solution.coverage_bound
            )
        )
    if no_match:
        notes.append(reasons.no_match(no_match, rules.threshold))
    if not solution.optimal:
        notes.append(reasons.stopped(solution.stopped_by_time))
    bound = max(solution.bound, solution.objective)
    return SelectionPublic(
        event=event.slug,
        version=event.version,
        selected_at=utcnow(),
        rules=rules,
        slot_count=event.slot_count,
        candidate_count=len(candidates),
        chosen=chosen,
        left_out=left_out,
        objective=solution.objective,
        bound=bound,
        gap=round((bound - solution.objective) / bound, 6) if bound > 0 else 0.0,
        optimal=solution.optimal,
        stopped_by_time=solution.stopped_by_time,
        solve_seconds=round(solution.seconds, 3),
        kinds=[
            KindCount(
                kind=kind,
                wanted=rules.min_per_kind,
                available=available[kind],
                chosen=kind_chosen[kind],
            )
            for kind in KINDS
        ],
        coverage=CoverageReport(
            investors=len(profiles),
            served=int((fit[[row_of[i] for i in order]] > 0).any(axis=0).sum()) if order else 0,
            wanted=rules.min_per_investor,
            short=short,
            missing=int(missing.sum()),
            unavoidable=solution.coverage_bound,
            no_match=no_match,
        ),
        notes=notes,
        changes=SelectionChanges(first_run=True, added=[], removed=[], moved=[]),
    )
