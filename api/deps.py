"""Dependency aliases every router uses: the shared services, the request's unit of work,
the principal, and the version a write was made against.

Shared objects (settings, database, search index, matrix store) are built once by the
composition root (``api.main.create_app``) and read here from ``app.state``.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from api.middleware import is_head
from catalog.access import ensure_publisher
from catalog.accounts.service import SESSION_PREFIX, Passwords, resolve_session
from catalog.analytics import Tally
from catalog.organisations import authenticate_key, record_key_use
from catalog.search.base import SearchIndex
from catalog.search.semantic import Embedder, QueryEmbedder
from core.audit import Actor, act_as, acting
from core.db import Database, finish, reads_in_place, writer_holds_lock
from core.errors import InvalidInput, PreconditionRequired, ServerBusy, Unauthorized
from core.jobs import JobQueue
from core.principal import Principal
from core.ratelimit import RateLimiter
from core.settings import ScoringSettings, Settings
from matching.matrix import MatrixStore

P = ParamSpec("P")
T = TypeVar("T")
E = TypeVar("E", bound=Callable[..., object])


class Turns:
    """At most ``limit`` units of work in progress at once in this process; a request
    that needs the database waits for a turn, at most ``max_wait`` seconds, then is
    answered 503 ``server_busy`` with ``Retry-After``. A request that needs no database
    (health, the taxonomy, static files) takes no turn, so it answers at once even while
    every turn is held by requests stuck on an unreachable database.

    Why: a process runs Python on one core; past a few requests at once, more in progress
    only share the interpreter lock among more threads, each request takes longer and
    SQLite's writer waits behind them (bench/load: the rate fell as connections rose).
    """

    def __init__(self, limit: int, max_wait: float) -> None:
        self.limit = limit
        self.max_wait = max_wait
        self._free = asyncio.Semaphore(limit)

    @asynccontextmanager
    async def take(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self.max_wait):
                await self._free.acquire()
        except TimeoutError:
            raise ServerBusy("the server is busy; try again shortly") from None
        try:
            yield
        finally:
            self._free.release()


class Services:
    """What every request shares, built once per process by the composition root. The
    search index opens on first use, so that building the app (to export its OpenAPI
    spec, say) touches no index on disk."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        search: SearchIndex | Callable[[], SearchIndex],
        matrices: MatrixStore,
        embedder: Embedder | None = None,
        jobs: JobQueue | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.settings = settings
        self.limiter = limiter or RateLimiter(settings.rate_limits)
        self.passwords = Passwords(settings.accounts)
        self.database = database
        self.matrices = matrices
        self.embedder = embedder
        self.jobs = jobs
        self.tally = Tally() if settings.analytics else None
        self.turns = Turns(settings.max_concurrent_requests, settings.max_turn_wait_seconds)
        self._search = search
        self._lock = threading.Lock()

    @property
    def search(self) -> SearchIndex:
        if not isinstance(self._search, SearchIndex):
            with self._lock:
                if not isinstance(self._search, SearchIndex):
                    self._search = self._search()
        return self._search


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


# Cheap dependencies are ``async def`` so that FastAPI resolves them on the event loop
# instead of handing each to a worker thread.
async def current_settings(request: Request) -> Settings:
    return services_of(request).settings


async def get_search_index(request: Request) -> SearchIndex:
    return services_of(request).search


async def get_query_embedder(request: Request) -> QueryEmbedder | None:
    """The query embedder, for a request with search text (``q``) when semantic search is
    on; None otherwise, so that browsing never waits on a worker thread."""
    embedder = services_of(request).embedder
    words = request.query_params.get("q", "")
    if embedder is None or not words.strip():
        return None
    return QueryEmbedder(embedder, known=embedder.knows(words))


async def get_tally(request: Request) -> Tally | None:
    if is_head(request.scope):  # a link checker's HEAD is not a reader's view
        return None
    return services_of(request).tally


async def get_jobs(request: Request) -> JobQueue | None:
    return services_of(request).jobs


async def get_passwords(request: Request) -> Passwords:
    return services_of(request).passwords


async def get_matrix_store(request: Request) -> MatrixStore:
    return services_of(request).matrices


async def get_limiter(request: Request) -> RateLimiter:
    return services_of(request).limiter


SettingsDep = Annotated[Settings, Depends(current_settings)]
SearchDep = Annotated[SearchIndex, Depends(get_search_index)]
StoreDep = Annotated[MatrixStore, Depends(get_matrix_store)]
PasswordsDep = Annotated[Passwords, Depends(get_passwords)]
JobsDep = Annotated[JobQueue | None, Depends(get_jobs)]
TallyDep = Annotated[Tally | None, Depends(get_tally)]
# The rate limiter: ``limiter.hit(Rule.…, who)`` raises 429 with Retry-After (core.ratelimit).
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
QueryEmbedderDep = Annotated[QueryEmbedder | None, Depends(get_query_embedder)]


async def get_scoring_settings(settings: SettingsDep) -> ScoringSettings:
    return settings.match


ScoringDep = Annotated[ScoringSettings, Depends(get_scoring_settings)]


async def run_db(session: Session, work: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a request's database work: in place when it only reads SQLite, else in a worker
    thread (see ``core.db.reads_in_place``). Measured here, the hand-off to a worker thread
    costs 1-2 ms per request: a third of a pitch page's budget, for no parallelism."""
    if reads_in_place(session) and not writer_holds_lock(session):
        return work(*args, **kwargs)
    return await run_in_threadpool(work, *args, **kwargs)


async def run_search(
    session: Session, index: SearchIndex, work: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> T:
    """``run_db`` for work that also queries the search index: in place only if the index
    answers in this process too (tantivy), never while Meilisearch answers over a network,
    nor when the work may have to embed the query (``embed``: tens of milliseconds of CPU
    when the words alone are not enough; a query embedded before costs a look-up)."""
    embed = kwargs.get("embed")
    embeds_cheaply = embed is None or (isinstance(embed, QueryEmbedder) and embed.known)
    in_place = reads_in_place(session) and not writer_holds_lock(session)
    if in_place and index.in_process and embeds_cheaply:
        return work(*args, **kwargs)
    return await run_in_threadpool(work, *args, **kwargs)


# --- the unit of work ---------------------------------------------------------------------

_WRITES = "__citydeal_writes__"


def writes(endpoint: E) -> E:
    """Declare that a route writes: its unit of work opens to write (on SQLite, taking the
    write lock at BEGIN). Every other route's unit of work is read-only and refuses
    writes, so a route that forgets this fails in the suite rather than in production."""
    setattr(endpoint, _WRITES, True)
    return endpoint


def declares_writes(request: Request) -> bool:
    return bool(getattr(request.scope.get("endpoint"), _WRITES, False))


def request_id_of(request: Request) -> str | None:
    """The request's id (``X-Request-ID``), as the request-id middleware settled it."""
    settled = request.scope.get("state", {}).get("request_id")
    return str(settled) if settled else request.headers.get("x-request-id")


def _actor_of(request: Request) -> Actor:
    """Where a request's changes come from, before anyone is known (``name_actor``)."""
    return Actor(
        source="api" if request.url.path.startswith("/v1") else "portal",
        address=request.client.host if request.client else None,
        request_id=(request_id_of(request) or "")[:64] or None,
    )


def name_actor(session: Session, principal: Principal | None) -> None:
    """The audit log names the person or key behind the unit of work's changes."""
    if principal is not None:
        actor = replace(acting(session), person_id=principal.person_id)
        act_as(session, replace(actor, api_key_id=principal.api_key_id))


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's one unit of work: committed if the route succeeds, else rolled back.
    After a write commits, the hooks the composition root registered run (search sync).
    It starts when the process has a turn free (``Turns``)."""
    services = services_of(request)
    async with services.turns.take():
        session = services.database.open(write=declares_writes(request))
        act_as(session, _actor_of(request))
        try:
            yield session
        except BaseException:
            await run_db(session, finish, session, failed=True)
            raise
        await run_db(session, finish, session, failed=False)


# scope="function": commit before the response is sent, so a failed commit is an error
# response rather than a success the database never saw.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


# --- who is asking ------------------------------------------------------------------------


class _Bearer(HTTPBearer):
    """``Authorization: Bearer <token>``, or no header at all (None: anonymous). Any other
    header (``Basic …``, a bearer with no token, garbage) is a 401 naming it, never
    anonymous access: a caller who meant to sign in must learn that it did not."""

    async def __call__(self, request: HTTPConnection) -> HTTPAuthorizationCredentials | None:
        authorization = request.headers.get("Authorization")
        if authorization is None:
            return None
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized(
                "the Authorization header must be 'Bearer ' and a key or session token",
                field="authorization",
            )
        return HTTPAuthorizationCredentials(scheme="Bearer", credentials=token)


_bearer = _Bearer(
    scheme_name="HTTPBearer",
    auto_error=False,
    description="An organisation's API key (`cdk_…`), or a person's session token (`cds_…`, "
    "from `POST /v1/sessions`).",
)


def get_optional_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    if credentials is None:
        return None
    token = credentials.credentials
    limiter = services_of(request).limiter
    if token.startswith(f"{SESSION_PREFIX}_"):
        person = resolve_session(session, token)
        limiter.hit_principal(person)  # per person
        name_actor(session, person)
        return person
    principal, stale = authenticate_key(session, token)
    limiter.hit_principal(principal)  # per key, before anything is recorded
    if stale and principal.api_key_id is not None:
        if declares_writes(request):
            record_key_use(session, principal.api_key_id)  # it holds the write lock already
        else:
            # A read-only request: a short unit of work of its own.
            with services_of(request).database.writing() as recording:
                record_key_use(recording, principal.api_key_id)
    name_actor(session, principal)
    return principal


OptionalPrincipalDep = Annotated[Principal | None, Depends(get_optional_principal)]


async def get_principal(principal: OptionalPrincipalDep) -> Principal:
    if principal is None:
        raise Unauthorized(
            "an API key is required (Authorization: Bearer …)", field="authorization"
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_publisher(principal: PrincipalDep) -> Principal:
    ensure_publisher(principal)
    return principal


PublisherDep = Annotated[Principal, Depends(get_publisher)]


# --- one rule for every edit: If-Match ----------------------------------------------------

_ETAG = re.compile(r'^\s*(?:W/)?"v?(\d{1,9})"\s*$')


async def expected_version(
    if_match: Annotated[
        str | None,
        Header(
            description='Required: the ETag of the version you edited, e.g. `"v3"` '
            "(428 without it, 412 if it is stale).",
            max_length=40,
        ),
    ] = None,
) -> int:
    """The version a write was made against; every write to a versioned resource needs it."""
    if if_match is None:
        raise PreconditionRequired(
            'send If-Match with the ETag you edited (e.g. "v3")', field="If-Match"
        )
    match = _ETAG.match(if_match)
    if match is None:
        raise InvalidInput('If-Match must be an ETag such as "v3"', field="If-Match")
    return int(match.group(1))


IfMatchDep = Annotated[int, Depends(expected_version)]


def etag(version: int) -> str:
    return f'"v{version}"'
