"""Dates as precise as they are known.

An event date is a ``datetime.date`` plus a precision. The date is the first
day of the period it names ("June 2025" is stored as 2025-06-01, "Q1 2026" as
2026-01-01), so plain date order sorts across precisions; a coarser period
sorts before the finer ones it contains.
"""

import datetime as dt

from django.db import models


class Precision(models.TextChoices):
    DAY = "day", "Day"
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"
    SEASON = "season", "Season"
    YEAR = "year", "Year"


# Coarser periods first when two dates share a start day.
PRECISION_RANK = {
    Precision.YEAR: 0,
    Precision.SEASON: 1,
    Precision.QUARTER: 2,
    Precision.MONTH: 3,
    Precision.DAY: 4,
}

# Meteorological seasons (northern hemisphere), keyed by the first month.
SEASON_STARTS = {12: "Winter", 3: "Spring", 6: "Summer", 9: "Autumn"}


def period_start(day: dt.date, precision: str) -> dt.date:
    """The first day of the period of ``precision`` that contains ``day``."""
    if precision == Precision.DAY:
        return day
    if precision == Precision.MONTH:
        return day.replace(day=1)
    if precision == Precision.QUARTER:
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if precision == Precision.SEASON:
        if day.month == 12:
            return dt.date(day.year, 12, 1)
        if day.month <= 2:
            return dt.date(day.year - 1, 12, 1)
        return dt.date(day.year, 3 * (day.month // 3), 1)
    if precision == Precision.YEAR:
        return dt.date(day.year, 1, 1)
    raise ValueError(f"unknown precision {precision!r}")


def period_end(day: dt.date, precision: str) -> dt.date:
    """The last day of the period of ``precision`` that contains ``day``."""
    start = period_start(day, precision)
    months = {"day": 0, "month": 1, "quarter": 3, "season": 3, "year": 12}[precision]
    if not months:
        return start
    month = start.month - 1 + months
    return dt.date(start.year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)


def format_date(day: dt.date, precision: str) -> str:
    """'12 June 2025', 'June 2025', 'Q1 2026', 'Summer 2026', 'Winter 2025–26', '2016'."""
    start = period_start(day, precision)
    if precision == Precision.DAY:
        return f"{start.day} {start:%B %Y}"
    if precision == Precision.MONTH:
        return f"{start:%B %Y}"
    if precision == Precision.QUARTER:
        return f"Q{(start.month - 1) // 3 + 1} {start.year}"
    if precision == Precision.SEASON:
        name = SEASON_STARTS[start.month]
        if start.month == 12:
            return f"{name} {start.year}–{str(start.year + 1)[-2:]}"
        return f"{name} {start.year}"
    return str(start.year)


def format_span(
    start: dt.date,
    precision: str,
    *,
    end: dt.date | None = None,
    end_precision: str | None = None,
    is_approximate: bool = False,
) -> str:
    """A date or a span, with 'about' when the date is approximate."""
    text = format_date(start, precision)
    if end is not None:
        text = f"{text} – {format_date(end, end_precision or precision)}"
    if is_approximate:
        text = f"about {text}"
    return text


def iso_partial(day: dt.date, precision: str) -> str:
    """ISO 8601 reduced precision: '2025-06-12', '2025-06', '2026' (quarters, seasons: month)."""
    start = period_start(day, precision)
    if precision == Precision.DAY:
        return start.isoformat()
    if precision == Precision.YEAR:
        return f"{start.year:04d}"
    return f"{start.year:04d}-{start.month:02d}"
