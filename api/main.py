"""The FastAPI application: routers, error handlers and middleware joined together."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.errors import install_error_handlers
from api.middleware import BodySizeLimit
from catalog.routes import router as catalog_router
from core.settings import Settings, get_settings


def _operation_id(route: APIRoute) -> str:
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="citydeal",
        version="0.1.0",
        summary="Investment opportunities published by Thailand's smart cities.",
        generate_unique_id_function=_operation_id,
    )
    install_error_handlers(app)
    app.include_router(catalog_router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app


app = create_app()
