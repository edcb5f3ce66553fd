"""The portal: server-rendered pages in Thai and English over the same services as the
API, one module per audience (readers, pitch days, sign-in, publishers). Every page
state is a plain URL."""

from __future__ import annotations

from fastapi import APIRouter

from api.portal import accounts, booklet, event_day, events, public, publisher, signin
from api.portal import alerts as alert_pages
from api.portal import event_meetings as event_meetings_pages
from api.portal import event_selection as event_selection_pages
from api.portal import history as history_pages
from api.portal import investor as investor_pages
from api.portal import money as money_pages
from api.portal import organiser as organiser_pages
from api.portal import shortlist as shortlist_pages
from api.portal.rendering import render_error

router = APIRouter(include_in_schema=False)
for module in (public, organiser_pages, events, signin, accounts, publisher):
    router.include_router(module.router)
for module in (shortlist_pages, money_pages, alert_pages, investor_pages, booklet, event_day):
    router.include_router(module.router)
router.include_router(event_meetings_pages.router)
router.include_router(event_selection_pages.router)
router.include_router(history_pages.router)

__all__ = ["render_error", "router"]
