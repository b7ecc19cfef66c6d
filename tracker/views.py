"""The public pages: the list of stories, a story's timeline and an event's page.

Only public stories and published events are ever shown; anything else is a 404,
so a draft's URL gives nothing away.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Max, Prefetch, Q
from django.db.models.functions import Coalesce, Greatest
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.functional import cached_property
from django.views.generic import DetailView, ListView

from tracker.dates import Precision, format_date, period_start
from tracker.models import (
    Category,
    Citation,
    ClaimValue,
    Entity,
    Event,
    EventStatus,
    Source,
    Story,
)

PUBLISHED = Q(events__status=EventStatus.PUBLISHED)


def public_stories():
    """Public stories with their published event count and the time they last
    changed: the story itself or its newest published edit, whichever is later."""
    return (
        Story.objects.public()
        .with_counts()
        .annotate(
            last_updated_at=Greatest(
                "updated_at",
                Coalesce(Max("events__updated_at", filter=PUBLISHED), "updated_at"),
            )
        )
    )


class PublicStoryMixin:
    """Finds the public story named in the URL; a private or missing one is a 404."""

    story_url_kwarg = "story_slug"

    @cached_property
    def story(self) -> Story:
        return get_object_or_404(public_stories(), slug=self.kwargs[self.story_url_kwarg])

    def get_context_data(self, **kwargs):
        return super().get_context_data(story=self.story, **kwargs)


class StoryListView(ListView):
    model = Story

    def get_queryset(self):
        return public_stories().order_by("title")

    def get(self, request, *args, **kwargs):
        # One story needs no index page: the timeline is the site.
        stories = list(self.get_queryset()[:2])
        if len(stories) == 1:
            return HttpResponseRedirect(stories[0].get_absolute_url())
        return super().get(request, *args, **kwargs)


@dataclass
class Period:
    """Events under one heading inside a year: a month, a quarter, a season, or
    (with no label) the events known only to the year."""

    label: str
    events: list[Event] = field(default_factory=list)


@dataclass
class Year:
    year: int
    periods: list[Period] = field(default_factory=list)


def period_of(event: Event) -> tuple[str, dt.date | None]:
    """The heading an event is filed under; days go under their month."""
    if event.precision == Precision.YEAR:
        return ("", None)
    precision = Precision.MONTH if event.precision == Precision.DAY else event.precision
    start = period_start(event.occurred_on, precision)
    return (format_date(start, precision), start)


def group_by_period(events: list[Event]) -> list[Year]:
    """Years, then periods, in the order the events come in (either direction).

    A period's events are consecutive in date order because a period's start day
    sorts before anything inside it, so one pass is enough.
    """
    years: list[Year] = []
    last_key = None
    for event in events:
        label, start = period_of(event)
        key = (event.occurred_on.year, label, start)
        if not years or years[-1].year != event.occurred_on.year:
            years.append(Year(event.occurred_on.year))
        if key != last_key:
            years[-1].periods.append(Period(label))
            last_key = key
        years[-1].periods[-1].events.append(event)
    return years


class StoryTimelineView(PublicStoryMixin, DetailView):
    model = Story
    story_url_kwarg = "slug"

    def get_object(self, queryset=None) -> Story:
        return self.story

    @cached_property
    def newest_first(self) -> bool:
        return self.request.GET.get("order") == "newest"

    def get_context_data(self, **kwargs):
        story = self.story
        published = story.events.published()

        # In the order the categories are declared (the editors' order), with counts.
        counts = dict(published.order_by().values_list("category").annotate(n=Count("pk")))
        categories = [(c, counts[c.value]) for c in Category if c.value in counts]
        # The most involved first: the names a reader is most likely to look for.
        entities = list(
            Entity.objects.filter(events__story=story, events__status=EventStatus.PUBLISHED)
            .annotate(n=Count("events", distinct=True))
            .order_by("-n", "name")
        )

        # Unknown values are ignored rather than showing an empty timeline.
        active_category = next(
            (c for c, _ in categories if c.value == self.request.GET.get("category")), None
        )
        active_entity = next(
            (e for e in entities if e.slug == self.request.GET.get("entity")), None
        )

        # Through the story's related manager each event already knows its story,
        # so building event URLs costs no query per event.
        events = story.events.for_timeline()
        if active_category:
            events = events.filter(category=active_category)
        if active_entity:
            events = events.filter(entities=active_entity)
        if self.newest_first:
            events = events.reverse()
        events = list(events)

        source_count = (
            Source.objects.filter(
                citations__event__story=story, citations__event__status=EventStatus.PUBLISHED
            )
            .distinct()
            .count()
        )
        return super().get_context_data(
            years=group_by_period(events),
            shown_count=len(events),
            source_count=source_count,
            categories=categories,
            entities=entities,
            active_category=active_category,
            active_entity=active_entity,
            is_filtered=bool(active_category or active_entity),
            newest_first=self.newest_first,
            **kwargs,
        )


class EventDetailView(PublicStoryMixin, DetailView):
    model = Event

    def get_queryset(self):
        return self.story.events.published().prefetch_related(
            "entities",
            Prefetch("citations", queryset=Citation.objects.select_related("source")),
            Prefetch(
                "claims__values",
                queryset=ClaimValue.objects.prefetch_related(
                    Prefetch("citations", queryset=Citation.objects.select_related("source"))
                ),
            ),
        )

    def get_context_data(self, **kwargs):
        event = self.object
        # The neighbours in timeline order; one query over the story's published
        # events, with only what a link needs.
        siblings = list(
            self.story.events.published()
            .chronological()
            .only(
                "slug",
                "title",
                "story",
                "occurred_on",
                "precision",
                "ends_on",
                "end_precision",
                "is_approximate",
                "certainty",
            )
        )
        index = next(i for i, e in enumerate(siblings) if e.pk == event.pk)
        claims = list(event.claims.all())
        # Claim values point at citations by the number they have in the list of sources.
        numbers = {citation.pk: n for n, citation in enumerate(event.citations.all(), 1)}
        for claim in claims:
            for value in claim.values.all():
                for citation in value.citations.all():
                    citation.number = numbers.get(citation.pk)
        return super().get_context_data(
            previous_event=siblings[index - 1] if index > 0 else None,
            next_event=siblings[index + 1] if index + 1 < len(siblings) else None,
            claims=claims,
            disputed_count=sum(1 for claim in claims if len(claim.values.all()) > 1),
            **kwargs,
        )
