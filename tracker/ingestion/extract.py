"""Article page -> ExtractedArticle (main text and metadata), with trafilatura.

No network and no database: the page arrives as the bytes fetch.py brought
back. Never raises for what is in the page: anything it cannot read comes back
as status "failed" with a reason an operator can act on.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Any, Final

import trafilatura
from trafilatura.settings import Document

# Statuses, as in tracker.models.ExtractionStatus.
FULL: Final = "full"
TEASER: Final = "teaser"
FAILED: Final = "failed"

# Text at least this long counts as the full article. A news story is rarely
# under 100 words (~600 characters), while what a paywall or a consent wall
# leaves visible is a standfirst of one or two sentences (the paywalled sample
# in fixtures/pages gives 130 characters); 500 sits between the two.
FULL_TEXT_MIN_CHARS: Final = 500

# Stored text is cut here: longer "articles" are archives or list pages, and
# the review screen and the SimHash need no more.
MAX_TEXT_CHARS: Final = 100_000

# What trafilatura is asked for (bench/bench_ingestion.py times bare trafilatura
# with the same). The feed gives the publication time; the page's own date is a
# fallback, so htmldate's extensive search (a fifth of the cost of a page,
# measured on fixtures/pages) is not worth it.
TRAFILATURA_OPTIONS: Final[dict[str, Any]] = {
    "include_comments": False,
    "include_tables": True,
    "include_images": False,
    "include_links": False,
    "favor_precision": True,
    "with_metadata": True,
    "date_extraction_params": {"extensive_search": False, "original_date": True},
}

_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class ExtractedArticle:
    """The readable part of a page.

    ``status`` is FULL, TEASER (some text, under FULL_TEXT_MIN_CHARS) or FAILED
    (no text; ``reason`` says why). Metadata fields are "" (``published`` None)
    when the page does not give them; they are filled whatever the status, so a
    teaser still has its title and date. ``is_truncated`` says ``text`` was cut
    at ``max_chars``.
    """

    status: str
    text: str = ""
    title: str = ""
    author: str = ""
    published: dt.date | None = None
    sitename: str = ""
    description: str = ""
    language: str = ""
    reason: str = ""
    is_truncated: bool = False

    def metadata(self) -> dict[str, str]:
        """The metadata as a JSON-ready dict (dates as ISO strings), without the
        fields the page did not give."""
        values = {
            "title": self.title,
            "author": self.author,
            "published": self.published.isoformat() if self.published else "",
            "sitename": self.sitename,
            "description": self.description,
            "language": self.language,
        }
        return {key: value for key, value in values.items() if value}


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value else ""


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def _truncate(text: str, max_chars: int) -> tuple[str, bool]:
    if len(text) <= max_chars:
        return text, False
    cut = text[:max_chars]
    # End on a paragraph, else a word, when one is reasonably close.
    for boundary in ("\n", " "):
        position = cut.rfind(boundary)
        if position > max_chars * 0.9:
            return cut[:position].rstrip(), True
    return cut, True


def extract_article(
    html: bytes | str, *, url: str, max_chars: int = MAX_TEXT_CHARS
) -> ExtractedArticle:
    """The main text and metadata of the page at ``url`` (used for metadata and
    to resolve relative references), text capped at ``max_chars``.

    Returns status FULL or TEASER with the text, or FAILED with a reason when
    the page is empty, not HTML, or has no article text. Does not raise for
    anything in the page.
    """
    if not html or not html.strip():
        return ExtractedArticle(status=FAILED, reason="empty page")
    head = html[:4096]
    if (b"<" not in head) if isinstance(head, bytes) else ("<" not in head):
        return ExtractedArticle(status=FAILED, reason="not an HTML page")
    try:
        document = trafilatura.bare_extraction(html, url=url, **TRAFILATURA_OPTIONS)
        values = document.as_dict() if isinstance(document, Document) else document
    except Exception as exc:  # a page must never take the worker down with it
        return ExtractedArticle(
            status=FAILED, reason=f"extraction error: {type(exc).__name__}: {exc}"[:500]
        )
    if not isinstance(values, dict):
        return ExtractedArticle(status=FAILED, reason="no article text found on the page")

    raw_text = str(values.get("text") or "").strip()
    text, is_truncated = _truncate(_BLANK_LINES.sub("\n\n", raw_text), max_chars)
    found = ExtractedArticle(
        status=FAILED,
        title=_text(values.get("title")),
        author=_text(values.get("author")),
        published=_date(values.get("date")),
        sitename=_text(values.get("sitename")),
        description=_text(values.get("description")),
        language=_text(values.get("language")),
    )
    if not text:
        return replace(found, reason="no article text found on the page")
    if len(text) < FULL_TEXT_MIN_CHARS:
        return replace(
            found,
            status=TEASER,
            text=text,
            reason=f"only {len(text)} characters of text: a teaser, or a paywall",
        )
    return replace(found, status=FULL, text=text, is_truncated=is_truncated)
