"""Dependency aliases every router uses: session, settings, principal, preconditions."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from typing import Annotated, ParamSpec, TypeVar

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from api.auth import resolve_key
from catalog.search import search_index_for
from catalog.search.base import SearchIndex
from catalog.search.sync import catch_up_quietly
from catalog.service import LISTINGS_CHANGED
from core.db import after_commit, engine_for, finish, for_writing, open_session, reads_in_place
from core.errors import Forbidden, InvalidInput, Unauthorized
from core.principal import Principal, Role
from core.settings import Settings, get_settings

P = ParamSpec("P")
T = TypeVar("T")


async def current_settings() -> Settings:
    # Cheap dependencies are ``async def`` so that FastAPI resolves them on the event loop
    # instead of handing each to a worker thread.
    return get_settings()


SettingsDep = Annotated[Settings, Depends(current_settings)]


async def get_engine(settings: SettingsDep) -> Engine:
    return engine_for(settings.database_url)


_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


async def run_db(session: Session, work: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a request's database work: in place when it only reads SQLite, else in a worker
    thread (see ``core.db.reads_in_place``). Measured here, the hand-off to a worker thread
    costs 1-2 ms per request: a third of a pitch page's budget, for no parallelism."""
    if reads_in_place(session):
        return work(*args, **kwargs)
    return await run_in_threadpool(work, *args, **kwargs)


async def run_search(
    session: Session, index: SearchIndex, work: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs
) -> T:
    """``run_db`` for work that also queries the search index: in place only if the index
    answers in this process too (tantivy), never while Meilisearch answers over a network."""
    if reads_in_place(session) and index.in_process:
        return work(*args, **kwargs)
    return await run_in_threadpool(work, *args, **kwargs)


async def get_session(
    request: Request, engine: Annotated[Engine, Depends(get_engine)]
) -> AsyncIterator[Session]:
    """The request's one unit of work: committed if the route succeeds, else rolled back."""
    if request.method not in _SAFE_METHODS:
        engine = for_writing(engine)
    session = open_session(engine)
    try:
        yield session
    except BaseException:
        await run_db(session, finish, session, failed=True)
        raise
    await run_db(session, finish, session, failed=False)


# scope="function": commit before the response is sent, so a failed commit is an error
# response rather than a success the database never saw.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="An API key issued by `citydeal keys create`.")


def get_optional_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    if credentials is None:
        return None
    return resolve_key(session, credentials.credentials)


OptionalPrincipalDep = Annotated[Principal | None, Depends(get_optional_principal)]


async def get_principal(principal: OptionalPrincipalDep) -> Principal:
    if principal is None:
        raise Unauthorized(
            "an API key is required (Authorization: Bearer …)", field="authorization"
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_publisher(principal: PrincipalDep) -> Principal:
    if principal.role not in (Role.publisher, Role.admin):
        raise Forbidden("this needs a publisher key", field="authorization")
    return principal


PublisherDep = Annotated[Principal, Depends(get_publisher)]

_ETAG = re.compile(r'^\s*(?:W/)?"v?(\d{1,9})"\s*$')


async def if_match_version(
    if_match: Annotated[
        str | None,
        Header(description='The ETag of the version you edited, e.g. `"v3"`.', max_length=40),
    ] = None,
) -> int | None:
    if if_match is None:
        return None
    match = _ETAG.match(if_match)
    if match is None:
        raise InvalidInput('If-Match must be an ETag such as "v3"', field="If-Match")
    return int(match.group(1))


IfMatchDep = Annotated[int | None, Depends(if_match_version)]


def etag(version: int) -> str:
    return f'"v{version}"'


async def get_search_index(settings: SettingsDep) -> SearchIndex:
    return search_index_for(settings)


SearchDep = Annotated[SearchIndex, Depends(get_search_index)]


async def sync_search_after_commit(session: SessionDep, index: SearchDep) -> None:
    """Once a request that changed listings commits, bring the search index up to date,
    so a publisher finds what it just published. Failures are left to the next catch-up."""

    def hook(committed: Session) -> None:
        if committed.info.pop(LISTINGS_CHANGED, False):
            catch_up_quietly(committed, index)

    after_commit(session, hook)
