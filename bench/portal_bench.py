"""Server time to render portal pages with a large catalogue.

Builds a temporary SQLite database with the seed cities and organisations plus N
synthetic published listings (default 100,000), indexes them, and times, in-process
through the ASGI app (routing, middleware, database, templates), a pitch page and the
catalogue search page; the search page's figure is set against the time the same query
takes in the search index alone.
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# BENCH_WORKDIR keeps the built catalogue between runs (it is reused when present).
WORKDIR = Path(os.environ.get("BENCH_WORKDIR") or tempfile.mkdtemp(prefix="citydeal-portal-bench-"))
REUSE = (WORKDIR / "bench.db").exists()
os.environ["CITYDEAL_DATABASE_URL"] = f"sqlite:///{WORKDIR / 'bench.db'}"
os.environ["CITYDEAL_VAR_DIR"] = str(WORKDIR / "var")

import httpx  # noqa: E402
from sqlalchemy import insert, select  # noqa: E402
from sqlmodel import Session, col  # noqa: E402

from api.main import search_index_for  # noqa: E402
from api.migrate import upgrade  # noqa: E402
from bench.synthetic import (  # noqa: E402
    RawListing,
    benchmark_queries,
    generate_listings,
    to_document,
)
from catalog.models import Checkpoint, City, Listing, ListingModel, Organisation  # noqa: E402
from catalog.search.base import SearchQuery  # noqa: E402
from core.db import make_engine  # noqa: E402
from core.settings import get_settings  # noqa: E402
from seed.loader import load_seed  # noqa: E402

LISTINGS = int(os.environ.get("BENCH_LISTINGS", "100000"))
REQUESTS = 200
ROUNDS = 3


def _rows(
    raw: list[RawListing], cities: dict[str, int], organisations: dict[int, int]
) -> list[dict[str, object]]:
    rows = []
    for index, listing in enumerate(raw, start=1):
        published = datetime.fromtimestamp(listing["published_ts"] / 1_000_000, UTC)
        city_id = cities[listing["city"]]
        rows.append(
            {
                "id": index,
                "slug": listing["slug"],
                "organisation_id": organisations[city_id],
                "kind": listing["kind"],
                "status": "published",
                "sector": listing["sector"],
                "city_id": city_id,
                "smart_block_id": None,
                "stage": listing["stage"],
                "title_th": listing["title_th"],
                "title_en": listing["title_en"],
                "summary_th": listing["summary_th"],
                "summary_en": listing["summary_en"],
                "description_th": listing["description_th"],
                "description_en": listing["description_en"],
                "capital_min_thb": listing["capital_min"],
                "capital_max_thb": listing["capital_max"],
                "expected_irr_pct": 11.5,
                "payback_years": 7.0,
                "incentives": [],
                "documents": [],
                "contacts": [],
                "version": 2,
                "created_at": published,
                "updated_at": published,
                "published_at": published,
                "archived_at": None,
            }
        )
    return rows


def build_database(raw: list[RawListing]) -> float:
    started = time.perf_counter()
    url = get_settings().database_url
    upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        load_seed(session)
        session.commit()
        session.execute(Listing.__table__.delete())  # type: ignore[attr-defined]
        cities: dict[str, int] = dict(session.execute(select(col(City.slug), col(City.id))).all())
        organisations = {
            city_id: org_id
            for org_id, city_id in session.execute(
                select(col(Organisation.id), col(Organisation.city_id)).where(
                    col(Organisation.city_id).is_not(None)
                )
            )
        }
        rows = _rows(raw, cities, organisations)
        for start in range(0, len(rows), 5_000):
            session.execute(insert(Listing), rows[start : start + 5_000])
        session.execute(
            insert(ListingModel),
            [
                {"listing_id": i, "model": model}
                for i, listing in enumerate(raw, start=1)
                for model in listing["models"]
            ],
        )
        session.execute(
            insert(Checkpoint),
            [
                {
                    "listing_id": i,
                    "months": months,
                    "status": "pending",
                    "note": "",
                    "due_on": (
                        datetime.fromtimestamp(listing["published_ts"] / 1e6, UTC)
                        + timedelta(days=30 * months)
                    ).date(),
                    "updated_at": datetime.now(UTC),
                }
                for i, listing in enumerate(raw, start=1)
                for months in (6, 12)
            ],
        )
        session.commit()
    engine.dispose()
    return time.perf_counter() - started


def _documents(chunk: tuple[int, list[RawListing]]) -> list[object]:
    first, raw = chunk
    return [to_document(first + i, listing) for i, listing in enumerate(raw)]


def build_index(raw: list[RawListing]) -> float:
    started = time.perf_counter()
    chunks = [(start + 1, raw[start : start + 2_000]) for start in range(0, len(raw), 2_000)]
    with Pool(2) as pool:
        documents = [doc for part in pool.map(_documents, chunks) for doc in part]
    search_index_for(get_settings()).rebuild(documents, position=0)  # type: ignore[arg-type]
    return time.perf_counter() - started


def percentiles(samples: list[float]) -> tuple[float, float]:
    p50, p95 = np.percentile(samples, [50, 95])
    return float(p50), float(p95)


def page_params(query: SearchQuery) -> dict[str, str]:
    """The catalogue page's URL parameters for a benchmark query."""
    params = {"q": query.text, "lang": "en"}
    for name in ("kind", "sector", "province", "city", "capital_min", "capital_max"):
        value = getattr(query.filters, name)
        if value is not None:
            params[name] = str(value)
    return params


async def time_pages(slugs: list[str], queries: list[SearchQuery]) -> None:
    """Each round times REQUESTS pitch pages (listings not seen before) and REQUESTS search
    pages, each search page next to the same query run on the index alone, so that a slow
    phase of a shared machine weighs on both sides of the comparison alike."""
    from api.main import create_app

    app = create_app()
    # The same app without counting views, for the pitch page's time before and after.
    uncounted = create_app(get_settings().model_copy(update={"analytics": False}))
    index = app.state.services.search
    transport = httpx.ASGITransport(app=app)
    pages = [page_params(query) for query in queries]
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://bench") as client,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=uncounted), base_url="http://bench"
        ) as plain,
    ):
        for params in pages:  # warm-up: templates, the index and the database alike
            await client.get("/", params=params)
        rounds = []
        for number in range(ROUNDS):
            pitch, pitch_uncounted = [], []
            for slug in slugs[number * REQUESTS : (number + 1) * REQUESTS]:
                # Each listing first without counting, then with: neither side gets the
                # other's warmer cache.
                pitch_uncounted.append(
                    await server_time(plain, f"/listings/{slug}", {"lang": "th"})
                )
                pitch.append(await server_time(client, f"/listings/{slug}", {"lang": "th"}))
            page, alone, api, extra, over_api = [], [], [], [], []
            for query, params in zip(queries, pages, strict=True):
                started = time.perf_counter()
                index.search(query)
                alone.append((time.perf_counter() - started) * 1000)
                page.append(await server_time(client, "/", params))
                api.append(await server_time(client, "/v1/search", api_params(params)))
                extra.append(page[-1] - alone[-1])
                over_api.append(page[-1] - api[-1])
            rounds.append(Round(pitch, page, alone, api, extra, over_api, pitch_uncounted))
    for number, measured in enumerate(rounds, start=1):
        print(f"round {number}:")
        measured.print()
    pitch_p50 = median_round(rounds, "pitch")
    uncounted_p50 = median_round(rounds, "pitch_uncounted")
    print(
        f"pitch page p50 {pitch_p50:.2f} ms counting the view, {uncounted_p50:.2f} ms without "
        "(the view is a counter in memory; rows are appended every few seconds)"
    )
    extra_p50 = median_round(rounds, "extra")
    over_api_p50 = median_round(rounds, "over_api")
    print(
        f"median round: pitch page p50 {pitch_p50:.2f} ms; search page minus the search "
        f"alone p50 {extra_p50:.2f} ms, minus the search API p50 {over_api_p50:.2f} ms"
    )
    print(f"goal pitch page <= 5 ms (p50): {verdict(pitch_p50)}")
    print("goal search page within 5 ms of the search (p50):")
    print(f"  against the index call alone: {verdict(extra_p50)}")
    print(f"  against the search API (index + database + JSON): {verdict(over_api_p50)}")


@dataclass
class Round:
    pitch: list[float]
    page: list[float]
    alone: list[float]
    api: list[float]
    extra: list[float]  # per query: the page's server time minus the search alone
    over_api: list[float]  # per query: the page's server time minus the search API's
    pitch_uncounted: list[float]  # the pitch page without counting the view

    def print(self) -> None:
        for name, samples in (
            ("pitch page", self.pitch),
            ("  without counting views", self.pitch_uncounted),
            ("search page", self.page),
            ("  the search alone", self.alone),
            ("  the search API (JSON)", self.api),
            ("  page minus search alone", self.extra),
            ("  page minus search API", self.over_api),
        ):
            p50, p95 = percentiles(samples)
            print(f"  {name + ':':26s} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms")


def median_round(rounds: list[Round], field: str) -> float:
    return sorted(float(np.median(getattr(r, field))) for r in rounds)[len(rounds) // 2]


def verdict(p50_ms: float) -> str:
    return "MET" if p50_ms <= 5 else "NOT MET"


def api_params(page: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in page.items() if name != "lang"}


async def server_time(client: httpx.AsyncClient, url: str, params: dict[str, str]) -> float:
    """The app's own time for a response, from its Server-Timing header (so the figures
    leave out the in-process client's request building and parsing)."""
    response = await client.get(url, params=params)
    assert response.status_code == 200, response.text[:300]
    return float(response.headers["server-timing"].split("dur=", 1)[1])


def main() -> None:
    print(f"portal benchmark: {LISTINGS:,} published listings, working in {WORKDIR}")
    raw = generate_listings(LISTINGS)
    if REUSE:
        print("reusing the catalogue built by an earlier run")
    else:
        print(f"database built in {build_database(raw):.1f} s")
        print(f"search index built in {build_index(raw):.1f} s")
    queries = benchmark_queries(raw)[:REQUESTS]
    picks = np.random.default_rng(3).choice(len(raw), REQUESTS * ROUNDS, replace=False)
    slugs = [raw[i]["slug"] for i in picks]
    # A server does not hold the generated catalogue: left alive, its millions of objects
    # would make every garbage collection pass during the timings walk them.
    del raw
    gc.collect()
    uvloop.run(time_pages(slugs, queries))  # the loop uvicorn serves with


if __name__ == "__main__":
    main()
