"""The fast reader (feedxml) gives feedparser's answer, or hands the feed over.

Every document here is parsed twice, through feedxml and through feedparser
alone, and the two ParsedFeeds must be equal. Each case also says whether
feedxml takes it, so a reader that quietly handed everything to feedparser
would fail as surely as one that read something differently.
"""

# ruff: noqa: E501 (the sample documents read best one per line)
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

from tracker.ingestion import feedxml
from tracker.ingestion.parse import ParsedFeed, parse_feed

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2025, 7, 20, 12, 0, tzinfo=dt.UTC)
XML = {"content-type": "application/rss+xml; charset=utf-8"}
URL = "https://news.example/section/feed.xml"


def both(content: bytes, headers: dict[str, str] | None = None) -> tuple[ParsedFeed, ParsedFeed]:
    headers = XML if headers is None else headers
    fast = parse_feed(content, url=URL, headers=headers, now=NOW)
    slow = parse_feed(content, url=URL, headers=headers, now=NOW, fast=False)
    return fast, slow


def taken(content: bytes, headers: dict[str, str] | None = None) -> bool:
    return feedxml.read(content, XML if headers is None else headers) is not None


def assert_same(content: bytes, *, fast: bool, headers: dict[str, str] | None = None) -> None:
    read_fast, read_slow = both(content, headers)
    assert read_fast == read_slow
    assert taken(content, headers) is fast


@pytest.mark.parametrize(
    ("name", "fast"),
    [
        ("feeds/rss20.xml", True),
        ("feeds/rss10.rdf", True),
        ("feeds/no_guids.xml", True),
        ("feeds/relative_links.xml", True),
        ("feeds/google_news.xml", True),
        ("feeds/atom.xml", False),  # an xhtml content construct
        ("feeds/rss091.xml", False),  # RSS 0.91
        ("feeds/bad_dates.xml", False),  # dates feedparser reads its own way
        ("feeds/latin1.xml", False),  # the header names no charset
        ("feeds/hostile.xml", True),  # sanitized alike
        ("feeds/malformed.xml", False),
        ("demo/courier.xml", True),
        ("demo/wire.xml", True),
    ],
)
def test_sample_feeds_read_the_same_both_ways(name: str, fast: bool) -> None:
    content = (ROOT / "fixtures" / name).read_bytes()
    headers = {"content-type": "application/xml"}
    assert_same(content, fast=fast, headers=headers)


def test_the_benchmark_farm_feeds_are_read_fast_and_the_same() -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from feedfarm import Farm  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "bench"))
    farm = Farm(feeds=3, items=20, epoch=1_750_000_000, base_url="http://127.0.0.1:9")
    for site in farm.sites:
        content = farm.feed_xml(site)
        read_fast, read_slow = both(content)
        assert taken(content)
        assert read_fast == read_slow
        assert len(read_fast.entries) == 20


def rss(
    items: str, channel: str = "<title>Ledger</title><link>https://news.example/</link>"
) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:media="http://search.yahoo.com/mrss/"'
        ' xmlns:atom="http://www.w3.org/2005/Atom"'
        ' xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">'
        f"<channel>{channel}{items}</channel></rss>"
    ).encode()


RSS_ITEMS = {
    "permalink guid, no link": "<item><title>A</title><guid>https://news.example/a</guid></item>",
    "guid that is not a link": '<item><title>A</title><guid isPermaLink="false">x-1</guid></item>',
    "link after guid": "<item><guid>https://news.example/g</guid><link>/a/b?x=1&amp;y=2</link></item>",
    "link before guid": "<item><link>https://news.example/l</link><guid>https://news.example/g</guid></item>",
    "relative link": "<item><title>Rel</title><link>../story/1</link></item>",
    "escaped html title": "<item><title>Meta &lt;b&gt;bets&lt;/b&gt; &amp;amp; wins</title><link>https://news.example/t</link></item>",
    "entities in title": "<item><title>Caf&#233; AT&amp;T &#x201C;deal&#x201D;</title><link>https://news.example/e</link></item>",
    "cdata description": '<item><title>C</title><link>https://news.example/c</link><description><![CDATA[<p>Hi <a href="/more">more</a><script>alert(1)</script><img src=x onerror=y></p>]]></description></item>',
    "escaped description": '<item><title>E</title><link>https://news.example/d</link><description>&lt;p onclick="x()"&gt;Text &amp;amp; &lt;em&gt;more&lt;/em&gt;&lt;/p&gt;</description></item>',
    "plain description": "<item><title>P</title><link>https://news.example/p</link><description>5 &lt; 6 and AT&amp;T</description></item>",
    "content only": '<item><title>Co</title><link>https://news.example/co</link><content:encoded><![CDATA[<p>Body <a href="rel">x</a></p>]]></content:encoded></item>',
    "content before description": "<item><title>Cd</title><link>https://news.example/cd</link><content:encoded>&lt;p&gt;full&lt;/p&gt;</content:encoded><description>teaser</description></item>",
    "description before content": "<item><title>Dc</title><link>https://news.example/dc</link><description>teaser</description><content:encoded>&lt;p&gt;full&lt;/p&gt;</content:encoded></item>",
    "dc creator": "<item><title>Au</title><link>https://news.example/au</link><dc:creator> Dana  Whitfield </dc:creator></item>",
    "rss author with address": "<item><title>Au</title><link>https://news.example/au2</link><author>dana@news.example (Dana W)</author></item>",
    "source element": '<item><title>Deal - Reuters</title><link>https://news.example/s</link><source url="https://reuters.example">Reuters</source></item>',
    "gmt date": "<item><title>D</title><link>https://news.example/d1</link><pubDate>Fri, 13 Jun 2025 14:05:00 GMT</pubDate></item>",
    "offset date": "<item><title>D</title><link>https://news.example/d2</link><pubDate>Fri, 13 Jun 2025 14:05:00 -0400</pubDate></item>",
    "us zone date": "<item><title>D</title><link>https://news.example/d3</link><pubDate>Fri, 13 Jun 2025 14:05 EDT</pubDate></item>",
    "date without day name": "<item><title>D</title><link>https://news.example/d4</link><pubDate>3 Jun 2025 04:05:06 +0530</pubDate></item>",
    "future date": "<item><title>D</title><link>https://news.example/d5</link><pubDate>Fri, 13 Jun 2031 14:05:00 GMT</pubDate></item>",
    "epoch date": "<item><title>D</title><link>https://news.example/d6</link><pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate></item>",
    "dc date": "<item><title>D</title><link>https://news.example/d7</link><dc:date>2025-06-13T14:05:00.250+02:00</dc:date></item>",
    "iso date in pubDate": "<item><title>D</title><link>https://news.example/d8</link><pubDate>2025-06-13T14:05:00Z</pubDate></item>",
    "date feedparser guesses": "<item><title>D</title><link>https://news.example/d9</link><pubDate>June 13, 2025</pubDate></item>",
    "impossible date": "<item><title>D</title><link>https://news.example/d10</link><pubDate>Fri, 31 Feb 2025 25:05:00 GMT</pubDate></item>",
    "year one": "<item><title>D</title><link>https://news.example/d11</link><pubDate>Mon, 01 Jan 0001 00:30:00 +0100</pubDate></item>",
    "unknown zone": "<item><title>D</title><link>https://news.example/d12</link><pubDate>Fri, 13 Jun 2025 14:05:00 -0000</pubDate></item>",
    "no identity": "<item><description>nothing to know it by</description></item>",
    "title and date only": "<item><title>Only a title</title><pubDate>Fri, 13 Jun 2025 14:05:00 GMT</pubDate></item>",
    "ignored extras": '<item><title>X</title><link>https://news.example/x</link><category>AI</category><comments>https://news.example/x#c</comments><enclosure url="https://news.example/x.mp3" length="1" type="audio/mpeg"/><media:thumbnail url="https://news.example/x.jpg"/></item>',
    "unknown element": "<item><title>X</title><link>https://news.example/y</link><media:title>Other</media:title></item>",
    "title twice": "<item><title>One</title><title>Two</title><link>https://news.example/z</link></item>",
    "xml base": '<item xml:base="https://other.example/dir/"><title>B</title><link>page</link><description>&lt;a href="x"&gt;x&lt;/a&gt;</description></item>',
    "javascript link": "<item><title>J</title><link>javascript:alert(1)</link></item>",
}
RSS_SLOW = {
    "rss author with address", "date feedparser guesses", "unknown element", "title twice",
    "xml base", "impossible date", "year one", "unknown zone",
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(RSS_ITEMS))
def test_rss_items_read_the_same_both_ways(case: str) -> None:
    assert_same(rss(RSS_ITEMS[case]), fast=case not in RSS_SLOW)


def test_all_rss_items_in_one_feed_read_the_same_both_ways() -> None:
    items = "".join(v for k, v in RSS_ITEMS.items() if k not in RSS_SLOW)
    assert_same(rss(items), fast=True)


@pytest.mark.parametrize(
    ("channel", "fast"),
    [
        ("<title>T</title><ttl>60</ttl><sy:updatePeriod>daily</sy:updatePeriod>"
         "<sy:updateFrequency>4</sy:updateFrequency><link>https://news.example/</link>", True),
        ('<title>T</title><atom:link rel="self" href="https://news.example/feed"/>', True),
        ('<title>T</title><atom:link rel="alternate" href="https://other.example/"/>', False),
        ("<title>T</title><image><title>Logo</title><url>https://x/l.png</url></image>", True),
        ("<title>T</title><dc:title>Other</dc:title>", False),
    ],
)  # fmt: skip
def test_channel_fields_read_the_same_both_ways(channel: str, fast: bool) -> None:
    item = "<item><title>A</title><link>https://news.example/a</link></item>"
    assert_same(rss(item, channel=channel), fast=fast)


def atom(entries: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        '<title type="html">Frontier &amp;amp; co</title><id>tag:f</id>'
        '<link href="https://frontier.example/"/><link rel="self" href="https://frontier.example/f"/>'
        f"<updated>2025-07-16T18:00:00Z</updated>{entries}</feed>"
    ).encode()


ATOM_ENTRIES = {
    "full entry": '<entry><title type="html">A &amp;lt;b&amp;gt;b&amp;lt;/b&amp;gt;</title><link rel="alternate" type="text/html" href="https://frontier.example/a"/><id>tag:a</id><published>2025-07-16T17:20:00Z</published><updated>2025-07-16T18:00:00Z</updated><author><name>Marcus Lee</name><uri>https://frontier.example/m</uri></author><summary type="html">&lt;p&gt;Hi &lt;a href="/x"&gt;x&lt;/a&gt;&lt;/p&gt;</summary></entry>',
    "text summary with markup": "<entry><title>T</title><id>https://frontier.example/t</id><summary>a &lt;b&gt;x&lt;/b&gt; &amp; c</summary><updated>2025-07-02T11:00:00+02:00</updated></entry>",
    "id as link": "<entry><title>I</title><id>https://frontier.example/i</id><updated>2025-07-02T11:00:00+02:00</updated></entry>",
    "several links": '<entry><title>L</title><link rel="enclosure" href="https://frontier.example/a.mp3"/><link href="https://frontier.example/one"/><link rel="alternate" type="application/pdf" href="https://frontier.example/p.pdf"/><link href="/two"/><id>tag:l</id></entry>',
    "html content only": '<entry><title>C</title><id>tag:c</id><link href="https://frontier.example/c"/><content type="html">&lt;p&gt;Full&lt;/p&gt;</content></entry>',
    "content then summary": '<entry><title>C</title><id>tag:cs</id><link href="https://frontier.example/cs"/><content type="html">&lt;p&gt;Full&lt;/p&gt;</content><summary>Teaser</summary></entry>',
    "xhtml content": '<entry><title>X</title><id>tag:x</id><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>x</p></div></content></entry>',
    "author with email only": "<entry><title>E</title><id>tag:e</id><author><email>m@frontier.example</email></author></entry>",
    "date without zone": "<entry><title>Z</title><id>tag:z</id><updated>2025-07-02T11:00:00</updated></entry>",
    "impossible date": "<entry><title>Z</title><id>tag:z2</id><updated>2025-13-45T11:00:00Z</updated></entry>",
}
ATOM_SLOW = {"xhtml content", "author with email only", "date without zone", "impossible date"}


@pytest.mark.parametrize("case", sorted(ATOM_ENTRIES))
def test_atom_entries_read_the_same_both_ways(case: str) -> None:
    assert_same(atom(ATOM_ENTRIES[case]), fast=case not in ATOM_SLOW)


@pytest.mark.parametrize(
    ("headers", "prolog", "fast"),
    [
        ({"content-type": "application/rss+xml"}, '<?xml version="1.0"?>', True),
        (
            {"content-type": "text/xml; charset=UTF-8"},
            '<?xml version="1.0" encoding="UTF-8"?>',
            True,
        ),
        ({"content-type": "text/xml"}, '<?xml version="1.0" encoding="utf-8"?>', False),
        ({"content-type": "application/xml; charset=iso-8859-1"}, '<?xml version="1.0"?>', False),
        ({}, '<?xml version="1.0" encoding="windows-1252"?>', False),
        ({"content-type": "text/html"}, '<?xml version="1.0"?>', False),
    ],
)
def test_encodings_are_read_fast_only_when_header_and_document_agree(
    headers: dict[str, str], prolog: str, fast: bool
) -> None:
    body = f'{prolog}<rss version="2.0"><channel><title>Caf\u00e9</title><item><title>\u00c9t\u00e9</title><link>https://news.example/e</link></item></channel></rss>'
    content = body.encode("latin-1" if "1252" in prolog else "utf-8")
    assert_same(content, fast=fast, headers=headers)


def test_a_document_with_a_doctype_is_handed_to_feedparser() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<rss version="2.0"><channel><title>&b;</title></channel></rss>'
    )
    assert not taken(bomb)


def test_random_mixes_of_items_read_the_same_both_ways() -> None:
    import random

    rng = random.Random(11)
    cases = sorted(RSS_ITEMS)
    taken_fast = 0
    for _ in range(150):
        chosen = rng.sample(cases, rng.randint(1, 6))
        content = rss("".join(RSS_ITEMS[case] for case in chosen))
        read_fast, read_slow = both(content)
        assert read_fast == read_slow, chosen
        taken_fast += taken(content)
    assert taken_fast > 10  # the mixes without a slow item are read fast
