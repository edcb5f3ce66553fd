"""A pitch day with its meetings planned, for the tests of agendas, check-in and outcomes:
listings and profiles made through the API, meetings written as the scheduler writes
them (rows with rounds and tables), so these tests do not depend on how it plans."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
from sqlmodel import Session, col, select

from catalog.accounts.models import Person
from catalog.models import Listing, Organisation
from core.db import utcnow
from core.formatting import bangkok_date
from matching.pitchday.models import Meeting, PitchEvent
from tests.factories import auth, create_and_publish, create_profile, with_version

SLUG = "ns-day"
WIDE: dict[str, Any] = {
    "sectors": [],
    "regions": [],
    "ticket_min_thb": 1_000_000,
    "ticket_max_thb": 2_000_000_000,
    "models": ["equity", "joint-venture", "debt", "franchise", "ppp"],
    "min_irr_pct": None,
    "thesis": "",
}


def today() -> date:
    return bangkok_date(utcnow())


@dataclass
class Day:
    slug: str
    fish: str  # listing slugs: Nakhon Sawan's fish-ball factory
    cold: str  # Nakhon Sawan's cold store
    port: str  # Rayong's port logistics
    food: int  # investor profile ids: Lanna Food (discoverable)
    wide: int  # Open Fund (discoverable)
    guest: int  # the organiser's own guest, not discoverable

    def ids(self, session: Session) -> dict[str, int]:
        slugs = (self.fish, self.cold, self.port)
        found = session.exec(select(Listing.slug, Listing.id).where(col(Listing.slug).in_(slugs)))
        return {slug: listing_id or 0 for slug, listing_id in found}


async def make_day(
    client: httpx.AsyncClient, world: Any, *, held_on: date | None = None, **event: Any
) -> Day:
    """Three listings (two cities, two sectors), three investors, an event on ``held_on``
    (today by default) with a programme from 13:00 and meeting rounds from 14:00."""
    fish = await create_and_publish(client, world.nakhon_sawan_key, slug="fish-balls")
    cold = await create_and_publish(
        client,
        world.nakhon_sawan_key,
        slug="cold-store",
        sector="cold-chain",
        title_th="ห้องเย็น",
        title_en="Cold store",
        investment_models=["debt"],
    )
    port = await create_and_publish(
        client,
        world.rayong_key,
        slug="port-logistics",
        city="rayong",
        smart_block="rayong-riverfront",
        sector="logistics",
        title_th="ศูนย์โลจิสติกส์ท่าเรือ",
        title_en="Port logistics hub",
    )
    food = await create_profile(client, world.investor_key, name="Lanna Food")
    wide = await create_profile(client, world.investor_key, name="Open Fund", **WIDE)
    guest = await create_profile(
        client, world.organiser_key, name="Guest Angel", discoverable=False, **WIDE
    )
    body = {
        "slug": SLUG,
        "city": "nakhon-sawan",
        "name_th": "วันนำเสนอโครงการนครสวรรค์",
        "name_en": "Nakhon Sawan pitch day",
        "venue_th": "ศาลาว่าการเทศบาล",
        "venue_en": "City hall",
        "held_on": (held_on or today()).isoformat(),
        "first_slot": "13:00",
        "slot_minutes": 20,
        "slot_count": 3,
        "round_first": "14:00",
        "round_minutes": 20,
        "round_count": 3,
        "table_count": 5,
        "listings": [fish, cold, port],
        "investors": [food, wide, guest],
    } | event
    created = await client.post("/v1/events", json=body, headers=auth(world.organiser_key))
    assert created.status_code == 201, created.text
    return Day(SLUG, fish, cold, port, food, wide, guest)


# (round, listing attribute, investor attribute, table)
PLAN = [
    (1, "fish", "food", 2),
    (0, "fish", "wide", 1),
    (0, "port", "food", 3),
    (1, "cold", "guest", 1),
    (2, "port", "guest", 4),
]


def plan(
    session: Session, day: Day, rows: Sequence[tuple[int, str, str, int | None]] = PLAN
) -> None:
    """Replace the event's meetings with ``rows``, as a re-plan does (new rows, new ids),
    and move the event to its next version as the scheduler does."""
    event = session.exec(select(PitchEvent).where(PitchEvent.slug == day.slug)).one()
    for old in session.exec(select(Meeting).where(Meeting.event_id == event.id)):
        session.delete(old)
    session.flush()
    ids = day.ids(session)
    for slot, listing, investor, table in rows:
        session.add(
            Meeting(
                event_id=event.id or 0,
                slot=slot,
                listing_id=ids[getattr(day, listing)],
                investor_profile_id=getattr(day, investor),
                score=70.0,
                table_no=table,
                source="request",
            )
        )
    event.version += 1
    event.scheduled_at = event.updated_at = utcnow()
    session.add(event)
    session.commit()


async def publish(client: httpx.AsyncClient, world: Any, slug: str = SLUG) -> httpx.Response:
    organiser = auth(world.organiser_key)
    return await client.post(
        f"/v1/events/{slug}/schedule/publication",
        headers=await with_version(client, f"/v1/events/{slug}", organiser),
    )


def add_person(
    session: Session, organisation: str, email: str, *, confirmed: bool = True
) -> Person:
    """A person of ``organisation`` (its slug), with a confirmed e-mail address or not."""
    org = session.exec(select(Organisation).where(Organisation.slug == organisation)).one()
    person = Person(
        email=email,
        name=email.split("@")[0],
        organisation_id=org.id or 0,
        role="investor" if org.kind == "investor" else "publisher",
        email_verified_at=utcnow() if confirmed else None,
    )
    session.add(person)
    session.commit()
    return person


def later(days: int) -> date:
    return today() + timedelta(days=days)
