"""Numbers, dates and durations as the reader's locale writes them (babel, CLDR data).

"3,851" in English is "3 851" in Finnish and Swedish; "2019-09-24" is "24. syyskuuta 2019",
"24 september 2019" or "2019年9月24日"; a duration "P4Y" is "4 years", "4 vuotta", "4 år", "4年".
A value that is not what its datatype says is shown as it is written: the data are never hidden.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton
from babel.lists import format_list
from babel.numbers import format_decimal
from babel.units import format_unit

XSD = "http://www.w3.org/2001/XMLSchema#"
LOCALES = {"en": "en", "fi": "fi", "sv": "sv", "zh": "zh_Hans"}
NUMERIC = {
    XSD + name
    for name in ("integer", "decimal", "int", "long", "short", "nonNegativeInteger", "positiveInteger", "double")
}
DURATION = re.compile(
    r"^(?P<sign>-)?P(?:(?P<year>\d+)Y)?(?:(?P<month>\d+)M)?(?:(?P<week>\d+)W)?(?:(?P<day>\d+)D)?"
    r"(?:T(?:(?P<hour>\d+)H)?(?:(?P<minute>\d+)M)?(?:(?P<second>\d+(?:\.\d+)?)S)?)?$"
)
GYEAR = re.compile(r"^(-?\d{4,})(Z|[+-]\d\d:\d\d)?$")
GYEARMONTH = re.compile(r"^(\d{4})-(\d\d)(Z|[+-]\d\d:\d\d)?$")


def locale(language: str) -> Locale:
    return Locale.parse(LOCALES.get(language, "en"))


def number(value: int | float | Decimal | str, language: str) -> str:
    """A number with the locale's grouping and decimal signs ("3,851", "3 851")."""
    try:
        return format_decimal(Decimal(str(value)), locale=locale(language), decimal_quantization=False)
    except (InvalidOperation, ValueError):
        return str(value)


def duration(lexical: str, language: str) -> str:
    """An xsd:duration in words: "P4Y" -> "4 years", "P1Y6M" -> "1 year and 6 months"."""
    match = DURATION.match(lexical.strip())
    if not match or lexical.strip() in ("P", "PT"):
        return lexical
    where = locale(language)
    parts = [
        format_unit(Decimal(amount), f"duration-{unit}", length="long", locale=where)
        for unit in ("year", "month", "week", "day", "hour", "minute", "second")
        if (amount := match.group(unit)) is not None
    ]
    text = format_list(parts, locale=where) if parts else lexical
    return f"-{text}" if match.group("sign") else text


def calendar(lexical: str, datatype: str, language: str) -> str:
    """A date as the locale writes it: xsd:date in full, xsd:gYearMonth as month and year,
    xsd:gYear as the year, xsd:dateTime with its time."""
    text, where = lexical.strip(), locale(language)
    try:
        if datatype == XSD + "date":
            return format_date(date.fromisoformat(text[:10]), format="long", locale=where)
        if datatype == XSD + "gYearMonth" and (match := GYEARMONTH.match(text)):
            return format_skeleton("yMMMM", date(int(match[1]), int(match[2]), 1), locale=where)
        if datatype == XSD + "gYear" and (match := GYEAR.match(text)):
            return match[1]
        if datatype in (XSD + "dateTime", XSD + "dateTimeStamp"):
            return format_datetime(datetime.fromisoformat(text.replace("Z", "+00:00")), format="long", locale=where)
    except ValueError:
        return lexical
    return lexical


def literal(lexical: str, datatype: str, language: str) -> str:
    """A typed literal for a page: numbers, dates and durations in the reader's locale, anything
    else as it is written."""
    if datatype in NUMERIC:
        return number(lexical, language) if re.fullmatch(r"\s*[-+]?\d+(\.\d+)?\s*", lexical) else lexical
    if datatype == XSD + "duration":
        return duration(lexical, language)
    if datatype in (XSD + "date", XSD + "gYear", XSD + "gYearMonth", XSD + "dateTime", XSD + "dateTimeStamp"):
        return calendar(lexical, datatype, language)
    return lexical


SIZE_UNITS = (("digital-gigabyte", 1e9), ("digital-megabyte", 1e6), ("digital-kilobyte", 1e3))


def size(count: int | None, language: str) -> str:
    """A file size in the locale's words and units ("1.2 MB", "1,2 Mt")."""
    if count is None:
        return ""
    where = locale(language)
    for unit, factor in SIZE_UNITS:
        if count >= factor:
            return format_unit(round(Decimal(count) / Decimal(factor), 1), unit, length="short", locale=where)
    return format_unit(count, "digital-byte", length="long", locale=where)


def day(moment: date | datetime | None, language: str) -> str:
    """A day as the locale writes it in full ("2 December 2026", "2. joulukuuta 2026")."""
    if moment is None:
        return ""
    return format_date(
        moment.date() if isinstance(moment, datetime) else moment, format="long", locale=locale(language)
    )
