"""How amounts and dates are written in Thai and in English: one formatter for the
portal, match reasons and gap reports alike."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from babel.dates import get_month_names
from babel.numbers import (
    format_compact_currency,
    format_compact_decimal,
    format_decimal,
    get_currency_name,
)

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


# English for readers abroad: "US$1.2M", "JP¥180M" (CLDR's international English, where
# a dollar is a US dollar and a yen is a Japanese one, as a page about Thailand needs).
_FOREIGN_ENGLISH = "en_001"


def _foreign_number(amount: float) -> str:
    """``1.2 ล้าน``, ``3.4 แสน``: Thai counts large sums in its own words (CLDR's long form)."""
    return format_compact_decimal(amount, format_type="long", locale="th_TH", fraction_digits=1)


def foreign_amount(amount: float, currency: str, lang: Lang) -> str:
    """``US$1.2M`` in English, ``1.2 ล้านดอลลาร์สหรัฐ`` in Thai: an amount in another
    currency, rounded as an indicative figure is (Babel's CLDR data)."""
    if lang is Lang.th:
        number = _foreign_number(amount)
        gap = " " if number[-1:].isdigit() else ""
        return f"{number}{gap}{get_currency_name(currency, locale='th_TH')}"
    return format_compact_currency(amount, currency, locale=_FOREIGN_ENGLISH, fraction_digits=1)


def foreign_range(low: float, high: float, currency: str, lang: Lang) -> str:
    """``US$141K–US$338K``, ``1.4 แสน – 3.4 แสนดอลลาร์สหรัฐ``: the currency written once in Thai."""
    if foreign_amount(low, currency, lang) == foreign_amount(high, currency, lang):
        return foreign_amount(high, currency, lang)
    if lang is Lang.th:
        return f"{_foreign_number(low)} – {foreign_amount(high, currency, lang)}"
    return f"{foreign_amount(low, currency, lang)}–{foreign_amount(high, currency, lang)}"


def currency_name(currency: str, lang: Lang) -> str:
    """``ดอลลาร์สหรัฐ`` in Thai; the code (``USD``) in English, as rates are quoted."""
    return get_currency_name(currency, locale="th_TH") if lang is Lang.th else currency


def exchange_rate(value: float, lang: Lang) -> str:
    """``35.50``, ``0.2415``: two to four decimals, as rates are quoted."""
    return format_decimal(value, format="#,##0.00##", locale="th_TH" if lang is Lang.th else "en")


# Multipliers people type after an amount: Thai words first (longest first, so that
# "พันล้าน" is read before "ล้าน"), then English.
_MULTIPLIERS = (
    ("พันล้าน", 1_000_000_000),
    ("ลบ.", 1_000_000),
    ("ล้าน", 1_000_000),
    ("แสน", 100_000),
    ("หมื่น", 10_000),
    ("พัน", 1_000),
    ("billion", 1_000_000_000),
    ("bn", 1_000_000_000),
    ("b", 1_000_000_000),
    ("million", 1_000_000),
    ("mn", 1_000_000),
    ("m", 1_000_000),
    ("thousand", 1_000),
    ("k", 1_000),
)
_CURRENCY_MARKS = ("บาท", "thb", "฿", "baht")


def parse_thb(text: str) -> int:
    """An amount of baht as people type it: ``10M``, ``10 ล้าน``, ``10,000,000``,
    ``1.5 million``, ``THB 500k``, ``2 พันล้านบาท``. Raises ValueError otherwise."""
    cleaned = text.lower().replace(",", "")
    for mark in _CURRENCY_MARKS:
        cleaned = cleaned.replace(mark, "")
    cleaned = "".join(cleaned.split())
    multiplier = 1
    for word, size in _MULTIPLIERS:
        if cleaned.endswith(word):
            cleaned, multiplier = cleaned.removesuffix(word), size
            break
    number = cleaned
    if not number or not all(c.isdigit() or c == "." for c in number) or number.count(".") > 1:
        raise ValueError(f"not an amount: {text!r}")
    amount = round(float(number) * multiplier)
    if amount < 0:
        raise ValueError(f"not an amount: {text!r}")
    return amount


def bangkok_time(moment: datetime) -> str:
    """``14:05``: the time of day in Thailand, 24-hour, as both languages write it."""
    return moment.astimezone(BANGKOK).strftime("%H:%M")
