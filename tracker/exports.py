"""A story in other people's formats: TimelineJS3 data, and the schema.org
JSON-LD the timeline and event pages carry for search engines.

TimelineJS3's format: https://timeline.knightlab.com/docs/json-format.html.
A slide's ``text`` is HTML, so every stored string is escaped on the way in.
Credits belong to ``media`` there, and media needs a URL to show; our sources
are credited in the slide's text instead, where TimelineJS shows them as is.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import escape, format_html, format_html_join

from tracker.changes import Change, last_change_at
from tracker.dates import Precision, format_date, iso_partial
from tracker.models import Certainty, EntityKind, Event, Story
from tracker.templatetags.timeline import web_url

SITE_NAME = "Timelines"


def event_url_maker(request: HttpRequest, story: Story):
    """A function slug -> absolute event URL, reversing the pattern once rather
    than once per event (a 1,000-event story builds 1,000 of them)."""
    marker = "__slug__"
    pattern = request.build_absolute_uri(
        reverse("tracker:event", kwargs={"story_slug": story.slug, "slug": marker})
    )
    return lambda slug: pattern.replace(marker, slug)


# --- TimelineJS3 -------------------------------------------------------------------


def timelinejs_date(day, precision: str) -> dict[str, Any]:
    """A TimelineJS date as precise as ours. Quarters and seasons give the month
    they start in, with the honest label as ``display_date``."""
    date: dict[str, Any] = {"year": day.year}
    if precision != Precision.YEAR:
        date["month"] = day.month
    if precision == Precision.DAY:
        date["day"] = day.day
    date["display_date"] = format_date(day, precision)
    return date


def _credit(citation) -> str:
    source = citation.source
    parts = [source.publisher or source.title]
    if citation.attributed_to:
        parts.append(f"per {citation.attributed_to}")
    if source.date_display:
        parts.append(source.date_display)
    return ", ".join(parts)


def timelinejs_slide(event: Event, event_url: str) -> dict[str, Any]:
    """One event as a slide. ``event`` comes through public.with_details."""
    citations = list(event.citations.all())
    credits = "; ".join(_credit(citation) for citation in citations)
    text = format_html(
        "<p><strong>{}</strong> · {}</p>",
        event.get_certainty_display(),
        event.date_display,
    )
    if event.summary:
        text += format_html("<p>{}</p>", event.summary)
    if event.certainty_note:
        text += format_html("<p><em>{}</em></p>", event.certainty_note)
    if credits:
        text += format_html("<p>Sources: {}</p>", credits)
    text += format_html('<p><a href="{}">Every source and quotation</a></p>', event_url)
    slide: dict[str, Any] = {
        "start_date": timelinejs_date(event.occurred_on, event.precision),
        "text": {"headline": escape(event.title), "text": str(text)},
        "group": event.get_category_display(),
        "display_date": event.date_display,
        "unique_id": event.slug,
        "autolink": False,
    }
    if event.ends_on is not None:
        slide["end_date"] = timelinejs_date(event.ends_on, event.end_precision or event.precision)
    return slide


def timelinejs_document(
    request: HttpRequest, story: Story, events: Iterable[Event]
) -> dict[str, Any]:
    event_url = event_url_maker(request, story)
    title_text = format_html("<p>{}</p>", story.summary) if story.summary else ""
    return {
        "title": {"text": {"headline": escape(story.title), "text": str(title_text)}},
        "events": [timelinejs_slide(event, event_url(event.slug)) for event in events],
        "scale": "human",
    }


# --- schema.org JSON-LD ---------------------------------------------------------------

_ENTITY_TYPES = {
    EntityKind.ORGANIZATION: "Organization",
    EntityKind.PERSON: "Person",
    EntityKind.PRODUCT: "Product",
}


def _site() -> dict[str, str]:
    return {"@type": "Organization", "name": SITE_NAME}


def timeline_jsonld(request: HttpRequest, story: Story, rows: Iterable) -> dict[str, Any]:
    """The timeline as an ItemList of its events, in the order shown."""
    event_url = event_url_maker(request, story)
    items = [
        {"@type": "ListItem", "position": n, "url": event_url(row.slug), "name": row.title}
        for n, row in enumerate(rows, 1)
    ]
    return {
        "@context": "https://schema.org",
        "@type": "ItemList",
        "name": f"{story.title}: timeline",
        "description": story.summary,
        "url": request.build_absolute_uri(story.get_absolute_url()),
        "dateModified": story.last_updated_at.isoformat(),
        "publisher": _site(),
        "numberOfItems": len(items),
        "itemListElement": items,
    }


def event_jsonld(
    request: HttpRequest, story: Story, event: Event, notes: list[Change]
) -> dict[str, Any]:
    """The event page as a NewsArticle about a schema.org Event, citing its sources."""
    url = request.build_absolute_uri(event.get_absolute_url())
    happening: dict[str, Any] = {
        "@type": "Event",
        "name": event.title,
        "startDate": iso_partial(event.occurred_on, event.precision),
    }
    if event.ends_on is not None:
        happening["endDate"] = iso_partial(event.ends_on, event.end_precision or event.precision)
    if event.certainty == Certainty.EXPECTED:
        happening["eventStatus"] = "https://schema.org/EventScheduled"
    citations = []
    for citation in event.citations.all():
        source = citation.source
        work: dict[str, Any] = {"@type": "CreativeWork", "name": source.title}
        if web_url(source.url):
            work["url"] = source.url
        if source.publisher:
            work["publisher"] = {"@type": "Organization", "name": source.publisher}
        if source.published_on:
            work["datePublished"] = source.published_on.isoformat()
        citations.append(work)
    changed = last_change_at(notes) or event.published_at
    document: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": event.title[:110],
        "description": event.summary,
        "url": url,
        "mainEntityOfPage": url,
        "articleSection": event.get_category_display(),
        "isPartOf": {
            "@type": "CreativeWork",
            "name": story.title,
            "url": request.build_absolute_uri(story.get_absolute_url()),
        },
        "publisher": _site(),
        "about": happening,
        "mentions": [
            {"@type": _ENTITY_TYPES.get(entity.kind, "Thing"), "name": entity.name}
            for entity in event.entities.all()
        ],
        "citation": citations,
    }
    if event.published_at:
        document["datePublished"] = event.published_at.isoformat()
    if changed:
        document["dateModified"] = changed.isoformat()
    return document


def credits_html(citations) -> str:
    """'Reuters; The Verge, per Reuters' as HTML, for the feed's entries."""
    return format_html_join("; ", "{}", ((_credit(c),) for c in citations))
