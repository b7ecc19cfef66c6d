"""Crashes and restarts with real processes on the real broker and database:
a worker killed outright in the middle of a run, Redis restarted under running
workers, two workers on the same feeds. Nothing is lost, nothing doubled."""

import datetime as dt
import os
import signal
import time

import pytest
from django.conf import settings as django_settings
from django.db.models import Count, F, Q

from tests.conftest import wait_for
from tests.reliability.conftest import worker_died
from tests.reliability.faults import items, rss
from tests.reliability.hostile import Play
from tracker import tasks
from tracker.ingestion import pipeline
from tracker.models import Article, ExtractionStatus, Feed

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# How long the test lets a killed worker's unacknowledged tasks wait before the
# broker hands them to another worker (3600 s in production).
TEST_VISIBILITY_TIMEOUT = 15


def flush_broker():
    import redis

    from config.embedded_redis import redis_client_url

    client = redis.Redis.from_url(redis_client_url(django_settings.REDIS_URL))
    client.flushdb()
    client.close()


def make_feeds(hostile, story, count: int, per_feed: int, prefix: str) -> dict[int, set[str]]:
    """``count`` feeds of ``per_feed`` entries each; returns feed id -> entry links."""
    made = {}
    feeds = []
    for n in range(count):
        entries = items(hostile, f"{prefix}-{n}", per_feed)
        url = hostile.route(
            f"/{prefix}/{n}.xml",
            Play(200, rss(f"{prefix} {n}", entries), {"Content-Type": "application/rss+xml"}),
        )
        feeds.append(Feed(url=url))
        made[url] = {e["link"] for e in entries}
    Feed.objects.bulk_create(feeds)
    through = Feed.stories.through
    created = Feed.objects.filter(url__in=made)
    through.objects.bulk_create([through(feed_id=f.pk, story_id=story.pk) for f in created])
    return {f.pk: made[f.url] for f in created}


def let_time_pass(delta: dt.timedelta) -> None:
    """Move every timestamp the claims and leases compare back by ``delta``: what
    the database would look like had ``delta`` passed since the crash."""
    Feed.objects.filter(poll_started_at__isnull=False).update(
        poll_started_at=F("poll_started_at") - delta
    )
    Feed.objects.update(next_poll_at=F("next_poll_at") - delta)
    Feed.objects.filter(last_polled_at__isnull=False).update(
        last_polled_at=F("last_polled_at") - delta
    )
    Article.objects.update(created_at=F("created_at") - delta)


def audit(expected: dict[int, set[str]]) -> dict[str, int]:
    """Articles lost and doubled, against the links each feed carried."""
    stored: dict[int, list[str]] = {}
    for feed_id, url in Article.objects.values_list("feed_id", "url"):
        stored.setdefault(feed_id, []).append(url)
    lost = sum(len(links - set(stored.get(feed_id, []))) for feed_id, links in expected.items())
    doubled = sum(len(urls) - len(set(urls)) for urls in stored.values())
    by_guid = (
        Article.objects.values("story", "feed", "guid").annotate(n=Count("pk")).filter(n__gt=1)
    )
    originals = (
        Article.objects.originals()
        .exclude(normalized_url="")
        .values("story", "normalized_url")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    return {
        "articles": sum(len(links) for links in expected.values()),
        "stored": Article.objects.count(),
        "lost": lost,
        "duplicates": doubled + by_guid.count() + originals.count(),
    }


def test_a_worker_killed_mid_run_loses_nothing_and_doubles_nothing(
    hostile, story, settings, celery_env, processes, report
):
    settings.TRACKER_HOST_CONCURRENCY = 8
    expected = make_feeds(hostile, story, 200, 2, "kill")
    flush_broker()
    env = celery_env(TRACKER_VISIBILITY_TIMEOUT=str(TEST_VISIBILITY_TIMEOUT))
    first = processes.worker("kill-a", env)
    tasks.poll_due_feeds_task.delay()

    wait_for(
        lambda: Feed.objects.filter(last_polled_at__isnull=False).count() >= 50,
        timeout=90,
        message="a quarter of the feeds polled before the kill",
    )
    first.kill()
    polled_at_kill = Feed.objects.filter(last_polled_at__isnull=False).count()
    claimed_at_kill = Feed.objects.filter(poll_started_at__isnull=False).count()
    pending_at_kill = Article.objects.filter(extraction_status=ExtractionStatus.PENDING).count()

    second = processes.worker("kill-b", env)
    # The queue's remaining polls, then the killed worker's unacknowledged tasks
    # once the visibility timeout has passed.
    wait_for(
        lambda: (
            Feed.objects.filter(last_polled_at__isnull=True, poll_started_at__isnull=True).count()
            == 0
        ),
        timeout=120,
        message="every feed the dead worker had not claimed is polled",
    )
    time.sleep(TEST_VISIBILITY_TIMEOUT + 12)  # the sweep for abandoned tasks runs every 10 s
    stuck = list(Feed.objects.filter(poll_started_at__isnull=False).values_list("pk", flat=True))

    # A poll the dead worker had claimed stays claimed until RUN_LEASE, and its
    # feed is not due again until QUEUE_LEASE: let that time pass, then tick.
    let_time_pass(pipeline.QUEUE_LEASE + pipeline.EXTRACTION_LOST_AFTER)
    tasks.poll_due_feeds_task.delay()

    def settled() -> bool:
        return (
            not Feed.objects.filter(poll_started_at__isnull=False).exists()
            and not Feed.objects.filter(last_polled_at__isnull=True).exists()
            and not Article.objects.filter(extraction_status=ExtractionStatus.PENDING).exists()
        )

    wait_for(settled, timeout=120, interval=0.5, message="every feed polled and page extracted")
    figures = audit(expected)
    assert figures["lost"] == 0, figures
    assert figures["duplicates"] == 0, figures
    assert figures["stored"] == figures["articles"], figures
    assert not worker_died(second), worker_died(second)
    report.run(
        "worker_sigkill",
        feeds=len(expected),
        polled_before_kill=polled_at_kill,
        claimed_by_the_dead_worker=claimed_at_kill,
        pending_extractions_at_kill=pending_at_kill,
        claimed_after_redelivery=len(stuck),
        **figures,
    )
    report.input(
        "worker-sigkill",
        what="SIGKILL of a worker (main process and pool) a quarter into 200 feeds",
        expect="queue finished by a new worker; claims expire; nothing lost or doubled",
        survived=True,
    )


def test_workers_reconnect_and_finish_when_redis_restarts_mid_run(
    hostile, story, settings, celery_env, processes, dedicated_redis, report
):
    settings.TRACKER_HOST_CONCURRENCY = 8
    expected = make_feeds(hostile, story, 60, 2, "redis")
    # A worker kombu ends while it restores its unacknowledged messages leaves
    # them to the visibility timeout: a short one, so they come back in the test.
    env = celery_env(dedicated_redis.url, TRACKER_VISIBILITY_TIMEOUT=str(TEST_VISIBILITY_TIMEOUT))
    workers = [processes.worker("redis-a", env), processes.worker("redis-b", env)]
    processes.beat(env, tick_seconds=5)

    wait_for(
        lambda: Feed.objects.filter(last_polled_at__isnull=False).count() >= 10,
        timeout=90,
        message="the run under way before the restart",
    )
    dedicated_redis.stop()
    polled_at_stop = Feed.objects.filter(last_polled_at__isnull=False).count()
    time.sleep(3)
    dedicated_redis.start()

    restarted: list[str] = []

    def supervise() -> None:
        """What a process supervisor does (Compose's restart policy): start again a
        worker that exited. kombu can end a worker outright when the broker vanishes
        while it acknowledges a task (an AttributeError in its Redis transport's
        clean-up); the claim under test is that no work is lost when that happens."""
        for i, worker in enumerate(workers):
            if worker.process.poll() is not None:
                restarted.append(worker.name)
                workers[i] = processes.worker(f"{worker.name}-restarted", env)

    def reconnected() -> bool:
        supervise()
        return all(
            w.log.read_text(errors="replace").count("Connected to")
            >= (1 if w.name.endswith("-restarted") else 2)
            for w in workers
        )

    wait_for(reconnected, timeout=60, message="both workers reconnected to the new Redis")
    wait_for(
        lambda: (
            supervise()
            or not Feed.objects.filter(
                Q(last_polled_at__isnull=True) | Q(poll_started_at__isnull=False)
            ).exists()
        ),
        timeout=90,
        interval=0.5,
        message="every feed polled after the restart",
    )
    # Polls caught by the outage failed at the per-host gate (an internal error,
    # pushed back by the failure backoff), and articles stored just before it
    # could not send their extraction: let that time pass, beat does the rest.
    failed_in_outage = Feed.objects.filter(consecutive_failures__gt=0).count()
    unsent_extractions = Article.objects.filter(extraction_status=ExtractionStatus.PENDING).count()
    let_time_pass(pipeline.QUEUE_LEASE + pipeline.EXTRACTION_LOST_AFTER)

    def settled() -> bool:
        supervise()
        return (
            not Feed.objects.filter(consecutive_failures__gt=0).exists()
            and not Feed.objects.filter(poll_started_at__isnull=False).exists()
            and Article.objects.count() == 120
            and not Article.objects.filter(extraction_status=ExtractionStatus.PENDING).exists()
        )

    wait_for(settled, timeout=120, interval=0.5, message="the run finished after the restart")
    figures = audit(expected)
    assert figures["lost"] == 0 and figures["duplicates"] == 0, figures
    for worker in workers:
        assert not worker_died(worker), worker_died(worker)
    report.run(
        "redis_restart",
        polled_before_restart=polled_at_stop,
        polls_failed_in_outage=failed_in_outage,
        extractions_pending_after_restart=unsent_extractions,
        workers_restarted_by_the_supervisor=len(restarted),
        **figures,
    )
    report.input(
        "redis-restart",
        what="Redis stopped for 3 s and started again (append-only file kept) mid-run",
        expect="workers and beat reconnect; the run finishes",
        survived=True,
    )


def test_two_workers_polling_the_same_feeds_at_once_create_no_duplicates(
    hostile, story, settings, celery_env, processes, report
):
    settings.TRACKER_HOST_CONCURRENCY = 8
    expected = make_feeds(hostile, story, 40, 3, "race")
    flush_broker()
    env = celery_env()
    workers = [processes.worker("race-a", env), processes.worker("race-b", env)]
    from tracker import services

    # Every feed sent five times at once: the claims let one poll through, and
    # where two get through anyway (a redelivery after a lease ran out) the
    # unique constraints turn the second store into "already stored".
    for _ in range(5):
        services.poll_now(Feed.objects.all())

    def settled() -> bool:
        return (
            Article.objects.count() >= 120
            and not Feed.objects.filter(poll_started_at__isnull=False).exists()
            and not Article.objects.filter(extraction_status=ExtractionStatus.PENDING).exists()
        )

    wait_for(settled, timeout=120, interval=0.5, message="all feeds stored and extracted")
    time.sleep(2)  # the last of the 200 sends have run
    figures = audit(expected)
    assert figures["lost"] == 0 and figures["duplicates"] == 0, figures
    assert figures["stored"] == figures["articles"]
    for worker in workers:
        assert not worker_died(worker), worker_died(worker)
    report.run("two_workers_race", sends_per_feed=5, **figures)


def test_constraints_hold_where_the_claim_is_bypassed(hostile, story):
    """Two polls that both got past the claim (one whose lease ran out under a
    slow worker) and both missed the other's rows when they looked: the unique
    constraints store each entry once, and a second feed's copy of a URL
    becomes a duplicate pointing at the first."""
    expected = make_feeds(hostile, story, 2, 3, "bypass")
    one, two = (Feed.objects.prefetch_related("stories").get(pk=pk) for pk in expected)
    links = sorted(expected[one.pk])
    parsed = pipeline.parse_feed(
        rss("bypass", [{"title": f"Scale AI {u}", "link": u} for u in links]), url=one.url
    )
    now = dt.datetime.now(dt.UTC)
    # All three polls read (and classify) before any of them stores.
    first_poll = pipeline.prepare_entries([(one, parsed.entries)], now)
    second_poll = pipeline.prepare_entries([(one, parsed.entries)], now)
    other_feed = pipeline.prepare_entries([(two, parsed.entries)], now)

    stored_first = pipeline.store_prepared(first_poll, now)
    stored_again = pipeline.store_prepared(second_poll, now)
    stored_copies = pipeline.store_prepared(other_feed, now)

    assert [len(stored_first), len(stored_again), len(stored_copies)] == [3, 0, 3]
    assert Article.objects.filter(feed=one).count() == 3
    copies = Article.objects.filter(feed=two)
    assert copies.count() == 3 and all(copy.duplicate_of_id for copy in copies)
    assert Article.objects.originals().count() == 3


def test_a_pool_process_killed_mid_task_is_redelivered_at_once(
    hostile, story, settings, celery_env, processes, report
):
    """When only a pool process dies, reject_on_worker_lost puts its task back
    without waiting for the visibility timeout."""
    settings.TRACKER_HOST_CONCURRENCY = 8
    slow_page = hostile.route(
        "/slow-page", Play(200, b"<html><body><p>late</p></body></html>", delay=4)
    )
    expected = make_feeds(hostile, story, 1, 1, "pool")
    (feed_id,) = expected
    Article.objects.create(
        story=story, feed_id=feed_id, guid="slow", url=slow_page, title="Scale AI slow"
    )
    flush_broker()
    worker = processes.worker("pool-a", celery_env(), concurrency=1)
    article = Article.objects.get(guid="slow")
    tasks.extract_article_task.delay(article.pk)
    wait_for(lambda: hostile.hits_on("/slow-page"), timeout=30, message="the page requested")
    child = pool_child(worker.process.pid)
    os.kill(child, signal.SIGKILL)

    wait_for(
        lambda: len(hostile.hits_on("/slow-page")) >= 2,
        timeout=40,
        message="the task delivered again after its pool process died",
    )
    wait_for(
        lambda: Article.objects.get(pk=article.pk).extraction_status != ExtractionStatus.PENDING,
        timeout=30,
        message="the extraction finished on the new pool process",
    )
    assert worker.process.poll() is None
    report.input(
        "pool-process-sigkill",
        what="SIGKILL of the pool process running an extraction",
        expect="task redelivered at once (reject_on_worker_lost) and finished",
        survived=True,
    )


def pool_child(parent: int) -> int:
    with open(f"/proc/{parent}/task/{parent}/children") as listing:
        children = listing.read().split()
    assert children, "the worker has no pool process"
    return int(children[0])
