"""Structured logs: one JSON object per line in production, and the feed and
article ids on every line logged while ingestion works on them."""

import io
import json
import logging
import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.reliability.faults import items, rss
from tests.reliability.hostile import Play
from tracker.ingestion import pipeline
from tracker.logging import ContextFilter, JSONFormatter, PlainFormatter, log_context
from tracker.models import Article, Feed


@pytest.fixture
def json_lines():
    """Records of the tracker's and the libraries' loggers, as the JSON handler writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JSONFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_production_logs_are_json_and_development_logs_plain():
    script = (
        "import django, logging; django.setup(); "
        "logging.getLogger('tracker').warning('hello', extra={'feed_id': 7})"
    )

    def run(**env):
        clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "LOG_FORMAT"}}
        return subprocess.run(  # noqa: S603 - our own interpreter and script
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    production = run(DEBUG="0", SECRET_KEY="x" * 50)
    line = json.loads(production.stderr.strip().splitlines()[-1])
    assert line["message"] == "hello" and line["feed_id"] == 7 and line["level"] == "WARNING"
    development = run(DEBUG="1")
    assert development.stderr.strip().endswith("WARNING tracker hello feed_id=7")
    refused = run(DEBUG="1", LOG_FORMAT="xml")
    assert refused.returncode != 0 and "LOG_FORMAT='xml'" in refused.stderr


@pytest.mark.django_db
def test_every_ingestion_line_names_its_feed_and_article(hostile, story, json_lines):
    entries = items(hostile, "logs", 2)
    good = Feed.objects.create(url=hostile.route("/logs.xml", Play(200, rss("Logs", entries))))
    bad = Feed.objects.create(url=hostile.route("/down.xml", Play(503, b"down")))
    for feed in (good, bad):
        feed.stories.add(story)
        pipeline.lease_feed(feed.pk, pipeline.timezone.now(), force=True)
        pipeline.poll_feed(feed.pk)
    for article in Article.objects.all():
        pipeline.extract_article(article.pk)

    lines = [line for line in json_lines() if line["logger"].startswith("tracker.ingestion")]
    assert {line["message"] for line in lines} >= {
        "polled feed",
        "feed poll failed",
        "extracted article",
    }
    for line in lines:
        assert "feed_id" in line, line
        if line["message"] == "extracted article":
            assert line["article_id"] in set(Article.objects.values_list("pk", flat=True))
    polled = next(line for line in lines if line["message"] == "polled feed")
    assert polled["feed_id"] == good.pk and len(polled["article_ids"]) == 2


def test_context_reaches_library_lines_and_extra_wins(json_lines):
    with log_context(feed_id=3, article_id=None):
        logging.getLogger("httpx").warning("library line")
        with log_context(article_id=9):
            logging.getLogger("tracker").info("inner", extra={"feed_id": 4})
    logging.getLogger("tracker").info("outside")

    library, inner, outside = json_lines()
    assert library["feed_id"] == 3 and "article_id" not in library
    assert inner["feed_id"] == 4 and inner["article_id"] == 9
    assert "feed_id" not in outside


def test_plain_lines_keep_a_traceback_below_the_fields():
    record = logging.LogRecord("tracker", logging.ERROR, __file__, 1, "boom", (), None)
    record.feed_id = 5
    try:
        raise ValueError("bad")
    except ValueError:
        record.exc_info = sys.exc_info()
    text = PlainFormatter().format(record)
    first, rest = text.split("\n", 1)
    assert first.endswith("ERROR tracker boom feed_id=5")
    assert "ValueError: bad" in rest
