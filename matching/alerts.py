"""Saved searches and their alerts. A person keeps a catalogue view (words and filters)
or an investor profile's matches above a score, under a name; listings published since
the person last looked are flagged new; each saved search has a secret Atom feed; and,
when the app sends mail, a daily or weekly digest of what is new.

Digests are scheduled by every process, about once a minute (``schedule_digests``): a
due search is claimed with one conditional UPDATE of its ``last_digest_at``, in the
transaction that defers its send job, so each digest is claimed once whatever the number
of processes and hosts, and the job queue runs its job once (``send_digest``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from feedgenerator import Atom1Feed
from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from catalog.accounts.models import Person
from catalog.geography import place_names
from catalog.models import SmartBlock
from catalog.readmodel import published_summaries
from catalog.schemas import ListingSummary, SearchParams
from catalog.search.base import SearchFilters, SearchIndex, SearchQuery, SearchUnavailable
from catalog.search.semantic import Vector
from core.db import Database, utcnow
from core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    SearchIndexUnavailable,
)
from core.jobs import JobContext, JobQueue
from core.mail import Mail
from core.principal import Principal
from core.settings import ScoringSettings
from matching.access import ensure_own_saved_search, ensure_saver, may_follow_profile
from matching.matrix import MatrixStore
from matching.models import InvestorProfile, SavedSearch
from matching.ranking import preferences
from matching.schemas import (
    DigestFrequency,
    SavedListing,
    SavedSearchCreate,
    SavedSearchKind,
    SavedSearchListings,
    SavedSearchPublic,
    SavedSearchUpdate,
)
from matching.scoring import score_listings, top_k

MAX_LISTINGS = 100  # of a saved search: the first of its results, shown newest first
MAX_SAVED_PER_PERSON = 50
SEND_DIGEST = "alerts.send_digest"
PERIODS = {DigestFrequency.daily: timedelta(days=1), DigestFrequency.weekly: timedelta(days=7)}
# A digest covers listings published up to a few minutes before it was claimed: by then
# every process's search replica has taken them in (the followers catch up in seconds),
# so no listing falls between two digests. The windows follow one another exactly.
SETTLE = timedelta(minutes=5)
SCHEDULE_BATCH = 500
# The date in the tag: URIs that identify feeds and entries (RFC 4151): never change it.
TAG_DATE = "2026"
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Sources:
    """Where a saved search's listings come from: the search index (kind search: as the
    catalogue finds them) and the matching matrix (kind matches)."""

    search: SearchIndex
    matrices: MatrixStore
    scoring: ScoringSettings
    embed: Callable[[str], Vector] | None = None


@dataclass(frozen=True)
class Found:
    listing: ListingSummary
    score: float | None  # kind matches: the profile's score of the listing


# --- keeping saved searches ---------------------------------------------------------------


def new_feed_token() -> str:
    return secrets.token_urlsafe(32)  # 256 random bits, 43 characters


def stored_params(params: SearchParams) -> dict[str, Any]:
    """What is kept of a catalogue query: what differs from the defaults, without paging."""
    return params.model_dump(mode="json", exclude_defaults=True, exclude={"limit", "offset"})


def catalogue_params(saved: SavedSearch) -> SearchParams:
    return SearchParams.model_validate(saved.params)


def _default_min_score(profile: InvestorProfile, threshold: float) -> float:
    return profile.min_score if profile.min_score is not None else threshold


def _check_places(session: Session, params: SearchParams) -> None:
    """A saved query names places that exist (a typo would match nothing, forever)."""
    provinces, cities = place_names(session)
    if params.province and params.province not in provinces:
        raise InvalidInput(f"unknown province '{params.province}'", field="params.province")
    if params.city and params.city not in cities:
        raise InvalidInput(f"unknown city '{params.city}'", field="params.city")
    if (
        params.smart_block
        and not session.exec(
            select(SmartBlock.id).where(SmartBlock.slug == params.smart_block)
        ).first()
    ):
        raise InvalidInput(
            f"unknown smart block '{params.smart_block}'", field="params.smart_block"
        )


def create_saved_search(
    session: Session, *, principal: Principal, data: SavedSearchCreate, threshold: float
) -> SavedSearch:
    """Save a catalogue query, or a profile's matches from a score up (``threshold``, the
    matching threshold, when neither the request nor the profile names one)."""
    person_id = ensure_saver(principal)
    count = session.exec(
        select(func.count(col(SavedSearch.id))).where(SavedSearch.person_id == person_id)
    ).one()
    if count >= MAX_SAVED_PER_PERSON:
        raise Conflict(
            f"at most {MAX_SAVED_PER_PERSON} saved searches a person: delete one first",
            field="name",
        )
    params: dict[str, Any] = {}
    min_score: float | None = None
    if data.kind is SavedSearchKind.search:
        for name in ("profile_id", "min_score"):
            if getattr(data, name) is not None:
                raise InvalidInput(f"{name} is for kind 'matches' only", field=name)
        _check_places(session, data.params)
        params = stored_params(data.params)
    else:
        if stored_params(data.params):
            raise InvalidInput("params are for kind 'search' only", field="params")
        if data.profile_id is None:
            raise InvalidInput("kind 'matches' needs the profile_id it follows", field="profile_id")
        profile = session.get(InvestorProfile, data.profile_id)
        if profile is None or not may_follow_profile(principal, profile):
            raise InvalidInput(
                f"no investor profile {data.profile_id} of your organisation", field="profile_id"
            )
        min_score = (
            data.min_score if data.min_score is not None else _default_min_score(profile, threshold)
        )
    now = utcnow()
    saved = SavedSearch(
        person_id=person_id,
        name=data.name,
        kind=data.kind.value,
        params=params,
        profile_id=data.profile_id if data.kind is SavedSearchKind.matches else None,
        min_score=min_score,
        feed_token=new_feed_token(),
        frequency=data.frequency.value,
        last_seen_at=now,
        # The first digest comes one period after the alert is turned on.
        last_digest_at=now if data.frequency is not DigestFrequency.none else None,
        created_at=now,
    )
    session.add(saved)
    session.flush()
    return saved


def list_saved_searches(session: Session, *, principal: Principal) -> list[SavedSearch]:
    """The person's own saved searches, newest first."""
    person_id = ensure_saver(principal)
    return list(
        session.exec(
            select(SavedSearch)
            .where(SavedSearch.person_id == person_id)
            .order_by(col(SavedSearch.created_at).desc(), col(SavedSearch.id).desc())
        )
    )


def get_saved_search(session: Session, *, saved_id: int, principal: Principal) -> SavedSearch:
    """One of the person's saved searches; 404 for anyone else's."""
    return ensure_own_saved_search(session.get(SavedSearch, saved_id), principal, saved_id)


def find_by_feed_token(session: Session, *, token: str) -> SavedSearch:
    saved = session.exec(select(SavedSearch).where(SavedSearch.feed_token == token)).first()
    if saved is None:
        raise NotFound("no such feed", field="token")
    return saved


def _claim_version(session: Session, saved: SavedSearch, expected_version: int) -> None:
    """Move the saved search to its next version only from ``expected_version`` (412
    otherwise, and nothing changes): the conditional UPDATE is the guard."""
    if saved.version != expected_version:
        raise PreconditionFailed(
            f"saved search is at version {saved.version}, not {expected_version}",
            field="If-Match",
            current_version=saved.version,
        )
    claimed = session.execute(
        update(SavedSearch)
        .where(col(SavedSearch.id) == saved.id, col(SavedSearch.version) == expected_version)
        .values(version=expected_version + 1)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise PreconditionFailed("saved search was changed meanwhile", field="If-Match")
    session.expire(saved, ["version"])


def update_saved_search(
    session: Session,
    *,
    saved: SavedSearch,
    data: SavedSearchUpdate,
    expected_version: int,
    threshold: float,
) -> SavedSearch:
    """Rename, change the digest's frequency or (kind matches) the minimum score."""
    changes = data.model_dump(exclude_unset=True)
    if "min_score" in changes and saved.kind != SavedSearchKind.matches:
        raise InvalidInput("min_score is for kind 'matches' only", field="min_score")
    _claim_version(session, saved, expected_version)
    if "name" in changes:
        saved.name = changes["name"]
    if "frequency" in changes:
        frequency = DigestFrequency(changes["frequency"])
        if saved.frequency == DigestFrequency.none and frequency is not DigestFrequency.none:
            saved.last_digest_at = utcnow()  # the first digest one period from now
        saved.frequency = frequency.value
    if "min_score" in changes:
        min_score = changes["min_score"]
        if min_score is None:
            profile = session.get(InvestorProfile, saved.profile_id)
            assert profile is not None  # the saved search goes with its profile
            min_score = _default_min_score(profile, threshold)
        saved.min_score = min_score
    session.add(saved)
    session.flush()
    return saved


def rotate_feed_token(session: Session, *, saved: SavedSearch, expected_version: int) -> None:
    """A new secret feed URL; the old one stops working at once."""
    _claim_version(session, saved, expected_version)
    saved.feed_token = new_feed_token()
    session.add(saved)
    session.flush()


def delete_saved_search(session: Session, *, saved: SavedSearch, expected_version: int) -> None:
    _claim_version(session, saved, expected_version)
    session.delete(saved)
    session.flush()


def mark_seen(session: Session, *, saved_id: int, at: datetime | None = None) -> None:
    """Listings published up to ``at`` (now by default, never later) are no longer new.
    Where the person is in the list, not an edit: the version stays, and an older mark
    never moves it back. (By id: a page marks what it showed in a short unit of work of
    its own, after reading.)"""
    now = utcnow()
    at = min(at, now) if at is not None else now
    session.execute(
        update(SavedSearch)
        .where(col(SavedSearch.id) == saved_id, col(SavedSearch.last_seen_at) < at)
        .values(last_seen_at=at)
        .execution_options(synchronize_session=False)
    )


# --- what a saved search finds ------------------------------------------------------------


def listings_of(session: Session, saved: SavedSearch, sources: Sources) -> list[Found]:
    """The listings a saved search finds now, newest published first: the first
    ``MAX_LISTINGS`` results of its catalogue query (ranked as the catalogue ranks them),
    or the profile's best matches scoring at least its ``min_score``."""
    found = (
        _matches(session, saved, sources)
        if saved.kind == SavedSearchKind.matches
        else _search_results(session, saved, sources)
    )
    return sorted(
        found, key=lambda f: (f.listing.published_at or _EPOCH, f.listing.id), reverse=True
    )


def _search_results(session: Session, saved: SavedSearch, sources: Sources) -> list[Found]:
    params = catalogue_params(saved)
    query = SearchQuery(
        text=params.q,
        filters=SearchFilters(
            **params.model_dump(include=set(SearchFilters.__dataclass_fields__), mode="json")
        ),
        sort=params.sort,
        limit=MAX_LISTINGS,
        facets=False,
        embed=sources.embed if params.q else None,
    )
    try:
        result = sources.search.search(query)
    except SearchUnavailable as exc:
        raise SearchIndexUnavailable(
            "search is temporarily unavailable; try again shortly"
        ) from exc
    return [
        Found(listing, None)
        for listing in published_summaries(session, [hit.id for hit in result.hits])
    ]


def _matches(session: Session, saved: SavedSearch, sources: Sources) -> list[Found]:
    profile = session.get(InvestorProfile, saved.profile_id)
    if profile is None:
        return []
    matrix = sources.matrices.matrix(session)
    if not len(matrix):
        return []
    scored = score_listings(matrix, preferences(profile), sources.scoring)
    shown = np.round(scored.score, 2)  # as the rankings show them
    rows = top_k(scored, matrix.ids, shown >= (saved.min_score or 0.0), MAX_LISTINGS, 0)
    scores = {matrix.rows[i].id: float(shown[i]) for i in rows}
    return [
        Found(listing, scores[listing.id]) for listing in published_summaries(session, list(scores))
    ]


def is_new(found: Found, since: datetime) -> bool:
    published = found.listing.published_at
    return published is not None and published > since


def listings_public(
    found: Sequence[Found], *, since: datetime, as_of: datetime
) -> SavedSearchListings:
    data = [SavedListing(listing=f.listing, score=f.score, new=is_new(f, since)) for f in found]
    return SavedSearchListings(
        data=data,
        count=len(data),
        new_count=sum(item.new for item in data),
        last_seen_at=since,
        as_of=as_of,
    )


def feed_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/feeds/{token}.atom"


def saved_search_public(saved: SavedSearch, *, base_url: str) -> SavedSearchPublic:
    return SavedSearchPublic(
        id=saved.id or 0,
        name=saved.name,
        kind=SavedSearchKind(saved.kind),
        params=saved.params,
        profile_id=saved.profile_id,
        min_score=saved.min_score,
        frequency=DigestFrequency(saved.frequency),
        feed_url=feed_url(base_url, saved.feed_token),
        last_seen_at=saved.last_seen_at,
        last_digest_at=saved.last_digest_at,
        version=saved.version,
        created_at=saved.created_at,
    )


# --- the feed -----------------------------------------------------------------------------


def _xml_text(text: str) -> str:
    """Text XML 1.0 can carry (escaping is the feed writer's; this drops the few code
    points no XML document may contain)."""
    return _NOT_XML.sub("", text)


def _both(th: str, en: str) -> str:
    """Thai, then English when there is English that differs."""
    return f"{th} / {en}" if en and en != th else th or en


def atom_feed(saved: SavedSearch, found: Sequence[Found], *, base_url: str) -> bytes:
    """The saved search as an Atom 1.0 feed (RFC 4287): newest published first, each
    entry linking to its pitch page, identified by a tag: URI that never changes."""
    base = base_url.rstrip("/")
    authority = urlsplit(base).hostname or "citydeal"
    feed = Atom1Feed(
        title=_xml_text(f"citydeal: {saved.name}"),
        link=f"{base}/saved-searches/{saved.id}",
        description="รายการใหม่ในการค้นหาที่บันทึกไว้ / New listings of a saved search",
        language="th",
        author_name="citydeal",
        feed_url=feed_url(base, saved.feed_token),
        feed_guid=f"tag:{authority},{TAG_DATE}:saved-search/{saved.id}",
    )
    for item in found:
        listing = item.listing
        published = listing.published_at or saved.created_at
        feed.add_item(
            title=_xml_text(_both(listing.title_th, listing.title_en)),
            link=f"{base}/listings/{listing.slug}",
            # type="html": the plain text, escaped once for HTML (the writer escapes it
            # again for XML), so a reader shows it as typed.
            description=escape(_xml_text(_both(listing.summary_th, listing.summary_en))),
            unique_id=f"tag:{authority},{TAG_DATE}:listing/{listing.id}",
            pubdate=published,
            updateddate=published,
        )
    text: str = feed.writeString("utf-8")
    return text.encode("utf-8")


# --- digests ------------------------------------------------------------------------------


def _is_due(frequency: DigestFrequency, now: datetime) -> Any:
    last = col(SavedSearch.last_digest_at)
    return (col(SavedSearch.frequency) == frequency.value) & or_(
        last.is_(None), last <= now - PERIODS[frequency]
    )


def due_digests(session: Session, *, now: datetime) -> list[tuple[int, DigestFrequency, datetime]]:
    """Saved searches whose digest is due at ``now``: id, frequency, and the start of the
    period the digest covers (the last digest, else the search's creation)."""
    due = []
    for frequency in PERIODS:
        rows = session.exec(
            select(SavedSearch.id, SavedSearch.last_digest_at, SavedSearch.created_at)
            .where(_is_due(frequency, now))
            .order_by(col(SavedSearch.id))  # one order in every process: no deadlock
            .limit(SCHEDULE_BATCH)
        ).all()
        due += [(saved_id or 0, frequency, last or created) for saved_id, last, created in rows]
    return due


def claim_digest(
    session: Session, *, saved_id: int, frequency: DigestFrequency, now: datetime
) -> bool:
    """Take the digest of one saved search, if it is still due: one conditional UPDATE.
    Of several processes that saw it due, one moves ``last_digest_at``; the others match
    no row (on PostgreSQL they wait for the first's row lock, then find it moved)."""
    claimed = session.execute(
        update(SavedSearch)
        .where(col(SavedSearch.id) == saved_id, _is_due(frequency, now))
        .values(last_digest_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def schedule_digests(
    database: Database, jobs: JobQueue, *, base_url: str, now: datetime | None = None
) -> int:
    """Claim the saved searches whose digest is due and defer a send job for each, in the
    claim's transaction (a claim never commits without its job); returns how many were
    claimed. Every process calls this; each digest is claimed once. Without mail,
    nothing is scheduled."""
    if jobs.context.mailer is None:
        return 0
    now = now or utcnow()
    with database.reading() as session:  # most minutes nothing is due: take no write lock
        if not due_digests(session, now=now):
            return 0
    claimed = 0
    with database.writing() as session:
        for saved_id, frequency, since in due_digests(session, now=now):
            if not claim_digest(session, saved_id=saved_id, frequency=frequency, now=now):
                continue  # another process took it
            arguments = {
                "saved_search_id": saved_id,
                "since": (since - SETTLE).isoformat(),
                "until": (now - SETTLE).isoformat(),
                "base_url": base_url.rstrip("/"),
            }
            jobs.defer(session, SEND_DIGEST, arguments)
            claimed += 1
    return claimed


def _one_line(text: str, limit: int = 60) -> str:
    """The name on one line (a name typed with line breaks cannot break a header), cut."""
    line = " ".join(text.split())
    return line if len(line) <= limit else f"{line[: limit - 1]}…"


def digest_mail(saved: SavedSearch, fresh: Sequence[Found], *, to: str, base_url: str) -> Mail:
    """The digest: Thai first, then English, plain text, a link to each new pitch page."""
    base = base_url.rstrip("/")
    name = _one_line(saved.name)
    count = len(fresh)
    listings_en = "1 new listing" if count == 1 else f"{count} new listings"
    subject = f"citydeal: {count} รายการใหม่ใน “{name}” / {listings_en} in “{name}”"
    page = f"{base}/saved-searches/{saved.id}"

    def lines(english: bool) -> list[str]:
        found_lines = []
        for item in fresh:
            listing = item.listing
            title = (listing.title_en or listing.title_th) if english else listing.title_th
            if item.score is not None:
                score = f"{item.score:g}"
                title += f" (score {score})" if english else f" (คะแนน {score})"
            found_lines += [f"- {title}", f"  {base}/listings/{listing.slug}"]
        return found_lines

    body = "\n".join(
        [
            f"มี {count} รายการใหม่ในการค้นหาที่บันทึกไว้ “{name}”:",
            "",
            *lines(english=False),
            "",
            f"ดูการค้นหานี้: {page}",
            f"เปลี่ยนความถี่หรือหยุดรับอีเมลนี้: {base}/saved-searches",
            "",
            f"{listings_en.capitalize()} in your saved search “{name}”:",
            "",
            *lines(english=True),
            "",
            f"See this search: {page}",
            f"Change how often, or stop these e-mails: {base}/saved-searches",
            "",
        ]
    )
    return Mail(to=to, subject=subject, text=body)


def send_digest(context: JobContext, arguments: dict[str, Any], sources: Sources) -> None:
    """The job: e-mail the listings published in the digest's window, if there are any,
    to a person whose address is confirmed and whose account is active."""
    assert context.mailer is not None
    since = datetime.fromisoformat(arguments["since"])
    until = datetime.fromisoformat(arguments["until"])
    with context.database.reading() as session:
        saved = session.get(SavedSearch, int(arguments["saved_search_id"]))
        if saved is None or saved.frequency == DigestFrequency.none:
            return  # deleted, or turned off, since it was claimed
        person = session.get(Person, saved.person_id)
        if person is None or person.disabled_at is not None or person.email_verified_at is None:
            return
        fresh = [
            found
            for found in listings_of(session, saved, sources)
            if is_new(found, since) and (found.listing.published_at or since) <= until
        ]
        if not fresh:
            return
        mail = digest_mail(saved, fresh, to=person.email, base_url=arguments["base_url"])
    context.mailer.send(mail)


def register_tasks(jobs: JobQueue, sources: Callable[[], Sources]) -> None:
    """The digest job; ``sources`` gives this process's search index and matrix."""

    def send(context: JobContext, arguments: dict[str, Any]) -> None:
        send_digest(context, arguments, sources())

    jobs.register(SEND_DIGEST, send)
