"""Short reasons in Thai and English for each score component and each removal."""

from __future__ import annotations

from functools import cache

import geothai

from catalog.geography import region_of
from catalog.search.analysis import terms
from catalog.taxonomy import (
    MODEL_LABELS,
    REGION_LABELS,
    SECTOR_LABELS,
    STAGE_LABELS,
    InvestmentModel,
    Label,
    Region,
    Sector,
    Stage,
)
from core.formatting import Lang, thb_range
from matching.schemas import Reason
from matching.scoring import ListingRow, Preferences


def range_en(low: float, high: float) -> str:
    return thb_range(low, high, Lang.en)


def range_th(low: float, high: float) -> str:
    return thb_range(low, high, Lang.th)


@cache
def _province_names() -> dict[str, tuple[str, str]]:
    return {p.code: (p.name_th, p.name_en) for p in geothai.provinces()}


def _models(models: tuple[str, ...] | list[str]) -> tuple[str, str]:
    labels = [MODEL_LABELS[InvestmentModel(m)] for m in models]
    return ", ".join(x.th for x in labels), ", ".join(x.en.lower() for x in labels)


def sector_reason(row: ListingRow, prefs: Preferences, fit: float) -> Reason:
    label = SECTOR_LABELS[Sector(row.sector)]
    if not prefs.sectors:
        return Reason(
            component="sector",
            th=f"คุณเปิดรับทุกภาคธุรกิจ ({label.th})",
            en=f"you are open to any sector ({label.en})",
        )
    if fit >= 1.0:
        return Reason(
            component="sector",
            th=f"ภาคธุรกิจ{label.th}ตรงกับที่คุณสนใจ",
            en=f"{label.en} is a sector you invest in",
        )
    if fit > 0:
        return Reason(
            component="sector",
            th=f"ภาคธุรกิจ{label.th}ใกล้เคียงกับที่คุณสนใจ",
            en=f"{label.en} is related to the sectors you invest in",
        )
    return Reason(
        component="sector",
        th=f"ภาคธุรกิจ{label.th}อยู่นอกความสนใจของคุณ",
        en=f"{label.en} is outside the sectors you invest in",
    )


def geography_reason(row: ListingRow, prefs: Preferences, fit: float) -> Reason:
    name_th, name_en = _province_names()[row.province]
    region = REGION_LABELS[region_of(row.province)]
    if prefs.anywhere:
        return Reason(
            component="geography",
            th=f"คุณลงทุนได้ทุกจังหวัด (จ.{name_th})",
            en=f"you invest anywhere in Thailand ({name_en})",
        )
    if row.province in prefs.provinces:
        return Reason(
            component="geography",
            th=f"อยู่ในจังหวัด{name_th}ที่คุณเลือก",
            en=f"in {name_en}, a province you chose",
        )
    if region_of(row.province) in {Region(r) for r in prefs.regions}:
        return Reason(
            component="geography",
            th=f"อยู่ใน{region.th}ที่คุณเลือก",
            en=f"in the {region.en.lower()}, a region you chose",
        )
    if fit > 0:
        return Reason(
            component="geography",
            th=f"อยู่ใน{region.th} ใกล้จังหวัดที่คุณเลือก",
            en=f"in the {region.en.lower()}, near the provinces you chose",
        )
    return Reason(
        component="geography",
        th=f"จังหวัด{name_th}อยู่นอกพื้นที่ที่คุณเลือก",
        en=f"{name_en} is outside the areas you chose",
    )


def ticket_reason(row: ListingRow, prefs: Preferences, fit: float) -> Reason:
    cap_en, cap_th = (
        range_en(row.capital_min, row.capital_max),
        range_th(row.capital_min, row.capital_max),
    )
    ticket_en = range_en(prefs.ticket_min, prefs.ticket_max)
    ticket_th = range_th(prefs.ticket_min, prefs.ticket_max)
    if fit >= 1.0:
        return Reason(
            component="ticket",
            th=f"เงินลงทุน {cap_th} อยู่ในวงเงิน {ticket_th} ของคุณ",
            en=f"capital {cap_en} is inside your {ticket_en} ticket",
        )
    if fit > 0:
        share = round(fit * 100)
        return Reason(
            component="ticket",
            th=f"เงินลงทุน {cap_th} อยู่ในวงเงิน {ticket_th} ของคุณ {share}%",
            en=f"{share}% of the capital {cap_en} falls in your {ticket_en} ticket",
        )
    return Reason(
        component="ticket",
        th=f"เงินลงทุน {cap_th} อยู่นอกวงเงิน {ticket_th} ของคุณ",
        en=f"capital {cap_en} is outside your {ticket_en} ticket",
    )


def model_reason(row: ListingRow, prefs: Preferences, fit: float) -> Reason:
    if not prefs.models:
        return Reason(component="model", th="คุณรับทุกรูปแบบการลงทุน", en="you accept any model")
    offered_th, offered_en = _models(row.models)
    accepted_th, accepted_en = _models(prefs.models)
    if fit > 0:
        shared = [m for m in row.models if m in prefs.models]
        shared_th, shared_en = _models(shared)
        return Reason(
            component="model",
            th=f"เปิดรับรูปแบบ{shared_th}ที่คุณยอมรับ",
            en=f"offers {shared_en}, which you accept",
        )
    return Reason(
        component="model",
        th=f"โครงการเป็นแบบ{offered_th} คุณรับเฉพาะ{accepted_th}",
        en=f"listing is {offered_en}; you accept {accepted_en} only",
    )


def stage_reason(row: ListingRow, prefs: Preferences, fit: float) -> Reason:
    label = STAGE_LABELS[Stage(row.stage)]
    if fit > 0:
        return Reason(
            component="stage",
            th=f"อยู่ในระยะ{label.th} ซึ่งคุณรับได้",
            en=f"at stage {label.en.lower()}, which you accept",
        )
    return Reason(
        component="stage",
        th=f"ระยะ{label.th}ไม่อยู่ในระยะที่คุณรับ",
        en=f"stage {label.en.lower()} is not one you accept",
    )


def horizon_reason(row: ListingRow, prefs: Preferences, fit: float) -> Reason:
    if prefs.horizon_years is None:
        return Reason(component="horizon", th="คุณไม่ได้กำหนดกรอบเวลา", en="you set no horizon")
    if row.payback is None:
        return Reason(
            component="horizon",
            th="โครงการยังไม่ระบุระยะคืนทุน",
            en="the listing states no payback period",
        )
    if fit >= 1.0:
        return Reason(
            component="horizon",
            th=f"คืนทุน {row.payback:g} ปี ภายในกรอบ {prefs.horizon_years} ปีของคุณ",
            en=f"payback {row.payback:g} years fits your {prefs.horizon_years}-year horizon",
        )
    return Reason(
        component="horizon",
        th=f"คืนทุน {row.payback:g} ปี เกินกรอบ {prefs.horizon_years} ปีของคุณ",
        en=f"payback {row.payback:g} years exceeds your {prefs.horizon_years}-year horizon",
    )


def irr_reason(row: ListingRow, prefs: Preferences, fit: float) -> Reason:
    if prefs.min_irr_pct is None:
        return Reason(component="irr", th="คุณไม่ได้กำหนดผลตอบแทนขั้นต่ำ", en="you set no minimum IRR")
    if row.irr is None:
        return Reason(
            component="irr",
            th="โครงการยังไม่ระบุผลตอบแทน (IRR)",
            en="the listing states no expected IRR",
        )
    verdict_th = "ถึง" if fit >= 1.0 else "ต่ำกว่า"
    verdict_en = "meets" if fit >= 1.0 else "is below"
    return Reason(
        component="irr",
        th=f"IRR ที่คาดไว้ {row.irr:g}% {verdict_th}เกณฑ์ขั้นต่ำ {prefs.min_irr_pct:g}%",
        en=f"expected IRR {row.irr:g}% {verdict_en} your {prefs.min_irr_pct:g}% minimum",
    )


def text_reason(row: ListingRow, prefs: Preferences, fit: float) -> Reason | None:
    if fit <= 0:
        return None
    listing_words = set(terms(row.text))
    shared = [w for w in dict.fromkeys(terms(prefs.thesis)) if w in listing_words and len(w) > 2]
    words = ", ".join(shared[:5])
    return Reason(
        component="text",
        th=f"แนวทางลงทุนของคุณมีคำที่ตรงกับโครงการ: {words}",
        en=f"your thesis shares words with the listing: {words}",
    )


EXPLAINERS = {
    "sector": sector_reason,
    "geography": geography_reason,
    "ticket": ticket_reason,
    "model": model_reason,
    "stage": stage_reason,
    "horizon": horizon_reason,
    "irr": irr_reason,
    "text": text_reason,
}

REMOVAL_COMPONENT = {
    "excluded_sector": "sector",
    "excluded_model": "model",
    "ticket": "ticket",
    "stage": "stage",
}


def reasons_for(row: ListingRow, prefs: Preferences, components: dict[str, float]) -> list[Reason]:
    """One reason per component, strongest contributions first."""
    ordered = sorted(components, key=lambda name: -components[name])
    reasons = [EXPLAINERS[name](row, prefs, components[name]) for name in ordered]
    return [reason for reason in reasons if reason is not None]


def removal_reason(row: ListingRow, prefs: Preferences, constraint: str) -> Reason:
    """Why a hard constraint removed the listing."""
    if constraint == "excluded_sector":
        label = SECTOR_LABELS[Sector(row.sector)]
        return Reason(
            component="sector",
            th=f"คุณไม่ลงทุนในภาคธุรกิจ{label.th}",
            en=f"you exclude the {label.en} sector",
        )
    if constraint == "excluded_model":
        offered_th, offered_en = _models(row.models)
        return Reason(
            component="model",
            th=f"คุณไม่รับรูปแบบ{offered_th}",
            en=f"you exclude every model offered ({offered_en})",
        )
    explainer = EXPLAINERS[REMOVAL_COMPONENT[constraint]]
    reason = explainer(row, prefs, 0.0)
    assert reason is not None
    return reason


# --- gap report: what single change to a listing would bring in more investors ----------


def stage_gap(stage: Stage) -> Label:
    label = STAGE_LABELS[stage]
    return Label(f"ไปถึงระยะ{label.th}", f"reach stage {label.en.lower()}")


def model_gap(model: InvestmentModel) -> Label:
    label = MODEL_LABELS[model]
    return Label(f"เปิดรับรูปแบบ{label.th}", f"also offer {label.en.lower()}")


def split_capital_gap(low: int, middle: int, high: int) -> Label:
    return Label(
        f"แบ่งเงินลงทุนเป็นสองส่วน {range_th(low, middle)} และ {range_th(middle, high)}",
        f"split the capital into {range_en(low, middle)} and {range_en(middle, high)} tranches",
    )
