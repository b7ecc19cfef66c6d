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
import itertools
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
from tracker.dates import format_date
from tracker.models import Category, Claim, Entity, Event, EventStatus, Story
from tracker.public import (
    NEW,
    UPDATED,
    annotate_details,
    date_span,
    page_of,
    page_starts,
    period_key,
    public_stories,
    story_marks,
    timeline_cards,
    with_details,
)
from tracker.templatetags.timeline import with_query

TIMELINE_PARAMS = ("order", "category", "entity", "page")
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
    """One event on the timeline: what grouping and paging need, and its rendered card."""

    pk: int
    slug: str
    title: str
    occurred_on: dt.date
    precision: str
    category: str
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


def group_by_period(events: list) -> list[Year]:
    """Years, then periods, in the order the events come in (either direction).

    A period's events are consecutive in date order because a period's start day
    sorts before anything inside it, so one pass is enough.
    """
    years: list[Year] = []
    last_key = None
    for event in events:
        key = period_key(event)
        year, precision, start = key
        if not years or years[-1].year != year:
            years.append(Year(year))
        if key != last_key:
            years[-1].periods.append(Period(format_date(start, precision) if start else ""))
            last_key = key
        years[-1].periods[-1].events.append(event)
    return years


@dataclass
class PageLink:
    label: str
    url: str
    span: str


@dataclass
class YearLink:
    year: int
    url: str
    is_shown: bool


@dataclass
class Pages:
    """Where one page of a long timeline sits among the others."""

    number: int
    count: int
    first: int
    last: int
    total: int
    span: str
    previous: PageLink | None
    next: PageLink | None
    years: list[YearLink]


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
        event_path = path_maker("tracker:event", story_slug=story.slug)
        cards = timeline_cards(story, missing, event_url=event_path, marks=marks)
        rendered = {keys[pk]: template.render({"card": card}) for pk, card in cards.items()}
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

    def get(self, request, *args, **kwargs):
        # One URL per page: the first has no number, and a number that is not one
        # or is past the end (a link from before a filter or an unpublished event
        # shortened the timeline) leads to the nearest page there is.
        asked = request.GET.get("page")
        if asked is not None and (asked != str(self.page_number) or self.page_number == 1):
            return HttpResponseRedirect(self.page_url(self.page_number))
        return super().get(request, *args, **kwargs)

    @cached_property
    def newest_first(self) -> bool:
        return self.request.GET.get("order") == "newest"

    @cached_property
    def every(self) -> list[Row]:
        """Every published event once, with what headings, filters, pages and marks
        need; counts and the category filter come from this list rather than more
        queries."""
        fields = ("pk", "slug", "title", "occurred_on", "precision", "category")
        published = self.story.events.published().chronological()
        return [Row(*values) for values in published.values_list(*fields)]

    @cached_property
    def categories(self) -> list[tuple[Category, int]]:
        """In the order the categories are declared (the editors' order), with counts."""
        counts = Counter(row.category for row in self.every)
        return [(c, counts[c.value]) for c in Category if c.value in counts]

    @cached_property
    def entities(self) -> list[Entity]:
        """The most involved first: the names a reader is most likely to look for."""
        return list(
            Entity.objects.filter(events__story=self.story, events__status=EventStatus.PUBLISHED)
            .annotate(n=Count("events", distinct=True))
            .order_by("-n", "name")
        )

    # Unknown filter values are ignored rather than showing an empty timeline.
    @cached_property
    def active_category(self) -> Category | None:
        asked = self.request.GET.get("category")
        return next((c for c, _ in self.categories if c.value == asked), None)

    @cached_property
    def active_entity(self) -> Entity | None:
        asked = self.request.GET.get("entity")
        return next((e for e in self.entities if e.slug == asked), None)

    @cached_property
    def shown(self) -> list[Row]:
        """The events the filters let through, in the order asked for, every page."""
        rows = self.every
        if self.active_category:
            rows = [row for row in rows if row.category == self.active_category]
        if self.active_entity:
            involved = set(
                self.story.events.published()
                .filter(entities=self.active_entity)
                .values_list("pk", flat=True)
            )
            rows = [row for row in rows if row.pk in involved]
        return rows[::-1] if self.newest_first else rows

    @cached_property
    def page_bounds(self) -> list[int]:
        """Where each page of the events shown starts, then where the last ends."""
        return [*page_starts(self.shown), len(self.shown)]

    @cached_property
    def paged(self) -> list[list[Row]]:
        """The events shown, page by page: one page when they fit on one."""
        return [self.shown[start:end] for start, end in itertools.pairwise(self.page_bounds)]

    @cached_property
    def page_number(self) -> int:
        asked = self.request.GET.get("page", "")
        number = int(asked) if asked.isascii() and asked.isdigit() and len(asked) < 7 else 1
        return min(max(number, 1), len(self.paged))

    def page_url(self, number: int) -> str:
        return with_query(self.request, page=number if number > 1 else None)

    def pages(self, first: int) -> Pages | None:
        """The navigation of a timeline shown a page at a time, whose page shown
        starts with the ``first`` event (from 1); None when one page holds it all."""
        paged, number = self.paged, self.page_number
        if len(paged) == 1:
            return None

        def link(to: int, label: str) -> PageLink | None:
            if not 1 <= to <= len(paged):
                return None
            return PageLink(label, self.page_url(to), date_span(paged[to - 1]))

        # A year leads to this page if it is shown here, else to the first page it is on.
        first_page: dict[int, int] = {}
        for n, rows in enumerate(paged, 1):
            for row in rows:
                first_page.setdefault(row.occurred_on.year, n)
        here = {row.occurred_on.year for row in paged[number - 1]}
        years = []
        for year, n in first_page.items():
            url = f"{self.page_url(number if year in here else n)}#year-{year}"
            years.append(YearLink(year, url, is_shown=year in here))
        earlier, later = "Earlier events", "Later events"
        if self.newest_first:
            earlier, later = later, earlier
        return Pages(
            number=number,
            count=len(paged),
            first=first,
            last=first + len(paged[number - 1]) - 1,
            total=len(self.shown),
            span=date_span(paged[number - 1]),
            previous=link(number - 1, earlier),
            next=link(number + 1, later),
            years=years,
        )

    def get_context_data(self, **kwargs):
        story, number = self.story, self.page_number
        rows = self.paged[number - 1]
        first = self.page_bounds[number - 1] + 1
        marks = story_marks(story, (row.pk for row in self.every))
        render_cards(story, rows, marks)
        disputed = (
            Claim.objects.filter(event__story=story, event__status=EventStatus.PUBLISHED)
            .annotate(n=Count("values"))
            .filter(n__gt=1)
            .count()
        )
        is_filtered = bool(self.active_category or self.active_entity)
        jsonld = exports.timeline_jsonld(self.request, story, rows)
        if len(self.paged) > 1:
            # schema.org counts a list shown a page at a time whole, and numbers
            # each item by its place in the whole list.
            jsonld["numberOfItems"] = len(self.shown)
            for position, item in enumerate(jsonld["itemListElement"], first):
                item["position"] = position
        # A page of the timeline as it opens is a page of its own; filtered or
        # reordered, the same events are the timeline's.
        canonical = story.get_absolute_url()
        if not (is_filtered or self.newest_first) and number > 1:
            canonical = f"{canonical}?page={number}"
        return super().get_context_data(
            years=group_by_period(rows),
            shown_count=len(self.shown),
            pages=self.pages(first),
            canonical_path=canonical,
            categories=self.categories,
            entities=self.entities,
            active_category=self.active_category,
            active_entity=self.active_entity,
            is_filtered=is_filtered,
            newest_first=self.newest_first,
            new_count=sum(1 for mark in marks.values() if mark == NEW),
            updated_count=sum(1 for mark in marks.values() if mark == UPDATED),
            disputed_count=disputed,
            jsonld=jsonld,
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
        # The timeline page the event is on, oldest first and unfiltered as the
        # timeline opens, so the way back lands on its card.
        page = page_of(page_starts(siblings), index)
        timeline_url = self.story.get_absolute_url() + (f"?page={page}" if page > 1 else "")
        notes = changes_for([event.pk]).get(event.pk, [])
        claims = list(event.claims.all())
        return super().get_context_data(
            timeline_url=timeline_url,
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
