"""The public pages: story list, timeline and event page."""

import datetime as dt
import itertools
import re

import pytest
from django.core.cache import cache as django_cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tracker import public
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
    """Where each needle first occurs in the page's main content (the head
    repeats titles in its metadata)."""
    start = max(html.find("<main"), 0)
    found = [html.find(needle, start) for needle in needles]
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
    assert len(large) <= 12


@pytest.mark.django_db
def test_with_cards_cached_a_changed_story_costs_the_same_few_queries_at_any_size(client):
    """A change re-renders the page but reuses the cards of unchanged events."""
    sizes = {}
    for n in (3, 30):
        s = timeline_with(n)
        client.get(f"/stories/big-{n}/")
        s.save()  # a new story version: the page is rendered again
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/stories/big-{n}/").status_code == 200
        sizes[n] = len(queries)

    assert sizes[3] == sizes[30] <= 7


@pytest.mark.django_db
def test_the_story_list_query_count_does_not_grow_with_stories(
    client, django_assert_max_num_queries
):
    for _ in range(5):
        event(story())
    with django_assert_max_num_queries(2):
        assert client.get("/").status_code == 200


# --- Long timelines, a page at a time -------------------------------------------------


@pytest.fixture
def pages_of_four(monkeypatch):
    """Pages of at most four events, so a timeline of ten is long."""
    monkeypatch.setattr(public, "TIMELINE_PAGE_SIZE", 4)


def long_story() -> Story:
    """Ten published events: three in January 2024, three in February 2024, three
    in March 2025 and one in April 2026; and two drafts among them."""
    s = story(slug="long", title="Long story")
    dates = [dt.date(2024, 1, d) for d in (5, 12, 19)] + [dt.date(2024, 2, d) for d in (2, 9, 16)]
    dates += [dt.date(2025, 3, d) for d in (1, 2, 3)] + [dt.date(2026, 4, 1)]
    for n, day in enumerate(dates):
        event(
            s,
            f"Event {n}",
            slug=f"e{n}",
            occurred_on=day,
            category="leadership" if n % 2 else "deal",
        )
    event(s, "Draft in January", slug="draft-1", occurred_on=dt.date(2024, 1, 6), status="draft")
    event(s, "Draft in March", slug="draft-2", occurred_on=dt.date(2025, 3, 2), status="draft")
    return s


def cards_on(html: str) -> list[str]:
    return re.findall(r'<article class="event [^"]*" id="event-([^"]+)"', html)


def link(html: str, rel: str) -> tuple[str, str] | None:
    """(href, label) of the page's rel=prev or rel=next link to another page."""
    found = re.search(
        rf'<a class="pager__link[^"]*" href="([^"]+)" rel="{rel}">'
        r'<span class="pager__dir">([^<]+)</span>',
        html,
    )
    return (found.group(1).replace("&amp;", "&"), found.group(2)) if found else None


class Dated:
    def __init__(self, occurred_on: dt.date, precision: str = "day") -> None:
        self.occurred_on, self.precision = occurred_on, precision


def test_pages_end_where_a_period_ends_unless_the_period_is_long():
    january = [Dated(dt.date(2024, 1, d)) for d in (5, 12, 19)]
    february = [Dated(dt.date(2024, 2, d)) for d in (2, 9, 16)]
    march = [Dated(dt.date(2025, 3, d)) for d in (1, 2, 3)]

    assert public.page_starts(january + february + march, size=4) == [0, 3, 6]
    assert public.page_starts(january + february, size=6) == [0]
    # Nine events of one month: cut where the page is full.
    one_month = [Dated(dt.date(2024, 5, d)) for d in range(1, 10)]
    assert public.page_starts(one_month, size=4) == [0, 4, 8]
    # A period ending in the first half of a page would leave it half empty.
    assert public.page_starts([january[0], *one_month], size=4) == [0, 4, 8]
    # A day goes under its month; a quarter and a year are periods of their own.
    mixed = [Dated(dt.date(2024, 1, 1), "year"), Dated(dt.date(2024, 1, 1), "quarter"),
             Dated(dt.date(2024, 1, 1), "month"), Dated(dt.date(2024, 1, 9))]  # fmt: skip
    assert public.page_starts(mixed, size=3) == [0, 2]
    assert public.page_starts([], size=4) == [0]


@pytest.mark.django_db
def test_a_timeline_that_fits_on_one_page_has_no_page_links(client, pages_of_four):
    s = story(slug="short")
    for n in range(4):
        event(s, f"Event {n}", occurred_on=dt.date(2024, 1, n + 1))

    html = text_of(client.get("/stories/short/"))

    assert len(cards_on(html)) == 4
    assert "timeline-pages" not in html and 'class="pager"' not in html
    assert 'rel="next"' not in html and "?page=" not in html
    assert "<title>Story" in html and "page 1" not in html
    assert client.get("/stories/short/?page=2")["Location"] == "/stories/short/"


@pytest.mark.django_db
def test_a_long_timeline_is_shown_a_page_at_a_time_with_plain_links_between(client, pages_of_four):
    long_story()

    first = text_of(client.get("/stories/long/"))
    assert cards_on(first) == ["e0", "e1", "e2"]  # January, not cut
    assert "Events 1–3 of 10, January 2024 (page 1 of 3)" in first
    assert link(first, "prev") is None
    assert link(first, "next") == ("/stories/long/?page=2", "Later events")
    assert "10 events" in first  # the header counts the whole story

    second = text_of(client.get("/stories/long/?page=2"))
    assert cards_on(second) == ["e3", "e4", "e5"]
    assert "Events 4–6 of 10, February 2024 (page 2 of 3)" in second
    assert link(second, "prev") == ("/stories/long/", "Earlier events")
    assert link(second, "next") == ("/stories/long/?page=3", "Later events")
    assert "<title>Long story: timeline, page 2 of 3</title>" in second
    assert '<link rel="canonical" href="http://testserver/stories/long/?page=2">' in second
    assert_headings_in_order(second)
    # The year index: a year shown here stays here, another leads to its first page.
    assert 'href="/stories/long/?page=2#year-2024" aria-current="true">2024</a>' in second
    assert 'href="/stories/long/?page=3#year-2025">2025</a>' in second
    assert 'href="/stories/long/?page=3#year-2026">2026</a>' in second

    last = text_of(client.get("/stories/long/?page=3"))
    assert cards_on(last) == ["e6", "e7", "e8", "e9"]
    assert "Events 7–10 of 10, March 2025 to April 2026 (page 3 of 3)" in last
    assert link(last, "next") is None
    assert 'id="year-2025"' in last and 'id="year-2026"' in last
    data = jsonld_of(last)
    assert data["numberOfItems"] == 10
    assert [item["position"] for item in data["itemListElement"]] == [7, 8, 9, 10]


@pytest.mark.django_db
def test_newest_first_and_filters_apply_across_pages(client, pages_of_four):
    long_story()

    newest = text_of(client.get("/stories/long/?order=newest"))
    assert cards_on(newest) == ["e9", "e8", "e7", "e6"]
    assert link(newest, "next") == ("/stories/long/?order=newest&page=2", "Earlier events")
    page_2 = text_of(client.get("/stories/long/?order=newest&page=2"))
    assert cards_on(page_2) == ["e5", "e4", "e3"]
    assert link(page_2, "prev") == ("/stories/long/?order=newest", "Later events")
    # Reordered, the page is still the timeline's own.
    assert '<link rel="canonical" href="http://testserver/stories/long/">' in page_2
    # Changing the order or a filter starts again from the first page.
    assert '<a class="chip" href="/stories/long/">Oldest first' in page_2
    assert 'href="/stories/long/?order=newest&amp;category=deal"' in page_2

    # Five "deal" events: 0, 2, 4, 6, 8.
    deals = text_of(client.get("/stories/long/?category=deal"))
    assert cards_on(deals) == ["e0", "e2", "e4"]  # up to the end of February
    assert "Showing 5 of 10 events" in deals
    assert link(deals, "next") == ("/stories/long/?category=deal&page=2", "Later events")
    deals_2 = text_of(client.get("/stories/long/?category=deal&page=2"))
    assert cards_on(deals_2) == ["e6", "e8"]
    assert 'href="/stories/long/?category=deal&amp;page=2#year-2025"' in deals_2
    assert "clear</a>" in deals_2
    assert '<a class="chip" href="/stories/long/?category=deal&amp;order=newest">' in deals_2

    newest_deals = text_of(client.get("/stories/long/?category=deal&order=newest"))
    assert cards_on(newest_deals) == ["e8", "e6", "e4"]


@pytest.mark.django_db
def test_a_page_number_that_is_not_one_leads_to_the_nearest_page(client, pages_of_four):
    long_story()

    for asked, nearest in [
        ("1", "/stories/long/"),
        ("0", "/stories/long/"),
        ("-2", "/stories/long/"),
        ("two", "/stories/long/"),
        ("", "/stories/long/"),
        ("02", "/stories/long/?page=2"),
        ("4", "/stories/long/?page=3"),
        ("99999999999", "/stories/long/"),
    ]:
        response = client.get(f"/stories/long/?page={asked}")
        assert response.status_code == 302, asked
        assert response["Location"] == nearest, asked
    # A filter that leaves one page: an old link to page 3 lands on it.
    assert client.get("/stories/long/?entity=nobody&category=deal&page=3")["Location"] == (
        "/stories/long/?entity=nobody&category=deal&page=2"
    )
    assert client.get("/stories/long/?page=3").status_code == 200


@pytest.mark.django_db
def test_drafts_are_on_no_page_and_move_no_page_boundary(client, pages_of_four):
    s = long_story()

    pages = [text_of(client.get(url)) for url in ("/stories/long/", "/stories/long/?page=2",
                                                   "/stories/long/?page=3")]  # fmt: skip

    assert [cards_on(html) for html in pages] == [
        ["e0", "e1", "e2"],
        ["e3", "e4", "e5"],
        ["e6", "e7", "e8", "e9"],
    ]
    for html in pages:
        assert "Draft in" not in html and "draft-" not in html
    assert client.get("/stories/long/events/draft-1/").status_code == 404

    # Published, a draft joins its page at once.
    draft = Event.objects.get(story=s, slug="draft-1")
    draft.status = "published"
    draft.save()
    assert cards_on(text_of(client.get("/stories/long/"))) == ["e0", "draft-1", "e1", "e2"]


@pytest.mark.django_db
def test_every_event_page_links_to_the_timeline_page_that_shows_its_card(client, pages_of_four):
    long_story()

    for n in range(10):
        html = text_of(client.get(f"/stories/long/events/e{n}/"))
        back = re.search(r'<nav class="wrap breadcrumbs".*?<a href="([^"]+)">', html, re.S)
        path, anchor = back.group(1).split("#")
        assert anchor == f"event-e{n}"
        expected = "/stories/long/" + ("" if n < 3 else "?page=2" if n < 6 else "?page=3")
        assert path == expected, n
        assert f'id="event-e{n}"' in text_of(client.get(path)), n


@pytest.mark.django_db
def test_each_page_of_a_long_timeline_costs_the_same_few_queries(client, pages_of_four):
    timeline_with(10)
    timeline_with(40)

    counts = {}
    for n, page in [(10, 1), (10, 2), (40, 2), (40, 9)]:
        django_cache.clear()  # each from cold
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/stories/big-{n}/" + (f"?page={page}" if page > 1 else ""))
        assert response.status_code == 200
        assert 1 <= text_of(response).count('<article class="event ') <= 4
        counts[n, page] = len(queries)
        with CaptureQueriesContext(connection) as queries:
            client.get(f"/stories/big-{n}/" + (f"?page={page}" if page > 1 else ""))
        assert len(queries) == 0

    assert len(set(counts.values())) == 1, counts
    assert counts[40, 9] <= 12


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


# --- Dates and certainty ------------------------------------------------------------------


@pytest.mark.django_db
def test_every_precision_span_and_certainty_is_shown_as_known(client):
    s = story(slug="deal")
    shown = {
        "12 June 2025": {"occurred_on": dt.date(2025, 6, 12)},
        "June 2025": {"occurred_on": dt.date(2025, 6, 20), "precision": "month"},
        "Q1 2026": {"occurred_on": dt.date(2026, 2, 14), "precision": "quarter"},
        "Summer 2026, expected": {
            "occurred_on": dt.date(2026, 7, 1),
            "precision": "season",
            "certainty": "expected",
        },
        "Winter 2025–26": {"occurred_on": dt.date(2026, 1, 10), "precision": "season"},
        "about 2016": {
            "occurred_on": dt.date(2016, 5, 1),
            "precision": "year",
            "is_approximate": True,
        },
        "June 2025 – August 2025": {
            "occurred_on": dt.date(2025, 6, 1),
            "precision": "month",
            "ends_on": dt.date(2025, 8, 1),
        },
    }
    for n, fields in enumerate(shown.values()):
        event(s, f"Precision {n}", **fields)
    event(s, "Confirmed one", certainty="confirmed")
    event(s, "Reported one", certainty="reported")
    event(s, "Denied one", certainty="denied")

    html = text_of(client.get("/stories/deal/"))

    for label in shown:
        assert f">{label}</time>" in html, label
    assert '<time datetime="2026-01">Q1 2026</time>' in html
    assert '<time datetime="2016">about 2016</time>' in html
    for certainty, label in [
        ("confirmed", "Confirmed"),
        ("reported", "Reported"),
        ("expected", "Expected"),
        ("denied", "Denied or retracted"),
    ]:
        assert f'<span class="badge badge--{certainty}">{label}</span>' in html
        assert f'<article class="event event--{certainty} ' in html


# --- Independent outlets -------------------------------------------------------------------


@pytest.mark.django_db
def test_independent_outlets_count_syndicated_copies_once(client):
    s = story(slug="deal")
    e = event(s, slug="stake")
    cite(e, source(publisher="Reuters", title="Meta to invest in Scale AI, sources say"))
    # Relays Reuters: Reuters' report again.
    cite(e, source(publisher="The Verge", title="Meta bets big on data"), attributed_to="Reuters")
    # The same wire headline under another masthead.
    cite(
        e,
        source(
            publisher="Yahoo Finance", title="Meta to invest in Scale AI, sources say - Reuters"
        ),
    )
    cite(e, source(publisher="the  reuters", title="Another angle entirely on the deal"))
    cite(e, source(publisher="Bloomberg", title="Inside the Scale deal"))
    # No publisher printed: each document is its own outlet.
    cite(e, source(publisher="", title="An explainer", document="000.txt"))
    cite(e, source(publisher="", title="Another explainer", document="001.txt"))

    html = text_of(client.get("/stories/deal/"))
    page = text_of(client.get("/stories/deal/events/stake/"))

    assert "7 sources · <span" in html
    assert "4 independent outlets" in html
    assert "Carried by 4 independent outlets across 7 sources" in page


@pytest.mark.django_db
def test_several_sources_of_one_outlet_are_called_one_outlet(client):
    s = story(slug="deal")
    e = event(s)
    cite(e, source(publisher="Reuters", title="First Reuters story on the deal"))
    cite(e, source(publisher="Reuters", title="Second Reuters story, a week later"))
    cite(event(s), source(publisher="Reuters", title="Alone"))

    html = text_of(client.get("/stories/deal/"))

    assert '2 sources · <span class="event__outlets">one outlet</span>' in html
    assert "independent outlets" not in html


@pytest.mark.django_db
def test_the_versions_of_a_disputed_claim_open_in_place_with_their_sources(client):
    s = story(slug="deal")
    e = event(s, slug="stake")
    reuters = cite(e, source(publisher="Reuters", title="One"))
    blog = cite(e, source(publisher="", title="A blog post"), attributed_to="Bloomberg")
    c = claim(
        e,
        "Investment",
        {"value": "$14.3 billion", "is_preferred": True, "citations": [reuters]},
        {"value": "$15 billion", "citations": [blog]},
    )

    html = text_of(client.get("/stories/deal/"))

    details = html[html.index('<details class="differ">') : html.index("</details>")]
    assert "<summary>" in details and "Investment: 2 versions" in details
    assert "<strong>$14.3 billion</strong>" in details and "(preferred)" in details
    assert "— Reuters</li>" in details
    assert "<strong>$15 billion</strong> — A blog post (per Bloomberg)" in details
    assert f'href="/stories/deal/events/stake/#claim-{c.pk}"' in details


# --- What changed ---------------------------------------------------------------------------

LONG_AGO = dt.datetime(2025, 1, 10, 9, 0, tzinfo=dt.UTC)


def days_ago(days: int) -> dt.datetime:
    return dt.datetime.now(tz=dt.UTC) - dt.timedelta(days=days)


@pytest.mark.django_db
def test_new_and_updated_marks_follow_publication_and_public_changes(client):
    import time_machine

    s = story(slug="deal")
    with time_machine.travel(days_ago(30)):
        quiet = event(s, "Quiet old event")
        edited = event(s, "Edited old event", occurred_on=dt.date(2025, 6, 1), precision="month")
        cited = event(s, "Newly sourced event")
    with time_machine.travel(days_ago(2)):
        edited.occurred_on = dt.date(2025, 6, 12)
        edited.precision = "day"
        edited.save()
        cite(cited, source(publisher="Reuters", title="Late confirmation"))
    fresh = event(s, "Fresh event")

    html = text_of(client.get("/stories/deal/"))

    def card(e: Event) -> str:
        start = html.index(f'id="event-{e.slug}"')
        return html[start : html.index("</article>", start)]

    assert "badge--new" not in card(quiet) and "badge--updated" not in card(quiet)
    assert '<span class="badge badge--updated">Updated</span>' in card(edited)
    assert '<span class="badge badge--updated">Updated</span>' in card(cited)
    assert '<span class="badge badge--new">New</span>' in card(fresh)
    assert "What changed: 1 new, 2 updated in the last 7 days" in html


@pytest.mark.django_db
def test_what_changed_lists_dated_public_notes_and_nothing_from_drafts(client, editor):
    import time_machine

    s = story(slug="deal")
    with time_machine.travel(LONG_AGO):
        e = event(
            s,
            "Meta invests",
            slug="invests",
            occurred_on=dt.date(2025, 6, 1),
            precision="month",
            certainty="reported",
        )
        draft = event(s, "Secret plan", slug="secret", status="draft")
    with time_machine.travel(LONG_AGO + dt.timedelta(days=3)):
        e._history_user = editor
        e.occurred_on, e.precision, e.certainty = dt.date(2025, 6, 12), "day", "confirmed"
        e.save()
        cite(e, source(publisher="Reuters", title="Meta takes 49% stake"))
        draft.title = "Secret plan, revised"
        draft.save()
    with time_machine.travel(LONG_AGO + dt.timedelta(days=5)):
        later = event(s, "Later draft", slug="later", status="draft")
        later.title = "Later, now public"
        later.status = "published"
        later.save()

    html = text_of(client.get("/stories/deal/changes/?since=2025-01-01"))

    assert "<h1>What changed since 1 January 2025</h1>" in html
    notes = html[html.index("<main") :]
    order = positions(
        notes,
        "15 January 2025",
        "Later, now public",
        "13 January 2025",
        "Source added: Reuters, “Meta takes 49% stake”",
        "Date changed from June 2025 to 12 June 2025",
        "Certainty changed from Reported to Confirmed",
        "10 January 2025",
        'invests/">Meta invests</a> <span class="muted">(12 June 2025)</span>: Published',
    )
    assert order == sorted(order)
    assert "Secret plan" not in html
    assert "Later draft" not in html  # its title while it was a draft
    assert "editor" not in html
    assert_headings_in_order(html)

    recent = text_of(client.get("/stories/deal/changes/?since=2025-01-12"))
    assert "Date changed" in recent and "10 January 2025" not in recent

    bad = client.get("/stories/deal/changes/?since=yesterday")
    assert bad.status_code == 200
    assert "is not a date" in text_of(bad)


@pytest.mark.django_db
def test_the_event_page_shows_its_change_history_and_when_it_was_updated(client):
    import time_machine

    s = story(slug="deal")
    with time_machine.travel(LONG_AGO):
        e = event(s, "Meta invests", slug="invests", summary="Old summary.")
    with time_machine.travel(LONG_AGO + dt.timedelta(days=1)):
        e.summary = "New summary."
        e.save()

    html = text_of(client.get("/stories/deal/events/invests/"))

    assert "Published <time" in html and "10 January 2025" in html
    assert "updated on <time" in html and "11 January 2025" in html
    history = html[html.index('id="changes"') :]
    summary, published = positions(history, "Summary revised", "Published")
    assert summary < published
    assert "Old summary." not in html


@pytest.mark.django_db
def test_changes_made_right_after_publishing_are_part_of_the_publication(client):
    s = story(slug="deal")
    e = event(s, slug="invests")
    cite(e)
    e.title = "Retitled at once"
    e.save()

    html = text_of(client.get("/stories/deal/events/invests/"))

    history = html[
        html.index('id="changes"') : html.index("</section>", html.index('id="changes"'))
    ]
    assert history.count("<li>") == 1 and "Published</li>" in history
    assert "updated on" not in html


# --- Caching and conditional GET ---------------------------------------------------------------

CACHED_URLS = [
    "/stories/deal/",
    "/stories/deal/?order=newest",
    "/stories/deal/events/signed/",
    "/stories/deal/changes/",
    "/stories/deal/feed/",
    "/stories/deal/timeline.json",
    "/api/v1/stories/deal/",
    "/api/v1/stories/deal/events/",
    "/api/v1/stories/deal/events/signed/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("url", CACHED_URLS)
def test_pages_feeds_and_api_answer_conditional_gets_with_304(client, url):
    event(story(slug="deal"), slug="signed")

    first = client.get(url)
    assert first.status_code == 200
    assert first["ETag"].startswith('W/"') and first["Last-Modified"].endswith("GMT")
    assert first["Cache-Control"] == "public, no-cache"

    by_etag = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    by_date = client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

    assert by_etag.status_code == 304 and by_etag.content == b""
    assert by_etag["ETag"] == first["ETag"]
    assert by_date.status_code == 304


@pytest.mark.django_db
@pytest.mark.parametrize("url", CACHED_URLS)
def test_a_change_to_the_story_gives_every_page_a_new_etag(client, url):
    s = story(slug="deal")
    e = event(s, "Signed", slug="signed")
    first = client.get(url)

    e.title = "Signed and sealed"
    e.save()
    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 200
    assert again["ETag"] != first["ETag"]
    if "changes" not in url and url != "/api/v1/stories/deal/":
        assert "Signed and sealed" in text_of(again)


@pytest.mark.django_db
def test_a_cached_page_is_served_without_a_query_and_expires_with_any_change(client):
    s = story(slug="deal")
    e = event(s, "Signed", slug="signed")
    client.get("/stories/deal/")

    with CaptureQueriesContext(connection) as queries:
        assert "Signed" in text_of(client.get("/stories/deal/"))
    assert len(queries) == 0

    def rename_entity():
        meta = Entity.objects.get(slug="meta")
        meta.name = "Meta Platforms"
        meta.save()

    def retitle_source():
        reuters = Source.objects.get(publisher="Reuters")
        reuters.title = "Reuters, corrected"
        reuters.save()

    changes = [
        lambda: cite(e, source(publisher="Reuters", title="Reuters on the deal")),
        retitle_source,
        lambda: e.entities.add(entity("Meta")),
        rename_entity,
        lambda: claim(e, "Stake", {"value": "49%"}, {"value": "50%"}),
        lambda: ClaimValue.objects.get(value="50%").citations.add(e.citations.get()),
        lambda: ClaimValue.objects.filter(value="50%").delete(),
        lambda: e.entities.clear(),
        lambda: s.save(),
    ]
    before = client.get("/stories/deal/")["ETag"]
    for n, change in enumerate(changes):
        change()
        after = client.get("/stories/deal/")["ETag"]
        assert after != before, n
        before = after
    html = text_of(client.get("/stories/deal/"))
    assert "Reuters, corrected" in html and "50%" not in html


@pytest.mark.django_db
def test_a_cached_page_is_gzipped_for_a_client_that_accepts_it(client):
    import gzip

    event(story(slug="deal"), "Signed")
    plain = client.get("/stories/deal/")  # rendered now, sent as is

    packed = client.get("/stories/deal/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    again = client.get("/stories/deal/", HTTP_ACCEPT_ENCODING="gzip")
    unpacked = client.get("/stories/deal/")

    assert "Content-Encoding" not in plain and "Content-Encoding" not in unpacked
    assert packed["Content-Encoding"] == again["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content) == plain.content == unpacked.content
    assert len(packed.content) < len(plain.content) / 2
    assert packed["Vary"] == plain["Vary"] == "Accept-Encoding"
    assert packed["ETag"] == plain["ETag"]
    not_modified = client.get(
        "/stories/deal/", HTTP_ACCEPT_ENCODING="gzip", HTTP_IF_NONE_MATCH=plain["ETag"]
    )
    assert not_modified.status_code == 304


@pytest.mark.django_db
def test_publishing_and_unpublishing_show_at_once_on_a_cached_timeline(client):
    s = story(slug="deal")
    e = event(s, "Coming soon", status="draft")
    assert "Coming soon" not in text_of(client.get("/stories/deal/"))

    e.status = "published"
    e.save()
    assert "Coming soon" in text_of(client.get("/stories/deal/"))

    e.status = "draft"
    e.save()
    assert "Coming soon" not in text_of(client.get("/stories/deal/"))


@pytest.mark.django_db
def test_hiding_a_story_turns_its_cached_pages_into_404s(client):
    s = story(slug="deal")
    event(s, slug="signed")
    assert client.get("/stories/deal/events/signed/").status_code == 200

    s.is_public = False
    s.save()

    assert client.get("/stories/deal/").status_code == 404
    assert client.get("/stories/deal/events/signed/").status_code == 404


@pytest.mark.django_db
def test_a_story_given_a_new_slug_answers_under_it_at_once(client):
    s = story(slug="deal")
    event(s, slug="signed")
    assert client.get("/stories/deal/").status_code == 200
    assert client.get("/stories/deal/").status_code == 200  # from the cache

    s.slug = "the-deal"
    s.save()

    assert client.get("/stories/deal/").status_code == 404
    assert client.get("/stories/deal/events/signed/").status_code == 404
    assert client.get("/stories/the-deal/").status_code == 200
    assert client.get("/stories/the-deal/events/signed/").status_code == 200


# --- Metadata, sitemap ----------------------------------------------------------------------------


def jsonld_of(html: str) -> dict:
    import json

    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert match, "no JSON-LD"
    return json.loads(match.group(1))


@pytest.mark.django_db
def test_the_timeline_carries_jsonld_opengraph_and_feed_autodiscovery(client):
    s = story(slug="deal", title="The deal", summary="A deal in stages.")
    event(s, "First", slug="first", occurred_on=dt.date(2025, 1, 1))
    event(s, "Second", slug="second", occurred_on=dt.date(2025, 2, 1))

    html = text_of(client.get("/stories/deal/"))

    data = jsonld_of(html)
    assert data["@context"] == "https://schema.org" and data["@type"] == "ItemList"
    assert data["numberOfItems"] == 2
    assert [item["url"] for item in data["itemListElement"]] == [
        "http://testserver/stories/deal/events/first/",
        "http://testserver/stories/deal/events/second/",
    ]
    assert '<meta property="og:title" content="The deal">' in html
    assert '<meta property="og:type" content="website">' in html
    assert '<meta property="og:url" content="http://testserver/stories/deal/">' in html
    assert '<meta name="twitter:card" content="summary">' in html
    assert '<link rel="canonical" href="http://testserver/stories/deal/">' in html
    assert (
        '<link rel="alternate" type="application/atom+xml" '
        'title="The deal: new and updated events" href="/stories/deal/feed/">'
    ) in html
    assert 'href="/stories/deal/timeline.json"' in html


@pytest.mark.django_db
def test_the_event_page_carries_a_news_article_about_the_event(client):
    s = story(slug="deal", title="The deal")
    e = event(
        s,
        "Meta invests",
        slug="invests",
        summary="Meta takes a stake.",
        occurred_on=dt.date(2025, 6, 1),
        precision="month",
    )
    e.entities.add(entity("Meta"), entity("Alexandr Wang", kind="person"))
    cite(e, source(publisher="Reuters", title="Meta invests", url="https://example.com/a"))

    html = text_of(client.get("/stories/deal/events/invests/"))

    data = jsonld_of(html)
    assert data["@type"] == "NewsArticle"
    assert data["headline"] == "Meta invests"
    assert data["about"] == {"@type": "Event", "name": "Meta invests", "startDate": "2025-06"}
    assert {"@type": "Person", "name": "Alexandr Wang"} in data["mentions"]
    assert data["citation"][0]["publisher"]["name"] == "Reuters"
    assert data["citation"][0]["url"] == "https://example.com/a"
    assert data["isPartOf"]["url"] == "http://testserver/stories/deal/"
    assert '<meta property="og:type" content="article">' in html
    assert '<meta property="og:description" content="Meta takes a stake.">' in html
    assert '<meta property="article:section" content="Deal">' in html


@pytest.mark.django_db
def test_jsonld_cannot_be_broken_out_of_by_stored_text(client):
    s = story(slug="deal", summary="</script><script>alert(1)</script>")
    event(s, "</script><b>", slug="evil")

    for url in ("/stories/deal/", "/stories/deal/events/evil/"):
        html = text_of(client.get(url))
        assert "</script><script>" not in html
        assert "</script><b>" not in html
        jsonld_of(html)


@pytest.mark.django_db
def test_the_sitemap_lists_public_stories_and_published_events_only(client):
    s = story(slug="deal")
    event(s, slug="public-one")
    event(s, slug="draft-one", status="draft")
    hidden = story(slug="hidden", is_public=False)
    event(hidden, slug="inside-hidden")

    response = client.get("/sitemap.xml")

    xml = text_of(response)
    assert response.status_code == 200
    assert "<loc>http://testserver/stories/deal/</loc>" in xml
    assert "<loc>http://testserver/stories/deal/events/public-one/</loc>" in xml
    assert "draft-one" not in xml
    assert "hidden" not in xml
    assert "<lastmod>" in xml
    assert "Sitemap: http://testserver/sitemap.xml" in text_of(client.get("/robots.txt"))


@pytest.mark.django_db
def test_accepting_an_article_shows_its_source_on_the_cached_pages(client, editor):
    from tracker.models import Article
    from tracker.services import accept_article

    s = story(slug="deal")
    e = event(s, "Meta invests", slug="invests")
    article = Article.objects.create(
        story=s,
        guid="urn:reuters:1",
        url="https://www.reuters.com/technology/meta-scale/",
        title="Meta finalizes Scale AI investment",
        outlet="Reuters",
    )
    pages = ["/stories/deal/", "/stories/deal/events/invests/", "/stories/deal/feed/"]
    before = {url: client.get(url)["ETag"] for url in pages}

    accept_article(article, editor, event=e, quote="Meta has finalized its investment.")

    for url in pages:
        response = client.get(url, HTTP_IF_NONE_MATCH=before[url])
        assert response.status_code == 200, url
        shown = "Sources: Reuters" if "feed" in url else "Meta finalizes Scale AI investment"
        assert shown in text_of(response), url


@pytest.mark.django_db
def test_a_cached_response_keeps_the_headers_its_view_set(client):
    event(story(slug="deal"))

    first, cached = client.get("/sitemap.xml"), client.get("/sitemap.xml")

    assert cached["X-Robots-Tag"] == first["X-Robots-Tag"]
    assert cached["Content-Type"] == first["Content-Type"] == "application/xml"
