"""Choosing who pitches: 20 pitching listings out of a pool of 500 for 300 attending
investors, under every rule at once (city and publisher quotas, a minimum per kind, every
investor at least one match, two pins and a few exclusions).

The pool and the investors are built in memory from a seeded generator (``ListingRow``s
through ``ListingMatrix.build``, ``Preferences`` scored by the real scorer): no database.
Times the selection's work between reading the database and writing the plan (scoring
every pair, the solves, the pitch order), prints the total fit against the solver's
bound, and runs it three times to show the plan repeats.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalog.taxonomy import InvestmentModel, ListingKind, Region, Sector, Stage  # noqa: E402
from core.settings import ScoringSettings  # noqa: E402
from matching.pitchday.selection import (  # noqa: E402
    Candidate,
    Rules,
    Solution,
    fit_matrix,
    pitch_order,
    solve,
)
from matching.scoring import ListingMatrix, ListingRow, Preferences, score_listings  # noqa: E402

SEED = 13
POOL = 500
INVESTORS = 300
SLOTS = 20
THRESHOLD = 55.0
GOAL_SECONDS = 1.0
# The programme's ten cities by province code; each has a few publishers.
PROVINCES = ["60", "83", "41", "21", "81", "40", "13", "77", "80", "45"]
PUBLISHERS_PER_CITY = 4
WORDS = (
    "โรงงาน แปรรูป อาหาร ลูกชิ้น ปลา ห้องเย็น รถเมล์ ไฟฟ้า พลังงาน แสงอาทิตย์ ขยะ น้ำ "
    "โรงพยาบาล ท่องเที่ยว โรงแรม ตลาด ดิจิทัล เสาอัจฉริยะ ราง ขนส่ง ชุมชน สุขภาพ เกษตร "
    "factory food cold chain electric bus solar waste water hospital tourism hotel market "
    "digital smart pole rail transport community health farm logistics training housing"
).split()


def pool_rows(rng: np.random.Generator) -> tuple[list[ListingRow], list[Candidate]]:
    sectors = [s.value for s in Sector]
    stages = [s.value for s in Stage]
    models = [m.value for m in InvestmentModel]
    rows, candidates = [], []
    for listing_id in range(1, POOL + 1):
        city = int(rng.integers(len(PROVINCES)))
        kind = ListingKind.trade.value if rng.random() < 0.4 else ListingKind.infrastructure.value
        low = int(rng.lognormal(17.5, 1.2))
        row = ListingRow(
            id=listing_id,
            slug=f"listing-{listing_id}",
            kind=kind,
            sector=str(rng.choice(sectors)),
            province=PROVINCES[city],
            stage=str(rng.choice(stages)),
            models=tuple(sorted(rng.choice(models, int(rng.integers(1, 4)), replace=False))),
            capital_min=low,
            capital_max=int(low * rng.uniform(1, 4)),
            irr=float(rng.uniform(4, 20)) if rng.random() < 0.7 else None,
            payback=float(rng.uniform(2, 20)) if rng.random() < 0.7 else None,
            text=" ".join(rng.choice(WORDS, 40)),
        )
        rows.append(row)
        publisher = city * PUBLISHERS_PER_CITY + int(rng.integers(PUBLISHERS_PER_CITY))
        candidates.append(Candidate(listing_id, kind, row.sector, city, publisher))
    return rows, candidates


def investor(rng: np.random.Generator) -> Preferences:
    low = int(rng.lognormal(17, 1.3))
    return Preferences(
        sectors=tuple(rng.choice([s.value for s in Sector], int(rng.integers(1, 4)), False)),
        provinces=tuple(rng.choice(PROVINCES, int(rng.integers(0, 3)), replace=False)),
        regions=tuple(rng.choice([r.value for r in Region], int(rng.integers(0, 2)), False)),
        ticket_min=low,
        ticket_max=low * int(rng.integers(5, 50)),
        models=tuple(rng.choice([m.value for m in InvestmentModel], 3, replace=False)),
        stages=(),
        horizon_years=int(rng.integers(5, 20)),
        min_irr_pct=float(rng.uniform(5, 12)) if rng.random() < 0.5 else None,
        thesis=" ".join(rng.choice(WORDS, 8)),
        excluded_sectors=(),
        excluded_models=(),
    )


def select(
    matrix: ListingMatrix,
    profiles: list[Preferences],
    candidates: list[Candidate],
    rules: Rules,
    settings: ScoringSettings,
) -> tuple[Solution, list[int], float]:
    """What ``select_pitches`` computes between reading the database and writing the plan
    (less the words of the reasons)."""
    started = time.perf_counter()
    scores = np.empty((len(matrix), len(profiles)), dtype=np.float32)
    passed = np.empty((len(matrix), len(profiles)), dtype=np.bool_)
    for j, prefs in enumerate(profiles):
        scored = score_listings(matrix, prefs, settings)
        scores[:, j], passed[:, j] = scored.score, scored.passed
    scoring = time.perf_counter() - started
    fit = fit_matrix(scores, passed, THRESHOLD)
    solution = solve(candidates, fit, rules)
    by_id = {c.listing_id: c for c in candidates}
    totals = dict(zip(matrix.ids.tolist(), fit.sum(axis=1).tolist(), strict=True))
    order = pitch_order([by_id[i] for i in solution.chosen], totals)
    return solution, order, scoring


def main() -> None:
    rng = np.random.default_rng(SEED)
    rows, candidates = pool_rows(rng)
    matrix = ListingMatrix.build(rows)  # rows sorted by id: candidates are in that order
    profiles = [investor(rng) for _ in range(INVESTORS)]
    # Two pins and five exclusions, as an organiser would set them.
    for i in (7, 42):
        candidates[i] = replace(candidates[i], pinned=True)
    excluded = {100, 200, 300, 400, 500}
    kept = [i for i, c in enumerate(candidates) if c.listing_id not in excluded]
    matrix = ListingMatrix.build([rows[i] for i in kept])
    candidates = [candidates[i] for i in kept]
    rules = Rules(
        slots=SLOTS, max_per_city=3, max_per_publisher=2, min_per_kind=5, min_per_investor=1
    )
    settings = ScoringSettings()
    print(
        f"pool {len(candidates)} listings (5 excluded, 2 pinned), {INVESTORS} investors, "
        f"{SLOTS} slots; at most {rules.max_per_city} per city and "
        f"{rules.max_per_publisher} per publisher, at least {rules.min_per_kind} of each kind, "
        f"every investor at least {rules.min_per_investor} match (score >= {THRESHOLD:g})"
    )
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        solution, order, scoring = select(matrix, profiles, candidates, rules, settings)
        runs.append((time.perf_counter() - started, solution, order, scoring))
    wall, solution, order, scoring = min(runs, key=lambda run: run[0])
    gap = (solution.bound - solution.objective) / solution.bound if solution.bound else 0.0
    print(
        f"wall time {wall:.3f} s (best of 3): scoring {scoring * 1000:.0f} ms, "
        f"solver {solution.seconds * 1000:.0f} ms, {solution.nodes} nodes"
    )
    print(
        f"total fit {solution.objective:,.2f} against the solver's bound {solution.bound:,.2f} "
        f"(gap {gap:.4%}; {'proved optimal' if solution.optimal else 'node limit reached'})"
    )
    print(
        f"investors short of a match: {int((solution.coverage_shortfall > 0).sum())} "
        f"(of {int((solution.coverage_wanted > 0).sum())} with a match in the pool); "
        f"kinds short: {solution.kind_shortfall}"
    )
    same = all(run[1].chosen == solution.chosen and run[2] == order for run in runs)
    print(f"same plan on every run: {'yes' if same else 'NO'}")
    print(f"goal <= {GOAL_SECONDS:g} s: {'MET' if wall <= GOAL_SECONDS else 'NOT MET'}")


if __name__ == "__main__":
    main()
