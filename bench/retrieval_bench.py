"""Retrieval quality on XQuAD: Thai and English questions against Thai passages.

    python bench/retrieval_bench.py [DATA_DIR] [--limit N] [--engine-only] [--words-only]

XQuAD (github.com/deepmind/xquad, CC BY-SA 4.0) has 240 Thai paragraphs and 1,190
questions, asked in Thai and in English under the same ids. Each Thai paragraph is
published as one Thai-only listing through the catalogue services in a fresh SQLite
database; the search index is rebuilt from it, the listings' semantic vectors are
computed (``embed_all``, as ``citydeal reindex`` does; the rate is printed) and loaded
into the replica, and every question is searched for, first in the index itself
(``SearchIndex.search`` with the query embedder), then through ``/v1/search`` of the
app in-process. ``--words-only`` leaves vectors out, to compare. A question's one
relevant listing is its own paragraph. Printed: R@1, R@10, MRR@10, the share of
questions with no hits, and the query time, beside the goals.

DATA_DIR defaults to ``../shared/data/xquad`` from the repository root; without it the
script says where the files come from and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlmodel import Session  # noqa: E402

from api.main import build_services, create_app  # noqa: E402
from api.migrate import upgrade  # noqa: E402
from catalog.models import City, Organisation  # noqa: E402
from catalog.schemas import ListingCreate  # noqa: E402
from catalog.search.base import SearchIndex, SearchQuery  # noqa: E402
from catalog.search.semantic import Embedder, embed_all  # noqa: E402
from catalog.search.sync import catch_up_vectors, rebuild  # noqa: E402
from catalog.search.tantivy_engine import TantivyIndex  # noqa: E402
from catalog.service import create_listing, publish_listing  # noqa: E402
from catalog.taxonomy import (  # noqa: E402
    CityKind,
    InvestmentModel,
    ListingKind,
    Sector,
    Stage,
)
from core.db import Database, make_engine  # noqa: E402
from core.principal import OrganisationKind, Principal, Role  # noqa: E402
from core.settings import Settings  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "xquad"
FILES = {"th": "xquad.th.json", "en": "xquad.en.json"}
SOURCE = "https://github.com/deepmind/xquad (xquad.th.json, xquad.en.json; CC BY-SA 4.0)"
K = 10
TITLE_CHARS = 150  # the title is the first sentence, at most about this long
SUMMARY_CHARS = 500
TITLE_LIMIT, SUMMARY_LIMIT, DESCRIPTION_LIMIT = 200, 600, 20_000  # catalog.schemas
GOAL_MRR = {"th": 0.96, "en": 0.80}
GOAL_NO_HITS = 0.01
# Measured outside the project on this kind of machine (data README): BM25 (k1 0.9,
# b 0.4) over newmm tokens.
REFERENCE: dict[str, dict[str, float]] = {
    "th": {"R@1": 0.936, "MRR@10": 0.959},
    "en": {"MRR@10": 0.110},
}
DIRECTIONS = {"th": "Thai→Thai", "en": "English→Thai"}
# Thai text separates sentences with a space (XQuAD's translators used two).
_SENTENCE_END = re.compile(r"\s{2,}|(?<=[.!?])\s")


# --- the data -----------------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    number: int  # position in the Thai file, from 0
    text: str


@dataclass(frozen=True)
class Question:
    id: str
    paragraph: int  # Paragraph.number of its (Thai) passage
    text: dict[str, str]  # language -> question


def _load(path: Path) -> list[dict[str, Any]]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8-sig"))
    paragraphs: list[dict[str, Any]] = [p for a in data["data"] for p in a["paragraphs"]]
    return paragraphs


def load_xquad(folder: Path) -> tuple[list[Paragraph], list[Question]]:
    """The Thai paragraphs and every question in both languages, in the Thai file's order."""
    english = {
        qa["id"]: str(qa["question"]).strip()
        for paragraph in _load(folder / FILES["en"])
        for qa in paragraph["qas"]
    }
    paragraphs: list[Paragraph] = []
    questions: list[Question] = []
    for number, paragraph in enumerate(_load(folder / FILES["th"])):
        # One context carries a stray byte-order mark inside the text.
        paragraphs.append(Paragraph(number, str(paragraph["context"]).replace("\ufeff", "")))
        for qa in paragraph["qas"]:
            text = {"th": str(qa["question"]).strip(), "en": english[qa["id"]]}
            questions.append(Question(str(qa["id"]), number, text))
    return paragraphs, questions


def _cut(text: str, chars: int) -> str:
    """``text`` up to ``chars`` characters, ended at a space where there is one."""
    if len(text) <= chars:
        return text
    head = text[:chars]
    space = head.rfind(" ")
    return (head[:space] if space > chars // 2 else head).strip()


def title_of(text: str) -> str:
    first = _SENTENCE_END.split(text.strip(), maxsplit=1)[0]
    return _cut(first, TITLE_CHARS)[:TITLE_LIMIT]


def summary_of(text: str) -> str:
    return _cut(text.strip(), SUMMARY_CHARS)[:SUMMARY_LIMIT]


# --- the catalogue ------------------------------------------------------------------


def make_publisher(session: Session) -> Principal:
    """One city and its city company, as ``tests/factories.build_world`` makes them."""
    city = City(
        slug="nakhon-sawan",
        province_code="60",
        name_th="เทศบาลนครนครสวรรค์",
        name_en="Nakhon Sawan",
        kind=CityKind.city_municipality,
        is_pilot=True,
        lat=15.7,
        lon=100.1,
    )
    session.add(city)
    session.flush()
    organisation = Organisation(
        slug="ns-dev",
        name_th="ns-dev",
        name_en="ns-dev",
        kind=OrganisationKind.city_company,
        city_id=city.id,
    )
    session.add(organisation)
    session.flush()
    assert organisation.id is not None
    return Principal(organisation.id, organisation.slug, Role.publisher, 0)


def listing_for(paragraph: Paragraph) -> ListingCreate:
    """A Thai-only infrastructure listing (no how-to-invest steps needed to publish)."""
    return ListingCreate(
        slug=f"xquad-{paragraph.number + 1:03d}",
        kind=ListingKind.infrastructure,
        sector=Sector.smart_city_platforms,
        city="nakhon-sawan",
        stage=Stage.idea,
        title_th=title_of(paragraph.text),
        summary_th=summary_of(paragraph.text),
        description_th=paragraph.text[:DESCRIPTION_LIMIT],
        capital_min_thb=1_000_000,
        capital_max_thb=10_000_000,
        investment_models=[InvestmentModel.ppp],
    )


def publish_paragraphs(engine: Engine, paragraphs: Sequence[Paragraph]) -> dict[int, int]:
    """Publish every paragraph through the services; paragraph number -> listing id."""
    ids: dict[int, int] = {}
    with Session(engine) as session:
        principal = make_publisher(session)
        for paragraph in paragraphs:
            listing = create_listing(session, data=listing_for(paragraph), principal=principal)
            publish_listing(
                session, listing=listing, principal=principal, expected_version=listing.version
            )
            assert listing.id is not None
            ids[paragraph.number] = listing.id
        session.commit()
    return ids


def embed_vectors(engine: Engine, embedder: Embedder, index: TantivyIndex) -> None:
    """Compute every listing's vectors as ``citydeal reindex`` does, and load them."""
    started = time.perf_counter()
    passages = embed_all(Database(engine), embedder)
    seconds = time.perf_counter() - started
    with Session(engine) as session:
        catch_up_vectors(session, index)
    print(
        f"  embedded {passages} passages in {seconds:.1f} s "
        f"({passages / seconds:.1f} passages/s, one process)"
    )


def build_index(engine: Engine, directory: Path) -> TantivyIndex:
    index = TantivyIndex(directory)
    with Session(engine) as session:
        rebuild(session, index)
    return index


# --- measuring ----------------------------------------------------------------------


# One question's outcome: the listing ids found, best first (None when the search
# failed), and the seconds it took.
Found = tuple[list[int] | None, float]


@dataclass(frozen=True)
class Run:
    """One pass over the questions in one direction. A failed search counts as a miss and
    as a question without hits (the user sees no results), and is also counted apart."""

    ranks: list[int | None]  # 1-based rank of the relevant listing in the top K
    empty: list[bool]  # no hits at all (failures included)
    failed: list[bool]
    seconds: list[float]
    rankings: list[list[int] | None]  # listing ids, best first

    def recall(self, k: int) -> float:
        return float(np.mean([r is not None and r <= k for r in self.ranks]))

    @property
    def mrr(self) -> float:
        return float(np.mean([1 / r if r is not None else 0.0 for r in self.ranks]))

    @property
    def no_hits(self) -> float:
        return float(np.mean(self.empty))

    @property
    def mean_ms(self) -> float:
        return float(np.mean(self.seconds)) * 1000

    @property
    def p95_ms(self) -> float:
        return float(np.percentile(np.array(self.seconds), 95)) * 1000


def rank_of(relevant: int, ranking: Sequence[int] | None) -> int | None:
    top = list(ranking or [])[:K]
    return top.index(relevant) + 1 if relevant in top else None


def tally(questions: Sequence[Question], relevant: dict[int, int], found: Sequence[Found]) -> Run:
    rankings = [ids for ids, _ in found]
    return Run(
        ranks=[
            rank_of(relevant[q.paragraph], ids) for q, ids in zip(questions, rankings, strict=True)
        ],
        empty=[not ids for ids in rankings],
        failed=[ids is None for ids in rankings],
        seconds=[seconds for _, seconds in found],
        rankings=rankings,
    )


class FailureLog:
    """Prints the first few failures of a pass in full, then only counts them."""

    SHOWN = 3

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    def __call__(self, question: str, error: str) -> None:
        self.count += 1
        if self.count <= self.SHOWN:
            print(f"  {self.name}: search failed for {question!r}: {error}")


def _engine_search(
    index: SearchIndex, embedder: Embedder | None, text: str, failures: FailureLog
) -> Found:
    started = time.perf_counter()
    embed = embedder.query if embedder else None
    try:
        result = index.search(SearchQuery(text=text, limit=K, facets=False, embed=embed))
    except Exception as exc:  # a benchmark reports a failing query and goes on
        failures(text, f"{type(exc).__name__}: {exc}")
        return None, time.perf_counter() - started
    return [hit.id for hit in result.hits], time.perf_counter() - started


def engine_pass(
    index: SearchIndex,
    embedder: Embedder | None,
    questions: Sequence[Question],
    language: str,
    relevant: dict[int, int],
) -> Run:
    failures = FailureLog(f"engine {DIRECTIONS[language]}")
    found = [_engine_search(index, embedder, q.text[language], failures) for q in questions]
    return tally(questions, relevant, found)


async def _http_search(client: httpx.AsyncClient, text: str, failures: FailureLog) -> Found:
    started = time.perf_counter()
    response = await client.get("/v1/search", params={"q": text, "limit": K})
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        failures(text, f"HTTP {response.status_code} {response.text[:200]}")
        return None, elapsed
    body: dict[str, Any] = response.json()
    return [int(hit["listing"]["id"]) for hit in body["hits"]], elapsed


async def http_pass(
    client: httpx.AsyncClient,
    questions: Sequence[Question],
    language: str,
    relevant: dict[int, int],
) -> Run:
    failures = FailureLog(f"HTTP {DIRECTIONS[language]}")
    found = [await _http_search(client, q.text[language], failures) for q in questions]
    return tally(questions, relevant, found)


async def http_passes(
    url: str,
    var_dir: Path,
    engine: Engine,
    index: SearchIndex,
    questions: Sequence[Question],
    relevant: dict[int, int],
    semantic: bool,
) -> dict[str, Run]:
    settings = Settings(database_url=url, var_dir=var_dir, semantic_search=semantic)
    services = build_services(settings, database=Database(engine), search=index)
    app = create_app(services=services)
    # An exception in the app becomes the 500 response a client would get, not a crash here.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    runs: dict[str, Run] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for language in DIRECTIONS:
            runs[language] = await http_pass(client, questions, language, relevant)
    return runs


# --- reporting ----------------------------------------------------------------------


def verdict(met: bool) -> str:
    return "met" if met else "not met"


HEADER = (
    f"{'pass':<7} {'direction':<13} {'R@1':>6} {'R@10':>6} {'MRR@10':>7} "
    f"{'goal':>7} {'':<8} {'no hits':>8} {'goal':>6} {'':<8} {'failed':>6} "
    f"{'mean ms':>8} {'p95 ms':>7}"
)


def row(name: str, language: str, run: Run) -> str:
    mrr_goal = GOAL_MRR[language]
    return (
        f"{name:<7} {DIRECTIONS[language]:<13} {run.recall(1):>6.3f} {run.recall(K):>6.3f} "
        f"{run.mrr:>7.3f} {'≥ ' + f'{mrr_goal:.2f}':>7} {verdict(run.mrr >= mrr_goal):<8} "
        f"{run.no_hits:>8.1%} {'≤ ' + f'{GOAL_NO_HITS:.0%}':>6} "
        f"{verdict(run.no_hits <= GOAL_NO_HITS):<8} {sum(run.failed):>6} "
        f"{run.mean_ms:>8.2f} {run.p95_ms:>7.2f}"
    )


def reference_rows() -> list[str]:
    def figure(language: str, name: str, width: int) -> str:
        value = REFERENCE[language].get(name)
        return f"{value:>{width}.3f}" if value is not None else f"{'—':>{width}}"

    return [
        f"{'BM25':<7} {DIRECTIONS[language]:<13} {figure(language, 'R@1', 6)} {'—':>6} "
        f"{figure(language, 'MRR@10', 7)}"
        for language in DIRECTIONS
    ]


def report(runs: dict[str, dict[str, Run]], questions: int, paragraphs: int) -> None:
    print(f"\nXQuAD: {questions} questions per direction, {paragraphs} Thai listings, top {K}")
    print(HEADER)
    print("-" * len(HEADER))
    for name, by_language in runs.items():
        for language, run in by_language.items():
            print(row(name, language, run))
    print("reference (data README, plain BM25 over newmm tokens; not measured here):")
    for line in reference_rows():
        print(line)
    for name, by_language in runs.items():
        for language, run in by_language.items():
            failed = sum(run.failed)
            print(
                f"{name} {DIRECTIONS[language]}: {sum(run.empty)} of {len(run.empty)} "
                f"questions without hits, {failed} of them because the search failed"
            )
    if "engine" in runs and "http" in runs:
        for language in DIRECTIONS:
            pairs = zip(
                runs["engine"][language].rankings, runs["http"][language].rankings, strict=True
            )
            same = float(np.mean([a == b for a, b in pairs]))
            print(f"top-{K} identical in engine and HTTP, {DIRECTIONS[language]}: {same:.1%}")


# --- running ------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument(
        "data",
        nargs="?",
        type=Path,
        default=None,
        help=f"folder with {FILES['th']} and {FILES['en']} (default: {DEFAULT_DATA})",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument("--engine-only", action="store_true", help="skip the HTTP pass")
    parser.add_argument(
        "--words-only", action="store_true", help="no semantic vectors: lexical search alone"
    )
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    return args


def data_folder(given: Path | None) -> Path | None:
    """The folder holding both files, or None (having said why and where to get them)."""
    folder = given or DEFAULT_DATA
    missing = [name for name in FILES.values() if not (folder / name).is_file()]
    if not missing:
        return folder
    print(f"XQuAD data not found: {', '.join(missing)} missing in {folder}.")
    print(f"The public files come from {SOURCE}; put them in that folder or pass another.")
    return None


def timed(label: str, work: Callable[[], Any]) -> Any:
    started = time.perf_counter()
    result = work()
    print(f"{label}: {time.perf_counter() - started:.1f} s")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    folder = data_folder(args.data)
    if folder is None:
        if args.data is not None:
            return 2  # a folder named on the command line must hold the data
        print("Skipping the XQuAD retrieval benchmark.")
        return 0
    started = time.perf_counter()
    paragraphs, questions = load_xquad(folder)
    questions = questions[: args.limit] if args.limit else questions
    runs: dict[str, dict[str, Run]] = {}
    with tempfile.TemporaryDirectory(prefix="citydeal-retrieval-bench-") as tmp:
        work = Path(tmp)
        url = f"sqlite:///{work / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        relevant: dict[int, int] = timed(
            f"published {len(paragraphs)} listings", lambda: publish_paragraphs(engine, paragraphs)
        )
        index: TantivyIndex = timed("built the index", lambda: build_index(engine, work / "search"))
        embedder = None if args.words_only else Embedder()
        if embedder is not None:
            embed_vectors(engine, embedder, index)
        try:
            runs["engine"] = timed(
                "engine pass",
                lambda: {
                    language: engine_pass(index, embedder, questions, language, relevant)
                    for language in DIRECTIONS
                },
            )
            if not args.engine_only:
                runs["http"] = timed(
                    "HTTP pass",
                    lambda: asyncio.run(
                        http_passes(
                            url,
                            work / "var",
                            engine,
                            index,
                            questions,
                            relevant,
                            semantic=embedder is not None,
                        )
                    ),
                )
        finally:
            index.close()
            engine.dispose()
    report(runs, len(questions), len(paragraphs))
    print(f"\ntotal {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
