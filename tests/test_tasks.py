"""Celery claims, tested with real worker processes on the real broker."""

import pytest
from django.utils import timezone

from tests.conftest import queued_batches, wait_for
from tests.feedserver import FeedServer, Response
from tests.ingestion.test_pipeline import page, rss
from tracker import services, tasks
from tracker.ingestion import pipeline
from tracker.models import Article, ExtractionStatus, Feed, ReviewState, Story

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def story():
    return Story.objects.create(
        slug="meta-scale-ai", title="Meta and Scale AI", include_terms="Scale AI"
    )


def feed_with_articles(
    feed_server: FeedServer, story: Story, path: str, n: int, prefix: str
) -> Feed:
    entries = []
    for i in range(n):
        page_path = f"/{prefix}/{i}"
        feed_server.route(
            page_path, Response(200, page(f"Scale AI {prefix} {i}"), {"Content-Type": "text/html"})
        )
        entries.append(
            {
                "title": f"Scale AI report {prefix} {i} of the week",
                "link": feed_server.url(page_path),
            }
        )
    feed = Feed.objects.create(url=feed_server.route(path, Response(200, rss(entries))))
    feed.stories.add(story)
    return feed


def test_a_real_worker_carries_a_feed_from_poll_to_the_review_queue(
    feed_server, story, celery_workers
):
    feed = feed_with_articles(feed_server, story, "/feed.xml", 3, "a")
    celery_workers("w1")
    tasks.poll_due_feeds_task.delay()

    wait_for(
        lambda: Article.objects.filter(extraction_status=ExtractionStatus.FULL).count() == 3,
        message="three articles extracted by the worker",
    )
    assert set(Article.objects.values_list("review_state", flat=True)) == {ReviewState.PENDING}
    feed.refresh_from_db()
    assert feed.last_success_at is not None and feed.poll_started_at is None
    assert feed.next_poll_at > timezone.now()


def test_two_workers_racing_for_the_same_feeds_create_no_duplicates(
    feed_server, story, celery_workers
):
    # Two feeds carry the same ten articles: the workers race on the feed claims
    # and, across the feeds, on the one-original-per-URL constraint.
    one = feed_with_articles(feed_server, story, "/one.xml", 10, "s")
    two = Feed.objects.create(url=feed_server.route("/two.xml", feed_server.routes["/one.xml"]))
    two.stories.add(story)
    celery_workers("w1", concurrency=2)
    celery_workers("w2", concurrency=2)
    # Sent together (one batch) and apart (batches racing for one feed each).
    for _ in range(5):
        services.poll_now(Feed.objects.filter(pk__in=[one.pk, two.pk]))
        services.poll_now(Feed.objects.filter(pk=one.pk))
        services.poll_now(Feed.objects.filter(pk=two.pk))

    wait_for(
        lambda: (
            Article.objects.count() == 20
            and not Article.objects.filter(extraction_status=ExtractionStatus.PENDING).exists()
        ),
        message="both feeds stored and every original extracted",
    )
    assert Article.objects.originals().count() == 10
    assert Article.objects.filter(review_state=ReviewState.DUPLICATE).count() == 10
    assert len(set(Article.objects.originals().values_list("normalized_url", flat=True))) == 10
    for i in range(10):
        assert len(feed_server.hits(f"/s/{i}")) == 1, "each page is fetched once"


def test_feeds_a_batch_had_no_time_for_are_sent_on_and_polled(
    feed_server, story, celery_workers, monkeypatch
):
    monkeypatch.setattr(pipeline, "BATCH_FETCH_SECONDS", 0.2)
    slow = Feed.objects.create(
        url=feed_server.route("/slow.xml", Response(200, rss([]), delay=0.5))
    )
    later = feed_with_articles(feed_server, story, "/later.xml", 2, "l")
    now = timezone.now()
    pipeline.lease_feeds(Feed.objects.all(), now)

    # The batch runs here; the worker gets what it sends on.
    assert tasks.poll_feeds_task([slow.pk, later.pk], now.isoformat()) == ["ok", "deferred"]
    celery_workers("w1")

    wait_for(
        lambda: (
            Article.objects.filter(feed=later, extraction_status=ExtractionStatus.FULL).count() == 2
        ),
        message="the deferred feed polled by the worker and its articles extracted",
    )
    assert len(feed_server.hits("/later.xml")) == 1


def test_a_page_that_fails_for_a_while_is_retried_alone_until_it_is_extracted(
    feed_server, story, celery_workers, settings
):
    """A poll's new articles travel as one batch; the one page that answers 503
    twice goes on with its own retries and is extracted on the third try, while
    the others are extracted once."""
    settings.TRACKER_EXTRACT_RETRY_SECONDS = 1
    feed = feed_with_articles(feed_server, story, "/feed.xml", 4, "r")
    answers = iter([Response(503, b"busy"), Response(503, b"busy")])
    good = Response(200, page("Scale AI r 2"), {"Content-Type": "text/html"})
    feed_server.route("/r/2", lambda request: next(answers, good))
    celery_workers("w1")
    services.poll_now(Feed.objects.filter(pk=feed.pk))

    wait_for(
        lambda: Article.objects.filter(extraction_status=ExtractionStatus.FULL).count() == 4,
        timeout=30,
        message="all four articles extracted, the flaky one after its retries",
    )
    assert len(feed_server.hits("/r/2")) == 3
    assert [len(feed_server.hits(f"/r/{i}")) for i in (0, 1, 3)] == [1, 1, 1]
    assert set(Article.objects.values_list("review_state", flat=True)) == {ReviewState.PENDING}


def test_a_crash_on_one_article_of_a_batch_does_not_stop_the_others(
    feed_server, story, monkeypatch
):
    feed = feed_with_articles(feed_server, story, "/feed.xml", 3, "c")
    services.poll_now(Feed.objects.filter(pk=feed.pk))  # leases it; no worker runs it
    new: list[int] = []
    pipeline.poll_feed(feed.pk, on_new_articles=new.extend)
    first, broken, last = sorted(new)
    extract = pipeline.extract_article

    def crash_on_one(article_id: int, **kwargs):
        if article_id == broken:
            raise RuntimeError("a bug")
        return extract(article_id, **kwargs)

    monkeypatch.setattr(pipeline, "extract_article", crash_on_one)
    assert tasks.extract_articles_task.run([first, broken, last]) == 3
    states = dict(Article.objects.values_list("pk", "extraction_status"))
    assert [states[first], states[broken], states[last]] == [
        ExtractionStatus.FULL,
        ExtractionStatus.PENDING,
        ExtractionStatus.FULL,
    ]


def test_an_extraction_batch_out_of_time_sends_the_articles_it_did_not_start_on(
    feed_server, story, monkeypatch, redis_client
):
    feed = feed_with_articles(feed_server, story, "/feed.xml", 3, "d")
    new: list[int] = []
    pipeline.poll_feed(feed.pk, on_new_articles=new.extend)
    first, *rest = sorted(new)
    monkeypatch.setattr(tasks, "EXTRACT_BATCH_SECONDS", 0)

    assert tasks.extract_articles_task.run([first, *rest]) == 1
    states = dict(Article.objects.values_list("pk", "extraction_status"))
    assert [states[pk] for pk in (first, *rest)] == [
        ExtractionStatus.FULL,
        ExtractionStatus.PENDING,
        ExtractionStatus.PENDING,
    ]
    assert queued_batches(redis_client, "extract", "tracker.tasks.extract_articles_task") == [rest]
