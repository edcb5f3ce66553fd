"""Test data builders: one place that knows how to make a valid city, key or listing."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select
from sqlmodel import Session, col

from api.tables import metadata
from catalog.models import City, Organisation, SmartBlock
from catalog.organisations import issue_key
from catalog.search.base import SearchIndex
from catalog.search.meili_engine import MeiliIndex
from catalog.search.tantivy_engine import TantivyIndex
from core.db import utcnow
from core.principal import OrganisationKind, Principal, Role


@dataclass
class World:
    nakhon_sawan_key: str
    rayong_key: str
    investor_key: str
    admin_key: str
    organiser_key: str


def _city(session: Session, slug: str, province: str, name_th: str, name_en: str) -> City:
    city = City(
        slug=slug,
        province_code=province,
        name_th=name_th,
        name_en=name_en,
        kind="city-municipality",
        is_pilot=True,
        lat=15.7,
        lon=100.1,
    )
    session.add(city)
    session.flush()
    return city


def build_world(session: Session) -> World:
    nakhon_sawan = _city(session, "nakhon-sawan", "60", "เทศบาลนครนครสวรรค์", "Nakhon Sawan")
    rayong = _city(session, "rayong", "21", "เทศบาลนครระยอง", "Rayong")
    session.add_all(
        [
            SmartBlock(
                slug="nakhon-sawan-old-market",
                city_id=nakhon_sawan.id or 0,
                name_th="ย่านตลาดเก่า",
                name_en="Old Market",
            ),
            SmartBlock(
                slug="rayong-riverfront",
                city_id=rayong.id or 0,
                name_th="ริมน้ำระยอง",
                name_en="Rayong Riverfront",
            ),
        ]
    )
    for slug, city, kind in [
        ("ns-dev", nakhon_sawan, OrganisationKind.city_company),
        ("rayong-dev", rayong, OrganisationKind.city_company),
        ("siam-infra-fund", None, OrganisationKind.investor),
        ("citydeal-ops", None, OrganisationKind.platform),
        ("pitch-org", None, OrganisationKind.organiser),
    ]:
        session.add(
            Organisation(
                slug=slug,
                name_th=slug,
                name_en=slug,
                kind=kind,
                city_id=city.id if city else None,
                verified_at=utcnow(),  # made by an admin
            )
        )
    session.flush()
    return World(
        nakhon_sawan_key=issue_key(session, organisation_slug="ns-dev", role=Role.publisher)[1],
        rayong_key=issue_key(session, organisation_slug="rayong-dev", role=Role.publisher)[1],
        investor_key=issue_key(session, organisation_slug="siam-infra-fund", role=Role.investor)[1],
        admin_key=issue_key(session, organisation_slug="citydeal-ops", role=Role.admin)[1],
        organiser_key=issue_key(session, organisation_slug="pitch-org", role=Role.organiser)[1],
    )


def publisher_of(session: Session, slug: str = "ns-dev") -> Principal:
    """The principal a publisher key of organisation ``slug`` stands for."""
    organisation = session.scalars(select(Organisation).where(col(Organisation.slug) == slug)).one()
    assert organisation.id is not None
    return Principal(organisation.id, organisation.slug, Role.publisher, 0)


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def listing_payload(**overrides: Any) -> dict[str, Any]:
    """A valid create body for a trade listing in Nakhon Sawan."""
    payload: dict[str, Any] = {
        "kind": "trade",
        "sector": "agri-food-processing",
        "city": "nakhon-sawan",
        "smart_block": "nakhon-sawan-old-market",
        "stage": "ready-for-investment",
        "title_th": "โรงงานผลิตลูกชิ้นปลา",
        "title_en": "Fish-ball factory",
        "summary_th": "โรงงานลูกชิ้นปลาขนาดเล็กใกล้บึงบอระเพ็ด",
        "summary_en": "A small fish-ball factory near Bueng Boraphet.",
        "description_th": "ใช้ปลาน้ำจืดจากบึงบอระเพ็ด ส่งตลาดในจังหวัดและภาคเหนือตอนล่าง",
        "description_en": "Uses freshwater fish from Bueng Boraphet for the lower north.",
        "capital_min_thb": 5_000_000,
        "capital_max_thb": 12_000_000,
        "investment_models": ["equity", "joint-venture"],
        "expected_irr_pct": 14.5,
        "payback_years": 4.5,
        "incentives": [{"title_th": "สิทธิประโยชน์ BOI", "title_en": "BOI privileges"}],
        "documents": [{"title": "Business plan", "url": "https://docs.example/plan.pdf"}],
        "contacts": [{"name": "นายสมชาย ใจดี", "role": "Investment officer"}],
        "how_to_invest": [
            {
                "title_th": "จดทะเบียนบริษัท",
                "title_en": "Register the company",
                "office": "กรมพัฒนาธุรกิจการค้า",
                "typical_days": 3,
                "last_verified": "2026-09-01",
            },
            {
                "title_th": "ขอใบอนุญาตประกอบกิจการโรงงาน",
                "title_en": "Apply for the factory licence",
                "office": "สำนักงานอุตสาหกรรมจังหวัดนครสวรรค์",
                "permit": "ร.ง.4",
                "typical_days": 45,
                "last_verified": "2026-09-01",
            },
        ],
    }
    payload.update(overrides)
    return payload


def snapshot(session: Session, schema: MetaData | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, for asserting that a request changed nothing."""
    session.expire_all()
    tables = (schema or metadata()).sorted_tables
    return {
        table.name: sorted((tuple(row) for row in session.execute(select(table))), key=repr)
        for table in tables
    }


def profile_payload(**overrides: Any) -> dict[str, Any]:
    """A valid investor profile: agri-food in the north, small tickets, equity."""
    payload: dict[str, Any] = {
        "name": "Lanna Food Ventures",
        "investor_type": "sme",
        "home_country": "TH",
        "languages": ["th", "en"],
        "sectors": ["agri-food"],
        "regions": ["north"],
        "ticket_min_thb": 2_000_000,
        "ticket_max_thb": 20_000_000,
        "models": ["equity", "joint-venture"],
        "stages": ["feasibility-done", "ready-for-investment", "operating"],
        "horizon_years": 6,
        "min_irr_pct": 12.0,
        "thesis": "โรงงานแปรรูปอาหาร ลูกชิ้นปลา และอาหารพร้อมทาน factory for processed food",
        "discoverable": True,
    }
    payload.update(overrides)
    return payload


async def create_and_publish(client: Any, key: str, **overrides: Any) -> str:
    """Create a listing through the API and publish it; returns its slug."""
    created = await client.post(
        "/v1/listings", json=listing_payload(**overrides), headers=auth(key)
    )
    assert created.status_code == 201, created.text
    slug: str = created.json()["slug"]
    published = await client.post(
        f"/v1/listings/{slug}/publish",
        headers=await with_version(client, f"/v1/listings/{slug}", auth(key)),
    )
    assert published.status_code == 200, published.text
    return slug


async def create_profile(client: Any, key: str, **overrides: Any) -> int:
    """Create an investor profile through the API; returns its id."""
    created = await client.post(
        "/v1/investors", json=profile_payload(**overrides), headers=auth(key)
    )
    assert created.status_code == 201, created.text
    profile_id: int = created.json()["id"]
    return profile_id


# Nakhon Sawan listings for ranking tests: a fish-ball factory (the default payload), a
# cold store only debt can fund, and a small franchise.
MARKET_LISTINGS: list[dict[str, Any]] = [
    {"slug": "fish-balls"},
    {
        "slug": "cold-store",
        "sector": "cold-chain",
        "title_en": "Cold store",
        "title_th": "ห้องเย็น",
        "capital_min_thb": 30_000_000,
        "capital_max_thb": 60_000_000,
        "investment_models": ["debt"],
    },
    {
        "slug": "noodle-shop",
        "sector": "retail-services",
        "title_en": "Noodle shop franchise",
        "title_th": "ร้านก๋วยเตี๋ยว",
        "capital_min_thb": 3_000_000,
        "capital_max_thb": 6_000_000,
        "investment_models": ["franchise"],
        "stage": "operating",
        "description_th": "ร้านอาหาร",
        "description_en": "A noodle shop.",
        "summary_th": "แฟรนไชส์ร้านก๋วยเตี๋ยว",
        "summary_en": "Franchise.",
        "expected_irr_pct": None,
        "payback_years": None,
    },
]


async def with_version(client: Any, url: str, headers: dict[str, str]) -> dict[str, str]:
    """``headers`` plus ``If-Match`` with the current ETag of the resource at ``url``."""
    current = await client.get(url, headers=headers)
    assert current.status_code == 200, current.text
    etag: str = current.headers["ETag"]
    return headers | {"If-Match": etag}


MEILI_URL = os.environ.get("CITYDEAL_MEILI_URL")
ENGINES = ["tantivy", "meilisearch"]


def new_search_index(engine: str, directory: Path) -> SearchIndex:
    """An empty index of ``engine``; Meilisearch tests are skipped, saying so, without a
    server (none can be installed on these machines)."""
    if engine == "tantivy":
        return TantivyIndex(directory)
    if not MEILI_URL:
        pytest.skip("Meilisearch contract tests need CITYDEAL_MEILI_URL (no server here)")
    return MeiliIndex(
        MEILI_URL, os.environ.get("CITYDEAL_MEILI_KEY"), index_uid=f"test_{uuid.uuid4().hex}"
    )
