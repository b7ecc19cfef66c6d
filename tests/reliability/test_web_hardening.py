"""The web side: production settings pass Django's deployment checks, every page
carries a Content-Security-Policy, public pages run no inline script and take no
writes, drafts and private stories are a 404 everywhere, every form is
CSRF-protected, and admin log-in guessing is throttled."""

import os
import re
import secrets
import subprocess
import sys

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from tests.conftest import ROOT
from tests.factories import cite, make_event, make_story
from tracker.models import EventStatus

pytestmark = pytest.mark.django_db

# Public URL names and how to fill them; a name another part of the tracker has
# not built yet is skipped, so the list can run ahead of the pages.
STORY_PAGES = [
    "tracker:story",
    "tracker:story_changes",
    "tracker:story_feed",
    "tracker:story_timelinejs",
    "tracker:api:story",
    "tracker:api:events",
]
SITE_PAGES = ["tracker:story_list", "tracker:sitemap", "tracker:robots", "tracker:api:stories"]
EVENT_PAGES = [("tracker:event", "story_slug", "slug"), ("tracker:api:event", "slug", "event_slug")]


WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE)\b", re.I)


def url_or_none(name: str, **kwargs) -> str | None:
    try:
        return reverse(name, kwargs=kwargs or None)
    except NoReverseMatch:
        return None


@pytest.fixture
def site(db):
    """A public story with one published and one draft event, and a private story."""
    story = make_story(slug="open-story", title="Open story", is_public=True)
    published = make_event(story, slug="seen-event", title="Seen event")
    cite(published)
    draft = make_event(
        story, slug="draft-secret", title="Draft secret headline", status=EventStatus.DRAFT
    )
    hidden = make_story(slug="private-story", title="Private story", is_public=False)
    make_event(hidden, slug="hidden-event", title="Hidden event headline")
    return {"story": story, "published": published, "draft": draft, "hidden": hidden}


def public_urls(site) -> list[str]:
    urls = [url_or_none(name) for name in SITE_PAGES]
    urls += [url_or_none(name, slug=site["story"].slug) for name in STORY_PAGES]
    for name, story_kwarg, event_kwarg in EVENT_PAGES:
        urls.append(
            url_or_none(name, **{story_kwarg: site["story"].slug, event_kwarg: "seen-event"})
        )
    return [url for url in urls if url]


def test_production_settings_pass_the_deployment_checks_with_no_warning(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "news.example.org",
        "SECURE_SSL_REDIRECT": "1",
        "TRACKER_VAR_DIR": str(tmp_path),
        "TRACKER_REDIS_AUTOSTART": "0",
    }
    env.pop("SECURE_HSTS_SECONDS", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_a_weak_secret_key_fails_the_deployment_checks(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
        "DEBUG": "0",
        "SECRET_KEY": "short",
        "ALLOWED_HOSTS": "news.example.org",
        "TRACKER_VAR_DIR": str(tmp_path),
        "TRACKER_REDIS_AUTOSTART": "0",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "security.W009" in result.stdout + result.stderr


def assert_strict_policy(response, where: str) -> None:
    policy = response.headers.get("Content-Security-Policy", "")
    assert policy, f"{where}: no Content-Security-Policy"
    directives = dict(
        (part.split()[0], part.split()[1:]) for part in policy.split(";") if part.strip()
    )
    assert directives.get("script-src") == ["'self'"], f"{where}: {policy}"
    assert "'unsafe-inline'" not in directives.get("style-src", []), f"{where}: {policy}"
    assert directives.get("object-src") == ["'none'"]
    assert directives.get("frame-ancestors") == ["'none'"]


def test_every_public_page_has_a_strict_policy_and_no_inline_script(client, site, report):
    urls = [*public_urls(site), "/healthz", "/no-such-page/"]
    for url in urls:
        response = client.get(url, secure=True)
        assert_strict_policy(response, url)
        if "html" not in response.headers.get("Content-Type", ""):
            continue
        html = response.content.decode()
        for script in re.findall(r"<script\b[^>]*>", html, re.I):
            assert "src=" in script or "application/ld+json" in script, f"{url}: {script}"
        assert not re.search(r"<[^>]+\son[a-z]+\s*=", html, re.I), f"{url}: inline handler"
        assert not re.search(r"<[^>]+\sstyle\s*=", html, re.I), f"{url}: style attribute"
    report.input(
        "csp-public-pages",
        what=f"{len(urls)} public URLs fetched",
        expect="strict CSP header on each; no inline script, handler or style attribute",
        survived=True,
    )


def test_admin_pages_carry_the_policy_too(client, site, django_user_model):
    staff = django_user_model.objects.create_superuser("boss", "boss@example.org", "pw")
    assert_strict_policy(client.get("/admin/login/", secure=True), "login")
    client.force_login(staff)
    for url in ["/admin/", "/admin/tracker/article/", "/admin/tracker/event/"]:
        response = client.get(url, secure=True)
        assert response.status_code == 200, url
        assert_strict_policy(response, url)


def test_public_endpoints_take_no_writes(site, report):
    """A write method is refused with 405 everywhere, and not one INSERT, UPDATE
    or DELETE runs."""
    client = Client()
    for url in public_urls(site):
        for method in ("post", "put", "patch", "delete"):
            with CaptureQueriesContext(connection) as queries:
                response = getattr(client, method)(url, secure=True)
            writes = [q["sql"] for q in queries if WRITE.match(q["sql"])]
            assert not writes, f"{method.upper()} {url} wrote: {writes}"
            assert response.status_code == 405, f"{method.upper()} {url}"
    report.input(
        "write-methods-on-public-urls",
        what="POST, PUT, PATCH, DELETE on every public URL",
        expect="405, and no database write on any",
        survived=True,
    )


def test_drafts_and_private_stories_are_a_404_everywhere(client, site, report):
    story, draft, hidden = site["story"], site["draft"], site["hidden"]
    for name, story_kwarg, event_kwarg in EVENT_PAGES:
        url = url_or_none(name, **{story_kwarg: story.slug, event_kwarg: draft.slug})
        if url:
            assert client.get(url, secure=True).status_code == 404, url
        url = url_or_none(name, **{story_kwarg: hidden.slug, event_kwarg: "hidden-event"})
        if url:
            assert client.get(url, secure=True).status_code == 404, url
    for name in STORY_PAGES:
        url = url_or_none(name, slug=hidden.slug)
        if url:
            assert client.get(url, secure=True).status_code == 404, url
    for url in public_urls(site):
        body = client.get(url, secure=True).content.decode(errors="replace")
        for secret in ("Draft secret headline", "draft-secret", "Hidden event", "private-story"):
            assert secret not in body, f"{url} shows {secret!r}"
    report.input(
        "drafts-and-private-stories",
        what="draft event and private story probed on every public URL",
        expect="404 on their own URLs, absent from every list, feed and API answer",
        survived=True,
    )


def test_every_form_posts_with_a_csrf_token(site, django_user_model):
    staff = django_user_model.objects.create_superuser("boss", "boss@example.org", "pw")
    client = Client(enforce_csrf_checks=True)
    assert client.post("/admin/login/", {"username": "boss", "password": "pw"}).status_code == 403

    client.force_login(staff)
    from tracker.models import Article

    article = Article.objects.create(
        story=site["story"], guid="g1", url="https://wire.example/1", title="Scale AI story"
    )
    pages = [
        "/admin/",
        "/admin/tracker/article/",
        f"/admin/tracker/article/{article.pk}/review/",
        f"/admin/tracker/event/{site['published'].pk}/change/",
        "/admin/tracker/feed/add/",
    ]
    forms = 0
    for url in pages:
        html = client.get(url, secure=True).content.decode()
        for form in re.findall(r"<form\b[^>]*>.*?</form>", html, re.S | re.I):
            if re.search(r'method=["\']?post', form, re.I):
                forms += 1
                assert "csrfmiddlewaretoken" in form, f"{url}: a form without a CSRF token"
    assert forms >= 5
    response = client.post(
        f"/admin/tracker/article/{article.pk}/review/",
        {"decision": "reject", "reject-reason": "off_topic"},
        secure=True,
    )
    assert response.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_admin_log_in_guessing_is_throttled(settings, django_user_model, report):
    settings.AXES_ENABLED = True
    django_user_model.objects.create_superuser("admin", "admin@example.org", "right-password")
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    statuses = []
    for n in range(settings.AXES_FAILURE_LIMIT + 2):
        response = guesser.post(
            "/admin/login/", {"username": "admin", "password": f"guess-{n}"}, secure=True
        )
        statuses.append(response.status_code)
    locked = guesser.post(
        "/admin/login/", {"username": "admin", "password": "right-password"}, secure=True
    )

    assert statuses[: settings.AXES_FAILURE_LIMIT - 1] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert statuses[-1] == 429
    assert locked.status_code == 429, "the right password does not get through a lock"
    # The editor, from another address, still gets in: the lock is on the pair.
    editor = Client(REMOTE_ADDR="198.51.100.7")
    response = editor.post(
        "/admin/login/", {"username": "admin", "password": "right-password"}, secure=True
    )
    assert response.status_code == 302
    report.input(
        "login-guessing",
        what=f"{len(statuses)} wrong admin passwords from one address",
        expect=f"429 from failure {settings.AXES_FAILURE_LIMIT} for "
        f"{settings.AXES_COOLOFF_TIME}, the right password too; other addresses unaffected",
        survived=True,
    )


def test_the_admin_log_in_still_works_with_throttling_on(settings, client, django_user_model):
    settings.AXES_ENABLED = True
    django_user_model.objects.create_superuser("admin", "admin@example.org", "right-password")
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "admin", "password": "right-password"},
        secure=True,
    )
    assert response.status_code == 302 and response.url == "/admin/"
    assert client.get("/admin/", secure=True).status_code == 200
