"""Speed of the matching scorer: one profile and 1,000 profiles against 100,000 listings,
vectorised (what the API runs) against a plain Python loop with the same rules."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
from scipy import sparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalog.taxonomy import InvestmentModel, Region, Sector, Stage  # noqa: E402
from core.settings import ScoringSettings
from matching.scoring import (  # noqa: E402
    MODEL_BIT,
    REGIONS,
    SECTORS,
    STAGES,
    ListingMatrix,
    ListingRow,
    Preferences,
    TextRows,
    score_listings,
    top_k,
)

LISTINGS = int(os.environ.get("BENCH_LISTINGS", "100000"))
PROFILES = 1_000
VOCABULARY = 20_000
WORDS_PER_LISTING = 120
PROVINCES = ["10", "13", "21", "40", "41", "45", "60", "77", "80", "81", "83"]


def synthetic_matrix(n: int, rng: np.random.Generator) -> ListingMatrix:
    """A catalogue of ``n`` listings with random attributes and a Zipf-like vocabulary."""
    province = rng.choice([int(p) for p in PROVINCES], n)
    capital_min = rng.lognormal(17.5, 1.5, n).round()
    text_cols = np.minimum(rng.zipf(1.3, n * WORDS_PER_LISTING) - 1, VOCABULARY - 1)
    text_rows = np.repeat(np.arange(n), WORDS_PER_LISTING)
    text = sparse.csr_matrix(
        (np.ones(len(text_cols)), (text_rows, text_cols)), shape=(n, VOCABULARY)
    )
    text.data = np.log1p(text.data)
    norms = np.sqrt(np.asarray(text.multiply(text).sum(axis=1)).ravel())
    text = sparse.csc_matrix(sparse.diags(1 / norms) @ text)
    rows = [
        ListingRow(i, f"l{i}", "trade", "transport", "10", "idea", (), 0, 0, None, None, "")
        for i in range(n)
    ]
    return ListingMatrix(
        rows=rows,
        ids=np.arange(n, dtype=np.int64),
        kind_trade=rng.random(n) < 0.4,
        sector=rng.integers(0, len(SECTORS), n),
        province=province,
        region=rng.integers(0, len(REGIONS), n),
        stage=rng.integers(0, len(STAGES), n),
        models=rng.integers(1, 256, n),
        capital_min=capital_min,
        capital_max=capital_min * rng.uniform(1, 3, n).round(2),
        irr=np.where(rng.random(n) < 0.7, rng.uniform(3, 20, n), np.nan),
        payback=np.where(rng.random(n) < 0.7, rng.uniform(2, 25, n), np.nan),
        text=TextRows.built(text),
        vocabulary={f"w{i}": i for i in range(VOCABULARY)},
        idf=np.log(VOCABULARY / (1 + np.arange(VOCABULARY))) + 1,
        document_frequency=np.diff(text.indptr).astype(np.int64),
    )


def random_profile(rng: np.random.Generator) -> Preferences:
    low = float(rng.lognormal(17, 1.5))
    return Preferences(
        sectors=tuple(rng.choice([s.value for s in Sector], 3, replace=False)),
        provinces=tuple(rng.choice(PROVINCES, 2, replace=False)),
        regions=(rng.choice([r.value for r in Region]),),
        ticket_min=int(low),
        ticket_max=int(low * 10),
        models=tuple(rng.choice([m.value for m in InvestmentModel], 3, replace=False)),
        stages=tuple(rng.choice([s.value for s in Stage], 4, replace=False)),
        horizon_years=int(rng.integers(3, 20)),
        min_irr_pct=float(rng.uniform(5, 12)),
        thesis=" ".join(f"w{int(i)}" for i in rng.zipf(1.3, 12) if i < VOCABULARY),
        excluded_sectors=(),
        excluded_models=(),
    )


def rank(matrix: ListingMatrix, prefs: Preferences, settings: ScoringSettings) -> np.ndarray:
    scored = score_listings(matrix, prefs, settings)
    everything = np.ones(len(matrix), dtype=np.bool_)
    return top_k(scored, matrix.ids, everything, k=20, offset=0)


def python_loop(matrix: ListingMatrix, prefs: Preferences) -> list[int]:
    """The same hard rules and the numeric components, one listing at a time."""
    sectors = {Sector(s) for s in prefs.sectors}
    provinces = {int(p) for p in prefs.provinces}
    models = sum(MODEL_BIT[InvestmentModel(m)] for m in prefs.models)
    stages = {STAGES.index(Stage(s)) for s in prefs.stages}
    scores = []
    for i in range(len(matrix)):
        lo, hi = matrix.capital_min[i], matrix.capital_max[i]
        if int(matrix.stage[i]) not in stages or lo > prefs.ticket_max * 1.25:
            continue
        if hi < prefs.ticket_min * 0.75:
            continue
        span = hi - lo
        overlap = max(0.0, min(hi, prefs.ticket_max) - max(lo, prefs.ticket_min))
        ticket = overlap / span if span else 1.0
        sector = 1.0 if SECTORS[int(matrix.sector[i])] in sectors else 0.0
        place = 1.0 if int(matrix.province[i]) in provinces else 0.0
        model = 1.0 if int(matrix.models[i]) & models else 0.0
        payback = matrix.payback[i]
        horizon = 0.5 if np.isnan(payback) else min(1.0, prefs.horizon_years / payback)
        scores.append(
            (-(0.3 * sector + 0.15 * place + 0.15 * ticket + 0.1 * model + 0.05 * horizon), i)
        )
    scores.sort()
    return [i for _, i in scores[:20]]


def main() -> None:
    rng = np.random.default_rng(11)
    started = time.perf_counter()
    matrix = synthetic_matrix(LISTINGS, rng)
    print(
        f"synthetic matrix: {LISTINGS:,} listings, built in {time.perf_counter() - started:.1f} s"
    )
    settings = ScoringSettings()
    profiles = [random_profile(rng) for _ in range(PROFILES)]
    rank(matrix, profiles[0], settings)  # warm-up

    one = []
    for prefs in profiles[:50]:
        started = time.perf_counter()
        rank(matrix, prefs, settings)
        one.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    for prefs in profiles:
        rank(matrix, prefs, settings)
    many = time.perf_counter() - started

    loop = []
    for prefs in profiles[:3]:
        started = time.perf_counter()
        python_loop(matrix, prefs)
        loop.append((time.perf_counter() - started) * 1000)

    p50, p95 = np.percentile(one, [50, 95])
    print(f"one profile, top-20 of {LISTINGS:,} (vectorised): p50 {p50:.2f} ms, p95 {p95:.2f} ms")
    print(
        f"{PROFILES:,} profiles x {LISTINGS:,} listings: {many:.2f} s "
        f"({many / PROFILES * 1000:.2f} ms per profile)"
    )
    print(
        f"plain Python loop, one profile: {np.mean(loop):.0f} ms "
        f"({np.mean(loop) / p50:.0f}x slower than vectorised)"
    )
    print(f"goal one profile <= 5 ms: {'MET' if p50 <= 5 else 'NOT MET'} (p50)")


if __name__ == "__main__":
    main()
