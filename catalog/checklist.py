"""What to look at before publishing: the warnings a publisher sees beside the button.

Only one blocks publishing (a trade listing must say how to invest: the service refuses
it); the others say what a reader would miss (a city may publish a Thai-only listing and
add English later)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from catalog.schemas import ListingPublic
from catalog.taxonomy import Label, ListingKind

STEP_FRESHNESS = timedelta(days=365)


@dataclass(frozen=True)
class Warning:
    code: str
    label: Label

    @property
    def blocks(self) -> bool:
        return self.code in BLOCKING


BLOCKING = frozenset({"trade_without_steps"})


WARNINGS = {
    "missing_english": Label(
        "ยังไม่มีข้อความภาษาอังกฤษบางส่วน นักลงทุนต่างชาติจะอ่านไม่ได้",
        "Some text has no English yet: foreign investors cannot read it",
    ),
    "no_contacts": Label(
        "ยังไม่มีผู้ติดต่อ นักลงทุนจะไม่รู้ว่าควรติดต่อใคร",
        "No contact yet: investors will not know whom to call",
    ),
    "trade_without_steps": Label(
        "โครงการการค้าต้องมีขั้นตอนการลงทุนก่อนเผยแพร่",
        "A trade listing needs its how-to-invest steps before it is published",
    ),
    "steps_not_verified": Label(
        "มีขั้นตอนที่ไม่ได้ตรวจสอบมากว่าหนึ่งปี",
        "Some steps were not verified for over a year",
    ),
}


def publish_warnings(listing: ListingPublic, today: date) -> list[Warning]:
    found = []
    if listing.missing_english:
        found.append("missing_english")
    if not listing.contacts:
        found.append("no_contacts")
    if listing.kind is ListingKind.trade and not listing.how_to_invest:
        found.append("trade_without_steps")
    if any(
        step.last_verified is None or today - step.last_verified > STEP_FRESHNESS
        for step in listing.how_to_invest
    ):
        found.append("steps_not_verified")
    return [Warning(code, WARNINGS[code]) for code in found]
