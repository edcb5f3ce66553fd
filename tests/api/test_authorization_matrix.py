"""Who may do what, for every operation of the API: each operation in the OpenAPI spec
is sent by each of eight callers, and the status must be the one ``EXPECTED`` gives.

The callers are people signed in (session tokens), one per role and side:

- ``anon``: nobody (no ``Authorization`` header);
- ``pub`` / ``pub2``: the publisher that owns the listings in the paths (``ns-dev``), and
  another city's (``rayong-dev``);
- ``inv`` / ``inv2``: the investor that owns the profile, interest and saved search in the
  paths (``siam-infra-fund``), and another investor;
- ``org`` / ``org2``: the organiser that runs the pitch day in the paths (``pitch-org``),
  and another organiser;
- ``admin``: the platform's operator.

One world is built per module (``Scene``): published and draft listings, a hidden
investor profile that attends the organiser's pitch day, meetings, a meeting request, an
interest and its lead, a saved search, agenda and feed tokens, single-use links. Each
case runs in a savepoint that is rolled back, so a write one case makes (an allowed
archive, say) is never seen by the next; writes are sent with valid bodies and the
current ``If-Match``, so an allowed write really succeeds (2xx) and a refused one is
refused for who sent it (401/403/404), not for its body.

The same operations are then sent with each organisation's API key instead, which must
get what its person gets (``expected_for_key``: a key has no shortlist or saved searches
and manages no members). Further: a hidden profile that attends nothing is missing to
everyone else on every path and in every body that names it; no read shows outsiders a
hidden profile's or a draft's name; a malformed ``Authorization`` header is a 401 on
every operation that reads credentials.

An operation in the spec without a row in ``EXPECTED`` fails the suite, and so does a
row for an operation that no longer exists. Portal pages are not in the spec, nor here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Connection, Engine
from sqlmodel import Session, select

from api.main import build_services, create_app
from catalog.accounts import service as accounts
from catalog.accounts.models import Person
from catalog.accounts.schemas import InvitationCreate
from catalog.models import Organisation
from catalog.organisations import issue_key
from catalog.search.tantivy_engine import TantivyIndex
from core.db import Database, utcnow
from core.formatting import bangkok_date
from core.principal import OrganisationKind, Role
from core.settings import get_settings
from matching.matrix import MatrixStore
from matching.pitchday.models import EventInvestor, Meeting, PitchEvent
from tests.factories import (
    MARKET_LISTINGS,
    auth,
    build_world,
    create_and_publish,
    create_profile,
    listing_payload,
)

ROLES = ("anon", "pub", "pub2", "inv", "inv2", "org", "org2", "admin")
Expect = int | frozenset[int]

# --- the world ----------------------------------------------------------------------------

EVENT = "ns-matrix-day"
PASSWORD = "correct horse battery"


@dataclass
class Scene:
    """The callers' credentials, and the path parameters that name real resources."""

    tokens: dict[str, str] = field(default_factory=dict)  # role -> session token
    keys: dict[str, str] = field(default_factory=dict)  # role -> its organisation's API key
    params: dict[str, Any] = field(default_factory=dict)  # path parameter -> value
    etags: dict[str, str] = field(default_factory=dict)  # resource path -> current ETag
    values: dict[str, Any] = field(default_factory=dict)  # anything else a body needs


def _organisation(session: Session, slug: str, kind: OrganisationKind) -> Organisation:
    organisation = Organisation(
        slug=slug, name_th=slug, name_en=slug, kind=kind, verified_at=utcnow()
    )
    session.add(organisation)
    session.flush()
    return organisation


def _owner_session(session: Session, slug: str, email: str) -> tuple[Person, str]:
    """The owner of organisation ``slug``, signed in; returns the person and the token."""
    organisation = session.exec(select(Organisation).where(Organisation.slug == slug)).one()
    person = Person(
        email=email,
        name=email.split("@")[0],
        organisation_id=organisation.id or 0,
        role=accounts.role_of(organisation),
        is_owner=True,
        email_verified_at=utcnow(),
    )
    session.add(person)
    session.flush()
    signed_in = accounts.start_session(
        session, person, address="127.0.0.1", settings=get_settings().accounts
    )
    return person, signed_in.token


async def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.is_success, (response.request.method, response.request.url, response.text)
    body: dict[str, Any] = response.json() if response.content else {}
    return body


async def build_scene(client: httpx.AsyncClient, session: Session) -> Scene:
    world = build_world(session)
    _organisation(session, "other-fund", OrganisationKind.investor)
    _organisation(session, "far-away-events", OrganisationKind.organiser)
    other_investor_key = issue_key(session, organisation_slug="other-fund", role=Role.investor)[1]
    scene = Scene()
    scene.keys = {
        "pub": world.nakhon_sawan_key,
        "pub2": world.rayong_key,
        "inv": world.investor_key,
        "inv2": other_investor_key,
        "org": world.organiser_key,
        "org2": issue_key(session, organisation_slug="far-away-events", role=Role.organiser)[1],
        "admin": world.admin_key,
    }
    people: dict[str, Person] = {}
    for role, slug in [
        ("pub", "ns-dev"),
        ("pub2", "rayong-dev"),
        ("inv", "siam-infra-fund"),
        ("inv2", "other-fund"),
        ("org", "pitch-org"),
        ("org2", "far-away-events"),
        ("admin", "citydeal-ops"),
    ]:
        people[role], scene.tokens[role] = _owner_session(session, slug, f"{role}@matrix.example")
    people["pub"].password_hash = accounts.Passwords(get_settings().accounts).hash(PASSWORD)
    session.add(people["pub"])
    session.commit()

    # Listings: Nakhon Sawan's published fish-ball factory (the path's listing) and cold
    # store, a draft of its own, and Rayong's port.
    fish = await create_and_publish(client, world.nakhon_sawan_key, **MARKET_LISTINGS[0])
    cold = await create_and_publish(client, world.nakhon_sawan_key, **MARKET_LISTINGS[1])
    draft = await _ok(
        await client.post(
            "/v1/listings",
            json=listing_payload(slug="draft-plan", title_en="Draft plan"),
            headers=auth(world.nakhon_sawan_key),
        )
    )
    port = await create_and_publish(
        client,
        world.rayong_key,
        slug="port-logistics",
        city="rayong",
        smart_block="rayong-riverfront",
        sector="logistics",
        title_en="Port logistics hub",
    )
    # Profiles: the investor's hidden one (the path's profile), a discoverable one of its
    # own, and another investor's.
    hidden = await create_profile(client, world.investor_key, name="Quiet Fund", discoverable=False)
    shown = await create_profile(client, world.investor_key, name="Lanna Food")
    # A hidden profile that attends nothing: nobody but its own and admins may know of it.
    loner = await create_profile(client, world.investor_key, name="Loner Fund", discoverable=False)
    await create_profile(client, other_investor_key, name="Other Fund")

    # The organiser's pitch day, a month ahead: both cities pitch, the discoverable
    # profile attends, and so does the hidden one (as an admin may place it there).
    held_on = bangkok_date(utcnow()) + timedelta(days=30)
    await _ok(
        await client.post(
            "/v1/events",
            json={
                "slug": EVENT,
                "city": "nakhon-sawan",
                "name_th": "วันนำเสนอโครงการ",
                "name_en": "Matrix pitch day",
                "held_on": held_on.isoformat(),
                "round_count": 3,
                "table_count": 3,
                "listings": [fish, cold, port],
                "investors": [shown],
            },
            headers=auth(world.organiser_key),
        )
    )
    event = session.exec(select(PitchEvent).where(PitchEvent.slug == EVENT)).one()
    session.add(EventInvestor(event_id=event.id or 0, investor_profile_id=hidden, position=1))
    session.commit()

    investor = auth(scene.tokens["inv"])
    publisher = auth(scene.tokens["pub"])
    organiser = auth(scene.tokens["org"])
    event_url = f"/v1/events/{EVENT}"
    # A meeting request the investor sent to the fish-ball factory (answered by the city).
    request = await _ok(
        await client.post(
            f"/v1/events/{EVENT}/requests",
            json={"listing": fish, "investor_profile_id": hidden, "note": "Shall we meet?"},
            headers=investor,
        )
    )
    # The candidate pool and a selection, so that reading them finds something.
    await _ok(
        await client.put(
            f"/v1/events/{EVENT}/candidates",
            json={"listings": [{"slug": slug} for slug in (fish, cold, port)]},
            headers=organiser | {"If-Match": await _etag(client, event_url, organiser)},
        )
    )
    await _ok(
        await client.post(
            f"/v1/events/{EVENT}/selection",
            headers=organiser | {"If-Match": await _etag(client, event_url, organiser)},
        )
    )
    # Meetings, as the scheduler writes them: the fish-ball factory meets both profiles.
    listing_ids = {
        row["slug"]: row["id"]
        for row in [
            await _ok(await client.get(f"/v1/listings/{slug}", headers=publisher))
            for slug in (fish, cold)
        ]
    }
    meetings = [
        Meeting(
            event_id=event.id or 0,
            slot=slot,
            listing_id=listing_ids[listing],
            investor_profile_id=profile,
            score=70.0,
            table_no=slot + 1,
            source="request",
        )
        for slot, listing, profile in [(0, fish, hidden), (1, fish, shown), (2, cold, hidden)]
    ]
    session.add_all(meetings)
    event.version += 1
    event.scheduled_at = event.updated_at = utcnow()
    session.add(event)
    session.commit()

    # The investor's interest in the fish-ball factory (and the city's lead from it).
    hidden_slug = (await _ok(await client.get(f"/v1/investors/{hidden}", headers=investor)))["slug"]
    interest = await _ok(
        await client.post(
            f"/v1/listings/{fish}/interest",
            json={"message": "Interested", "investor_profile": hidden_slug},
            headers=investor,
        )
    )
    leads = await _ok(await client.get("/v1/leads", headers=publisher))
    # The investor person's saved search, with a feed.
    saved = await _ok(
        await client.post("/v1/saved-searches", json={"name": "Fish"}, headers=investor)
    )
    saved_url = f"/v1/saved-searches/{saved['id']}"
    feed = await _ok(
        await client.post(
            f"{saved_url}/feed-token",
            headers=investor | {"If-Match": await _etag(client, saved_url, investor)},
        )
    )
    # The fish-ball factory's calendar link for its agenda.
    agenda_feed = await _ok(
        await client.post(
            f"/v1/events/{EVENT}/agendas/listing/{fish}/feed-token", headers=publisher
        )
    )
    # Single-use links: an invitation, a password reset, an e-mail confirmation.
    settings = get_settings().accounts
    ns_dev = session.exec(select(Organisation).where(Organisation.slug == "ns-dev")).one()
    operator = accounts.principal_for_session(session, scene.tokens["admin"])
    assert operator is not None
    invitation = accounts.invite(
        session,
        principal=operator,
        organisation=ns_dev,
        data=InvitationCreate(email="newcomer@matrix.example"),
        settings=settings,
    )
    newcomer = invitation.person
    reset = accounts.request_reset(session, email="inv@matrix.example", settings=settings)
    assert reset is not None
    confirmation = accounts.verification_link(session, newcomer, settings)
    ns_key_row, _ = issue_key(session, organisation_slug="ns-dev", role=Role.publisher)
    session.commit()

    scene.params = {
        "ref": fish,
        "months": 6,
        "slug": EVENT,
        "profile_id": hidden,
        "interest_id": interest["id"],
        "lead_id": leads["data"][0]["id"],
        "saved_id": saved["id"],
        "party": "listing",
        "meeting_id": meetings[0].id,
        "request_id": request["id"],
        "decision": "accept",
        "key_id": ns_key_row.id,
        "person_id": people["pub"].id,
    }
    scene.values = {
        "draft": draft["slug"],
        "shown": shown,
        "loner": loner,
        "shown_slug": (await _ok(await client.get(f"/v1/investors/{shown}")))["slug"],
        "hidden": hidden,
        "cold": cold,
        "feed_token": feed["feed_url"].rsplit("/", 1)[1].removesuffix(".atom"),
        "agenda_token": agenda_feed["feed_url"].rsplit("/", 1)[1].removesuffix(".ics"),
        "invitation": invitation.token,
        "reset": reset.token,
        "confirmation": confirmation.token,
    }
    admin = auth(scene.tokens["admin"])
    for url in (
        f"/v1/listings/{fish}",
        f"/v1/listings/{draft['slug']}",
        f"/v1/investors/{hidden}",
        f"/v1/events/{EVENT}",
    ):
        scene.etags[url] = await _etag(client, url, admin)
    scene.etags[saved_url] = await _etag(client, saved_url, investor)
    return scene


async def _etag(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> str:
    response = await client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response.headers["ETag"]


# --- the operations, and how each is sent -------------------------------------------------

SPEC = create_app().openapi()
OPERATIONS: dict[str, tuple[str, str, dict[str, Any]]] = {
    operation["operationId"]: (method.upper(), path, operation)
    for path, methods in SPEC["paths"].items()
    for method, operation in methods.items()
}

# Path parameters that differ from the scene's defaults, per operation.
PATHS: dict[str, Callable[[Scene], dict[str, Any]]] = {
    "listings-publish_listing": lambda scene: {"ref": scene.values["draft"]},
    "geography-get_city": lambda scene: {"slug": "nakhon-sawan"},
    "accounts-verify_organisation": lambda scene: {"slug": "siam-infra-fund"},
    "accounts-withdraw_verification": lambda scene: {"slug": "siam-infra-fund"},
    "accounts-list_members": lambda scene: {"slug": "ns-dev"},
    "accounts-organisation_audit": lambda scene: {"slug": "ns-dev"},
    "accounts-invite": lambda scene: {"slug": "ns-dev"},
    "accounts-member_reset_link": lambda scene: {"slug": "ns-dev"},
    "accounts-confirm_email": lambda scene: {"token": scene.values["confirmation"]},
    "accounts-accept_invitation": lambda scene: {"token": scene.values["invitation"]},
    "accounts-reset_password": lambda scene: {"token": scene.values["reset"]},
    "feeds-saved_search_feed": lambda scene: {"token": scene.values["feed_token"]},
    "events-agenda_feed": lambda scene: {"token": scene.values["agenda_token"]},
}

# Valid bodies, so that an allowed write succeeds.
BODIES: dict[str, Callable[[Scene], Any]] = {
    "listings-create_listing": lambda scene: listing_payload(slug="matrix-new"),
    "listings-update_listing": lambda scene: {"title_en": "Fish-ball factory, renamed"},
    "listings-update_checkpoint": lambda scene: {"status": "on-track", "note": "On time"},
    "accounts-sign_in": lambda scene: {"email": "pub@matrix.example", "password": PASSWORD},
    "accounts-create_organisation": lambda scene: {
        "name_th": "บริษัทใหม่",
        "name_en": "New city company",
        "kind": "city-company",
        "city": "rayong",
    },
    "accounts-register_investor": lambda scene: {
        "email": "self@matrix.example",
        "password": PASSWORD,
        "organisation_name": "Self-made Fund",
        "investor_type": "sme",
    },
    "accounts-invite": lambda scene: {"email": "invited@matrix.example"},
    "accounts-accept_invitation": lambda scene: {"password": PASSWORD},
    "accounts-request_password_reset": lambda scene: {"email": "inv@matrix.example"},
    "accounts-reset_password": lambda scene: {"password": PASSWORD + " again"},
    "accounts-create_key": lambda scene: {"label": "matrix"},
    "saved-searches-create_saved_search": lambda scene: {"name": "Cold chain"},
    "saved-searches-update_saved_search": lambda scene: {"name": "Fish, renamed"},
    "saved-searches-mark_saved_search_seen": lambda scene: {},
    "investors-create_investor": lambda scene: {
        "name": "New profile",
        "investor_type": "sme",
        "discoverable": False,
    },
    "investors-update_investor": lambda scene: {"thesis": "Cold chains and food."},
    "matching-try_match": lambda scene: {"sectors": ["agri-food"]},
    "leads-express_interest": lambda scene: {
        "message": "Again",
        "investor_profile": scene.values["shown_slug"],
    },
    "leads-update_lead": lambda scene: {"status": "contacted"},
    "fx-rates-set_fx_rate": lambda scene: {
        "currency": "USD",
        "thb_per_unit": 35.5,
        "as_of": bangkok_date(utcnow()).isoformat(),
    },
    "events-create_event": lambda scene: {
        "slug": "matrix-new-day",
        "city": "nakhon-sawan",
        "name_th": "วันใหม่",
        "held_on": (bangkok_date(utcnow()) + timedelta(days=60)).isoformat(),
    },
    "events-update_event": lambda scene: {"venue_en": "City hall"},
    "events-check_in": lambda scene: {"present": True},
    "events-record_outcome": lambda scene: {"outcome": "met", "note": "Good talk"},
    "events-set_availability": lambda scene: {"listing": scene.params["ref"], "rounds": [0, 1]},
    "events-send_request": lambda scene: {
        "listing": scene.values["cold"],
        "investor_profile_id": scene.values["shown"],
    },
    "events-propose_pairs": lambda scene: {},
    "events-schedule_meetings": lambda scene: {},
    "events-put_candidates": lambda scene: {"listings": [{"slug": scene.params["ref"]}]},
    "events-choose_who_pitches": lambda scene: {},
}
QUERIES: dict[str, Callable[[Scene], dict[str, Any] | None]] = {
    "shortlist-compare_listings": lambda scene: {
        "listing": [scene.params["ref"], scene.values["draft"]]
    },
}
FILES: dict[str, dict[str, Any]] = {
    "listings-import_listings": {"file": ("listings.csv", b"kind,title_th\n", "text/csv")},
}


def _etag_path(path: str) -> str:
    """The resource whose version a write to ``path`` names."""
    for prefix in ("/v1/listings/", "/v1/investors/", "/v1/events/", "/v1/saved-searches/"):
        if path.startswith(prefix):
            return prefix + path.removeprefix(prefix).split("/", 1)[0]
    raise AssertionError(f"no versioned resource in {path}")


async def send(
    client: httpx.AsyncClient,
    scene: Scene,
    operation_id: str,
    role: str,
    authorization: str | None = None,
) -> httpx.Response:
    method, template, operation = OPERATIONS[operation_id]
    params = scene.params | (PATHS[operation_id](scene) if operation_id in PATHS else {})
    unknown = [name for name in _names(template) if name not in params]
    assert not unknown, f"{operation_id}: give {unknown} a value in Scene.params or PATHS"
    path = template.format(**{name: params[name] for name in _names(template)})
    headers = auth(scene.tokens[role]) if role != "anon" else {}
    if authorization is not None:
        headers = {"Authorization": authorization}
    if any(
        p["in"] == "header" and p["name"].lower() == "if-match"
        for p in operation.get("parameters", [])
    ):
        headers["If-Match"] = scene.etags[_etag_path(path)]
    body = BODIES.get(operation_id)
    return await client.request(
        method,
        path,
        headers=headers,
        json=body(scene) if body is not None else None,
        files=FILES.get(operation_id),
        params=QUERIES[operation_id](scene) if operation_id in QUERIES else None,
    )


def _names(template: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(template) if name]


# --- one world per module, one savepoint per case -----------------------------------------


@pytest.fixture(scope="module")
def matrix_connection(engine: Engine) -> Iterator[Connection]:
    if engine.dialect.name != "sqlite":
        # The rules are Python over the same queries on both databases; the whole matrix
        # (hundreds of cases) once is enough for the suite's time. The other access tests
        # still run on PostgreSQL too.
        pytest.skip("the authorisation matrix runs on SQLite only")
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


@pytest.fixture(scope="module")
def matrix_index(tmp_path_factory: pytest.TempPathFactory) -> TantivyIndex:
    return TantivyIndex(tmp_path_factory.mktemp("matrix") / "search")


def _services(connection: Connection, index: TantivyIndex) -> Any:
    return build_services(
        get_settings(),
        database=Database(connection, join_transaction_mode="create_savepoint"),
        search=index,
        matrices=MatrixStore(),
    )


@pytest.fixture(scope="module")
def matrix_app(matrix_connection: Connection, matrix_index: TantivyIndex) -> FastAPI:
    return create_app(services=_services(matrix_connection, matrix_index))


@pytest.fixture(scope="module")
async def matrix_client(matrix_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=matrix_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture(scope="module")
async def scene(matrix_client: httpx.AsyncClient, matrix_connection: Connection) -> Scene:
    with Session(
        bind=matrix_connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    ) as session:
        return await build_scene(matrix_client, session)


def row(*statuses: Expect) -> dict[str, Expect]:
    assert len(statuses) == len(ROLES)
    return dict(zip(ROLES, statuses, strict=True))


# The one table: the status each caller gets from each operation, sent as ``send`` sends
# it (the scene's resources, a valid body, the current If-Match).
EXPECTED: dict[str, dict[str, Expect]] = {
    # operation                           anon  pub pub2  inv inv2  org org2 admin
    # Single-use links and feeds: the token in the path is the credential.
    "accounts-accept_invitation": row(200, 200, 200, 200, 200, 200, 200, 200),
    "accounts-confirm_email": row(200, 200, 200, 200, 200, 200, 200, 200),
    "accounts-create_key": row(401, 201, 201, 201, 201, 201, 201, 201),
    "accounts-create_organisation": row(401, 403, 403, 403, 403, 403, 403, 201),
    "accounts-invite": row(401, 201, 404, 404, 404, 404, 404, 201),
    "accounts-list_keys": row(401, 200, 200, 200, 200, 200, 200, 200),
    "accounts-list_members": row(401, 200, 404, 404, 404, 404, 404, 200),
    "accounts-me": row(401, 200, 200, 200, 200, 200, 200, 200),
    "accounts-member_reset_link": row(401, 201, 404, 404, 404, 404, 404, 201),
    "accounts-organisation_audit": row(401, 200, 404, 404, 404, 404, 404, 200),
    "accounts-register_investor": row(201, 201, 201, 201, 201, 201, 201, 201),
    "accounts-request_password_reset": row(202, 202, 202, 202, 202, 202, 202, 202),
    "accounts-reset_password": row(200, 200, 200, 200, 200, 200, 200, 200),
    "accounts-revoke_key": row(401, 204, 404, 404, 404, 404, 404, 204),
    "accounts-sign_in": row(201, 201, 201, 201, 201, 201, 201, 201),
    "accounts-sign_out_everywhere": row(401, 204, 204, 204, 204, 204, 204, 204),
    "accounts-verify_organisation": row(401, 403, 403, 403, 403, 403, 403, 200),
    "accounts-withdraw_verification": row(401, 403, 403, 403, 403, 403, 403, 200),
    "events-agenda_calendar": row(401, 200, 404, 404, 404, 200, 404, 200),
    "events-agenda_feed": row(200, 200, 200, 200, 200, 200, 200, 200),
    "events-agenda_spreadsheet": row(401, 200, 404, 404, 404, 200, 404, 200),
    "events-check_in": row(401, 403, 404, 404, 404, 200, 404, 200),
    "events-choose_who_pitches": row(401, 403, 403, 403, 403, 200, 403, 200),
    "events-create_event": row(401, 403, 403, 403, 403, 201, 201, 201),
    # Only the side that did not send it (the investor sent it: 403 tells it so).
    "events-decide_request": row(401, 200, 404, 403, 404, 404, 404, 404),
    "events-event_figures": row(401, 403, 403, 403, 403, 200, 403, 200),
    "events-event_figures_csv": row(401, 403, 403, 403, 403, 200, 403, 200),
    "events-get_agenda": row(401, 200, 404, 404, 404, 200, 404, 200),
    # The two sides of the day's meetings only: not the organiser, not an admin.
    "events-get_availability": row(401, 200, 200, 200, 403, 403, 403, 403),
    "events-get_candidates": row(401, 403, 403, 403, 403, 200, 403, 200),
    "events-get_event": row(200, 200, 200, 200, 200, 200, 200, 200),
    "events-get_selection": row(401, 403, 403, 403, 403, 200, 403, 200),
    "events-get_shortlist": row(401, 403, 403, 403, 403, 200, 403, 200),
    "events-list_agendas": row(401, 200, 200, 200, 200, 200, 200, 200),
    "events-list_check_ins": row(401, 403, 403, 403, 403, 200, 403, 200),
    "events-list_events": row(200, 200, 200, 200, 200, 200, 200, 200),
    "events-list_requests": row(401, 200, 200, 200, 403, 403, 403, 403),
    "events-propose_pairs": row(401, 403, 403, 403, 403, 200, 403, 200),
    "events-publish_schedule": row(401, 403, 403, 403, 403, 200, 403, 200),
    "events-put_candidates": row(401, 403, 403, 403, 403, 200, 403, 200),
    # 409 for those allowed: the day is a month ahead.
    "events-record_no_shows": row(401, 403, 403, 403, 403, 409, 403, 409),
    "events-record_outcome": row(401, 409, 403, 403, 403, 409, 403, 409),
    "events-rotate_agenda_feed": row(401, 200, 404, 404, 404, 403, 404, 200),
    "events-schedule_meetings": row(401, 403, 403, 403, 403, 200, 403, 200),
    "events-schedule_report": row(401, 403, 403, 403, 403, 200, 403, 200),
    # A side of the meeting asks: the city for its listing, the investor for its profile.
    "events-send_request": row(401, 201, 403, 201, 403, 403, 403, 403),
    "events-set_availability": row(401, 200, 403, 403, 403, 403, 403, 403),
    "events-update_event": row(401, 403, 403, 403, 403, 200, 403, 200),
    "feeds-saved_search_feed": row(200, 200, 200, 200, 200, 200, 200, 200),
    "fx-rates-list_fx_rates": row(200, 200, 200, 200, 200, 200, 200, 200),
    "fx-rates-set_fx_rate": row(401, 403, 403, 403, 403, 403, 403, 201),
    "geography-get_city": row(200, 200, 200, 200, 200, 200, 200, 200),
    "geography-get_taxonomy": row(200, 200, 200, 200, 200, 200, 200, 200),
    "geography-list_cities": row(200, 200, 200, 200, 200, 200, 200, 200),
    "geography-list_provinces": row(200, 200, 200, 200, 200, 200, 200, 200),
    "investors-create_investor": row(401, 403, 403, 201, 201, 201, 201, 201),
    # The path's profile is hidden: its investor, admins, and the organiser whose pitch
    # day it attends read it; to anyone else it does not exist.
    "investors-get_investor": row(404, 404, 404, 200, 404, 200, 404, 200),
    "investors-list_investors": row(401, 200, 200, 200, 200, 200, 200, 200),
    "investors-update_investor": row(401, 404, 404, 200, 404, 403, 404, 200),
    # inv2 names a profile of another investor: refused.
    "leads-express_interest": row(401, 403, 403, 201, 422, 403, 403, 403),
    "leads-list_leads": row(401, 200, 200, 403, 403, 403, 403, 200),
    "leads-my_interests": row(401, 200, 200, 200, 200, 200, 200, 200),
    "leads-update_lead": row(401, 200, 404, 403, 403, 403, 403, 200),
    "leads-withdraw_interest": row(401, 404, 404, 200, 404, 404, 404, 200),
    "listings-archive_listing": row(401, 200, 403, 403, 403, 403, 403, 200),
    # Rayong's publisher may not list in Nakhon Sawan; an admin makes no listings.
    "listings-create_listing": row(401, 201, 422, 403, 403, 403, 403, 403),
    "listings-export_listings": row(401, 200, 200, 403, 403, 403, 403, 200),
    "listings-get_listing": row(200, 200, 200, 200, 200, 200, 200, 200),
    "listings-import_listings": row(401, 201, 201, 403, 403, 403, 403, 201),
    "listings-import_template": row(200, 200, 200, 200, 200, 200, 200, 200),
    "listings-list_listings": row(200, 200, 200, 200, 200, 200, 200, 200),
    "listings-list_my_listings": row(401, 200, 200, 403, 403, 403, 403, 200),
    # The path's listing is a draft: hidden from all but its city and admins.
    "listings-publish_listing": row(404, 200, 404, 404, 404, 404, 404, 200),
    "listings-update_checkpoint": row(401, 200, 403, 403, 403, 403, 403, 200),
    "listings-update_listing": row(401, 200, 403, 403, 403, 403, 403, 200),
    "matching-investor_matches": row(404, 404, 404, 200, 404, 200, 404, 200),
    "matching-listing_investors": row(401, 200, 403, 403, 403, 403, 403, 200),
    "matching-try_match": row(200, 200, 200, 200, 200, 200, 200, 200),
    "saved-searches-create_saved_search": row(401, 201, 201, 201, 201, 201, 201, 201),
    "saved-searches-delete_saved_search": row(401, 404, 404, 204, 404, 404, 404, 404),
    "saved-searches-get_saved_search": row(401, 404, 404, 200, 404, 404, 404, 404),
    "saved-searches-list_saved_searches": row(401, 200, 200, 200, 200, 200, 200, 200),
    "saved-searches-mark_saved_search_seen": row(401, 404, 404, 204, 404, 404, 404, 404),
    "saved-searches-rotate_feed_token": row(401, 404, 404, 200, 404, 404, 404, 404),
    "saved-searches-saved_search_listings": row(401, 404, 404, 200, 404, 404, 404, 404),
    "saved-searches-update_saved_search": row(401, 404, 404, 200, 404, 404, 404, 404),
    "search-search": row(200, 200, 200, 200, 200, 200, 200, 200),
    "search-suggest": row(200, 200, 200, 200, 200, 200, 200, 200),
    "shortlist-add_to_shortlist": row(401, 201, 201, 201, 201, 201, 201, 201),
    # One of the two compared is a draft.
    "shortlist-compare_listings": row(404, 200, 404, 404, 404, 404, 404, 200),
    "shortlist-get_shortlist": row(401, 200, 200, 200, 200, 200, 200, 200),
    "shortlist-remove_from_shortlist": row(401, 204, 204, 204, 204, 204, 204, 204),
}


def test_every_operation_in_the_spec_has_a_row() -> None:
    missing = sorted(set(OPERATIONS) - set(EXPECTED))
    assert not missing, f"operations without a row in EXPECTED: {missing}"


def test_every_row_names_an_operation_in_the_spec() -> None:
    gone = sorted(set(EXPECTED) - set(OPERATIONS))
    assert not gone, f"rows in EXPECTED for operations no longer in the spec: {gone}"


async def _as(
    app: FastAPI,
    connection: Connection,
    index: TantivyIndex,
    request: Awaitable[httpx.Response],
) -> httpx.Response:
    """One case: in a savepoint rolled back afterwards, with fresh shared services (a
    matrix store or rate limit counted by an earlier case would not have been)."""
    savepoint = connection.begin_nested()
    try:
        app.state.services = _services(connection, index)
        response = await request  # a coroutine runs only when awaited: here
    finally:
        savepoint.rollback()
    return response


def _allowed(status: Expect, got: int) -> bool:
    return got in status if isinstance(status, frozenset) else got == status


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
async def test_each_caller_gets_the_expected_status(
    operation_id: str,
    scene: Scene,
    matrix_app: FastAPI,
    matrix_client: httpx.AsyncClient,
    matrix_connection: Connection,
    matrix_index: TantivyIndex,
) -> None:
    expected = EXPECTED.get(operation_id)
    assert expected is not None, f"{operation_id} has no row in EXPECTED"
    wrong = []
    for role in ROLES:
        response = await _as(
            matrix_app,
            matrix_connection,
            matrix_index,
            send(matrix_client, scene, operation_id, role),
        )
        if not _allowed(expected[role], response.status_code):
            wrong.append(
                f"{role}: {response.status_code} (expected {expected[role]}) {response.text[:200]}"
            )
        if response.status_code >= 400:  # the app's error body, naming what was refused
            assert set(response.json()) >= {"error", "detail", "field"}, response.text
    assert not wrong, f"{operation_id}:\n" + "\n".join(wrong)


PROFILE_OPERATIONS = sorted(
    operation_id for operation_id, (_, path, _) in OPERATIONS.items() if "{profile_id}" in path
)


@pytest.mark.parametrize("operation_id", PROFILE_OPERATIONS)
async def test_a_hidden_profile_that_attends_nothing_is_missing_to_everyone_else(
    operation_id: str,
    scene: Scene,
    matrix_app: FastAPI,
    matrix_client: httpx.AsyncClient,
    matrix_connection: Connection,
    matrix_index: TantivyIndex,
) -> None:
    """Walking sequential ids finds nothing: not as an organiser (whose pitch days the
    profile does not attend), not as another investor or a city, not signed out."""
    lonely = Scene(
        tokens=scene.tokens,
        params=scene.params | {"profile_id": scene.values["loner"]},
        etags=scene.etags,
        values=scene.values,
    )
    lonely.etags = scene.etags | {
        f"/v1/investors/{scene.values['loner']}": scene.etags[
            f"/v1/investors/{scene.values['hidden']}"
        ]
    }
    for role in ("anon", "pub", "pub2", "inv2", "org", "org2"):
        response = await _as(
            matrix_app,
            matrix_connection,
            matrix_index,
            send(matrix_client, lonely, operation_id, role),
        )
        assert response.status_code in (401, 404), (role, response.text)
    for role in ("inv", "admin"):
        response = await _as(
            matrix_app,
            matrix_connection,
            matrix_index,
            send(matrix_client, lonely, operation_id, role),
        )
        assert response.status_code in (200, 412), (role, response.text)


HIDDEN_WORDS = ("Quiet Fund", "Loner Fund", "Draft plan")  # hidden profiles', a draft's


async def test_outsiders_read_no_hidden_name_anywhere(
    scene: Scene,
    matrix_app: FastAPI,
    matrix_client: httpx.AsyncClient,
    matrix_connection: Connection,
    matrix_index: TantivyIndex,
) -> None:
    """Every read, by everyone with no part in the hidden profiles and the draft: no
    name of theirs in any answer (a status alone would not show a list that leaks)."""
    leaks = []
    for operation_id, (method, _, _) in sorted(OPERATIONS.items()):
        if method != "GET":
            continue
        for role in ("anon", "pub2", "inv2", "org2"):
            response = await _as(
                matrix_app,
                matrix_connection,
                matrix_index,
                send(matrix_client, scene, operation_id, role),
            )
            leaks += [f"{operation_id} to {role}: {w}" for w in HIDDEN_WORDS if w in response.text]
    assert not leaks


# Every operation that reads credentials, required or optional (the spec says which).
WITH_CREDENTIALS = sorted(
    operation_id
    for operation_id, (_, _, operation) in OPERATIONS.items()
    if operation.get("security")
)


@pytest.mark.parametrize("operation_id", WITH_CREDENTIALS)
async def test_a_malformed_authorization_header_is_refused_everywhere(
    operation_id: str,
    scene: Scene,
    matrix_app: FastAPI,
    matrix_client: httpx.AsyncClient,
    matrix_connection: Connection,
    matrix_index: TantivyIndex,
) -> None:
    """Not anonymous access: a caller who meant to send credentials learns it did not."""
    for header in ("Basic dXNlcjpwYXNz", "Bearer ", "garbage"):
        response = await _as(
            matrix_app,
            matrix_connection,
            matrix_index,
            send(matrix_client, scene, operation_id, "anon", authorization=header),
        )
        assert response.status_code == 401, (header, response.text)
        assert response.json()["field"] == "authorization"


NOBODY = 2**31 - 1  # an id no profile has


async def test_a_hidden_profiles_id_answers_as_a_missing_one_in_every_body(
    scene: Scene,
    matrix_app: FastAPI,
    matrix_client: httpx.AsyncClient,
    matrix_connection: Connection,
    matrix_index: TantivyIndex,
) -> None:
    """Where a body names a profile (an invitation to a pitch day, a saved search of its
    matches, availability, a meeting request, an agenda), a hidden profile's id gets the
    answer a made-up id gets: the same status and words, so ids cannot be walked."""
    loner = scene.values["loner"]
    cold = scene.values["cold"]

    def asks(profile_id: int) -> list[tuple[str, str, Any]]:
        return [
            (
                "POST",
                "/v1/events",
                {
                    "slug": "walked",
                    "city": "nakhon-sawan",
                    "name_th": "วัน",
                    "held_on": "2027-06-01",
                    "investors": [profile_id],
                },
            ),
            (
                "POST",
                "/v1/saved-searches",
                {"name": "x", "kind": "matches", "profile_id": profile_id},
            ),
            (
                "PUT",
                f"/v1/events/{EVENT}/availability",
                {"investor_profile_id": profile_id, "rounds": [0]},
            ),
            (
                "POST",
                f"/v1/events/{EVENT}/requests",
                {"listing": cold, "investor_profile_id": profile_id},
            ),
            ("GET", f"/v1/events/{EVENT}/agendas/investor/{profile_id}", None),
        ]

    for role in ("pub", "pub2", "inv2", "org", "org2"):
        for hidden, missing in zip(asks(loner), asks(NOBODY), strict=True):
            answers = []
            for method, url, body in (hidden, missing):
                response = await _as(
                    matrix_app,
                    matrix_connection,
                    matrix_index,
                    matrix_client.request(method, url, json=body, headers=auth(scene.tokens[role])),
                )
                assert response.status_code >= 400, (role, url, response.text)
                text = response.text.replace(str(NOBODY), "ID").replace(str(loner), "ID")
                answers.append((response.status_code, text))
            assert answers[0] == answers[1], (role, hidden[1])


# An organisation's API key acts as the table's person of that organisation (its owner),
# except where a person is needed (a key has no shortlist, saved searches, sessions, and
# makes no keys) and where the owner is (only an owner, or an admin, manages members).
PEOPLE_ONLY = frozenset(
    {
        "accounts-create_key",
        "accounts-sign_out_everywhere",
        "shortlist-add_to_shortlist",
        "shortlist-get_shortlist",
        "shortlist-remove_from_shortlist",
    }
    | {operation_id for operation_id in EXPECTED if operation_id.startswith("saved-searches-")}
)
OWNERS_ONLY: dict[str, int] = {"accounts-invite": 403, "accounts-member_reset_link": 404}


def expected_for_key(operation_id: str, role: str) -> Expect:
    if operation_id in PEOPLE_ONLY:
        return 403
    person = EXPECTED[operation_id][role]
    allowed = isinstance(person, int) and person < 300
    if operation_id in OWNERS_ONLY and role != "admin" and allowed:
        return OWNERS_ONLY[operation_id]
    return person


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
async def test_an_api_key_gets_what_its_organisations_person_gets(
    operation_id: str,
    scene: Scene,
    matrix_app: FastAPI,
    matrix_client: httpx.AsyncClient,
    matrix_connection: Connection,
    matrix_index: TantivyIndex,
) -> None:
    assert operation_id in EXPECTED, f"{operation_id} has no row in EXPECTED"
    wrong = []
    for role in ROLES[1:]:
        response = await _as(
            matrix_app,
            matrix_connection,
            matrix_index,
            send(
                matrix_client, scene, operation_id, role, authorization=f"Bearer {scene.keys[role]}"
            ),
        )
        expected = expected_for_key(operation_id, role)
        if not _allowed(expected, response.status_code):
            wrong.append(
                f"{role}: {response.status_code} (expected {expected}) {response.text[:200]}"
            )
    assert not wrong, f"{operation_id} with API keys:\n" + "\n".join(wrong)
