"""Properties of the pitch-day scheduler on random pairs, without a database.

``plan_meetings`` works in rounds: in each round every listing, in the order of its best
pair (``best_first``), takes its best remaining investor at the earliest slot both have
free, dropping the pairs that share no free slot. Only the plan is seen from outside, but
the rounds can be read back from it: a listing's placed pairs are placed one per round in
``best_first`` order, so a meeting's round is its rank among its listing's meetings, and
the meetings were placed in the order (round, listing's turn). The properties below check
the plan against that reading.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from matching.models import InvestorProfile
from matching.pitchday.scheduler import Pair, best_first, plan_meetings
from matching.pitchday.schemas import ShortlistEntry

Key = tuple[int, int]
"""A pair's (listing id, investor profile id)."""

LISTING_IDS = st.integers(min_value=1, max_value=6)
INVESTOR_IDS = st.integers(min_value=1, max_value=6)
# A few fixed scores make ties common, so the tie-breaks of ``best_first`` are exercised.
SCORES = st.one_of(
    st.sampled_from([0.0, 50.0, 87.5, 100.0]),
    st.floats(min_value=0, max_value=100).map(lambda x: round(x, 2)),
)
SLOT_COUNTS = st.integers(min_value=1, max_value=8)


@cache
def profile(investor_id: int) -> InvestorProfile:
    """An unsaved profile; the same object for each id, as building one is slow."""
    return InvestorProfile(
        id=investor_id,
        slug=f"investor-{investor_id}",
        organisation_id=1,
        name=f"Investor {investor_id}",
        investor_type="fund",
        home_country="TH",
        ticket_min_thb=0,
        ticket_max_thb=1,
        horizon_years=5,
    )


def make_pairs(scored: Sequence[tuple[Key, float]]) -> list[Pair]:
    return [
        Pair(
            listing_id=listing_id,
            listing_slug=f"listing-{listing_id}",
            profile=profile(investor_id),
            score=score,
            entry=ShortlistEntry(
                investor_profile_id=investor_id,
                investor_name=profile(investor_id).name,
                score=score,
                reasons=[],
            ),
        )
        for (listing_id, investor_id), score in scored
    ]


@st.composite
def pair_sets(draw: st.DrawFn) -> list[Pair]:
    """Unique (listing, investor) pairs with scores, in random order."""
    scored = draw(st.dictionaries(st.tuples(LISTING_IDS, INVESTOR_IDS), SCORES, max_size=36))
    return make_pairs(list(scored.items()))


def key(pair: Pair) -> Key:
    assert pair.profile.id is not None
    return pair.listing_id, pair.profile.id


class Reading:
    """The plan of ``pairs``, and the rounds read back from it."""

    def __init__(self, pairs: Sequence[Pair], slot_count: int) -> None:
        self.plan = plan_meetings(pairs, slot_count)
        self.priority = {key(pair): n for n, pair in enumerate(best_first(pairs))}
        # A listing's turn in each round: the order of its best pair in ``best_first``.
        self.turn: dict[int, int] = {}
        for pair in best_first(pairs):
            self.turn.setdefault(pair.listing_id, len(self.turn))
        self.slot_of = {key(pair): slot for slot, pair in self.plan}
        self.round_of: dict[Key, int] = {}
        by_listing: dict[int, list[Key]] = defaultdict(list)
        for _, pair in self.plan:
            by_listing[pair.listing_id].append(key(pair))
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
def test_nobody_is_booked_twice_in_a_slot(pairs: list[Pair], slot_count: int) -> None:
    plan = plan_meetings(pairs, slot_count)
    assert all(slot in range(slot_count) for slot, _ in plan)
    listings = Counter((slot, pair.listing_id) for slot, pair in plan)
    investors = Counter((slot, pair.profile.id) for slot, pair in plan)
    assert max(listings.values(), default=1) == 1, listings
    assert max(investors.values(), default=1) == 1, investors


@settings(max_examples=200, deadline=None)
@given(pairs=pair_sets(), slot_count=SLOT_COUNTS)
def test_only_given_pairs_are_placed_and_each_at_most_once(
    pairs: list[Pair], slot_count: int
) -> None:
    plan = plan_meetings(pairs, slot_count)
    given_ids = {id(pair) for pair in pairs}
    assert all(id(pair) in given_ids for _, pair in plan)
    placed = Counter(key(pair) for _, pair in plan)
    assert max(placed.values(), default=1) == 1, placed


@settings(max_examples=200, deadline=None)
@given(pairs=pair_sets(), slot_count=SLOT_COUNTS)
def test_a_pair_left_out_had_no_slot_free_for_both(pairs: list[Pair], slot_count: int) -> None:
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
    pairs: list[Pair], slot_count: int
) -> None:
    """A listing's best pair is placed, and in its first round, unless its investor is
    booked in every slot by the first meetings of listings whose turn comes earlier: no
    listing's second meeting ever costs another listing its best fit."""
    reading = Reading(pairs, slot_count)
    best: dict[int, Pair] = {}
    for pair in best_first(pairs):
        best.setdefault(pair.listing_id, pair)
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
    pairs: list[Pair], slot_count: int
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
