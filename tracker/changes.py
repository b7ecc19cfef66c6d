"""What changed in public, in words: dated notes built from the history that
django-simple-history keeps of events, citations, claims and claim values.

Only what a reader could have seen is described: nothing before an event was
first published, nothing done while it was withdrawn, and never who made a
change. A note says what changed ("Date changed from June 2025 to 12 June
2025", "Source added: Reuters, “Meta invests”"), not the old text of a summary
or account.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Max, QuerySet

from tracker.dates import format_span
from tracker.models import (
    Category,
    Certainty,
    Citation,
    Claim,
    ClaimValue,
    Event,
    EventStatus,
    Source,
    Story,
)

# Changes this soon after a publication are part of it: an event is usually
# published and given its sources and claims in one sitting (an import, an
# accepted article), and a reader gains nothing from ten notes a minute apart.
SETTLE = dt.timedelta(minutes=10)

PUBLISHED = "published"

DATE_FIELDS = ("occurred_on", "precision", "ends_on", "end_precision", "is_approximate")
EVENT_FIELDS = ("id", "status", "title", "summary", "body", "category", "certainty", *DATE_FIELDS)


@dataclass(frozen=True)
class Change:
    at: dt.datetime
    event_id: int
    kind: str
    text: str

    @property
    def is_publication(self) -> bool:
        return self.kind == PUBLISHED


def _label(choices, value: str) -> str:
    try:
        return choices(value).label
    except ValueError:
        return value


def _date_text(row: dict) -> str:
    return format_span(
        row["occurred_on"],
        row["precision"],
        end=row["ends_on"],
        end_precision=row["end_precision"] or None,
        is_approximate=row["is_approximate"],
    )


def _event_diffs(before: dict, after: dict) -> list[tuple[str, str]]:
    notes = []
    if before["title"] != after["title"]:
        notes.append(("title", f"Headline changed from “{before['title']}” to “{after['title']}”"))
    if any(before[name] != after[name] for name in DATE_FIELDS):
        old, new = _date_text(before), _date_text(after)
        if old != new:
            notes.append(("date", f"Date changed from {old} to {new}"))
    if before["certainty"] != after["certainty"]:
        old, new = (_label(Certainty, row["certainty"]) for row in (before, after))
        notes.append(("certainty", f"Certainty changed from {old} to {new}"))
    if before["category"] != after["category"]:
        old, new = (_label(Category, row["category"]) for row in (before, after))
        notes.append(("category", f"Category changed from {old} to {new}"))
    if before["summary"] != after["summary"]:
        notes.append(("summary", "Summary revised"))
    if before["body"] != after["body"]:
        notes.append(("body", "Account revised"))
    return notes


class _Timeline:
    """When one event was public: the spans between publishing and withdrawing."""

    def __init__(self) -> None:
        self.spans: list[list[dt.datetime | None]] = []

    def open(self, at: dt.datetime) -> None:
        if not self.spans or self.spans[-1][1] is not None:
            self.spans.append([at, None])

    def close(self, at: dt.datetime) -> None:
        if self.spans and self.spans[-1][1] is None:
            self.spans[-1][1] = at

    def reports(self, at: dt.datetime) -> bool:
        """Whether a change at ``at`` is told: while public, after the settling time."""
        return any(start + SETTLE <= at and (end is None or at < end) for start, end in self.spans)


def _source_label(source: dict | None) -> str:
    if source is None:
        return "a source"
    title = f"“{source['title']}”"
    return f"{source['publisher']}, {title}" if source["publisher"] else title


def changes_for(event_ids: Iterable[int]) -> dict[int, list[Change]]:
    """Public change notes of the events, oldest first. An event never published
    has none. Five queries however many events."""
    ids = set(event_ids)
    if not ids:
        return {}
    notes: dict[int, list[Change]] = defaultdict(list)
    timelines: dict[int, _Timeline] = defaultdict(_Timeline)

    rows = (
        Event.history.filter(id__in=ids)
        .order_by("id", "history_date", "history_id")
        .values(*EVENT_FIELDS, "history_date", "history_type")
    )
    last_public: dict[int, dict] = {}
    was_public: dict[int, bool] = {}
    for row in rows:
        pk, at = row["id"], row["history_date"]
        timeline = timelines[pk]
        public = row["history_type"] != "-" and row["status"] == EventStatus.PUBLISHED
        if not public:
            timeline.close(at)
            was_public[pk] = False
            continue
        before = last_public.get(pk)
        if before is None:
            notes[pk].append(Change(at, pk, PUBLISHED, "Published"))
        elif not was_public.get(pk):
            notes[pk].append(Change(at, pk, "republished", "Published again"))
            notes[pk].extend(Change(at, pk, k, t) for k, t in _event_diffs(before, row))
        elif timeline.reports(at):
            notes[pk].extend(Change(at, pk, k, t) for k, t in _event_diffs(before, row))
        timeline.open(at)
        last_public[pk] = row
        was_public[pk] = True

    citations = list(
        Citation.history.filter(event_id__in=ids)
        .order_by("history_date", "history_id")
        .values(
            "id", "event_id", "source_id", "quote", "attributed_to", "history_date", "history_type"
        )
    )
    sources = {
        row["id"]: row
        for row in Source.objects.filter(pk__in={c["source_id"] for c in citations}).values(
            "id", "title", "publisher"
        )
    }
    previous: dict[int, dict] = {}
    for row in citations:
        pk, event_id, at = row["id"], row["event_id"], row["history_date"]
        before, previous[pk] = previous.get(pk), row
        if not timelines[event_id].reports(at):
            continue
        label = _source_label(sources.get(row["source_id"]))
        kind = row["history_type"]
        if kind == "+":
            notes[event_id].append(Change(at, event_id, "source_added", f"Source added: {label}"))
        elif kind == "-":
            notes[event_id].append(
                Change(at, event_id, "source_removed", f"Source removed: {label}")
            )
        elif before is not None:
            if before["quote"] != row["quote"]:
                text = f"Quoted passage from {label} updated"
                notes[event_id].append(Change(at, event_id, "quote", text))
            if before["attributed_to"] != row["attributed_to"]:
                text = f"Attribution of {label} changed"
                notes[event_id].append(Change(at, event_id, "attribution", text))

    claims = list(
        Claim.history.filter(event_id__in=ids)
        .order_by("history_date", "history_id")
        .values("id", "event_id", "label", "history_date", "history_type")
    )
    claim_event: dict[int, int] = {}
    claim_label: dict[int, str] = {}
    for row in claims:
        claim_event[row["id"]] = row["event_id"]
        claim_label[row["id"]] = row["label"]
        if row["history_type"] == "-" and timelines[row["event_id"]].reports(row["history_date"]):
            text = f"“{row['label']}” no longer listed"
            notes[row["event_id"]].append(
                Change(row["history_date"], row["event_id"], "claim", text)
            )

    values = (
        ClaimValue.history.filter(claim_id__in=claim_event)
        .order_by("history_date", "history_id")
        .values("id", "claim_id", "value", "is_preferred", "history_date", "history_type")
    )
    live: dict[int, set[int]] = defaultdict(set)
    before_value: dict[int, dict] = {}
    for row in values:
        pk, claim_id, at, kind = (
            row["id"],
            row["claim_id"],
            row["history_date"],
            row["history_type"],
        )
        event_id, label = claim_event[claim_id], claim_label[claim_id]
        before, before_value[pk] = before_value.get(pk), row
        others = live[claim_id] - {pk}
        if kind == "-":
            live[claim_id].discard(pk)
        else:
            live[claim_id].add(pk)
        if not timelines[event_id].reports(at):
            continue
        value = f"“{row['value']}”"
        if kind == "+":
            text = (
                f"Reports differ on {label}: {value} added" if others else f"{label}: {value} added"
            )
            notes[event_id].append(Change(at, event_id, "claim", text))
        elif kind == "-":
            notes[event_id].append(Change(at, event_id, "claim", f"{label}: {value} withdrawn"))
        elif before is not None:
            if before["value"] != row["value"]:
                text = f"{label} corrected from “{before['value']}” to {value}"
                notes[event_id].append(Change(at, event_id, "claim", text))
            if row["is_preferred"] and not before["is_preferred"]:
                text = f"{label}: {value} is now the preferred value"
                notes[event_id].append(Change(at, event_id, "claim", text))

    return {pk: sorted(found, key=lambda c: c.at) for pk, found in notes.items()}


def touched_event_ids(story: Story, since: dt.datetime) -> set[int]:
    """Events of ``story`` with any history at or after ``since``, published or
    not: the candidates for notes (one query)."""
    parts: list[QuerySet] = [
        Event.history.filter(story_id=story.pk, history_date__gte=since).values_list("id"),
        Citation.history.filter(event__story=story, history_date__gte=since).values_list(
            "event_id"
        ),
        Claim.history.filter(event__story=story, history_date__gte=since).values_list("event_id"),
        ClaimValue.history.filter(claim__event__story=story, history_date__gte=since).values_list(
            "claim__event_id"
        ),
    ]
    union = parts[0].order_by().union(*(part.order_by() for part in parts[1:]))
    return {pk for (pk,) in union}


def recent_changes(
    story: Story, since: dt.datetime, *, published_ids: Iterable[int] | None = None
) -> dict[int, list[Change]]:
    """Notes at or after ``since`` for the story's published events, by event."""
    candidates = touched_event_ids(story, since)
    if published_ids is None:
        published_ids = (
            story.events.published().filter(pk__in=candidates).values_list("pk", flat=True)
        )
    candidates &= set(published_ids)
    found = {}
    for pk, notes in changes_for(candidates).items():
        recent = [note for note in notes if note.at >= since]
        if recent:
            found[pk] = recent
    return found


def last_change_at(notes: list[Change]) -> dt.datetime | None:
    return notes[-1].at if notes else None


def last_update_at(notes: list[Change]) -> dt.datetime | None:
    """When the event last changed after its first publication, or None."""
    updates = [note.at for note in notes if not note.is_publication]
    return max(updates) if updates else None


def last_activity(story: Story) -> dict[int, dt.datetime]:
    """The time of the newest history record touching each of the story's events,
    public or not, in one query: where to look for the latest public changes."""
    parts: list[QuerySet] = [
        Event.history.filter(story_id=story.pk).values("id"),
        Citation.history.filter(event__story=story).values("event_id"),
        Claim.history.filter(event__story=story).values("event_id"),
        ClaimValue.history.filter(claim__event__story=story).values("claim__event_id"),
    ]
    grouped = [
        part.order_by()
        .annotate(last=Max("history_date"))
        .values_list(*part.query.values_select, "last")
        for part in parts
    ]
    activity: dict[int, dt.datetime] = {}
    for pk, last in grouped[0].union(*grouped[1:], all=True):
        if pk not in activity or last > activity[pk]:
            activity[pk] = last
    return activity


def latest_changed(story: Story, limit: int) -> list[tuple[int, list[Change]]]:
    """The story's published events most recently published or changed in
    public, newest first, each with its notes: (event id, notes)."""
    activity = last_activity(story)
    published = set(story.events.published().values_list("pk", flat=True))
    # Twice the limit: an event's newest activity may have been out of public
    # sight (a draft edit), which moves it down once its notes are known.
    candidates = sorted(published & activity.keys(), key=activity.__getitem__, reverse=True)
    notes = changes_for(candidates[: 2 * limit])
    ranked = sorted(
        ((pk, found) for pk, found in notes.items() if found),
        key=lambda pair: pair[1][-1].at,
        reverse=True,
    )
    return ranked[:limit]
