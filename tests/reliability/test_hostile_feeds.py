"""Every hostile feed of the catalogue through the real pipeline, one at a time:
the right error kind and a backoff on the feed, or the entries stored safely."""

import datetime as dt
import time

import pytest
from django.utils import timezone

from tests.reliability.faults import CATALOGUE, FEED_CAP, Fault
from tracker.ingestion import pipeline, schedule
from tracker.ingestion.parse import MAX_SUMMARY_CHARS
from tracker.models import Article, Feed

pytestmark = pytest.mark.django_db

FAST = [fault for fault in CATALOGUE if not fault.slow]


def poll(feed: Feed) -> pipeline.PollOutcome:
    now = timezone.now()
    pipeline.lease_feed(feed.pk, now, force=True)
    outcome = pipeline.poll_feed(feed.pk, enqueued_at=now)
    feed.refresh_from_db()
    return outcome


def subscribe(story, url: str) -> Feed:
    feed = Feed.objects.create(url=url)
    feed.stories.add(story)
    return feed


def expected_backoff(fault: Fault) -> int:
    return schedule.failure_delay(1, retry_after=fault.retry_after or None)


@pytest.mark.parametrize("fault", FAST, ids=[f.name for f in FAST])
def test_each_hostile_feed_ends_in_its_error_kind_or_is_stored_safely(
    fault, hostile, private, story, settings, report
):
    settings.TRACKER_MAX_FEED_BYTES = FEED_CAP
    feed = subscribe(story, fault.serve(hostile, private))
    started = time.monotonic()

    outcome = poll(feed)

    elapsed = time.monotonic() - started
    assert elapsed < 15, f"{fault.name} held the poll for {elapsed:.1f} s"
    if fault.kind:
        assert outcome.status == "failed", outcome
        assert feed.last_error_kind == fault.kind, feed.last_error
        assert feed.consecutive_failures == 1
        assert feed.poll_started_at is None
        if fault.kind == "gone":
            assert not feed.is_active and "410" in feed.deactivated_reason
        else:
            wait = (feed.next_poll_at - feed.last_polled_at).total_seconds()
            assert wait >= expected_backoff(fault) - 1, f"backoff {wait} s"
    else:
        assert outcome.status == "ok", feed.last_error
        assert feed.consecutive_failures == 0
        if fault.new is not None:
            assert Article.objects.filter(feed=feed).count() == fault.new
        if fault.name == "redirect-chain":  # every hop permanent: the feed moved
            assert feed.url.endswith("/chain/final.xml"), feed.url
    assert not private.hits, f"the private server was reached: {private.hits}"
    assert "secret" not in feed.last_error
    report.input(
        fault.name,
        what=fault.what,
        expect=fault.expect,
        error_kind=feed.last_error_kind or "none",
        error=feed.last_error[:160],
        backoff_seconds=(
            int((feed.next_poll_at - feed.last_polled_at).total_seconds())
            if fault.kind and feed.is_active
            else None
        ),
        stored=Article.objects.filter(feed=feed).count(),
        poll_seconds=round(elapsed, 3),
        private_hits=len(private.hits),
        survived=True,
    )


def by_name(name: str) -> Fault:
    return next(f for f in CATALOGUE if f.name == name)


def test_a_feed_whose_etag_never_changes_is_caught_up_by_the_daily_full_fetch(
    hostile, private, story
):
    feed = subscribe(story, by_name("stale-etag").serve(hostile, private))
    assert poll(feed).status == "ok"
    assert Article.objects.filter(feed=feed).count() == 2

    # The content changed, the ETag did not: the server answers 304 to it.
    assert poll(feed).status == "not_modified"
    assert Article.objects.filter(feed=feed).count() == 2

    # A day later the tracker fetches in full, validators or not.
    Feed.objects.filter(pk=feed.pk).update(
        last_full_fetch_at=timezone.now() - dt.timedelta(days=1, minutes=1)
    )
    assert poll(feed).status == "ok"
    assert Article.objects.filter(feed=feed).count() == 4
    assert "if-none-match" not in hostile.hits_on("/stale-etag.xml")[-1].headers


def test_an_operator_can_make_a_lying_feed_always_fetch_in_full(hostile, private, story):
    feed = subscribe(story, by_name("stale-etag").serve(hostile, private))
    poll(feed)
    Feed.objects.filter(pk=feed.pk).update(always_fetch_full=True)

    assert poll(feed).status == "ok"
    assert Article.objects.filter(feed=feed).count() == 4


def test_xml_entities_are_neither_expanded_nor_read_from_files(hostile, private, story):
    laughs = subscribe(story, by_name("billion-laughs").serve(hostile, private))
    xxe = subscribe(story, by_name("xxe").serve(hostile, private))

    poll(laughs)
    poll(xxe)

    laughing = Article.objects.get(feed=laughs)
    assert len(laughing.title) < 100 and "lol" not in laughing.title
    stored = Article.objects.get(feed=xxe)
    with open("/etc/passwd") as passwd:
        first_line = passwd.readline().strip()
    assert first_line not in stored.title + stored.summary
    assert "root:" not in stored.title + stored.summary


def test_stored_text_is_bounded_however_long_the_entry(hostile, private, story):
    feed = subscribe(story, by_name("long-summary").serve(hostile, private))
    poll(feed)

    article = Article.objects.get(feed=feed)
    assert MAX_SUMMARY_CHARS <= len(article.summary) < MAX_SUMMARY_CHARS + 100


def test_hostile_markup_is_stored_without_anything_that_runs(hostile, private, story):
    feed = subscribe(story, by_name("hostile-markup").serve(hostile, private))
    poll(feed)

    article = Article.objects.get(feed=feed)
    stored = (article.title + article.summary).lower()
    for active in (
        "<script",
        "onclick",
        "onload",
        "onerror",
        "javascript:",
        "<svg",
        "<img",
        "<style",
    ):
        assert active not in stored, active
    assert article.title.startswith("Scale AI") and "link" in article.summary
