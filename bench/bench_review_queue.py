"""How long the review queue takes to render with 10,000 pending articles.

    DEBUG=1 .venv/bin/python bench/bench_review_queue.py [--articles 10000] [--runs 9]

Builds a throwaway SQLite database under TRACKER_VAR_DIR (var/bench unless
set), fills one story with pending articles (a third with copies from other
outlets, some like an earlier rejected one, each with a suggested event), then
renders the admin pages an editor uses, logged in as a superuser through
Django's test client, and prints the median time and the query count of each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("TRACKER_VAR_DIR", str(ROOT / "var" / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from benchdb import fresh_sqlite  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    override_settings,
    setup_test_environment,
)
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from tracker.models import Article, Event, Story  # noqa: E402

PARAGRAPH = (
    "Meta has agreed to invest in Scale AI, the data-labelling company, in a deal that "
    "values it at about $29 billion, people familiar with the matter said. "
)


def fill(articles: int) -> Story:
    story = Story.objects.create(title="Meta and Scale AI", slug="meta-scale-ai")
    events = [
        Event.objects.create(
            story=story,
            title=f"Event {i}",
            slug=f"event-{i}",
            category="deal",
            occurred_on=dt.date(2025, 1, 1) + dt.timedelta(days=7 * i),
        )
        for i in range(40)
    ]
    now = timezone.now()
    rejected = Article.objects.create(
        story=story, guid="rejected", title="Rejected", review_state="rejected",
        reject_reason="opinion", reject_note="a column",
    )  # fmt: skip
    rows = [
        Article(
            story=story,
            guid=f"urn:bench:{i}",
            url=f"https://news{i % 50}.example.com/2025/{i}",
            normalized_url=f"https://news{i % 50}.example.com/2025/{i}",
            title=f"Meta and Scale AI, report {i}",
            title_key=f"meta scale ai report {i}",
            outlet=f"Outlet {i % 50}",
            published_at=now - dt.timedelta(minutes=7 * i),
            summary=f"<p>{PARAGRAPH}</p>",
            text=PARAGRAPH * 20,
            extraction_status=("full", "teaser", "failed", "pending")[i % 4],
            relevance_score=(i % 7) + 1,
            matched_terms=["Meta", "Scale AI"],
            suggested_event=events[i % len(events)],
            suggestion_score=0.5,
            previously_rejected=rejected if i % 25 == 0 else None,
        )
        for i in range(articles)
    ]
    Article.objects.bulk_create(rows, batch_size=1000)
    originals = list(
        Article.objects.filter(guid__startswith="urn:bench:").values_list("pk", flat=True)
    )
    copies = [
        Article(
            story=story,
            guid=f"urn:copy:{pk}:{k}",
            title="A copy",
            outlet=f"Copier {k}",
            duplicate_of_id=pk,
            review_state="duplicate",
            extraction_status="skipped",
        )
        for pk in originals[::3]
        for k in range(2)
    ]
    Article.objects.bulk_create(copies, batch_size=1000)
    return story


def measure(client: Client, url: str, runs: int) -> tuple[float, float, int, int]:
    """(median ms, max ms, queries, status) over ``runs`` renders after one warm-up."""
    client.get(url)
    timings = []
    queries = 0
    status = 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
        queries, status = len(captured), response.status_code
    return statistics.median(timings), max(timings), queries, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    setup_test_environment()
    # The public pages' cache (Redis in production) plays no part in the admin.
    override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    ).enable()
    fresh_sqlite(Path(settings.DATABASES["default"]["NAME"]))
    started = time.perf_counter()
    story = fill(args.articles)
    fill_seconds = time.perf_counter() - started
    user = get_user_model().objects.create_superuser("bench", "bench@example.org", "bench")
    client = Client()
    client.force_login(user)

    queue = reverse("admin:tracker_article_changelist")
    newest = Article.objects.filter(guid="urn:bench:0").get()
    pages = [
        ("queue (pending, 50 a page)", queue),
        ("queue, one story, page 100", f"{queue}?story__id__exact={story.pk}&p=100"),
        ("queue, score band and extraction", f"{queue}?score=high&extraction_status__exact=full"),
        ("queue, search", f"{queue}?q=report+4242"),
        ("article review page", reverse("admin:tracker_article_review", args=[newest.pk])),
        ("admin index with dashboard", reverse("admin:index")),
    ]
    pending = Article.objects.filter(review_state="pending").count()
    total = Article.objects.count()
    print(
        f"{pending} pending articles ({total} in all), filled in {fill_seconds:.1f} s; "
        f"{args.runs} runs each, DEBUG={settings.DEBUG}"
    )
    print(f"{'page':<36} {'median ms':>10} {'max ms':>8} {'queries':>8} {'status':>7}")
    for name, url in pages:
        median, worst, queries, status = measure(client, url, args.runs)
        print(f"{name:<36} {median:>10.1f} {worst:>8.1f} {queries:>8} {status:>7}")


if __name__ == "__main__":
    main()
