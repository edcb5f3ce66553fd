"""Load benchmark: the app as deployed (uvicorn, two workers) under a mixed load, on SQLite
and on PostgreSQL, with the 100,000-listing synthetic catalogue.

    python bench/load/load_bench.py [--quick] [--databases sqlite,postgresql]
        [--steps 4,8,16,32,64] [--seconds 15] [--listings 100000] [--no-writes]
        [--no-semantic] [--no-access-log] [--worker-healthcheck S] [--build-only]

``--no-writes`` replaces the write by a search (to tell the writes' effects from the
rest); the servers run as deployed otherwise (semantic search on, uvicorn's access log
and its 5 s worker health check), each switch says what it changes.

wrk (``apt-get install wrk``) drives the server from a second process on loopback, with
``bench/load/mix.lua``: out of every 50 requests 35 searches (``GET /v1/search``, 200
Thai, English, mixed, misspelt and prefix queries, 40 % with filters), 10 pitch pages
(``GET /listings/{slug}``, Thai and English), 4 ad-hoc matches (``POST /v1/match``,
read-only) and 1 write (``PATCH /v1/listings/{slug}`` with ``If-Match``, a publisher
key; each connection edits a listing of its own, so writes do not conflict; a 412 is
counted apart and the ETag read again). Each step holds N connections (wrk, one thread
per connection) for a fixed time; steps rise from 4 to 64 connections.

Per step and database it prints requests per second, p50/p95/p99 and errors (an answer
of 4xx or 5xx other than a write's 412, a failed connection, and a request unanswered
or answered after 5 s: counted from what mix.lua writes down, since wrk's own timeout
count misses requests that never get an answer), and then the highest rate held with
0 errors and p95 under 100 ms, against the goals: at least 500 requests/s on PostgreSQL;
on SQLite no collapse (throughput never falls as connections rise, 0 errors).

The built catalogues are kept in ``BENCH_WORKDIR`` (default ``var/bench-load``) and in
the PostgreSQL database ``citydeal_load`` and reused by later runs; ``--rebuild`` builds
them again. This lives under ``bench/load/`` so that ``make bench`` (every
``bench/*.py``) does not run it; ``make bench-load`` does.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # run from anywhere

import argparse  # noqa: E402
import json  # noqa: E402
import multiprocessing  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Iterator, Sequence  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

import httpx  # noqa: E402
import numpy as np  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlmodel import Session, col  # noqa: E402

from api.migrate import upgrade  # noqa: E402
from bench.synthetic import (  # noqa: E402
    RawListing,
    benchmark_queries,
    generate_listings,
    provinces,
    to_document,
)
from catalog.models import Checkpoint, City, Listing, ListingModel, Organisation  # noqa: E402
from catalog.organisations import issue_key  # noqa: E402
from catalog.search.base import SearchDocument, SearchQuery  # noqa: E402
from catalog.search.tantivy_engine import TantivyIndex  # noqa: E402
from catalog.taxonomy import InvestmentModel, ListingKind, Sector, Stage  # noqa: E402
from core.db import make_engine  # noqa: E402
from core.principal import Role  # noqa: E402
from seed.loader import load_seed  # noqa: E402

MIX = ROOT / "bench" / "load" / "mix.lua"
DEFAULT_LISTINGS = 100_000
DEFAULT_STEPS = (4, 8, 16, 32, 64)
DEFAULT_SECONDS = 15.0
QUICK_STEPS = (4, 16, 64)
QUICK_SECONDS = 10.0
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
POSTGRES_DATABASE = "citydeal_load"
WRITERS = 64  # listings edited, one per connection (connections beyond share by modulo)
GOAL_P95_MS = 100.0
GOAL_POSTGRES_RPS = 500.0
COLLAPSE_TOLERANCE = 0.9  # a step below 90 % of an earlier step's rate counts as falling
TIMEOUT_S = 5  # wrk's per-request timeout: a slower answer is a timeout error
WAITING_MS = 1_000  # a request unanswered at a step's end after this long is reported
BUILD_FORMAT = 1  # bump when what is built changes, so that older builds are not reused
KINDS = ("search", "pitch", "match", "write", "reread")
PLAN = {"search": 35, "pitch": 10, "match": 4, "write": 1}  # of every 50 requests
READ_ONLY_PLAN = {"search": 36, "pitch": 10, "match": 4}  # --no-writes
WARM_UP_TIMEOUT_S = 900  # each worker builds its match matrix of the catalogue at start-up


# --- the catalogue ------------------------------------------------------------------------


def _rows(
    raw: Sequence[RawListing], first_id: int, cities: dict[str, int], organisations: dict[int, int]
) -> list[dict[str, object]]:
    rows = []
    for offset, listing in enumerate(raw):
        published = datetime.fromtimestamp(listing["published_ts"] / 1_000_000, UTC)
        city_id = cities[listing["city"]]
        rows.append(
            {
                "id": first_id + offset,
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


def build_database(url: str, raw: Sequence[RawListing]) -> int:
    """Migrate, seed (cities, organisations, the demo listings), then add the synthetic
    listings as published, with their models and two checkpoints each. Returns the id
    of the first synthetic listing (they follow the seed's)."""
    upgrade(url)
    engine = make_engine(url, statement_timeout=False)
    try:
        with Session(engine) as session:
            load_seed(session)
            session.commit()
            first_id = (session.execute(select(func.max(col(Listing.id)))).scalar() or 0) + 1
            cities = dict(session.execute(select(col(City.slug), col(City.id))).all())
            organisations = {
                city_id: org_id
                for org_id, city_id in session.execute(
                    select(col(Organisation.id), col(Organisation.city_id)).where(
                        col(Organisation.city_id).is_not(None)
                    )
                )
            }
            rows = _rows(raw, first_id, cities, organisations)
            for start in range(0, len(rows), 5_000):
                session.execute(insert(Listing), rows[start : start + 5_000])
            models = [
                {"listing_id": first_id + i, "model": model}
                for i, listing in enumerate(raw)
                for model in listing["models"]
            ]
            for start in range(0, len(models), 10_000):
                session.execute(insert(ListingModel), models[start : start + 10_000])
            now = datetime.now(UTC)
            checkpoints = [
                {
                    "listing_id": first_id + i,
                    "months": months,
                    "status": "pending",
                    "note": "",
                    "due_on": (
                        datetime.fromtimestamp(listing["published_ts"] / 1e6, UTC)
                        + timedelta(days=30 * months)
                    ).date(),
                    "updated_at": now,
                }
                for i, listing in enumerate(raw)
                for months in (6, 12)
            ]
            for start in range(0, len(checkpoints), 10_000):
                session.execute(insert(Checkpoint), checkpoints[start : start + 10_000])
            if url.startswith("postgresql"):  # ids were given: move the sequence past them
                session.execute(
                    text(
                        "SELECT setval(pg_get_serial_sequence('listing', 'id'), "
                        "(SELECT max(id) FROM listing))"
                    )
                )
            session.commit()
            if url.startswith("sqlite"):
                session.execute(text("ANALYZE"))
            else:
                session.connection().exec_driver_sql("ANALYZE")
            session.commit()
    finally:
        engine.dispose()
    return first_id


_RAW: list[RawListing] = []  # inherited by the forked analysis workers
_FIRST_ID = 1


def _documents(bounds: tuple[int, int]) -> list[SearchDocument]:
    start, end = bounds
    return [to_document(_FIRST_ID + i, _RAW[i]) for i in range(start, end)]


def build_index(var_dir: Path, raw: list[RawListing], first_id: int) -> None:
    """The search replica at position 0 with the synthetic listings: each server's
    follower then applies the change log (the seed's listings, and any edit since)."""
    global _RAW, _FIRST_ID
    _RAW, _FIRST_ID = raw, first_id
    bounds = [(start, min(start + 2_000, len(raw))) for start in range(0, len(raw), 2_000)]
    index = TantivyIndex(var_dir / "search")
    try:
        if len(raw) < 10_000:  # a smoke run: not worth two processes
            index.rebuild(_documents((0, len(raw))), position=0)
            return
        with multiprocessing.get_context("fork").Pool(2) as pool:
            streamed = (doc for part in pool.imap(_documents, bounds) for doc in part)
            index.rebuild(streamed, position=0)
    finally:
        index.close()
        _RAW = []


def postgres_database(admin_url: str, name: str, *, fresh: bool) -> str:
    """The URL of database ``name`` on the server of ``admin_url``; created (dropped
    first when ``fresh``) as needed."""
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            if fresh:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if exists is None:
                connection.execute(text(f"CREATE DATABASE {name}"))
    finally:
        admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


@dataclass(frozen=True)
class Target:
    """One database to load: where it is and where its server keeps its files."""

    name: str  # sqlite | postgresql
    url: str
    home: Path  # var dir of its server, the build marker and logs


def prepare(target: Target, raw: list[RawListing], *, rebuild: bool) -> int:
    """Build the catalogue of ``target`` unless an earlier run's is there; returns the
    first synthetic listing's id."""
    marker = target.home / "built.json"
    wanted = {"format": BUILD_FORMAT, "listings": len(raw), "url": target.url}
    if not rebuild and marker.exists():
        built = json.loads(marker.read_text())
        if {k: built.get(k) for k in wanted} == wanted and _has_listings(target.url, raw):
            print(f"  {target.name}: reusing the catalogue built by an earlier run")
            return int(built["first_id"])
    if target.home.exists():
        shutil.rmtree(target.home)
    target.home.mkdir(parents=True)
    if target.url.startswith("postgresql"):
        admin = target.url.rsplit("/", 1)[0] + "/postgres"
        postgres_database(admin, target.url.rsplit("/", 1)[1], fresh=True)
    started = time.perf_counter()
    first_id = build_database(target.url, raw)
    print(f"  {target.name}: database built in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    build_index(target.home / "var", raw, first_id)
    print(f"  {target.name}: search index built in {time.perf_counter() - started:.1f} s")
    marker.write_text(json.dumps({**wanted, "first_id": first_id}))
    return first_id


def _has_listings(url: str, raw: Sequence[RawListing]) -> bool:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            last = connection.execute(
                select(func.count()).where(col(Listing.slug) == raw[-1]["slug"])
            ).scalar()
        return bool(last)
    except Exception:  # noqa: BLE001 - no database, no table: build it
        return False
    finally:
        engine.dispose()


# --- what the load asks for ---------------------------------------------------------------


def search_paths(queries: Sequence[SearchQuery]) -> list[str]:
    paths = []
    for query in queries:
        params = {"q": query.text}
        for name in (
            "kind",
            "sector",
            "province",
            "city",
            "smart_block",
            "stage",
            "model",
            "capital_min",
            "capital_max",
        ):
            value = getattr(query.filters, name)
            if value is not None:
                params[name] = str(value)
        paths.append("/v1/search?" + urlencode(params))
    return paths


def pitch_paths(raw: Sequence[RawListing], count: int = 2_000) -> list[str]:
    rnd = random.Random(5)
    picks = rnd.sample(range(len(raw)), min(count, len(raw)))
    return [f"/listings/{raw[i]['slug']}?lang={rnd.choice(('th', 'en'))}" for i in picks]


def match_bodies(count: int = 60) -> list[str]:
    """Ad-hoc profiles as a visitor tries them: a few sectors, provinces, a ticket range,
    models and stages, now and then a filter, a larger k or explanations."""
    rnd = random.Random(9)
    sectors = [s.value for s in Sector]
    codes = sorted(provinces())
    models = [m.value for m in InvestmentModel]
    stages = [s.value for s in Stage]
    bodies = []
    for _ in range(count):
        low = rnd.choice((0, 1_000_000, 10_000_000, 50_000_000, 200_000_000))
        body: dict[str, object] = {
            "sectors": rnd.sample(sectors, rnd.randint(0, 3)),
            "provinces": rnd.sample(codes, rnd.randint(0, 3)),
            "ticket_min_thb": low,
            "ticket_max_thb": low * rnd.choice((5, 20, 100)) + 50_000_000,
            "models": rnd.sample(models, rnd.randint(0, 3)),
            "stages": rnd.sample(stages, rnd.randint(0, 3)),
            "k": rnd.choice((10, 10, 20, 50)),
        }
        if rnd.random() < 0.5:
            body["horizon_years"] = rnd.randint(3, 20)
        if rnd.random() < 0.2:
            body["kind"] = rnd.choice([k.value for k in ListingKind])
        if rnd.random() < 0.2:
            body["explain"] = True
        bodies.append(json.dumps(body))
    return bodies


def writable_listings(url: str, raw: Sequence[RawListing], first_id: int) -> tuple[list[str], str]:
    """``WRITERS`` synthetic listings of one city's organisation, and a new publisher key
    of that organisation."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            organisation_id, slug = session.execute(
                select(col(Listing.organisation_id), col(Organisation.slug))
                .join(Organisation, col(Organisation.id) == col(Listing.organisation_id))
                .where(col(Listing.id) == first_id)
            ).one()
            slugs = list(
                session.execute(
                    select(col(Listing.slug))
                    .where(col(Listing.organisation_id) == organisation_id)
                    .where(col(Listing.id) >= first_id)
                    .order_by(col(Listing.id))
                    .limit(WRITERS)
                ).scalars()
            )
            _row, key = issue_key(
                session, organisation_slug=slug, role=Role.publisher, label="load benchmark"
            )
            session.commit()
    finally:
        engine.dispose()
    return slugs, key


def lua_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def lua_list(values: Sequence[str]) -> str:
    return "{\n" + "".join(f"  {lua_string(v)},\n" for v in values) + "}"


@dataclass
class Load:
    search: list[str]
    pitch: list[str]
    match: list[str]
    writes: list[str]  # slugs
    key: str

    plan: dict[str, int]  # requests of each kind in every 50

    def data_file(self, path: Path, etags: dict[str, str]) -> None:
        writes = ",\n".join(
            f"  {{slug = {lua_string(slug)}, etag = {lua_string(etags[slug])}}}"
            for slug in self.writes
        )
        path.write_text(
            "return {\n"
            "plan = {" + ", ".join(f"{kind} = {n}" for kind, n in self.plan.items()) + "},\n"
            f"search = {lua_list(self.search)},\n"
            f"pitch = {lua_list(self.pitch)},\n"
            f"match = {lua_list(self.match)},\n"
            f"writes = {{\n{writes}\n}},\n"
            f"key = {lua_string(self.key)},\n"
            "}\n"
        )


# --- the server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    base: str  # URL
    pid: int  # uvicorn's supervisor; the workers are its children


@contextmanager
def serve(
    target: Target, *, semantic: bool, access_log: bool, healthcheck: float | None
) -> Iterator[Server]:
    """uvicorn with two workers on ``target``; yields it once it answers."""
    port = free_port()
    env = {
        **os.environ,
        "CITYDEAL_DATABASE_URL": target.url,
        "CITYDEAL_VAR_DIR": str(target.home / "var"),
        "CITYDEAL_SEMANTIC_SEARCH": "true" if semantic else "false",
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "api.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "2",
    ]
    if not access_log:
        command.append("--no-access-log")
    if healthcheck is not None:
        command += ["--timeout-worker-healthcheck", f"{healthcheck:g}"]
    log_path = target.home / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"the server stopped: {log_path.read_text()[-3000:]}")
                try:
                    if httpx.get(f"{base}/v1/provinces", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start: {log_path.read_text()[-3000:]}")
                time.sleep(0.3)
            yield Server(base, process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


READY_IN_A_ROW = 20  # /readyz answers 200 this many times in a row: both workers are ready


def wait_until_ready(base: str) -> float:
    """Wait until /readyz says both workers can serve (each builds its match matrix at
    start-up; until then matching answers 503); returns the seconds waited."""
    started = time.perf_counter()
    in_a_row = 0
    with httpx.Client(base_url=base, timeout=30) as client:
        while in_a_row < READY_IN_A_ROW:
            if time.perf_counter() - started > WARM_UP_TIMEOUT_S:
                raise RuntimeError(f"not ready after {WARM_UP_TIMEOUT_S} s")
            ready = client.get("/readyz").status_code == 200
            in_a_row = in_a_row + 1 if ready else 0
            time.sleep(0.05 if ready else 1.0)
    return time.perf_counter() - started


def warm_up(base: str, load: Load) -> float:
    """Each kind of request a few times from several connections, so that both workers
    have opened the index and met each kind of request before the first step."""
    started = time.perf_counter()
    requests: list[tuple[str, str, str | None]] = [
        ("POST", "/v1/match", body) for body in load.match[:12]
    ]
    requests += [("GET", path, None) for path in load.search[:40] + load.pitch[:20]]
    with httpx.Client(base_url=base, timeout=60) as client:

        def send(request: tuple[str, str, str | None]) -> int:
            method, path, body = request
            headers = {"Content-Type": "application/json"} if body else {}
            return client.request(method, path, content=body, headers=headers).status_code

        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = Counter(pool.map(send, requests))
    if set(statuses) != {200}:
        raise RuntimeError(f"warm-up answers: {dict(statuses)}")
    return time.perf_counter() - started


def current_etags(base: str, slugs: Sequence[str]) -> dict[str, str]:
    with httpx.Client(base_url=base, timeout=30) as client:
        etags = {}
        for slug in slugs:
            answer = client.get(f"/v1/listings/{slug}")
            answer.raise_for_status()
            etags[slug] = answer.headers["etag"]
    return etags


# --- one step -----------------------------------------------------------------------------


@dataclass
class Step:
    database: str
    connections: int
    seconds: float
    requests: int
    p50: float  # ms, every request
    p95: float
    p99: float
    max: float
    socket_errors: Counter[str]  # connect failures, requests unanswered or slower than TIMEOUT_S
    statuses: Counter[tuple[str, int]]  # (kind, status) -> count
    samples: dict[str, list[float]] = field(default_factory=dict)  # kind -> ms
    waiting: Counter[str] = field(default_factory=Counter)  # unanswered at the end, < 5 s
    load_average: str = ""
    cpu: Cpu | None = None  # used during the step

    def cpu_ms_per_request(self) -> Cpu | None:
        if self.cpu is None or not self.requests:
            return None
        per = 1000 / self.requests
        return Cpu(self.cpu.app * per, self.cpu.database * per, self.cpu.load * per)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def conflicts(self) -> int:
        """Writes refused with 412 (a stale ETag): expected under concurrency, not errors."""
        return sum(
            n for (kind, status), n in self.statuses.items() if (kind, status) == ("write", 412)
        )

    @property
    def http_errors(self) -> Counter[str]:
        return Counter(
            {
                f"{kind} {status}": n
                for (kind, status), n in self.statuses.items()
                if status >= 400 and (kind, status) != ("write", 412)
            }
        )

    @property
    def errors(self) -> int:
        return sum(self.http_errors.values()) + sum(self.socket_errors.values())

    def kind_p95(self, kind: str) -> float | None:
        values = self.samples.get(kind)
        return float(np.percentile(values, 95)) if values else None

    def holds(self) -> bool:
        return self.errors == 0 and self.p95 < GOAL_P95_MS


def read_step(out: Path, database: str, connections: int) -> Step:
    """wrk's totals from ``out``, and each answer from the threads' ``out.<n>`` files."""
    facts: dict[str, int] = {}
    for line in out.read_text().splitlines():
        name, _, value = line.partition(" ")
        facts[name] = int(value)
    statuses: Counter[tuple[str, int]] = Counter()
    samples: dict[str, list[float]] = {}
    unanswered: Counter[str] = Counter()  # "kind lost" / "kind late" -> count
    waiting: Counter[str] = Counter()  # kind -> requests waiting over 1 s at the end
    timeout_ms = TIMEOUT_S * 1000
    for thread in range(facts["threads"]):
        answers = out.with_name(f"{out.name}.{thread}")
        pending: tuple[str, float] | None = None  # one connection: one request at a time
        for line in answers.read_text().splitlines():
            if line.startswith(">"):
                _, kind, sent = line.split()
                # A request sent while another waits: wrk gave up on that one (a broken
                # connection is in wrk's read/write counts; a request asked of the script
                # but never sent is followed at once, and not counted).
                if pending is not None and float(sent) - pending[1] > timeout_ms:
                    unanswered[f"{pending[0]} unanswered"] += 1
                pending = (kind, float(sent))
                continue
            kind, status, ms = line.split()
            pending = None
            statuses[(kind, int(status))] += 1
            samples.setdefault(kind, []).append(float(ms))
            if float(ms) > timeout_ms:
                unanswered[f"{kind} slower than {TIMEOUT_S} s"] += 1
        if pending is not None and facts["end_ms"] - pending[1] > timeout_ms:
            unanswered[f"{pending[0]} unanswered"] += 1  # stuck at the end of the step
        elif pending is not None and facts["end_ms"] - pending[1] > WAITING_MS:
            waiting[pending[0]] += 1  # not an error yet, but said
        answers.unlink()
    socket_errors = Counter(
        {
            f"socket {name}": facts[f"socket_{name}"]
            for name in ("connect", "read", "write")
            if facts[f"socket_{name}"]
        }
    )
    socket_errors.update(unanswered)
    every = [ms for values in samples.values() for ms in values]
    return Step(
        database=database,
        connections=connections,
        seconds=facts["duration_us"] / 1e6,
        requests=facts["requests"],
        # From every answer as mix.lua timed it (wrk's own histogram leaves out late ones).
        p50=float(np.percentile(every, 50)) if every else facts["p50_us"] / 1000,
        p95=float(np.percentile(every, 95)) if every else facts["p95_us"] / 1000,
        p99=float(np.percentile(every, 99)) if every else facts["p99_us"] / 1000,
        max=max(every) if every else facts["max_us"] / 1000,
        socket_errors=socket_errors,
        statuses=statuses,
        samples=samples,
        waiting=waiting,
    )


def run_step(server: Server, load: Load, target: Target, connections: int, seconds: float) -> Step:
    base, home = server.base, target.home
    data, out = home / "load-data.lua", home / f"load-out-{connections}.txt"
    load.data_file(data, current_etags(base, load.writes))
    out.unlink(missing_ok=True)
    load_average = os.getloadavg()
    database_name = target.url.rsplit("/", 1)[1] if target.name == "postgresql" else None
    cpu_before = cpu_now(server.pid, database_name)
    done = subprocess.run(
        [
            "wrk",
            "-t",
            str(connections),
            "-c",
            str(connections),
            "-d",
            f"{seconds:g}s",
            "--timeout",
            f"{TIMEOUT_S}s",
            "-s",
            str(MIX),
            base,
        ],
        env={**os.environ, "LOAD_DATA": str(data), "LOAD_OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}\n{done.stderr}")
    cpu = cpu_now(server.pid, database_name) - cpu_before
    step = read_step(out, target.name, connections)
    step.cpu = cpu
    after = os.getloadavg()
    step.load_average = f"{load_average[0]:.2f}->{after[0]:.2f}"
    return step


# --- where the CPU goes -------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Cpu:
    """CPU seconds used so far: the server's processes, the database's server processes
    that serve the load database (PostgreSQL on this machine), and wrk."""

    app: float
    database: float
    load: float

    def __sub__(self, earlier: Cpu) -> Cpu:
        return Cpu(
            self.app - earlier.app, self.database - earlier.database, self.load - earlier.load
        )

    @property
    def total(self) -> float:
        return self.app + self.database + self.load


def most_per_second(cost_ms: float) -> float:
    """The requests per second this machine's cores hold at ``cost_ms`` of CPU each."""
    return (os.cpu_count() or 1) * 1000 / cost_ms


def _processes() -> Iterator[tuple[int, int, str, float]]:
    """(pid, parent pid, command line, CPU seconds) of every process readable in /proc."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # ended meanwhile
        # After "(name)": state, parent, ..., user time and system time (fields 14 and 15).
        fields = stat.rsplit(")", 1)[1].split()
        yield (
            int(entry.name),
            int(fields[1]),
            command,
            (int(fields[11]) + int(fields[12])) / CLOCK_TICKS,
        )


def cpu_now(server_pid: int, database_name: str | None) -> Cpu:
    """The CPU the server (its supervisor and workers) and the load database's backends
    have used, and the finished children of this process (each step's wrk)."""
    processes = list(_processes())
    children: dict[int, list[int]] = {}
    for pid, parent, _command, _seconds in processes:
        children.setdefault(parent, []).append(pid)
    tree, todo = set(), [server_pid]
    while todo:
        pid = todo.pop()
        tree.add(pid)
        todo.extend(children.get(pid, []))
    backend = f" {database_name} " if database_name else None
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Cpu(
        app=sum(seconds for pid, _, _, seconds in processes if pid in tree),
        database=sum(
            seconds
            for _, _, command, seconds in processes
            if backend and command.startswith("postgres:") and backend in command
        ),
        load=used.ru_utime + used.ru_stime,
    )


# --- the report ---------------------------------------------------------------------------

HEADER = (
    f"  {'db':<10} {'conns':>5} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
    f"{'max ms':>7} {'errors':>6} {'412':>4}  {'p95 search/pitch/match/write ms':<32} load avg"
)


def step_line(step: Step) -> str:
    kinds = "/".join(
        "-" if (value := step.kind_p95(kind)) is None else f"{value:.0f}"
        for kind in ("search", "pitch", "match", "write")
    )
    return (
        f"  {step.database:<10} {step.connections:>5} {step.rps:>7.0f} {step.p50:>7.1f} "
        f"{step.p95:>7.1f} {step.p99:>7.1f} {step.max:>7.0f} {step.errors:>6} "
        f"{step.conflicts:>4}  {kinds:<32} {step.load_average}"
    )


def mix_line(step: Step) -> str:
    counts = Counter[str]()
    for (kind, _status), n in step.statuses.items():
        counts[kind] += n
    total = sum(counts.values()) or 1
    shares = ", ".join(f"{kind} {counts[kind] / total:.1%}" for kind in KINDS if counts[kind])
    details = dict(step.http_errors) | dict(step.socket_errors)
    waiting = f"; waiting 1-{TIMEOUT_S} s at the end: {dict(step.waiting)}" if step.waiting else ""
    return f"      mix: {shares}" + (f"; errors: {details}" if details else "") + waiting


def cpu_line(step: Step) -> str:
    """The CPU each request cost, everything on this machine counted: what a step's rate
    can be at most on these cores."""
    per = step.cpu_ms_per_request()
    if per is None:
        return "      cpu: not measured"
    database = f", database server {per.database:.1f} ms" if step.database == "postgresql" else ""
    ceiling = (
        f"; {os.cpu_count()} cores give this mix at most {most_per_second(per.total):.0f} req/s"
        if per.total
        else ""
    )
    return (
        f"      cpu per request: app {per.app:.1f} ms{database}, wrk {per.load:.1f} ms; "
        f"{per.total:.1f} ms in all{ceiling}"
    )


def held(steps: Sequence[Step]) -> Step | None:
    holding = [step for step in steps if step.holds()]
    return max(holding, key=lambda step: step.rps) if holding else None


def falls(steps: Sequence[Step]) -> list[str]:
    """Steps whose rate fell below ``COLLAPSE_TOLERANCE`` of an earlier step's."""
    fallen, best = [], 0.0
    for step in steps:
        if best and step.rps < COLLAPSE_TOLERANCE * best:
            fallen.append(f"{step.connections} conns: {step.rps:.0f} req/s after {best:.0f}")
        best = max(best, step.rps)
    return fallen


@dataclass
class LogCheck:
    locked: int
    tracebacks: int
    server_errors: int
    died: int  # workers uvicorn found dead or hung (and killed)

    def clean(self) -> bool:
        return not (self.locked or self.tracebacks or self.server_errors or self.died)


def check_log(path: Path) -> LogCheck:
    text_ = path.read_text(errors="replace")
    return LogCheck(
        locked=text_.count("database is locked"),
        tracebacks=text_.count("Traceback (most recent call last)"),
        # /readyz answers 503 by design while a worker builds its matrix at start-up.
        server_errors=len(re.findall(r'"(?!GET /readyz )[^"]*" 5\d\d\b', text_)),
        died=len(re.findall(r"Child process \[\d+\] died", text_)),
    )


def summarise(
    database: str, steps: Sequence[Step], log: LogCheck | None, *, goals: bool = True
) -> list[str]:
    lines = []
    best = held(steps)
    if best is None:
        lines.append(f"  {database}: no step held 0 errors with p95 < {GOAL_P95_MS:.0f} ms")
    else:
        lines.append(
            f"  {database}: highest rate held with 0 errors and p95 < {GOAL_P95_MS:.0f} ms: "
            f"{best.rps:.0f} req/s ({best.connections} connections, p95 {best.p95:.1f} ms)"
        )
    errors = sum(step.errors for step in steps)
    costs = [per.total for step in steps if (per := step.cpu_ms_per_request()) is not None]
    if costs:
        cost = float(np.median(costs))
        lines.append(
            f"    CPU per request (median of the steps; app, database server and wrk): "
            f"{cost:.1f} ms, so {os.cpu_count()} cores hold at most "
            f"{most_per_second(cost):.0f} req/s of this mix (the PostgreSQL goal needs "
            f"{(os.cpu_count() or 1) * 1000 / GOAL_POSTGRES_RPS:.1f} ms)"
        )
    if log is not None:
        lines.append(
            f"    server log: {log.locked} 'database is locked', {log.tracebacks} tracebacks, "
            f"{log.server_errors} 5xx answers, {log.died} workers died or were killed as hung"
        )
    if not goals:
        lines.append("    one kind of request only (--only): the goals are the mix's")
    elif database == "postgresql":
        met = best is not None and best.rps >= GOAL_POSTGRES_RPS and not (log and log.died)
        lines.append(
            f"    goal >= {GOAL_POSTGRES_RPS:.0f} req/s held on PostgreSQL: "
            + ("MET" if met else "NOT MET")
        )
    else:
        fallen = falls(steps)
        met = (
            bool(steps)
            and not fallen
            and errors == 0
            and (log is None or not (log.locked or log.died))
        )
        lines.append(
            "    goal no collapse on SQLite (rate never falls below "
            f"{COLLAPSE_TOLERANCE:.0%} of an earlier step's as connections rise; 0 errors): "
            + ("MET" if met else "NOT MET")
            + (f" (fell: {'; '.join(fallen)})" if fallen else "")
            + (f" ({errors} errors)" if errors else "")
        )
    return lines


# --- main ---------------------------------------------------------------------------------


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 steps (4, 16, 64) of 10 s")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--steps", help="connections per step, e.g. 4,8,16,32,64")
    parser.add_argument("--seconds", type=float, help="length of each step")
    parser.add_argument(
        "--listings", type=int, default=int(os.environ.get("BENCH_LISTINGS", DEFAULT_LISTINGS))
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("CITYDEAL_BENCH_DATABASE_URL", DEFAULT_POSTGRES),
        help="a PostgreSQL server (the load database is created next to this one)",
    )
    parser.add_argument("--postgres-database", default=POSTGRES_DATABASE)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(os.environ.get("BENCH_WORKDIR") or ROOT / "var" / "bench-load"),
    )
    parser.add_argument("--rebuild", action="store_true", help="build the catalogues again")
    parser.add_argument("--build-only", action="store_true", help="build the catalogues, no load")
    parser.add_argument(
        "--semantic",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="semantic search in the servers (on by default, as deployed)",
    )
    parser.add_argument(
        "--writes",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="1 write in 50 (--no-writes: that request is a search instead)",
    )
    parser.add_argument(
        "--only",
        choices=sorted(PLAN),
        help="every request of one kind (to see what that kind costs; no goal applies)",
    )
    parser.add_argument(
        "--worker-healthcheck",
        type=float,
        help="uvicorn's --timeout-worker-healthcheck (default: uvicorn's own, 5 s, as deployed)",
    )
    parser.add_argument(
        "--access-log",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="uvicorn's access log (on by default, as `citydeal serve`)",
    )
    args = parser.parse_args(argv)
    steps = args.steps or ",".join(map(str, QUICK_STEPS if args.quick else DEFAULT_STEPS))
    args.steps = [int(n) for n in steps.split(",")]
    args.seconds = args.seconds or (QUICK_SECONDS if args.quick else DEFAULT_SECONDS)
    args.databases = [name.strip() for name in args.databases.split(",") if name.strip()]
    unknown = set(args.databases) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown database {', '.join(sorted(unknown))}")
    return args


def targets(args: argparse.Namespace) -> list[Target]:
    found = []
    for name in args.databases:
        home = args.workdir / name
        if name == "sqlite":
            url = f"sqlite:///{home / 'load.db'}"
        else:
            url = args.postgres_url.rsplit("/", 1)[0] + f"/{args.postgres_database}"
        found.append(Target(name, url, home))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if shutil.which("wrk") is None:
        print("bench-load needs wrk on the PATH (Debian: apt-get install wrk)", file=sys.stderr)
        return 2
    print(
        f"load benchmark: {args.listings:,} listings; uvicorn --workers 2; wrk, one thread per "
        f"connection; steps {args.steps} connections x {args.seconds:g} s; semantic search "
        f"{'on' if args.semantic else 'off'}; {os.cpu_count()} cores; load average now "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    plan = {args.only: 50} if args.only else PLAN if args.writes else READ_ONLY_PLAN
    print(
        "mix per 50 requests: "
        + ", ".join(f"{n} {kind}" for kind, n in plan.items())
        + " (search: GET /v1/search; pitch: GET /listings/{slug}; match: POST /v1/match; "
        "write: PATCH /v1/listings/{slug} with If-Match)"
    )
    raw = generate_listings(args.listings)
    queries = benchmark_queries(raw)
    base_load = (search_paths(queries), pitch_paths(raw), match_bodies())
    report: list[str] = []
    every: list[Step] = []
    failed = False
    for target in targets(args):
        print(f"\n== {target.name} " + "=" * 60)
        try:
            first_id = prepare(target, raw, rebuild=args.rebuild)
        except Exception as error:  # noqa: BLE001 - one database down: say so, go on
            print(f"  {target.name}: could not build the catalogue: {error}")
            report.append(f"  {target.name}: NOT MEASURED ({type(error).__name__}: {error})")
            failed = True
            continue
        if args.build_only:
            continue
        slugs, key = writable_listings(target.url, raw, first_id)
        load = Load(*base_load, writes=slugs, key=key, plan=plan)
        steps: list[Step] = []
        try:
            with serve(
                target,
                semantic=args.semantic,
                access_log=args.access_log,
                healthcheck=args.worker_healthcheck,
            ) as server:
                print(
                    f"  server up; ready in {wait_until_ready(server.base):.1f} s (each worker "
                    f"builds its match matrix at start-up); warm-up "
                    f"{warm_up(server.base, load):.1f} s"
                )
                print(HEADER)
                for connections in args.steps:
                    step = run_step(server, load, target, connections, args.seconds)
                    steps.append(step)
                    print(step_line(step))
                    print(mix_line(step))
                    print(cpu_line(step))
                    time.sleep(1)
        except (httpx.HTTPError, RuntimeError) as error:
            # A server that dies or hangs is a finding, not a crash of the benchmark.
            log_tail = (target.home / "server.log").read_text(errors="replace")[-1500:]
            print(f"  {target.name}: the run stopped: {type(error).__name__}: {error}")
            print("  server log (end):\n    " + log_tail.replace("\n", "\n    "))
            report.append(f"  {target.name}: STOPPED ({type(error).__name__}: {error})")
            failed = True
        log = check_log(target.home / "server.log")
        every.extend(steps)
        report.extend(summarise(target.name, steps, log, goals=not args.only))
    print("\n== summary " + "=" * 63)
    print(HEADER)
    for step in every:
        print(step_line(step))
    print()
    for line in report:
        print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
