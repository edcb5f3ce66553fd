"""Ranking quality of the matching scorer on the labelled seed catalogue.

Labels (bench/match_labels.json, see bench/LABELS.md) grade each seed investor profile
against the published seed listings from 0 to 3; they were written from the profiles'
stated preferences, independently of the scorer. This prints NDCG@10 and precision@5
(grade 2 or more counts as relevant) for the scorer and for a baseline that ranks by
sector match alone.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlmodel import Session, select  # noqa: E402

from api.migrate import upgrade  # noqa: E402
from catalog.models import Listing  # noqa: E402
from catalog.taxonomy import ListingStatus, Sector, sector_family  # noqa: E402
from core.db import make_engine  # noqa: E402
from core.settings import ScoringSettings
from matching.matrix import listing_rows  # noqa: E402
from matching.models import InvestorProfile  # noqa: E402
from matching.ranking import preferences  # noqa: E402
from matching.scoring import ListingMatrix, score_listings  # noqa: E402
from seed.loader import load_seed  # noqa: E402

LABELS = Path(__file__).with_name("match_labels.json")


def dcg(grades: list[int]) -> float:
    return float(sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(grades)))


def ndcg_at(ranking: list[str], labels: dict[str, int], k: int = 10) -> float:
    ideal = dcg(sorted(labels.values(), reverse=True)[:k])
    return float(dcg([labels.get(slug, 0) for slug in ranking[:k]]) / ideal) if ideal else 0.0


def precision_at(ranking: list[str], labels: dict[str, int], k: int = 5) -> float:
    return sum(labels.get(slug, 0) >= 2 for slug in ranking[:k]) / k


def scorer_ranking(matrix: ListingMatrix, profile: InvestorProfile) -> list[str]:
    scored = score_listings(matrix, preferences(profile), ScoringSettings())
    # Removed listings go last; ties by listing id, as the API orders them.
    key = np.where(scored.passed, scored.score, -1.0)
    order = np.lexsort((matrix.ids, -key))
    return [matrix.rows[i].slug for i in order]


def baseline_ranking(matrix: ListingMatrix, profile: InvestorProfile) -> list[str]:
    wanted = set().union(*(sector_family(Sector(s)) for s in profile.sectors)) or set()
    matched = np.array([Sector(row.sector) in wanted for row in matrix.rows], dtype=float)
    order = np.lexsort((matrix.ids, -matched))
    return [matrix.rows[i].slug for i in order]


def main() -> None:
    labels: dict[str, dict[str, int]] = json.loads(LABELS.read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/eval.db"
        upgrade(url)
        engine = make_engine(url)
        with Session(engine) as session:
            load_seed(session)
            session.commit()
            published = session.exec(
                select(Listing).where(Listing.status == ListingStatus.published)
            ).all()
            matrix = ListingMatrix.build(listing_rows(session, published))
            profiles = session.exec(select(InvestorProfile)).all()
            results: dict[str, tuple[list[float], list[float]]] = {
                "scorer": ([], []),
                "baseline (sector only)": ([], []),
            }
            for profile in profiles:
                truth = labels[profile.slug]
                for name, rank in (
                    ("scorer", scorer_ranking),
                    ("baseline (sector only)", baseline_ranking),
                ):
                    ranking = rank(matrix, profile)
                    results[name][0].append(ndcg_at(ranking, truth))
                    results[name][1].append(precision_at(ranking, truth))
        engine.dispose()
    label_count = sum(len(v) for v in labels.values())
    print(f"profiles: {len(profiles)}, listings: {len(matrix)}, labels: {label_count}")
    print(f"{'ranker':<24} {'NDCG@10':>8} {'P@5':>6}")
    for name, (ndcgs, precisions) in results.items():
        print(f"{name:<24} {np.mean(ndcgs):>8.3f} {np.mean(precisions):>6.3f}")
    scorer = float(np.mean(results["scorer"][0]))
    baseline = float(np.mean(results["baseline (sector only)"][0]))
    verdict = "MET" if scorer >= 0.85 and scorer > baseline else "NOT MET"
    print(f"goal NDCG@10 >= 0.85 and above the baseline: {verdict}")


if __name__ == "__main__":
    main()
