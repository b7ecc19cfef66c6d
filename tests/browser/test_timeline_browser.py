"""The public timeline in a real browser (Debian's Chromium) at desktop and phone
widths: nothing scrolls sideways, expected events stand out, the page logs no
error. Screenshots are kept in artifacts/ for a person to look at."""

import json
import os
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import make_story, populate
from tracker import public
from tracker.cache import local_pages
from tracker.storyio import import_story, load_document

FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "meta-scale-ai.json"
# `npm install --no-save @knight-lab/timelinejs` in the checkout enables the
# TimelineJS rendering test; TIMELINEJS_DIST may point at another copy of dist/.
TIMELINEJS_DIST = Path(
    os.environ.get("TIMELINEJS_DIST")
    or Path(settings.BASE_DIR) / "node_modules" / "@knight-lab" / "timelinejs" / "dist"
)

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}


@pytest.fixture(autouse=True)
def page_settings(settings, tmp_path):
    """Plain HTTP on the live server, static files without the hashed manifest, and
    a cache of the test's own."""
    settings.SECURE_SSL_REDIRECT = False
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": f"browser-{uuid.uuid4()}",
        }
    }
    local_pages.clear()


@pytest.fixture
def seeded_story(transactional_db):
    return import_story(load_document(FIXTURE), base_dir=FIXTURE.parent)


@pytest.fixture
def console_errors(page):
    """Errors the page logs (failed loads, script errors, CSP violations)."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def open_timeline(page, live_server, viewport, path="/stories/meta-scale-ai/"):
    page.set_viewport_size(viewport)
    response = page.goto(live_server.url + path)
    assert response.status == 200
    return response


def test_the_timeline_at_desktop_width(
    page, live_server, seeded_story, console_errors, artifacts_dir
):
    open_timeline(page, live_server, DESKTOP)

    assert page.locator("h1").inner_text() == "Meta and Scale AI"
    assert page.locator("article.event").count() == 15
    expected = page.locator("article.event--expected")
    assert expected.count() >= 1
    first = expected.first
    assert first.locator(".badge--expected").inner_text() == "Expected"
    assert first.locator("time").first.inner_text().endswith(", expected")
    # Dashed, so it reads as not yet a fact even without the badge.
    assert first.evaluate("e => getComputedStyle(e).borderTopStyle") == "dashed"
    assert page.locator("link[rel=alternate][type='application/atom+xml']").count() == 1
    page.screenshot(path=str(artifacts_dir / "timeline-desktop.png"), full_page=True)
    assert console_errors == []


def test_the_timeline_on_a_phone_never_scrolls_sideways(
    page, live_server, seeded_story, console_errors, artifacts_dir
):
    open_timeline(page, live_server, PHONE)

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.locator("details.filters__more summary").click()
    differ = page.locator("details.differ").first
    differ.locator("summary").click()
    assert differ.locator(".differ__values li").count() >= 2
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(artifacts_dir / "timeline-phone.png"), full_page=True)
    assert console_errors == []


def test_category_filters_are_plain_links_that_work_without_javascript(
    browser, live_server, seeded_story
):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        open_timeline(page, live_server, DESKTOP)
        page.get_by_role("link", name="Product 5").click()

        assert page.url.endswith("/stories/meta-scale-ai/?category=product")
        tags = page.locator("article.event .tag--category").all_inner_texts()
        assert tags and set(tags) == {"Product"}
        assert "Showing 5 of 15 events" in page.locator(".active-filter").inner_text()
    finally:
        context.close()


def test_a_long_timeline_pages_by_plain_links_and_an_event_page_leads_back_to_its_card(
    browser, live_server, transactional_db, monkeypatch, artifacts_dir
):
    monkeypatch.setattr(public, "TIMELINE_PAGE_SIZE", 12)
    story = make_story(slug="long", title="A long story")
    events = populate(story, 60)  # every nine days from January 2025
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        open_timeline(page, live_server, PHONE, "/stories/long/")
        first = page.locator("article.event").count()
        assert 6 < first <= 12
        assert "page 1 of" in page.locator(".timeline-pages__status").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(artifacts_dir / "timeline-pages-phone.png"), full_page=True)

        page.get_by_role("link", name="Later events").click()
        assert page.url.endswith("/stories/long/?page=2")
        assert page.locator("article.event").first.get_attribute("id") == (
            f"event-{events[first].slug}"
        )
        page.get_by_role("link", name="Earlier events").click()
        assert page.url.endswith("/stories/long/")

        page.locator(".timeline-pages").get_by_role("link", name="2026").click()
        assert "#year-2026" in page.url
        assert page.locator("#year-2026").is_visible()

        # An event far down the timeline: its page leads back to its own card.
        far = events[50]
        page.goto(f"{live_server.url}/stories/long/events/{far.slug}/")
        page.locator(".breadcrumbs").get_by_role("link", name="A long story").click()
        assert "?page=" in page.url and page.url.endswith(f"#event-{far.slug}")
        card = page.locator(f"#event-{far.slug}")
        assert card.is_visible()
        assert card.evaluate("e => e.matches(':target')")
        box = card.bounding_box()
        assert 0 <= box["y"] < PHONE["height"]
    finally:
        context.close()


def test_the_event_page_shows_claims_side_by_side(
    page, live_server, seeded_story, console_errors, artifacts_dir
):
    open_timeline(page, live_server, DESKTOP, "/stories/meta-scale-ai/events/closing/")

    values = page.locator(".claim").first.locator(".claim-value")
    assert values.count() >= 2
    first, second = values.nth(0).bounding_box(), values.nth(1).bounding_box()
    assert first["y"] == second["y"] and first["x"] < second["x"]
    assert page.locator(".claim-value--preferred").count() >= 1
    assert page.locator("#changes").inner_text() == "Change history"
    page.screenshot(path=str(artifacts_dir / "event-page.png"), full_page=True)
    assert console_errors == []


def test_keyboard_focus_is_visible_and_dark_mode_follows_the_system(
    page, live_server, seeded_story, artifacts_dir
):
    page.emulate_media(color_scheme="dark")
    open_timeline(page, live_server, PHONE)

    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert skip.evaluate("e => e === document.activeElement")
    assert skip.evaluate("e => getComputedStyle(e).outlineStyle") == "solid"
    assert skip.bounding_box()["y"] >= 0
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(20, 21, 24)"
    page.screenshot(path=str(artifacts_dir / "timeline-phone-dark.png"))


@pytest.mark.skipif(
    not (TIMELINEJS_DIST / "js" / "timeline.js").exists(),
    reason="TimelineJS is not installed (npm install --no-save @knight-lab/timelinejs)",
)
def test_timelinejs_renders_the_export_as_is(
    page, live_server, seeded_story, console_errors, tmp_path, artifacts_dir
):
    with urllib.request.urlopen(live_server.url + "/stories/meta-scale-ai/timeline.json") as r:
        data = json.load(r)
    html = tmp_path / "timelinejs.html"
    html.write_text(
        '<!doctype html><meta charset="utf-8">'
        f'<link rel="stylesheet" href="{(TIMELINEJS_DIST / "css" / "timeline.css").as_uri()}">'
        f'<script src="{(TIMELINEJS_DIST / "js" / "timeline.js").as_uri()}"></script>'
        '<div id="timeline" style="height: 700px"></div>'
        f"<script>new TL.Timeline('timeline', {json.dumps(data)});</script>"
    )
    page.set_viewport_size(DESKTOP)
    page.goto(html.as_uri())
    page.wait_for_selector(".tl-timemarker", state="attached")

    assert page.locator(".tl-slide").count() == 1 + len(data["events"])
    assert page.locator(".tl-timemarker").count() == len(data["events"])
    groups = page.locator(".tl-timegroup-message").all_inner_texts()
    assert set(groups) == {slide["group"] for slide in data["events"]}
    page.screenshot(path=str(artifacts_dir / "timelinejs.png"))
    # TimelineJS asks the network for a web font; nothing else may fail.
    assert [e for e in console_errors if "ERR_NAME_NOT_RESOLVED" not in e] == []
