"""Per-host politeness shared through the real Redis."""

import threading
import time

import pytest

from tracker.ingestion.politeness import HostBusyError, HostGate, LocalHostGate


def test_no_more_than_the_limit_of_requests_reach_one_host_at_once(redis_client):
    gate = HostGate(redis_client, limit=2, gap_ms=0, prefix="test:gate:")
    inside, peak, lock = 0, 0, threading.Lock()

    def request():
        nonlocal inside, peak
        with gate("news.example"):
            with lock:
                inside += 1
                peak = max(peak, inside)
            time.sleep(0.05)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 2


def test_requests_to_one_host_are_spaced_by_the_gap(redis_client):
    gate = HostGate(redis_client, limit=5, gap_ms=100, prefix="test:gate:")
    starts = []
    for _ in range(3):
        with gate("news.example"):
            starts.append(time.monotonic())
    assert starts[1] - starts[0] >= 0.09 and starts[2] - starts[1] >= 0.09


def test_other_hosts_are_not_held_up(redis_client):
    gate = HostGate(redis_client, limit=1, gap_ms=0, prefix="test:gate:", wait_seconds=0.2)
    with gate("slow.example"):
        started = time.monotonic()
        with gate("fast.example"):
            assert time.monotonic() - started < 0.1


def test_a_host_that_stays_busy_is_a_transient_error(redis_client):
    gate = HostGate(redis_client, limit=1, gap_ms=0, prefix="test:gate:", wait_seconds=0.2)
    with gate("busy.example"), pytest.raises(HostBusyError) as busy, gate("busy.example"):
        pass
    assert busy.value.permanent is False and "busy.example" in str(busy.value)


def test_a_slot_left_by_a_killed_worker_frees_itself(redis_client):
    gate = HostGate(redis_client, limit=1, gap_ms=0, prefix="test:gate:", wait_seconds=1)
    # A slot taken long ago by a process that never released it.
    redis_client.zadd("test:gate:dead.example:slots", {"ghost": 0})
    with gate("dead.example"):
        pass


def test_the_in_process_gate_keeps_the_same_gap():
    gate = LocalHostGate(limit=1, gap_ms=100)
    starts = []
    for _ in range(3):
        with gate("news.example"):
            starts.append(time.monotonic())
    assert starts[2] - starts[0] >= 0.19
