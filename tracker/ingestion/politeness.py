"""Politeness per host, shared by every worker through Redis.

``HostGate(client, ...)(host)`` is a context manager held around each request:
at most ``limit`` requests to one host at once across all workers, and at least
``gap_ms`` between the starts of two requests to it. Slots are entries in a
sorted set scored by their start time, so a worker killed while holding one
frees it after ``stale_ms`` without any cleanup.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from tracker.ingestion.errors import CONNECTION, FetchError

# Atomic "take a slot": drop slots older than stale_ms, refuse when the host
# is full or its gap has not passed, else record ours. Returns 1 when taken.
_ACQUIRE = """
local slots, gap = KEYS[1], KEYS[2]
local now, stale, limit, token, gap_ms = tonumber(ARGV[1]), tonumber(ARGV[2]),
    tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', slots, '-inf', now - stale)
if redis.call('ZCARD', slots) >= limit then return 0 end
if gap_ms > 0 and not redis.call('SET', gap, '1', 'PX', gap_ms, 'NX') then return 0 end
redis.call('ZADD', slots, now, token)
redis.call('PEXPIRE', slots, stale)
return 1
"""

# Longest a request may hold a slot before it counts as abandoned: above the
# fetch's own total timeout, so a live request is never overtaken.
STALE_MS = 120_000
POLL_SECONDS = 0.05


class HostBusyError(FetchError):
    """No slot for the host within the wait: transient, try again later."""

    def __init__(self, host: str, waited: float) -> None:
        super().__init__(
            f"{host} is busy with other requests from this tracker (waited {waited:.0f} s)",
            kind=CONNECTION,
        )


class HostGate:
    def __init__(
        self,
        client: Any,
        *,
        limit: int,
        gap_ms: int,
        wait_seconds: float = 60.0,
        prefix: str = "tracker:host:",
    ) -> None:
        self.client = client
        self.limit = limit
        self.gap_ms = gap_ms
        self.wait_seconds = wait_seconds
        self.prefix = prefix
        self._acquire = client.register_script(_ACQUIRE)

    @contextlib.contextmanager
    def __call__(self, host: str) -> Iterator[None]:
        slots, gap = f"{self.prefix}{host}:slots", f"{self.prefix}{host}:gap"
        token = uuid.uuid4().hex
        started = time.monotonic()
        while not self._acquire(
            keys=[slots, gap],
            args=[int(time.time() * 1000), STALE_MS, self.limit, token, self.gap_ms],
        ):
            waited = time.monotonic() - started
            if waited > self.wait_seconds:
                raise HostBusyError(host, waited)
            time.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            self.client.zrem(slots, token)


class LocalHostGate:
    """The same rules inside one process, for `pollfeeds --sync` without Redis."""

    def __init__(self, *, limit: int, gap_ms: int) -> None:
        self.limit = limit
        self.gap_ms = gap_ms
        self._lock = threading.Lock()
        self._semaphores: dict[str, threading.Semaphore] = {}
        self._last_start: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, host: str) -> Iterator[None]:
        with self._lock:
            semaphore = self._semaphores.setdefault(host, threading.Semaphore(self.limit))
        with semaphore:
            with self._lock:
                wait = self._last_start.get(host, 0) + self.gap_ms / 1000 - time.monotonic()
                self._last_start[host] = time.monotonic() + max(wait, 0)
            if wait > 0:
                time.sleep(wait)
            yield
