"""Thin Celery tasks over the pipeline. Each takes ids, calls one function and
decides retry or not; running one twice is harmless (see the pipeline's claims)."""

import datetime as dt
import functools
import logging
import time

from celery import Task, current_app, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tracker.broker import redis_client
from tracker.health import record_tick
from tracker.ingestion import pipeline
from tracker.ingestion.errors import IngestionError
from tracker.ingestion.politeness import HostGate

logger = logging.getLogger(__name__)

# Hard limits sit above the fetch's own total timeout so a stuck request is
# ended by the fetch first, the worker last.
POLL_TIME_LIMIT = 180
EXTRACT_TIME_LIMIT = 120
EXTRACT_RETRIES = 4
# New articles go to the extract queue in messages of at most this many: sending
# a Celery message costs about a millisecond of CPU, more than storing an
# article, and a batch of polls brings hundreds at once. Each article still has
# its own retries: one that fails for a transient reason is sent again alone.
EXTRACT_BATCH = 50
# A batch of extractions starts no new page after this long (pages wait for
# their host's turn) and sends the rest on as a new batch, so that its time
# limit, and the broker's visibility timeout above it, stay short.
EXTRACT_BATCH_SECONDS = 600
# Feeds are polled in batches of at most this many per task: a batch is claimed
# in one transaction and stored in one write transaction, so the per-task and
# per-transaction costs are paid once for ten feeds; and small enough that a
# tick's polls still spread over every worker.
POLL_BATCH = 10


@functools.cache
def host_gate() -> HostGate:
    return HostGate(
        redis_client(), limit=settings.TRACKER_HOST_CONCURRENCY, gap_ms=settings.TRACKER_HOST_GAP_MS
    )


def enqueue_extractions(article_ids: list[int]) -> None:
    _send_in_batches(extract_articles_task, article_ids, EXTRACT_BATCH)


def enqueue_polls(feed_ids: list[int], now: dt.datetime) -> None:
    """Send the polls, in batches, once the leases that go with them are committed."""
    ids, stamp = list(feed_ids), now.isoformat()
    transaction.on_commit(lambda: _send_in_batches(poll_feeds_task, ids, POLL_BATCH, stamp))


def _send_in_batches(task: Task, ids: list[int], size: int, *args: object) -> None:
    """``task`` once for every ``size`` of ``ids`` (followed by ``args``), all
    through one producer: acquiring one per message costs more than the message."""
    with current_app.producer_or_acquire() as producer:
        for start in range(0, len(ids), size):
            task.apply_async((ids[start : start + size], *args), producer=producer)


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
def poll_feeds_task(feed_ids: list[int], enqueued_at: str | None = None) -> list[str]:
    """Poll a batch of feeds. Feed errors are stored on the feed, not retried
    here: the schedule's backoff decides when to try again. Feeds the batch had
    no time left for (slow servers before them) are sent on as a new batch."""
    outcomes = pipeline.poll_feeds(
        feed_ids,
        enqueued_at=dt.datetime.fromisoformat(enqueued_at) if enqueued_at else None,
        gate=host_gate(),
        on_new_articles=lambda ids: transaction.on_commit(lambda: enqueue_extractions(ids)),
    )
    deferred = [outcome.feed_id for outcome in outcomes if outcome.status == "deferred"]
    if deferred:
        enqueue_polls(deferred, timezone.now())
    return [outcome.status for outcome in outcomes]


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=EXTRACT_BATCH_SECONDS + EXTRACT_TIME_LIMIT - 20,
    time_limit=EXTRACT_BATCH_SECONDS + EXTRACT_TIME_LIMIT,
)
def extract_articles_task(article_ids: list[int]) -> int:
    """Extract new articles one after the other. An article whose page fails for
    a transient reason goes on with extract_article_task's retries. After
    EXTRACT_BATCH_SECONDS the articles not started are sent on as a new batch;
    should the time limit come first, what is left is sent on as single tasks.
    A bug hit by one article is logged and the others are still extracted (that
    one stays pending, and beat's tick sends it again later). Running it twice
    is harmless: an article extracted already is skipped. Returns how many
    articles it went through."""
    started = time.monotonic()
    for position, article_id in enumerate(article_ids):
        if position and time.monotonic() - started > EXTRACT_BATCH_SECONDS:
            enqueue_extractions(article_ids[position:])
            return position
        try:
            pipeline.extract_article(article_id, gate=host_gate())
        except IngestionError:
            extract_article_task.apply_async(
                (article_id,), countdown=settings.TRACKER_EXTRACT_RETRY_SECONDS, retries=1
            )
        except SoftTimeLimitExceeded:
            for rest in article_ids[position:]:
                extract_article_task.delay(rest)
            return position
        except Exception:
            logger.exception("article extraction crashed", extra={"article_id": article_id})
    return len(article_ids)


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
        countdown = settings.TRACKER_EXTRACT_RETRY_SECONDS * 2**self.request.retries
        raise self.retry(exc=error, countdown=countdown) from None
