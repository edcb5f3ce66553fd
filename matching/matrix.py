"""The published catalogue as a ``ListingMatrix``: what the scorer reads, derived from the
database and kept in step with the change log."""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from catalog.models import City, Listing, ListingChange, ListingModel
from catalog.search.positions import settled_position
from catalog.taxonomy import ListingStatus
from core.db import Database, utcnow
from core.errors import MatchingUnavailable
from matching.scoring import ListingMatrix, ListingRow

log = logging.getLogger(__name__)
# A request that needs the first matrix while start-up builds it waits this long, then
# gets 503 (a small catalogue is built well within it; a large one takes minutes).
FIRST_BUILD_WAIT_SECONDS = 2.0


def listing_rows(session: Session, listings: Sequence[Listing]) -> list[ListingRow]:
    """The scorer's rows of ``listings`` (a few: a splice, a variant)."""
    return _rows(session, [_columns_of(listing) for listing in listings])


_FIELDS = (
    "id",
    "slug",
    "kind",
    "sector",
    "city_id",
    "stage",
    "capital_min_thb",
    "capital_max_thb",
    "expected_irr_pct",
    "payback_years",
    "title_th",
    "title_en",
    "summary_th",
    "summary_en",
    "description_th",
    "description_en",
)
_COLUMNS: list[Any] = [getattr(Listing, name) for name in _FIELDS]


def _columns_of(listing: Listing) -> tuple[Any, ...]:
    return tuple(getattr(listing, name) for name in _FIELDS)


def published_rows(session: Session, ids: Collection[int] | None = None) -> list[ListingRow]:
    """The scorer's rows of the published catalogue (only ``ids`` when given: a splice),
    read as plain columns (no objects: a hundred thousand of them would cost seconds)."""
    query = select(*_COLUMNS).where(Listing.status == ListingStatus.published)
    if ids is not None:
        query = query.where(col(Listing.id).in_(ids))
    found = [tuple(row) for row in session.execute(query)]
    return _rows(session, found, every_published=ids is None)


def _rows(
    session: Session, found: list[tuple[Any, ...]], *, every_published: bool = False
) -> list[ListingRow]:
    provinces = dict(session.exec(select(City.id, City.province_code)).all())
    links = select(ListingModel.listing_id, ListingModel.model)
    if every_published:
        links = links.join(Listing, col(Listing.id) == col(ListingModel.listing_id)).where(
            Listing.status == ListingStatus.published
        )
    else:
        links = links.where(col(ListingModel.listing_id).in_([row[0] for row in found]))
    models: dict[int, list[str]] = {}
    for listing_id, model in session.execute(links):
        models.setdefault(listing_id, []).append(model)
    return [
        ListingRow(
            id=id_,
            slug=slug,
            kind=kind,
            sector=sector,
            province=provinces[city_id],
            stage=stage,
            models=tuple(sorted(models.get(id_, []))),
            capital_min=capital_min,
            capital_max=capital_max,
            irr=irr,
            payback=payback,
            text=" ".join(texts),
        )
        for (
            id_,
            slug,
            kind,
            sector,
            city_id,
            stage,
            capital_min,
            capital_max,
            irr,
            payback,
            *texts,
        ) in found
    ]


# Below this many published listings a full rebuild is cheap (about a millisecond per
# listing), and it keeps the vocabulary exact; above it, changes are spliced in.
SPLICE_FROM = 2_000
# A full rebuild (in the background when the store has a database of its own) after this
# share of the catalogue has been spliced, so that new words and word weights catch up.
REBUILD_SHARE = 0.1
# How many of the newest change-log entries a build looks at to know where it stands.
RECENT_ENTRIES = 1_000

Entry = tuple[int, datetime]  # a change-log entry: id, written at


@dataclass(frozen=True)
class _Position:
    """How far a matrix has read the change log, as a search replica does: every entry up
    to ``settled`` is in, and so are ``applied`` (entries above it; a gap below them may
    still fill, see ``settled_position``). ``newest`` tells a rewound log (a restore)."""

    settled: int
    applied: frozenset[int]
    newest: Entry | None


class MatrixStore:
    """The published catalogue as a ``ListingMatrix``, kept in step with the change log
    the way a search replica is: the listings of entries not applied yet are spliced in
    (``ListingMatrix.spliced``: work in proportion to the change, not the catalogue), and
    the whole matrix is rebuilt when the log was rewound (a restore), when the catalogue
    is small, or after a tenth of it has been spliced.

    With ``database`` (the app's own), builds run in a background thread: ``start`` makes
    the first at start-up (until it is there, matching answers 503 ``matching_unavailable``
    rather than holding requests for minutes), and the periodic rebuild runs while the
    spliced matrix keeps serving. Without it (tests, scripts) builds happen in the caller.

    A per-process cache of data the database holds: a second host builds its own.
    """

    def __init__(self, database: Database | None = None) -> None:
        self._database = database
        self._lock = threading.Lock()
        self._matrix: ListingMatrix | None = None
        self._position = _Position(0, frozenset(), None)
        self._building = False
        self._first_built = threading.Event()

    @property
    def ready(self) -> bool:
        """A matrix is there to serve (readiness: a host still building its first is not)."""
        return self._matrix is not None or self._database is None

    def start(self) -> None:
        """Build the first matrix in a background thread (the app's start-up)."""
        with self._lock:
            if self._matrix is None:
                self._build_in_background()

    def matrix(self, session: Session) -> ListingMatrix:
        if self._matrix is None and self._database is not None:
            self.start()  # nothing if start-up's build is running (or failed: again)
            if not self._first_built.wait(FIRST_BUILD_WAIT_SECONDS):
                raise MatchingUnavailable("the match matrix is being built; try again shortly")
        newest = _newest_entry(session)
        with self._lock:
            current, position = self._matrix, self._position
            if current is not None and newest == position.newest and not self._gap_open():
                return current
            if current is None or _rewound(position.newest, newest) or len(current) < SPLICE_FROM:
                self._install(*_build(session))
            else:
                self._follow(session, current, newest)
                if self._rebuild_due():
                    if self._database is None:
                        self._install(*_build(session))
                    else:
                        self._build_in_background()
            assert self._matrix is not None
            return self._matrix

    def _gap_open(self) -> bool:
        newest = self._position.newest
        return newest is not None and self._position.settled < newest[0]

    def _install(self, matrix: ListingMatrix, position: _Position) -> None:
        self._matrix, self._position = matrix, position
        self._first_built.set()

    def _follow(self, session: Session, current: ListingMatrix, newest: Entry | None) -> None:
        """Splice in the listings of the entries not applied yet."""
        position = self._position
        entries = session.execute(
            select(ListingChange.id, ListingChange.changed_at, ListingChange.listing_id)
            .where(col(ListingChange.id) > position.settled)
            .order_by(col(ListingChange.id))
        ).all()
        fresh = {listing_id for id_, _at, listing_id in entries if id_ not in position.applied}
        if fresh:
            self._matrix = current.spliced(fresh, published_rows(session, fresh))
        read = [(id_, at) for id_, at, _listing in entries]
        self._position = _position_after(position.settled, read, newest)

    def _rebuild_due(self) -> bool:
        matrix = self._matrix
        assert matrix is not None
        spliced = len(matrix.text.extra_row)
        return spliced > REBUILD_SHARE * len(matrix) and not self._building

    def _build_in_background(self) -> None:
        """Start a build in a thread of its own (the caller holds the lock)."""
        if self._building or self._database is None:
            return
        self._building = True
        threading.Thread(target=self._background_build, name="matrix-build", daemon=True).start()

    def _background_build(self) -> None:
        assert self._database is not None
        try:
            with self._database.reading() as session:
                built = _build(session)
            with self._lock:
                # Entries applied to the current matrix meanwhile are applied again (a
                # splice is idempotent) by the next request, from the build's position.
                self._install(*built)
        except Exception as exc:  # noqa: BLE001 - a background thread: say it, do not die
            log.warning("the match matrix could not be built (%s); a request will retry", exc)
        finally:
            with self._lock:
                self._building = False


def _newest_entry(session: Session) -> Entry | None:
    found = session.execute(
        select(ListingChange.id, ListingChange.changed_at)
        .order_by(col(ListingChange.id).desc())
        .limit(1)
    ).first()
    return None if found is None else (found[0], found[1])


def _rewound(seen: Entry | None, newest: Entry | None) -> bool:
    """The log no longer holds what was read from it: rolled back to an earlier state."""
    if seen is None:
        return False
    return newest is None or newest[0] < seen[0] or (newest[0] == seen[0] and newest != seen)


def _build(session: Session) -> tuple[ListingMatrix, _Position]:
    """The whole published catalogue, and where in the change log it stands."""
    recent = list(
        reversed(
            session.execute(
                select(ListingChange.id, ListingChange.changed_at)
                .order_by(col(ListingChange.id).desc())
                .limit(RECENT_ENTRIES)
            ).all()
        )
    )
    matrix = ListingMatrix.build(published_rows(session))
    start = recent[0][0] - 1 if recent else 0
    newest = (recent[-1][0], recent[-1][1]) if recent else None
    return matrix, _position_after(start, [(i, at) for i, at in recent], newest)


def _position_after(settled: int, entries: Sequence[Entry], newest: Entry | None) -> _Position:
    now = settled_position(settled, entries, utcnow())
    return _Position(now, frozenset(i for i, _at in entries if i > now), newest)
