"""The listing lifecycle over HTTP: publishers write, everyone reads what is published."""

from __future__ import annotations

from datetime import datetime

import httpx
from dateutil.relativedelta import relativedelta
from sqlmodel import Session, select

from catalog.models import ListingChange
from core.formatting import bangkok_date
from tests.factories import World, auth, listing_payload, with_version


async def _create(client: httpx.AsyncClient, key: str, **overrides: object) -> httpx.Response:
    response = await client.post(
        "/v1/listings", json=listing_payload(**overrides), headers=auth(key)
    )
    assert response.status_code == 201, response.text
    return response


async def _publish(client: httpx.AsyncClient, key: str, slug: str) -> httpx.Response:
    response = await client.post(
        f"/v1/listings/{slug}/publish",
        headers=await with_version(client, f"/v1/listings/{slug}", auth(key)),
    )
    assert response.status_code == 200, response.text
    return response


async def test_publisher_creates_a_draft_only_it_can_see(
    client: httpx.AsyncClient, world: World
) -> None:
    created = await _create(client, world.nakhon_sawan_key)
    body = created.json()
    assert body["status"] == "draft"
    assert body["slug"] == "fish-ball-factory"
    assert body["version"] == 1
    assert created.headers["etag"] == '"v1"'
    assert created.headers["location"] == "/v1/listings/fish-ball-factory"
    assert body["city"]["province"] == {
        "code": "60",
        "name_th": "นครสวรรค์",
        "name_en": "Nakhon Sawan",
        "region": "north",
    }
    assert [s["position"] for s in body["how_to_invest"]] == [1, 2]
    assert body["investment_models"] == ["equity", "joint-venture"]

    assert (await client.get("/v1/listings/fish-ball-factory")).status_code == 404
    assert (
        await client.get(f"/v1/listings/{body['id']}", headers=auth(world.rayong_key))
    ).status_code == 404
    own = await client.get(f"/v1/listings/{body['id']}", headers=auth(world.nakhon_sawan_key))
    assert own.status_code == 200
    assert (await client.get("/v1/listings")).json()["count"] == 0
    mine = await client.get("/v1/me/listings", headers=auth(world.nakhon_sawan_key))
    assert [item["slug"] for item in mine.json()["data"]] == ["fish-ball-factory"]
    theirs = await client.get("/v1/me/listings", headers=auth(world.rayong_key))
    assert theirs.json()["count"] == 0


async def test_publish_makes_it_public_and_schedules_checkpoints(
    client: httpx.AsyncClient, world: World
) -> None:
    await _create(client, world.nakhon_sawan_key)
    published = (await _publish(client, world.nakhon_sawan_key, "fish-ball-factory")).json()
    assert published["status"] == "published"
    assert published["version"] == 2
    # Checkpoints count from the day of publication in Thailand, not in UTC.
    published_on = bangkok_date(datetime.fromisoformat(published["published_at"]))
    assert [(c["months"], c["due_on"], c["status"]) for c in published["checkpoints"]] == [
        (6, (published_on + relativedelta(months=6)).isoformat(), "pending"),
        (12, (published_on + relativedelta(months=12)).isoformat(), "pending"),
    ]
    public = await client.get("/v1/listings/fish-ball-factory")
    assert public.status_code == 200
    assert public.headers["etag"] == '"v2"'
    listed = (await client.get("/v1/listings")).json()
    assert listed["count"] == 1
    assert listed["data"][0]["slug"] == "fish-ball-factory"


async def test_archived_listing_leaves_the_catalogue(
    client: httpx.AsyncClient, world: World
) -> None:
    await _create(client, world.nakhon_sawan_key)
    await _publish(client, world.nakhon_sawan_key, "fish-ball-factory")
    archived = await client.post(
        "/v1/listings/fish-ball-factory/archive",
        headers=await with_version(
            client, "/v1/listings/fish-ball-factory", auth(world.nakhon_sawan_key)
        ),
    )
    assert archived.status_code == 200
    assert archived.json()["status"] == "archived"
    assert archived.json()["archived_at"]
    assert (await client.get("/v1/listings/fish-ball-factory")).status_code == 404
    assert (await client.get("/v1/listings")).json()["count"] == 0
    again = await client.post(
        "/v1/listings/fish-ball-factory/archive",
        headers=await with_version(
            client, "/v1/listings/fish-ball-factory", auth(world.nakhon_sawan_key)
        ),
    )
    assert again.status_code == 409
    assert again.json()["field"] == "status"


async def test_update_needs_the_current_version(client: httpx.AsyncClient, world: World) -> None:
    await _create(client, world.nakhon_sawan_key)
    headers = auth(world.nakhon_sawan_key)
    missing = await client.patch(
        "/v1/listings/fish-ball-factory", json={"stage": "tendering"}, headers=headers
    )
    assert missing.status_code == 428
    assert missing.json()["field"] == "If-Match"

    first = await client.patch(
        "/v1/listings/fish-ball-factory",
        json={"stage": "tendering", "capital_max_thb": 15_000_000},
        headers={**headers, "If-Match": '"v1"'},
    )
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 2
    assert first.json()["stage"] == "tendering"
    assert first.headers["etag"] == '"v2"'

    stale = await client.patch(
        "/v1/listings/fish-ball-factory",
        json={"title_en": "Overwritten"},
        headers={**headers, "If-Match": '"v1"'},
    )
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    current = (await client.get("/v1/listings/fish-ball-factory", headers=headers)).json()
    assert current["title_en"] == "Fish-ball factory"
    assert current["capital_max_thb"] == 15_000_000
    assert current["version"] == 2


async def test_update_replaces_models_and_steps(client: httpx.AsyncClient, world: World) -> None:
    await _create(client, world.nakhon_sawan_key)
    updated = await client.patch(
        "/v1/listings/fish-ball-factory",
        json={
            "investment_models": ["franchise", "franchise", "debt"],
            "how_to_invest": [{"title_th": "ติดต่อเทศบาล", "office": "เทศบาลนครนครสวรรค์"}],
            "smart_block": None,
        },
        headers={**auth(world.nakhon_sawan_key), "If-Match": '"v1"'},
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["investment_models"] == ["debt", "franchise"]
    assert [s["title_th"] for s in body["how_to_invest"]] == ["ติดต่อเทศบาล"]
    assert body["smart_block"] is None


async def test_other_organisation_cannot_change_a_listing(
    client: httpx.AsyncClient, world: World
) -> None:
    await _create(client, world.nakhon_sawan_key)
    await _publish(client, world.nakhon_sawan_key, "fish-ball-factory")
    rival = auth(world.rayong_key)
    patch = await client.patch(
        "/v1/listings/fish-ball-factory",
        json={"title_en": "Hijacked"},
        headers={**rival, "If-Match": '"v2"'},
    )
    assert patch.status_code == 403
    archive = await client.post(
        "/v1/listings/fish-ball-factory/archive",
        headers=await with_version(client, "/v1/listings/fish-ball-factory", rival),
    )
    assert archive.status_code == 403
    investor = await client.post(
        "/v1/listings", json=listing_payload(), headers=auth(world.investor_key)
    )
    assert investor.status_code == 403
    assert (await client.get("/v1/listings/fish-ball-factory")).json()[
        "title_en"
    ] == "Fish-ball factory"


async def test_admin_may_edit_any_listing(client: httpx.AsyncClient, world: World) -> None:
    await _create(client, world.nakhon_sawan_key)
    response = await client.patch(
        "/v1/listings/fish-ball-factory",
        json={"title_en": "Fish-ball factory (verified)"},
        headers={**auth(world.admin_key), "If-Match": '"v1"'},
    )
    assert response.status_code == 200


async def test_keys_are_required_and_checked(client: httpx.AsyncClient, world: World) -> None:
    no_key = await client.post("/v1/listings", json=listing_payload())
    assert no_key.status_code == 401
    assert no_key.json()["field"] == "authorization"
    forged = world.nakhon_sawan_key[:-4] + "abcd"
    wrong = await client.post("/v1/listings", json=listing_payload(), headers=auth(forged))
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"
    garbage = await client.get("/v1/me/listings", headers=auth("not-a-key"))
    assert garbage.status_code == 401


async def test_trade_listing_needs_steps_to_publish(
    client: httpx.AsyncClient, world: World
) -> None:
    await _create(client, world.nakhon_sawan_key, how_to_invest=[])
    response = await client.post(
        "/v1/listings/fish-ball-factory/publish",
        headers=await with_version(
            client, "/v1/listings/fish-ball-factory", auth(world.nakhon_sawan_key)
        ),
    )
    assert response.status_code == 422
    assert response.json()["field"] == "how_to_invest"


async def test_slugs_are_unique_and_stable(client: httpx.AsyncClient, world: World) -> None:
    first = (await _create(client, world.nakhon_sawan_key)).json()
    second = (await _create(client, world.nakhon_sawan_key)).json()
    assert second["slug"] == "fish-ball-factory-2"
    taken = await client.post(
        "/v1/listings",
        json=listing_payload(slug=first["slug"]),
        headers=auth(world.nakhon_sawan_key),
    )
    assert taken.status_code == 409
    assert taken.json()["field"] == "slug"
    renamed = await client.patch(
        "/v1/listings/fish-ball-factory",
        json={"title_en": "Smoked fish-ball plant"},
        headers={**auth(world.nakhon_sawan_key), "If-Match": '"v1"'},
    )
    assert renamed.json()["slug"] == "fish-ball-factory"


async def test_every_change_is_logged_with_its_version(
    client: httpx.AsyncClient, world: World, session: Session
) -> None:
    created = (await _create(client, world.nakhon_sawan_key)).json()
    await _publish(client, world.nakhon_sawan_key, "fish-ball-factory")
    await client.patch(
        "/v1/listings/fish-ball-factory",
        json={"stage": "funded"},
        headers={**auth(world.nakhon_sawan_key), "If-Match": '"v2"'},
    )
    log = session.exec(
        select(ListingChange)
        .where(ListingChange.listing_id == created["id"])
        .order_by(ListingChange.id)  # type: ignore[arg-type]
    ).all()
    assert [(c.action, c.version) for c in log] == [("create", 1), ("publish", 2), ("update", 3)]


async def test_checkpoint_progress_is_recorded(client: httpx.AsyncClient, world: World) -> None:
    await _create(client, world.nakhon_sawan_key)
    early = await client.patch(
        "/v1/listings/fish-ball-factory/checkpoints/6",
        json={"status": "on-track"},
        headers=auth(world.nakhon_sawan_key),
    )
    assert early.status_code == 404
    await _publish(client, world.nakhon_sawan_key, "fish-ball-factory")
    response = await client.patch(
        "/v1/listings/fish-ball-factory/checkpoints/6",
        json={"status": "delayed", "note": "รอใบอนุญาต ร.ง.4"},
        headers=auth(world.nakhon_sawan_key),
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "delayed"
    listing = (await client.get("/v1/listings/fish-ball-factory")).json()
    assert listing["checkpoints"][0]["note"] == "รอใบอนุญาต ร.ง.4"
    bad = await client.patch(
        "/v1/listings/fish-ball-factory/checkpoints/9",
        json={"status": "done"},
        headers=auth(world.nakhon_sawan_key),
    )
    assert bad.status_code == 404
