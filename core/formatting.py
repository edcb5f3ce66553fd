"""How amounts and dates are written in Thai and in English: one formatter for the
portal, match reasons and gap reports alike."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from babel.dates import get_month_names

BANGKOK = ZoneInfo("Asia/Bangkok")


def bangkok_date(moment: datetime) -> date:
    """The calendar day in Thailand at ``moment`` (stored in UTC): 06:00 UTC is 13:00 in
    Bangkok, and 20:00 UTC already the next day there."""
    return moment.astimezone(BANGKOK).date()


class Lang(StrEnum):
    th = "th"
    en = "en"


def _decimal(value: float) -> str:
    """``1,250.5``: grouping and at most two decimals, as both Thai and English write it."""
    return f"{value:,.2f}".rstrip("0").rstrip(".")


def thb(amount: float, lang: Lang) -> str:
    """``12 ล้านบาท`` in Thai (Thai counts in millions), ``THB 12M`` in English."""
    if lang is Lang.th:
        if amount >= 1_000_000:
            return f"{_decimal(amount / 1_000_000)} ล้านบาท"
        return f"{_decimal(amount)} บาท"
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if amount >= size:
            return f"THB {_decimal(amount / size)}{suffix}"
    return f"THB {_decimal(amount)}"


def thb_range(low: float, high: float, lang: Lang) -> str:
    """``5–12 ล้านบาท``, ``THB 5M–12M``: the unit written once, an en dash between."""
    if low == high:
        return thb(low, lang)
    if lang is Lang.th and low >= 1_000_000:
        return f"{thb(low, lang).removesuffix(' ล้านบาท')}–{thb(high, lang)}"
    if lang is Lang.en:
        return f"{thb(low, lang)}–{thb(high, lang).removeprefix('THB ')}"
    return f"{thb(low, lang)} – {thb(high, lang)}"


def long_date(value: date | datetime | None, lang: Lang) -> str:
    """``3 พฤษภาคม พ.ศ. 2569`` (Buddhist era, as a Thai reader expects), ``3 May 2026``."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = bangkok_date(value)
    if lang is Lang.th:
        month = get_month_names("wide", locale="th_TH")[value.month]
        return f"{value.day} {month} พ.ศ. {value.year + 543}"
    return f"{value.day} {get_month_names('wide', locale='en')[value.month]} {value.year}"


def short_date(value: date, lang: Lang) -> str:
    """``3 พ.ค.``, ``3 May``: a day and month, for a chart's axis."""
    locale = "th_TH" if lang is Lang.th else "en"
    return f"{value.day} {get_month_names('abbreviated', locale=locale)[value.month]}"
