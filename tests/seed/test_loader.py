"""The demo catalogue loads through the real services, and loading it again changes nothing."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from catalog.models import City, HowToInvestStep, Listing, Organisation, SmartBlock
from catalog.search.base import SearchQuery
from catalog.search.sync import catch_up
from catalog.search.tantivy_engine import TantivyIndex
from catalog.taxonomy import ListingKind, ListingStatus
from seed.loader import load_seed
from tests.factories import snapshot

PROGRAMME_CITIES = {
    "nakhon-sawan",
    "patong",
    "udon-thani",
    "rayong",
    "krabi",
    "khon-kaen",
    "rangsit",
    "hua-hin",
    "thung-song",
    "roi-et",
}


def test_seed_is_idempotent(session: Session) -> None:
    first = load_seed(session)
    session.commit()
    assert first.listings >= 40
    assert first.investors >= 20
    before = snapshot(session)
    second = load_seed(session)
    session.commit()
    assert second.total() == 0
    assert snapshot(session) == before


def test_seed_covers_the_programme(session: Session) -> None:
    load_seed(session)
    session.flush()
    assert set(session.exec(select(City.slug))) == PROGRAMME_CITIES
    for city in session.exec(select(City)):
        blocks = session.exec(select(SmartBlock).where(SmartBlock.city_id == city.id)).all()
        assert 2 <= len(blocks) <= 3, city.slug
        assert session.exec(select(Organisation).where(Organisation.city_id == city.id)).first()
    published = session.exec(select(Listing).where(Listing.status == ListingStatus.published)).all()
    assert len(published) >= 40
    assert {listing.kind for listing in published} == set(ListingKind)
    assert len({listing.sector for listing in published}) >= 15
    named = {
        "nakhon-sawan-smart-poles",
        "khon-kaen-electric-city-bus",
        "rayong-health-supply-chain-hub",
        "nakhon-sawan-fish-ball-factory",
    }
    assert named <= {listing.slug for listing in published}
    fish_balls = next(x for x in published if x.slug == "nakhon-sawan-fish-ball-factory")
    steps = session.exec(
        select(func.count()).where(col(HowToInvestStep.listing_id) == fish_balls.id)
    ).one()
    assert steps >= 4
    trade_without_steps = [
        x.slug
        for x in published
        if x.kind == ListingKind.trade
        and not session.exec(
            select(HowToInvestStep).where(HowToInvestStep.listing_id == x.id)
        ).first()
    ]
    assert trade_without_steps == []


def test_seed_is_searchable_in_thai_and_english(
    session: Session, tantivy_index: TantivyIndex
) -> None:
    load_seed(session)
    session.flush()
    catch_up(session, tantivy_index)
    for text, slug in [
        ("ลูกชิ้นปลา", "nakhon-sawan-fish-ball-factory"),
        ("เสาอัจฉริยะ", "nakhon-sawan-smart-poles"),
        ("electric city bus", "khon-kaen-electric-city-bus"),
        ("health supply chain", "rayong-health-supply-chain-hub"),
    ]:
        hits = tantivy_index.search(SearchQuery(text=text)).hits
        assert slug in [hit.slug for hit in hits[:3]], text
