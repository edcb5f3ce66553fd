"""An event's booklet: the page to print, and the same page as a PDF (WeasyPrint). Each
pitch page is linked by its absolute address, written out and as a QR code, so that the
links work on paper."""

from __future__ import annotations

from typing import Any

import anyio
import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlmodel import Session

from api import i18n
from api.deps import SessionDep, SettingsDep, run_db
from api.portal.rendering import PortalPrincipal, page, render
from api.routes.alerts import public_base
from core.errors import ServiceUnavailable
from core.principal import Principal
from matching.pitchday import service as pitchday_service
from matching.pitchday.booklet import booklet

router = APIRouter()

COLUMNS_PER_GRID = 5  # listings side by side in one agenda table, on a landscape page
PRINTERS = 2  # PDFs rendered at once per process: seconds of CPU each, on a public page


def pitch_page_url(base: str, slug: str, lang: i18n.Lang) -> str:
    """The absolute address of a listing's pitch page, in the booklet's language."""
    return f"{base}/listings/{slug}?lang={lang.value}"


def qr_svg(url: str) -> Markup:
    """``url`` as an inline SVG QR code (segno). The drawing holds path data only, never
    the text it encodes, so it is safe as markup; the address is written out beside it."""
    svg = segno.make(url, error="m", micro=False).svg_inline(
        omitsize=True, svgclass="qr", lineclass=None, border=2
    )
    return Markup(svg.replace("<svg ", '<svg aria-hidden="true" focusable="false" ', 1))


def _booklet_page(
    request: Request,
    session: Session,
    principal: Principal | None,
    base: str,
    slug: str,
) -> HTMLResponse:
    event = pitchday_service.get_event(session, slug=slug)
    contents = booklet(session, event=event, viewer=principal)
    lang = i18n.choose_language(request)
    links = {
        pitch.listing.slug: pitch_page_url(base, pitch.listing.slug, lang)
        for pitch in contents.pitches
    }
    context: dict[str, Any] = {
        "event": contents.event,
        "booklet": contents,
        "links": links,
        "qr_codes": {slug: qr_svg(url) for slug, url in links.items()},
        "event_url": f"{base}/events/{event.slug}?lang={lang.value}",
        "grids": [
            contents.columns[n : n + COLUMNS_PER_GRID]
            for n in range(0, len(contents.columns), COLUMNS_PER_GRID)
        ],
    }
    return render(request, "booklet.html", context, principal=principal)


@router.get("/events/{slug}/booklet", response_class=HTMLResponse)
@page()
def event_booklet(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    settings: SettingsDep,
) -> HTMLResponse:
    """The booklet to print: public, like the event's page (hidden investors unnamed)."""
    return _booklet_page(request, session, principal, public_base(request, settings), slug)


def _print_pdf(page_html: str, base: str) -> bytes:
    """``api.portal.printing.print_pdf``, loaded on the first PDF (see why there)."""
    try:
        from api.portal import printing
    except OSError as missing:  # WeasyPrint found no Pango on this machine
        raise ServiceUnavailable("PDFs need Pango here (WeasyPrint)", field="pdf") from missing
    return printing.print_pdf(page_html, base)


def _printers(request: Request) -> anyio.CapacityLimiter:
    """This app's limit on PDFs rendered at once: the rest wait their turn without holding
    the worker threads that database work needs."""
    state = request.app.state
    limiter: anyio.CapacityLimiter | None = getattr(state, "booklet_printers", None)
    if limiter is None:
        limiter = anyio.CapacityLimiter(PRINTERS)
        state.booklet_printers = limiter
    return limiter


@router.get("/events/{slug}/booklet.pdf", response_class=Response)
async def event_booklet_pdf(
    slug: str,
    request: Request,
    session: SessionDep,
    principal: PortalPrincipal,
    settings: SettingsDep,
) -> Response:
    """The booklet as a PDF, as public as the booklet page, in ``?lang=`` (or the reader's
    language); laid out in a worker thread."""
    base = public_base(request, settings)
    booklet_page = await run_db(session, _booklet_page, request, session, principal, base, slug)
    lang = i18n.choose_language(request)
    pdf = await anyio.to_thread.run_sync(
        _print_pdf, bytes(booklet_page.body).decode(), base, limiter=_printers(request)
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            # The slug is [a-z0-9-] (core.text.Slug): nothing to quote.
            "Content-Disposition": f'attachment; filename="{slug}-booklet-{lang.value}.pdf"',
            "Cache-Control": "private, no-cache",
        },
    )
