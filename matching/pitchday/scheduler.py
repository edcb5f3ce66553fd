"""The one-to-one schedule: which listing meets which investor in which slot."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matching.models import InvestorProfile
from matching.pitchday.schemas import ShortlistEntry


@dataclass(frozen=True)
class Pair:
    listing_id: int
    listing_slug: str
    profile: InvestorProfile
    score: float
    entry: ShortlistEntry


def best_first(pairs: Sequence[Pair]) -> list[Pair]:
    return sorted(pairs, key=lambda p: (-p.score, p.listing_id, p.profile.id or 0))


def plan_meetings(pairs: Sequence[Pair], slot_count: int) -> list[tuple[int, Pair]]:
    """One-to-one meetings in ``slot_count`` slots: nobody twice in a slot.

    Round by round, each listing (the one with the best pair first) gets its best
    remaining investor, at the earliest slot both have free; so every listing meets its
    best fit before any listing meets its second. A pair with no free slot in common is
    dropped: slots only fill up, so it would never fit later.
    """
    queues: dict[int, list[Pair]] = {}
    for pair in best_first(pairs):
        queues.setdefault(pair.listing_id, []).append(pair)
    listing_busy: dict[int, set[int]] = {listing_id: set() for listing_id in queues}
    investor_busy: dict[int, set[int]] = {}
    planned: list[tuple[int, Pair]] = []
    placed = True
    while placed:
        placed = False
        for listing_id, queue in queues.items():
            while queue:
                pair = queue.pop(0)
                taken = listing_busy[listing_id] | investor_busy.get(pair.profile.id or 0, set())
                free = next((slot for slot in range(slot_count) if slot not in taken), None)
                if free is None:
                    continue
                listing_busy[listing_id].add(free)
                investor_busy.setdefault(pair.profile.id or 0, set()).add(free)
                planned.append((free, pair))
                placed = True
                break
    return sorted(planned, key=lambda item: (item[0], item[1].listing_id))
