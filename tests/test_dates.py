import datetime as dt

import pytest

from tracker.dates import (
    PRECISION_RANK,
    Precision,
    format_date,
    format_span,
    iso_partial,
    period_start,
)


@pytest.mark.parametrize(
    ("day", "precision", "expected"),
    [
        (dt.date(2025, 6, 12), Precision.DAY, "12 June 2025"),
        (dt.date(2025, 6, 12), Precision.MONTH, "June 2025"),
        (dt.date(2026, 2, 17), Precision.QUARTER, "Q1 2026"),
        (dt.date(2026, 11, 3), Precision.QUARTER, "Q4 2026"),
        (dt.date(2026, 7, 4), Precision.SEASON, "Summer 2026"),
        (dt.date(2026, 4, 1), Precision.SEASON, "Spring 2026"),
        (dt.date(2026, 10, 31), Precision.SEASON, "Autumn 2026"),
        (dt.date(2025, 12, 20), Precision.SEASON, "Winter 2025–26"),
        (dt.date(2026, 1, 20), Precision.SEASON, "Winter 2025–26"),
        (dt.date(2026, 2, 28), Precision.SEASON, "Winter 2025–26"),
        (dt.date(2016, 8, 9), Precision.YEAR, "2016"),
    ],
)
def test_each_precision_is_shown_as_precisely_as_it_is_known(day, precision, expected):
    assert format_date(day, precision) == expected


def test_a_day_is_not_zero_padded():
    assert format_date(dt.date(2025, 6, 2), Precision.DAY) == "2 June 2025"


def test_an_approximate_date_reads_about():
    assert format_span(dt.date(2016, 1, 1), Precision.YEAR, is_approximate=True) == "about 2016"


def test_a_span_shows_both_ends_with_an_en_dash():
    assert (
        format_span(dt.date(2025, 6, 1), Precision.MONTH, end=dt.date(2025, 8, 1))
        == "June 2025 – August 2025"
    )


def test_a_span_end_can_have_its_own_precision():
    text = format_span(
        dt.date(2025, 6, 12),
        Precision.DAY,
        end=dt.date(2026, 1, 1),
        end_precision=Precision.QUARTER,
    )
    assert text == "12 June 2025 – Q1 2026"


def test_an_approximate_span_reads_about_once():
    text = format_span(
        dt.date(2015, 1, 1), Precision.YEAR, end=dt.date(2016, 1, 1), is_approximate=True
    )
    assert text == "about 2015 – 2016"


@pytest.mark.parametrize(
    ("day", "precision", "start"),
    [
        (dt.date(2025, 6, 12), Precision.DAY, dt.date(2025, 6, 12)),
        (dt.date(2025, 6, 12), Precision.MONTH, dt.date(2025, 6, 1)),
        (dt.date(2026, 3, 31), Precision.QUARTER, dt.date(2026, 1, 1)),
        (dt.date(2026, 4, 1), Precision.QUARTER, dt.date(2026, 4, 1)),
        (dt.date(2026, 12, 31), Precision.QUARTER, dt.date(2026, 10, 1)),
        (dt.date(2026, 8, 31), Precision.SEASON, dt.date(2026, 6, 1)),
        (dt.date(2026, 5, 31), Precision.SEASON, dt.date(2026, 3, 1)),
        (dt.date(2026, 11, 30), Precision.SEASON, dt.date(2026, 9, 1)),
        (dt.date(2025, 12, 1), Precision.SEASON, dt.date(2025, 12, 1)),
        # January and February belong to the winter that began the December before.
        (dt.date(2026, 1, 15), Precision.SEASON, dt.date(2025, 12, 1)),
        (dt.date(2026, 2, 28), Precision.SEASON, dt.date(2025, 12, 1)),
        (dt.date(2016, 9, 30), Precision.YEAR, dt.date(2016, 1, 1)),
    ],
)
def test_period_start_is_the_first_day_of_the_period(day, precision, start):
    assert period_start(day, precision) == start


def test_period_start_refuses_an_unknown_precision():
    with pytest.raises(ValueError, match="unknown precision"):
        period_start(dt.date(2025, 1, 1), "fortnight")


def test_period_start_is_idempotent():
    for precision in Precision:
        start = period_start(dt.date(2026, 2, 14), precision)
        assert period_start(start, precision) == start


@pytest.mark.parametrize(
    ("day", "precision", "expected"),
    [
        (dt.date(2025, 6, 12), Precision.DAY, "2025-06-12"),
        (dt.date(2025, 6, 12), Precision.MONTH, "2025-06"),
        (dt.date(2026, 2, 12), Precision.QUARTER, "2026-01"),
        (dt.date(2026, 1, 12), Precision.SEASON, "2025-12"),
        (dt.date(2016, 6, 12), Precision.YEAR, "2016"),
    ],
)
def test_iso_partial_keeps_only_what_is_known(day, precision, expected):
    assert iso_partial(day, precision) == expected


def sort_key(day: dt.date, precision: Precision) -> tuple[dt.date, int]:
    """What Event ordering sorts on: the period's first day, then coarser first."""
    return (period_start(day, precision), PRECISION_RANK[precision])


def test_dates_of_every_precision_sort_into_one_order():
    dates = {
        "12 March 2026": (dt.date(2026, 3, 12), Precision.DAY),
        "March 2026": (dt.date(2026, 3, 1), Precision.MONTH),
        "Q1 2026": (dt.date(2026, 2, 1), Precision.QUARTER),
        "January 2026": (dt.date(2026, 1, 1), Precision.MONTH),
        "2026": (dt.date(2026, 6, 1), Precision.YEAR),
        "Winter 2025–26": (dt.date(2026, 1, 10), Precision.SEASON),
        "December 2025": (dt.date(2025, 12, 1), Precision.MONTH),
        "Summer 2026": (dt.date(2026, 7, 1), Precision.SEASON),
        "June 2026": (dt.date(2026, 6, 1), Precision.MONTH),
        "Q3 2026": (dt.date(2026, 8, 1), Precision.QUARTER),
        "2016": (dt.date(2016, 5, 5), Precision.YEAR),
    }
    ordered = sorted(dates, key=lambda name: sort_key(*dates[name]))
    assert ordered == [
        "2016",
        # Winter 2025–26 starts on 1 December, the same day as December 2025,
        # and a season is coarser than a month.
        "Winter 2025–26",
        "December 2025",
        # 2026, Q1 2026 and January 2026 all start on 1 January: coarser first.
        "2026",
        "Q1 2026",
        "January 2026",
        "March 2026",
        "12 March 2026",
        "Summer 2026",
        "June 2026",
        "Q3 2026",
    ]


def test_a_year_sorts_before_a_month_of_the_same_year():
    assert sort_key(dt.date(2025, 1, 1), Precision.YEAR) < sort_key(
        dt.date(2025, 1, 1), Precision.MONTH
    )
    assert sort_key(dt.date(2025, 9, 1), Precision.YEAR) < sort_key(
        dt.date(2025, 1, 1), Precision.MONTH
    )


def test_coarser_periods_rank_first():
    ranks = [PRECISION_RANK[p] for p in ("year", "season", "quarter", "month", "day")]
    assert ranks == sorted(ranks)
    assert len(set(ranks)) == len(ranks)
