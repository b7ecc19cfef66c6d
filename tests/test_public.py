"""The public pages: story list, timeline and event page."""

import datetime as dt
import itertools
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tracker.models import Citation, Claim, ClaimValue, Entity, Event, Source, Story

_n = itertools.count(1)


# --- Builders ------------------------------------------------------------------


def story(**fields) -> Story:
    n = next(_n)
    fields.setdefault("title", f"Story {n}")
    fields.setdefault("slug", f"story-{n}")
    return Story.objects.create(**fields)


def event(in_story: Story, title: str | None = None, **fields) -> Event:
    n = next(_n)
    fields.setdefault("slug", f"event-{n}")
    fields.setdefault("category", "deal")
    fields.setdefault("status", "published")
    fields.setdefault("occurred_on", dt.date(2025, 6, 12))
    fields.setdefault("precision", "day")
    return Event.objects.create(story=in_story, title=title or f"Event {n}", **fields)


def source(**fields) -> Source:
    n = next(_n)
    fields.setdefault("title", f"Source title {n}")
    fields.setdefault("publisher", f"Outlet {n}")
    return Source.objects.create(**fields)


def entity(name: str, **fields) -> Entity:
    fields.setdefault("slug", name.lower().replace(" ", "-"))
    fields.setdefault("kind", "organization")
    return Entity.objects.create(name=name, **fields)


def cite(to_event: Event, by: Source | None = None, **fields) -> Citation:
    return Citation.objects.create(event=to_event, source=by or source(), **fields)


def claim(on_event: Event, label: str, *values: dict) -> Claim:
    made = Claim.objects.create(event=on_event, label=label)
    for fields in values:
        citations = fields.pop("citations", [])
        value = ClaimValue.objects.create(claim=made, **fields)
        value.citations.set(citations)
    return made


def timeline_with(n_events: int) -> Story:
    """A story of ``n_events`` events, each with two citations, two entities and
    a claim that sources disagree on."""
    s = story(slug=f"big-{n_events}")
    meta, scale = entity(f"Meta {n_events}"), entity(f"Scale {n_events}")
    for i in range(n_events):
        e = event(s, occurred_on=dt.date(2024, 1, 1) + dt.timedelta(days=11 * i))
        e.entities.add(meta, scale)
        first, second = cite(e, quote="One."), cite(e, quote="Two.")
        claim(
            e,
            "Amount",
            {"value": "$14.3 billion", "is_preferred": True, "citations": [first]},
            {"value": "$15 billion", "citations": [second]},
        )
    return s


def text_of(response) -> str:
    return response.content.decode()


def assert_headings_in_order(html: str) -> None:
    """One h1, and no heading more than one level below the one before it."""
    levels = [int(level) for level in re.findall(r"<h([1-6])[\s>]", html)]
    assert levels.count(1) == 1
    assert levels[0] == 1
    for before, after in itertools.pairwise(levels):
        assert after <= before + 1, levels


def positions(html: str, *needles: str) -> list[int]:
    found = [html.find(needle) for needle in needles]
    assert -1 not in found, [n for n, p in zip(needles, found, strict=True) if p == -1]
    return found


# --- Story list ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_home_page_redirects_to_the_only_public_story(client):
    story(slug="meta-scale-ai")
    story(slug="hidden", is_public=False)

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/stories/meta-scale-ai/"


@pytest.mark.django_db
def test_the_home_page_lists_stories_with_event_counts_when_there_are_two(client):
    first = story(title="Alpha deal", summary="How the alpha deal came about.")
    story(title="Beta merger")
    story(title="Secret", is_public=False)
    event(first)
    event(first)
    event(first, status="draft")

    response = client.get("/")

    assert response.status_code == 200
    html = text_of(response)
    assert "Alpha deal" in html and "Beta merger" in html
    assert "How the alpha deal came about." in html
    assert "2 events" in html
    assert "0 events" in html
    assert "Secret" not in html
    assert "last updated" in html


# --- Timeline ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_timeline_shows_events_in_date_order_across_precisions_under_headings(client):
    s = story(slug="deal", title="The deal", summary="A deal in stages.")
    event(s, "Month event", occurred_on=dt.date(2025, 6, 20), precision="month")
    event(s, "Day event", occurred_on=dt.date(2025, 6, 12))
    event(s, "Year event", occurred_on=dt.date(2025, 8, 1), precision="year")
    event(s, "Founding", occurred_on=dt.date(2016, 1, 1), precision="year", is_approximate=True)
    event(s, "Quarter event", occurred_on=dt.date(2026, 2, 1), precision="quarter")
    event(s, "March event", occurred_on=dt.date(2026, 3, 3))
    event(s, "Summer event", occurred_on=dt.date(2026, 7, 1), precision="season")

    response = client.get("/stories/deal/")

    assert response.status_code == 200
    html = text_of(response)
    order = positions(
        html,
        "about 2016",
        "Founding",
        '<h2 class="timeline__year-heading" id="year-2025">2025</h2>',
        "Year event",
        '<h3 class="timeline__period-heading">June 2025</h3>',
        "Month event",
        "Day event",
        '<h2 class="timeline__year-heading" id="year-2026">2026</h2>',
        '<h3 class="timeline__period-heading">Q1 2026</h3>',
        "Quarter event",
        '<h3 class="timeline__period-heading">March 2026</h3>',
        "March event",
        '<h3 class="timeline__period-heading">Summer 2026</h3>',
        "Summer event",
    )
    assert order == sorted(order)
    # A year-precision event sits under its year, with no month heading of its own.
    assert html.count("timeline__period-heading") == 4
    assert "12 June 2025" in html and "June 2025" in html and "Q1 2026" in html
    assert_headings_in_order(html)


@pytest.mark.django_db
def test_each_event_has_an_anchor_and_links_to_its_page(client):
    s = story(slug="deal")
    event(s, "Signed", slug="signed")

    html = text_of(client.get("/stories/deal/"))

    assert 'id="event-signed"' in html
    assert 'href="/stories/deal/events/signed/"' in html


@pytest.mark.django_db
def test_the_timeline_header_counts_published_events_and_their_sources(client):
    s = story(slug="deal", title="The deal", summary="A deal in stages.")
    shared = source()
    cite(event(s), shared)
    cite(event(s), shared)
    cite(event(s, status="draft"))

    html = text_of(client.get("/stories/deal/"))

    assert "<h1>The deal</h1>" in html
    assert "2 events" in html
    assert "1 source" in html
    assert "<title>The deal: timeline</title>" in html
    assert '<meta name="description" content="A deal in stages.">' in html


@pytest.mark.django_db
def test_drafts_never_appear_on_the_timeline_and_their_page_is_404(client):
    s = story(slug="deal")
    event(s, "Out in the open", slug="public")
    event(s, "Still a draft", slug="draft", status="draft")

    html = text_of(client.get("/stories/deal/"))

    assert "Out in the open" in html
    assert "Still a draft" not in html
    assert client.get("/stories/deal/events/draft/").status_code == 404
    assert client.get("/stories/deal/events/public/").status_code == 200


@pytest.mark.django_db
def test_a_story_that_is_not_public_is_404_with_its_events(client):
    s = story(slug="private", is_public=False)
    event(s, slug="inside")

    assert client.get("/stories/private/").status_code == 404
    assert client.get("/stories/private/events/inside/").status_code == 404
    assert client.get("/stories/nowhere/").status_code == 404


@pytest.mark.django_db
def test_an_event_is_only_found_under_its_own_story(client):
    event(story(slug="one"), slug="shared-slug")
    story(slug="two")

    assert client.get("/stories/two/events/shared-slug/").status_code == 404


@pytest.mark.django_db
def test_an_expected_event_is_badged_and_dated_as_expected(client):
    s = story(slug="deal")
    event(
        s,
        "Launch",
        slug="launch",
        occurred_on=dt.date(2026, 7, 1),
        precision="season",
        certainty="expected",
        certainty_note="Announced for the summer; not yet happened.",
    )
    event(s, "Rumour", certainty="reported")
    event(s, "Walked back", certainty="denied")

    html = text_of(client.get("/stories/deal/"))

    assert "Summer 2026, expected" in html
    assert '<article class="event event--expected' in html
    assert '<span class="badge badge--expected">Expected</span>' in html
    assert '<span class="badge badge--reported">Reported</span>' in html
    assert '<span class="badge badge--denied">Denied or retracted</span>' in html

    page = text_of(client.get("/stories/deal/events/launch/"))
    assert "Summer 2026, expected" in page
    assert "Announced for the summer; not yet happened." in page


@pytest.mark.django_db
def test_sources_show_publisher_title_printed_date_and_a_link_only_with_a_url(client):
    s = story(slug="deal")
    e = event(s)
    cite(
        e,
        source(
            publisher="Reuters",
            title="Meta takes stake in Scale",
            published_text="June 12, 2025",
            url="https://example.com/meta-scale",
        ),
    )
    cite(e, source(publisher="", title="Seed document", published_on=dt.date(2025, 6, 13)))
    cite(e, source(title="Odd link", url="javascript:alert(1)"))

    html = text_of(client.get("/stories/deal/"))

    assert "Reuters" in html
    assert '<a class="citation__title" href="https://example.com/meta-scale">' in html
    assert "Meta takes stake in Scale" in html
    assert "June 12, 2025" in html
    assert "Publisher not printed" in html
    assert '<cite class="citation__title">Seed document</cite>' in html
    assert "13 June 2025" in html
    assert "javascript:" not in html
    assert html.count('class="citation__title" href=') == 1


@pytest.mark.django_db
def test_a_disputed_claim_is_flagged_on_the_timeline_with_a_link_to_it(client):
    s = story(slug="deal")
    e = event(s, slug="stake")
    c = claim(e, "Stake", {"value": "49%", "is_preferred": True}, {"value": "50%"})
    claim(event(s), "Agreed price", {"value": "$1"})

    html = text_of(client.get("/stories/deal/"))

    assert html.count("Reports differ") == 1
    assert f'href="/stories/deal/events/stake/#claim-{c.pk}"' in html


@pytest.mark.django_db
def test_the_timeline_filters_by_category_and_shows_how_to_clear(client):
    s = story(slug="deal")
    event(s, "The deal closes", category="deal")
    event(s, "New chief", category="leadership")

    html = text_of(client.get("/stories/deal/?category=leadership"))

    assert "New chief" in html
    assert "The deal closes" not in html
    assert "category <strong>Leadership</strong>" in html
    assert re.search(r'<a href="[^"]*">clear</a>', html)
    assert 'aria-current="true">Leadership' in html


@pytest.mark.django_db
def test_the_timeline_filters_by_entity(client):
    s = story(slug="deal")
    meta = entity("Meta")
    entity("Nobody")
    event(s, "Meta invests").entities.add(meta)
    event(s, "Someone else acts")

    html = text_of(client.get("/stories/deal/?entity=meta"))

    assert "Meta invests" in html
    assert "Someone else acts" not in html
    assert "involving <strong>Meta</strong>" in html
    # Only entities of this story's published events are offered as filters.
    assert "Nobody" not in html


@pytest.mark.django_db
def test_an_unknown_filter_value_is_ignored(client):
    s = story(slug="deal")
    event(s, "Still shown")

    html = text_of(client.get("/stories/deal/?category=nonsense&entity=nobody"))

    assert "Still shown" in html
    assert "clear</a>" not in html


@pytest.mark.django_db
def test_newest_first_reverses_the_timeline(client):
    s = story(slug="deal")
    event(s, "Older", occurred_on=dt.date(2024, 3, 1))
    event(s, "Newer", occurred_on=dt.date(2025, 3, 1))

    oldest_first = text_of(client.get("/stories/deal/"))
    newest_first = text_of(client.get("/stories/deal/?order=newest"))

    older, newer = positions(oldest_first, "Older", "Newer")
    assert older < newer
    older, newer = positions(newest_first, "Older", "Newer")
    assert newer < older
    assert 'aria-current="true">Newest first' in newest_first
    assert '<a class="chip" href="/stories/deal/">Oldest first' in newest_first


@pytest.mark.django_db
def test_the_timeline_query_count_does_not_grow_with_events(client):
    timeline_with(3)
    timeline_with(30)

    with CaptureQueriesContext(connection) as small:
        assert client.get("/stories/big-3/").status_code == 200
    with CaptureQueriesContext(connection) as large:
        response = client.get("/stories/big-30/")
        assert response.status_code == 200

    assert text_of(response).count('<article class="event ') == 30
    assert len(large) == len(small)
    assert len(large) <= 10


@pytest.mark.django_db
def test_the_story_list_query_count_does_not_grow_with_stories(
    client, django_assert_max_num_queries
):
    for _ in range(5):
        event(story())
    with django_assert_max_num_queries(2):
        assert client.get("/").status_code == 200


# --- Event page ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_event_page_shows_quotes_attribution_and_the_claims_side_by_side(client):
    s = story(slug="deal", title="The deal")
    e = event(
        s,
        "Meta invests in Scale",
        slug="invests",
        summary="Meta takes a large minority stake.",
        body="First paragraph.\n\nSecond paragraph.",
        importance=5,
        reported_on=dt.date(2025, 6, 10),
    )
    e.entities.add(entity("Meta"))
    verge = cite(
        e,
        source(publisher="The Verge", title="Meta bets on Scale"),
        quote="Meta will invest $14.3 billion.",
        attributed_to="Reuters",
    )
    blog = cite(e, source(publisher="A blog", title="Scale deal"), quote="A $15 billion deal.")
    claim(
        e,
        "Investment size",
        {
            "value": "$14.3 billion",
            "quote": "Meta will invest $14.3 billion.",
            "is_preferred": True,
            "reason": "Matches the company's filing.",
            "citations": [verge],
        },
        {"value": "$15 billion", "quote": "A $15 billion deal.", "citations": [blog]},
    )

    response = client.get("/stories/deal/events/invests/")

    assert response.status_code == 200
    html = text_of(response)
    assert_headings_in_order(html)
    assert '<h1 class="event__title">Meta invests in Scale</h1>' in html
    assert "<p>First paragraph.</p>" in html and "<p>Second paragraph.</p>" in html
    assert '<blockquote class="citation__quote"><p>Meta will invest $14.3 billion.</p>' in html
    assert "per Reuters" in html
    assert "Reported on" in html and "10 June 2025" in html
    assert "5 of 5" in html
    assert "Where reports differ" in html
    preferred, other = positions(html, "claim-value--preferred", "$15 billion</p>")
    assert preferred < other
    assert '<span class="badge badge--preferred">Preferred</span>' in html
    assert "Why preferred:</strong> Matches the company&#x27;s filing." in html
    assert f'href="#citation-{verge.pk}">The Verge, source 1</a> (per Reuters)' in html
    assert f'href="#citation-{blog.pk}">A blog, source 2</a>' in html
    assert f'id="citation-{verge.pk}"' in html


@pytest.mark.django_db
def test_the_event_page_links_to_the_previous_and_next_events(client):
    s = story(slug="deal")
    event(s, "First", slug="first", occurred_on=dt.date(2025, 1, 1))
    event(s, "Middle", slug="middle", occurred_on=dt.date(2025, 2, 1))
    event(s, "Hidden draft", slug="hidden", occurred_on=dt.date(2025, 2, 15), status="draft")
    event(s, "Last", slug="last", occurred_on=dt.date(2025, 3, 1))

    middle = text_of(client.get("/stories/deal/events/middle/"))
    first = text_of(client.get("/stories/deal/events/first/"))

    assert 'href="/stories/deal/events/first/" rel="prev"' in middle
    assert 'href="/stories/deal/events/last/" rel="next"' in middle
    assert "Hidden draft" not in middle
    assert 'rel="prev"' not in first


@pytest.mark.django_db
def test_stored_text_is_escaped_everywhere(client):
    attack = "<script>alert(1)</script>"
    s = story(slug="deal", title=f"Story {attack}", summary=attack)
    e = event(s, f"Event {attack}", slug="evil", summary=attack, body=f"{attack}\n\n{attack}")
    e.entities.add(entity(f"Entity {attack}", slug="evil-entity"))
    c = cite(e, source(title=attack, publisher=attack), quote=attack, attributed_to=attack)
    claim(e, attack, {"value": attack, "quote": attack, "reason": attack, "citations": [c]})

    for url in ("/stories/deal/", "/stories/deal/events/evil/"):
        html = text_of(client.get(url))
        assert "<script>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
