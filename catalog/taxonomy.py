"""Controlled vocabularies of the catalogue: kinds, sectors, stages, models, statuses.

Each vocabulary is a ``StrEnum`` so that the API validates it (422 naming the field) and
OpenAPI lists the allowed values; Thai and English labels live beside it.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import NamedTuple


class Label(NamedTuple):
    th: str
    en: str


class ListingKind(StrEnum):
    infrastructure = "infrastructure"
    trade = "trade"


class ListingStatus(StrEnum):
    draft = "draft"
    published = "published"
    archived = "archived"


class Stage(StrEnum):
    """Ordered from earliest to latest; matching uses the order as risk appetite."""

    idea = "idea"
    pre_feasibility = "pre-feasibility"
    feasibility_done = "feasibility-done"
    ready_for_investment = "ready-for-investment"
    tendering = "tendering"
    funded = "funded"
    operating = "operating"


class InvestmentModel(StrEnum):
    ppp = "ppp"
    concession = "concession"
    bot = "bot"
    joint_venture = "joint-venture"
    equity = "equity"
    debt = "debt"
    land_lease = "land-lease"
    franchise = "franchise"


class Sector(StrEnum):
    transport = "transport"
    public_transport = "public-transport"
    electric_mobility = "electric-mobility"
    health = "health"
    health_supply_chain = "health-supply-chain"
    healthcare_services = "healthcare-services"
    tourism = "tourism"
    hospitality = "hospitality"
    wellness_tourism = "wellness-tourism"
    agri_food = "agri-food"
    agri_food_processing = "agri-food-processing"
    agriculture = "agriculture"
    digital_infrastructure = "digital-infrastructure"
    smart_city_platforms = "smart-city-platforms"
    energy = "energy"
    renewable_energy = "renewable-energy"
    energy_efficiency = "energy-efficiency"
    logistics = "logistics"
    cold_chain = "cold-chain"
    real_estate = "real-estate"
    mixed_use_development = "mixed-use-development"
    education = "education"
    vocational_training = "vocational-training"
    environment = "environment"
    waste_management = "waste-management"
    water_management = "water-management"
    retail_services = "retail-services"


class CityKind(StrEnum):
    city_municipality = "city-municipality"
    town_municipality = "town-municipality"
    subdistrict_municipality = "subdistrict-municipality"


class Region(StrEnum):
    """The six geographical regions of Thailand (National Geographical Committee, 1977)."""

    north = "north"
    northeast = "northeast"
    central = "central"
    east = "east"
    west = "west"
    south = "south"


class CheckpointStatus(StrEnum):
    pending = "pending"
    on_track = "on-track"
    delayed = "delayed"
    done = "done"


SECTOR_PARENT: dict[Sector, Sector] = {
    Sector.public_transport: Sector.transport,
    Sector.electric_mobility: Sector.transport,
    Sector.health_supply_chain: Sector.health,
    Sector.healthcare_services: Sector.health,
    Sector.hospitality: Sector.tourism,
    Sector.wellness_tourism: Sector.tourism,
    Sector.agri_food_processing: Sector.agri_food,
    Sector.agriculture: Sector.agri_food,
    Sector.smart_city_platforms: Sector.digital_infrastructure,
    Sector.renewable_energy: Sector.energy,
    Sector.energy_efficiency: Sector.energy,
    Sector.cold_chain: Sector.logistics,
    Sector.mixed_use_development: Sector.real_estate,
    Sector.vocational_training: Sector.education,
    Sector.waste_management: Sector.environment,
    Sector.water_management: Sector.environment,
}

SECTOR_LABELS: dict[Sector, Label] = {
    Sector.transport: Label("การขนส่ง", "Transport"),
    Sector.public_transport: Label("ขนส่งสาธารณะ", "Public transport"),
    Sector.electric_mobility: Label("ยานยนต์ไฟฟ้า", "Electric mobility"),
    Sector.health: Label("สุขภาพ", "Health"),
    Sector.health_supply_chain: Label("ห่วงโซ่อุปทานสุขภาพ", "Health supply chain"),
    Sector.healthcare_services: Label("บริการสุขภาพ", "Healthcare services"),
    Sector.tourism: Label("การท่องเที่ยว", "Tourism"),
    Sector.hospitality: Label("ที่พักและการบริการ", "Hospitality"),
    Sector.wellness_tourism: Label("ท่องเที่ยวเชิงสุขภาพ", "Wellness tourism"),
    Sector.agri_food: Label("เกษตรและอาหาร", "Agri-food"),
    Sector.agri_food_processing: Label("แปรรูปเกษตรและอาหาร", "Agri-food processing"),
    Sector.agriculture: Label("เกษตรกรรม", "Agriculture"),
    Sector.digital_infrastructure: Label("โครงสร้างพื้นฐานดิจิทัล", "Digital infrastructure"),
    Sector.smart_city_platforms: Label("แพลตฟอร์มเมืองอัจฉริยะ", "Smart-city platforms"),
    Sector.energy: Label("พลังงาน", "Energy"),
    Sector.renewable_energy: Label("พลังงานหมุนเวียน", "Renewable energy"),
    Sector.energy_efficiency: Label("การประหยัดพลังงาน", "Energy efficiency"),
    Sector.logistics: Label("โลจิสติกส์", "Logistics"),
    Sector.cold_chain: Label("ห้องเย็นและโซ่ความเย็น", "Cold chain"),
    Sector.real_estate: Label("อสังหาริมทรัพย์", "Real estate"),
    Sector.mixed_use_development: Label("โครงการพัฒนาแบบผสมผสาน", "Mixed-use development"),
    Sector.education: Label("การศึกษา", "Education"),
    Sector.vocational_training: Label("การฝึกอาชีพ", "Vocational training"),
    Sector.environment: Label("สิ่งแวดล้อม", "Environment"),
    Sector.waste_management: Label("การจัดการขยะ", "Waste management"),
    Sector.water_management: Label("การจัดการน้ำ", "Water management"),
    Sector.retail_services: Label("ค้าปลีกและบริการ", "Retail and services"),
}

STAGE_LABELS: dict[Stage, Label] = {
    Stage.idea: Label("แนวคิด", "Idea"),
    Stage.pre_feasibility: Label("ศึกษาเบื้องต้น", "Pre-feasibility"),
    Stage.feasibility_done: Label("ศึกษาความเป็นไปได้แล้ว", "Feasibility done"),
    Stage.ready_for_investment: Label("พร้อมลงทุน", "Ready for investment"),
    Stage.tendering: Label("อยู่ระหว่างประมูล", "Tendering"),
    Stage.funded: Label("ได้รับเงินทุนแล้ว", "Funded"),
    Stage.operating: Label("เปิดดำเนินการ", "Operating"),
}

MODEL_LABELS: dict[InvestmentModel, Label] = {
    InvestmentModel.ppp: Label("ร่วมลงทุนรัฐและเอกชน (PPP)", "Public-private partnership"),
    InvestmentModel.concession: Label("สัมปทาน", "Concession"),
    InvestmentModel.bot: Label("สร้าง-ดำเนินการ-โอน (BOT)", "Build-operate-transfer"),
    InvestmentModel.joint_venture: Label("กิจการร่วมค้า", "Joint venture"),
    InvestmentModel.equity: Label("ร่วมทุน (ถือหุ้น)", "Equity"),
    InvestmentModel.debt: Label("เงินกู้", "Debt"),
    InvestmentModel.land_lease: Label("เช่าที่ดิน", "Land lease"),
    InvestmentModel.franchise: Label("แฟรนไชส์", "Franchise"),
}

KIND_LABELS: dict[ListingKind, Label] = {
    ListingKind.infrastructure: Label("โครงสร้างพื้นฐาน", "Infrastructure"),
    ListingKind.trade: Label("การค้าและธุรกิจ", "Trade and business"),
}


class CheckpointState(StrEnum):
    """How a checkpoint reads: its reported status, or overdue while still unreported
    after its due date."""

    pending = "pending"
    overdue = "overdue"
    on_track = "on-track"
    delayed = "delayed"
    done = "done"


CHECKPOINT_LABELS: dict[CheckpointState, Label] = {
    CheckpointState.pending: Label("รอรายงาน", "Pending"),
    CheckpointState.overdue: Label("เลยกำหนดรายงาน", "Overdue"),
    CheckpointState.on_track: Label("เป็นไปตามแผน", "On track"),
    CheckpointState.delayed: Label("ล่าช้า", "Delayed"),
    CheckpointState.done: Label("แล้วเสร็จ", "Done"),
}
# What a publisher may report (pending is where every checkpoint starts).
REPORTABLE = (CheckpointStatus.on_track, CheckpointStatus.delayed, CheckpointStatus.done)


def checkpoint_state(status: str, due_on: date, today: date) -> CheckpointState:
    if status == CheckpointStatus.pending and due_on < today:
        return CheckpointState.overdue
    return CheckpointState(status)


REGION_LABELS: dict[Region, Label] = {
    Region.north: Label("ภาคเหนือ", "North"),
    Region.northeast: Label("ภาคตะวันออกเฉียงเหนือ", "Northeast"),
    Region.central: Label("ภาคกลาง", "Central"),
    Region.east: Label("ภาคตะวันออก", "East"),
    Region.west: Label("ภาคตะวันตก", "West"),
    Region.south: Label("ภาคใต้", "South"),
}


def sector_family(sector: Sector) -> set[Sector]:
    """The sector, its parent and its children: what a parent-level interest covers."""
    parent = SECTOR_PARENT.get(sector)
    children = {child for child, p in SECTOR_PARENT.items() if p == sector}
    return {sector, *children, *([parent] if parent else [])}


def sector_family_down(sector: Sector) -> set[Sector]:
    """The sector and its children: what filtering by a parent sector should find."""
    return {sector, *(child for child, parent in SECTOR_PARENT.items() if parent == sector)}
