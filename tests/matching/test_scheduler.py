"""The pitch-day scheduler on hand-made and random problems, without a database: the MILP
(``solve``) against known optima and a brute-force search, its constraints, priorities,
bound and tables; and the old round-robin (``round_robin_baseline``), kept for the
benchmark, whose properties follow at the end.

The round-robin works in rounds: in each round every listing, in the order of its best
pair (``priority_order``), takes its best remaining investor at the earliest slot both
have free, dropping the pairs that share no free slot. Only the plan is seen from
outside, but the rounds can be read back from it: a listing's placed pairs are placed one
per round in priority order, so a meeting's round is its rank among its listing's
meetings, and the meetings were placed in the order (round, listing's turn). The
properties below check the plan against that reading.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter, defaultdict
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.pitchday.scheduler import (
    SOURCES,
    Candidate,
    Plan,
    Problem,
    Source,
    assign_tables,
    priority_order,
    relaxation_bound,
    round_robin_baseline,
    solve,
    weights,
)

Key = tuple[int, int]
"""A pair's (listing id, investor profile id)."""

LISTING_IDS = st.integers(min_value=1, max_value=6)
INVESTOR_IDS = st.integers(min_value=1, max_value=6)
# A few fixed scores make ties common, so the tie-breaks of ``priority_order`` are exercised.
SCORES = st.one_of(
    st.sampled_from([0.0, 50.0, 87.5, 100.0]),
    st.floats(min_value=0, max_value=100).map(lambda x: round(x, 2)),
)
SLOT_COUNTS = st.integers(min_value=1, max_value=8)
UNLIMITED = 1_000  # tables enough for everyone


def pair(
    listing: int, investor: int, source: Source = "proposal", score: float = 50.0
) -> Candidate:
    return Candidate(listing, investor, source, score)


def check_feasible(problem: Problem, plan: Plan) -> None:
    """Nobody in two places at once, only in rounds both attend, no table over capacity or
    shared, at most one meeting per pair, and every candidate placed or explained once."""
    keys = [p.candidate.key for p in plan.placed]
    assert len(keys) == len(set(keys))
    for place in (
        Counter((p.round, p.candidate.listing) for p in plan.placed),
        Counter((p.round, p.candidate.investor) for p in plan.placed),
        Counter((p.round, p.table) for p in plan.placed),
    ):
        assert max(place.values(), default=1) == 1, place
    for placed in plan.placed:
        assert placed.round in problem.common_rounds(placed.candidate)
        assert 1 <= placed.table <= problem.tables
    assert max(Counter(p.round for p in plan.placed).values(), default=0) <= problem.tables
    explained = [u.candidate.key for u in plan.unplaced]
    assert sorted(keys + explained) == sorted(c.key for c in problem.candidates)


def counts(plan: Plan) -> tuple[int, ...]:
    placed = Counter(p.candidate.source for p in plan.placed)
    return tuple(placed[source] for source in SOURCES)


# --- the MILP on hand-made problems -----------------------------------------------------


def test_one_mutual_request_outranks_two_requests_it_blocks() -> None:
    """One round: the mutual pair (1, 10) shares its listing with one request and its
    investor with another. Two meetings beat one by count, but not by priority."""
    problem = Problem(
        rounds=1,
        tables=5,
        candidates=[
            pair(1, 10, "mutual", 10.0),
            pair(1, 20, "request", 100.0),
            pair(2, 10, "request", 100.0),
        ],
    )
    plan = solve(problem)
    assert [p.candidate.key for p in plan.placed] == [(1, 10)]
    assert {u.candidate.key: u.reason for u in plan.unplaced} == {
        (1, 20): "fully_booked",
        (2, 10): "fully_booked",
    }
    assert plan.optimal
    check_feasible(problem, plan)


def test_a_request_outranks_any_number_of_proposals() -> None:
    """Investor 10 is free in one round: one request of listing 1 against proposals with
    every other listing, all scoring more."""
    problem = Problem(
        rounds=3,
        tables=5,
        candidates=[pair(1, 10, "request", 1.0)]
        + [pair(n, 10, "proposal", 99.0) for n in range(2, 8)],
        investor_rounds={10: frozenset({1})},
    )
    plan = solve(problem)
    assert [(p.candidate.key, p.round) for p in plan.placed] == [((1, 10), 1)]
    assert {u.reason for u in plan.unplaced} == {"fully_booked"}


def test_more_meetings_outrank_better_scores_within_a_priority() -> None:
    """Listing 1 and investor 10 could meet (score 100) in the one round, or each meet
    someone else (scores 1): two meetings."""
    problem = Problem(
        rounds=1,
        tables=5,
        candidates=[pair(1, 10, score=100.0), pair(1, 20, score=1.0), pair(2, 10, score=1.0)],
    )
    plan = solve(problem)
    assert sorted(p.candidate.key for p in plan.placed) == [(1, 20), (2, 10)]


def test_score_decides_between_plans_with_as_many_meetings() -> None:
    problem = Problem(
        rounds=1,
        tables=5,
        candidates=[pair(1, 10, score=40.0), pair(1, 20, score=90.0), pair(1, 30, score=60.0)],
    )
    assert [p.candidate.key for p in solve(problem).placed] == [(1, 20)]


def test_the_solver_moves_a_meeting_the_round_robin_would_block() -> None:
    """Listing 2 can only come in round 0 and must meet investor 10 there; listing 1 meets
    investor 10 too and could come in either round. The round-robin puts listing 1's
    better pair in the earliest round and so loses listing 2's; the MILP places both."""
    problem = Problem(
        rounds=2,
        tables=5,
        candidates=[pair(1, 10, "request", 90.0), pair(2, 10, "request", 80.0)],
        listing_rounds={2: frozenset({0})},
    )
    plan = solve(problem)
    assert sorted((p.candidate.key, p.round) for p in plan.placed) == [
        ((1, 10), 1),
        ((2, 10), 0),
    ]
    baseline = round_robin_baseline(problem)
    assert [(p.candidate.key, p.round) for p in baseline.placed] == [((1, 10), 0)]
    assert [(u.candidate.key, u.reason) for u in baseline.unplaced] == [((2, 10), "fully_booked")]
    assert baseline.value < plan.value
    assert baseline.bound is None
    assert baseline.ratio is None


def test_tables_cap_each_round() -> None:
    """Five pairs with nobody in common, one table, three rounds: three meetings, all at
    table 1, and two pairs left out because the tables were full."""
    problem = Problem(
        rounds=3, tables=1, candidates=[pair(n, 10 + n, score=10.0 * n) for n in range(1, 6)]
    )
    plan = solve(problem)
    check_feasible(problem, plan)
    assert sorted(p.round for p in plan.placed) == [0, 1, 2]
    assert {p.table for p in plan.placed} == {1}
    assert sorted(p.candidate.listing for p in plan.placed) == [3, 4, 5]  # the best scores
    assert {u.candidate.listing: u.reason for u in plan.unplaced} == {
        1: "tables_full",
        2: "tables_full",
    }


def test_meetings_only_in_rounds_both_attend() -> None:
    problem = Problem(
        rounds=4,
        tables=2,
        candidates=[pair(1, 10), pair(2, 10), pair(3, 30)],
        listing_rounds={1: frozenset({0, 1}), 2: frozenset({1, 2}), 3: frozenset({3})},
        investor_rounds={10: frozenset({1, 2, 3}), 30: frozenset({0, 1})},
    )
    plan = solve(problem)
    check_feasible(problem, plan)
    assert sorted((p.candidate.key, p.round) for p in plan.placed) == [
        ((1, 10), 1),
        ((2, 10), 2),
    ]
    assert [(u.candidate.key, u.reason) for u in plan.unplaced] == [((3, 30), "no_common_round")]


def test_nothing_to_place_is_a_proven_empty_plan() -> None:
    for problem in (
        Problem(rounds=3, tables=2, candidates=[]),
        Problem(rounds=3, tables=0, candidates=[pair(1, 10)]),
        Problem(rounds=2, tables=2, candidates=[pair(1, 10)], listing_rounds={1: frozenset()}),
    ):
        plan = solve(problem)
        assert plan.placed == []
        assert plan.value == 0.0
        assert plan.ratio == 1.0
        assert len(plan.unplaced) == len(problem.candidates)
    full = solve(Problem(rounds=3, tables=0, candidates=[pair(1, 10)]))
    assert [u.reason for u in full.unplaced] == ["tables_full"]


def test_a_pair_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="only once"):
        solve(Problem(rounds=1, tables=1, candidates=[pair(1, 10), pair(1, 10, "request")]))


def test_a_listing_keeps_its_table_when_it_can() -> None:
    """Listing 1 meets in three rounds, listing 2 in two, listing 3 in one: two tables are
    enough for each listing to keep one table throughout."""
    meetings = [(1, 0), (2, 0), (1, 1), (3, 1), (1, 2), (2, 2)]
    tables = assign_tables(meetings, 2)
    by_listing = defaultdict(set)
    for (listing, _), table in zip(meetings, tables, strict=True):
        by_listing[listing].add(table)
    assert all(len(t) == 1 for t in by_listing.values())
    assert by_listing[1] == {1}  # the busiest listing chooses first
    # Too few tables for a table each: still no two meetings at one table in a round.
    crowded = [(listing, r) for r in range(3) for listing in range(1, 4)] + [(4, 0)]
    crowded = [(listing, r) for listing, r in crowded if not (listing == 3 and r == 0)]
    placed = assign_tables(crowded, 3)
    assert len({(r, t) for (_, r), t in zip(crowded, placed, strict=True)}) == len(crowded)


# --- the MILP on random problems ----------------------------------------------------------


@st.composite
def problems(draw: st.DrawFn, max_pairs: int = 7) -> Problem:
    """Small problems: a few rounds and tables, pairs of mixed sources, some people free
    only in some rounds."""
    rounds = draw(st.integers(min_value=1, max_value=3))
    tables = draw(st.integers(min_value=1, max_value=3))
    keys = draw(st.lists(st.tuples(LISTING_IDS, INVESTOR_IDS), unique=True, max_size=max_pairs))
    candidates = [
        Candidate(listing, investor, draw(st.sampled_from(SOURCES)), draw(SCORES))
        for listing, investor in keys
    ]
    free = st.frozensets(st.integers(min_value=0, max_value=rounds - 1))
    listing_rounds = draw(st.dictionaries(LISTING_IDS, free, max_size=3))
    investor_rounds = draw(st.dictionaries(INVESTOR_IDS, free, max_size=3))
    return Problem(rounds, tables, candidates, listing_rounds, investor_rounds)


def brute_force_best(problem: Problem) -> float:
    """The most valuable feasible plan's value, by trying every assignment."""
    value_of = weights(problem)
    options = [[None, *problem.common_rounds(c)] for c in problem.candidates]
    best = 0.0
    for rounds in itertools.product(*options):
        seen: set[tuple[str, int, int]] = set()
        at_tables: Counter[int] = Counter()
        ok = True
        for c, r in zip(problem.candidates, rounds, strict=True):
            if r is None:
                continue
            at_tables[r] += 1
            for who in (("l", c.listing, r), ("i", c.investor, r)):
                ok = ok and who not in seen
                seen.add(who)
        if ok and all(n <= problem.tables for n in at_tables.values()):
            best = max(best, sum(v for v, r in zip(value_of, rounds, strict=True) if r is not None))
    return best


@settings(max_examples=150, deadline=None)
@given(problem=problems())
def test_the_plan_is_feasible_and_optimal(problem: Problem) -> None:
    plan = solve(problem)
    if problem.candidates:
        check_feasible(problem, plan)
    assert plan.optimal
    assert plan.value == pytest.approx(brute_force_best(problem), rel=1e-9, abs=1e-9)
    assert plan.bound is not None
    assert plan.bound >= plan.value
    assert relaxation_bound(problem) >= plan.value - 1e-6
    assert plan.ratio is not None
    assert plan.ratio == pytest.approx(1.0)


@settings(max_examples=100, deadline=None)
@given(problem=problems(max_pairs=12))
def test_as_many_mutual_requests_as_can_be_placed_and_never_worse_than_the_baseline(
    problem: Problem,
) -> None:
    """The plan places as many mutual requests as the mutual requests alone could have,
    whatever else there is; and it is never worth less than the round-robin's."""
    plan = solve(problem)
    mutual_only = Problem(
        problem.rounds,
        problem.tables,
        [c for c in problem.candidates if c.source == "mutual"],
        problem.listing_rounds,
        problem.investor_rounds,
    )
    assert counts(plan)[0] == len(solve(mutual_only).placed)
    baseline = round_robin_baseline(problem)
    if problem.candidates:
        check_feasible(problem, baseline)
    assert plan.value >= baseline.value - 1e-9


@settings(max_examples=50, deadline=None)
@given(problem=problems(max_pairs=12), seed=st.randoms())
def test_the_same_problem_gives_the_same_plan_whatever_the_order(
    problem: Problem, seed: random.Random
) -> None:
    shuffled = list(problem.candidates)
    seed.shuffle(shuffled)
    again = Problem(
        problem.rounds, problem.tables, shuffled, problem.listing_rounds, problem.investor_rounds
    )
    first, second = solve(problem), solve(again)
    assert first.placed == second.placed
    assert first.unplaced == second.unplaced
    assert first.value == pytest.approx(second.value)
    assert round_robin_baseline(problem).placed == round_robin_baseline(again).placed


# --- the round-robin baseline -------------------------------------------------------------


def plan_meetings(pairs: Sequence[Candidate], slot_count: int) -> list[tuple[int, Candidate]]:
    """The baseline as the old ``plan_meetings`` was: every pair a proposal, everyone free
    in every slot, tables for all."""
    plan = round_robin_baseline(Problem(slot_count, UNLIMITED, pairs))
    return sorted(((p.round, p.candidate) for p in plan.placed), key=lambda x: (x[0], x[1].listing))


best_first = priority_order


def make_pairs(scored: Sequence[tuple[Key, float]]) -> list[Candidate]:
    return [
        pair(listing_id, investor_id, score=score) for (listing_id, investor_id), score in scored
    ]


@st.composite
def pair_sets(draw: st.DrawFn) -> list[Candidate]:
    """Unique (listing, investor) pairs with scores, in random order."""
    scored = draw(st.dictionaries(st.tuples(LISTING_IDS, INVESTOR_IDS), SCORES, max_size=36))
    return make_pairs(list(scored.items()))


def key(pair: Candidate) -> Key:
    return pair.key


class Reading:
    """The plan of ``pairs``, and the rounds read back from it."""

    def __init__(self, pairs: Sequence[Candidate], slot_count: int) -> None:
        self.plan = plan_meetings(pairs, slot_count)
        self.priority = {key(pair): n for n, pair in enumerate(best_first(pairs))}
        # A listing's turn in each round: the order of its best pair in ``best_first``.
        self.turn: dict[int, int] = {}
        for pair in best_first(pairs):
            self.turn.setdefault(pair.listing, len(self.turn))
        self.slot_of = {key(pair): slot for slot, pair in self.plan}
        self.round_of: dict[Key, int] = {}
        by_listing: dict[int, list[Key]] = defaultdict(list)
        for _, pair in self.plan:
            by_listing[pair.listing].append(key(pair))
        for keys in by_listing.values():
            for n, k in enumerate(sorted(keys, key=self.priority.__getitem__), start=1):
                self.round_of[k] = n
        self.listing_at: dict[tuple[int, int], Key] = {}
        self.investor_at: dict[tuple[int, int], Key] = {}
        for slot, pair in self.plan:
            listing_id, investor_id = key(pair)
            self.listing_at[listing_id, slot] = key(pair)
            self.investor_at[investor_id, slot] = key(pair)

    def placed_before(self, meeting: Key, round_: int, listing_id: int) -> bool:
        """Whether ``meeting`` was placed before ``listing_id``'s turn in ``round_``."""
        other_round = self.round_of[meeting]
        return other_round < round_ or (
            other_round == round_ and self.turn[meeting[0]] < self.turn[listing_id]
        )

    def taken_at_turn(self, pair: Key, round_: int, slot: int) -> bool:
        """Whether ``slot`` was taken, for ``pair``, when its listing's turn in ``round_`` came:
        by one of the listing's earlier meetings, or by a meeting of the investor placed
        before then."""
        listing_id, investor_id = pair
        own = self.listing_at.get((listing_id, slot))
        if own is not None and self.round_of[own] < round_:
            return True
        theirs = self.investor_at.get((investor_id, slot))
        return theirs is not None and self.placed_before(theirs, round_, listing_id)


@settings(max_examples=200, deadline=None)
@given(pairs=pair_sets(), slot_count=SLOT_COUNTS)
def test_nobody_is_booked_twice_in_a_slot(pairs: list[Candidate], slot_count: int) -> None:
    plan = plan_meetings(pairs, slot_count)
    assert all(slot in range(slot_count) for slot, _ in plan)
    listings = Counter((slot, pair.listing) for slot, pair in plan)
    investors = Counter((slot, pair.investor) for slot, pair in plan)
    assert max(listings.values(), default=1) == 1, listings
    assert max(investors.values(), default=1) == 1, investors


@settings(max_examples=200, deadline=None)
@given(pairs=pair_sets(), slot_count=SLOT_COUNTS)
def test_only_given_pairs_are_placed_and_each_at_most_once(
    pairs: list[Candidate], slot_count: int
) -> None:
    plan = plan_meetings(pairs, slot_count)
    given_ids = {id(pair) for pair in pairs}
    assert all(id(pair) in given_ids for _, pair in plan)
    placed = Counter(key(pair) for _, pair in plan)
    assert max(placed.values(), default=1) == 1, placed


@settings(max_examples=200, deadline=None)
@given(pairs=pair_sets(), slot_count=SLOT_COUNTS)
def test_a_pair_left_out_had_no_slot_free_for_both(pairs: list[Candidate], slot_count: int) -> None:
    """Every unplaced pair is blocked in the final plan: in each slot its listing or its
    investor meets someone. In particular a listing never skips a better pair for a worse
    one while the better one still fits."""
    reading = Reading(pairs, slot_count)
    for pair in pairs:
        listing_id, investor_id = k = key(pair)
        if k in reading.slot_of:
            continue
        for slot in range(slot_count):
            assert (listing_id, slot) in reading.listing_at or (
                investor_id,
                slot,
            ) in reading.investor_at, (k, slot, reading.plan)


@settings(max_examples=200, deadline=None)
@given(pairs=pair_sets(), slot_count=SLOT_COUNTS)
def test_every_listing_meets_its_best_fit_unless_first_meetings_fill_the_investor(
    pairs: list[Candidate], slot_count: int
) -> None:
    """A listing's best pair is placed, and in its first round, unless its investor is
    booked in every slot by the first meetings of listings whose turn comes earlier: no
    listing's second meeting ever costs another listing its best fit."""
    reading = Reading(pairs, slot_count)
    best: dict[int, Candidate] = {}
    for pair in best_first(pairs):
        best.setdefault(pair.listing, pair)
    for listing_id, pair in best.items():
        k = key(pair)
        if k in reading.slot_of:
            assert reading.round_of[k] == 1
            continue
        investor_id = k[1]
        for slot in range(slot_count):
            blocker = reading.investor_at.get((investor_id, slot))
            assert blocker is not None, ("best fit left out with a free slot", k, slot)
            assert reading.round_of[blocker] == 1, ("lost to a second meeting", k, blocker)
            assert reading.turn[blocker[0]] < reading.turn[listing_id], (k, blocker)


@settings(max_examples=200, deadline=None)
@given(pairs=pair_sets(), slot_count=SLOT_COUNTS)
def test_rounds_give_each_listing_its_best_remaining_investor_at_the_earliest_slot(
    pairs: list[Candidate], slot_count: int
) -> None:
    """Read the rounds back from the plan and check each step of them.

    A listing with ``n`` meetings before pair P (in ``best_first`` order) reaches P in
    round ``n + 1``. If P is placed, every earlier slot was taken then, for its listing or
    its investor; if P is left out, every slot was.
    """
    reading = Reading(pairs, slot_count)
    placed_keys = set(reading.slot_of)
    for pair in pairs:
        k = key(pair)
        earlier_meetings = sum(
            1
            for other in placed_keys
            if other[0] == k[0] and reading.priority[other] < reading.priority[k]
        )
        round_ = earlier_meetings + 1
        if k in reading.slot_of:
            assert reading.round_of[k] == round_
            slots_before: range = range(reading.slot_of[k])
        else:
            slots_before = range(slot_count)
        for slot in slots_before:
            assert reading.taken_at_turn(k, round_, slot), (k, round_, slot, reading.plan)


def test_best_fit_means_best_remaining_in_the_first_round() -> None:
    """Listing 2's best fit (investor 20, score 50) is lost to listing 1's first meeting,
    though that scores only 10: listing 1 goes first (its best pair scores 90) and takes
    its best remaining investor, as investor 10 is already with listing 3."""
    pairs = make_pairs([((3, 10), 95.0), ((1, 10), 90.0), ((1, 20), 10.0), ((2, 20), 50.0)])
    plan = [(slot, key(pair)) for slot, pair in plan_meetings(pairs, 1)]
    assert plan == [(0, (1, 20)), (0, (3, 10))]
