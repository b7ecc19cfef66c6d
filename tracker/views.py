"""The public pages: the list of stories, a story's timeline, what changed in
it, an event's page, and the story as TimelineJS data.

Only public stories and published events are ever shown; anything else is a 404,
so a draft's URL gives nothing away. Every page is cached under the story's
version and answers conditional GETs (tracker.cache).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import get_template
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.functional import cached_property
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe
from django.views.generic import DetailView, ListView, TemplateView

from tracker import cache, exports
from tracker.changes import changes_for, last_update_at, recent_changes
from tracker.dates import Precision, format_date, iso_partial, period_start
from tracker.models import Category, Claim, Entity, Event, EventStatus, Story
from tracker.public import (
    NEW,
    UPDATED,
    annotate_details,
    public_stories,
    story_marks,
    with_details,
)
from tracker.templatetags.timeline import web_url

TIMELINE_PARAMS = ("order", "category", "entity")
# The "what changed" page looks back this far when no date is given.
CHANGES_DEFAULT_DAYS = 30


class PublicStoryMixin:
    """Finds the public story named in the URL; a private or missing one is a 404."""

    story_url_kwarg = "story_slug"

    @cached_property
    def story(self) -> Story:
        return get_object_or_404(public_stories(), slug=self.kwargs[self.story_url_kwarg])

    def get_context_data(self, **kwargs):
        return super().get_context_data(story=self.story, **kwargs)


@method_decorator(cache.cached_page(cache.SITE), name="dispatch")
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


# --- Timeline ---------------------------------------------------------------------


@dataclass
class Row:
    """One event on the timeline: what grouping needs, and its rendered card."""

    pk: int
    slug: str
    title: str
    occurred_on: dt.date
    precision: str
    category: str
    published_at: dt.datetime | None
    html: str = ""


@dataclass
class Period:
    """Events under one heading inside a year: a month, a quarter, a season, or
    (with no label) the events known only to the year."""

    label: str
    events: list = field(default_factory=list)


@dataclass
class Year:
    year: int
    periods: list[Period] = field(default_factory=list)


def period_of(event) -> tuple[str, dt.date | None]:
    """The heading an event is filed under; days go under their month."""
    if event.precision == Precision.YEAR:
        return ("", None)
    precision = Precision.MONTH if event.precision == Precision.DAY else event.precision
    start = period_start(event.occurred_on, precision)
    return (format_date(start, precision), start)


def group_by_period(events: list) -> list[Year]:
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


CARD_TEMPLATE = "tracker/_event_card.html"


def path_maker(name: str, **kwargs):
    """A function slug -> path of the URL ``name``, reversing the pattern once
    rather than once per event."""
    marker = "__slug__"
    pattern = reverse(name, kwargs={**kwargs, "slug": marker})
    return lambda slug: pattern.replace(marker, slug)


@functools.cache
def card_format() -> str:
    """A digest of the card template: cards rendered by another release are not reused."""
    source = get_template(CARD_TEMPLATE).template.source
    return hashlib.blake2b(source.encode(), digest_size=4).hexdigest()


def render_cards(story: Story, rows: list[Row], marks: dict[int, str]) -> None:
    """Fill each row's card, from the cache where the event has not changed since.

    A card's key holds the event's version (bumped by every change to the event,
    its citations, claims, sources and entities), its mark and the story's slug
    (the card links into the story), so a cached card is never out of date.
    """
    versions = cache.event_versions(row.pk for row in rows)
    prefix = f"card:{card_format()}:{story.slug}"
    keys = {row.pk: f"{prefix}:{row.pk}:{versions[row.pk]}:{marks.get(row.pk, '')}" for row in rows}
    found = cache.get_fragments(keys.values())
    missing = [row.pk for row in rows if keys[row.pk] not in found]
    if missing:
        template = get_template(CARD_TEMPLATE)
        story_url = story.get_absolute_url()
        event_path = path_maker("tracker:event", story_slug=story.slug)
        rendered = {}
        # Through the story's related manager each event already knows its story.
        for event in with_details(story.events.filter(pk__in=missing)):
            annotate_details(event)
            # Computed here rather than in the template, where each lookup costs more.
            event.url = event_path(event.slug)
            event.iso_date = iso_partial(event.occurred_on, event.precision)
            event.entity_list = list(event.entities.all())
            event.citation_list = list(event.citations.all())
            for citation in event.citation_list:
                citation.link = web_url(citation.source.url)
                citation.source_date = citation.source.date_display
            context = {
                "event": event,
                "level": 3 if event.precision == Precision.YEAR else 4,
                "mark": marks.get(event.pk),
                "story_url": story_url,
            }
            rendered[keys[event.pk]] = template.render(context)
        cache.set_fragments(rendered)
        found.update(rendered)
    for row in rows:
        row.html = mark_safe(found[keys[row.pk]])  # noqa: S308 - rendered by our template


@method_decorator(cache.cached_page(params=TIMELINE_PARAMS), name="dispatch")
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
        # Every published event once, with what headings, filters and marks need;
        # counts and the category filter come from this list rather than more queries.
        every = [
            Row(*values)
            for values in published.chronological().values_list(
                "pk", "slug", "title", "occurred_on", "precision", "category", "published_at"
            )
        ]

        # In the order the categories are declared (the editors' order), with counts.
        counts = Counter(row.category for row in every)
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
        rows = every
        if active_category:
            rows = [row for row in rows if row.category == active_category]
        if active_entity:
            involved = set(published.filter(entities=active_entity).values_list("pk", flat=True))
            rows = [row for row in rows if row.pk in involved]
        if self.newest_first:
            rows = rows[::-1]

        marks = story_marks(story, every)
        render_cards(story, rows, marks)
        disputed = (
            Claim.objects.filter(event__story=story, event__status=EventStatus.PUBLISHED)
            .annotate(n=Count("values"))
            .filter(n__gt=1)
            .count()
        )
        return super().get_context_data(
            years=group_by_period(rows),
            shown_count=len(rows),
            categories=categories,
            entities=entities,
            active_category=active_category,
            active_entity=active_entity,
            is_filtered=bool(active_category or active_entity),
            newest_first=self.newest_first,
            new_count=sum(1 for mark in marks.values() if mark == NEW),
            updated_count=sum(1 for mark in marks.values() if mark == UPDATED),
            disputed_count=disputed,
            jsonld=exports.timeline_jsonld(self.request, story, rows),
            **kwargs,
        )


# --- What changed ---------------------------------------------------------------------


@method_decorator(cache.cached_page(params=("since",)), name="dispatch")
class StoryChangesView(PublicStoryMixin, TemplateView):
    """Dated notes of what changed in the story's published events since a day."""

    template_name = "tracker/story_changes.html"
    story_url_kwarg = "slug"

    def since(self) -> tuple[dt.date, str]:
        """(the day asked for, an error to show); a bad date falls back to the default."""
        default = timezone.now().date() - dt.timedelta(days=CHANGES_DEFAULT_DAYS)
        raw = self.request.GET.get("since", "").strip()
        if not raw:
            return default, ""
        try:
            return dt.date.fromisoformat(raw), ""
        except ValueError:
            return (
                default,
                f"“{raw[:40]}” is not a date (YYYY-MM-DD); "
                f"showing the last {CHANGES_DEFAULT_DAYS} days.",
            )

    def get_context_data(self, **kwargs):
        story = self.story
        since, error = self.since()
        start = dt.datetime.combine(since, dt.time.min, tzinfo=dt.UTC)
        found = recent_changes(story, start)
        events = {e.pk: e for e in story.events.published().filter(pk__in=found)}
        notes = sorted(
            ((note, events[pk]) for pk, notes in found.items() for note in notes),
            key=lambda pair: (pair[0].at, pair[1].pk),
            reverse=True,
        )
        today = timezone.now().date()
        return super().get_context_data(
            since=since,
            error=error,
            notes=notes,
            event_count=len(events),
            presets=[(days, today - dt.timedelta(days=days)) for days in (7, 30, 365)],
            **kwargs,
        )


# --- Event page --------------------------------------------------------------------------


@method_decorator(cache.cached_page(slug_kwarg="story_slug"), name="dispatch")
class EventDetailView(PublicStoryMixin, DetailView):
    model = Event

    def get_queryset(self):
        return with_details(self.story.events.published())

    def get_context_data(self, **kwargs):
        event = annotate_details(self.object)
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
        notes = changes_for([event.pk]).get(event.pk, [])
        claims = list(event.claims.all())
        return super().get_context_data(
            previous_event=siblings[index - 1] if index > 0 else None,
            next_event=siblings[index + 1] if index + 1 < len(siblings) else None,
            claims=claims,
            disputed_count=len(event.disputed_claims),
            changes=list(reversed(notes)),
            updated_at=last_update_at(notes),
            jsonld=exports.event_jsonld(self.request, self.story, event, notes),
            **kwargs,
        )


# --- Exports -------------------------------------------------------------------------------


@require_safe
@cache.cached_page()
def timelinejs_export(request, slug: str) -> JsonResponse:
    """The story as TimelineJS3 data: ``new TL.Timeline(id, this_url)`` renders it."""
    story = get_object_or_404(public_stories(), slug=slug)
    events = [
        annotate_details(event) for event in with_details(story.events.published().chronological())
    ]
    return JsonResponse(
        exports.timelinejs_document(request, story, events),
        json_dumps_params={"ensure_ascii": False},
    )


@require_safe
def robots_txt(request) -> HttpResponse:
    sitemap = request.build_absolute_uri(reverse("tracker:sitemap"))
    lines = ["User-agent: *", "Disallow: /admin/", f"Sitemap: {sitemap}", ""]
    return HttpResponse("\n".join(lines), content_type="text/plain; charset=utf-8")
