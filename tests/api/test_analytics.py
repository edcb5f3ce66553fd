"""What a city sees of its audience: pitch-page views and search impressions counted in
memory and appended every few seconds, interest and leads, by week on a chart."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlmodel import Session, select

from api.deps import Services
from catalog.analytics import ListingActivity, flush
from tests.factories import World, auth, create_and_publish, profile_payload


def services_of(app: FastAPI) -> Services:
    services: Services = app.state.services
    return services


async def sign_in(client: httpx.AsyncClient, key: str) -> None:
    form = await client.get("/signin")
    token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert (
        await client.post("/signin", data={"api_key": key, "csrf_token": token})
    ).status_code == 303


async def test_views_and_impressions_reach_the_dashboard_chart(
    app: FastAPI, client: httpx.AsyncClient, world: World, session: Session
) -> None:
    await create_and_publish(client, world.nakhon_sawan_key)
    for _ in range(3):
        assert (await client.get("/listings/fish-ball-factory")).status_code == 200
    assert (await client.get("/", params={"q": "ลูกชิ้น"})).status_code == 200
    investor = auth(world.investor_key)
    await client.post("/v1/investors", json=profile_payload(), headers=investor)
    await client.post("/v1/listings/fish-ball-factory/interest", json={}, headers=investor)

    services = services_of(app)
    assert session.exec(select(ListingActivity)).all() == []  # nothing written per view
    assert services.tally is not None
    assert flush(services.database, services.tally) == 2  # one row per kind and day
    rows = {row.kind: row.count for row in session.exec(select(ListingActivity))}
    assert rows == {"view": 3, "impression": 1}

    await sign_in(client, world.nakhon_sawan_key)
    for _ in range(2):  # the city's own staff are not its audience
        await client.get("/listings/fish-ball-factory")
    assert flush(services.database, services.tally) == 0
    board = await client.get("/dashboard", params={"lang": "th"})
    assert 'data-testid="audience-chart"' in board.text
    assert "<svg" in board.text
    this_week = board.text.split('data-testid="week"')[-1]
    assert "<td>3</td><td>1</td><td>1</td>" in this_week  # views, impressions, interest
    assert "ใหม่ 1" in board.text  # leads by status, in Thai
    single = await client.get("/dashboard/listings/fish-ball-factory/analytics")
    assert single.status_code == 200
    assert "<td>3</td><td>1</td><td>1</td>" in single.text.split('data-testid="week"')[-1]
