"""When to poll a feed next, from the outcome of this poll and its history.

Pure functions of their arguments (the clock and the random source are passed
in), so the pipeline decides and the tests can check every branch. Intervals
are whole seconds.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime
from typing import Final

DAY: Final = 24 * 3600

# Whatever a server asks for (ttl, sy:updatePeriod, Cache-Control, Retry-After),
# we wait at most a day: a feed that says "yearly" is still checked daily.
SERVER_FLOOR_CAP: Final = DAY

# Adaptive interval: halve it when a poll brought new entries, grow it by half
# when nothing new came. Halving reacts fast to a burst of news; the slower
# growth stops a briefly quiet feed from drifting to the maximum in a few polls.
SHRINK_FACTOR: Final = 0.5
GROWTH_FACTOR: Final = 1.5

# +-10% so feeds added together (or all failing when the network dropped) spread
# out instead of polling in lock-step.
JITTER: Final = 0.10

# A failing feed waits failures x base, capped at a day: 1 failure -> 5 min,
# 12 failures -> 1 h, and a dead feed is tried once a day until an operator looks.
FAILURE_BACKOFF_BASE: Final = 5 * 60
FAILURE_BACKOFF_CAP: Final = DAY

# Servers whose validators never change (or change on every request) would have
# us trust 304s forever; a full fetch without validators at least once a day
# catches a feed that kept its ETag after its content changed.
FULL_FETCH_EVERY: Final = dt.timedelta(hours=24)

_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)\"?", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|[,\s])(?:no-cache|no-store)(?:$|[,\s=])", re.IGNORECASE)


def _clamp(value: float, low: int, high: int) -> int:
    return int(max(low, min(high, round(value))))


def server_floor(
    *,
    ttl_seconds: int | None = None,
    update_period_seconds: int | None = None,
    max_age_seconds: int | None = None,
    retry_after_seconds: int | None = None,
) -> int:
    """The shortest interval the server asked for: the largest of its hints, each
    capped at a day. Returns 0 when the server gave no hint."""
    hints = (ttl_seconds, update_period_seconds, max_age_seconds, retry_after_seconds)
    return max((min(h, SERVER_FLOOR_CAP) for h in hints if h and h > 0), default=0)


def next_interval(
    *,
    current: int,
    new_entries: int,
    minimum: int,
    maximum: int,
    server_floor_seconds: int = 0,
) -> int:
    """The interval until the next poll after a successful one.

    Halves ``current`` when the poll found ``new_entries``, grows it by half when
    it found none, clamps it to [minimum, maximum] (TRACKER_MIN_INTERVAL and
    TRACKER_MAX_INTERVAL) and never goes below ``server_floor_seconds`` (see
    ``server_floor``), which wins over ``maximum`` but is itself capped at a day.
    """
    if minimum > maximum:
        raise ValueError("minimum must not exceed maximum")
    factor = SHRINK_FACTOR if new_entries > 0 else GROWTH_FACTOR
    interval = _clamp(max(current, 1) * factor, minimum, maximum)
    return max(interval, min(server_floor_seconds, SERVER_FLOOR_CAP))


def failure_delay(
    consecutive_failures: int,
    *,
    base: int = FAILURE_BACKOFF_BASE,
    retry_after: int | None = None,
) -> int:
    """Seconds to wait after a failed poll: linear in the number of consecutive
    failures (this one included), capped at a day, and never less than the
    server's Retry-After (itself capped at a day)."""
    delay = min(max(consecutive_failures, 1) * base, FAILURE_BACKOFF_CAP)
    if retry_after and retry_after > 0:
        delay = max(delay, min(retry_after, SERVER_FLOOR_CAP))
    return delay


def next_poll_at(
    now: dt.datetime,
    interval_seconds: int,
    *,
    rand: Callable[[], float] = random.random,
    jitter: float = JITTER,
) -> dt.datetime:
    """``now`` plus the interval, spread by +-``jitter`` (a fraction).

    ``rand`` returns a float in [0, 1): 0 gives the earliest time, 0.5 the exact
    interval; tests pass a constant.
    """
    spread = 1 + jitter * (2 * rand() - 1)
    return now + dt.timedelta(seconds=max(1, round(interval_seconds * spread)))


def parse_cache_control_max_age(headers: Mapping[str, str]) -> int | None:
    """``max-age`` of a Cache-Control header, in seconds (header names are looked up
    lower-cased). Returns None when there is none, or when the response says
    ``no-cache``/``no-store`` (which are no reason to poll less often)."""
    value = headers.get("cache-control", "")
    if not value or _NO_CACHE.search(value):
        return None
    match = _MAX_AGE.search(value)
    if match is None:
        return None
    seconds = int(match.group(1))
    return seconds if seconds > 0 else None


def parse_retry_after(value: str | None, now: dt.datetime) -> int | None:
    """A Retry-After value in seconds from ``now``: either delta-seconds ("120")
    or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT"). A date in the past gives
    0. Returns None when the header is missing or unreadable."""
    value = (value or "").strip()
    if not value:
        return None
    if value.isdigit():
        return int(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP-dates are GMT even when they forget to say so.
        when = when.replace(tzinfo=dt.UTC)
    return max(0, int((when - now).total_seconds()))


def needs_full_fetch(
    last_full_fetch_at: dt.datetime | None, now: dt.datetime, *, always_fetch_full: bool = False
) -> bool:
    """Whether this poll should go without ETag/Last-Modified: always for a feed
    flagged ``always_fetch_full``, and when the last full fetch is missing or at
    least FULL_FETCH_EVERY old."""
    if always_fetch_full or last_full_fetch_at is None:
        return True
    return now - last_full_fetch_at >= FULL_FETCH_EVERY
