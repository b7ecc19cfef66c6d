"""Hostile markup from feeds, through the real pipeline, into the review queue
and onto public pages, in Debian's Chromium: nothing runs, it shows as text.

Two walls are tested: the sanitizer (entries polled from a hostile feed), and,
behind it, autoescaping and the Content-Security-Policy (an article stored raw,
as if the sanitizer had let everything through)."""

import datetime as dt

import pytest

from tests.reliability.hostile import Play
from tracker import services
from tracker.ingestion import pipeline
from tracker.models import Article, Event, EventStatus, Feed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAYLOADS = [
    "<script>alert('script')</script>",
    "<img src=x onerror=alert('img')>",
    "<svg onload=alert('svg')><circle r=1></circle></svg>",
    "<a href=\"javascript:alert('link')\">click</a>",
    "<a href=\"data:text/html,<script>alert('data')</script>\">data</a>",
    "<div style=\"background:url(javascript:alert('css'))\">css</div>",
    "<style>@import 'http://203.0.113.1/x.css'; body{display:none}</style>",
    "<iframe srcdoc=\"<script>alert('frame')</script>\"></iframe>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert('mxss')>",
    "<form action=\"javascript:alert('form')\"><button>go</button></form>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(\'meta\')">',
    "\"><body onload=alert('attr')>",
]
RAW = " ".join(PAYLOADS)


def hostile_feed(server) -> bytes:
    def cdata(text: str) -> str:
        return f"<![CDATA[{text}]]>"

    items = []
    for n, payload in enumerate(PAYLOADS):
        link = server.route(
            f"/xss/{n}",
            Play(200, f"<html><body><article><p>{payload}</p></article></body></html>".encode()),
        )
        items.append(
            f"<item><title>{cdata(f'Scale AI {n} {payload}')}</title><link>{link}</link>"
            f"<author>{cdata(payload)}</author><description>{cdata('Scale AI ' + payload)}"
            "</description><pubDate>Thu, 12 Jun 2025 10:00:00 GMT</pubDate></item>"
        )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel>'
        f"<title>{cdata('Wire <svg onload=alert(1)>')}</title><link>https://wire.example/</link>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


@pytest.fixture(autouse=True)
def page_settings(settings, tmp_path):
    settings.SECURE_SSL_REDIRECT = False
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.STATIC_ROOT = tmp_path


def watch(page) -> dict[str, list[str]]:
    """Every dialog, console error and CSP violation the page produces."""
    seen: dict[str, list[str]] = {"dialogs": [], "errors": [], "violations": []}

    def on_dialog(dialog) -> None:
        seen["dialogs"].append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on(
        "console",
        lambda message: seen["errors"].append(message.text) if message.type == "error" else None,
    )
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', e => "
        "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));"
    )
    return seen


def test_hostile_markup_runs_nowhere_in_the_review_queue_or_on_public_pages(
    live_server, page, editor, hostile, story, artifacts_dir, report
):
    url = hostile.route("/xss.xml", Play(200, hostile_feed(hostile)))
    feed = Feed.objects.create(url=url)
    feed.stories.add(story)
    now = dt.datetime.now(dt.UTC)
    pipeline.lease_feed(feed.pk, now, force=True)
    assert pipeline.poll_feed(feed.pk, enqueued_at=now).status == "ok"
    polled = list(Article.objects.filter(feed=feed).order_by("pk"))
    assert len(polled) == len(PAYLOADS)
    for article in polled:
        pipeline.extract_article(article.pk)
    # Behind the sanitizer: a row stored raw, as if it had let everything through.
    raw = Article.objects.create(
        story=story,
        guid="raw",
        url=hostile.url("/xss/0"),
        title=f"Scale AI raw {RAW}"[:1000],
        outlet=RAW[:300],
        author=RAW[:300],
        summary=RAW,
        text=RAW,
    )
    event = Event.objects.create(
        story=story,
        slug="the-deal",
        title="Meta and Scale AI agree",
        category="deal",
        status=EventStatus.PUBLISHED,
        occurred_on=dt.date(2025, 6, 12),
    )
    services.accept_article(polled[0], editor, event=event, quote=RAW)
    services.accept_article(raw, editor, event=event, quote=RAW, attributed_to=RAW)
    services.create_event_from_article(polled[1], editor, category="deal", title=f"New {RAW}")
    Event.objects.filter(story=story).update(status=EventStatus.PUBLISHED)
    created = Event.objects.exclude(pk=event.pk).get(story=story)

    seen = watch(page)
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", "pw-editor")
    page.click("input[type=submit]")
    page.wait_for_selector("#content")
    visited = [
        "/admin/tracker/article/",
        f"/admin/tracker/article/{raw.pk}/review/",
        *(f"/admin/tracker/article/{a.pk}/review/" for a in polled),
        f"/admin/tracker/event/{created.pk}/change/",
        f"/admin/tracker/feed/{feed.pk}/change/",
        f"/stories/{story.slug}/",
        f"/stories/{story.slug}/events/{event.slug}/",
        f"/stories/{story.slug}/events/{created.slug}/",
    ]
    for path in visited:
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 200, path
        page.wait_for_load_state("load")
        page.wait_for_timeout(100)
        assert page.evaluate("document.querySelectorAll('script:not([src])').length") == (
            page.evaluate(
                "document.querySelectorAll('script[type=\"application/ld+json\"]').length"
            )
        ), f"{path}: an inline script in the DOM"
        assert page.evaluate("document.querySelectorAll('iframe, object, embed').length") == 0
        assert (
            page.evaluate(
                "[...document.querySelectorAll('a[href]')].filter("
                "a => !/^(https?:|mailto:|\\/|#|\\?)/.test(a.getAttribute('href'))).length"
            )
            == 0
        ), f"{path}: a link that is not http(s)"
        assert (
            page.evaluate(
                "[...document.querySelectorAll('*')].filter(e => [...e.attributes].some("
                "a => a.name.startsWith('on'))).length"
            )
            == 0
        ), f"{path}: an element with an event handler attribute"

    page.goto(f"{live_server.url}/admin/tracker/article/{raw.pk}/review/")
    assert "<img src=x onerror=alert('img')>" in page.inner_text("#content")
    page.screenshot(path=str(artifacts_dir / "xss-review.png"), full_page=True)
    page.goto(f"{live_server.url}/stories/{story.slug}/events/{event.slug}/")
    assert "<script>alert('script')</script>" in page.inner_text("main")
    page.screenshot(path=str(artifacts_dir / "xss-public-event.png"), full_page=True)

    assert seen["dialogs"] == [], seen["dialogs"]
    violations = [e for e in seen["errors"] if "Content Security" in e or "CSP violation" in e]
    assert violations == [], violations
    report.input(
        "hostile-markup-in-browser",
        what=f"{len(PAYLOADS)} XSS payloads in titles, authors, summaries, pages, quotes",
        expect="no dialog, no CSP violation, payloads shown as text",
        pages_visited=len(visited),
        dialogs=len(seen["dialogs"]),
        csp_violations=len(violations),
        survived=True,
    )
