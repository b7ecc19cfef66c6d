"""The Atom feed, the TimelineJS export and the JSON API, and that no draft or
private story gets out through any of them."""

import datetime as dt
import json

import feedparser
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.test_public import cite, claim, entity, event, source, story, text_of


def json_of(response) -> dict:
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    return json.loads(response.content)


# --- Atom feed ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_atom_feed_parses_cleanly_and_lists_published_events(client):
    s = story(slug="deal", title="The deal", summary="A deal in stages.")
    e = event(s, "Meta invests", slug="invests", summary="Meta takes a stake.")
    cite(e, source(publisher="Reuters", title="Meta takes 49% stake"))
    event(s, "Hidden draft", slug="hidden", status="draft")

    response = client.get("/stories/deal/feed/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    assert feed.feed.title == "The deal: new and updated events"
    assert feed.feed.links[0].href == "http://testserver/stories/deal/"
    assert [entry.title for entry in feed.entries] == ["Meta invests"]
    entry = feed.entries[0]
    assert entry.link == "http://testserver/stories/deal/events/invests/"
    assert entry.id == entry.link
    assert "Meta takes a stake." in entry.summary
    assert "Sources: Reuters" in entry.summary
    assert {tag.term for tag in entry.tags} == {"Deal", "Confirmed"}
    assert "Hidden draft" not in text_of(response)


@pytest.mark.django_db
def test_the_feed_updates_the_entry_when_an_event_changes(client):
    import time_machine

    s = story(slug="deal")
    with time_machine.travel(dt.datetime(2025, 3, 1, 12, tzinfo=dt.UTC)):
        e = event(s, "Talks begin", slug="talks", certainty="reported")
        event(s, "Other event", slug="other")
    first = client.get("/stories/deal/feed/")
    before = feedparser.parse(first.content)

    with time_machine.travel(dt.datetime(2025, 3, 4, 12, tzinfo=dt.UTC)):
        e.title = "Talks confirmed"
        e.certainty = "confirmed"
        e.save()
    second = client.get("/stories/deal/feed/", HTTP_IF_NONE_MATCH=first["ETag"])

    assert second.status_code == 200
    after = feedparser.parse(second.content)
    assert not after.bozo
    assert after.entries[0].title == "Talks confirmed"
    assert after.entries[0].id == before.entries[-1].id
    assert after.entries[0].updated_parsed[:3] == (2025, 3, 4)
    assert after.entries[0].published_parsed[:3] == (2025, 3, 1)
    assert "Certainty changed from Reported to Confirmed" in after.entries[0].summary
    assert after.feed.updated_parsed[:3] == (2025, 3, 4)
    assert len(after.entries) == 2


# --- TimelineJS ------------------------------------------------------------------------------

SLIDE_KEYS = {
    "start_date",
    "end_date",
    "text",
    "media",
    "group",
    "display_date",
    "background",
    "autolink",
    "unique_id",
}
DATE_KEYS = {"year", "month", "day", "hour", "minute", "second", "millisecond", "display_date"}


def assert_timelinejs_date(date: dict) -> None:
    """A date object of https://timeline.knightlab.com/docs/json-format.html."""
    assert set(date) <= DATE_KEYS, set(date) - DATE_KEYS
    year = date["year"]
    assert isinstance(year, int) or (isinstance(year, str) and year.lstrip("-").isdigit())
    if "month" in date:
        assert 1 <= int(date["month"]) <= 12
    if "day" in date:
        assert "month" in date and 1 <= int(date["day"]) <= 31
        dt.date(int(year), int(date["month"]), int(date["day"]))
    if "display_date" in date:
        assert isinstance(date["display_date"], str) and date["display_date"]


def assert_timelinejs_slide(slide: dict, *, is_title: bool = False) -> None:
    assert set(slide) <= SLIDE_KEYS, set(slide) - SLIDE_KEYS
    if not is_title:
        assert_timelinejs_date(slide["start_date"])
    if "end_date" in slide:
        assert_timelinejs_date(slide["end_date"])
    text = slide["text"]
    assert set(text) <= {"headline", "text"}
    assert all(isinstance(value, str) for value in text.values())
    for key in ("group", "display_date", "unique_id"):
        assert key not in slide or isinstance(slide[key], str)
    if "media" in slide:
        assert isinstance(slide["media"]["url"], str)


def assert_timelinejs_document(document: dict) -> None:
    """The documented shape: required ``events`` of slides, optional ``title``
    slide, ``eras`` and ``scale``; unique ids."""
    assert set(document) <= {"events", "title", "eras", "scale"}
    assert isinstance(document["events"], list)
    for slide in document["events"]:
        assert_timelinejs_slide(slide)
    if "title" in document:
        assert_timelinejs_slide(document["title"], is_title=True)
    assert document.get("scale", "human") in ("human", "cosmological")
    ids = [slide["unique_id"] for slide in document["events"] if "unique_id" in slide]
    assert len(ids) == len(set(ids))


@pytest.mark.django_db
def test_the_timelinejs_export_matches_the_documented_format_at_every_precision(client):
    s = story(slug="deal", title="The <deal>", summary="A deal in stages.")
    day = event(s, "Signed", slug="signed", occurred_on=dt.date(2025, 6, 12), category="deal")
    cite(day, source(publisher="Reuters", published_text="June 12, 2025"))
    cite(day, source(publisher="The Verge"), attributed_to="Bloomberg")
    event(s, "Month", slug="month", occurred_on=dt.date(2025, 7, 9), precision="month")
    event(s, "Quarter", slug="quarter", occurred_on=dt.date(2026, 2, 14), precision="quarter")
    event(
        s,
        "Launch",
        slug="launch",
        occurred_on=dt.date(2026, 7, 1),
        precision="season",
        certainty="expected",
        category="product",
    )
    event(s, "Founded", slug="founded", occurred_on=dt.date(2016, 3, 1), precision="year",
          is_approximate=True)  # fmt: skip
    event(
        s,
        "Talks",
        slug="talks",
        occurred_on=dt.date(2025, 3, 1),
        precision="month",
        ends_on=dt.date(2025, 5, 1),
    )
    event(s, "Draft", slug="draft", status="draft")

    response = client.get("/stories/deal/timeline.json")

    assert response.status_code == 200
    document = json_of(response)
    assert_timelinejs_document(document)
    assert document["title"]["text"]["headline"] == "The &lt;deal&gt;"
    slides = {slide["unique_id"]: slide for slide in document["events"]}
    assert set(slides) == {"signed", "month", "quarter", "launch", "founded", "talks"}
    assert slides["signed"]["start_date"] == {
        "year": 2025,
        "month": 6,
        "day": 12,
        "display_date": "12 June 2025",
    }
    assert slides["month"]["start_date"] == {"year": 2025, "month": 7, "display_date": "July 2025"}
    assert slides["quarter"]["start_date"] == {"year": 2026, "month": 1, "display_date": "Q1 2026"}
    assert slides["launch"]["start_date"]["month"] == 6
    assert slides["launch"]["display_date"] == "Summer 2026, expected"
    assert slides["founded"]["start_date"] == {"year": 2016, "display_date": "2016"}
    assert slides["founded"]["display_date"] == "about 2016"
    assert slides["talks"]["end_date"] == {"year": 2025, "month": 5, "display_date": "May 2025"}
    assert slides["talks"]["display_date"] == "March 2025 – May 2025"
    assert slides["signed"]["group"] == "Deal" and slides["launch"]["group"] == "Product"
    text = slides["signed"]["text"]["text"]
    assert "Sources: Reuters, June 12, 2025; The Verge, per Bloomberg" in text
    assert 'href="http://testserver/stories/deal/events/signed/"' in text
    assert slides["signed"]["text"]["headline"] == "Signed"


@pytest.mark.django_db
def test_the_timeline_page_links_to_its_timelinejs_export(client):
    event(story(slug="deal"))

    assert 'href="/stories/deal/timeline.json"' in text_of(client.get("/stories/deal/"))


# --- JSON API ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_lists_public_stories_with_pages(client):
    for n in range(3):
        event(story(slug=f"story-{n}", title=f"Story {n}"))
    story(slug="private", is_public=False)

    first = json_of(client.get("/api/v1/stories/?page_size=2"))
    second = json_of(client.get(first["next"]))

    assert first["count"] == 3 and first["num_pages"] == 2
    assert [s["slug"] for s in first["results"]] == ["story-0", "story-1"]
    assert first["previous"] is None
    assert first["next"] == "http://testserver/api/v1/stories/?page=2&page_size=2"
    assert [s["slug"] for s in second["results"]] == ["story-2"]
    assert second["next"] is None
    assert first["results"][0]["event_count"] == 1
    assert first["results"][0]["events_url"] == "http://testserver/api/v1/stories/story-0/events/"


@pytest.mark.django_db
def test_the_api_pages_events_and_caps_the_page_size(client):
    s = story(slug="deal")
    for n in range(5):
        event(s, f"Event {n}", slug=f"e{n}", occurred_on=dt.date(2025, 1, 1 + n))
    event(s, "Draft", slug="draft", status="draft")

    page = json_of(client.get("/api/v1/stories/deal/events/?page_size=2&page=3"))

    assert page["count"] == 5 and page["page"] == 3 and page["num_pages"] == 3
    assert [e["slug"] for e in page["results"]] == ["e4"]
    assert page["previous"].endswith("/api/v1/stories/deal/events/?page=2&page_size=2")
    default = json_of(client.get("/api/v1/stories/deal/events/"))
    assert default["page_size"] == 50 and default["next"] is None
    assert [e["slug"] for e in default["results"]] == ["e0", "e1", "e2", "e3", "e4"]

    too_big = client.get("/api/v1/stories/deal/events/?page_size=1000")
    assert too_big.status_code == 400
    assert "page_size" in json_of(too_big)["error"]
    assert client.get("/api/v1/stories/deal/events/?page=two").status_code == 400
    beyond = client.get("/api/v1/stories/deal/events/?page=9")
    assert beyond.status_code == 404 and json_of(beyond)["error"] == "Not found."


@pytest.mark.django_db
def test_an_api_event_carries_its_dates_citations_claims_and_changes(client):
    s = story(slug="deal")
    event(s, "Before", slug="before", occurred_on=dt.date(2025, 1, 1))
    e = event(
        s,
        "Meta invests",
        slug="invests",
        occurred_on=dt.date(2026, 2, 1),
        precision="quarter",
        certainty="expected",
        body="The account.",
    )
    e.entities.add(entity("Meta"))
    reuters = cite(
        e,
        source(publisher="Reuters", title="Stake", url="https://example.com/a"),
        quote="49%",
    )
    blog = cite(e, source(publisher="A blog", title="Deal"), attributed_to="Bloomberg")
    claim(
        e,
        "Stake",
        {"value": "49%", "is_preferred": True, "reason": "Filing.", "citations": [reuters]},
        {"value": "50%", "citations": [blog]},
    )

    data = json_of(client.get("/api/v1/stories/deal/events/invests/"))

    assert data["date"] == {
        "start": "2026-01",
        "precision": "quarter",
        "end": None,
        "end_precision": None,
        "is_approximate": False,
        "display": "Q1 2026, expected",
    }
    assert data["certainty"]["value"] == "expected"
    assert data["entities"] == [{"slug": "meta", "name": "Meta", "kind": "organization"}]
    assert data["independent_outlets"] == 2
    assert data["body"] == "The account."
    assert [c["source"]["publisher"] for c in data["citations"]] == ["Reuters", "A blog"]
    assert data["citations"][0]["quote"] == "49%"
    assert data["citations"][1]["attributed_to"] == "Bloomberg"
    (stake,) = data["claims"]
    assert stake["reports_differ"] is True
    assert stake["values"][0] == {
        "value": "49%",
        "is_preferred": True,
        "reason": "Filing.",
        "quote": "",
        "citations": [reuters.pk],
    }
    assert stake["values"][1]["citations"] == [blog.pk]
    assert data["changes"][0]["text"] == "Published"
    assert data["previous"] == "http://testserver/api/v1/stories/deal/events/before/"
    assert data["next"] is None
    assert data["url"] == "http://testserver/stories/deal/events/invests/"


@pytest.mark.django_db
def test_the_api_answers_404_in_json_for_unknown_draft_and_private(client):
    s = story(slug="deal")
    event(s, slug="draft", status="draft")
    event(story(slug="private", is_public=False), slug="inside")

    for url in (
        "/api/v1/stories/nowhere/",
        "/api/v1/stories/nowhere/events/",
        "/api/v1/stories/deal/events/draft/",
        "/api/v1/stories/deal/events/nothing/",
        "/api/v1/stories/private/",
        "/api/v1/stories/private/events/",
        "/api/v1/stories/private/events/inside/",
        "/api/v1/no-such-thing/",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert json_of(response)["status"] == 404


@pytest.mark.django_db
def test_the_api_is_read_only(client):
    event(story(slug="deal"), slug="signed")

    for url in ("/api/v1/stories/", "/api/v1/stories/deal/events/signed/"):
        for method in (client.post, client.put, client.patch, client.delete):
            response = method(url)
            assert response.status_code == 405
            assert response["Allow"] == "GET, HEAD"
            assert "read-only" in json_of(response)["error"]


@pytest.mark.django_db
def test_the_api_event_list_query_count_does_not_grow_with_events(client):
    small, large = story(slug="small"), story(slug="large")
    for s, n in ((small, 2), (large, 20)):
        for i in range(n):
            e = event(s, occurred_on=dt.date(2025, 1, 1) + dt.timedelta(days=i))
            e.entities.add(entity(f"Entity {s.slug} {i}", slug=f"entity-{s.slug}-{i}"))
            first = cite(e)
            claim(e, "Size", {"value": "1", "citations": [first]}, {"value": "2"})

    counts = []
    for slug in ("small", "large"):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/api/v1/stories/{slug}/events/").status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1] <= 14


# --- Drafts and private stories never leak --------------------------------------------------------


@pytest.mark.django_db
def test_drafts_and_private_stories_never_leak_through_any_door(client):
    s = story(slug="deal")
    e = event(s, "Public event", slug="public")
    secret = event(s, "SECRET-DRAFT-TITLE", slug="secret-draft", status="draft")
    cite(secret, source(publisher="SECRET-DRAFT-OUTLET", title="x"))
    claim(secret, "SECRET-CLAIM", {"value": "1"}, {"value": "2"})
    # Published once, then withdrawn: also out of sight.
    withdrawn = event(s, "SECRET-WITHDRAWN", slug="withdrawn")
    withdrawn.status = "draft"
    withdrawn.save()
    hidden = story(slug="hidden", title="SECRET-STORY")
    event(hidden, "SECRET-IN-PRIVATE-STORY", slug="inside")
    hidden.is_public = False
    hidden.save()
    cite(e)

    urls = [
        "/",
        "/stories/deal/",
        "/stories/deal/?order=newest",
        "/stories/deal/changes/?since=2000-01-01",
        "/stories/deal/events/public/",
        "/stories/deal/feed/",
        "/stories/deal/timeline.json",
        "/api/v1/stories/",
        "/api/v1/stories/deal/",
        "/api/v1/stories/deal/events/",
        "/api/v1/stories/deal/events/public/",
        "/sitemap.xml",
    ]
    for url in urls:
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert "SECRET" not in body, url
        assert "secret-draft" not in body and "withdrawn" not in body, url
    for url in (
        "/stories/deal/events/secret-draft/",
        "/stories/deal/events/withdrawn/",
        "/stories/hidden/",
        "/stories/hidden/feed/",
        "/stories/hidden/timeline.json",
        "/stories/hidden/changes/",
        "/stories/hidden/events/inside/",
        "/api/v1/stories/deal/events/secret-draft/",
        "/api/v1/stories/hidden/",
    ):
        assert client.get(url).status_code == 404, url
