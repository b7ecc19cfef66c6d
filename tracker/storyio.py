"""A story as one JSON document: what `importstory`, `exportstory` and the seeded
fixture use. Importing then exporting gives back the same document."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.db import transaction

from tracker.ingestion.dedupe import canonical_url
from tracker.models import (
    Citation,
    Claim,
    ClaimValue,
    Entity,
    Event,
    Feed,
    Source,
    Story,
    split_terms,
)

FORMAT = "tracker-story/1"


class StoryFormatError(ValueError):
    """The document is not a story this version can read; the message says where."""


def _date(value: str | None, where: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise StoryFormatError(f"{where}: {value!r} is not a date (YYYY-MM-DD).") from None


def _source_key(source: Source) -> str:
    return source.document or source.normalized_url or f"source-{source.pk}"


def export_story(story: Story) -> dict[str, Any]:
    events = story.events.order_by(
        "occurred_on", "precision_rank", "sequence", "pk"
    ).prefetch_related("entities", "citations__source", "claims__values__citations__source")
    sources: dict[int, Source] = {}
    entities: dict[int, Entity] = {}
    event_docs = []
    for event in events:
        for entity in event.entities.all():
            entities[entity.pk] = entity
        citations = []
        for citation in event.citations.all():
            sources[citation.source_id] = citation.source
            citations.append(
                {
                    "source": _source_key(citation.source),
                    "quote": citation.quote,
                    "attributed_to": citation.attributed_to,
                    "note": citation.note,
                }
            )
        claims = [
            {
                "label": claim.label,
                "note": claim.note,
                "values": [
                    {
                        "value": value.value,
                        "quote": value.quote,
                        "is_preferred": value.is_preferred,
                        "reason": value.reason,
                        "sources": [_source_key(c.source) for c in value.citations.all()],
                    }
                    for value in claim.values.all()
                ],
            }
            for claim in event.claims.all()
        ]
        event_docs.append(
            {
                "slug": event.slug,
                "title": event.title,
                "summary": event.summary,
                "body": event.body,
                "category": event.category,
                "importance": event.importance,
                "status": event.status,
                "occurred_on": event.occurred_on.isoformat(),
                "precision": event.precision,
                "ends_on": event.ends_on.isoformat() if event.ends_on else None,
                "end_precision": event.end_precision,
                "is_approximate": event.is_approximate,
                "sequence": event.sequence,
                "reported_on": event.reported_on.isoformat() if event.reported_on else None,
                "certainty": event.certainty,
                "certainty_note": event.certainty_note,
                "entities": sorted(e.slug for e in event.entities.all()),
                "citations": citations,
                "claims": claims,
            }
        )
    return {
        "format": FORMAT,
        "story": {
            "slug": story.slug,
            "title": story.title,
            "summary": story.summary,
            "include_terms": split_terms(story.include_terms),
            "exclude_terms": split_terms(story.exclude_terms),
            "relevance_threshold": story.relevance_threshold,
            "is_public": story.is_public,
        },
        "entities": [
            {
                "slug": e.slug,
                "name": e.name,
                "kind": e.kind,
                "description": e.description,
                "aliases": split_terms(e.aliases),
            }
            for e in sorted(entities.values(), key=lambda e: e.slug)
        ],
        "sources": [
            {
                "key": _source_key(s),
                "url": s.url,
                "title": s.title,
                "publisher": s.publisher,
                "author": s.author,
                "published_text": s.published_text,
                "published_on": s.published_on.isoformat() if s.published_on else None,
                "retrieved_at": s.retrieved_at.isoformat() if s.retrieved_at else None,
                "document": s.document,
                "text": s.text,
                "notes": s.notes,
            }
            for s in sorted(sources.values(), key=_source_key)
        ],
        "events": event_docs,
        "feeds": [
            {"url": f.url, "title": f.title, "site_url": f.site_url, "is_active": f.is_active}
            for f in story.feeds.order_by("url")
        ],
    }


def _source_from(doc: dict[str, Any], base_dir: Path | None) -> Source:
    text = doc.get("text", "")
    if not text and doc.get("text_file"):
        if base_dir is None:
            raise StoryFormatError(f"source {doc.get('key')!r}: text_file needs a base folder.")
        text = (base_dir / doc["text_file"]).read_text(encoding="utf-8")
    url = doc.get("url", "")
    existing = None
    if url and canonical_url(url):
        existing = Source.objects.filter(normalized_url=canonical_url(url)).first()
    elif doc.get("document"):
        existing = Source.objects.filter(document=doc["document"], url="").first()
    if existing is not None:
        return existing
    retrieved = doc.get("retrieved_at")
    return Source.objects.create(
        url=url,
        title=doc["title"],
        publisher=doc.get("publisher", ""),
        author=doc.get("author", ""),
        published_text=doc.get("published_text", ""),
        published_on=_date(doc.get("published_on"), f"source {doc.get('key')!r}"),
        retrieved_at=dt.datetime.fromisoformat(retrieved) if retrieved else None,
        document=doc.get("document", ""),
        text=text,
        notes=doc.get("notes", ""),
    )


@transaction.atomic
def import_story(
    data: dict[str, Any], *, base_dir: Path | None = None, replace: bool = False
) -> Story:
    """Create the story described by ``data``. An existing story with the same slug
    is refused unless ``replace``, which deletes it first. All or nothing."""
    if data.get("format") != FORMAT:
        raise StoryFormatError(f"format must be {FORMAT!r}, found {data.get('format')!r}.")
    try:
        story_doc = data["story"]
        slug = story_doc["slug"]
    except (KeyError, TypeError):
        raise StoryFormatError("the document has no story slug.") from None
    existing = Story.objects.filter(slug=slug).first()
    if existing is not None:
        if not replace:
            raise StoryFormatError(f"a story with slug {slug!r} exists; use --replace.")
        existing.delete()

    story = Story.objects.create(
        slug=slug,
        title=story_doc["title"],
        summary=story_doc.get("summary", ""),
        include_terms="\n".join(story_doc.get("include_terms", [])),
        exclude_terms="\n".join(story_doc.get("exclude_terms", [])),
        relevance_threshold=story_doc.get("relevance_threshold", 1.0),
        is_public=story_doc.get("is_public", True),
    )
    entities = {}
    for doc in data.get("entities", []):
        entity, _ = Entity.objects.update_or_create(
            slug=doc["slug"],
            defaults={
                "name": doc["name"],
                "kind": doc["kind"],
                "description": doc.get("description", ""),
                "aliases": "\n".join(doc.get("aliases", [])),
            },
        )
        entities[entity.slug] = entity
    sources = {doc["key"]: _source_from(doc, base_dir) for doc in data.get("sources", [])}

    for doc in data.get("events", []):
        where = f"event {doc.get('slug')!r}"
        event = Event(
            story=story,
            slug=doc["slug"],
            title=doc["title"],
            summary=doc.get("summary", ""),
            body=doc.get("body", ""),
            category=doc["category"],
            importance=doc.get("importance", 3),
            status=doc.get("status", "published"),
            occurred_on=_date(doc["occurred_on"], where),
            precision=doc.get("precision", "day"),
            ends_on=_date(doc.get("ends_on"), where),
            end_precision=doc.get("end_precision", ""),
            is_approximate=doc.get("is_approximate", False),
            sequence=doc.get("sequence", 0),
            reported_on=_date(doc.get("reported_on"), where),
            certainty=doc.get("certainty", "confirmed"),
            certainty_note=doc.get("certainty_note", ""),
        )
        event.full_clean(exclude=["story"])
        event.save()
        try:
            event.entities.set([entities[s] for s in doc.get("entities", [])])
        except KeyError as missing:
            raise StoryFormatError(f"{where}: unknown entity {missing}.") from None
        citations: dict[str, Citation] = {}
        for cdoc in doc.get("citations", []):
            if cdoc["source"] not in sources:
                raise StoryFormatError(f"{where}: unknown source {cdoc['source']!r}.")
            citations[cdoc["source"]] = Citation.objects.create(
                event=event,
                source=sources[cdoc["source"]],
                quote=cdoc.get("quote", ""),
                attributed_to=cdoc.get("attributed_to", ""),
                note=cdoc.get("note", ""),
            )
        for claim_doc in doc.get("claims", []):
            claim = Claim.objects.create(
                event=event, label=claim_doc["label"], note=claim_doc.get("note", "")
            )
            for vdoc in claim_doc.get("values", []):
                value = ClaimValue.objects.create(
                    claim=claim,
                    value=vdoc["value"],
                    quote=vdoc.get("quote", ""),
                    is_preferred=vdoc.get("is_preferred", False),
                    reason=vdoc.get("reason", ""),
                )
                missing = [k for k in vdoc.get("sources", []) if k not in citations]
                if missing:
                    raise StoryFormatError(
                        f"{where}, claim {claim.label!r}: value {value.value!r} names "
                        f"sources the event does not cite: {', '.join(missing)}."
                    )
                value.citations.set([citations[k] for k in vdoc.get("sources", [])])

    for fdoc in data.get("feeds", []):
        feed, _ = Feed.objects.get_or_create(
            url=fdoc["url"],
            defaults={
                "title": fdoc.get("title", ""),
                "site_url": fdoc.get("site_url", ""),
                "is_active": fdoc.get("is_active", True),
            },
        )
        feed.stories.add(story)
    return story


def load_document(path: Path) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as error:
        raise StoryFormatError(f"cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise StoryFormatError(f"not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise StoryFormatError("the document must be a JSON object.")
    return data
