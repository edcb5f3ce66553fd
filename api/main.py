"""The FastAPI application: routers, error handlers and middleware joined together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.routing import APIRoute
from sqlmodel import Session
from starlette.middleware.sessions import SessionMiddleware

from api.errors import install_error_handlers
from api.middleware import BodySizeLimit, ServerTiming
from api.portal import router as portal_router
from catalog.routes import router as catalog_router
from catalog.search import search_index_for
from catalog.search.sync import catch_up_quietly
from core.db import engine_for
from core.settings import Settings, get_settings
from matching.pitchday.routes import router as pitchday_router
from matching.routes import router as matching_router


def _operation_id(route: APIRoute) -> str:
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


log = logging.getLogger(__name__)


def _catch_up_once(settings: Settings) -> None:
    with Session(engine_for(settings.database_url)) as session:
        catch_up_quietly(session, search_index_for(settings))


async def _follow_change_log(settings: Settings) -> None:
    """Keep this process's search replica current, whoever wrote to the database."""
    while True:
        try:
            await anyio.to_thread.run_sync(_catch_up_once, settings)
        except Exception:
            log.exception("search follower failed; retrying")
        await asyncio.sleep(settings.search_sync_seconds)


def _lifespan(settings: Settings) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        follower = asyncio.create_task(_follow_change_log(settings))
        yield
        follower.cancel()

    return lifespan


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        lifespan=_lifespan(settings),
        title="citydeal",
        version="0.1.0",
        summary="Investment opportunities published by Thailand's smart cities.",
        generate_unique_id_function=_operation_id,
    )
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret,
        session_cookie="citydeal_session",
        max_age=8 * 3600,
        same_site="lax",
        https_only=settings.environment == "production",
    )
    install_error_handlers(app)
    app.include_router(catalog_router)
    app.include_router(matching_router)
    app.include_router(pitchday_router)
    app.include_router(portal_router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(ServerTiming)  # outermost: it times everything inside
    return app


app = create_app()
