"""The reasons of a selection plan in Thai and English: why each listing pitches, why
each candidate left out stays out, and the notes on the plan as a whole. Names (of
investors, cities, publishers, listings) are data and appear as they were typed."""

from __future__ import annotations

from collections.abc import Sequence

from catalog.taxonomy import KIND_LABELS, ListingKind
from matching.pitchday.schemas import Named, Why

NAMES_SHOWN = 3


def points(value: float) -> str:
    """A fit in points, as a reader of either language writes it: 1,234.5."""
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def _names(names: Sequence[str]) -> tuple[str, str]:
    shown = ", ".join(names[:NAMES_SHOWN])
    more = len(names) - NAMES_SHOWN
    if more <= 0:
        return shown, shown
    return f"{shown} และอีก {more} ราย", f"{shown} and {more} more"


def _kind(kind: str) -> tuple[str, str]:
    label = KIND_LABELS[ListingKind(kind)]
    return label.th, label.en.lower()


# --- a chosen listing -------------------------------------------------------------------


def pinned() -> Why:
    return Why(code="pinned", th="ผู้จัดงานปักหมุดให้นำเสนอ", en="pinned by the organiser")


def serves(count: int, total: float, threshold: float) -> Why:
    return Why(
        code="serves",
        th=f"ตรงใจนักลงทุนที่มาร่วมงาน {count} ราย (คะแนน {points(threshold)} ขึ้นไป) "
        f"ความเหมาะสมรวม {points(total)}",
        en=f"fits {count} of the attending investors (scores of {points(threshold)} or more); "
        f"total fit {points(total)}",
    )


def fills_a_slot(threshold: float) -> Why:
    return Why(
        code="fills_a_slot",
        th=f"เติมช่วงนำเสนอที่ว่าง: ไม่มีนักลงทุนที่มาร่วมงานให้คะแนนถึง {points(threshold)}",
        en=f"fills a free slot: no attending investor scores it {points(threshold)} or more",
    )


def needed_by(names: Sequence[str], wanted: int) -> Why:
    th, en = _names(names)
    return Why(
        code="coverage",
        th=f"จำเป็นเพื่อให้ {th} มีโครงการที่ตรงใจอย่างน้อย {wanted} โครงการ",
        en=f"needed so that {en} have at least {wanted} listings that serve them",
    )


def kind_minimum(kind: str, wanted: int) -> Why:
    th, en = _kind(kind)
    return Why(
        code="kind_minimum",
        th=f"จำเป็นตามกติกาขั้นต่ำต่อประเภท: {th} อย่างน้อย {wanted} โครงการ",
        en=f"needed for the minimum per kind: {en}, at least {wanted}",
    )


# --- a candidate left out -----------------------------------------------------------------


def excluded() -> Why:
    return Why(code="excluded", th="ผู้จัดงานไม่ให้นำเสนอ", en="excluded by the organiser")


def no_fit(threshold: float) -> Why:
    return Why(
        code="no_fit",
        th=f"ไม่มีนักลงทุนที่มาร่วมงานให้คะแนนถึง {points(threshold)}",
        en=f"no attending investor scores it {points(threshold)} or more",
    )


def pinned_full() -> Why:
    return Why(
        code="pinned_full",
        th="ช่วงนำเสนอทั้งหมดเป็นของโครงการที่ปักหมุดไว้",
        en="every pitch slot went to a pinned listing",
    )


def lower_fit(own: float, lowest: float, title_th: str, title_en: str) -> Why:
    return Why(
        code="lower_fit",
        th=f"ความเหมาะสมรวม {points(own)} ต่ำกว่า {points(lowest)} ของ “{title_th}” "
        "ซึ่งต่ำที่สุดในโครงการที่ได้รับเลือก",
        en=f"total fit {points(own)} is below {points(lowest)}, that of “{title_en}”, "
        "the lowest of the chosen listings",
    )


def city_full(city: Named, cap: int) -> Why:
    return Why(
        code="city_full",
        th=f"{city.name_th} มีโครงการได้นำเสนอครบโควตา {cap} โครงการต่อเมืองแล้ว",
        en=f"{city.name_en} has reached the quota of {cap} pitching per city",
    )


def publisher_full(publisher: Named, cap: int) -> Why:
    return Why(
        code="publisher_full",
        th=f"{publisher.name_th} มีโครงการได้นำเสนอครบโควตา {cap} โครงการต่อผู้เผยแพร่แล้ว",
        en=f"{publisher.name_en} has reached the quota of {cap} pitching per publisher",
    )


def rules_first(own: float) -> Why:
    return Why(
        code="rules_first",
        th=f"ความเหมาะสมรวม {points(own)} สูงกว่าบางโครงการที่ได้รับเลือก "
        "แต่โครงการเหล่านั้นจำเป็นตามกติกาขั้นต่ำต่อประเภทหรือต่อนักลงทุน",
        en=f"its total fit {points(own)} beats some chosen listings, but those were needed "
        "for the minimum per kind or per investor",
    )


def not_reached() -> Why:
    return Why(
        code="not_reached",
        th="ตัวแก้ปัญหาหยุดที่เวลาจำกัดก่อนจะเลือกโครงการนี้ได้",
        en="the solver stopped at its time limit before it could take this one",
    )


# --- notes on the whole plan ------------------------------------------------------------------


def all_chosen(count: int, slots: int) -> Why:
    return Why(
        code="all_chosen",
        th=f"กลุ่มผู้สมัครมี {count} โครงการสำหรับ {slots} ช่วงนำเสนอ: ทุกโครงการได้นำเสนอ",
        en=f"The pool has {count} listings for {slots} pitch slots: all of them pitch",
    )


def pins_over_quota(cities: Sequence[str], publishers: Sequence[str]) -> Why:
    th, en = _names([*cities, *publishers])
    return Why(
        code="pins_over_quota",
        th=f"โครงการที่ปักหมุดเกินโควตาของ {th}: ยังคงได้นำเสนอ",
        en=f"Pinned listings exceed the quota of {en}: they pitch all the same",
    )


def kind_short(kind: str, chosen: int, wanted: int) -> Why:
    th, en = _kind(kind)
    return Why(
        code="kind_short",
        th=f"ได้โครงการประเภท{th} {chosen} โครงการ จากที่กติกากำหนด {wanted} "
        "โครงการ: กลุ่มผู้สมัครและโควตาไม่เอื้อให้มากกว่านี้",
        en=f"{chosen} {en} listings of the {wanted} the rules ask for: the pool and the "
        "quotas allow no more",
    )


def coverage_short(investors: int, wanted: int, missing: int, unavoidable: int) -> Why:
    if wanted == 1:
        return Why(
            code="coverage_short",
            th=f"นักลงทุน {investors} รายไม่มีโครงการที่ได้รับเลือกซึ่งตรงใจ "
            f"(ตัวแก้ปัญหาพิสูจน์ว่าอย่างน้อย {unavoidable} รายหลีกเลี่ยงไม่ได้)",
            en=f"No chosen listing serves {investors} of the attending investors (the solver "
            f"proves it unavoidable for at least {unavoidable})",
        )
    return Why(
        code="coverage_short",
        th=f"นักลงทุน {investors} รายมีโครงการที่ได้รับเลือกซึ่งตรงใจน้อยกว่า {wanted} โครงการ "
        f"(ขาดรวม {missing} ตัวแก้ปัญหาพิสูจน์ว่าอย่างน้อย {unavoidable} หลีกเลี่ยงไม่ได้)",
        en=f"{investors} investors are served by fewer than {wanted} chosen listings ({missing} "
        f"missing in all; the solver proves at least {unavoidable} unavoidable)",
    )


def no_match(investors: int, threshold: float) -> Why:
    return Why(
        code="no_match",
        th=f"นักลงทุน {investors} รายไม่ให้คะแนนโครงการใดในกลุ่มผู้สมัครถึง {points(threshold)}",
        en=f"{investors} attending investors score no listing in the pool "
        f"{points(threshold)} or more",
    )


def no_investors() -> Why:
    return Why(
        code="no_investors",
        th="ยังไม่มีนักลงทุนที่มาร่วมงาน: ความเหมาะสมรวมของทุกโครงการเป็นศูนย์",
        en="No investors attend yet: every total fit is 0",
    )


def unpublished(count: int) -> Why:
    return Why(
        code="unpublished",
        th=f"โครงการในกลุ่มผู้สมัคร {count} โครงการไม่ได้เผยแพร่แล้ว จึงไม่ถูกพิจารณา",
        en=f"{count} listings of the pool are no longer published and were not considered",
    )


def stopped(by_time: bool) -> Why:
    limit_th, limit_en = (
        ("เวลาจำกัด", "its time limit") if by_time else ("จำนวนรอบจำกัด", "its node limit")
    )
    return Why(
        code="not_proven",
        th=f"ตัวแก้ปัญหาหยุดที่{limit_th}ก่อนพิสูจน์ว่าแผนนี้ดีที่สุด: "
        "ช่องว่างระหว่างความเหมาะสมรวมกับขอบเขตบอกว่าอาจห่างจากดีที่สุดเพียงใด",
        en=f"The solver stopped at {limit_en} before proving this plan the best: the gap to "
        "its bound says how far from the best it may be",
    )
