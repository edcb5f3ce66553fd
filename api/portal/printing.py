"""HTML pages laid out as PDFs by WeasyPrint, which may fetch nothing but the portal's own
static files. Imported on the first PDF only: WeasyPrint takes most of a second to load
and needs Pango, a system library the rest of the app does without."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint import HTML
from weasyprint.urls import URLFetcher, URLFetcherResponse

STATIC_DIR = Path(__file__).resolve().parent / "static"


class StaticFilesOnly(URLFetcher):  # type: ignore[misc]
    """What WeasyPrint may fetch while printing: the portal's own static files, read from
    disk. Anything else (another host, a CDN, a file path, a data: address) is refused, so
    a PDF never waits on the network nor reads outside the static folder."""

    def __init__(self, base: str) -> None:
        super().__init__(allowed_protocols=("http", "https"), fail_on_errors=False)
        parts = urlsplit(base)
        self._origin = (parts.scheme, parts.netloc)

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) != self._origin or not parts.path.startswith("/static/"):
            raise ValueError(f"not fetched while printing: {url}")
        path = (STATIC_DIR / unquote(parts.path.removeprefix("/static/"))).resolve()
        if not path.is_relative_to(STATIC_DIR) or not path.is_file():
            raise ValueError(f"no static file {parts.path}")
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": kind})


def print_pdf(page_html: str, base: str) -> bytes:
    """A page as a PDF, laid out for print media; ``base`` is the address the page's
    relative links resolve against (they stay links in the PDF)."""
    document = HTML(string=page_html, base_url=f"{base}/", url_fetcher=StaticFilesOnly(base))
    pdf: bytes = document.write_pdf()
    return pdf
