"""The pipeline end to end: a loopback feed_server plays the feeds and pages, the real
database stores what the tracker keeps."""

import datetime as dt
import random

import pytest
from django.utils import timezone

from tests.feedserver import FeedServer, Response, conditional
from tracker.ingestion import pipeline, schedule
from tracker.models import Article, ExtractionStatus, Feed, PollLog, ReviewState, Story

pytestmark = pytest.mark.django_db

ARTICLE_TEXT = " ".join(
    f"Paragraph {i}: Meta closed its investment in Scale AI, and Alexandr Wang moved to "
    "Meta to lead its superintelligence effort while Jason Droege became interim chief."
    for i in range(12)
)


def rss(items: list[dict], title: str = "Tech Wire") -> bytes:
    body = "".join(
        f"<item><title>{i['title']}</title><link>{i['link']}</link>"
        + (f"<guid>{i['guid']}</guid>" if "guid" in i else "")
        + f"<pubDate>{i.get('date', 'Thu, 12 Jun 2025 10:00:00 GMT')}</pubDate>"
        + f"<description>{i.get('summary', 'Scale AI news.')}</description></item>"
        for i in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://wire.example/</link>{body}</channel></rss>"
    ).encode()


WORDS = [
    "regulators",
    "investors",
    "engineers",
    "contract",
    "annotation",
    "pipeline",
    "superintelligence",
    "board",
    "valuation",
    "stake",
    "customers",
    "revenue",
    "rivals",
    "vendors",
    "model",
    "release",
    "data",
    "labeling",
    "robotics",
    "capacity",
    "budget",
    "inquiry",
    "lawmakers",
    "analysts",
    "employees",
    "founders",
    "partners",
    "outlook",
]


def distinct_text(seed: str) -> str:
    """An article body of its own: different seeds give bodies far apart by SimHash."""
    rng = random.Random(seed)
    sentences = [
        " ".join(rng.choice(WORDS) for _ in range(14)).capitalize() + "." for _ in range(40)
    ]
    return f"Scale AI and Meta: {seed}. " + " ".join(sentences)


def page(title: str, text: str | None = None) -> bytes:
    text = text if text is not None else distinct_text(title)
    return (
        f"<html><head><title>{title}</title></head><body><nav>Home | World | Tech</nav>"
        f"<article><h1>{title}</h1><p>{text}</p></article><footer>(c) Wire</footer></body></html>"
    ).encode()


@pytest.fixture
def story():
    return Story.objects.create(
        slug="meta-scale-ai", title="Meta and Scale AI", include_terms="Scale AI\nAlexandr Wang"
    )


def subscribe(story: Story, url: str) -> Feed:
    feed = Feed.objects.create(url=url)
    feed.stories.add(story)
    return feed


def poll(feed: Feed) -> pipeline.PollOutcome:
    """Poll now, whatever the schedule says, and return what happened."""
    now = timezone.now()
    pipeline.lease_feed(feed.pk, now, force=True)
    outcome = pipeline.poll_feed(feed.pk, enqueued_at=now)
    feed.refresh_from_db()
    return outcome


def items(feed_server: FeedServer, n: int, prefix: str = "a") -> list[dict]:
    made = []
    for i in range(n):
        path = f"/{prefix}/{i}"
        feed_server.route(
            path, Response(200, page(f"Scale AI story {prefix} {i}"), {"Content-Type": "text/html"})
        )
        made.append(
            {"title": f"Scale AI story {prefix} number {i} today", "link": feed_server.url(path)}
        )
    return made


def test_unchanged_feed_answers_304_and_stores_nothing(feed_server, story):
    url = feed_server.route(
        "/feed.xml", conditional(rss(items(feed_server, 3)), "application/rss+xml")
    )
    feed = subscribe(story, url)

    first = poll(feed)
    assert first.status == "ok" and len(first.new_articles) == 3
    assert feed.etag and feed.title == "Tech Wire"

    second = poll(feed)
    assert second.status == "not_modified"
    assert feed_server.hits("/feed.xml")[-1].headers["if-none-match"] == feed.etag
    assert Article.objects.count() == 3
    assert PollLog.objects.filter(feed=feed, was_not_modified=True).count() == 1


def test_a_changed_feed_stores_only_its_new_entries(feed_server, story):
    entries = items(feed_server, 2)
    feed_server.route("/feed.xml", conditional(rss(entries), "application/rss+xml"))
    feed = subscribe(story, feed_server.url("/feed.xml"))
    poll(feed)

    feed_server.route(
        "/feed.xml",
        conditional(rss([*entries, *items(feed_server, 1, "b")]), "application/rss+xml"),
    )
    outcome = poll(feed)
    assert len(outcome.new_articles) == 1
    assert Article.objects.count() == 3
    assert feed.last_new_entry_at is not None


def test_a_feed_answering_304_is_still_fetched_in_full_once_a_day(feed_server, story):
    url = feed_server.route(
        "/feed.xml", conditional(rss(items(feed_server, 1)), "application/rss+xml")
    )
    feed = subscribe(story, url)
    poll(feed)
    Feed.objects.filter(pk=feed.pk).update(last_full_fetch_at=timezone.now() - dt.timedelta(days=2))
    poll(feed)
    assert "if-none-match" not in feed_server.hits("/feed.xml")[-1].headers


def test_the_same_article_in_two_feeds_is_stored_once_and_the_copy_points_at_it(feed_server, story):
    shared = items(feed_server, 1)
    first = subscribe(story, feed_server.route("/one.xml", Response(200, rss(shared))))
    second = subscribe(story, feed_server.route("/two.xml", Response(200, rss(shared, "Other"))))
    poll(first)
    poll(second)
    original, copy = Article.objects.order_by("pk")
    assert original.review_state == ReviewState.PENDING
    assert copy.review_state == ReviewState.DUPLICATE and copy.duplicate_of == original
    assert copy.extraction_status == ExtractionStatus.SKIPPED


def test_copies_inside_one_poll_point_at_the_first_of_them(feed_server, story):
    [first, other] = items(feed_server, 2)
    same_url = {**first, "title": "Scale AI story told a second way", "guid": "second-guid"}
    same_title = {**first, "link": "https://elsewhere.example/copy", "guid": "third-guid"}
    feed = subscribe(
        story,
        feed_server.route("/one.xml", Response(200, rss([first, same_url, other, same_title]))),
    )
    outcome = poll(feed)
    original = Article.objects.get(url=first["link"], duplicate_of=None)
    copies = Article.objects.filter(review_state=ReviewState.DUPLICATE)
    assert sorted(copies.values_list("guid", flat=True)) == ["second-guid", "third-guid"]
    assert {copy.duplicate_of_id for copy in copies} == {original.pk}
    assert sorted(outcome.new_articles) == sorted(
        Article.objects.filter(duplicate_of=None).values_list("pk", flat=True)
    )


def test_tracking_parameters_do_not_hide_a_duplicate(feed_server, story):
    link = items(feed_server, 1)[0]
    tagged = {**link, "link": link["link"] + "?utm_source=rss&utm_medium=feed"}
    poll(subscribe(story, feed_server.route("/one.xml", Response(200, rss([link])))))
    poll(subscribe(story, feed_server.route("/two.xml", Response(200, rss([tagged])))))
    assert Article.objects.filter(review_state=ReviewState.DUPLICATE).count() == 1


def test_the_same_story_from_another_outlet_is_recognised_by_its_title(feed_server, story):
    a = {"title": "Meta takes 49% of Scale AI for $14.3 billion", "link": "https://a.example/x"}
    b = {
        "title": "Meta takes 49% of Scale AI for $14.3 billion - Reuters",
        "link": "https://b.example/y",
    }
    poll(subscribe(story, feed_server.route("/one.xml", Response(200, rss([a])))))
    poll(subscribe(story, feed_server.route("/two.xml", Response(200, rss([b])))))
    copy = Article.objects.get(url="https://b.example/y")
    assert copy.review_state == ReviewState.DUPLICATE
    assert copy.duplicate_of.url == "https://a.example/x"


def test_a_rejected_story_coming_back_through_another_outlet_says_so(feed_server, story):
    a = {"title": "Scale AI rumours about a Meta deal swirl again", "link": "https://a.example/x"}
    b = {
        "title": "Scale AI rumours about a Meta deal swirl again | Wire",
        "link": "https://b.example/y",
    }
    poll(subscribe(story, feed_server.route("/one.xml", Response(200, rss([a])))))
    Article.objects.update(review_state=ReviewState.REJECTED, reject_reason="opinion")

    poll(subscribe(story, feed_server.route("/two.xml", Response(200, rss([b])))))
    back = Article.objects.get(url="https://b.example/y")
    assert back.review_state == ReviewState.PENDING
    assert back.previously_rejected.reject_reason == "opinion"


def test_articles_below_the_threshold_are_kept_as_filtered_out(feed_server, story):
    off_topic = {
        "title": "Gardening tips for the weekend ahead",
        "link": "https://a.example/g",
        "summary": "Tomatoes.",
    }
    poll(subscribe(story, feed_server.route("/feed.xml", Response(200, rss([off_topic])))))
    article = Article.objects.get()
    assert article.review_state == ReviewState.FILTERED
    assert article.extraction_status == ExtractionStatus.SKIPPED


def test_a_story_without_include_terms_reviews_everything(feed_server, story):
    story.include_terms = ""
    story.save()
    off_topic = {"title": "Gardening tips for the weekend ahead", "link": "https://a.example/g"}
    poll(subscribe(story, feed_server.route("/feed.xml", Response(200, rss([off_topic])))))
    assert Article.objects.get().review_state == ReviewState.PENDING


def test_a_failing_feed_backs_off_and_one_success_resets_it(feed_server, story):
    feed_server.route("/feed.xml", Response(500, b"oops"))
    feed = subscribe(story, feed_server.url("/feed.xml"))
    before = timezone.now()
    outcome = poll(feed)
    assert outcome.status == "failed"
    assert feed.consecutive_failures == 1 and feed.last_error_kind == "http"
    assert "500" in feed.last_error
    assert feed.next_poll_at >= before + dt.timedelta(minutes=4)
    poll(feed)
    assert feed.consecutive_failures == 2

    feed_server.route("/feed.xml", Response(200, rss(items(feed_server, 1))))
    poll(feed)
    assert feed.consecutive_failures == 0 and feed.last_error_kind == "http"
    assert feed.last_success_at is not None and feed.flagged_at is None


def test_after_repeated_failures_a_feed_is_flagged_but_still_tried(feed_server, story, settings):
    settings.TRACKER_FLAG_AFTER_FAILURES = 2
    feed_server.route("/feed.xml", Response(503, b"down"))
    feed = subscribe(story, feed_server.url("/feed.xml"))
    poll(feed)
    assert feed.flagged_at is None
    poll(feed)
    assert feed.flagged_at is not None and feed.is_active
    assert feed.next_poll_at <= timezone.now() + dt.timedelta(days=1, minutes=1)


def test_retry_after_is_honoured(feed_server, story):
    feed_server.route("/feed.xml", Response(429, b"slow down", {"Retry-After": "7200"}))
    feed = subscribe(story, feed_server.url("/feed.xml"))
    before = timezone.now()
    poll(feed)
    assert feed.next_poll_at >= before + dt.timedelta(seconds=7200)


def test_a_feed_that_returns_html_is_recorded_as_not_a_feed(feed_server, story):
    html = b"<html><head><title>Home</title></head><body><p>Welcome</p></body></html>"
    feed = subscribe(
        story, feed_server.route("/feed.xml", Response(200, html, {"Content-Type": "text/html"}))
    )
    poll(feed)
    assert feed.last_error_kind == "not_a_feed"
    assert PollLog.objects.get(feed=feed).error_kind == "not_a_feed"


def test_a_gone_feed_is_deactivated_with_the_reason(feed_server, story):
    feed = subscribe(story, feed_server.route("/feed.xml", Response(410, b"gone")))
    poll(feed)
    assert not feed.is_active
    assert "410" in feed.deactivated_reason


def test_one_broken_feed_never_stops_the_others(feed_server, story):
    broken = subscribe(
        story, feed_server.route("/broken.xml", Response(200, b"<rss><channel><item>"))
    )
    healthy = subscribe(
        story, feed_server.route("/ok.xml", Response(200, rss(items(feed_server, 2))))
    )
    poll(broken)
    poll(healthy)
    assert healthy.consecutive_failures == 0
    assert Article.objects.filter(feed=healthy).count() == 2


def poll_batch(feeds: list[Feed]) -> list[pipeline.PollOutcome]:
    now = timezone.now()
    pipeline.lease_feeds(Feed.objects.filter(pk__in=[f.pk for f in feeds]), now)
    return pipeline.poll_feeds([f.pk for f in feeds], enqueued_at=now)


def test_a_batch_stores_each_feed_and_a_broken_one_only_fails_itself(feed_server, story):
    shared = items(feed_server, 1, "shared")
    first = subscribe(story, feed_server.route("/one.xml", Response(200, rss(shared))))
    broken = subscribe(story, feed_server.route("/broken.xml", Response(503, b"down")))
    second = subscribe(
        story,
        feed_server.route("/two.xml", Response(200, rss([*shared, *items(feed_server, 2)]))),
    )

    outcomes = poll_batch([first, broken, second])

    assert [o.status for o in outcomes] == ["ok", "failed", "ok"]
    assert [len(o.new_articles) for o in outcomes] == [1, 0, 2]
    # The second feed's copy of the shared story, stored in the same transaction
    # as the first feed's, points at it.
    original = Article.objects.get(feed=first)
    copy = Article.objects.get(feed=second, url=original.url)
    assert copy.duplicate_of == original and original.duplicate_of is None
    for feed in (first, broken, second):
        feed.refresh_from_db()
        assert feed.poll_started_at is None and feed.last_polled_at is not None
        assert PollLog.objects.filter(feed=feed).count() == 1
    assert broken.consecutive_failures == 1 and broken.last_error_kind == "http"
    assert first.consecutive_failures == second.consecutive_failures == 0
    assert PollLog.objects.get(feed=second).new_articles == 3


@pytest.mark.parametrize("where", ["_new_article", "_record_success"])
def test_a_bug_storing_one_feed_of_a_batch_fails_that_feed_alone(
    feed_server, story, monkeypatch, settings, where
):
    first = subscribe(
        story, feed_server.route("/one.xml", Response(200, rss(items(feed_server, 2))))
    )
    buggy = subscribe(
        story, feed_server.route("/bug.xml", Response(200, rss(items(feed_server, 2, "b"))))
    )
    last = subscribe(
        story, feed_server.route("/last.xml", Response(200, rss(items(feed_server, 2, "c"))))
    )
    # While its articles are made (before the write transaction), or while the
    # feed is updated (inside it, after the first feed's update).
    real = getattr(pipeline, where)

    def crash_on_one_feed(*args, **kwargs):
        feed = args[1] if where == "_new_article" else args[0]
        if feed.pk == buggy.pk:
            raise RuntimeError("a bug")
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, where, crash_on_one_feed)
    outcomes = poll_batch([first, buggy, last])

    assert [o.status for o in outcomes] == ["ok", "failed", "ok"]
    assert (
        Article.objects.filter(feed=first).count() == Article.objects.filter(feed=last).count() == 2
    )
    assert not Article.objects.filter(feed=buggy).exists()
    for feed in (first, buggy, last):
        feed.refresh_from_db()
        assert feed.poll_started_at is None
        assert PollLog.objects.filter(feed=feed).count() == 1
    # Counted once, not once per attempt at storing the batch.
    assert (first.consecutive_failures, buggy.consecutive_failures) == (0, 1)
    assert buggy.last_error_kind == "internal"
    once = schedule.next_interval(
        current=Feed().interval_seconds,
        new_entries=2,
        minimum=settings.TRACKER_MIN_INTERVAL,
        maximum=settings.TRACKER_MAX_INTERVAL,
    )
    assert first.interval_seconds == last.interval_seconds == once


def test_a_batch_out_of_time_hands_back_the_feeds_it_did_not_fetch(feed_server, story, monkeypatch):
    monkeypatch.setattr(pipeline, "BATCH_FETCH_SECONDS", 0.2)
    slow = subscribe(
        story,
        feed_server.route(
            "/slow.xml", Response(200, rss(items(feed_server, 1, "slow")), delay=0.5)
        ),
    )
    later = subscribe(
        story, feed_server.route("/later.xml", Response(200, rss(items(feed_server, 1))))
    )

    outcomes = poll_batch([slow, later])

    assert [o.status for o in outcomes] == ["ok", "deferred"]
    assert feed_server.hits("/later.xml") == []
    later.refresh_from_db()
    assert later.poll_started_at is None and later.last_polled_at is None
    assert not PollLog.objects.filter(feed=later).exists()
    # Another batch polls it.
    assert [o.status for o in poll_batch([later])] == ["ok"]
    assert Article.objects.filter(feed=later).count() == 1


def test_a_second_delivery_of_the_same_poll_does_nothing(feed_server, story):
    feed = subscribe(
        story, feed_server.route("/feed.xml", Response(200, rss(items(feed_server, 2))))
    )
    now = timezone.now()
    assert pipeline.poll_feed(feed.pk, enqueued_at=now).status == "ok"
    assert pipeline.poll_feed(feed.pk, enqueued_at=now).status == "skipped"
    assert len(feed_server.hits("/feed.xml")) == 1


def test_a_feed_claimed_by_a_live_worker_is_not_polled_twice(feed_server, story):
    feed = subscribe(
        story, feed_server.route("/feed.xml", Response(200, rss(items(feed_server, 1))))
    )
    Feed.objects.filter(pk=feed.pk).update(poll_started_at=timezone.now())
    assert pipeline.poll_feed(feed.pk).status == "skipped"
    Feed.objects.filter(pk=feed.pk).update(
        poll_started_at=timezone.now() - pipeline.RUN_LEASE - dt.timedelta(seconds=1)
    )
    assert pipeline.poll_feed(feed.pk).status == "ok"


@pytest.mark.parametrize("returning", [True, False], ids=["one UPDATE", "one UPDATE a feed"])
def test_a_batch_claims_only_the_feeds_free_to_poll(story, monkeypatch, returning):
    if not returning:
        monkeypatch.setattr(pipeline, "_updates_return_rows", lambda connection: False)
    free, taken, stale, polled_since, inactive = (
        subscribe(story, f"https://wire{i}.example/feed.xml") for i in range(5)
    )
    now = timezone.now()
    Feed.objects.filter(pk=taken.pk).update(poll_started_at=now - dt.timedelta(seconds=5))
    Feed.objects.filter(pk=stale.pk).update(
        poll_started_at=now - pipeline.RUN_LEASE - dt.timedelta(seconds=1)
    )
    Feed.objects.filter(pk=polled_since.pk).update(last_polled_at=now)
    Feed.objects.filter(pk=inactive.pk).update(is_active=False)

    asked = [inactive, polled_since, stale, taken, free, free]
    claimed = pipeline.claim_feeds([f.pk for f in asked], now, now - dt.timedelta(seconds=1))

    assert [f.pk for f in claimed] == [stale.pk, free.pk]
    assert [list(f.stories.all()) for f in claimed] == [[story], [story]]
    started = dict(Feed.objects.values_list("pk", "poll_started_at"))
    assert started[free.pk] == started[stale.pk] == now
    assert started[taken.pk] == now - dt.timedelta(seconds=5)
    assert started[polled_since.pk] is None and started[inactive.pk] is None


def test_what_an_operator_changes_during_a_poll_is_kept(feed_server, story, monkeypatch):
    feed = subscribe(
        story, feed_server.route("/feed.xml", Response(200, rss(items(feed_server, 2))))
    )
    parse = pipeline.parse_feed

    def operator_acts_meanwhile(*args, **kwargs):
        Feed.objects.filter(pk=feed.pk).update(is_active=False, always_fetch_full=True)
        return parse(*args, **kwargs)

    monkeypatch.setattr(pipeline, "parse_feed", operator_acts_meanwhile)
    assert pipeline.poll_feed(feed.pk).status == "ok"
    feed.refresh_from_db()
    assert not feed.is_active and feed.always_fetch_full
    assert feed.last_success_at is not None and feed.poll_started_at is None
    assert feed.title == "Tech Wire"


@pytest.mark.parametrize("status", [301, 308])
def test_a_feed_that_moved_for_good_is_polled_at_its_new_url(feed_server, story, status):
    new_url = feed_server.route("/new.xml", Response(200, rss(items(feed_server, 1))))
    feed = subscribe(
        story, feed_server.route("/old.xml", Response(status, b"", {"Location": "/new.xml"}))
    )
    assert poll(feed).status == "ok"
    feed.refresh_from_db()
    assert feed.url == new_url
    assert Article.objects.filter(feed=feed).count() == 1


def test_a_feed_redirected_for_now_keeps_its_url(feed_server, story):
    feed_server.route("/new.xml", Response(200, rss(items(feed_server, 1))))
    old_url = feed_server.route("/old.xml", Response(302, b"", {"Location": "/new.xml"}))
    feed = subscribe(story, old_url)
    assert poll(feed).status == "ok"
    feed.refresh_from_db()
    assert feed.url == old_url


def test_a_feed_that_moved_to_a_url_too_long_to_store_keeps_its_own(feed_server, story):
    long_path = "/new/" + "x" * 2100 + ".xml"
    feed_server.route(long_path, Response(200, rss(items(feed_server, 1))))
    old_url = feed_server.route("/old.xml", Response(301, b"", {"Location": long_path}))
    feed = subscribe(story, old_url)
    assert poll(feed).status == "ok"
    assert feed.url == old_url


def test_a_feed_that_moved_onto_another_feeds_url_keeps_its_own(feed_server, story):
    new_url = feed_server.route("/new.xml", Response(200, rss(items(feed_server, 1))))
    old_url = feed_server.route("/old.xml", Response(301, b"", {"Location": "/new.xml"}))
    moved, already_there = subscribe(story, old_url), subscribe(story, new_url)
    assert poll(moved).status == "ok"
    moved.refresh_from_db()
    assert (moved.url, already_there.url) == (old_url, new_url)


def test_due_feeds_are_leased_once_until_the_lease_runs_out(story):
    feed = subscribe(story, "https://wire.example/feed.xml")
    now = timezone.now()
    assert pipeline.enqueue_due_feeds(now) == [feed.pk]
    assert pipeline.enqueue_due_feeds(now) == []
    assert pipeline.enqueue_due_feeds(now + pipeline.QUEUE_LEASE) == [feed.pk]


def test_extraction_stores_the_main_text_and_runs_once(feed_server, story):
    feed = subscribe(
        story, feed_server.route("/feed.xml", Response(200, rss(items(feed_server, 1))))
    )
    [article_id] = poll(feed).new_articles
    assert pipeline.extract_article(article_id) == "full"
    article = Article.objects.get(pk=article_id)
    assert "Scale AI and Meta: Scale AI story a 0." in article.text
    assert "Home | World" not in article.text
    assert article.fingerprint is not None
    assert pipeline.extract_article(article_id) == "full"
    assert len(feed_server.hits("/a/0")) == 1


def test_a_failed_extraction_keeps_the_article_reviewable_with_the_reason(feed_server, story):
    entry = {
        "title": "Scale AI page that vanished",
        "link": feed_server.url("/missing"),
        "summary": "Scale AI summary kept.",
    }
    feed = subscribe(story, feed_server.route("/feed.xml", Response(200, rss([entry]))))
    [article_id] = poll(feed).new_articles
    feed_server.route("/missing", Response(404, b"nope"))
    assert pipeline.extract_article(article_id) == "failed"
    article = Article.objects.get(pk=article_id)
    assert article.review_state == ReviewState.PENDING
    assert "404" in article.extraction_error
    assert "Scale AI summary kept." in article.summary


def two_copies_a_few_hours_apart(feed_server: FeedServer, story: Story) -> tuple[int, int]:
    """Two outlets' pages with the same body, published at 10:00 and 14:00,
    polled and stored; returns the two articles' ids, earlier first."""
    html = {"Content-Type": "text/html"}
    feed_server.route("/x", Response(200, page("Meta buys into Scale AI", ARTICLE_TEXT), html))
    feed_server.route("/y", Response(200, page("Scale AI gets Meta money", ARTICLE_TEXT), html))
    early = {"title": "Meta buys into Scale AI", "link": feed_server.url("/x"),
             "date": "Thu, 12 Jun 2025 10:00:00 GMT"}  # fmt: skip
    late = {"title": "Scale AI gets Meta money", "link": feed_server.url("/y"),
            "date": "Thu, 12 Jun 2025 14:00:00 GMT"}  # fmt: skip
    [first] = poll(
        subscribe(story, feed_server.route("/one.xml", Response(200, rss([early]))))
    ).new_articles
    [second] = poll(
        subscribe(story, feed_server.route("/two.xml", Response(200, rss([late]))))
    ).new_articles
    return first, second


def test_a_syndicated_copy_with_another_title_is_caught_by_its_body(feed_server, story):
    first, second = two_copies_a_few_hours_apart(feed_server, story)
    pipeline.extract_article(first)
    pipeline.extract_article(second)
    copy = Article.objects.get(pk=second)
    assert copy.review_state == ReviewState.DUPLICATE and copy.duplicate_of_id == first


@pytest.mark.parametrize("searching_first", ["earlier copy", "later copy"])
def test_two_copies_extracted_at_the_same_moment_end_as_original_and_copy(
    feed_server, story, monkeypatch, searching_first
):
    first, second = two_copies_a_few_hours_apart(feed_server, story)
    one, other = (first, second) if searching_first == "earlier copy" else (second, first)
    search = pipeline._near_duplicate
    interleaved: list[int] = []

    def the_other_finishes_meanwhile(article, fingerprint):
        found = search(article, fingerprint)
        if not interleaved:
            # A second process extracts the other copy between this one's search
            # and its write: neither has seen the other's fingerprint.
            interleaved.append(other)
            pipeline.extract_article(other)
        return found

    monkeypatch.setattr(pipeline, "_near_duplicate", the_other_finishes_meanwhile)
    pipeline.extract_article(one)

    original, copy = Article.objects.get(pk=first), Article.objects.get(pk=second)
    assert interleaved == [other]
    assert original.duplicate_of_id is None and original.review_state == ReviewState.PENDING
    assert copy.duplicate_of_id == first and copy.review_state == ReviewState.DUPLICATE


def stored(story: Story, guid: str, fingerprint: int | None = None, **fields) -> Article:
    return Article.objects.create(
        story=story,
        guid=guid,
        title=guid,
        fingerprint=fingerprint,
        **(pipeline._bands(fingerprint) if fingerprint is not None else {}),
        **fields,
    )


def test_the_first_published_copy_stays_the_original_whichever_page_is_fetched_first(
    feed_server, story
):
    first, second = two_copies_a_few_hours_apart(feed_server, story)
    stored(story, "an earlier copy of the late one", 0, duplicate_of_id=second)
    pipeline.extract_article(second)  # the later copy's page comes back first
    pipeline.extract_article(first)

    original, copy = Article.objects.get(pk=first), Article.objects.get(pk=second)
    assert original.review_state == ReviewState.PENDING and original.duplicate_of_id is None
    assert copy.review_state == ReviewState.DUPLICATE and copy.duplicate_of_id == first
    assert set(Article.objects.filter(duplicate_of=first).values_list("pk", flat=True)) == {
        second,
        Article.objects.get(guid="an earlier copy of the late one").pk,
    }


def test_a_reviewed_copy_stays_the_original_even_if_published_later(feed_server, story):
    first, second = two_copies_a_few_hours_apart(feed_server, story)
    pipeline.extract_article(second)
    Article.objects.filter(pk=second).update(review_state=ReviewState.ACCEPTED)
    pipeline.extract_article(first)

    assert Article.objects.get(pk=second).review_state == ReviewState.ACCEPTED
    assert Article.objects.get(pk=first).duplicate_of_id == second


def test_a_body_three_bits_off_in_three_bands_is_found_and_four_bits_off_is_not(story):
    base = 0x0123_4567_89AB_CDEF
    three = base ^ (1 << 3 | 1 << 20 | 1 << 37)  # bands 0, 1 and 2 differ; 3 is shared
    four = base ^ (1 << 3 | 1 << 20 | 1 << 37 | 1 << 60)  # no band shared
    original = stored(story, "original", base)
    stored(story, "a duplicate of it", base, duplicate_of=original)
    newcomer = stored(story, "newcomer")

    found = pipeline._near_duplicate(newcomer, three)
    assert found is not None and found.pk == original.pk
    assert pipeline._near_duplicate(newcomer, four) is None


def test_a_body_is_compared_only_with_other_originals_of_its_story(story):
    base = 0x0BAD_F00D_1234_5678
    elsewhere = Story.objects.create(title="Another story", slug="another-story")
    stored(elsewhere, "the same body in another story", base)
    newcomer = stored(story, "newcomer", base)
    assert pipeline._near_duplicate(newcomer, base) is None  # not itself, not elsewhere
    same_story = stored(story, "the same body here", base ^ 0b101)
    found = pipeline._near_duplicate(newcomer, base)
    assert found is not None and found.pk == same_story.pk


def test_a_body_is_compared_only_with_the_originals_of_its_week(story):
    base = 0x0FED_CBA9_8765_4321
    old = stored(story, "old", base)
    Article.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=9))
    newcomer = stored(story, "newcomer", published_at=timezone.now())
    assert pipeline._near_duplicate(newcomer, base) is None
    recent = stored(story, "recent", base ^ 1)
    found = pipeline._near_duplicate(newcomer, base)
    assert found is not None and found.pk == recent.pk


def test_fingerprints_stored_before_the_bands_get_them_from_the_migration(story):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("tracker.migrations.0006_article_fingerprint_bands")
    article = stored(story, "before", -(2**63) + 5)
    Article.objects.filter(pk=article.pk).update(**dict.fromkeys(pipeline._bands(0), None))
    migration.fill_bands(apps, None)
    article.refresh_from_db()
    assert (article.fingerprint_band0, article.fingerprint_band3) == (5, 0x8000)


def test_private_addresses_are_refused_and_the_reason_recorded(story, settings):
    settings.TRACKER_FETCH_ALLOWLIST = []
    feed = subscribe(story, "http://127.0.0.1:9/feed.xml")
    poll(feed)
    assert feed.last_error_kind == "blocked"


def test_only_the_newest_poll_logs_are_kept(feed_server, story, settings):
    settings.TRACKER_POLL_LOG_KEEP = 3
    feed = subscribe(story, feed_server.route("/feed.xml", Response(500, b"down")))
    for _ in range(5):
        poll(feed)
    logs = PollLog.objects.filter(feed=feed)
    assert logs.count() == 3
    assert feed.consecutive_failures == 5
