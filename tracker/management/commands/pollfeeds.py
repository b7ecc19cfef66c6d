"""Poll feeds now: through the workers, or with --sync in this process."""

import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.utils import timezone

from tracker import services
from tracker.ingestion import pipeline
from tracker.ingestion.politeness import LocalHostGate
from tracker.models import Article, ExtractionStatus, Feed
from tracker.tasks import POLL_BATCH


class Command(BaseCommand):
    help = (
        "Poll due feeds (or --all, or --feed ID). Without --sync the polls go to the "
        "Celery workers; with --sync the same pipeline runs here, no broker needed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--feed", type=int, action="append", dest="feed_ids", metavar="ID")
        parser.add_argument("--all", action="store_true", help="Every active feed, due or not.")
        parser.add_argument("--sync", action="store_true", help="Run in this process.")
        parser.add_argument(
            "--threads",
            type=int,
            default=8,
            help=(
                "Concurrent page extractions with --sync (default 8). Feeds are polled in "
                f"batches of {POLL_BATCH}, as the workers poll them."
            ),
        )

    def handle(self, *args, feed_ids, all, sync, threads, **options) -> None:
        feeds = Feed.objects.active()
        if feed_ids:
            feeds = feeds.filter(pk__in=feed_ids)
            missing = set(feed_ids) - set(feeds.values_list("pk", flat=True))
            if missing:
                raise CommandError(
                    f"No active feed with id {', '.join(map(str, sorted(missing)))}."
                )
        elif not all:
            feeds = feeds.filter(next_poll_at__lte=timezone.now())
        if not sync:
            sent = services.poll_now(feeds)
            self.stdout.write(self.style.SUCCESS(f"Sent {sent} feed poll(s) to the workers."))
            return
        self.run_sync(list(feeds.values_list("pk", flat=True)), max(1, threads))

    def run_sync(self, feed_ids: list[int], threads: int) -> None:
        gate = LocalHostGate(
            limit=settings.TRACKER_HOST_CONCURRENCY, gap_ms=settings.TRACKER_HOST_GAP_MS
        )
        statuses: Counter[str] = Counter()
        new_articles: list[int] = []
        progress = Progress(len(feed_ids), "polling", self.stderr)

        waiting = list(feed_ids)
        while waiting:
            batch, waiting = waiting[:POLL_BATCH], waiting[POLL_BATCH:]
            now = timezone.now()
            pipeline.lease_feeds(Feed.objects.filter(pk__in=batch), now)
            for outcome in pipeline.poll_feeds(batch, enqueued_at=now, gate=gate):
                if outcome.status == "deferred":
                    waiting.append(outcome.feed_id)
                    continue
                statuses[outcome.status] += 1
                new_articles += outcome.new_articles
                progress.step()
        progress = Progress(len(new_articles), "extracting", self.stderr)

        def extract(article_id: int) -> str:
            try:
                return pipeline.extract_article(article_id, gate=gate)
            except pipeline.IngestionError as error:
                pipeline.give_up_extraction(article_id, str(error))
                return ExtractionStatus.FAILED
            finally:
                close_old_connections()

        extracted: Counter[str] = Counter()
        with ThreadPoolExecutor(threads) as pool:
            for future in as_completed([pool.submit(extract, a) for a in new_articles]):
                extracted[future.result()] += 1
                progress.step()
        self.summary(feed_ids, statuses, extracted)

    def summary(self, feed_ids: list[int], statuses: Counter, extracted: Counter) -> None:
        rows = [("Feeds polled", len(feed_ids))]
        rows += [(f"  {status}", count) for status, count in sorted(statuses.items())]
        rows.append(("Articles extracted", sum(extracted.values())))
        rows += [(f"  {status}", count) for status, count in sorted(extracted.items())]
        states = Counter(
            Article.objects.filter(feed_id__in=feed_ids).values_list("review_state", flat=True)
        )
        rows.append(("Articles of these feeds", sum(states.values())))
        rows += [(f"  {state}", count) for state, count in sorted(states.items())]
        width = max(len(label) for label, _ in rows)
        for label, count in rows:
            self.stdout.write(f"{label.ljust(width)}  {count:>7}")
        failed = Feed.objects.filter(pk__in=feed_ids, consecutive_failures__gt=0)
        for feed in failed.order_by("pk")[:20]:
            self.stdout.write(
                self.style.WARNING(
                    f"feed {feed.pk} {feed.url}: {feed.last_error_kind}: {feed.last_error}"
                )
            )


class Progress:
    """A one-line progress bar on a terminal; silent when output is not one."""

    def __init__(self, total: int, label: str, stream) -> None:
        self.total, self.label, self.done = total, label, 0
        self.stream = stream
        self.live = total > 0 and getattr(sys.stderr, "isatty", lambda: False)()

    def step(self) -> None:
        self.done += 1
        if not self.live:
            return
        filled = int(30 * self.done / self.total)
        end = "\n" if self.done == self.total else ""
        self.stream.write(
            f"\r{self.label:<10} [{'#' * filled}{'.' * (30 - filled)}] {self.done}/{self.total}",
            ending=end,
        )
