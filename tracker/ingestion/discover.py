"""Finding a site's feeds from its home page, and reading and writing OPML.

No database and no network: the caller fetches, these read bytes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin

FEED_TYPES = {
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
    "application/feed+json",
}


class _LinkFinder(HTMLParser):
    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base_url = base_url
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base":
            href = dict(attrs).get("href")
            if href:
                self.base_url = urljoin(self.base_url, href)
        if tag != "link":
            return
        values = {k.lower(): (v or "") for k, v in attrs}
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").lower().split(";")[0].strip()
        if "alternate" in rels and kind in FEED_TYPES and values.get("href"):
            self.found.append((urljoin(self.base_url, values["href"]), values.get("title", "")))


def discover_feeds(html: bytes | str, *, base_url: str) -> list[tuple[str, str]]:
    """(feed URL, title) pairs a page announces with <link rel="alternate">, in page
    order, without repeats. Returns [] when the page announces none."""
    text = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
    finder = _LinkFinder(base_url)
    finder.feed(text)
    unique: dict[str, str] = {}
    for found_url, title in finder.found:
        unique.setdefault(found_url, title)
    return list(unique.items())


@dataclass(frozen=True)
class OutlineFeed:
    url: str
    title: str = ""
    site_url: str = ""


class OPMLError(ValueError):
    pass


def parse_opml(content: bytes) -> list[OutlineFeed]:
    """Every outline with an xmlUrl, at any depth. Raises OPMLError for a file that
    is not OPML."""
    try:
        root = ET.fromstring(content)  # noqa: S314 -- see the import
    except ET.ParseError as error:
        raise OPMLError(f"not valid XML: {error}") from None
    if root.tag.lower() != "opml" or root.find("body") is None:
        raise OPMLError("not an OPML document (no <opml><body>).")
    feeds = []
    for outline in root.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if url:
            feeds.append(
                OutlineFeed(
                    url=url,
                    title=(outline.get("title") or outline.get("text") or "").strip(),
                    site_url=(outline.get("htmlUrl") or "").strip(),
                )
            )
    return feeds


def write_opml(title: str, groups: dict[str, list[OutlineFeed]]) -> bytes:
    """OPML 2.0 with one folder outline per group (a story), feeds inside."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    body = ET.SubElement(root, "body")
    for group, feeds in groups.items():
        folder = ET.SubElement(body, "outline", text=group, title=group)
        for feed in feeds:
            attributes = {"type": "rss", "text": feed.title or feed.url, "xmlUrl": feed.url}
            if feed.title:
                attributes["title"] = feed.title
            if feed.site_url:
                attributes["htmlUrl"] = feed.site_url
            ET.SubElement(folder, "outline", attributes)
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
