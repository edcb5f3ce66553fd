"""The composition root: settings, database, search index and matching matrix built once
per process, and the FastAPI application joining routers, error handlers and middleware."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlmodel import Session
from starlette.middleware.sessions import SessionMiddleware
from starlette.staticfiles import StaticFiles

from api.deps import Services
from api.errors import install_error_handlers
from api.idempotency import Idempotency
from api.middleware import (
    BodySizeLimit,
    HeadAsGet,
    ServerTiming,
    current_request_id,
    request_id_middleware,
)
from api.openapi import install_openapi
from api.portal import render_error
from api.portal import router as portal_router
from api.routes.accounts import router as accounts_router
from api.routes.alerts import router as alerts_router
from api.routes.alerts import sources_for as alert_sources
from api.routes.catalog import router as catalog_router
from api.routes.event_day import router as event_day_router
from api.routes.event_meetings import router as event_meetings_router
from api.routes.event_selection import router as event_selection_router
from api.routes.events import router as events_router
from api.routes.health import router as health_router
from api.routes.importing import router as importing_router
from api.routes.matching import router as matching_router
from api.routes.money import router as money_router
from api.routes.shortlist import router as shortlist_router
from api.security import SecurityHeaders
from catalog.accounts import mail as account_mail
from catalog.analytics import Tally
from catalog.analytics import flush as flush_activity
from catalog.search.base import SearchIndex
from catalog.search.meili_engine import MeiliIndex
from catalog.search.semantic import Embedder, embed_changes
from catalog.search.sync import catch_up_quietly
from catalog.search.tantivy_engine import TantivyIndex
from catalog.service import LISTINGS_CHANGED
from core.db import Database, database_unavailable, make_engine, unavailable_reason
from core.jobs import JobContext, JobQueue, TableJobQueue
from core.logs import configure_logging
from core.mail import Mailer
from core.procrastinate_queue import ProcrastinateJobQueue
from core.ratelimit import RateLimiter
from core.settings import Settings, get_settings
from matching import alerts
from matching.matrix import MatrixStore
from matching.pitchday import agenda_mail

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "portal" / "static"


def _operation_id(route: APIRoute) -> str:
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def search_index_for(settings: Settings) -> SearchIndex:
    """The engine the settings choose: Meilisearch when a URL is set, else tantivy."""
    if settings.meili_url:
        return MeiliIndex(settings.meili_url, settings.meili_key)
    return TantivyIndex(Path(settings.var_dir) / "search")


def keep_search_in_step(services: Services) -> None:
    """After every unit of work that changed listings commits, bring the replica up to
    date, so a publisher finds what it just published. Failures are left to the
    follower's next catch-up; the write has already succeeded."""

    def catch_up_after(committed: Session) -> None:
        if committed.info.pop(LISTINGS_CHANGED, False):
            with services.database.reading() as session:
                catch_up_quietly(session, services.search)

    services.database.on_commit(catch_up_after)


def jobs_for(settings: Settings, database: Database) -> JobQueue:
    """procrastinate on PostgreSQL, the embedded runner on SQLite; every task registered."""
    mailer = Mailer(settings.smtp_url, settings.mail_from) if settings.smtp_url else None
    context = JobContext(database, settings, mailer)
    jobs: JobQueue
    if settings.database_url.startswith("postgresql"):
        jobs = ProcrastinateJobQueue(context, settings.database_url)
    else:
        jobs = TableJobQueue(context, poll_seconds=settings.jobs_poll_seconds)
    account_mail.register_tasks(jobs)
    agenda_mail.register_tasks(jobs)
    return jobs


def embedder_for(settings: Settings) -> Embedder | None:
    return Embedder(settings.embedding_threads) if settings.semantic_search else None


def build_services(
    settings: Settings,
    *,
    database: Database | None = None,
    search: SearchIndex | None = None,
    matrices: MatrixStore | None = None,
    jobs: JobQueue | None = None,
    limiter: RateLimiter | None = None,
) -> Services:
    """Every shared object of a process, each replaceable (tests bind the database to
    their own transaction and give each test a fresh index)."""
    database = database or Database(make_engine(settings.database_url))
    services = Services(
        settings,
        database,
        search or (lambda: search_index_for(settings)),
        matrices or MatrixStore(database),
        embedder_for(settings),
        jobs or jobs_for(settings, database),
        limiter or RateLimiter(settings.rate_limits),
    )
    keep_search_in_step(services)
    if services.jobs is not None:  # digests read this process's index and matrix
        alerts.register_tasks(services.jobs, lambda: alert_sources(services))
    return services


def _log_failure(what: str, exc: Exception) -> None:
    """One line when the database is the cause (it is down: a traceback says nothing
    more, every few seconds); the whole traceback for anything else (a bug)."""
    if database_unavailable(exc):
        log.warning("database unavailable; %s: %s", what, unavailable_reason(exc))
    else:
        log.error("%s", what, exc_info=exc)


async def _follow_change_log(services: Services) -> None:
    """Keep this process's search replica current, whoever wrote to the database."""

    def catch_up_once() -> None:
        with services.database.reading() as session:
            catch_up_quietly(session, services.search)

    while True:
        try:
            await anyio.to_thread.run_sync(catch_up_once)
        except Exception as exc:
            _log_failure("search follower failed; retrying", exc)
        await asyncio.sleep(services.settings.search_sync_seconds)


async def _embed_changed_listings(services: Services, embedder: Embedder) -> None:
    """Compute the vectors of changed listings. Every process runs this; the database
    lease lets one at a time work, and another take over when it stops."""
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    while True:
        try:
            done = await anyio.to_thread.run_sync(embed_changes, services.database, embedder, owner)
        except Exception as exc:
            _log_failure("vector follower failed; retrying", exc)
            done = 0
        if not done:
            await asyncio.sleep(services.settings.search_sync_seconds)


async def _flush_activity(services: Services, tally: Tally) -> None:
    """Append this process's counts of views and impressions every few seconds."""
    while True:
        await asyncio.sleep(services.settings.analytics_flush_seconds)
        try:
            await anyio.to_thread.run_sync(flush_activity, services.database, tally)
        except Exception as exc:
            _log_failure("activity counts could not be written; keeping on counting", exc)


async def _schedule_digests(services: Services, jobs: JobQueue) -> None:
    """Defer the saved searches' digests that are due. Every process runs this; each
    digest is claimed by one of them (``matching.alerts.schedule_digests``)."""
    while True:
        try:
            await anyio.to_thread.run_sync(
                functools.partial(
                    alerts.schedule_digests,
                    services.database,
                    jobs,
                    base_url=services.settings.public_url,
                )
            )
        except Exception as exc:
            _log_failure("digests could not be scheduled; retrying", exc)
        await asyncio.sleep(services.settings.digest_check_seconds)


async def _run_jobs(jobs: JobQueue) -> None:
    """The background job runner of this process (every process runs one)."""
    while True:
        try:
            await jobs.work()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            _log_failure("job runner stopped; restarting", exc)
            await asyncio.sleep(5)


FOLLOWERS_STOP_SECONDS = 15.0


def _lifespan(services: Services) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        services.matrices.start()  # the first match matrix, in the background
        followers = [asyncio.create_task(_follow_change_log(services))]
        if services.jobs is not None:
            followers.append(asyncio.create_task(_run_jobs(services.jobs)))
            if services.jobs.context.mailer is not None:  # no mail, no digest
                followers.append(asyncio.create_task(_schedule_digests(services, services.jobs)))
        if services.tally is not None:
            followers.append(asyncio.create_task(_flush_activity(services, services.tally)))
        if services.embedder is not None:
            followers.append(
                asyncio.create_task(_embed_changed_listings(services, services.embedder))
            )
        yield
        for follower in followers:
            follower.cancel()
        # Wait for them to stop (a job runner finishes or cancels its running jobs), so
        # that nothing of this app outlives its shutdown; bounded, whatever happens.
        await asyncio.wait(followers, timeout=FOLLOWERS_STOP_SECONDS)
        if services.tally is not None:  # the last seconds' counts, before the process ends
            await anyio.to_thread.run_sync(flush_activity, services.database, services.tally)

    return lifespan


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    settings = settings or (services.settings if services else get_settings())
    services = services or build_services(settings)
    app = FastAPI(
        lifespan=_lifespan(services),
        title="citydeal",
        version="0.1.0",
        summary="Investment opportunities published by Thailand's smart cities.",
        generate_unique_id_function=_operation_id,
        docs_url="/docs" if settings.serves_api_docs else None,  # /openapi.json stays
        redoc_url="/redoc" if settings.serves_api_docs else None,
    )
    app.state.services = services
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret,
        session_cookie="citydeal_session",
        max_age=8 * 3600,
        same_site="lax",
        https_only=settings.environment == "production",
    )
    install_error_handlers(app, render_page=render_error)
    install_openapi(app)  # the spec as the app answers (errors, optional keys, If-Match)
    app.include_router(health_router)  # /healthz, /readyz: no key, no rate limit
    app.include_router(importing_router)
    app.include_router(catalog_router)
    app.include_router(accounts_router)
    app.include_router(alerts_router)
    app.include_router(matching_router)
    app.include_router(shortlist_router)
    app.include_router(money_router)
    app.include_router(events_router)
    app.include_router(event_day_router)
    app.include_router(event_meetings_router)
    app.include_router(event_selection_router)
    app.include_router(portal_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(HeadAsGet)  # HEAD wherever GET: one place for every route
    app.add_middleware(Idempotency)  # a retried POST gets the first answer
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders, settings=settings)  # every response, cookie and 500
    app.add_middleware(ServerTiming)  # outermost: it times everything inside
    app.add_middleware(request_id_middleware)  # X-Request-ID, in every log record too
    return app


def __getattr__(name: str) -> FastAPI:
    # ``uvicorn api.main:app`` builds the app on first use, not on every import (tests
    # and the CLI import this module without wanting a database connection or an index).
    if name == "app":
        application = create_app()
        configure_logging(application.state.services.settings, request_id=current_request_id)
        globals()["app"] = application
        return application
    raise AttributeError(name)
