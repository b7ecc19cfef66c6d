"""A loopback farm of news feeds and article pages for the ingestion benchmark.

    .venv/bin/python bench/feedfarm.py [--feeds 500] [--items 20] [--port 0] [--epoch N]

Serves, on 127.0.0.1 only:

- ``/feeds/N.xml``: RSS 2.0, ``items`` items each, with an ETag and a
  Last-Modified that never change, answering 304 to a request whose
  If-None-Match names the ETag (or, without one, whose If-Modified-Since is not
  older than Last-Modified);
- ``/articles/N/M.html``: article pages of 4-8 KB of text in a news site's
  boilerplate (cookie banner, navigation, related links, newsletter box,
  footer), each written from a seeded RNG over a vocabulary so that no two are
  near-duplicates and two farms with the same seed and epoch serve the same bytes;
- ``/_stats`` (the counters as JSON) and ``/_reset`` (zero them), not counted.

Every title and summary names Scale AI, so a story with that include term
queues every article. Bodies are gzipped when the client accepts it, as news
sites do; the byte counts are what went over the socket, headers included.

The server is asyncio in one process: every byte is built before it listens,
so serving is a dictionary look-up and one write.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gzip
import hashlib
import html
import json
import random
import re
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from email.utils import format_datetime, formatdate, parsedate_to_datetime

SEED = 20250613
_WORD = re.compile(r"\w+")

# --- Vocabulary -------------------------------------------------------------------

COMPANIES = [
    "Meta", "Meta Platforms", "Google", "OpenAI", "Microsoft", "Amazon", "Anthropic", "xAI",
    "Nvidia", "Apple", "Mistral", "Cohere", "Databricks", "Snowflake", "Oracle", "Salesforce",
    "Surge AI", "Turing", "Invisible Technologies", "Labelbox", "Snorkel AI", "Handshake",
    "Mercor", "Appen", "TELUS Digital", "Accel", "Index Ventures", "Founders Fund",
    "Tiger Global", "Coatue", "Thrive Capital", "Sequoia",
]  # fmt: skip
FIRST_NAMES = [
    "Dana", "Priya", "Tom", "Lena", "Marcus", "Grace", "Rafael", "Helen", "David", "Amara",
    "Kenji", "Olivia", "Samuel", "Yuki", "Ines", "Noah", "Fatima", "Lucas", "Mei", "Omar",
    "Sofia", "Ethan", "Zara", "Pavel", "Hannah", "Tariq", "Elena", "Jonas", "Aisha", "Victor",
    "Chloe", "Mateo", "Nadia", "Felix", "Rosa", "Kwame", "Lucia", "Arjun", "Ingrid", "Diego",
]  # fmt: skip
LAST_NAMES = [
    "Whitfield", "Raman", "Okafor", "Hoffmann", "Chen", "Mwangi", "Ortiz", "Park", "Levin",
    "Singh", "Watanabe", "Brandt", "Adeyemi", "Tanaka", "Moreau", "Keller", "Haddad", "Silva",
    "Novak", "Lindqvist", "Mensah", "Kowalski", "Rossi", "Nakamura", "Fischer", "Duarte",
    "Byrne", "Petrov", "Osei", "Laurent", "Jensen", "Costa", "Ahmed", "Varga", "Murphy",
    "Sato", "Alvarez", "Dubois", "Ncube", "Weber",
]  # fmt: skip
FAMOUS = [
    ("Alexandr Wang", "the founder of Scale AI"), ("Mark Zuckerberg", "Meta's chief executive"),
    ("Jason Droege", "Scale AI's interim chief executive"), ("Susan Li", "Meta's finance chief"),
]  # fmt: skip
ROLES = [
    "an analyst at", "a partner at", "a lawyer for", "an engineer at", "a spokeswoman for",
    "a spokesman for", "a former executive at", "a researcher at", "an investor in",
    "a board member of", "a recruiter for", "a product manager at", "a contractor for",
]  # fmt: skip
PROFESSIONS = [
    "an economist", "a labour organiser", "a data annotator", "a professor", "a regulator",
    "a venture capitalist", "a fund manager", "a policy adviser", "a union official",
    "a competition lawyer", "a reporter", "a former diplomat",
]  # fmt: skip
GROUPS = [
    "the data-labelling company", "the San Francisco startup", "regulators", "contractors",
    "Scale's board", "Meta's superintelligence lab", "early investors", "former employees",
    "rival labs", "the largest customers", "the European Commission", "lawmakers",
    "the Pentagon", "annotators", "the company's lawyers", "engineers", "the Llama team",
    "union organisers", "shareholders", "auditors", "recruiters", "procurement officials",
]  # fmt: skip
VERBS = [
    "is weighing", "has been reviewing", "confirmed", "disputed", "questioned", "postponed",
    "quietly expanded", "scaled back", "defended", "renegotiated", "is preparing",
    "announced", "played down", "criticised", "welcomed", "is studying", "signed off on",
    "paused", "accelerated", "is considering", "rejected", "sought clarity on",
    "raised concerns about", "put a price on", "agreed to", "revived", "cancelled",
    "audited", "rewrote", "outsourced", "doubled", "trimmed", "leaked", "approved",
    "blocked", "delayed", "funded", "benchmarked", "tested", "priced",
]  # fmt: skip
DETERMINERS = ["the", "a", "its", "their", "another", "a second", "one more", "the latest"]
BUSINESS_NOUNS = [
    "contract", "stake", "budget", "audit", "pilot", "tender", "licence", "roadmap",
    "payout", "hiring plan", "data pipeline", "evaluation suite", "pricing model",
    "settlement", "memo", "forecast", "lawsuit", "partnership", "investigation", "reorganisation",
    "bonus pool", "headcount target", "vendor review", "security review", "term sheet",
    "valuation", "filing", "hearing", "buyback", "spin-off", "labelling queue", "rate card",
    "safety report", "training run", "compute order", "data centre lease", "severance offer",
]  # fmt: skip
ADJECTIVES = [
    "cautious", "sharp", "unusual", "modest", "steep", "lengthy", "narrow", "broad",
    "sudden", "gradual", "costly", "contentious", "routine", "unexpected", "quiet",
    "aggressive", "uneven", "tentative", "ambitious", "familiar", "delicate", "public",
    "internal", "revised", "disputed", "secret", "delayed", "expanded", "smaller", "larger",
    "preliminary", "final", "informal", "overdue", "rushed", "confidential", "annual",
    "quarterly", "provisional", "unpopular", "generous", "leaner", "bolder", "stricter",
]  # fmt: skip
NOUNS = [
    "shift", "review", "decline", "push", "bet", "setback", "gamble", "dispute", "deal",
    "rollout", "expansion", "retreat", "overhaul", "slowdown", "test", "inquiry", "bid",
    "debate", "exodus", "bottleneck", "backlash", "pivot", "windfall", "shortfall", "rift",
    "surge", "squeeze", "standoff", "rethink", "scramble",
]  # fmt: skip
TOPICS = [
    "training data", "model evaluation", "annotation work", "reinforcement learning",
    "synthetic data", "safety testing", "military contracts", "contractor pay",
    "antitrust review", "customer trust", "talent deals", "compute budgets", "open models",
    "data privacy", "benchmark scores", "superintelligence research", "revenue growth",
    "speech recognition", "robotics data", "medical imaging", "code generation",
    "translation quality", "chip supply", "cloud credits", "export controls", "energy costs",
    "content moderation", "self-driving data", "election integrity", "copyright claims",
]  # fmt: skip
CLAUSES = [
    "according to people familiar with the matter", "in a filing seen by reporters",
    "during a call with analysts", "in an internal memo", "at a conference",
    "in a statement", "in testimony before a Senate committee", "after weeks of talks",
    "despite objections from some investors", "ahead of its quarterly results",
    "without giving a timetable", "in a letter to customers", "in an interview",
    "late on Friday", "as the deal drew scrutiny", "before the announcement",
    "for the first time", "while declining to give figures", "in response to questions",
    "earlier this month", "two people said", "records show", "a person briefed on it said",
]  # fmt: skip
PLACES = [
    "San Francisco", "Menlo Park", "Manila", "Nairobi", "Washington", "Brussels", "London",
    "Toronto", "Singapore", "Dublin", "Austin", "Seattle", "Bangalore", "Lagos", "Warsaw",
    "Tokyo", "Paris", "Berlin", "New York", "Mexico City", "Cebu", "Accra", "Kraków",
    "Lisbon", "Seoul", "Hyderabad", "Bogotá", "Cairo", "Sydney", "Madrid",
]  # fmt: skip
QUOTES = [
    "We are not going to comment on speculation",
    "Nobody buys half of a supplier by accident",
    "The work has not slowed down, it has moved",
    "Customers want to know who can see their data",
    "This is a bet on people as much as on technology",
    "The numbers simply do not add up yet",
    "It changes the conversation with every lab we talk to",
    "We were told about it the same morning as everyone else",
    "There is no shortage of demand for careful human judgement",
    "Regulators will look at the substance, not the label",
    "Some of our best annotators have already left",
    "The next model will show whether any of this worked",
]  # fmt: skip
SECTIONS = ["AI", "Business", "Technology", "Markets", "Policy", "Startups", "World"]
SITE_WORDS = [
    "Ledger", "Courier", "Wire", "Dispatch", "Herald", "Signal", "Review", "Observer",
    "Bulletin", "Journal", "Monitor", "Chronicle", "Register", "Report", "Post", "Times",
    "Gazette", "Record", "Sentinel", "Digest",
]  # fmt: skip
SITE_PREFIXES = [
    "Tech", "North", "Bay", "Harbor", "Daily", "Metro", "Pacific", "Market", "Capital",
    "Circuit", "Silicon", "Data", "Frontier", "Valley", "Grid", "Summit", "Atlas", "Beacon",
    "Cedar", "Delta", "Echo", "Granite", "Horizon", "Iron", "Juniper",
]  # fmt: skip
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _money(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"${rng.randint(2, 990)} million"
    return f"${rng.randint(1, 40)}.{rng.randint(1, 9)} billion"


def _count(rng: random.Random) -> str:
    return f"{rng.randint(12, 9800):,}"


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _person(rng: random.Random) -> tuple[str, str]:
    """A name and what the person is, as a reporter would introduce them."""
    if rng.random() < 0.15:
        return rng.choice(FAMOUS)
    if rng.random() < 0.6:
        return _name(rng), f"{rng.choice(ROLES)} {rng.choice(COMPANIES)}"
    return _name(rng), f"{rng.choice(PROFESSIONS)} in {rng.choice(PLACES)}"


def _subject(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(COMPANIES)
    if roll < 0.55:
        return _person(rng)[0]
    return rng.choice(GROUPS)


def _object(rng: random.Random) -> str:
    return (
        f"{rng.choice(DETERMINERS)} {rng.choice(ADJECTIVES)} {rng.choice(BUSINESS_NOUNS)} "
        f"for {rng.choice(TOPICS)}"
    )


def _sentence(rng: random.Random) -> str:
    return _capitalise(_clause(rng))


def _clause(rng: random.Random) -> str:
    kind = rng.randrange(10)
    subject, verb, obj = _subject(rng), rng.choice(VERBS), _object(rng)
    if kind == 0:
        name, role = _person(rng)
        return f"\u201c{rng.choice(QUOTES)},\u201d said {name}, {role}."
    if kind == 1:
        return (
            f"{subject} {verb} {obj} in {rng.choice(PLACES)} on {rng.choice(WEEKDAYS)}, "
            f"{rng.choice(CLAUSES)}."
        )
    if kind == 2:
        return (
            f"The {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} in {rng.choice(TOPICS)} "
            f"has cost {rng.choice(COMPANIES)} about {_money(rng)}."
        )
    if kind == 3:
        return (
            f"{rng.choice(COMPANIES)} employs about {_count(rng)} people in "
            f"{rng.choice(PLACES)}, where {rng.choice(GROUPS)} {verb} {obj}."
        )
    if kind == 4:
        return (
            f"{subject} {verb} {obj} after a {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} "
            f"over {rng.choice(TOPICS)}."
        )
    if kind == 5:
        return (
            f"{rng.choice(TOPICS)} brought {rng.choice(COMPANIES)} {_money(rng)}, "
            f"and {rng.choice(TOPICS)} cost it {_money(rng)}."
        )
    if kind == 6:
        name, role = _person(rng)
        return (
            f"{name}, {role}, said {rng.choice(GROUPS)} {verb} {obj} and "
            f"{rng.choice(COMPANIES)} {rng.choice(VERBS)} {_object(rng)}."
        )
    if kind == 7:
        return (
            f"{_count(rng)} {rng.choice(GROUPS)} in {rng.choice(PLACES)} "
            f"{rng.choice(VERBS)} {obj}, {rng.choice(CLAUSES)}."
        )
    if kind == 8:
        return (
            f"{rng.choice(COMPANIES)} and {rng.choice(COMPANIES)} {verb} {obj}, "
            f"a {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}."
        )
    return f"{subject} {verb} {obj}; {rng.choice(GROUPS)} {rng.choice(VERBS)} {_object(rng)}."


def _title(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return f"Scale AI {rng.choice(VERBS)} {_object(rng)} in {rng.choice(PLACES)}"
    if kind == 1:
        return (
            f"{_subject(rng)} {rng.choice(VERBS)} {_object(rng)} "
            f"as Scale AI faces a {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
        )
    if kind == 2:
        return (
            f"Inside the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} over {rng.choice(TOPICS)} "
            f"at Scale AI and {rng.choice(COMPANIES)}"
        )
    if kind == 3:
        return (
            f"Scale AI's {rng.choice(TOPICS)} {rng.choice(NOUNS)} worries "
            f"{rng.choice(GROUPS)} in {rng.choice(PLACES)}"
        )
    return f"{_person(rng)[0]} on {rng.choice(TOPICS)}, {_object(rng)} and Scale AI"


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- Documents --------------------------------------------------------------------


@dataclass
class Item:
    feed: int
    number: int
    title: str
    author: str
    published: dt.datetime
    section: str
    paragraphs: list[str]
    subheads: dict[int, str]


@dataclass
class Document:
    body: bytes
    gzipped: bytes
    content_type: str
    etag: str
    last_modified: str


@dataclass
class Site:
    number: int
    name: str
    items: list[Item] = field(default_factory=list)


def site_name(number: int) -> str:
    prefix = SITE_PREFIXES[number % len(SITE_PREFIXES)]
    word = SITE_WORDS[(number // len(SITE_PREFIXES)) % len(SITE_WORDS)]
    return f"{prefix} {word}"


class Farm:
    """Every document of ``feeds`` feeds of ``items`` articles, as bytes, keyed by path.
    ``base_url`` is where the farm is reached (links in feeds point there)."""

    def __init__(
        self, *, feeds: int, items: int, base_url: str, epoch: int, seed: int = SEED
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.epoch = epoch
        self.seed = seed
        self._titles: set[str] = set()
        self.sites = [self._site(n, items) for n in range(feeds)]
        self.documents: dict[str, Document] = {}

    def build(self, *, compress: bool = True) -> Farm:
        """Render and (when ``compress``) gzip every document."""
        for site in self.sites:
            for item in site.items:
                path = self.article_path(item.feed, item.number)
                self.documents[path] = self._document(
                    self.article_html(item, site), "text/html; charset=utf-8", compress
                )
            self.documents[self.feed_path(site.number)] = self._document(
                self.feed_xml(site), "application/rss+xml; charset=utf-8", compress
            )
        return self

    def _document(self, body: bytes, content_type: str, compress: bool) -> Document:
        tag = '"' + hashlib.blake2b(body, digest_size=10).hexdigest() + '"'
        modified = formatdate(self.epoch - 600, usegmt=True)
        gzipped = gzip.compress(body, compresslevel=6, mtime=0) if compress else b""
        return Document(body, gzipped, content_type, tag, modified)

    @staticmethod
    def feed_path(feed: int) -> str:
        return f"/feeds/{feed}.xml"

    @staticmethod
    def article_path(feed: int, number: int) -> str:
        return f"/articles/{feed}/{number}.html"

    @classmethod
    def feed_urls_for(cls, base_url: str, feeds: int) -> list[str]:
        """The feed URLs of a farm of ``feeds`` feeds served at ``base_url``."""
        return [base_url.rstrip("/") + cls.feed_path(number) for number in range(feeds)]

    def article_pages(self) -> list[tuple[str, bytes]]:
        """(URL, page bytes) of every article, rendered as the farm serves them."""
        return [
            (
                self.base_url + self.article_path(item.feed, item.number),
                self.article_html(item, site),
            )
            for site in self.sites
            for item in site.items
        ]

    def _site(self, number: int, items: int) -> Site:
        site = Site(number, site_name(number))
        rng = random.Random(f"{self.seed}:site:{number}")
        newest = dt.datetime.fromtimestamp(self.epoch, dt.UTC).replace(second=0, microsecond=0)
        for index in range(items):
            # Headlines are unique across the farm, as the tracker's title key
            # would take two equal ones within three days for one story.
            while True:
                title = _capitalise(_title(rng))
                key = " ".join(_WORD.findall(title.casefold()))
                if key not in self._titles:
                    self._titles.add(key)
                    break
            paragraphs: list[str] = []
            size = 0
            target = rng.randint(4000, 7600)
            while size < target:
                paragraph = " ".join(_sentence(rng) for _ in range(rng.randint(3, 6)))
                paragraphs.append(paragraph)
                size += len(paragraph)
            subheads = {
                at: _capitalise(
                    f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} in {rng.choice(TOPICS)}"
                )
                for at in rng.sample(range(2, len(paragraphs)), k=min(2, len(paragraphs) - 2))
            }
            site.items.append(
                Item(
                    feed=number,
                    number=index,
                    title=title,
                    author=_name(rng),
                    published=newest - dt.timedelta(minutes=37 * index + rng.randint(0, 30)),
                    section=rng.choice(SECTIONS),
                    paragraphs=paragraphs,
                    subheads=subheads,
                )
            )
        return site

    def _site_url(self, site: Site) -> str:
        return f"{self.base_url}/sites/{site.number}/"

    def feed_xml(self, site: Site) -> bytes:
        esc = html.escape
        guid_prefix = site.name.lower().replace(" ", "-")
        items = []
        for item in site.items:
            link = self.base_url + self.article_path(item.feed, item.number)
            summary = f"<p>{esc(item.paragraphs[0])}</p>"
            items.append(
                f"""    <item>
      <title>{esc(item.title)}</title>
      <link>{link}?utm_source=rss&amp;utm_medium=feed</link>
      <guid isPermaLink="false">{guid_prefix}-{item.feed}-{item.number}</guid>
      <dc:creator>{esc(item.author)}</dc:creator>
      <pubDate>{format_datetime(item.published, usegmt=True)}</pubDate>
      <category>{esc(item.section)}</category>
      <description><![CDATA[{summary} <a href="{link}">Read more</a>]]></description>
    </item>"""
            )
        newest = format_datetime(site.items[0].published, usegmt=True) if site.items else ""
        return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>{esc(site.name)}: AI</title>
    <link>{self._site_url(site)}</link>
    <description>Artificial intelligence news from {esc(site.name)}</description>
    <language>en-us</language>
    <lastBuildDate>{newest}</lastBuildDate>
{chr(10).join(items)}
  </channel>
</rss>
""".encode()

    def article_html(self, item: Item, site: Site) -> bytes:
        esc = html.escape
        home = self._site_url(site)
        url = self.base_url + self.article_path(item.feed, item.number)
        when = item.published.isoformat()
        shown = item.published.strftime("%B %-d, %Y %-I:%M %p UTC")
        body = []
        for index, paragraph in enumerate(item.paragraphs):
            if index in item.subheads:
                body.append(f"        <h2>{esc(item.subheads[index])}</h2>")
            body.append(f"        <p>{esc(paragraph)}</p>")
        related = "\n".join(
            f'        <li><a href="{self.article_path(other.feed, other.number)}">'
            f"{esc(other.title)}</a></li>"
            for other in site.items[item.number + 1 : item.number + 4]
        )
        slug = "-".join(item.author.lower().split())
        description = esc(item.paragraphs[0][:200])
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{esc(item.title)} | {esc(site.name)}</title>
  <meta name="description" content="{description}">
  <meta name="author" content="{esc(item.author)}">
  <meta property="og:title" content="{esc(item.title)}">
  <meta property="og:site_name" content="{esc(site.name)}">
  <meta property="og:type" content="article">
  <meta property="og:url" content="{url}">
  <meta property="article:published_time" content="{when}">
  <link rel="canonical" href="{url}">
  <link rel="stylesheet" href="/static/site.css">
  <script>window.dataLayer = window.dataLayer || []; dataLayer.push({{"section": "{item.section.lower()}"}});</script>
</head>
<body>
  <div class="cookie-banner" role="dialog">
    <p>We use cookies to improve your experience and to measure our audience. By continuing you accept our use of cookies.</p>
    <button>Accept all</button> <button>Manage settings</button>
  </div>
  <header class="site-header">
    <a class="logo" href="{home}">{esc(site.name)}</a>
    <nav class="main-nav">
      <ul>
        <li><a href="/ai/">AI</a></li>
        <li><a href="/business/">Business</a></li>
        <li><a href="/markets/">Markets</a></li>
        <li><a href="/policy/">Policy</a></li>
        <li><a href="/startups/">Startups</a></li>
        <li><a href="/newsletters/">Newsletters</a></li>
        <li><a href="/subscribe/">Subscribe</a></li>
      </ul>
    </nav>
    <form class="search" action="/search"><input name="q" placeholder="Search {esc(site.name)}"></form>
  </header>

  <main>
    <article class="story">
      <header>
        <p class="kicker"><a href="/{item.section.lower()}/">{esc(item.section)}</a></p>
        <h1>{esc(item.title)}</h1>
        <p class="byline">By <a rel="author" href="/people/{slug}">{esc(item.author)}</a> · <time datetime="{when}">{shown}</time></p>
      </header>
      <div class="story-body">
{chr(10).join(body)}
      </div>
      <footer class="story-footer">
        <p class="corrections">{esc(site.name)} corrects its errors. <a href="/corrections/">Report an error</a>.</p>
        <ul class="tags"><li><a href="/tags/scale-ai/">Scale AI</a></li><li><a href="/tags/{item.section.lower()}/">{esc(item.section)}</a></li></ul>
        <div class="share"><a href="https://social.example/share?u={url}">Share</a> <a href="mailto:?subject=Scale%20AI">Email</a></div>
      </footer>
    </article>

    <aside class="related">
      <h2>More from {esc(site.name)}</h2>
      <ul>
{related}
      </ul>
    </aside>
    <aside class="newsletter">
      <h2>Get the AI Brief</h2>
      <p>The day's most important artificial intelligence stories, in your inbox every weekday morning.</p>
      <form action="/newsletters/signup"><input name="email" placeholder="Email address"><button>Sign up</button></form>
    </aside>
  </main>

  <footer class="site-footer">
    <nav>
      <a href="/about/">About</a> · <a href="/contact/">Contact</a> · <a href="/careers/">Careers</a> · <a href="/privacy/">Privacy policy</a> · <a href="/terms/">Terms of use</a>
    </nav>
    <p>&copy; 2025 {esc(site.name)} Media. All rights reserved.</p>
  </footer>
  <script src="/static/analytics.js"></script>
</body>
</html>
""".encode()  # noqa: E501


# --- Serving ------------------------------------------------------------------------


@dataclass
class Counters:
    requests: int = 0
    ok: int = 0
    not_modified: int = 0
    not_found: int = 0
    bytes_sent: int = 0
    feed_requests: int = 0
    feed_not_modified: int = 0
    feed_bytes: int = 0
    article_requests: int = 0
    article_bytes: int = 0
    connections: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


def _is_not_modified(document: Document, headers: dict[bytes, bytes]) -> bool:
    tags = headers.get(b"if-none-match")
    if tags is not None:
        wanted = {t.strip().removeprefix(b"W/") for t in tags.split(b",")}
        return document.etag.encode() in wanted or b"*" in wanted
    since = headers.get(b"if-modified-since")
    if since is None:
        return False
    try:
        return parsedate_to_datetime(since.decode("latin-1")) >= parsedate_to_datetime(
            document.last_modified
        )
    except (TypeError, ValueError):
        return False


class FarmServer:
    def __init__(self, farm: Farm) -> None:
        self.farm = farm
        self.counters = Counters()

    def respond(self, head: bytes) -> tuple[bytes, bool]:
        """The whole response to one request head, and whether to keep the connection."""
        lines = head.split(b"\r\n")
        try:
            method, target, version = lines[0].split(b" ", 2)
        except ValueError:
            return self._plain(400, b"bad request"), False
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        connection = headers.get(b"connection", b"").lower()
        keep = connection != b"close" and (version == b"HTTP/1.1" or connection == b"keep-alive")
        path = target.split(b"?", 1)[0].decode("latin-1")
        if path == "/_stats":
            return self._plain(
                200, json.dumps(self.counters.as_dict()).encode(), "application/json"
            ), keep
        if path == "/_reset":
            self.counters = Counters()
            return self._plain(200, b"{}", "application/json"), keep
        counters = self.counters
        counters.requests += 1
        is_feed = path.startswith("/feeds/")
        document = self.farm.documents.get(path) if method in (b"GET", b"HEAD") else None
        if document is None:
            counters.not_found += 1
            response = self._plain(404, b"not found")
        elif _is_not_modified(document, headers):
            counters.not_modified += 1
            counters.feed_not_modified += is_feed
            response = (
                b"HTTP/1.1 304 Not Modified\r\n"
                + f"Date: {formatdate(usegmt=True)}\r\nETag: {document.etag}\r\n"
                f"Last-Modified: {document.last_modified}\r\n\r\n".encode()
            )
        else:
            counters.ok += 1
            accepts_gzip = b"gzip" in headers.get(b"accept-encoding", b"")
            body = document.gzipped if accepts_gzip and document.gzipped else document.body
            encoding = "Content-Encoding: gzip\r\n" if body is document.gzipped else ""
            response = (
                b"HTTP/1.1 200 OK\r\n"
                + f"Date: {formatdate(usegmt=True)}\r\nContent-Type: {document.content_type}\r\n"
                f"Content-Length: {len(body)}\r\n{encoding}Vary: Accept-Encoding\r\n"
                f"ETag: {document.etag}\r\nLast-Modified: {document.last_modified}\r\n"
                f"Cache-Control: public, max-age=60\r\n\r\n".encode()
                + (body if method == b"GET" else b"")
            )
        counters.bytes_sent += len(response)
        if is_feed:
            counters.feed_requests += 1
            counters.feed_bytes += len(response)
        elif path.startswith("/articles/"):
            counters.article_requests += 1
            counters.article_bytes += len(response)
        return response, keep

    @staticmethod
    def _plain(status: int, body: bytes, content_type: str = "text/plain") -> bytes:
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found"}[status]
        return (
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )

    def protocol(self) -> asyncio.Protocol:
        server = self

        class _Connection(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport
                self.buffer = b""
                server.counters.connections += 1

            def data_received(self, data: bytes) -> None:
                self.buffer += data
                while b"\r\n\r\n" in self.buffer:
                    head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
                    response, keep = server.respond(head)
                    self.transport.write(response)
                    if not keep:
                        self.transport.close()
                        return
                if len(self.buffer) > 65536:
                    self.transport.close()

        return _Connection()


async def serve(farm_args: argparse.Namespace) -> None:
    # The port is taken first, since the feeds link to it; the farm is built
    # before anything is accepted.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", farm_args.port))
    port = sock.getsockname()[1]
    started = time.perf_counter()
    farm = Farm(
        feeds=farm_args.feeds,
        items=farm_args.items,
        base_url=f"http://127.0.0.1:{port}",
        epoch=farm_args.epoch,
    ).build(compress=not farm_args.no_gzip)
    server = FarmServer(farm)
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(server.protocol, sock=sock, backlog=1024)
    size = sum(len(d.body) for d in farm.documents.values())
    print(
        f"feedfarm listening on http://127.0.0.1:{port} "
        f"({len(farm.documents)} documents, {size / 1e6:.1f} MB, "
        f"built in {time.perf_counter() - started:.1f} s)",
        flush=True,
    )
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with listener:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--epoch", type=int, default=int(time.time()) // 3600 * 3600,
        help="the farm's 'now' (Unix time): the newest item's date",
    )  # fmt: skip
    parser.add_argument("--no-gzip", action="store_true", help="never compress bodies")
    args = parser.parse_args()
    asyncio.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())
