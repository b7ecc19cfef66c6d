"""Small builders for the tests: a story with events, sources and citations."""

import datetime as dt
import itertools

from tracker.models import Citation, Claim, ClaimValue, Entity, Event, Source, Story

_counter = itertools.count(1)


def make_story(**fields) -> Story:
    n = next(_counter)
    fields.setdefault("title", f"Story {n}")
    fields.setdefault("slug", f"story-{n}")
    return Story.objects.create(**fields)


def make_event(story: Story, **fields) -> Event:
    n = next(_counter)
    fields.setdefault("title", f"Event {n}")
    fields.setdefault("slug", f"event-{n}")
    fields.setdefault("category", "deal")
    fields.setdefault("status", "published")
    fields.setdefault("occurred_on", dt.date(2025, 6, 12))
    fields.setdefault("precision", "day")
    return Event.objects.create(story=story, **fields)


def make_source(**fields) -> Source:
    n = next(_counter)
    fields.setdefault("title", f"Source {n}")
    fields.setdefault("publisher", f"Outlet {n}")
    return Source.objects.create(**fields)


def make_entity(**fields) -> Entity:
    n = next(_counter)
    fields.setdefault("name", f"Entity {n}")
    fields.setdefault("slug", f"entity-{n}")
    fields.setdefault("kind", "organization")
    return Entity.objects.create(**fields)


def cite(event: Event, source: Source | None = None, **fields) -> Citation:
    return Citation.objects.create(event=event, source=source or make_source(), **fields)


def make_claim(event: Event, label: str, values: list[tuple[str, bool]]) -> Claim:
    claim = Claim.objects.create(event=event, label=label)
    for value, preferred in values:
        ClaimValue.objects.create(claim=claim, value=value, is_preferred=preferred)
    return claim


def populate(story: Story, events: int, citations_per_event: int = 2) -> list[Event]:
    """A timeline of ``events`` published events, each cited, tagged and disputed."""
    entity = make_entity()
    made = []
    for i in range(events):
        event = make_event(story, occurred_on=dt.date(2025, 1, 1) + dt.timedelta(days=9 * i))
        event.entities.add(entity)
        for _ in range(citations_per_event):
            cite(event, quote="A passage.")
        make_claim(event, "Size", [("one", True), ("two", False)])
        made.append(event)
    return made
