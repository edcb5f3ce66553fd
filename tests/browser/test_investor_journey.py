"""The investor's side, tried as a new user would, in Chromium: in English a foreign fund,
in Thai a Thai SME. Each registers, confirms its address from the e-mail, fills its
profile (ticket amounts typed as people type them) while the live count follows, sees its
matches with reasons and what would widen them, saves "electric mobility in the
Northeast" as an alert with a daily digest, shortlists and compares, shows interest in a
listing from its pitch page and sees the city move it to "meeting"; then the city
publishes a new matching listing, and it appears in the saved search's Atom feed and, a
day later, in the e-mail digest. axe-core checks every page of the investor's workplace
at 1280 and 390 px. Screenshots: ``test-artifacts/screenshots/investor-<lang>-*.png``.

The server sends mail to a real SMTP server of the test, and looks for due digests every
half second."""

from __future__ import annotations

import re
import sqlite3
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_thai_all_the_way import english_values_in, visible
from tests.browser.axe import assert_no_axe_violations
from tests.browser.conftest import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    BROWSER_TESTS,
    _has_seed_results,
    shot,
)
from tests.factories import listing_payload
from tests.live import admin_invitation, environment, seed, serve
from tests.mail import Inbox, smtp_server

pytestmark = BROWSER_TESTS
ATOM = "{http://www.w3.org/2005/Atom}"
PASSWORD = "a long investor password"
CITY_PASSWORD = "the city's own password"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# The outermost elements reaching past the right edge of the screen (none, when it fits).
WIDER_THAN_THE_SCREEN = """() => {
  if (document.documentElement.scrollWidth <= window.innerWidth + 1) return [];
  const past = [...document.querySelectorAll("body *")].filter(
    (e) => e.getBoundingClientRect().right > window.innerWidth + 1);
  const outermost = past.filter((e) => !past.includes(e.parentElement)).slice(0, 5);
  return outermost.map((e) => `${e.tagName.toLowerCase()}.${e.className} `
    + `(${Math.round(e.getBoundingClientRect().right)} px)`);
}"""


@dataclass(frozen=True)
class Live:
    base: str
    database: Path
    inbox: Inbox


@dataclass(frozen=True)
class Persona:
    """One investor's journey: who registers, what they type, and the words each page
    should show them in their language."""

    lang: str
    locale: str
    organisation: str
    investor_type: str
    country: str
    name: str
    email: str
    ticket: tuple[str, str]  # as typed
    ticket_stored: tuple[str, str]  # as the form shows it once saved
    sectors: tuple[str, ...]
    regions: tuple[str, ...]
    models: tuple[str, ...]
    stages: tuple[str, ...]
    interest_in: str  # the listing they show interest in
    compare_with: str  # a second listing for the shortlist
    message: str
    contact: str
    city: str  # the organisation of the listing's city
    city_email: str
    alert: str
    new_listing: dict[str, Any]
    words: dict[str, str] = field(default_factory=dict)


FUND = Persona(
    lang="en",
    locale="en-GB",
    organisation="Rhine Mobility Partners",
    investor_type="fund",
    country="DE",
    name="Anna Becker",
    email="anna@rhine-mobility.example",
    ticket=("50M", "2 พันล้าน"),
    ticket_stored=("50,000,000", "2,000,000,000"),
    sectors=("electric-mobility", "public-transport"),
    regions=("northeast",),
    models=("concession", "bot", "ppp"),
    stages=("feasibility-done", "ready-for-investment", "tendering"),
    interest_in="udon-thani-electric-feeder-bus",
    compare_with="khon-kaen-electric-city-bus",
    message="We would like to discuss the concession terms and the depot site.",
    contact="Anna Becker, +49 30 1234 5678",
    city="udon-thani-development",
    city_email="staff@udon-thani.example",
    alert="Electric mobility in the Northeast",
    new_listing={
        "slug": "udon-thani-electric-tuk-tuk-fleet",
        "kind": "infrastructure",
        "sector": "electric-mobility",
        "city": "udon-thani",
        "stage": "feasibility-done",
        "title_th": "กองรถตุ๊กตุ๊กไฟฟ้าและอู่ชาร์จ อุดรธานี",
        "title_en": "Electric tuk-tuk fleet and charging depot, Udon Thani",
        "summary_th": "รถตุ๊กตุ๊กไฟฟ้า 200 คันพร้อมอู่ชาร์จใกล้สถานีรถไฟอุดรธานี",
        "summary_en": "200 electric tuk-tuks and a charging depot near Udon Thani station.",
        "capital_min_thb": 120_000_000,
        "capital_max_thb": 200_000_000,
        "investment_models": ["concession", "bot"],
        "contacts": [{"name": "คุณวิภาวรรณ ศรีสุข", "role": "Investment officer"}],
        "how_to_invest": [
            {
                "title_th": "ยื่นข้อเสนอร่วมลงทุนต่อเทศบาล",
                "title_en": "Submit a joint-investment proposal to the municipality",
                "office": "บริษัท อุดรธานีพัฒนาเมือง จำกัด",
                "typical_days": 30,
                "last_verified": "2026-11-01",
            }
        ],
    },
    words={
        "register": "Join as an investor",
        "welcome": "Welcome. Tell cities what you look for",
        "unconfirmed": "Please confirm your e-mail address",
        "confirmed": "Your e-mail address is confirmed",
        "home": "Your workplace",
        "profile_saved": "Your profile is saved",
        "live_count": r"(\d+) published listings pass your hard limits; (\d+) of them",
        "matches": "Your matches",
        "widen": "What would widen the list",
        "widen_by": r": \+\d+ listings?\b",
        "score": "Score",
        "saved_created": "Search saved.",
        "saved_updated": "Saved search updated",
        "daily": "Daily",
        "saved_searches": "Saved searches",
        "shortlist": "My shortlist",
        "compare": "Compare listings",
        "interest_sent": "The city has your interest",
        "new": "New",
        "lead_saved": "Lead saved",
        "meeting": "Meeting",
        "interests": "Your interests",
    },
)

SME = Persona(
    lang="th",
    locale="th-TH",
    organisation="บริษัท อีสานวิ่งไฟฟ้า จำกัด",
    investor_type="sme",
    country="TH",
    name="สมชาย ใจดี",
    email="somchai@isan-ev.example",
    ticket=("3 ล้าน", "15,000,000"),
    ticket_stored=("3,000,000", "15,000,000"),
    sectors=("electric-mobility",),
    regions=("northeast",),
    models=("franchise", "joint-venture", "equity"),
    stages=("idea", "pre-feasibility", "feasibility-done", "ready-for-investment"),
    interest_in="khon-kaen-ev-motorcycle-battery-swap",
    compare_with="khon-kaen-ev-fast-charging",
    message="สนใจเปิดสถานีสลับแบตเตอรี่ 3 จุดแรกใกล้มหาวิทยาลัย",
    contact="สมชาย 081-234-5678",
    city="khon-kaen-development",
    city_email="staff@khon-kaen.example",
    alert="ยานยนต์ไฟฟ้าในขอนแก่น",
    new_listing={
        "slug": "khon-kaen-e-bike-rental",
        "kind": "trade",
        "sector": "electric-mobility",
        "city": "khon-kaen",
        "stage": "pre-feasibility",
        "title_th": "จุดให้เช่าจักรยานไฟฟ้ารอบบึงแก่นนคร ขอนแก่น",
        "title_en": "Electric bicycle rental around Bueng Kaen Nakhon, Khon Kaen",
        "summary_th": "จักรยานไฟฟ้าให้เช่า 120 คันพร้อมจุดชาร์จ 12 จุดรอบบึงแก่นนคร",
        "summary_en": "120 rental e-bikes and 12 charging points around Bueng Kaen Nakhon.",
        "capital_min_thb": 5_000_000,
        "capital_max_thb": 12_000_000,
        "investment_models": ["franchise", "equity"],
        "contacts": [{"name": "คุณประเสริฐ แก้วมณี", "role": "เจ้าหน้าที่ส่งเสริมการลงทุน"}],
        "how_to_invest": [
            {
                "title_th": "ขออนุญาตใช้พื้นที่สาธารณะรอบบึงแก่นนคร",
                "title_en": "Apply to use the public space around Bueng Kaen Nakhon",
                "office": "เทศบาลนครขอนแก่น",
                "typical_days": 20,
                "last_verified": "2026-11-01",
            }
        ],
    },
    words={
        "register": "สมัครเป็นนักลงทุน",
        "welcome": "ยินดีต้อนรับ บอกเมืองว่าคุณมองหาอะไร",
        "unconfirmed": "กรุณายืนยันอีเมล",
        "confirmed": "ยืนยันอีเมลของคุณแล้ว",
        "home": "พื้นที่ทำงานของคุณ",
        "profile_saved": "บันทึกโปรไฟล์แล้ว",
        "live_count": r"โครงการที่เผยแพร่ (\d+) โครงการผ่านเงื่อนไขของคุณ ในจำนวนนี้ (\d+) โครงการ",
        "matches": "โครงการที่เหมาะกับคุณ",
        "widen": "สิ่งที่จะทำให้พบโครงการมากขึ้น",
        "widen_by": r": เพิ่มอีก \d+ โครงการ",
        "score": "คะแนน",
        "saved_created": "บันทึกการค้นหาแล้ว",
        "saved_updated": "แก้ไขการค้นหาที่บันทึกไว้แล้ว",
        "daily": "ทุกวัน",
        "saved_searches": "การค้นหาที่บันทึกไว้",
        "shortlist": "โครงการที่คัดไว้",
        "compare": "เปรียบเทียบโครงการ",
        "interest_sent": "เมืองได้รับความสนใจของคุณแล้ว",
        "new": "ใหม่",
        "lead_saved": "บันทึกข้อมูลผู้สนใจแล้ว",
        "meeting": "นัดประชุม",
        "interests": "ความสนใจของคุณ",
    },
)


# --- the server, its mail, the cities' people ---------------------------------------------


def mail_to(inbox: Inbox, address: str, containing: str, timeout: float = 30) -> str:
    """The text of the first message to ``address`` that contains ``containing``, waiting
    for it (the server's job runner sends mail a moment after the request)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for index, message in enumerate(list(inbox.messages)):
            if address in str(message["To"]) and containing in (text := inbox.text_of(index)):
                return text
        time.sleep(0.2)
    sent = [(str(m["To"]), str(m["Subject"])) for m in inbox.messages]
    pytest.fail(f"no e-mail to {address} containing {containing!r} in {timeout} s; sent: {sent}")


def token_in(text: str, path: str) -> str:
    found = re.search(rf"{re.escape(path)}/([A-Za-z0-9_-]+)", text)
    assert found, f"no {path} link in: {text}"
    return found.group(1)


def _city_people(base: str, env: dict[str, str], inbox: Inbox) -> None:
    """The first admin (from the command line) invites one person of each city the
    journeys meet; each sets a password from the invitation the server e-mails."""
    admin_token = admin_invitation(env, email=ADMIN_EMAIL)
    done = httpx.post(f"{base}/v1/invitations/{admin_token}", json={"password": ADMIN_PASSWORD})
    assert done.status_code == 200, done.text
    admin = httpx.post(
        f"{base}/v1/sessions", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    as_admin = {"Authorization": f"Bearer {admin.json()['token']}"}
    for persona in (FUND, SME):
        invited = httpx.post(
            f"{base}/v1/organisations/{persona.city}/invitations",
            json={"email": persona.city_email, "owner": True},
            headers=as_admin,
        )
        assert invited.status_code in (200, 201), invited.text
        token = token_in(mail_to(inbox, persona.city_email, "/invitations/"), "/invitations")
        accepted = httpx.post(f"{base}/v1/invitations/{token}", json={"password": CITY_PASSWORD})
        assert accepted.status_code == 200, accepted.text


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """The seeded app on a real port, sending mail to an SMTP server of the test and
    looking for due digests every half second."""
    root = tmp_path_factory.mktemp("investor-journey")
    with smtp_server() as (smtp_url, inbox):
        env = environment(
            root,
            CITYDEAL_SEARCH_SYNC_SECONDS="0.5",
            CITYDEAL_SMTP_URL=smtp_url,
            CITYDEAL_DIGEST_CHECK_SECONDS="0.5",
            CITYDEAL_JOBS_POLL_SECONDS="0.2",
        )
        seed(env)
        with serve(env, root, ready=_has_seed_results) as base:
            _city_people(base, env, inbox)
            yield Live(base=base, database=root / "live.db", inbox=inbox)


# --- what each step checks ----------------------------------------------------------------


def check_page(page: Any, persona: Persona, name: str, *, axe: bool = True) -> None:
    """A screenshot; on a Thai page, no English value shows; axe-core finds nothing."""
    if persona.lang == "th":
        assert english_values_in(visible(page.content())) == set(), f"English on {name}"
    width = page.viewport_size["width"]
    if axe:
        assert_no_axe_violations(page, f"{name}, {persona.lang}, {width} px")
    shot(page, f"investor-{persona.lang}-{width}-{name}")


def say(page: Any, selector: str) -> str:
    text: str = page.locator(selector).first.inner_text()
    return " ".join(text.split())


def publish(base: str, persona: Persona) -> dict[str, Any]:
    """The city publishes a new listing over the API, signed in as its person."""
    signed_in = httpx.post(
        f"{base}/v1/sessions", json={"email": persona.city_email, "password": CITY_PASSWORD}
    )
    assert signed_in.status_code == 201, signed_in.text
    auth = {"Authorization": f"Bearer {signed_in.json()['token']}"}
    body = listing_payload(**persona.new_listing, smart_block=None)
    created = httpx.post(f"{base}/v1/listings", json=body, headers=auth, timeout=20)
    assert created.status_code == 201, created.text
    url = f"{base}/v1/listings/{body['slug']}"
    etag = httpx.get(url, headers=auth).headers["ETag"]
    published = httpx.post(f"{url}/publish", headers=auth | {"If-Match": etag}, timeout=20)
    assert published.status_code == 200, published.text
    return body


def feed_links(feed_url: str) -> list[str]:
    answer = httpx.get(feed_url, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(answer.content)
    return [
        link.attrib["href"]
        for entry in feed.iter(f"{ATOM}entry")
        for link in entry.iter(f"{ATOM}link")
    ]


def a_day_passes(database: Path, *, saved_id: int, slug: str) -> None:
    """How the test lets a day pass: it moves the times the digest reads a day back in the
    live server's SQLite file. The saved search's last digest (set when the daily digest
    was turned on) becomes a day old, so the digest is due; the new listing's publication
    moves back with it, since a digest covers listings published up to a few minutes
    before it is sent (``matching.alerts.SETTLE``: every search replica has them by then)."""
    moves = (
        ("saved_search", "last_digest_at", "id", saved_id),
        ("listing", "published_at", "slug", slug),
    )
    with closing(sqlite3.connect(database, timeout=10)) as db, db:
        for table, column, key, value in moves:
            row = db.execute(f"SELECT {column} FROM {table} WHERE {key} = ?", (value,)).fetchone()
            assert row is not None
            assert row[0], f"{table}.{column} of {value} is empty"
            earlier = datetime.fromisoformat(row[0]) - timedelta(days=1)
            db.execute(
                f"UPDATE {table} SET {column} = ? WHERE {key} = ?",
                (earlier.strftime("%Y-%m-%d %H:%M:%S.%f"), value),
            )


# --- the journey ----------------------------------------------------------------------------


def register(page: Any, base: str, persona: Persona, inbox: Inbox) -> None:
    words = persona.words
    page.goto(f"{base}/register?lang={persona.lang}")
    assert say(page, "h1") == words["register"]
    page.set_viewport_size(PHONE)
    check_page(page, persona, "1-register")
    page.set_viewport_size(DESKTOP)
    check_page(page, persona, "1-register")
    page.fill("#organisation_name", persona.organisation)
    page.select_option("#investor_type", persona.investor_type)
    page.select_option("#home_country", persona.country)
    page.fill("#name", persona.name)
    page.fill("#email", persona.email)
    page.fill("#password", PASSWORD)
    page.fill("#password_again", PASSWORD)
    page.click("form[action='/register'] button.primary")
    page.wait_for_url("**/investor/profile?notice=welcome")
    assert words["welcome"] in say(page, "[data-testid=welcome]")
    assert words["unconfirmed"] in say(page, "[data-testid=email-unconfirmed]")

    # Digests reach confirmed addresses only: follow the link the server mailed.
    token = token_in(mail_to(inbox, persona.email, "/verify-email/"), "/verify-email")
    page.goto(f"{base}/verify-email/{token}")
    assert say(page, "h1") == words["confirmed"]
    shot(page, f"investor-{persona.lang}-1280-2-email-confirmed")


def fill_profile(page: Any, base: str, persona: Persona) -> None:
    words = persona.words
    page.goto(f"{base}/investor/profile")
    assert page.locator("[data-testid=email-unconfirmed]").count() == 0
    before = say(page, "#live-count")
    for name, values in (
        ("sectors", persona.sectors),
        ("regions", persona.regions),
        ("models", persona.models),
        ("stages", persona.stages),
    ):
        for value in values:
            page.check(f"#{name} input[value='{value}']")
    page.fill("#ticket_min_thb", persona.ticket[0])
    page.fill("#ticket_max_thb", persona.ticket[1])
    # The live count follows the form as it is typed (fetched a moment after a change).
    page.wait_for_function(
        "before => document.getElementById('live-count').innerText"
        ".replace(/\\s+/g, ' ').trim() !== before",
        arg=before,
    )
    counted = re.search(words["live_count"], say(page, "#live-count"))
    assert counted, say(page, "#live-count")
    passing, matching = int(counted.group(1)), int(counted.group(2))
    assert passing >= matching >= 1
    check_page(page, persona, "3-profile")
    page.click("button[value=save]")
    page.wait_for_url("**/investor/profile?notice=saved")
    assert say(page, "[data-testid=saved]") == words["profile_saved"]
    assert page.input_value("#ticket_min_thb") == persona.ticket_stored[0]
    assert page.input_value("#ticket_max_thb") == persona.ticket_stored[1]
    saved = re.search(words["live_count"], say(page, "#live-count"))
    assert saved, say(page, "#live-count")
    assert saved.groups() == (str(passing), str(matching))  # what was counted is what is kept


def see_matches_and_save_alert(page: Any, base: str, persona: Persona) -> tuple[int, str]:
    """The ranked matches with reasons and what would widen them; saved as an alert with
    a daily digest. Returns the saved search's id and its feed address."""
    words = persona.words
    page.goto(f"{base}/investor/matches")
    assert say(page, "h1") == words["matches"]
    mine = page.locator(
        "[data-testid=match]", has=page.locator(f"a[href='/listings/{persona.interest_in}']")
    )
    assert mine.count() == 1, f"{persona.interest_in} is not among the matches"
    assert say(mine, "[data-testid=score]").startswith(words["score"])
    assert mine.locator("ul li").count() >= 2  # the reasons
    if persona.lang == "th":
        assert re.search("[\u0e00-\u0e7f]", mine.locator("ul").inner_text())  # reasons in Thai
    widen = page.locator("[data-testid=widenings]")
    assert say(widen, "h2") == words["widen"]
    assert re.search(words["widen_by"], widen.inner_text())
    check_page(page, persona, "4-matches")

    if persona.lang == "en":
        # "My matches above score X", from the matches page: the profile is the alert.
        page.fill("#save-matches-name", persona.alert)
        page.click("[data-testid=save-matches] button[type=submit]")
    else:
        # A catalogue search (words and filters), from the catalogue's "Save this search".
        page.goto(f"{base}/?lang=th")
        page.fill("#q", "ไฟฟ้า")
        page.locator("#q").press("Enter")
        page.wait_for_load_state()
        page.click("a[data-facet=sector][data-value=electric-mobility]")
        page.wait_for_url("**sector=electric-mobility**")
        page.click("a[data-facet=province][data-value='40']")
        page.wait_for_url("**province=40**")
        assert (
            page.locator(f"[data-testid=hit] a[href='/listings/{persona.interest_in}']").count()
            == 1
        )
        page.locator("details.save-search summary").click()
        page.fill("#save-search-name", persona.alert)
        shot(page, "investor-th-1280-5-catalogue-save-search")
        page.click("[data-testid=save-search] button[type=submit]")
    page.wait_for_url("**/saved-searches?notice=saved_search_created*")
    assert say(page, "[data-testid=notice]").startswith(words["saved_created"])
    card = page.locator("[data-testid=saved-search]", has_text=persona.alert)
    assert card.count() == 1
    saved_id = int(card.get_attribute("id").removeprefix("saved-"))
    page.select_option(f"#frequency-{saved_id}", "daily")
    card.locator(f"form[action='/saved-searches/{saved_id}'] button.primary").click()
    page.wait_for_url("**/saved-searches?notice=saved_search_updated*")
    assert say(page, "[data-testid=notice]") == words["saved_updated"]
    chosen = page.locator(f"#frequency-{saved_id} option:checked")
    assert " ".join(chosen.inner_text().split()) == words["daily"]
    feed_url = card.locator("[data-testid=feed-url]").input_value()
    assert feed_url.startswith(f"{base}/feeds/")
    assert say(page, "h1") == words["saved_searches"]
    check_page(page, persona, "6-saved-searches")
    return saved_id, feed_url


def shortlist_and_interest(page: Any, base: str, persona: Persona) -> None:
    words = persona.words
    page.goto(f"{base}/listings/{persona.compare_with}")
    page.click("[data-testid=add-to-shortlist]")
    page.wait_for_selector("[data-testid=on-shortlist]")

    page.goto(f"{base}/investor/matches")
    page.click(f"[data-testid=match] a[href='/listings/{persona.interest_in}']")
    page.wait_for_url(f"**/listings/{persona.interest_in}")
    page.click("[data-testid=add-to-shortlist]")
    page.wait_for_selector("[data-testid=on-shortlist]")
    page.fill("#interest-message", persona.message)
    assert page.input_value("#interest-contact") == persona.email  # the form starts with it
    page.fill("#interest-contact", persona.contact)
    shot(page, f"investor-{persona.lang}-1280-7-interest-form")
    page.click("[data-testid=express-interest]")
    page.wait_for_url("**notice=interest_sent*")
    assert words["interest_sent"] in say(page, "[data-testid=interest]")
    assert say(page, "[data-testid=interest-status] strong") == words["new"]
    shot(page, f"investor-{persona.lang}-1280-8-interest-sent")

    page.goto(f"{base}/shortlist")
    assert say(page, "h1") == words["shortlist"]
    for slug in (persona.interest_in, persona.compare_with):
        page.check(f"#pick-{slug}")
    check_page(page, persona, "9-shortlist")
    page.click("[data-testid=compare-ticked]")
    page.wait_for_url("**/compare?**")
    assert say(page, "h1") == words["compare"]
    assert page.locator("[data-testid=compared-listing]").count() == 2
    check_page(page, persona, "10-compare")


def city_moves_it_to_meeting(browser: Any, base: str, persona: Persona) -> None:
    """The city's person signs in, finds the lead on the dashboard, sets it to meeting."""
    context = browser.new_context(viewport=DESKTOP, locale=persona.locale)
    city = context.new_page()
    city.goto(f"{base}/signin?lang={persona.lang}")
    city.fill("#email", persona.city_email)
    city.fill("#password", CITY_PASSWORD)
    city.locator("#password").press("Enter")
    city.wait_for_url("**/dashboard")
    lead = city.locator("tr[data-testid=lead]", has_text=persona.message)
    assert lead.count() == 1
    assert persona.contact in lead.inner_text()
    assert persona.organisation in lead.inner_text()
    lead.locator("select").select_option("meeting")
    lead.locator("button").click()
    city.wait_for_url("**notice=lead_saved*")
    assert persona.words["lead_saved"] in say(city, "[role=status]")
    lead = city.locator("tr[data-testid=lead]", has_text=persona.message)
    assert lead.locator("select").input_value() == "meeting"
    shot(city, f"investor-{persona.lang}-1280-11-city-sets-meeting")
    context.close()


def new_listing_in_feed_and_digest(
    page: Any, live: Live, persona: Persona, saved_id: int, feed_url: str
) -> None:
    base = live.base
    new = publish(base, persona)
    wanted = f"{base}/listings/{new['slug']}"
    deadline = time.monotonic() + 30  # the search replica and the matrix catch up in seconds
    while wanted not in (links := feed_links(feed_url)):
        assert time.monotonic() < deadline, f"{wanted} never reached the feed: {links}"
        time.sleep(0.5)
    assert links[0] == wanted  # newest first

    page.goto(f"{base}/saved-searches")
    card = page.locator(f"#saved-{saved_id}")
    flag = say(card, "[data-testid=new-count]")
    assert re.findall(r"\d+", flag) == ["1"], flag  # only the new listing
    assert persona.words["new"].lower() in flag.lower()
    check_page(page, persona, "13-saved-searches-new")
    card.locator("h2 a").click()
    page.wait_for_url(f"**/saved-searches/{saved_id}")
    flagged = page.locator("[data-testid=saved-hit][data-new=true]")
    assert [flagged.nth(i).get_attribute("data-slug") for i in range(flagged.count())] == [
        new["slug"]
    ]
    check_page(page, persona, "13-saved-search")

    a_day_passes(live.database, saved_id=saved_id, slug=new["slug"])
    digest = mail_to(live.inbox, persona.email, f"/listings/{new['slug']}", timeout=30)
    assert new["title_th"] in digest
    assert new["title_en"] in digest
    assert persona.alert in digest
    assert persona.interest_in not in digest  # published long before the alert


@pytest.mark.parametrize("persona", [FUND, SME], ids=["en-foreign-fund", "th-thai-sme"])
def test_investor_journey(browser: Any, live: Live, persona: Persona) -> None:
    base = live.base
    context = browser.new_context(viewport=DESKTOP, locale=persona.locale)
    page = context.new_page()
    register(page, base, persona, live.inbox)
    fill_profile(page, base, persona)
    saved_id, feed_url = see_matches_and_save_alert(page, base, persona)
    shortlist_and_interest(page, base, persona)

    city_moves_it_to_meeting(browser, base, persona)
    page.goto(f"{base}/investor/interests")
    assert say(page, "h1") == persona.words["interests"]
    mine = page.locator(
        "tr[data-testid=my-interest]",
        has=page.locator(f"a[href='/listings/{persona.interest_in}']"),
    )
    assert say(mine, "[data-testid=interest-status]") == persona.words["meeting"]
    check_page(page, persona, "12-interests-meeting")
    page.goto(f"{base}/investor")
    assert say(page, "h1").startswith(persona.words["home"])
    assert persona.words["meeting"] in page.locator("main").inner_text()
    check_page(page, persona, "12-home")

    new_listing_in_feed_and_digest(page, live, persona, saved_id, feed_url)

    # Every page of the workplace on a phone, as it stands at the end of the journey.
    page.set_viewport_size(PHONE)
    compare = f"/compare?listing={persona.interest_in}&listing={persona.compare_with}"
    for path, name in (
        ("/investor", "home"),
        ("/investor/profile", "profile"),
        ("/investor/matches", "matches"),
        ("/investor/interests", "interests"),
        ("/saved-searches", "saved-searches"),
        (f"/saved-searches/{saved_id}", "saved-search"),
        ("/shortlist", "shortlist"),
        (compare, "compare"),
    ):
        page.goto(base + path)
        wide = page.evaluate(WIDER_THAN_THE_SCREEN)
        assert not wide, f"{path} runs off the side at 390 px: {wide}"
        check_page(page, persona, f"14-phone-{name}")
    context.close()
