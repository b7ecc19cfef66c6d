"""A story as one JSON document: what `importstory`, `exportstory` and the seeded
fixture use. Importing then exporting gives back the same document."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
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
    if source.document or source.normalized_url:
        return source.document or source.normalized_url
    return f"source:{source.title}|{source.publisher}|{source.published_text}"


# --- History -------------------------------------------------------------------------
# The history django-simple-history keeps of a story's events, citations, claims and
# claim values travels with the story, so "what changed" survives an export and an
# import. Rows name their object by a key that does not depend on database ids (an
# event's slug, a citation's event and source, ...); objects deleted since get
# "deleted-<model>-<n>" and, on import, negative ids that no new row can take.

HISTORY_MODELS = {"event": Event, "citation": Citation, "claim": Claim, "claimvalue": ClaimValue}
# Foreign keys in historical rows, and the kind of key they point at.
HISTORY_REFERENCES = {
    "story_id": "story",
    "event_id": "event",
    "source_id": "source",
    "claim_id": "claim",
}


# How each history model's rows reach their story.
HISTORY_STORY_PATHS = {
    "event": "story",
    "citation": "event__story",
    "claim": "event__story",
    "claimvalue": "claim__event__story",
}


def _history_rows(story: Story) -> dict[str, list[dict[str, Any]]]:
    return {
        model: list(
            HISTORY_MODELS[model]
            .history.filter(**{path: story})
            .order_by("history_date", "history_id")
            .values()
        )
        for model, path in HISTORY_STORY_PATHS.items()
    }


def _current_keys(story: Story) -> dict[str, dict[int, str]]:
    events = dict(story.events.values_list("pk", "slug"))
    sources = {s.pk: _source_key(s) for s in Source.objects.filter(citations__event__story=story)}
    citations = {
        c.pk: f"{events[c.event_id]}|{sources[c.source_id]}"
        for c in Citation.objects.filter(event__story=story)
    }
    claims = {
        c.pk: f"{events[c.event_id]}|{c.label}" for c in Claim.objects.filter(event__story=story)
    }
    values = {
        v.pk: f"{claims[v.claim_id]}|{v.value}"
        for v in ClaimValue.objects.filter(claim__event__story=story)
    }
    return {
        "story": {story.pk: story.slug},
        "event": events,
        "source": sources,
        "citation": citations,
        "claim": claims,
        "claimvalue": values,
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def export_history(story: Story) -> tuple[list[dict[str, Any]], list[Source]]:
    """The story's history rows, keyed without ids, and the sources they name
    that no current citation does (so a "source removed" note keeps its label)."""
    keys = _current_keys(story)
    rows = _history_rows(story)
    for model, model_rows in rows.items():
        deleted = sorted({r["id"] for r in model_rows} - set(keys[model]))
        for n, pk in enumerate(deleted, start=1):
            keys[model][pk] = f"deleted-{model}-{n}"
    extra_sources = Source.objects.filter(
        pk__in={r["source_id"] for r in rows["citation"]} - set(keys["source"])
    )
    for source in extra_sources:
        keys["source"][source.pk] = _source_key(source)
    users = dict(
        get_user_model()
        .objects.filter(pk__in={r["history_user_id"] for m in rows.values() for r in m})
        .values_list("pk", "username")
    )
    exported = []
    for model, model_rows in rows.items():
        for row in model_rows:
            fields = {}
            for name, value in row.items():
                if name in ("history_id", "history_user_id"):
                    continue
                if name == "id":
                    fields[name] = keys[model][value]
                elif name in HISTORY_REFERENCES:
                    fields[name] = keys[HISTORY_REFERENCES[name]].get(value)
                else:
                    fields[name] = _json_value(value)
            exported.append(
                {"model": model, "user": users.get(row["history_user_id"]), "fields": fields}
            )
    return exported, list(extra_sources)


def import_history(docs: list[dict[str, Any]], keys: dict[str, dict[str, int]]) -> None:
    """Replace the history the import just wrote with the exported one."""
    users = dict(get_user_model().objects.values_list("username", "pk"))
    next_deleted: dict[str, int] = {}
    for model, model_class in HISTORY_MODELS.items():
        model_class.history.filter(id__in=keys[model].values()).delete()
    for doc in docs:
        model = doc["model"]
        if model not in HISTORY_MODELS:
            raise StoryFormatError(f"history: unknown model {model!r}.")
        history_model = HISTORY_MODELS[model].history.model
        fields = dict(doc["fields"])
        key = fields["id"]
        if key not in keys[model]:
            next_deleted[model] = next_deleted.get(model, 0) - 1
            keys[model][key] = next_deleted[model]
        fields["id"] = keys[model][key]
        for name, kind in HISTORY_REFERENCES.items():
            if name in fields:
                fields[name] = keys[kind].get(fields[name]) if fields[name] is not None else None
        for field in history_model._meta.concrete_fields:
            value = fields.get(field.attname)
            if isinstance(value, str) and field.get_internal_type() in (
                "DateField",
                "DateTimeField",
            ):
                fields[field.attname] = field.to_python(value)
        history_model.objects.create(history_user_id=users.get(doc.get("user")), **fields)


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
    history, history_sources = export_history(story)
    for source in history_sources:
        sources[source.pk] = source
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
        "history": history,
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

    if "history" in data:
        keys = _current_keys_by_key(story)
        keys["source"].update({key: source.pk for key, source in sources.items()})
        import_history(data["history"], keys)
    return story


def _current_keys_by_key(story: Story) -> dict[str, dict[str, int]]:
    return {
        model: {key: pk for pk, key in keys.items()} for model, keys in _current_keys(story).items()
    }


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
