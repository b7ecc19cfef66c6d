"""The operators' commands, run as an operator would."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.conftest import queued_poll_batches
from tests.feedserver import FeedServer, Response
from tests.ingestion.test_pipeline import page, rss
from tracker.models import Article, Feed, Story

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def serve_feed(feed_server: FeedServer, path: str = "/feed.xml", n: int = 2) -> str:
    entries = []
    for i in range(n):
        feed_server.route(
            f"/p/{i}", Response(200, page(f"Scale AI page {i}"), {"Content-Type": "text/html"})
        )
        entries.append(
            {"title": f"Scale AI news item {i} this week", "link": feed_server.url(f"/p/{i}")}
        )
    return feed_server.route(
        path, Response(200, rss(entries), {"Content-Type": "application/rss+xml"})
    )


def test_addfeed_subscribes_a_story_and_creates_it_when_missing(feed_server):
    url = serve_feed(feed_server)
    output = run("addfeed", url, "--story", "new-story")
    feed = Feed.objects.get(url=url)
    assert feed.title == "Tech Wire"
    assert list(feed.stories.values_list("slug", flat=True)) == ["new-story"]
    assert f"Added feed {feed.pk}" in output


def test_addfeed_finds_the_feed_a_home_page_announces(feed_server):
    feed_url = serve_feed(feed_server)
    home = feed_server.route(
        "/",
        Response(
            200,
            b'<html><head><link rel="alternate" type="application/rss+xml" '
            b'href="/feed.xml" title="Wire"></head><body>Home</body></html>',
            {"Content-Type": "text/html"},
        ),
    )
    output = run("addfeed", home, "--story", "s")
    assert Feed.objects.get().url == feed_url
    assert "found on" in output


def test_addfeed_refuses_a_page_without_a_feed_with_a_clear_message(feed_server):
    home = feed_server.route("/", Response(200, b"<html><body>No feed</body></html>"))
    with pytest.raises(CommandError, match="neither a feed nor a page that announces one"):
        run("addfeed", home, "--story", "s")
    assert not Feed.objects.exists()


def test_opml_import_and_export_round_trip(tmp_path):
    opml = tmp_path / "feeds.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>'
        '<outline text="AI"><outline text="One" xmlUrl="https://one.example/rss" '
        'htmlUrl="https://one.example/"/><outline text="Two" xmlUrl="https://two.example/atom"/>'
        "</outline></body></opml>"
    )
    assert "2 feed(s) in feeds.opml: 2 new" in run("importopml", str(opml), "--story", "ai")
    assert "0 new, 2 already known" in run("importopml", str(opml), "--story", "ai")
    exported = tmp_path / "out.opml"
    run("exportopml", "--story", "ai", "-o", str(exported))
    Feed.objects.all().delete()
    run("importopml", str(exported), "--story", "ai")
    assert set(Feed.objects.values_list("url", "title", "site_url")) == {
        ("https://one.example/rss", "One", "https://one.example/"),
        ("https://two.example/atom", "Two", ""),
    }


def test_importopml_refuses_a_file_that_is_not_opml(tmp_path):
    bad = tmp_path / "feed.xml"
    bad.write_text("<rss><channel/></rss>")
    with pytest.raises(CommandError, match="not an OPML document"):
        run("importopml", str(bad), "--story", "ai")


@pytest.mark.django_db(transaction=True)
def test_pollfeeds_sync_runs_the_pipeline_here_and_prints_a_summary(feed_server):
    url = serve_feed(feed_server, n=3)
    run("addfeed", url, "--story", "meta-scale-ai")
    Story.objects.filter(slug="meta-scale-ai").update(include_terms="Scale AI")
    output = run("pollfeeds", "--all", "--sync")
    assert Article.objects.filter(extraction_status="full").count() == 3
    assert "Feeds polled" in output and "Articles extracted" in output
    assert "pending" in output


@pytest.mark.django_db(transaction=True)
def test_pollfeeds_without_sync_hands_the_polls_to_the_workers_in_batches(redis_client):
    story = Story.objects.create(slug="s", title="S")
    feeds = [Feed.objects.create(url=f"https://wire.example/{i}.xml") for i in range(12)]
    story.feeds.add(*feeds)
    output = run("pollfeeds", "--all")
    assert "Sent 12 feed poll(s) to the workers" in output
    batches = queued_poll_batches(redis_client)
    assert sorted(len(batch) for batch in batches) == [2, 10]
    assert sorted(pk for batch in batches for pk in batch) == sorted(f.pk for f in feeds)


def test_pollfeeds_names_an_unknown_feed():
    with pytest.raises(CommandError, match="No active feed with id 999"):
        run("pollfeeds", "--feed", "999", "--sync")


def test_trackerstatus_counts_feeds_and_articles_per_story():
    story = Story.objects.create(slug="s", title="S")
    healthy = Feed.objects.create(url="https://a.example/rss")
    failing = Feed.objects.create(url="https://b.example/rss", consecutive_failures=3)
    story.feeds.add(healthy, failing)
    Article.objects.create(story=story, feed=healthy, guid="1", review_state="pending")
    Article.objects.create(story=story, feed=healthy, guid="2", review_state="filtered")
    report = json.loads(run("trackerstatus", "--json"))
    [entry] = report["stories"]
    assert entry["feeds"] == {"active": 2, "failing": 1, "flagged": 0, "inactive": 0}
    assert entry["articles"]["pending"] == 1 and entry["articles"]["filtered"] == 1
    assert "1 failing" in run("trackerstatus")
