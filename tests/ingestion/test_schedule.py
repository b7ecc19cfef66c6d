"""Adaptive intervals, server hints, failure backoff and jitter."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from tracker.ingestion.schedule import (
    DAY,
    FULL_FETCH_EVERY,
    failure_delay,
    needs_full_fetch,
    next_interval,
    next_poll_at,
    parse_cache_control_max_age,
    parse_retry_after,
    server_floor,
)

NOW = dt.datetime(2025, 6, 16, 12, 0, tzinfo=dt.UTC)
MINUTE = 60
HOUR = 3600
LIMITS = {"minimum": 5 * MINUTE, "maximum": DAY}


def test_interval_halves_when_new_entries_arrived() -> None:
    assert next_interval(current=HOUR, new_entries=3, **LIMITS) == 30 * MINUTE


def test_interval_grows_by_half_when_nothing_was_new() -> None:
    assert next_interval(current=HOUR, new_entries=0, **LIMITS) == 90 * MINUTE


def test_busy_feed_settles_at_the_minimum() -> None:
    interval = HOUR
    for _ in range(10):
        interval = next_interval(current=interval, new_entries=5, **LIMITS)
    assert interval == 5 * MINUTE


def test_quiet_feed_settles_at_the_maximum() -> None:
    interval = HOUR
    for _ in range(20):
        interval = next_interval(current=interval, new_entries=0, **LIMITS)
    assert interval == DAY


def test_server_floor_wins_over_a_shorter_interval() -> None:
    interval = next_interval(
        current=10 * MINUTE, new_entries=2, server_floor_seconds=2 * HOUR, **LIMITS
    )
    assert interval == 2 * HOUR


def test_server_floor_is_capped_at_a_day_even_above_the_maximum() -> None:
    interval = next_interval(
        current=HOUR,
        new_entries=0,
        server_floor_seconds=30 * DAY,
        minimum=5 * MINUTE,
        maximum=6 * HOUR,
    )
    assert interval == DAY


def test_minimum_above_maximum_is_refused() -> None:
    with pytest.raises(ValueError):
        next_interval(current=HOUR, new_entries=0, minimum=DAY, maximum=HOUR)


def test_server_floor_is_the_largest_hint_each_capped_at_a_day() -> None:
    assert server_floor() == 0
    assert server_floor(ttl_seconds=HOUR, max_age_seconds=600) == HOUR
    assert server_floor(update_period_seconds=7 * DAY) == DAY
    assert server_floor(retry_after_seconds=2 * HOUR, ttl_seconds=None) == 2 * HOUR
    assert server_floor(ttl_seconds=0, max_age_seconds=-5) == 0


def test_failure_backoff_is_linear_in_failures_and_capped_at_a_day() -> None:
    assert failure_delay(1, base=300) == 300
    assert failure_delay(4, base=300) == 1200
    assert failure_delay(1000, base=300) == DAY


def test_failure_backoff_respects_retry_after() -> None:
    assert failure_delay(1, base=300, retry_after=3600) == 3600
    assert failure_delay(1, base=300, retry_after=10 * DAY) == DAY
    assert failure_delay(3, base=300, retry_after=60) == 900


def test_jitter_spreads_the_next_poll_by_ten_percent() -> None:
    assert next_poll_at(NOW, 1000, rand=lambda: 0.5) == NOW + dt.timedelta(seconds=1000)
    assert next_poll_at(NOW, 1000, rand=lambda: 0.0) == NOW + dt.timedelta(seconds=900)
    assert next_poll_at(NOW, 1000, rand=lambda: 0.999999) == NOW + dt.timedelta(seconds=1100)


def test_next_poll_is_always_in_the_future() -> None:
    assert next_poll_at(NOW, 0, rand=lambda: 0.0) > NOW


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("max-age=600", 600),
        ("public, max-age=3600, must-revalidate", 3600),
        ('max-age="120"', 120),
        ("s-maxage=900", None),
        ("no-cache, max-age=600", None),
        ("no-store", None),
        ("max-age=0", None),
        ("", None),
    ],
)
def test_cache_control_max_age_is_read_when_it_means_something(
    value: str, expected: int | None
) -> None:
    assert parse_cache_control_max_age({"cache-control": value}) == expected


def test_missing_cache_control_gives_none() -> None:
    assert parse_cache_control_max_age({}) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120),
        (" 0 ", 0),
        ("Mon, 16 Jun 2025 12:10:00 GMT", 600),
        ("Mon, 16 Jun 2025 11:00:00 GMT", 0),
        ("Monday, 16-Jun-25 12:01:00 GMT", 60),
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_as_a_date(
    value: str | None, expected: int | None
) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_full_fetch_is_needed_once_a_day_despite_304s() -> None:
    assert needs_full_fetch(None, NOW)
    assert not needs_full_fetch(NOW - dt.timedelta(hours=23), NOW)
    assert needs_full_fetch(NOW - FULL_FETCH_EVERY, NOW)


def test_feed_flagged_always_fetch_full_never_uses_validators() -> None:
    assert needs_full_fetch(NOW, NOW, always_fetch_full=True)


@time_machine.travel(NOW, tick=False)
def test_schedule_follows_the_clock_it_is_given() -> None:
    now = dt.datetime.now(dt.UTC)
    interval = next_interval(current=HOUR, new_entries=1, **LIMITS)
    assert next_poll_at(now, interval, rand=lambda: 0.5) == NOW + dt.timedelta(minutes=30)
    assert parse_retry_after("Mon, 16 Jun 2025 13:00:00 GMT", now) == HOUR
