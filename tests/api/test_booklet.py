"""A pitch day's booklet: absolute links with a QR code that decodes to each pitch page,
the programme and the agenda grid, the print rules (page numbers, steps kept with their
contacts), and the same page as a PDF in Thai and English that fetches nothing from the
network."""

from __future__ import annotations

import io
import re
import socket
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
import zxingcpp
from fastapi import FastAPI
from pypdf import PdfReader
from sqlmodel import Session, select

from api.deps import current_settings
from api.portal.printing import StaticFilesOnly, print_pdf
from core.settings import Settings
from matching.pitchday.models import Meeting, PitchEvent
from tests.factories import World, auth, create_and_publish, create_profile

HOSTILE = "</svg><script>alert(1)</script>"
FISH = "โรงงานผลิตลูกชิ้นปลา"


@pytest.fixture
async def pitch_day(client: httpx.AsyncClient, world: World, session: Session) -> str:
    """Two pitching listings (one with a hostile English title), a discoverable investor
    and the organiser's hidden guest, and three meetings at tables."""
    fish = await create_and_publish(client, world.nakhon_sawan_key)
    cold = await create_and_publish(
        client,
        world.nakhon_sawan_key,
        slug="cold-store",
        title_th="ห้องเย็นตลาดเก่า",
        title_en=HOSTILE,
        contacts=[{"name": "นางสาวมาลี ศรีสุข", "email": "malee@ns.example", "phone": "056 1234"}],
    )
    fund = await create_profile(client, world.investor_key, name="Lower North Fund")
    hidden = await create_profile(
        client, world.organiser_key, name="Hidden Angel", discoverable=False
    )
    event = {
        "slug": "ns-pitch-day",
        "city": "nakhon-sawan",
        "name_th": "วันนำเสนอโครงการนครสวรรค์",
        "name_en": "Nakhon Sawan pitch day",
        "venue_th": "ศาลาว่าการเทศบาล",
        "venue_en": "City hall",
        "held_on": "2027-02-15",
        "first_slot": "09:30",
        "slot_minutes": 15,
        "slot_count": 2,
        "round_first": "13:00",
        "round_minutes": 20,
        "round_count": 3,
        "table_count": 4,
        "listings": [fish, cold],
        "investors": [fund, hidden],
    }
    created = await client.post("/v1/events", json=event, headers=auth(world.organiser_key))
    assert created.status_code == 201, created.text
    event_id = session.exec(select(PitchEvent.id).where(PitchEvent.slug == "ns-pitch-day")).one()
    listing_ids = {
        slug: (await client.get(f"/v1/listings/{slug}")).json()["id"] for slug in (fish, cold)
    }
    for slot, listing, investor, table in [
        (0, fish, fund, 3),
        (1, fish, hidden, 1),
        (0, cold, hidden, 2),
    ]:
        session.add(
            Meeting(
                event_id=event_id or 0,
                slot=slot,
                listing_id=listing_ids[listing],
                investor_profile_id=investor,
                score=70.0,
                table_no=table,
            )
        )
    session.commit()
    return "ns-pitch-day"


def _pdf_text(text: str) -> str:
    """Text as read back from the PDF: the Thai fonts draw SARA AM with the glyph of SARA
    AA, and the PDF maps that glyph back to whichever of the two a font met first."""
    return text.replace("\u0e4d\u0e32", "\u0e32").replace("\u0e33", "\u0e32")


def _articles(page: str) -> list[str]:
    return page.split('data-testid="booklet-listing"')[1:]


def _div(page: str, marker: str) -> str:
    """The inside of the ``<div>`` whose attributes contain ``marker``, nested ones and all."""
    start = page.index(f"<div {marker}>") + len(f"<div {marker}>")
    depth = 1
    for tag in re.finditer(r"<(/?)div\b", page[start:]):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            return page[start : start + tag.start()]
    raise AssertionError("unclosed <div>")


def qr_text(svg: str) -> str:
    """What a phone reads from the QR code: segno's path (a move, then runs of dark modules
    row by row) drawn back into an image, then decoded by zxing-cpp."""
    size = re.search(r'viewBox="0 0 (\d+) (\d+)"', svg)
    path = re.search(r' d="([^"]+)"', svg)
    assert size is not None
    assert path is not None
    step = r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?"
    assert re.fullmatch(f"(?:{step})+", path.group(1))  # nothing else to draw
    dark = np.zeros((int(size.group(2)), int(size.group(1))), dtype=bool)
    x = y = 0.0
    for command, first, second in re.findall(step, path.group(1)):
        if command == "M":
            x, y = float(first), float(second)
        elif command == "m":
            x, y = x + float(first), y + float(second)
        else:
            dark[int(y), int(x) : int(x + float(first))] = True
            x += float(first)
    image = np.where(dark, 0, 255).astype(np.uint8).repeat(8, axis=0).repeat(8, axis=1)
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1
    return found[0].text


async def test_each_pitch_page_is_linked_absolutely_and_by_a_qr_code_that_decodes_to_it(
    client: httpx.AsyncClient, pitch_day: str
) -> None:
    page = await client.get(f"/events/{pitch_day}/booklet?lang=en")
    assert page.status_code == 200
    articles = _articles(page.text)
    assert len(articles) == 2
    for article, slug in zip(articles, ["fish-ball-factory", "cold-store"], strict=True):
        url = f"http://test/listings/{slug}?lang=en"
        assert f'<a href="{url}">{url}</a>' in article  # the text works on paper too
        svg = re.search(r"<svg .*?</svg>", article, re.S)
        assert svg is not None
        assert qr_text(svg.group(0)) == url
    assert 'href="http://test/events/ns-pitch-day?lang=en"' in page.text


async def test_links_use_the_public_address_when_one_is_set(
    app: FastAPI, client: httpx.AsyncClient, pitch_day: str
) -> None:
    settings = Settings(public_url="https://citydeal.example/")
    app.dependency_overrides[current_settings] = lambda: settings
    page = await client.get(f"/events/{pitch_day}/booklet?lang=th")
    url = "https://citydeal.example/listings/fish-ball-factory?lang=th"
    assert f'<a href="{url}">{url}</a>' in page.text
    svg = re.search(r"<svg .*?</svg>", _articles(page.text)[0], re.S)
    assert svg is not None
    assert qr_text(svg.group(0)) == url
    assert "http://test/" not in page.text


async def test_the_cover_has_the_programme_and_the_grid_says_who_meets_whom(
    client: httpx.AsyncClient, pitch_day: str
) -> None:
    page = (await client.get(f"/events/{pitch_day}/booklet?lang=th")).text
    cover = page.split('data-testid="booklet-cover"', 1)[1].split("<article", 1)[0]
    assert "วันนำเสนอโครงการนครสวรรค์" in cover
    assert "15 กุมภาพันธ์ พ.ศ. 2570" in cover
    assert "ศาลาว่าการเทศบาล" in cover
    programme = cover.split('data-testid="programme"', 1)[1]
    assert programme.index("09:30–09:45") < programme.index(FISH)
    assert programme.index(FISH) < programme.index("09:45–10:00")
    assert programme.index("09:45–10:00") < programme.index("ห้องเย็นตลาดเก่า")
    assert "13:00–14:00" in programme  # the meeting rounds, after the pitches
    assert 'href="/events/ns-pitch-day/booklet.pdf?lang=th"' in cover

    grid = page.split('data-testid="agenda-grid"', 1)[1].split("</table>", 1)[0]
    head, body = grid.split("<tbody>")
    assert "<thead>" in head  # repeated on each printed page (booklet.css)
    assert head.index(FISH) < head.index("ห้องเย็นตลาดเก่า")
    rows = body.split("<tr>")[1:]
    assert len(rows) == 3
    assert "1 · 13:00" in rows[0]
    fish_cell, cold_cell = re.findall(r"<td>(.*?)</td>", rows[0], re.S)
    assert "Lower North Fund" in fish_cell
    assert "โต๊ะ 3" in fish_cell
    assert "นักลงทุน (ไม่เปิดเผยชื่อ)" in cold_cell  # not named to the public
    assert "โต๊ะ 2" in cold_cell
    assert "Hidden Angel" not in page
    assert re.findall(r"<td>(.*?)</td>", rows[2], re.S) == ["", ""]


async def test_the_organiser_sees_its_guest_named(
    client: httpx.AsyncClient, pitch_day: str, world: World
) -> None:
    form = await client.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    signed_in = await client.post(
        "/signin", data={"csrf_token": token.group(1), "api_key": world.organiser_key}
    )
    assert signed_in.status_code == 303
    page = (await client.get(f"/events/{pitch_day}/booklet?lang=en")).text
    assert "Hidden Angel" in page


async def test_steps_and_contacts_are_one_block_that_never_breaks_across_pages(
    client: httpx.AsyncClient, pitch_day: str
) -> None:
    page = (await client.get(f"/events/{pitch_day}/booklet?lang=th")).text
    assert '<link rel="stylesheet" href="/static/booklet.css">' in page
    for article in _articles(page):
        block = _div(article, 'class="keep-together" data-testid="steps-and-contacts"')
        assert "ขั้นตอนการลงทุน" in block
        assert "ผู้ประสานงาน" in block
        assert "ขอใบอนุญาตประกอบกิจการโรงงาน" in block
    assert "malee@ns.example" in _articles(page)[1]
    css = (await client.get("/static/booklet.css")).text
    assert re.search(r"\.keep-together \{ break-inside: avoid;", css)
    assert re.search(r"h1, h2, h3 \{ break-after: avoid;", css)
    assert 'content: counter(page) " / " counter(pages)' in css
    assert re.search(r"@page \{\s+size: A4;", css)
    assert "display: table-header-group" in css


async def test_a_hostile_title_is_text_everywhere(
    client: httpx.AsyncClient, pitch_day: str
) -> None:
    page = (await client.get(f"/events/{pitch_day}/booklet?lang=en")).text
    assert "<script>alert" not in page
    assert "&lt;/svg&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<svg ") == page.count("</svg>") == 2


async def test_the_pdf_has_every_page_numbered_in_thai_and_english(
    client: httpx.AsyncClient, pitch_day: str
) -> None:
    thai = await client.get(f"/events/{pitch_day}/booklet.pdf?lang=th")
    assert thai.status_code == 200, thai.text[:500]
    assert thai.headers["content-type"] == "application/pdf"
    assert thai.headers["content-disposition"] == (
        'attachment; filename="ns-pitch-day-booklet-th.pdf"'
    )
    assert thai.content.startswith(b"%PDF-")
    pdf = PdfReader(io.BytesIO(thai.content))
    pages = [_pdf_text(page.extract_text()) for page in pdf.pages]
    # The cover, a page for each (short) listing, and the agenda grid on a landscape page.
    assert len(pages) == 4
    assert [page.mediabox.width > page.mediabox.height for page in pdf.pages] == [
        False,
        False,
        False,
        True,
    ]
    for number, text in enumerate(pages, start=1):
        assert f"{number} / {len(pages)}" in text
    assert _pdf_text("วันนำเสนอโครงการนครสวรรค์") in pages[0]
    assert _pdf_text("15 กุมภาพันธ์ พ.ศ. 2570") in pages[0]
    assert _pdf_text(f"{FISH} · 2") in pages[0]  # the programme says where each listing starts
    assert _pdf_text(FISH) in pages[1]
    assert "http://test/listings/fish-ball-factory?lang=th" in pages[1]
    links = [
        annotation.get_object()["/A"]["/URI"]
        for page in pdf.pages
        for annotation in page.get("/Annots") or []
        if "/URI" in annotation.get_object().get("/A", {})
    ]
    assert "http://test/listings/fish-ball-factory?lang=th" in links  # a link to click, too
    assert "http://test/listings/cold-store?lang=th" in links
    assert "ดาวน์โหลด PDF" not in "".join(pages)  # screen-only controls are left out
    assert _pdf_text("ข้ามไปยังเนื้อหา") not in "".join(pages)
    assert "Lower North Fund\nโต๊ะ 3" in pages[-1]

    english = await client.get(f"/events/{pitch_day}/booklet.pdf?lang=en")
    assert english.headers["content-disposition"].endswith('-booklet-en.pdf"')
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(english.content)).pages)
    assert "Fish-ball factory" in text
    assert "15 February 2027" in text
    assert "</svg><script>" in text  # drawn as the words it is, nothing run
    assert (await client.get("/events/nowhere/booklet.pdf")).status_code == 404


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A local port that records whether anything connected to it."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        yield server


def test_printing_fetches_only_the_apps_own_static_files(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    fetcher = StaticFilesOnly("http://test")
    served = fetcher.fetch("http://test/static/booklet.css")
    assert served.content_type == "text/css"
    assert b"@page" in served.read()
    for refused in (
        f"http://127.0.0.1:{port}/static/booklet.css",  # another host
        "https://cdn.example/static/booklet.css",
        "http://test/static/../../core/settings.py",
        "http://test/static/%2e%2e/%2e%2e/core/settings.py",
        "http://test/listings/fish-ball-factory",
        "file:///etc/passwd",
    ):
        with pytest.raises(ValueError, match="not fetched|no static file|disallowed"):
            fetcher(refused)

    page = (
        f'<link rel="stylesheet" href="http://127.0.0.1:{port}/x.css">'
        f'<link rel="stylesheet" href="/static/booklet.css">'
        f'<p>ทดสอบ</p><img src="http://127.0.0.1:{port}/x.png" alt="">'
    )
    pdf = print_pdf(page, "http://test")
    assert pdf.startswith(b"%PDF-")
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody called


def test_a_long_agenda_grid_repeats_its_header_on_every_landscape_page() -> None:
    rows = "".join(
        f"<tr><th scope='row'>{n} · 13:00</th><td>นักลงทุน {n}<br>โต๊ะ {n}</td></tr>"
        for n in range(1, 61)
    )
    page = (
        '<link rel="stylesheet" href="/static/booklet.css"><section class="agenda">'
        '<table class="agenda-grid"><thead><tr><th>รอบ</th><th>Column head</th></tr></thead>'
        f"<tbody>{rows}</tbody></table></section>"
    )
    pdf = PdfReader(io.BytesIO(print_pdf(page, "http://test")))
    assert len(pdf.pages) >= 2
    for number, sheet in enumerate(pdf.pages, start=1):
        assert sheet.mediabox.width > sheet.mediabox.height
        text = sheet.extract_text()
        assert "Column head" in text
        assert f"{number} / {len(pdf.pages)}" in text
