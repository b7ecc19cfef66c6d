"""Feed bytes -> ParsedFeed, with feedparser; no network, no database.

Plain RSS and Atom documents are read by ``feedxml`` (lxml), which gives what
feedparser gives for them in a fraction of the time and hands anything else to
feedparser. feedparser is only ever given the bytes fetch.py brought back
(never a URL: it would do its own unguarded HTTP), with the response headers so
it can find the encoding, and with the feed's URL as the base for relative
links.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import html
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urljoin, urlparse, urlsplit, urlunparse

import feedparser  # type: ignore[import-untyped]
import nh3

from tracker.ingestion import feedxml
from tracker.ingestion.dedupe import entry_identity
from tracker.ingestion.errors import NOT_A_FEED, PARSE, ParseError

# A poll stores at most this many entries, the newest: a feed that suddenly lists
# its whole archive must not flood the review queue in one go.
MAX_ENTRIES: Final = 200
# An entry's summary is cut to this many characters before it is sanitized
# (which closes whatever the cut leaves open): it is the feed's teaser; the
# article's text comes from its page, capped by extract.MAX_TEXT_CHARS.
MAX_SUMMARY_CHARS: Final = 20_000

# Entries dated further ahead than this are misdated (a wrong time zone is at
# most a day off); ones before the first news feeds existed are placeholders
# such as the Unix epoch. Either way the date is dropped, not the entry.
FUTURE_TOLERANCE: Final = dt.timedelta(days=2)
EARLIEST_DATE: Final = dt.datetime(1995, 1, 1, tzinfo=dt.UTC)

# What survives of an entry's HTML: text structure and links, nothing that runs,
# loads or restyles anything (no img: remote images are trackers in a review queue).
ALLOWED_TAGS: Final = frozenset(
    {
        "a", "abbr", "b", "blockquote", "br", "cite", "code", "del", "em", "figcaption",
        "h2", "h3", "h4", "h5", "h6", "hr", "i", "ins", "li", "ol", "p", "pre", "q",
        "s", "small", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead",
        "tr", "u", "ul",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES: Final = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"colspan"}}
ALLOWED_URL_SCHEMES: Final = frozenset({"http", "https", "mailto"})
LINK_REL: Final = "nofollow noopener noreferrer"

_PERIOD_SECONDS: Final = {
    "hourly": 3600,
    "daily": 86400,
    "weekly": 7 * 86400,
    "monthly": 30 * 86400,
    "yearly": 365 * 86400,
}
# What an HTML parser reads otherwise than as plain text (a leading BOM is dropped).
_NEEDS_PARSING = re.compile("[<&\x00\ufeff]")
_LOOKS_LIKE_HTML = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S
)


@dataclass(frozen=True)
class ParsedEntry:
    """One item of a feed, ready to store.

    ``guid`` is the entry's id exactly as the feed wrote it, else its link, else a
    hash of title and date (see ``dedupe.entry_identity``); never empty, since
    entries without any identity are dropped. ``url`` is an absolute http(s) URL
    or ""; ``title`` has a trailing " - Outlet" removed when the entry names that
    outlet as its source; ``title`` and ``author`` are plain text, "" when
    missing; ``published_at`` is an aware UTC datetime, None when missing or
    absurd; ``summary_html`` is sanitized HTML, "" when none; ``outlet`` is the
    publisher named by the entry (Google News ``<source>``), else the feed's title.
    """

    guid: str
    url: str
    title: str
    author: str
    published_at: dt.datetime | None
    summary_html: str
    outlet: str
    outlet_url: str = ""

    @property
    def summary_text(self) -> str:
        """The summary as plain text, for matching terms."""
        return plain_text(self.summary_html)


@dataclass(frozen=True)
class ParsedFeed:
    """A feed document. ``ttl_seconds`` (RSS ``<ttl>``) and
    ``update_period_seconds`` (``sy:updatePeriod`` / ``sy:updateFrequency``) are
    None when the feed does not say. ``is_bozo`` marks a document feedparser had
    to repair; ``bozo_message`` says what was wrong ("" when nothing)."""

    title: str
    site_url: str
    entries: list[ParsedEntry] = field(default_factory=list)
    ttl_seconds: int | None = None
    update_period_seconds: int | None = None
    version: str = ""
    is_bozo: bool = False
    bozo_message: str = ""
    entries_dropped: int = 0


def sanitize_html(value: str, *, base_url: str = "") -> str:
    """``value`` with only ALLOWED_TAGS, links made absolute against ``base_url``
    and marked nofollow/noopener, and no scripts, styles, event handlers or
    javascript:/data: URLs. Returns "" for empty input."""
    if not value:
        return ""
    return _sanitizer(base_url).clean(value).strip()


@functools.lru_cache(maxsize=256)
def _sanitizer(base_url: str) -> nh3.Cleaner:
    """The sanitizer for fragments whose links are relative to ``base_url``, built
    once per base (a feed's entries share one): building it costs as much as
    cleaning a summary."""

    def resolve(tag: str, attribute: str, url: str) -> str | None:
        if attribute not in ("href", "cite"):
            return url
        url = url.strip()
        if not url:
            return None
        # nh3 checks schemes before this filter runs; a relative URL made
        # absolute can only gain the base's http(s) scheme.
        return urljoin(base_url, url) if base_url else url

    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
        attribute_filter=resolve,
    )


# Keeps the text of everything but script and style (whose contents it drops).
_TEXT_ONLY: Final = nh3.Cleaner(tags=set(), strip_comments=True)


def plain_text(value: str) -> str:
    """Text of an HTML fragment (or of text that may hold entities), whitespace
    collapsed. Script and style contents are dropped, not shown as text."""
    if not value:
        return ""
    if _NEEDS_PARSING.search(value) is None:
        # No tag and no entity: the parser would give the text back as it is.
        return _collapse_spaces(value)
    return _parsed_text(value)


def _parsed_text(value: str) -> str:
    stripped = _TEXT_ONLY.clean(value)
    return _collapse_spaces(html.unescape(stripped))


def _collapse_spaces(text: str) -> str:
    # str.split() splits on exactly the characters \s matches, five times faster.
    return " ".join(text.split())


def _http_url(value: object, base: str) -> str:
    """``value`` made absolute against ``base`` as urljoin does, if http(s)."""
    if not isinstance(value, str) or not value.strip():
        return ""
    value = value.strip()
    given = urlparse(value)
    if given.scheme in ("http", "https") and given.netloc:
        # Already absolute (most links): urljoin's answer without its two parses.
        return urlunparse(given) if base and urlsplit(base).scheme == given.scheme else value
    absolute = urljoin(base, value)
    parts = urlsplit(absolute)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return absolute


def _to_utc(parsed: object) -> dt.datetime | None:
    # feedparser's *_parsed are struct_time already converted to UTC.
    if not isinstance(parsed, time.struct_time):
        return None
    try:
        return dt.datetime.fromtimestamp(calendar.timegm(parsed), tz=dt.UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _published_at(entry: Mapping[str, Any], now: dt.datetime) -> dt.datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: FeedParserDict.get maps some missing keys onto others, with a
        # deprecation warning.
        when = _to_utc(dict.get(entry, key) if isinstance(entry, dict) else entry.get(key))
        if when is None:
            continue
        if when > now + FUTURE_TOLERANCE or when < EARLIEST_DATE:
            return None
        return when
    return None


def _positive_int(value: object) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _update_period(feed: Mapping[str, Any]) -> int | None:
    period = str(feed.get("sy_updateperiod", "")).strip().lower()
    if period not in _PERIOD_SECONDS:
        return None
    frequency = _positive_int(feed.get("sy_updatefrequency")) or 1
    return max(1, _PERIOD_SECONDS[period] // frequency)


def _author(entry: Mapping[str, Any]) -> str:
    detail = entry.get("author_detail")
    if isinstance(detail, Mapping) and detail.get("name"):
        return plain_text(str(detail["name"]))
    return plain_text(str(entry.get("author", "")))


def _summary(entry: Mapping[str, Any], base: str) -> str:
    """The entry's summary (else its first content) as sanitized HTML."""
    candidates: list[tuple[object, object]] = [(entry.get("summary"), entry.get("summary_detail"))]
    candidates += [
        (c.get("value"), c) for c in entry.get("content") or () if isinstance(c, Mapping)
    ]
    for value, detail in candidates:
        if isinstance(value, str) and value.strip():
            # xml:base, when the feed set one, is relative to the feed's URL.
            local = detail.get("base") if isinstance(detail, Mapping) else ""
            return sanitize_html(
                value[:MAX_SUMMARY_CHARS], base_url=urljoin(base, str(local or ""))
            )
    return ""


def _strip_outlet(title: str, outlet: str) -> str:
    """ "Headline - Reuters" -> "Headline" when the entry names Reuters as source."""
    for separator in (" - ", " | ", " – ", " — "):
        suffix = f"{separator}{outlet}"
        if outlet and title.endswith(suffix) and len(title) > len(suffix):
            return title[: -len(suffix)].rstrip()
    return title


def _entry(
    entry: Mapping[str, Any], *, base: str, feed_title: str, now: dt.datetime
) -> ParsedEntry | None:
    link = _http_url(entry.get("link"), base)
    title = plain_text(str(entry.get("title", "")))
    published_at = _published_at(entry, now)
    guid = entry_identity(
        str(entry.get("id", "")),
        link,
        title,
        published_at.isoformat() if published_at else str(entry.get("published", "")),
    )
    if not guid:
        return None
    source = entry.get("source")
    outlet, outlet_url = "", ""
    if isinstance(source, Mapping):
        outlet = plain_text(str(source.get("title", "")))
        outlet_url = _http_url(source.get("href"), base)
    return ParsedEntry(
        guid=guid,
        url=link,
        title=_strip_outlet(title, outlet),
        author=_author(entry),
        published_at=published_at,
        summary_html=_summary(entry, base),
        outlet=outlet or feed_title,
        outlet_url=outlet_url,
    )


def _newest(entries: list[ParsedEntry], limit: int) -> list[ParsedEntry]:
    """The ``limit`` newest entries, in document order. Undated entries rank
    after dated ones, in document order (feeds mostly list newest first)."""
    if len(entries) <= limit:
        return entries
    oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
    ranked = sorted(
        range(len(entries)),
        key=lambda i: (
            entries[i].published_at is None,
            -(entries[i].published_at or oldest).timestamp(),
            i,
        ),
    )
    keep = sorted(ranked[:limit])
    return [entries[i] for i in keep]


def _describe_bozo(exc: object) -> str:
    if exc is None:
        return ""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _feedparser(content: bytes, response_headers: dict[str, str]) -> feedxml.Document:
    try:
        parsed = feedparser.parse(
            content, response_headers=response_headers, resolve_relative_uris=True
        )
    except Exception as exc:  # feedparser is meant not to raise; it has bugs.
        raise ParseError(f"feed could not be parsed: {exc}", kind=PARSE) from exc
    is_bozo = bool(parsed.get("bozo"))
    return feedxml.Document(
        version=str(parsed.get("version", "") or ""),
        feed=parsed.get("feed", {}) or {},
        entries=list(parsed.get("entries", []) or []),
        is_bozo=is_bozo,
        bozo_message=_describe_bozo(parsed.get("bozo_exception")) if is_bozo else "",
    )


def parse_feed(
    content: bytes,
    *,
    url: str,
    headers: Mapping[str, str] | None = None,
    max_entries: int = MAX_ENTRIES,
    now: dt.datetime | None = None,
    fast: bool = True,
) -> ParsedFeed:
    """Parse a fetched feed document (RSS 0.9x, 1.0, 2.0 or Atom).

    ``url`` is the URL the document came from (after redirects): the base for
    relative links. ``headers`` are the response headers (for the declared
    encoding). ``now`` is for tests; it bounds plausible publication dates.

    Returns a ParsedFeed; a valid feed with no items gives an empty ``entries``.
    A feed feedparser had to repair is accepted when it still yields entries
    (``is_bozo`` is then set). Raises ParseError with kind "not_a_feed" for an
    HTML page or anything without feed structure, and kind "parse" for a broken
    feed with no usable entry.
    """
    now = now or dt.datetime.now(dt.UTC)
    # Without Content-Location feedparser resolves nothing against the feed's URL:
    # links are made absolute here, and ids stay as the feed wrote them, so a
    # relative guid does not change when the feed moves.
    response_headers = {
        k.lower(): v for k, v in (headers or {}).items() if k.lower() != "content-location"
    }
    if not content or not content.strip():
        raise ParseError("empty document, not a feed", kind=NOT_A_FEED)
    document = (feedxml.read(content, response_headers) if fast else None) or _feedparser(
        content, response_headers
    )
    feed_info, raw_entries = document.feed, document.entries
    feed_title = plain_text(str(feed_info.get("title", "")))

    base = url
    entries = [
        e
        for e in (_entry(raw, base=base, feed_title=feed_title, now=now) for raw in raw_entries)
        if e is not None
    ]
    if not entries:
        if not document.version and not raw_entries:
            what = "an HTML page" if _LOOKS_LIKE_HTML.match(content[:2048]) else "no RSS or Atom"
            raise ParseError(f"not a feed: {what} at {url}", kind=NOT_A_FEED)
        if document.is_bozo:
            raise ParseError(
                f"malformed feed with no usable entries: {document.bozo_message}", kind=PARSE
            )
    kept = _newest(entries, max_entries)
    return ParsedFeed(
        title=feed_title,
        site_url=_http_url(feed_info.get("link"), base),
        entries=kept,
        ttl_seconds=(_positive_int(feed_info.get("ttl")) or 0) * 60 or None,
        update_period_seconds=_update_period(feed_info),
        version=document.version,
        is_bozo=document.is_bozo,
        bozo_message=document.bozo_message,
        entries_dropped=len(entries) - len(kept),
    )
