"""Thai all the way: the main pages in Thai show no English enum value, no slug standing
in for a word, and no validation sentence of pydantic's, whoever reads them. Text a
city typed in one language only (a document's title) is marked ``data-verbatim`` and
shown as typed; text marked ``lang="en"`` (an English field being edited) is English by
design."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest
from sqlmodel import Session

from catalog.organisations import issue_key
from catalog.taxonomy import (
    CheckpointState,
    InvestmentModel,
    ListingKind,
    ListingStatus,
    Sector,
    Stage,
)
from core.principal import Role
from matching.schemas import LeadStatus

# Words a Thai page must not show as words: every enum value of the catalogue.
ENGLISH_VALUES = {
    value.value
    for enum in (
        CheckpointState,
        InvestmentModel,
        ListingKind,
        ListingStatus,
        Sector,
        Stage,
        LeadStatus,
    )
    for value in enum
} - {"ppp", "bot"}  # acronyms Thai readers use as they are (they show as PPP, BOT)
VOID = {"input", "br", "img", "meta", "link", "hr", "source", "wbr", "area", "base", "col"}
PYDANTIC = ("Field required", "Input should", "String should", "value is not a valid")


class _Visible(HTMLParser):
    """The text a reader sees: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self._hidden = 0
        self._stack: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        hides = tag in ("script", "style", "code") or any(
            k == "data-verbatim" or (k == "lang" and v == "en") for k, v in attrs
        )
        if tag in VOID:
            return  # no content of its own to hide, and no end tag to unhide at
        self._stack.append((tag, hides))
        if hides:
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        # HTML may leave </li> or </p> out: close up to the matching tag.
        if tag in VOID or all(open_tag != tag for open_tag, _ in self._stack):
            return
        while self._stack:
            open_tag, hides = self._stack.pop()
            if hides:
                self._hidden -= 1
            if open_tag == tag:
                return

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.text.append(data)


def visible(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(parser.text)


def english_values_in(text: str) -> set[str]:
    words = set(re.findall(r"[a-z][a-z-]*[a-z]", text))
    return words & ENGLISH_VALUES


@pytest.fixture
async def seeded_publisher(
    client: httpx.AsyncClient, session: Session, seeded: None
) -> httpx.AsyncClient:
    _row, key = issue_key(
        session, organisation_slug="nakhon-sawan-development", role=Role.publisher
    )
    session.commit()
    form = await client.get("/signin")
    token = form.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    assert (
        await client.post("/signin", data={"api_key": key, "csrf_token": token})
    ).status_code == 303
    return client


PAGES = [
    "/",
    "/?q=ลูกชิ้น",
    "/listings/nakhon-sawan-fish-ball-factory",
    "/listings/nakhon-sawan-smart-poles",
    "/cities/nakhon-sawan",
    "/events",
    "/events/nakhon-sawan-pitch-day-2027",
    "/dashboard",
    "/dashboard/listings/new",
    "/dashboard/listings/nakhon-sawan-fish-ball-factory/edit",
    "/dashboard/listings/nakhon-sawan-fish-ball-factory/investors",
    "/dashboard/import",
    "/organisation",
    "/signin",
    "/password-reset",
]


@pytest.mark.parametrize("path", PAGES)
async def test_a_thai_page_shows_no_english_value(
    seeded_publisher: httpx.AsyncClient, path: str
) -> None:
    page = await seeded_publisher.get(path, params={"lang": "th"} if "?" not in path else None)
    if "?" in path:
        page = await seeded_publisher.get(path + "&lang=th")
    assert page.status_code == 200, page.text[:300]
    text = visible(page.text)
    assert "โอกาสการลงทุนในเมืองอัจฉริยะของไทย" in text  # read to the footer: nothing skipped
    assert english_values_in(text) == set(), path
    assert not any(sentence in text for sentence in PYDANTIC), path


async def test_a_refused_form_in_thai_explains_in_thai(seeded_publisher: httpx.AsyncClient) -> None:
    page = await seeded_publisher.get("/dashboard/listings/new", params={"lang": "th"})
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    refused = await seeded_publisher.post(
        "/dashboard/listings/new",
        data={"csrf_token": token, "action": "save", "capital_min_thb": "many"},
    )
    assert refused.status_code == 422
    text = visible(refused.text)
    assert "กรุณากรอกช่องนี้" in text
    assert not any(sentence in text for sentence in PYDANTIC)
    assert english_values_in(text) == set()


ERROR_PAGES = [
    ("/listings/no-such-listing", 404, "ไม่พบหน้านี้", "This page does not exist"),
    ("/no/such/page", 404, "ไม่พบหน้านี้", "This page does not exist"),
    ("/invitations/not-a-token", 404, "ไม่พบหน้านี้", "This page does not exist"),
    ("/dashboard/listings/patong-wastewater-recycling/edit", 403, "ไม่มีสิทธิ์", "may not see"),
]


@pytest.mark.parametrize(("path", "status", "thai", "english"), ERROR_PAGES)
async def test_an_error_page_speaks_the_readers_language(
    seeded_publisher: httpx.AsyncClient, path: str, status: int, thai: str, english: str
) -> None:
    in_thai = await seeded_publisher.get(path, params={"lang": "th"})
    assert in_thai.status_code == status
    assert in_thai.headers["content-type"].startswith("text/html")
    text = visible(in_thai.text)
    assert thai in text
    assert not re.search(r"[A-Za-z]{3,}", text.replace("citydeal", "")), text
    in_english = await seeded_publisher.get(path, params={"lang": "en"})
    assert english in in_english.text
