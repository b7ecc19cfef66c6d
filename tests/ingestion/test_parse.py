"""parse_feed() on the sample documents in fixtures/feeds/."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from tracker.ingestion.errors import ParseError
from tracker.ingestion.parse import (
    ParsedFeed,
    _http_url,
    parse_feed,
    plain_text,
    sanitize_html,
)

FEEDS = Path(__file__).resolve().parents[2] / "fixtures" / "feeds"
NOW = dt.datetime(2025, 7, 20, 12, 0, tzinfo=dt.UTC)
XML = {"content-type": "application/xml"}


def parse(name: str, url: str = "", **kwargs: object) -> ParsedFeed:
    return parse_feed(
        (FEEDS / name).read_bytes(),
        url=url or f"https://feeds.example/{name}",
        headers=kwargs.pop("headers", XML),  # type: ignore[arg-type]
        now=NOW,
        **kwargs,  # type: ignore[arg-type]
    )


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


# --- The four dialects -------------------------------------------------------------


def test_rss20_gives_entries_with_ids_authors_and_utc_dates() -> None:
    feed = parse("rss20.xml")
    assert feed.version == "rss20"
    assert feed.title == "Tech Ledger: AI"
    assert feed.site_url == "https://techledger.example/ai/"
    assert not feed.is_bozo
    first = feed.entries[0]
    assert first.guid == "techledger-88231"
    assert first.url.startswith("https://techledger.example/ai/2025/06/13/meta-scale-ai-stake/")
    assert first.title == "Meta takes 49% stake in Scale AI for $14.3 billion"
    assert first.author == "Dana Whitfield"
    assert first.published_at == utc(2025, 6, 13, 18, 5)
    assert first.published_at.tzinfo is dt.UTC
    assert first.outlet == "Tech Ledger: AI"
    assert "<strong>$14.3 billion</strong>" in first.summary_html


def test_rss20_states_how_often_to_poll() -> None:
    feed = parse("rss20.xml")
    assert feed.ttl_seconds == 3600
    assert feed.update_period_seconds == 1800  # hourly, twice


def test_rss091_entries_are_identified_by_link_and_have_no_date() -> None:
    feed = parse("rss091.xml")
    assert feed.version.startswith("rss091")
    assert [e.guid for e in feed.entries] == [
        "https://valleywire.example/briefs/scale-ai-valuation",
        "https://valleywire.example/briefs/wang-leaves-scale",
    ]
    assert all(e.published_at is None for e in feed.entries)


def test_rss10_rdf_reads_dublin_core_dates_and_update_period() -> None:
    feed = parse("rss10.rdf")
    assert feed.version == "rss10"
    assert feed.update_period_seconds == 86400
    assert feed.entries[0].author == "Ines Okafor"
    assert feed.entries[1].published_at == utc(2025, 6, 18, 16, 45)


def test_atom_unescapes_html_titles_and_falls_back_to_updated_and_content() -> None:
    feed = parse("atom.xml")
    assert feed.version == "atom10"
    layoffs, hires = feed.entries
    assert layoffs.title == "Scale AI lays off 14% of staff & cuts contractors"
    assert layoffs.author == "Marcus Lee"
    assert layoffs.published_at == utc(2025, 7, 16, 17, 20)
    assert hires.published_at == utc(2025, 7, 2, 9, 0)
    assert "<b>Meta Superintelligence Labs</b>" in hires.summary_html
    assert feed.site_url == "https://frontier.example/"


# --- Identity, links, dates ---------------------------------------------------------


def test_entries_without_guid_fall_back_to_link_then_to_a_hash() -> None:
    with_link, without = parse("no_guids.xml").entries
    assert with_link.guid == "https://marketminute.example/notes/meta-shares-scale"
    assert without.url == ""
    assert without.guid.startswith("sha256:")
    assert parse("no_guids.xml").entries[1].guid == without.guid


def test_guids_do_not_change_when_the_feed_moves() -> None:
    here = parse("malformed.xml", url="https://hasty.example/feed").entries
    there = parse("malformed.xml", url="https://cdn.hasty.example/rss").entries
    assert [e.guid for e in here] == [e.guid for e in there] == ["hasty-1", "hasty-2"]


def test_relative_links_are_resolved_against_the_feed_url() -> None:
    feed = parse("relative_links.xml", url="https://bbj.example/feeds/main.xml")
    first, second = feed.entries
    assert feed.site_url == "https://bbj.example/"
    assert first.url == "https://bbj.example/news/2025/06/20/scale-contractors"
    assert second.url == "https://bbj.example/feeds/analysis/meta-scale-value"
    assert 'href="https://bbj.example/news/2025/06/13/meta-scale"' in first.summary_html


LINKS = [
    "https://wire.example/a?b=1#c",
    "http://wire.example/a",  # another scheme than the feed's
    "HTTPS://Wire.Example/a",
    "https://wire.example/a?",
    "https://wire.example/a#",
    "https://wire.example/a;p?q",
    "https://wire.example/a;",
    "https://wire.example:8443/a b",
    "//cdn.example/a",
    "/a/b",
    "a/../b",
    "?page=2",
    "#top",
    "javascript:alert(1)",
    "mailto:desk@wire.example",
    "https:relative",
    "https://",
    "  https://wire.example/spaced  ",
]


@pytest.mark.parametrize("base", ["https://wire.example/feeds/rss.xml", ""])
@pytest.mark.parametrize("link", LINKS)
def test_links_are_made_absolute_as_urljoin_does_and_kept_only_if_http(base, link) -> None:
    absolute = urljoin(base, link.strip())
    parts = urlsplit(absolute)
    expected = absolute if parts.scheme in ("http", "https") and parts.netloc else ""
    assert _http_url(link, base) == expected


def test_dates_are_utc_and_absurd_ones_are_dropped() -> None:
    offset, future, garbage, missing, ancient = parse("bad_dates.xml").entries
    assert offset.published_at == utc(2025, 6, 14, 4, 30)
    assert future.published_at is None
    assert garbage.published_at is None
    assert missing.published_at is None
    assert ancient.published_at is None


def test_a_date_just_ahead_of_the_clock_is_kept() -> None:
    feed = parse_feed(
        b'<rss version="2.0"><channel><title>t</title><item><title>Soon</title>'
        b"<link>https://a.example/1</link><pubDate>Mon, 21 Jul 2025 06:00:00 GMT</pubDate>"
        b"</item></channel></rss>",
        url="https://a.example/feed",
        now=NOW,
    )
    assert feed.entries[0].published_at == utc(2025, 7, 21, 6, 0)


def test_latin1_feed_is_decoded_from_its_declaration() -> None:
    for headers in (XML, {"content-type": "text/xml"}, {}):
        feed = parse("latin1.xml", headers=headers)
        assert feed.title == "Le Journal du Numérique"
        entry = feed.entries[0]
        assert entry.title.endswith("fondée par Alexandr Wang")
        assert "société d'étiquetage de données" in entry.summary_html
        assert "« énorme »" in entry.summary_text


def test_google_news_entries_name_their_outlet_and_lose_its_suffix() -> None:
    feed = parse("google_news.xml")
    reuters, techcrunch, information = feed.entries
    assert reuters.outlet == "Reuters"
    assert reuters.outlet_url == "https://www.reuters.com"
    assert (
        reuters.title == "Meta to pay $14.3 billion for 49% of Scale AI, bring founder Wang aboard"
    )
    assert techcrunch.outlet == "TechCrunch"
    assert techcrunch.title == "Scale AI confirms Meta investment, Wang to step down as CEO"
    assert information.title == "Why Meta's Scale AI deal rattled its rivals"
    assert feed.title == '"Scale AI" Meta - Google News'


# --- Not feeds, broken feeds --------------------------------------------------------


def test_html_page_is_not_a_feed() -> None:
    with pytest.raises(ParseError) as caught:
        parse("html_page.html", headers={"content-type": "text/html"})
    assert caught.value.kind == "not_a_feed"
    assert "HTML page" in str(caught.value)


@pytest.mark.parametrize(
    "content", [b"", b"   \n", b"just some text", b'{"items": []}', b"https://evil.example/feed"]
)
def test_things_without_feed_structure_are_not_feeds(content: bytes) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(content, url="https://a.example/feed", headers={})
    assert caught.value.kind == "not_a_feed"


def test_malformed_feed_with_usable_entries_is_accepted_and_flagged() -> None:
    feed = parse("malformed.xml")
    assert feed.is_bozo
    assert "not well-formed" in feed.bozo_message
    assert [e.title for e in feed.entries] == [
        "Meta & Scale AI: the deal in numbers",
        "Scale AI's board after Wang",
    ]


def test_malformed_feed_without_entries_is_a_parse_error() -> None:
    broken = b'<?xml version="1.0"?><rss version="2.0"><channel><title>x &</title><item><ti'
    with pytest.raises(ParseError) as caught:
        parse_feed(broken, url="https://a.example/feed")
    assert caught.value.kind == "parse"


def test_valid_feed_without_items_is_an_empty_feed() -> None:
    feed = parse_feed(
        b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>',
        url="https://a.example/feed",
    )
    assert feed.entries == []
    assert feed.title == "Quiet"


def test_only_the_newest_entries_of_a_huge_feed_are_kept() -> None:
    start = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    # Oldest first, as some archives list them.
    items = "".join(
        f"<item><title>Item {i}</title><link>https://a.example/{i}</link>"
        f"<pubDate>{(start + dt.timedelta(hours=i)):%a, %d %b %Y %H:%M:%S} GMT</pubDate></item>"
        for i in range(250)
    )
    feed = parse_feed(
        f'<rss version="2.0"><channel><title>Archive</title>{items}</channel></rss>'.encode(),
        url="https://a.example/feed",
        now=NOW,
    )
    assert len(feed.entries) == 200
    assert feed.entries_dropped == 50
    assert feed.entries[0].title == "Item 50"
    assert feed.entries[-1].title == "Item 249"


# --- Hostile content ------------------------------------------------------------------


def test_hostile_entry_is_defanged() -> None:
    entry = parse("hostile.xml").entries[0]
    assert entry.title == "Meta & Scale AI"
    summary = entry.summary_html.lower()
    for needle in (
        "<script",
        "onclick",
        "onerror",
        "onload",
        "javascript:",
        "<svg",
        "<style",
        "style=",
        "<iframe",
        "<form",
        "<input",
        "<img",
        "<object",
        "data:",
        'rel="opener"',
        "target=",
    ):
        assert needle not in summary, needle
    assert '<a href="https://hostile.example/fine" rel="nofollow noopener noreferrer">' in summary
    assert "<em>words</em>" in summary


@pytest.mark.parametrize(
    ("dirty", "clean"),
    [
        ('<p onclick="x()">hi</p>', "<p>hi</p>"),
        ("<script>alert(1)</script>text", "text"),
        ('<a href="javascript:alert(1)">x</a>', '<a rel="nofollow noopener noreferrer">x</a>'),
        (
            '<a href="/a">x</a>',
            '<a href="https://s.example/a" rel="nofollow noopener noreferrer">x</a>',
        ),
        ('<svg onload="alert(1)"><circle/></svg>ok', "ok"),
        ('<img src=x onerror="alert(1)">', ""),
        ("<style>p{display:none}</style><p>shown</p>", "<p>shown</p>"),
        ('<p style="color:red">x</p>', "<p>x</p>"),
        ("<!-- note --><b>bold</b>", "<b>bold</b>"),
    ],
)
def test_sanitizer_keeps_structure_and_drops_everything_active(dirty: str, clean: str) -> None:
    assert sanitize_html(dirty, base_url="https://s.example/") == clean


def test_plain_text_drops_tags_and_unescapes() -> None:
    assert plain_text("<p>AT&amp;T &lt;3 <b>Scale</b>\n AI</p><script>x()</script>") == (
        "AT&T <3 Scale AI"
    )


def test_plain_text_skips_the_parser_only_where_the_parser_changes_nothing() -> None:
    from tracker.ingestion.parse import _parsed_text

    rng = random.Random(3)
    pool = [
        *"ab Z\u00e9\t\n\r\x0b\x0c\xa0\u2028\x01\x7f\x85\"'>=/;\u4e2d",
        *("\ufeff", "\x00", "\ufffe", "\U0010fffe", "\u200b"),
        *("&amp;", "<b>", "&#x41;", "<!--c-->", "&"),
    ]
    for _ in range(5000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 12)))
        assert plain_text(text) == _parsed_text(text), repr(text)
