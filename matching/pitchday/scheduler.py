"""The one-to-one schedule: which listing meets which investor, in which round, at which
table. Pure functions over plain data (ids, rounds, scores), so the benchmark and the
tests need no database.

``solve`` is a mixed-integer programme solved by HiGHS (through ``scipy.optimize.milp``):
one 0/1 variable per pair and round both attend, at most one meeting per pair, per person
per round and per table per round; the weights rank a mutual request above any number of
one-way requests, and those above any number of proposals (``weights``). The solver's
dual bound says how far from the best possible the plan can be (``Plan.ratio``).
``round_robin_baseline`` is the older greedy plan, kept to measure against.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, milp

Source = Literal["mutual", "request", "proposal"]
Reason = Literal["no_common_round", "tables_full", "fully_booked"]
SOURCES: tuple[Source, ...] = ("mutual", "request", "proposal")  # highest priority first
SOLVER = "HiGHS MILP (scipy.optimize.milp)"
BASELINE = "round robin"


@dataclass(frozen=True, slots=True)
class Candidate:
    """A pair that may meet: a listing and an investor profile, why they would meet, and
    their fit score (0-100)."""

    listing: int
    investor: int
    source: Source
    score: float = 0.0

    @property
    def key(self) -> tuple[int, int]:
        return self.listing, self.investor


@dataclass(frozen=True)
class Problem:
    """The pairs to place in ``rounds`` rounds (0 .. rounds-1) at ``tables`` tables. A
    listing or investor missing from its map of free rounds is free in every round."""

    rounds: int
    tables: int
    candidates: Sequence[Candidate]
    listing_rounds: Mapping[int, frozenset[int]] = field(default_factory=dict)
    investor_rounds: Mapping[int, frozenset[int]] = field(default_factory=dict)

    def common_rounds(self, pair: Candidate) -> list[int]:
        """The rounds both sides of ``pair`` attend, in order."""
        every = range(self.rounds)
        listing = self.listing_rounds.get(pair.listing)
        investor = self.investor_rounds.get(pair.investor)
        return [
            r
            for r in every
            if (listing is None or r in listing) and (investor is None or r in investor)
        ]


@dataclass(frozen=True, slots=True)
class Placed:
    candidate: Candidate
    round: int
    table: int  # 1 .. tables


@dataclass(frozen=True, slots=True)
class Unplaced:
    candidate: Candidate
    reason: Reason


@dataclass(frozen=True)
class Plan:
    placed: list[Placed]
    unplaced: list[Unplaced]
    value: float  # the placed pairs' total weight
    bound: float | None  # no plan can be worth more (None: not known)
    solver: str
    seconds: float
    optimal: bool = False

    @property
    def ratio(self) -> float | None:
        """Placed value over the bound: 1.0 is proven best."""
        if self.bound is None:
            return None
        return 1.0 if self.bound <= 0 else min(1.0, self.value / self.bound)


def weights(problem: Problem) -> list[float]:
    """Each candidate's value: by priority (mutual, request, proposal), then by score.

    A meeting of one priority is worth more than all meetings of the priorities below it
    could be together (at most as many as fit at the tables, or as their listings or their
    investors can attend): one mutual request outranks any number of one-way requests and
    proposals. Within a priority, a pair's score adds less than the base divided by that
    bound, so one more meeting outranks any gain in score, and the score decides between
    plans with as many meetings. The bases stay as small as that allows: numbers the
    solver handles well (scores weighed in far smaller steps leave HiGHS's LP with many
    equal optima, and it then spends seconds on finding an integral one).
    """
    candidates = problem.candidates
    base: dict[Source, float] = {}
    share: dict[Source, float] = {}
    below = 0.0  # the most all meetings of lower priorities together are worth
    for source in reversed(SOURCES):
        pairs = [c for c in candidates if c.source == source]
        most = min(
            len(pairs),
            problem.rounds * problem.tables,
            problem.rounds * len({c.listing for c in pairs}),
            problem.rounds * len({c.investor for c in pairs}),
        )
        base[source] = below + 1.0
        share[source] = 1.0 / (most + 1)
        below += most * base[source] * (1 + share[source])
    return [
        base[c.source] * (1 + share[c.source] * min(max(c.score, 0.0), 100.0) / 100)
        for c in candidates
    ]


def priority_order(candidates: Iterable[Candidate]) -> list[Candidate]:
    """Mutual requests first, then requests, then proposals; best score first within
    each; ties by listing and investor id, so the order never depends on the input's."""
    rank = {source: n for n, source in enumerate(SOURCES)}
    return sorted(candidates, key=lambda c: (rank[c.source], -c.score, c.listing, c.investor))


def _canonical(problem: Problem) -> Problem:
    """The problem with its candidates in one order (by listing, then investor), so that
    the plan never depends on the order they came in; checked."""
    if problem.rounds < 0 or problem.tables < 0:
        raise ValueError("rounds and tables must not be negative")
    candidates = sorted(problem.candidates, key=lambda c: c.key)
    if any(a.key == b.key for a, b in zip(candidates, candidates[1:], strict=False)):
        raise ValueError("a pair may be a candidate only once")
    return replace(problem, candidates=candidates)


@dataclass(frozen=True)
class _Model:
    """The MILP: minimise ``objective @ x`` over 0/1 ``x`` under ``constraints``; variable
    ``i`` places candidate ``pair_of[i]`` in round ``round_of[i]``."""

    objective: np.ndarray
    constraints: list[LinearConstraint]
    pair_of: np.ndarray
    round_of: np.ndarray


def _model(problem: Problem, value_of: Sequence[float]) -> _Model:
    candidates = problem.candidates
    var_pair: list[int] = []
    var_round: list[int] = []
    for k, pair in enumerate(candidates):  # one variable per pair and round both attend
        for r in problem.common_rounds(pair):
            var_pair.append(k)
            var_round.append(r)
    n = len(var_pair)
    pair_of = np.asarray(var_pair, dtype=np.int64)
    round_of = np.asarray(var_round, dtype=np.int64)
    listing_index = {x: i for i, x in enumerate(sorted({c.listing for c in candidates}))}
    investor_index = {x: i for i, x in enumerate(sorted({c.investor for c in candidates}))}
    listing_of = np.asarray([listing_index[c.listing] for c in candidates], dtype=np.int64)
    investor_of = np.asarray([investor_index[c.investor] for c in candidates], dtype=np.int64)
    rounds = problem.rounds
    # Each family of rows as a group id per variable. A group of one variable needs no row
    # (its 0/1 bound says it), nor a round with no more pairs than tables: fewer rows, and
    # nothing left for HiGHS's presolve to do (which then costs more than it saves).
    groups = [
        (pair_of, 1.0),  # a pair meets at most once
        (listing_of[pair_of] * rounds + round_of, 1.0),  # a listing, once a round
        (investor_of[pair_of] * rounds + round_of, 1.0),  # an investor, once a round
        (round_of, float(problem.tables)),  # no more meetings than tables, each round
    ]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    upper: list[np.ndarray] = []
    next_row = 0
    variables = np.arange(n)
    for group, limit in groups:
        if n == 0:
            break
        _, inverse, counts = np.unique(group, return_inverse=True, return_counts=True)
        needed = counts > limit
        if not needed.any():
            continue
        row_number = np.cumsum(needed) - 1 + next_row
        keep = needed[inverse]
        rows.append(row_number[inverse[keep]])
        cols.append(variables[keep])
        upper.append(np.full(int(needed.sum()), limit))
        next_row += int(needed.sum())
    constraints = []
    if next_row:
        matrix = sparse.csr_array(
            (np.ones(sum(len(c) for c in cols)), (np.concatenate(rows), np.concatenate(cols))),
            shape=(next_row, n),
        )
        constraints.append(LinearConstraint(matrix, -np.inf, np.concatenate(upper)))
    objective = -np.asarray(value_of, dtype=np.float64)[pair_of]
    return _Model(objective, constraints, pair_of, round_of)


def solve(problem: Problem, *, time_limit: float = 30.0) -> Plan:
    """The most valuable schedule (``weights``): HiGHS's optimum, or the best it found
    within ``time_limit`` seconds, with its bound. Deterministic for the same problem
    (unless the time limit stops it)."""
    started = time.perf_counter()
    problem = _canonical(problem)
    value_of = weights(problem)
    model = _model(problem, value_of)
    if len(model.objective) == 0 or problem.tables == 0:
        return _finish(problem, [], value_of, started, bound=0.0, solver=SOLVER, optimal=True)
    result: OptimizeResult = milp(
        model.objective,
        integrality=np.ones(len(model.objective)),
        bounds=Bounds(0, 1),
        constraints=model.constraints,
        options={"time_limit": time_limit, "mip_rel_gap": 0.0, "presolve": False},
    )
    chosen: list[tuple[int, int]] = []
    if result.x is not None:
        on = np.flatnonzero(result.x > 0.5)
        chosen = [(int(model.pair_of[i]), int(model.round_of[i])) for i in on]
    dual = getattr(result, "mip_dual_bound", None)
    bound = -float(dual) if dual is not None and math.isfinite(dual) else None
    if bound is None:
        bound = relaxation_bound(problem)
    return _finish(
        problem, chosen, value_of, started, bound=bound, solver=SOLVER, optimal=result.status == 0
    )


def relaxation_bound(problem: Problem) -> float:
    """The LP relaxation's optimum: no schedule is worth more (``weights``)."""
    model = _model(problem, weights(problem))
    if len(model.objective) == 0 or problem.tables == 0:
        return 0.0
    result = milp(
        model.objective,
        integrality=np.zeros(len(model.objective)),
        bounds=Bounds(0, 1),
        constraints=model.constraints,
    )
    return -float(result.fun)


def round_robin_baseline(problem: Problem) -> Plan:
    """The older greedy plan, generalised to availability and tables: round by round,
    each listing (the one with the best pair first) takes its best remaining pair at the
    earliest round both attend and have free while a table is; a pair with no such round
    is dropped, as rounds only fill up. No bound: it does not know how good it is."""
    started = time.perf_counter()
    problem = _canonical(problem)
    value_of = weights(problem)
    index = {c.key: k for k, c in enumerate(problem.candidates)}
    queues: dict[int, list[Candidate]] = {}
    for pair in priority_order(problem.candidates):
        queues.setdefault(pair.listing, []).append(pair)
    listing_busy: dict[int, set[int]] = defaultdict(set)
    investor_busy: dict[int, set[int]] = defaultdict(set)
    at_tables = [0] * problem.rounds
    chosen: list[tuple[int, int]] = []
    placed = True
    while placed:
        placed = False
        for listing, queue in queues.items():
            while queue:
                pair = queue.pop(0)
                free = next(
                    (
                        r
                        for r in problem.common_rounds(pair)
                        if r not in listing_busy[listing]
                        and r not in investor_busy[pair.investor]
                        and at_tables[r] < problem.tables
                    ),
                    None,
                )
                if free is None:
                    continue
                listing_busy[listing].add(free)
                investor_busy[pair.investor].add(free)
                at_tables[free] += 1
                chosen.append((index[pair.key], free))
                placed = True
                break
    return _finish(problem, chosen, value_of, started, bound=None, solver=BASELINE)


def _finish(
    problem: Problem,
    chosen: list[tuple[int, int]],
    value_of: list[float],
    started: float,
    *,
    bound: float | None,
    solver: str,
    optimal: bool = False,
) -> Plan:
    """The plan from the chosen (candidate index, round) pairs: any pair that still fits
    added (a solver stopped by its time limit may leave one), tables assigned, and each
    pair left out with the reason."""
    candidates = problem.candidates
    listing_busy: dict[int, set[int]] = defaultdict(set)
    investor_busy: dict[int, set[int]] = defaultdict(set)
    at_tables = [0] * problem.rounds
    taken = set()
    for k, r in chosen:
        pair = candidates[k]
        listing_busy[pair.listing].add(r)
        investor_busy[pair.investor].add(r)
        at_tables[r] += 1
        taken.add(k)
    order = {c.key: k for k, c in enumerate(candidates)}
    unplaced: list[Unplaced] = []
    for pair in priority_order(c for k, c in enumerate(candidates) if k not in taken):
        common = problem.common_rounds(pair)
        people_free = [
            r
            for r in common
            if r not in listing_busy[pair.listing] and r not in investor_busy[pair.investor]
        ]
        room = next((r for r in people_free if at_tables[r] < problem.tables), None)
        if room is not None:
            listing_busy[pair.listing].add(room)
            investor_busy[pair.investor].add(room)
            at_tables[room] += 1
            chosen.append((order[pair.key], room))
            continue
        reason: Reason = (
            "no_common_round" if not common else "tables_full" if people_free else "fully_booked"
        )
        unplaced.append(Unplaced(pair, reason))
    tables = assign_tables([(candidates[k].listing, r) for k, r in chosen], problem.tables)
    placed = sorted(
        (Placed(candidates[k], r, table) for (k, r), table in zip(chosen, tables, strict=True)),
        key=lambda p: (p.round, p.table, p.candidate.listing),
    )
    value = sum(value_of[k] for k, _ in chosen)
    if bound is not None:
        bound = max(bound, value)  # HiGHS's bound is within its tolerance of the value
    return Plan(
        placed=placed,
        unplaced=unplaced,
        value=value,
        bound=bound,
        solver=solver,
        seconds=time.perf_counter() - started,
        optimal=optimal,
    )


def assign_tables(meetings: Sequence[tuple[int, int]], tables: int) -> list[int]:
    """A table (1 .. tables) for each meeting, given as (listing, round), no two in one
    round at the same table: a listing keeps one table across its rounds where it can (the
    listings with the most meetings choose first), the rest take the lowest table free in
    their round. Each round holds at most ``tables`` meetings, so one is always free."""
    by_listing: dict[int, list[int]] = defaultdict(list)
    for n, (listing, _) in enumerate(meetings):
        by_listing[listing].append(n)
    used: dict[int, set[int]] = defaultdict(set)  # round -> tables taken
    table_of: dict[int, int] = {}
    leftover: list[int] = []
    for listing in sorted(by_listing, key=lambda x: (-len(by_listing[x]), x)):
        own = by_listing[listing]
        its_rounds = [meetings[n][1] for n in own]
        home = next(
            (t for t in range(1, tables + 1) if all(t not in used[r] for r in its_rounds)),
            None,
        )
        if home is None:
            leftover.extend(own)
            continue
        for n, r in zip(own, its_rounds, strict=True):
            table_of[n] = home
            used[r].add(home)
    for n in leftover:
        r = meetings[n][1]
        table = next(t for t in range(1, tables + 1) if t not in used[r])
        table_of[n] = table
        used[r].add(table)
    return [table_of[n] for n in range(len(meetings))]
