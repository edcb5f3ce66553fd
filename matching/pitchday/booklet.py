"""An event's printed booklet: the programme of pitches with their times, each pitching
listing in full, and the agenda grid of who meets whom, round by round."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, select

from catalog.readmodel import listings_public
from catalog.schemas import ListingPublic
from core.principal import Principal
from matching.pitchday.models import Meeting, PitchEvent
from matching.pitchday.schemas import EventPublic, slot_start
from matching.pitchday.service import event_public


@dataclass(frozen=True, slots=True)
class Pitch:
    """A listing's turn on stage, in the programme's order."""

    starts_at: str
    ends_at: str
    listing: ListingPublic


@dataclass(frozen=True, slots=True)
class AgendaCell:
    """One meeting in the grid: the investor (None when not named to this reader) and the
    table (None for meetings planned before tables)."""

    investor_name: str | None
    table_no: int | None


@dataclass(frozen=True, slots=True)
class AgendaColumn:
    """A listing's meetings, one cell per round (None: no meeting that round)."""

    listing: ListingPublic
    cells: list[AgendaCell | None]

    def meetings(self, round_times: list[str]) -> list[tuple[str, AgendaCell]]:
        """The rounds this listing meets someone in, with their start times."""
        return [(round_times[n], cell) for n, cell in enumerate(self.cells) if cell is not None]


@dataclass(frozen=True, slots=True)
class Booklet:
    event: EventPublic
    pitches: list[Pitch]
    round_times: list[str]  # ``HH:MM`` each meeting round starts
    rounds_end: str  # ``HH:MM`` the last round ends
    columns: list[AgendaColumn]  # one per pitching listing, in the programme's order

    @property
    def has_meetings(self) -> bool:
        return any(cell is not None for column in self.columns for cell in column.cells)


def booklet(session: Session, *, event: PitchEvent, viewer: Principal | None) -> Booklet:
    """The booklet as ``viewer`` may read it: investors who are not discoverable are named
    only to the organiser and to themselves, as on the event's page."""
    public = event_public(session, event, viewer)
    listings = listings_public(session, [listing.id for listing in public.listings])
    pitches = [
        Pitch(
            starts_at=slot_start(event.first_slot, event.slot_minutes, n),
            ends_at=slot_start(event.first_slot, event.slot_minutes, n + 1),
            listing=listing,
        )
        for n, listing in enumerate(listings)
    ]
    tables = {
        (slot, listing_id): table_no
        for slot, listing_id, table_no in session.exec(
            select(Meeting.slot, Meeting.listing_id, Meeting.table_no).where(
                Meeting.event_id == event.id
            )
        )
    }
    ids = {listing.slug: listing.id for listing in listings}
    grid: dict[str, list[AgendaCell | None]] = {
        listing.slug: [None] * event.round_count for listing in listings
    }
    for meeting in public.meetings:
        cells = grid.get(meeting.listing_slug)
        if cells is not None and 0 <= meeting.slot < len(cells):
            cells[meeting.slot] = AgendaCell(
                investor_name=meeting.investor_name,
                table_no=tables.get((meeting.slot, ids[meeting.listing_slug])),
            )
    return Booklet(
        event=public,
        pitches=pitches,
        round_times=[
            slot_start(event.round_first, event.round_minutes, n) for n in range(event.round_count)
        ],
        rounds_end=slot_start(event.round_first, event.round_minutes, event.round_count),
        columns=[AgendaColumn(listing=listing, cells=grid[listing.slug]) for listing in listings],
    )
