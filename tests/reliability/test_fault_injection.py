"""One run of real workers over healthy feeds mixed with every hostile feed of
the catalogue: the healthy ones fully ingested, the faulty ones each with its
error kind and a backoff, no worker dead, the private address never reached."""

import pytest
from django.conf import settings as django_settings
from django.db.models import Count

from tests.conftest import wait_for
from tests.reliability.conftest import worker_died
from tests.reliability.faults import CATALOGUE, FEED_CAP, items, rss
from tests.reliability.hostile import Play
from tracker import tasks
from tracker.ingestion import schedule
from tracker.models import Article, ExtractionStatus, Feed

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

HEALTHY_FEEDS = 20
ENTRIES_PER_FEED = 5


def flush_broker():
    import redis

    from config.embedded_redis import redis_client_url

    client = redis.Redis.from_url(redis_client_url(django_settings.REDIS_URL))
    client.flushdb()
    client.close()


def test_healthy_feeds_are_ingested_and_faulty_ones_back_off_in_one_run(
    hostile, private, story, settings, celery_env, processes, report
):
    settings.TRACKER_HOST_CONCURRENCY = 8
    settings.TRACKER_MAX_FEED_BYTES = FEED_CAP
    healthy: dict[int, set[str]] = {}
    for n in range(HEALTHY_FEEDS):
        entries = items(hostile, f"healthy-{n}", ENTRIES_PER_FEED)
        url = hostile.route(
            f"/healthy/{n}.xml",
            Play(200, rss(f"Healthy {n}", entries), {"Content-Type": "application/rss+xml"}),
        )
        feed = Feed.objects.create(url=url)
        feed.stories.add(story)
        healthy[feed.pk] = {e["link"] for e in entries}
    faulty: dict[int, object] = {}
    for fault in CATALOGUE:
        feed = Feed.objects.create(url=fault.serve(hostile, private))
        feed.stories.add(story)
        faulty[feed.pk] = fault

    flush_broker()
    env = celery_env()
    workers = [processes.worker("fault-a", env), processes.worker("fault-b", env)]
    tasks.poll_due_feeds_task.delay()

    def settled() -> bool:
        feeds = Feed.objects.all()
        return (
            not feeds.filter(last_polled_at__isnull=True).exists()
            and not feeds.filter(poll_started_at__isnull=False).exists()
            and not Article.objects.filter(extraction_status=ExtractionStatus.PENDING).exists()
        )

    wait_for(settled, timeout=150, interval=0.5, message="every feed polled, every page extracted")

    for feed_id, links in healthy.items():
        feed = Feed.objects.get(pk=feed_id)
        assert feed.consecutive_failures == 0 and not feed.last_error, feed.last_error
        stored = set(Article.objects.filter(feed=feed).values_list("url", flat=True))
        assert stored == links, f"feed {feed_id} lost {links - stored}"
    healthy_articles = Article.objects.filter(feed_id__in=healthy)
    assert set(healthy_articles.values_list("extraction_status", flat=True)) <= {
        ExtractionStatus.FULL,
        ExtractionStatus.TEASER,
    }

    for feed_id, fault in faulty.items():
        feed = Feed.objects.get(pk=feed_id)
        if fault.kind:
            assert feed.last_error_kind == fault.kind, (fault.name, feed.last_error)
            if feed.is_active:
                wait = (feed.next_poll_at - feed.last_polled_at).total_seconds()
                floor = schedule.failure_delay(1, retry_after=fault.retry_after or None)
                assert wait >= floor - 1, (fault.name, wait)
        else:
            assert feed.consecutive_failures == 0, (fault.name, feed.last_error)
            if fault.new is not None:
                assert Article.objects.filter(feed=feed).count() == fault.new, fault.name

    assert not private.hits, f"the private address was reached: {private.hits}"
    for worker in workers:
        assert not worker_died(worker), f"{worker.name}: {worker_died(worker)}"

    duplicates = (
        Article.objects.values("story", "feed", "guid")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .count()
    )
    expected = sum(len(links) for links in healthy.values())
    lost = expected - healthy_articles.count()
    assert duplicates == 0 and lost == 0
    report.run(
        "fault_injection",
        feeds=len(healthy) + len(faulty),
        healthy_feeds=len(healthy),
        faulty_feeds=len(faulty),
        articles=expected,
        lost=lost,
        duplicates=duplicates,
        private_hits=len(private.hits),
        workers_dead=sum(bool(worker_died(w)) for w in workers),
    )
    for feed_id, fault in faulty.items():
        feed = Feed.objects.get(pk=feed_id)
        report.input(
            fault.name,
            what=fault.what,
            expect=fault.expect,
            error_kind=feed.last_error_kind or "none",
            error=feed.last_error[:160],
            worker_run_error_kind=feed.last_error_kind or "none",
            worker_run_backoff_seconds=(
                int((feed.next_poll_at - feed.last_polled_at).total_seconds())
                if fault.kind and feed.is_active
                else None
            ),
            survived=True,
        )
