"""Thin Celery tasks over the pipeline. Each takes ids, calls one function and
decides retry or not; running one twice is harmless (see the pipeline's claims)."""

import datetime as dt
import functools

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tracker.broker import redis_client
from tracker.health import record_tick
from tracker.ingestion import pipeline
from tracker.ingestion.errors import IngestionError
from tracker.ingestion.politeness import HostGate

# Hard limits sit above the fetch's own total timeout so a stuck request is
# ended by the fetch first, the worker last.
POLL_TIME_LIMIT = 180
EXTRACT_TIME_LIMIT = 120
EXTRACT_RETRIES = 4


@functools.cache
def host_gate() -> HostGate:
    return HostGate(
        redis_client(), limit=settings.TRACKER_HOST_CONCURRENCY, gap_ms=settings.TRACKER_HOST_GAP_MS
    )


def enqueue_extractions(article_ids: list[int]) -> None:
    for article_id in article_ids:
        extract_article_task.delay(article_id)


def enqueue_polls(feed_ids: list[int], now: dt.datetime) -> None:
    """Send the polls once the leases that go with them are committed."""
    stamp = now.isoformat()
    transaction.on_commit(lambda: [poll_feed_task.delay(feed_id, stamp) for feed_id in feed_ids])


def resend_lost_extractions(now: dt.datetime) -> int:
    """Send again the extractions whose task was lost, each at most once an hour
    (a Redis key per article), so a long backlog is not flooded with copies; a
    copy that finds its article extracted already does nothing."""
    client = host_gate().client
    sent = 0
    for article_id in pipeline.lost_extractions(now):
        if client.set(f"tracker:extraction-resent:{article_id}", 1, nx=True, ex=3600):
            extract_article_task.delay(article_id)
            sent += 1
    return sent


@shared_task(ignore_result=True, time_limit=60)
def poll_due_feeds_task() -> int:
    """Beat's tick: lease every due feed to the queue and send its poll; send
    again any extraction whose task was lost."""
    record_tick()
    now = timezone.now()
    with transaction.atomic():
        feed_ids = pipeline.enqueue_due_feeds(now)
        enqueue_polls(feed_ids, now)
    resend_lost_extractions(now)
    return len(feed_ids)


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=POLL_TIME_LIMIT - 20,
    time_limit=POLL_TIME_LIMIT,
)
def poll_feed_task(feed_id: int, enqueued_at: str | None = None) -> str:
    """Poll one feed. Feed errors are stored on the feed, not retried here: the
    schedule's backoff decides when to try again."""
    outcome = pipeline.poll_feed(
        feed_id,
        enqueued_at=dt.datetime.fromisoformat(enqueued_at) if enqueued_at else None,
        gate=host_gate(),
        on_new_articles=lambda ids: transaction.on_commit(lambda: enqueue_extractions(ids)),
    )
    return outcome.status


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=EXTRACT_RETRIES,
    soft_time_limit=EXTRACT_TIME_LIMIT - 20,
    time_limit=EXTRACT_TIME_LIMIT,
)
def extract_article_task(self, article_id: int) -> str:
    """Fetch and extract one article's page; transient errors retry with backoff,
    and the last failure keeps the article reviewable with the reason."""
    try:
        return pipeline.extract_article(article_id, gate=host_gate())
    except IngestionError as error:
        if self.request.retries >= self.max_retries:
            pipeline.give_up_extraction(article_id, str(error))
            return "failed"
        raise self.retry(exc=error, countdown=30 * 2**self.request.retries) from None
