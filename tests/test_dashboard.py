"""The review dashboard on the admin index: numbers per story, each a link to
the list behind it, and a month of ingestion as a small chart."""

import datetime as dt
import itertools
import re
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_story
from tracker.models import Article, Feed

_n = itertools.count(1)
INDEX = reverse("admin:index")


@pytest.fixture(autouse=True)
def page_settings(settings, tmp_path):
    """The hashed static manifest belongs to deployment; these tests read pages."""
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def staff(client, editor):
    client.force_login(editor)
    return client


def article(story, *, created_days_ago: float = 0, **fields) -> Article:
    n = next(_n)
    made = Article.objects.create(story=story, guid=f"urn:{n}", title=f"Article {n}", **fields)
    created = timezone.now() - dt.timedelta(days=created_days_ago)
    Article.objects.filter(pk=made.pk).update(created_at=created)
    return made


def feed(story, **fields) -> Feed:
    made = Feed.objects.create(url=f"https://feeds.example.com/{next(_n)}", **fields)
    made.stories.add(story)
    return made


def dashboard_row(html: str, title: str) -> str:
    match = re.search(rf'<th scope="row">{re.escape(title)}</th>(.*?)</tr>', html, re.S)
    assert match, f"no dashboard row for {title}"
    return match.group(1)


def numbers_and_links(row: str) -> list[tuple[str, str]]:
    """(number, link) of each number cell, in column order."""
    cells = re.findall(r'<td class="number"><a href="([^"]+)"[^>]*>(\d+)</a></td>', row)
    return [(number, unescape(href)) for href, number in cells]


@pytest.fixture
def busy_story(db):
    story = make_story(title="Meta and Scale AI")
    now = timezone.now()
    for _ in range(3):
        article(story)
    article(story, review_state="accepted", reviewed_at=now - dt.timedelta(days=2))
    article(story, review_state="accepted", reviewed_at=now - dt.timedelta(days=20))
    article(story, review_state="rejected", reviewed_at=now)
    feed(story, consecutive_failures=3)
    feed(story, consecutive_failures=12, flagged_at=now)
    feed(story)
    feed(story, consecutive_failures=5, is_active=False)
    return story


def test_the_index_shows_per_story_pending_accepted_this_week_and_failing_feeds(staff, busy_story):
    make_story(title="A quiet story")

    html = staff.get(INDEX).content.decode()

    busy = [n for n, _ in numbers_and_links(dashboard_row(html, "Meta and Scale AI"))]
    quiet = [n for n, _ in numbers_and_links(dashboard_row(html, "A quiet story"))]
    assert busy == ["3", "1", "2", "1"]
    assert quiet == ["0", "0", "0", "0"]


def test_each_number_links_to_the_filtered_list_behind_it(staff, busy_story):
    make_story(title="Another story")
    article(make_story(), review_state="accepted", reviewed_at=timezone.now())
    html = staff.get(INDEX).content.decode()

    for number, link in numbers_and_links(dashboard_row(html, "Meta and Scale AI")):
        response = staff.get(link)
        assert response.status_code == 200, link
        assert response.context["cl"].result_count == int(number), link


def test_the_chart_has_a_titled_linked_bar_for_each_day_with_articles(staff, busy_story):
    for _ in range(2):
        article(busy_story, created_days_ago=3, review_state="filtered")
    article(busy_story, created_days_ago=45)
    day = timezone.localtime(timezone.now() - dt.timedelta(days=3))

    html = staff.get(INDEX).content.decode()
    row = dashboard_row(html, "Meta and Scale AI")

    assert f"<title>{day:%-d %b}: 2 articles</title>" in row
    assert re.search(r"<title>\d+ \w+: 6 articles</title>", row)
    assert len(re.findall(r"<rect ", row)) == 2
    assert "8 since" in row
    link = unescape(re.search(r'<a href="([^"]+)"><rect[^>]*><title>' + f"{day:%-d %b}", row)[1])
    assert staff.get(link).context["cl"].result_count == 2


def test_the_dashboard_costs_the_same_queries_for_one_story_or_five(staff, db):
    def queries_for(stories: int) -> int:
        for _ in range(stories):
            story = make_story()
            article(story)
            article(story, created_days_ago=2, review_state="accepted")
            feed(story, consecutive_failures=1)
        with CaptureQueriesContext(connection) as queries:
            assert staff.get(INDEX).status_code == 200
        return len(queries)

    assert queries_for(1) == queries_for(4)


def test_staff_who_cannot_see_articles_get_the_plain_index(client, django_user_model, busy_story):
    user = django_user_model.objects.create_user("ops", "ops@example.org", "pw", is_staff=True)
    client.force_login(user)

    html = client.get(INDEX).content.decode()

    assert 'id="review-dashboard"' not in html
