"""The only orchestrator: claim -> fetch -> parse -> dedupe -> store.

Stages know nothing of the database; this module is where their answers meet
the rows. Every function here is safe to run twice: claims are conditional
UPDATEs that must change exactly one row, and unique constraints under them
turn a lost race into "already stored".
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Count, Q, QuerySet
from django.db.models.sql import UpdateQuery
from django.utils import timezone

from tracker.bulk import insert_rows, quoted_columns
from tracker.dates import period_end
from tracker.ingestion import dedupe, relevance, schedule, suggest
from tracker.ingestion.discover import discover_feeds
from tracker.ingestion.errors import GONE, INTERNAL, NOT_A_FEED, IngestionError
from tracker.ingestion.extract import extract_article as extract_text
from tracker.ingestion.fetch import FetchResult, fetch
from tracker.ingestion.parse import ParsedEntry, ParsedFeed, parse_feed, plain_text
from tracker.logging import log_context
from tracker.models import (
    Article,
    ErrorKind,
    Event,
    ExtractionStatus,
    Feed,
    PollLog,
    ReviewState,
    Story,
)

logger = logging.getLogger(__name__)

Gate = Callable[[str], AbstractContextManager[None]]

# A feed handed to the queue is not handed again for this long; if its task is
# lost (worker killed before it started), the next tick after the lease sends it again.
QUEUE_LEASE = dt.timedelta(minutes=10)
# A poll that started this long ago without finishing belongs to a dead worker;
# another may take the feed. Above the poll task's hard time limit.
RUN_LEASE = dt.timedelta(minutes=5)
# An extraction still pending this long after its article was stored has lost its
# task (a worker died between storing the article and sending the task); beat's
# tick sends it again. Above the broker's visibility timeout, which redelivers
# the tasks of a dead worker, plus the retries' countdowns (7.5 min in all).
EXTRACTION_LOST_AFTER = dt.timedelta(hours=1, minutes=15)
# A batch of polls starts no new fetch after this long (slow servers: a fetch
# may wait 60 s for its host's turn and take 30 s), and hands the feeds it did
# not get to back for another batch; it stays inside the poll task's time limit.
BATCH_FETCH_SECONDS = 45
# Values per IN (...) list in a look-up: far below every database's limit on
# parameters (SQLite's was 999 before 3.32).
IN_LIST_LIMIT = 500
# Same normalized title inside this window counts as the same story.
TITLE_WINDOW = dt.timedelta(days=3)
# Near-duplicate bodies are looked for among the story's articles of this window.
SIMHASH_WINDOW = dt.timedelta(days=7)
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"


@dataclass
class PollOutcome:
    feed_id: int
    status: str  # "skipped", "deferred", "not_modified", "ok", "failed"
    new_articles: list[int] = field(default_factory=list)
    entries_seen: int = 0
    error: str = ""


def _fetch(
    url: str,
    *,
    gate: Gate | None,
    max_bytes: int,
    accept: str,
    etag: str = "",
    last_modified: str = "",
) -> FetchResult:
    return fetch(
        url,
        etag=etag,
        last_modified=last_modified,
        max_bytes=max_bytes,
        user_agent=settings.TRACKER_USER_AGENT,
        allowlist=settings.TRACKER_FETCH_ALLOWLIST,
        accept=accept,
        host_gate=gate,
    )


@dataclass
class FoundFeed:
    url: str
    title: str
    site_url: str


def find_feed(url: str, *, gate: Gate | None = None) -> FoundFeed:
    """The feed at ``url``, or the first feed a page at ``url`` announces.
    Raises IngestionError (kind not_a_feed) when there is neither."""
    result = _fetch(url, gate=gate, max_bytes=settings.TRACKER_MAX_FEED_BYTES, accept=FEED_ACCEPT)
    try:
        parsed = parse_feed(result.content, url=result.url, headers=result.headers)
        return FoundFeed(result.url, parsed.title, parsed.site_url)
    except IngestionError as error:
        if error.kind != NOT_A_FEED:
            raise
    for candidate, title in discover_feeds(result.content, base_url=result.url):
        try:
            found = _fetch(
                candidate, gate=gate, max_bytes=settings.TRACKER_MAX_FEED_BYTES, accept=FEED_ACCEPT
            )
            parsed = parse_feed(found.content, url=found.url, headers=found.headers)
        except IngestionError:
            continue
        return FoundFeed(found.url, parsed.title or title, parsed.site_url or result.url)
    raise IngestionError(
        f"{url} is neither a feed nor a page that announces one", kind=NOT_A_FEED, permanent=True
    )


# --- Claiming ---------------------------------------------------------------------


def enqueue_due_feeds(now: dt.datetime, limit: int = 1000) -> list[int]:
    """Feeds due at ``now``, each leased to the queue for QUEUE_LEASE so the next
    tick does not send it twice. Returns the ids to enqueue."""
    leased = []
    due = Feed.objects.due(now).order_by("next_poll_at").values_list("pk", flat=True)[:limit]
    for feed_id in due:
        if lease_feed(feed_id, now):
            leased.append(feed_id)
    return leased


def lease_feed(feed_id: int, now: dt.datetime, *, force: bool = False) -> bool:
    feeds = Feed.objects.filter(pk=feed_id)
    return lease_feeds(feeds if force else feeds.filter(next_poll_at__lte=now), now) == 1


def lease_feeds(feeds: QuerySet[Feed], now: dt.datetime) -> int:
    """Lease the active ones of ``feeds`` to the queue for QUEUE_LEASE, in one
    statement. Returns how many were leased."""
    return feeds.filter(is_active=True).update(next_poll_at=now + QUEUE_LEASE)


def lost_extractions(now: dt.datetime, limit: int = 200) -> list[int]:
    """Articles still waiting for extraction EXTRACTION_LOST_AFTER after they were
    stored, oldest first: their task was lost. Returns their ids."""
    return list(
        Article.objects.filter(
            extraction_status=ExtractionStatus.PENDING,
            created_at__lt=now - EXTRACTION_LOST_AFTER,
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )


def claim_feeds(feed_ids: Iterable[int], now: dt.datetime, enqueued_at: dt.datetime) -> list[Feed]:
    """Take the feeds for one poll each, in one conditional UPDATE: a feed is
    claimed only if its row changes. Leaves out a feed another worker is
    polling, and one polled after this task was enqueued (a second delivery of
    the task). Returns the claimed feeds, with their stories, in the given order."""
    ids = list(dict.fromkeys(feed_ids))
    with transaction.atomic():
        claimed = set(_claim(ids, now, enqueued_at))
    feeds = Feed.objects.prefetch_related("stories").in_bulk(claimed)
    return [feeds[pk] for pk in ids if pk in claimed]


def _claim(ids: list[int], now: dt.datetime, enqueued_at: dt.datetime) -> list[int]:
    """Set ``poll_started_at`` on those of ``ids`` free to poll; their ids."""
    if not ids:
        return []
    free = Q(poll_started_at__isnull=True) | Q(poll_started_at__lt=now - RUN_LEASE)
    unpolled = Q(last_polled_at__isnull=True) | Q(last_polled_at__lt=enqueued_at)
    claimable = free & unpolled & Q(is_active=True)
    connection = connections[Feed.objects.db]
    if not _updates_return_rows(connection):
        one = Feed.objects.filter(claimable)
        return [pk for pk in ids if one.filter(pk=pk).update(poll_started_at=now)]
    # The UPDATE that QuerySet.update() would run, told to say which rows it changed.
    query = UpdateQuery(Feed)
    query.add_update_values({"poll_started_at": now})
    query.add_q(claimable & Q(pk__in=ids))
    update, params = query.get_compiler(connection=connection).as_sql()
    pk = quoted_columns(Feed, connection)[Feed._meta.pk.name]
    with connection.cursor() as cursor:
        cursor.execute(f"{update} RETURNING {pk}", params)
        return [claimed for (claimed,) in cursor.fetchall()]


def _updates_return_rows(connection: BaseDatabaseWrapper) -> bool:
    """Whether an UPDATE can say which rows it changed (RETURNING): PostgreSQL,
    and SQLite from 3.35, as for inserts. Elsewhere each feed is claimed by an
    UPDATE of its own, ten statements for a batch where one does."""
    return (
        connection.vendor in ("postgresql", "sqlite")
        and connection.features.can_return_rows_from_bulk_insert
    )


# --- Polling ------------------------------------------------------------------------


@dataclass
class _Poll:
    """One feed's poll in a batch: what its fetch and parse gave, then what was stored."""

    feed: Feed
    log: PollLog
    full: bool = False
    result: FetchResult | None = None
    parsed: ParsedFeed | None = None
    error: IngestionError | None = None
    stored: list[Article] = field(default_factory=list)

    def outcome(self) -> PollOutcome:
        pk = self.feed.pk
        if self.error is not None:
            return PollOutcome(pk, "failed", error=str(self.error))
        if self.parsed is None:
            return PollOutcome(pk, "not_modified")
        return PollOutcome(pk, "ok", new_articles=self.queued(), entries_seen=self.log.entries_seen)

    def queued(self) -> list[int]:
        return [a.pk for a in self.stored if a.extraction_status == ExtractionStatus.PENDING]


def poll_feed(
    feed_id: int,
    *,
    enqueued_at: dt.datetime | None = None,
    gate: Gate | None = None,
    on_new_articles: Callable[[list[int]], None] | None = None,
) -> PollOutcome:
    """Poll one feed: poll_feeds() with a batch of one."""
    (outcome,) = poll_feeds(
        [feed_id], enqueued_at=enqueued_at, gate=gate, on_new_articles=on_new_articles
    )
    return outcome


def poll_feeds(
    feed_ids: Iterable[int],
    *,
    enqueued_at: dt.datetime | None = None,
    gate: Gate | None = None,
    on_new_articles: Callable[[list[int]], None] | None = None,
) -> list[PollOutcome]:
    """Poll a batch of feeds: claim them in one transaction, fetch and parse them,
    then store what they brought in one write transaction, where each feed's new
    articles are checked against the others' too. A feed's error is stored on
    that feed and never stops the others. New articles that need their page are
    passed to ``on_new_articles``, all at once, after the transaction that
    stored them commits. Returns one outcome per feed id, in order; "deferred"
    for a feed the batch had no time left for (its claim is released: poll it
    again in another batch)."""
    feed_ids = list(dict.fromkeys(feed_ids))
    now = timezone.now()
    polls = [
        _Poll(feed, PollLog(feed=feed, started_at=now))
        for feed in claim_feeds(feed_ids, now, enqueued_at or now)
    ]
    deferred = _fetch_all(polls, now, gate)
    if deferred:
        polls = polls[: -len(deferred)]
        Feed.objects.filter(pk__in=[poll.feed.pk for poll in deferred], poll_started_at=now).update(
            poll_started_at=None
        )
    _store_polls(polls, now)
    outcomes = {poll.feed.pk: poll.outcome() for poll in polls}
    outcomes |= {poll.feed.pk: PollOutcome(poll.feed.pk, "deferred") for poll in deferred}
    new_articles = [pk for poll in polls for pk in poll.queued()]
    if new_articles and on_new_articles is not None:
        on_new_articles(new_articles)
    return [outcomes.get(pk) or PollOutcome(pk, "skipped") for pk in feed_ids]


def _fetch_all(polls: list[_Poll], now: dt.datetime, gate: Gate | None) -> list[_Poll]:
    """Fetch and parse the batch's feeds one after the other (threads would cost
    more CPU than they save: a fetch is mostly Python). Once BATCH_FETCH_SECONDS
    have gone by, no new fetch is started. Returns the polls not started."""
    started = time.monotonic()
    for position, poll in enumerate(polls):
        if time.monotonic() - started > BATCH_FETCH_SECONDS:
            return polls[position:]
        _fetch_and_parse(poll, now, gate)
    return []


def _fetch_and_parse(poll: _Poll, now: dt.datetime, gate: Gate | None) -> None:
    """Fill in ``poll``'s result and parsed feed, or its error; never raises."""
    feed, log = poll.feed, poll.log
    started = time.monotonic()
    with log_context(feed_id=feed.pk):
        try:
            poll.full = schedule.needs_full_fetch(
                feed.last_full_fetch_at, now, always_fetch_full=feed.always_fetch_full
            )
            poll.result = result = _fetch(
                feed.url,
                gate=gate,
                max_bytes=settings.TRACKER_MAX_FEED_BYTES,
                accept=FEED_ACCEPT,
                etag="" if poll.full else feed.etag,
                last_modified="" if poll.full else feed.last_modified,
            )
            log.status_code = result.status_code
            log.bytes_received = result.bytes_received
            log.was_not_modified = result.not_modified
            if not result.not_modified:
                poll.parsed = parse_feed(result.content, url=result.url, headers=result.headers)
                log.entries_seen = len(poll.parsed.entries)
        except IngestionError as error:
            poll.error = error
        except Exception as error:
            # A bug, not the feed's fault: recorded on the feed like a failure,
            # which pushes it forward so it cannot hot-loop the workers.
            logger.exception("feed poll crashed")
            poll.error = IngestionError(f"internal error: {error!r}")
        log.duration_ms = int((time.monotonic() - started) * 1000)


def _store_polls(polls: list[_Poll], now: dt.datetime) -> None:
    """Store the batch in one transaction: the new articles, each feed's new state
    and its poll log. Should that raise (a bug), each feed is stored on its own,
    so that only the feed that hits it records an internal error."""
    if not polls:
        return
    try:
        _store_together(polls, now)
    except Exception:
        # Nothing was stored: start again from the rows as they are.
        for poll in polls:
            poll.feed.refresh_from_db()
            poll.log.pk, poll.log._state.adding = None, True
        if len(polls) > 1:
            for poll in polls:
                _store_polls([poll], now)
            return
        (poll,) = polls
        with log_context(feed_id=poll.feed.pk):
            logger.exception("feed poll crashed")
        poll.parsed = None
        poll.error = IngestionError("internal error while storing the feed's entries")
        _store_together(polls, now)
        return
    _trim_logs([poll.feed.pk for poll in polls])


def _store_together(polls: list[_Poll], now: dt.datetime) -> None:
    # Classifying reads and computes; only the inserts and the feeds' updates take
    # the write transaction (on SQLite a lock every worker waits for).
    batches = prepare_entries(
        [(poll.feed, poll.parsed.entries) for poll in polls if poll.parsed and not poll.error], now
    )
    with transaction.atomic():
        stored: dict[int | None, list[Article]] = {}
        for article in store_prepared(batches, now):
            stored.setdefault(article.feed_id, []).append(article)
        for poll in polls:
            poll.stored = stored.get(poll.feed.pk, [])
            if poll.error is not None:
                _record_failure(poll.feed, now, poll.log, poll.error)
            elif poll.result is not None:
                _record_polled(poll, poll.result, now)
        PollLog.objects.bulk_create([poll.log for poll in polls])


def _record_polled(poll: _Poll, result: FetchResult, now: dt.datetime) -> None:
    feed, parsed = poll.feed, poll.parsed
    max_age = schedule.parse_cache_control_max_age(result.headers)
    changed = _follow_permanent_redirect(feed, result)
    if parsed is None:
        _record_success(feed, now, new_entries=0, max_age=max_age, parsed=None, also=changed)
        return
    feed.etag = result.etag or ""
    feed.last_modified = result.last_modified or ""
    feed.last_full_fetch_at = now if poll.full else feed.last_full_fetch_at
    changed += ["etag", "last_modified", "last_full_fetch_at"]
    if not feed.title and parsed.title:
        feed.title = parsed.title[:300]
        changed.append("title")
    if not feed.site_url and parsed.site_url:
        feed.site_url = parsed.site_url[:2000]
        changed.append("site_url")
    poll.log.new_articles = len(poll.stored)
    _record_success(
        feed, now, new_entries=len(poll.stored), max_age=max_age, parsed=parsed, also=changed
    )
    logger.info(
        "polled feed",
        extra={
            "feed_id": feed.pk,
            "entries": len(parsed.entries),
            "new": len(poll.stored),
            "article_ids": [a.pk for a in poll.stored],
        },
    )


def _follow_permanent_redirect(feed: Feed, result: FetchResult) -> list[str]:
    """A feed that moved for good (every hop a 301 or 308) is polled at its new
    URL from now on, unless another feed is already there. Returns the fields
    changed."""
    moved, limit = result.permanent_url, Feed._meta.get_field("url").max_length
    if not moved or moved == feed.url or (limit and len(moved) > limit):
        return []
    if Feed.objects.filter(url=moved).exclude(pk=feed.pk).exists():
        logger.warning(
            "feed moved to the URL of another feed; left where it was",
            extra={"feed_id": feed.pk, "moved_to": moved},
        )
        return []
    logger.info("feed moved permanently", extra={"feed_id": feed.pk, "from": feed.url, "to": moved})
    feed.url = moved
    return ["url"]


def _record_success(
    feed: Feed,
    now: dt.datetime,
    *,
    new_entries: int,
    max_age: int | None,
    parsed: ParsedFeed | None,
    also: Iterable[str] = (),
) -> None:
    """The feed's state after a poll that worked: its schedule, a clean record.
    Only the fields a poll owns are written (and ``also``, set by the caller), so
    what an operator changed meanwhile (active, always fetch in full) stays."""
    if parsed is not None:
        feed.server_min_interval_seconds = schedule.server_floor(
            ttl_seconds=parsed.ttl_seconds,
            update_period_seconds=parsed.update_period_seconds,
            max_age_seconds=max_age,
        )
    elif max_age is not None:
        feed.server_min_interval_seconds = max(feed.server_min_interval_seconds, max_age)
    feed.interval_seconds = schedule.next_interval(
        current=feed.interval_seconds,
        new_entries=new_entries,
        minimum=settings.TRACKER_MIN_INTERVAL,
        maximum=settings.TRACKER_MAX_INTERVAL,
        server_floor_seconds=feed.server_min_interval_seconds,
    )
    feed.next_poll_at = schedule.next_poll_at(now, feed.interval_seconds)
    feed.consecutive_failures = 0
    feed.flagged_at = None
    feed.last_success_at = now
    feed.last_polled_at = now
    feed.poll_started_at = None
    if new_entries:
        feed.last_new_entry_at = now
    feed.save(update_fields=[*_SUCCESS_FIELDS, *also])


_SUCCESS_FIELDS = (
    "server_min_interval_seconds",
    "interval_seconds",
    "next_poll_at",
    "consecutive_failures",
    "flagged_at",
    "last_success_at",
    "last_polled_at",
    "poll_started_at",
    "last_new_entry_at",
)


def _record_failure(feed: Feed, now: dt.datetime, log: PollLog, error: IngestionError) -> None:
    failures = feed.consecutive_failures + 1
    delay = schedule.failure_delay(failures, retry_after=error.retry_after)
    updates = {
        "consecutive_failures": failures,
        "last_error": str(error)[:2000],
        "last_error_kind": error.kind,
        "last_error_at": now,
        "last_polled_at": now,
        "poll_started_at": None,
        "next_poll_at": now + dt.timedelta(seconds=delay),
    }
    if failures >= settings.TRACKER_FLAG_AFTER_FAILURES and feed.flagged_at is None:
        updates["flagged_at"] = now
    if error.kind == GONE:
        updates["is_active"] = False
        updates["deactivated_reason"] = f"{now:%Y-%m-%d}: {error}"
    if error.retry_after:
        updates["server_min_interval_seconds"] = min(error.retry_after, schedule.DAY)
    Feed.objects.filter(pk=feed.pk).update(**updates)
    for name, value in updates.items():
        setattr(feed, name, value)
    log.error_kind = error.kind if error.kind in ErrorKind.values else INTERNAL
    log.error = str(error)[:2000]
    log.status_code = log.status_code or error.status_code
    logger.warning(
        "feed poll failed",
        extra={"feed_id": feed.pk, "error_kind": error.kind, "failures": failures},
    )


def _trim_logs(feed_ids: list[int]) -> None:
    """Delete the poll logs beyond the newest TRACKER_POLL_LOG_KEEP of each feed
    (one grouped count for the batch; a feed over the limit loses its oldest)."""
    keep = settings.TRACKER_POLL_LOG_KEEP
    over = (
        PollLog.objects.filter(feed_id__in=feed_ids)
        .values("feed_id")
        .annotate(count=Count("pk"))
        .filter(count__gt=keep)
        .values_list("feed_id", flat=True)
    )
    for feed_id in over:
        stale = PollLog.objects.filter(feed_id=feed_id).order_by("-started_at", "-pk")[keep:]
        PollLog.objects.filter(pk__in=list(stale.values_list("pk", flat=True))).delete()


# --- Storing entries -----------------------------------------------------------------


@dataclass
class _StoryIndex:
    """What _classify needs about a story's earlier articles, read once per poll
    (three queries) instead of once per entry (three queries each)."""

    by_url: dict[str, Article]
    by_title: dict[str, list[Article]]
    events: list[suggest.EventFeatures]
    include_terms: list[str]
    exclude_terms: list[str]

    @classmethod
    def load(cls, story: Story, articles: list[Article]) -> _StoryIndex:
        urls = {a.normalized_url for a in articles if a.normalized_url}
        keys = {a.title_key for a in articles if a.title_key}
        originals = Article.objects.originals().filter(story=story).order_by()
        by_url = {a.normalized_url: a for a in originals.filter(normalized_url__in=urls)}
        by_title: dict[str, list[Article]] = {}
        # Sorted here, not in SQL: asked for the rows by pk, SQLite walks the
        # story's index in pk order instead of looking the keys up.
        for a in sorted(originals.filter(title_key__in=keys), key=lambda a: a.pk):
            by_title.setdefault(a.title_key, []).append(a)
        return cls(by_url, by_title, _event_features(story), story.include_list, story.exclude_list)

    def add(self, article: Article) -> None:
        if article.review_state == ReviewState.DUPLICATE:
            return
        if article.normalized_url:
            self.by_url.setdefault(article.normalized_url, article)
        if article.title_key:
            self.by_title.setdefault(article.title_key, []).append(article)


@dataclass
class _Batch:
    """A story's new entries of one poll (of one feed or several) and the
    articles made of them, classified."""

    story: Story
    entries: list[tuple[Feed, list[ParsedEntry]]]
    articles: list[Article]


def prepare_entries(
    polled: Iterable[tuple[Feed, Iterable[ParsedEntry]]], now: dt.datetime
) -> list[_Batch]:
    """The entries the feeds brought that were not seen before, once per story
    each feed serves, as classified articles not yet saved. Reads only;
    store_prepared() inserts them."""
    by_story: dict[int, tuple[Story, list[tuple[Feed, list[ParsedEntry]]]]] = {}
    for feed, entries in polled:
        listed = list(entries)
        for story in feed.stories.all():
            by_story.setdefault(story.pk, (story, []))[1].append((feed, listed))
    batches = []
    for story, polled_here in by_story.values():
        known = _known_guids(story, polled_here)
        fresh = [
            (feed, [e for e in entries if (feed.pk, e.guid[:1000]) not in known])
            for feed, entries in polled_here
        ]
        fresh = [(feed, entries) for feed, entries in fresh if entries]
        if fresh:
            batches.append(_classified(story, fresh, now))
    return batches


def _known_guids(
    story: Story, polled: list[tuple[Feed, list[ParsedEntry]]]
) -> set[tuple[int, str]]:
    """The (feed id, guid) pairs among these entries already stored for ``story``."""
    guids = list({e.guid[:1000] for _, entries in polled for e in entries})
    stored = Article.objects.filter(story=story, feed__in=[feed for feed, _ in polled]).order_by()
    return {
        pair
        for chunk in _chunks(guids)
        for pair in stored.filter(guid__in=chunk).values_list("feed_id", "guid")
    }


def _chunks(values: list[str]) -> Iterator[list[str]]:
    """``values`` in lists short enough for one IN (...) on any database."""
    for start in range(0, len(values), IN_LIST_LIMIT):
        yield values[start : start + IN_LIST_LIMIT]


def store_prepared(batches: list[_Batch], now: dt.datetime) -> list[Article]:
    """Insert what prepare_entries made. Returns the articles stored."""
    return [article for batch in batches for article in _insert(batch, now)]


def _classified(
    story: Story, entries: list[tuple[Feed, list[ParsedEntry]]], now: dt.datetime
) -> _Batch:
    """New entries of one story, classified against each other and the stored
    articles."""
    articles = [_new_article(story, feed, e) for feed, listed in entries for e in listed]
    index = _StoryIndex.load(story, articles)
    for article in articles:
        _classify(article, story, now, index)
        index.add(article)
    return _Batch(story, entries, articles)


def _insert(batch: _Batch, now: dt.datetime) -> list[Article]:
    """A batch inserted in two statements: the first copies, then the later copies
    that point at them. A unique constraint broken by another worker storing the
    same entries meanwhile sends the batch through one by one."""
    first: list[Article] = []
    later: list[Article] = []
    for article in batch.articles:
        copy_of_new = article.duplicate_of is not None and article.duplicate_of.pk is None
        (later if copy_of_new else first).append(article)
    try:
        with transaction.atomic():
            insert_rows(first)
            insert_rows(later)
    except IntegrityError:
        return [
            article
            for feed, entries in batch.entries
            for article in _store_one_by_one(batch.story, feed, entries, now)
        ]
    return batch.articles


def _store_one_by_one(
    story: Story, feed: Feed, entries: list[ParsedEntry], now: dt.datetime
) -> list[Article]:
    """The entries stored one at a time, each classified against what is stored
    now, after another worker stored some of them first."""
    stored = []
    articles = [_new_article(story, feed, e) for e in entries]
    index = _StoryIndex.load(story, articles)
    for article in articles:
        _classify(article, story, now, index)
        if _save_new(article, story, feed):
            index.add(article)
            stored.append(article)
    return stored


def _new_article(story: Story, feed: Feed, entry: ParsedEntry) -> Article:
    normalized = dedupe.canonical_url(entry.url)
    return Article(
        story=story,
        feed=feed,
        guid=entry.guid[:1000],
        url=entry.url[:2000] if normalized else "",
        normalized_url=normalized[:2000],
        title=entry.title[:1000],
        title_key=dedupe.title_key(entry.title)[:300],
        author=(entry.author or "")[:300],
        outlet=(entry.outlet or feed.title or feed.host)[:300],
        published_at=entry.published_at,
        summary=entry.summary_html,
    )


def _save_new(article: Article, story: Story, feed: Feed) -> bool:
    try:
        with transaction.atomic():
            article.save()
    except IntegrityError:
        # Lost a race: either another worker stored this guid (nothing to do), or
        # stored the first copy of this URL (then this one is its duplicate).
        if Article.objects.filter(story=story, feed=feed, guid=article.guid).exists():
            return False
        original = (
            Article.objects.originals()
            .filter(story=story, normalized_url=article.normalized_url)
            .first()
        )
        if original is None:
            raise
        _mark_duplicate(article, original)
        with transaction.atomic():
            article.save()
    return True


def _classify(article: Article, story: Story, now: dt.datetime, index: _StoryIndex) -> None:
    """Decide duplicate, filtered or pending before the row is first saved."""
    if article.normalized_url:
        original = index.by_url.get(article.normalized_url)
        if original is not None:
            _mark_duplicate(article, original)
            return
    if article.title_key:
        around = article.published_at or now
        original = next(
            (
                a
                for a in index.by_title.get(article.title_key, [])
                if a.published_at is not None
                and around - TITLE_WINDOW <= a.published_at <= around + TITLE_WINDOW
            ),
            None,
        )
        if original is not None:
            if original.review_state == ReviewState.REJECTED:
                article.previously_rejected = original
            else:
                _mark_duplicate(article, original)
                return

    result = relevance.score(
        title=article.title,
        body=_plain(article.summary),
        include_terms=index.include_terms,
        exclude_terms=index.exclude_terms,
    )
    article.relevance_score = result.score
    article.matched_terms = result.matched
    if not relevance.passes(result, story.relevance_threshold, bool(index.include_terms)):
        article.review_state = ReviewState.FILTERED
        article.extraction_status = ExtractionStatus.SKIPPED
        return
    article.review_state = ReviewState.PENDING
    article.extraction_status = (
        ExtractionStatus.PENDING if article.url else ExtractionStatus.SKIPPED
    )
    _suggest(article, index.events)


def _mark_duplicate(article: Article, original: Article) -> None:
    article.duplicate_of = original.duplicate_of or original
    article.review_state = ReviewState.DUPLICATE
    article.extraction_status = ExtractionStatus.SKIPPED
    if original.review_state == ReviewState.REJECTED:
        article.previously_rejected = original


def _plain(html: str) -> str:
    return plain_text(html) if html else ""


def _event_features(story: Story) -> list[suggest.EventFeatures]:
    events = (
        Event.objects.filter(story=story)
        .prefetch_related("entities")
        .only("pk", "title", "summary", "occurred_on", "ends_on", "precision", "end_precision")
    )
    return [
        suggest.EventFeatures(
            key=event.pk,
            title=event.title,
            text=event.summary,
            date=event.occurred_on,
            end_date=period_end(
                event.ends_on or event.occurred_on, event.end_precision or event.precision
            ),
            entities=tuple(tuple(entity.names) for entity in event.entities.all()),
        )
        for event in events
    ]


def _suggest(article: Article, features: list[suggest.EventFeatures]) -> None:
    if not features:
        return
    found = suggest.suggest_event(
        suggest.ArticleFeatures(
            title=article.title,
            text=f"{_plain(article.summary)} {article.text}",
            date=article.published_at.date() if article.published_at else None,
        ),
        features,
    )
    if found is not None:
        article.suggested_event_id = found.key
        article.suggestion_score = found.score


# --- Extraction ------------------------------------------------------------------------


def extract_article(article_id: int, *, gate: Gate | None = None) -> str:
    """Fetch an article's page and store its main text. Returns the extraction
    status; a second run on an article already extracted returns it unchanged.
    Transient fetch errors are raised for the task to retry; anything else leaves
    the article reviewable with the feed summary and the reason."""
    article = (
        Article.objects.only(
            "pk", "story_id", "feed_id", "url", "published_at", "created_at", "extraction_status"
        )
        .filter(pk=article_id)
        .first()
    )
    if article is None or article.extraction_status != ExtractionStatus.PENDING:
        return article.extraction_status if article else "missing"
    with log_context(article_id=article.pk, feed_id=article.feed_id):
        return _extract_pending(article, gate)


def _extract_pending(article: Article, gate: Gate | None) -> str:
    try:
        result = _fetch(
            article.url, gate=gate, max_bytes=settings.TRACKER_MAX_PAGE_BYTES, accept=PAGE_ACCEPT
        )
    except IngestionError as error:
        if not (error.permanent or _page_is_gone(error)):
            raise
        return _extraction_failed(article, str(error))
    extracted = extract_text(result.content, url=result.url)
    if extracted.status == ExtractionStatus.FAILED:
        return _extraction_failed(article, extracted.reason or "no text found")
    fingerprint = dedupe.fingerprint(extracted.text)
    updates: dict[str, object] = {
        "text": extracted.text,
        "metadata": extracted.metadata(),
        "extraction_status": extracted.status,
        "extraction_error": "",
        "extracted_at": timezone.now(),
        "fingerprint": fingerprint,
        **_bands(fingerprint),
    }
    original = _near_duplicate(article, fingerprint) if fingerprint is not None else None
    if original is not None and _takes_over(article, original):
        original = None
    elif original is not None:
        if original.review_state == ReviewState.REJECTED:
            updates["previously_rejected"] = original
        else:
            updates["duplicate_of"] = original.duplicate_of or original
            updates["review_state"] = ReviewState.DUPLICATE
    stored = Article.objects.filter(
        pk=article.pk, extraction_status=ExtractionStatus.PENDING
    ).update(**updates)
    if stored and original is None and fingerprint is not None:
        _settle_a_race(article, fingerprint)
    logger.info(
        "extracted article",
        extra={"status": extracted.status, "duplicate_of": getattr(original, "pk", None)},
    )
    return extracted.status


def _settle_a_race(article: Article, fingerprint: int) -> None:
    """Two copies extracted at the same moment both look for the other before
    either fingerprint is stored, and both would stay originals. Looking again
    once ours is stored, the second of the two at least sees the first: the
    earlier publication stays the original and the other becomes its copy (or,
    the other being rejected, ours is marked as previously rejected)."""
    other = _near_duplicate(article, fingerprint)
    if other is None:
        return
    if other.review_state == ReviewState.REJECTED:
        Article.objects.filter(pk=article.pk, previously_rejected__isnull=True).update(
            previously_rejected=other
        )
    elif not _takes_over(article, other):
        _takes_over(other, article)


def _first_key(article: Article) -> tuple[dt.datetime, int]:
    return (article.published_at or article.created_at, article.pk)


def _takes_over(article: Article, copy: Article) -> bool:
    """When the page extracted first (``copy``) is a later copy of ``article``,
    published after it, and nobody has reviewed it yet, ``article`` becomes the
    original and ``copy`` (with any copies of it) its duplicate: an editor sees
    the first publication in the queue, whichever page was fetched first.
    Returns whether it did (a conditional update: a review under way wins)."""
    if _first_key(copy) <= _first_key(article):
        return False
    with transaction.atomic():
        demoted = Article.objects.filter(
            pk=copy.pk, duplicate_of__isnull=True, review_state=ReviewState.PENDING
        ).update(duplicate_of=article, review_state=ReviewState.DUPLICATE)
        if demoted:
            Article.objects.filter(duplicate_of=copy).update(duplicate_of=article)
    return bool(demoted)


def _page_is_gone(error: IngestionError) -> bool:
    """A page answering 4xx will not come back by retrying (a feed may, so this
    applies to pages only); 408, 425 and 429 are about timing, not the page."""
    code = error.status_code or 0
    return 400 <= code < 500 and code not in (408, 425, 429)


def _bands(fingerprint: int | None) -> dict[str, int | None]:
    bands = dedupe.fingerprint_bands(fingerprint) if fingerprint is not None else (None,) * 4
    return {f"fingerprint_band{i}": band for i, band in enumerate(bands)}


def _near_duplicate(article: Article, fingerprint: int) -> Article | None:
    around = article.published_at or article.created_at
    candidates = _sharing_a_band(article, fingerprint, around - SIMHASH_WINDOW)
    matches = [pk for pk, other in candidates if dedupe.is_near_duplicate(other, fingerprint)]
    if not matches:
        return None
    return Article.objects.only(
        "pk", "review_state", "duplicate_of", "published_at", "created_at"
    ).get(pk=min(matches))


def _sharing_a_band(
    article: Article, fingerprint: int, since: dt.datetime
) -> list[tuple[int, int]]:
    """(pk, fingerprint) of the story's other originals created since ``since``
    whose fingerprint shares a band with ``fingerprint``: one look-up per band,
    each on its partial index (an OR of the four would scan). Written as SQL:
    the ORM took 2 ms a page to compile this union, a fifth of an extraction."""
    connection = connections[Article.objects.db]
    since_value = connection.ops.adapt_datetimefield_value(since)
    params: list[Any] = []
    for band in dedupe.fingerprint_bands(fingerprint):
        params += [article.story_id, since_value, article.pk, band]
    with connection.cursor() as cursor:
        cursor.execute(_band_union_sql(connection), params)
        return [(pk, other) for pk, other in cursor.fetchall()]


def _band_union_sql(connection: BaseDatabaseWrapper) -> str:
    """The band look-up's SQL, names from the model's metadata, values as parameters."""
    column = quoted_columns(Article, connection)
    table = connection.ops.quote_name(Article._meta.db_table)
    parts = [
        f"SELECT {column['id']}, {column['fingerprint']} FROM {table}"  # noqa: S608
        f" WHERE {column['story']} = %s AND {column['duplicate_of']} IS NULL"
        f" AND {column['fingerprint']} IS NOT NULL AND {column['created_at']} >= %s"
        f" AND {column['id']} <> %s AND {column[f'fingerprint_band{band}']} = %s"
        for band in range(dedupe.BANDS)
    ]
    return " UNION ".join(parts)


def _extraction_failed(article: Article, reason: str) -> str:
    Article.objects.filter(pk=article.pk, extraction_status=ExtractionStatus.PENDING).update(
        extraction_status=ExtractionStatus.FAILED,
        extraction_error=reason[:2000],
        extracted_at=timezone.now(),
    )
    logger.warning(
        "article extraction failed",
        extra={"article_id": article.pk, "feed_id": article.feed_id, "reason": reason[:200]},
    )
    return ExtractionStatus.FAILED


def give_up_extraction(article_id: int, reason: str) -> None:
    """After the task's last retry: keep the article reviewable with the reason."""
    article = Article.objects.filter(pk=article_id).first()
    if article is not None:
        _extraction_failed(article, reason)


__all__ = [
    "FoundFeed",
    "IngestionError",
    "PollOutcome",
    "claim_feeds",
    "enqueue_due_feeds",
    "extract_article",
    "find_feed",
    "give_up_extraction",
    "lease_feed",
    "lease_feeds",
    "lost_extractions",
    "poll_feed",
    "poll_feeds",
    "prepare_entries",
    "store_prepared",
]
