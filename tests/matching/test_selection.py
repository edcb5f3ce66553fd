"""The optimiser that chooses who pitches, on small cases whose right answer is known:
slots, quotas per city and publisher, the minimum per kind, every investor's minimum of
matches, pins, ties by listing id, the reasons for what is left out, the pitch order, and
agreement with brute force on random pools."""

from __future__ import annotations

import itertools
import random
import time
from collections import Counter

import numpy as np
import pytest

from matching.pitchday.selection import (
    Candidate,
    Rules,
    changes,
    fit_matrix,
    needed_for,
    pitch_order,
    solve,
    why_left_out,
)


def pool(*specs: tuple[int, str, int, int], sector: str = "transport") -> list[Candidate]:
    """Candidates from (listing id, kind, city, publisher)."""
    return [Candidate(i, kind, sector, city, publisher) for i, kind, city, publisher in specs]


def trade(*ids: int, city: int = 1, publisher: int = 1) -> list[Candidate]:
    return [Candidate(i, "trade", "transport", city, publisher) for i in ids]


def column(*values: float) -> np.ndarray:
    """A fit matrix with one investor: each candidate's value."""
    return np.array(values, dtype=np.float64).reshape(-1, 1)


def test_fit_counts_only_scores_at_the_threshold_that_pass_hard_constraints() -> None:
    scores = np.array([[54.994, 54.996, 90.0], [80.0, 10.0, 0.0]])
    passed = np.array([[True, True, False], [True, True, True]])
    # Compared as shown, to two decimals: 54.996 is 55.00, a match; 54.994 is not.
    assert fit_matrix(scores, passed, 55.0).tolist() == [[0.0, 55.0, 0.0], [80.0, 0.0, 0.0]]


def test_the_slots_go_to_the_most_fit() -> None:
    candidates = trade(1, 2, 3, 4)
    solution = solve(candidates, column(10, 40, 30, 20), Rules(slots=2))
    assert solution.chosen == (2, 3)
    assert solution.objective == solution.bound == 70.0
    assert solution.optimal


def test_city_and_publisher_quotas_hold() -> None:
    candidates = pool(
        (1, "trade", 1, 1), (2, "trade", 1, 2), (3, "trade", 1, 3), (4, "trade", 2, 1)
    )
    fit = column(50, 40, 30, 10)
    by_city = solve(candidates, fit, Rules(slots=3, max_per_city=2))
    assert by_city.chosen == (1, 2, 4)  # the third from city 1 waits; city 2's one joins
    reasons = why_left_out(
        candidates, {1: 50, 2: 40, 3: 30, 4: 10}, by_city.chosen, Rules(slots=3, max_per_city=2)
    )
    assert reasons[3].code == "city_full"
    by_publisher = solve(candidates, fit, Rules(slots=3, max_per_publisher=1))
    assert by_publisher.chosen == (1, 2, 3)
    both = solve(candidates, fit, Rules(slots=3, max_per_city=2, max_per_publisher=1))
    assert both.chosen == (1, 2)  # publisher 1 is taken by 1: a slot stays free
    left = why_left_out(
        candidates,
        {1: 50, 2: 40, 3: 30, 4: 10},
        both.chosen,
        Rules(slots=3, max_per_city=2, max_per_publisher=1),
    )
    assert left[3].code == "city_full"
    assert left[4].code == "publisher_full"


def test_each_kind_gets_its_minimum_when_the_pool_allows() -> None:
    candidates = pool(
        (1, "trade", 1, 1), (2, "trade", 2, 2), (3, "trade", 3, 3), (4, "infrastructure", 4, 4)
    )
    fit = column(50, 40, 30, 5)
    solution = solve(candidates, fit, Rules(slots=3, min_per_kind=1))
    assert solution.chosen == (1, 2, 4)
    assert solution.kind_shortfall == {"infrastructure": 0, "trade": 0}
    reasons = why_left_out(candidates, {1: 50, 2: 40, 3: 30, 4: 5}, solution.chosen, Rules(slots=3))
    assert reasons[3].code == "rules_first"  # more fit than a chosen one, kept out by the rule
    # No infrastructure in the pool: the rule asks for none, and nothing fails.
    only_trade = solve(candidates[:3], fit[:3], Rules(slots=2, min_per_kind=1))
    assert only_trade.kind_wanted == {"infrastructure": 0, "trade": 1}
    assert only_trade.chosen == (1, 2)
    # A quota can make the minimum impossible: it is reported short, not failed.
    stuck = pool((1, "infrastructure", 1, 1), (2, "infrastructure", 1, 2), (3, "trade", 2, 3))
    short = solve(stuck, column(9, 8, 7), Rules(slots=3, max_per_city=1, min_per_kind=2))
    assert short.kind_wanted == {"infrastructure": 2, "trade": 1}  # the pool has 1 trade
    assert short.kind_shortfall == {"infrastructure": 1, "trade": 0}
    assert short.chosen == (1, 3)


def test_every_investor_gets_a_match_where_possible() -> None:
    candidates = trade(1, 2, 3)
    # Investor 0 likes the first two best; investor 1 only the third, a little.
    fit = np.array([[90.0, 0.0], [80.0, 0.0], [10.0, 10.0]])
    greedy = solve(candidates, fit, Rules(slots=2, min_per_investor=0))
    assert greedy.chosen == (1, 2)
    covered = solve(candidates, fit, Rules(slots=2, min_per_investor=1))
    assert covered.chosen == (1, 3)  # 3 serves the investor nobody else serves
    assert covered.coverage_shortfall.tolist() == [0, 0]
    assert needed_for([0, 2], fit, covered.coverage_wanted) == {0: [], 2: [1]}
    # Two investors with a listing each and one slot: one must go short, proved so.
    narrow = np.array([[70.0, 0.0], [0.0, 60.0]])
    one_slot = solve(trade(1, 2), narrow, Rules(slots=1, min_per_investor=1))
    assert one_slot.chosen == (1,)
    assert one_slot.coverage_shortfall.tolist() == [0, 1]
    assert one_slot.coverage_bound == 1
    # An investor no candidate serves is not counted short: the pool cannot do it.
    nobody = solve(trade(1), np.array([[70.0, 0.0]]), Rules(slots=1, min_per_investor=2))
    assert nobody.coverage_wanted.tolist() == [1, 0]
    assert nobody.coverage_shortfall.tolist() == [0, 0]


def test_pins_are_always_in_and_exclusions_never() -> None:
    candidates = trade(1, 2, 3)
    candidates[2] = Candidate(3, "trade", "transport", 1, 1, pinned=True)
    solution = solve(candidates, column(50, 40, 1), Rules(slots=2))
    assert solution.chosen == (1, 3)
    reasons = why_left_out(candidates, {1: 50, 2: 40, 3: 1}, solution.chosen, Rules(slots=2))
    assert reasons[2].code == "lower_fit"
    assert reasons[2].lowest == 1  # the least fit among those chosen on their merits
    # Pins past a quota stay in, and the quota is raised for them only.
    pinned = [Candidate(i, "trade", "transport", 1, 1, pinned=True) for i in (1, 2)] + trade(
        3, 4, city=2
    )
    raised = solve(pinned, column(1, 1, 50, 40), Rules(slots=3, max_per_city=1))
    assert raised.chosen == (1, 2, 3)
    assert raised.caps_raised == {"city": [1]}
    with pytest.raises(ValueError, match="pinned"):
        solve(pinned, column(1, 1, 50, 40), Rules(slots=1))
    all_pinned = why_left_out(pinned, {1: 1, 2: 1, 3: 50, 4: 40}, (1, 2), Rules(slots=2))
    assert all_pinned[3].code == "pinned_full"


def test_more_slots_than_candidates_takes_them_all() -> None:
    solution = solve(trade(5, 6), column(0, 10), Rules(slots=6))
    assert solution.chosen == (5, 6)
    assert solution.objective == 10.0
    empty = solve([], np.zeros((0, 3)), Rules(slots=4, min_per_investor=1))
    assert empty.chosen == ()
    assert why_left_out(trade(5), {5: 0.0}, (), Rules(slots=0))[5].code == "no_fit"


def test_ties_go_to_the_lower_listing_id_whatever_the_input_order() -> None:
    candidates = trade(7, 3, 9, 4)
    fit = column(20, 20, 20, 20)
    solution = solve(candidates, fit, Rules(slots=2))
    assert solution.chosen == (3, 4)
    rng = random.Random(5)
    for _ in range(5):
        order = list(range(4))
        rng.shuffle(order)
        shuffled = solve([candidates[i] for i in order], fit[order], Rules(slots=2))
        assert shuffled.chosen == (3, 4)
    # A hundredth of a point outweighs the tie-break.
    assert solve(candidates, column(20, 20, 20.01, 20), Rules(slots=1)).chosen == (9,)


def test_the_same_input_gives_the_same_plan_on_a_larger_pool() -> None:
    rng = np.random.default_rng(3)
    n, m = 60, 40
    candidates = [
        Candidate(i + 1, "trade" if i % 3 else "infrastructure", "transport", i % 7, i % 11)
        for i in range(n)
    ]
    fit = np.where(rng.random((n, m)) < 0.2, rng.integers(55, 100, (n, m)), 0).astype(float)
    rules = Rules(slots=8, max_per_city=2, max_per_publisher=1, min_per_kind=2, min_per_investor=1)
    first = solve(candidates, fit, rules)
    order = rng.permutation(n)
    second = solve([candidates[i] for i in order], fit[order], rules)
    assert first.chosen == second.chosen
    assert first.objective == second.objective
    assert first.optimal
    assert first.objective == first.bound


def test_rules_the_pool_cannot_meet_end_in_time_with_a_plan_and_its_bound() -> None:
    rng = np.random.default_rng(8)
    n, m = 400, 250
    candidates = [
        Candidate(i + 1, "trade" if i % 2 else "infrastructure", "transport", i % 10, i % 40)
        for i in range(n)
    ]
    # Investors from narrow to broad: two listings apiece cannot fit in 12 slots, and
    # proving the least shortfall is hard (a covering problem): the time limit ends it.
    breadth = rng.uniform(0.005, 0.16, m)
    fit = np.where(rng.random((n, m)) < breadth, rng.integers(55, 100, (n, m)), 0).astype(float)
    rules = Rules(slots=12, max_per_city=2, max_per_publisher=1, min_per_kind=3, min_per_investor=2)
    started = time.perf_counter()
    solution = solve(candidates, fit, rules, seconds=1.0)
    assert time.perf_counter() - started < 5.0  # the limit, and a last short solve
    assert solution.stopped_by_time
    assert not solution.optimal
    assert len(solution.chosen) == 12
    chosen = [candidates[i - 1] for i in solution.chosen]
    assert max(Counter(c.city for c in chosen).values()) <= 2
    assert max(Counter(c.publisher for c in chosen).values()) <= 1
    assert solution.kind_shortfall == {"infrastructure": 0, "trade": 0}
    assert solution.coverage_shortfall.sum() >= solution.coverage_bound > 0
    assert solution.bound >= solution.objective > 0


def _brute_force(
    candidates: list[Candidate], fit: np.ndarray, rules: Rules
) -> tuple[int, int, float]:
    """The best (kind shortfall, coverage shortfall, -fit) over every feasible plan."""
    n = len(candidates)
    matches = fit > 0
    wanted_kind = {
        k: min(rules.min_per_kind, sum(c.kind == k for c in candidates))
        for k in ("infrastructure", "trade")
    }
    wanted = np.minimum(
        np.minimum(rules.min_per_investor, matches.sum(axis=0)), min(rules.slots, n)
    )
    pins = {i for i, c in enumerate(candidates) if c.pinned}
    best = None
    for size in range(min(rules.slots, n) + 1):
        for plan in itertools.combinations(range(n), size):
            if not pins <= set(plan):
                continue
            ok = True
            for attr, cap in (("city", rules.max_per_city), ("publisher", rules.max_per_publisher)):
                if cap is None:
                    continue
                counts = Counter(getattr(candidates[i], attr) for i in plan)
                pinned = Counter(getattr(candidates[i], attr) for i in pins)
                ok &= all(count <= max(cap, pinned[key]) for key, count in counts.items())
            if not ok:
                continue
            kinds = Counter(candidates[i].kind for i in plan)
            kind_short = sum(max(w - kinds[k], 0) for k, w in wanted_kind.items())
            have = matches[list(plan)].sum(axis=0) if plan else np.zeros(fit.shape[1])
            cover_short = int(np.maximum(wanted - have, 0).sum())
            key = (kind_short, cover_short, -round(float(fit[list(plan)].sum()), 2))
            best = key if best is None or key < best else best
    assert best is not None
    return best


@pytest.mark.parametrize("seed", range(25))
def test_the_plan_is_the_lexicographic_optimum_of_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(3, 9)), int(rng.integers(1, 6))
    candidates = [
        Candidate(
            int(i + 1),
            str(rng.choice(["trade", "infrastructure"])),
            "transport",
            int(rng.integers(3)),
            int(rng.integers(3)),
            pinned=bool(rng.random() < 0.1),
        )
        for i in range(n)
    ]
    while sum(c.pinned for c in candidates) > 2:
        candidates = [
            Candidate(c.listing_id, c.kind, c.sector, c.city, c.publisher) for c in candidates
        ]
    fit = np.where(rng.random((n, m)) < 0.4, rng.integers(55, 100, (n, m)), 0).astype(float)
    rules = Rules(
        slots=int(rng.integers(2, 5)),
        max_per_city=int(rng.integers(1, 3)) if rng.random() < 0.6 else None,
        max_per_publisher=int(rng.integers(1, 3)) if rng.random() < 0.6 else None,
        min_per_kind=int(rng.integers(0, 2)),
        min_per_investor=int(rng.integers(0, 3)),
    )
    solution = solve(candidates, fit, rules)
    kind_short, cover_short, negative_fit = _brute_force(candidates, fit, rules)
    assert sum(solution.kind_shortfall.values()) == kind_short
    assert int(solution.coverage_shortfall.sum()) == cover_short
    assert solution.objective == pytest.approx(-negative_fit, abs=0.005)
    assert solution.bound == pytest.approx(solution.objective, abs=0.01)
    assert solution.coverage_bound == cover_short
    assert solution.optimal


def test_the_pitch_order_groups_sectors_and_separates_publishers() -> None:
    chosen = [
        Candidate(1, "trade", "agriculture", 1, 1),
        Candidate(2, "trade", "public-transport", 1, 2),
        Candidate(3, "trade", "agri-food-processing", 1, 1),
        Candidate(4, "trade", "transport", 1, 3),
        Candidate(5, "trade", "agri-food", 1, 4),
    ]
    value = {1: 30.0, 2: 20.0, 3: 25.0, 4: 10.0, 5: 5.0}
    order = pitch_order(chosen, value)
    families = ["agri" if i in (1, 3, 5) else "transport" for i in order]
    assert families == ["agri"] * 3 + ["transport"] * 2  # the stronger family first
    publishers = [next(c.publisher for c in chosen if c.listing_id == i) for i in order]
    assert all(a != b for a, b in itertools.pairwise(publishers))
    # The parent sector would lead its family, but then publisher 1's two would meet.
    assert order == [3, 5, 1, 4, 2]
    apart = [Candidate(1, "trade", "agriculture", 1, 1), Candidate(5, "trade", "agri-food", 1, 4)]
    assert pitch_order(apart, {1: 30.0, 5: 5.0}) == [5, 1]


def test_one_publisher_is_never_twice_in_a_row_when_it_can_be_avoided() -> None:
    same_sector = [
        Candidate(i, "trade", "transport", 1, p)
        for i, p in ((1, 7), (2, 7), (3, 7), (4, 8), (5, 8))
    ]
    order = pitch_order(same_sector, {i: 10.0 - i for i in range(1, 6)})
    publishers = [7 if i <= 3 else 8 for i in order]
    assert publishers == [7, 8, 7, 8, 7]
    # Three of four from one publisher: one repeat is unavoidable, and only one.
    crowded = [Candidate(i, "trade", "transport", 1, 7 if i < 4 else 8) for i in range(1, 5)]
    ordered = [7 if i < 4 else 8 for i in pitch_order(crowded, {})]
    assert sum(a == b for a, b in itertools.pairwise(ordered)) == 1


def test_a_full_programme_orders_fast_even_when_a_repeat_is_unavoidable() -> None:
    sectors = ["transport", "agriculture", "energy", "health", "tourism"]
    crowded = [Candidate(i, "trade", sectors[i % 5], 1, 7 if i < 21 else i) for i in range(40)]
    started = time.perf_counter()
    order = pitch_order(crowded, {i: float(i % 9) for i in range(40)})
    assert time.perf_counter() - started < 2.0
    assert sorted(order) == list(range(40))
    publishers = [7 if i < 21 else i for i in order]
    assert sum(a == b for a, b in itertools.pairwise(publishers)) == 1  # 21 of 40: one


def test_changes_name_what_was_added_removed_and_moved() -> None:
    found = changes(["a", "b", "c"], ["b", "a", "d"])
    assert found.added == ["d"]
    assert found.removed == ["c"]
    assert found.moved == [("b", 2, 1), ("a", 1, 2)]
    assert changes(["a"], ["a"]) == changes([], []).__class__([], [], [])
