"""A read-only JSON API of the public timelines: stories, their published events,
and each event's citations and claims. README.md ("Public API and feeds")
documents it.

Plain views returning JsonResponse: four read-only resources do not need a
framework. Errors are JSON too: 404 for anything unknown, unpublished or
private, 400 for a malformed parameter, 405 for any method but GET and HEAD.
Every 200 carries an ETag and Last-Modified and answers a conditional GET with 304.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.paginator import EmptyPage, Paginator
from django.http import Http404, HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, re_path, reverse

from tracker import cache
from tracker.changes import changes_for, last_change_at
from tracker.dates import iso_partial
from tracker.models import Event, Story
from tracker.public import annotate_details, public_stories, with_details

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
PAGE_PARAMS = ("page", "page_size")


class BadRequest(Exception):
    """A parameter the API cannot read; the message says which and why."""


def error(status: int, message: str, **headers) -> JsonResponse:
    response = JsonResponse({"error": message, "status": status}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def api_view(scope: str = "story", *, params=(), slug_kwarg: str = "slug") -> Callable:
    """A read-only, cached JSON view whose errors are JSON."""

    def decorator(view: Callable) -> Callable:
        cached = cache.cached_page(scope, params=params, slug_kwarg=slug_kwarg)(view)

        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if request.method not in ("GET", "HEAD"):
                return error(
                    405,
                    f"{request.method} is not allowed: this API is read-only.",
                    Allow="GET, HEAD",
                )
            try:
                return cached(request, *args, **kwargs)
            except Http404:
                return error(404, "Not found.")
            except BadRequest as exc:
                return error(400, str(exc))

        return wrapper

    return decorator


def _url(request: HttpRequest, name: str, **kwargs) -> str:
    return request.build_absolute_uri(reverse(f"tracker:api:{name}", kwargs=kwargs))


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def paginate(request: HttpRequest, items, url: str, serialize: Callable) -> dict[str, Any]:
    """A page of ``items``: ``?page=`` from 1, ``?page_size=`` up to MAX_PAGE_SIZE."""
    try:
        size = int(request.GET.get("page_size", DEFAULT_PAGE_SIZE))
        number = int(request.GET.get("page", 1))
    except ValueError:
        raise BadRequest("page and page_size must be whole numbers.") from None
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise BadRequest(f"page_size must be between 1 and {MAX_PAGE_SIZE}.")
    paginator = Paginator(items, size)
    try:
        page = paginator.page(number)
    except EmptyPage:
        raise Http404 from None

    def link(n: int) -> str:
        return f"{url}?page={n}" + (f"&page_size={size}" if size != DEFAULT_PAGE_SIZE else "")

    return {
        "count": paginator.count,
        "page": page.number,
        "page_size": size,
        "num_pages": paginator.num_pages,
        "next": link(page.next_page_number()) if page.has_next() else None,
        "previous": link(page.previous_page_number()) if page.has_previous() else None,
        "results": serialize(list(page.object_list)),
    }


# --- Representations ----------------------------------------------------------------


def story_data(request: HttpRequest, story: Story) -> dict[str, Any]:
    slug = story.slug
    return {
        "slug": slug,
        "title": story.title,
        "summary": story.summary,
        "event_count": story.published_event_count,
        "source_count": story.source_count,
        "last_updated_at": _iso(story.last_updated_at),
        "url": request.build_absolute_uri(story.get_absolute_url()),
        "api_url": _url(request, "story", slug=slug),
        "events_url": _url(request, "events", slug=slug),
        "feed_url": request.build_absolute_uri(reverse("tracker:story_feed", args=[slug])),
        "timelinejs_url": request.build_absolute_uri(
            reverse("tracker:story_timelinejs", args=[slug])
        ),
    }


def event_data(request: HttpRequest, event: Event, notes: list) -> dict[str, Any]:
    """An event from public.with_details, annotated; ``notes`` its public changes."""
    story_slug = event.story.slug
    return {
        "slug": event.slug,
        "title": event.title,
        "summary": event.summary,
        "date": {
            "start": iso_partial(event.occurred_on, event.precision),
            "precision": event.precision,
            "end": iso_partial(event.ends_on, event.end_precision or event.precision)
            if event.ends_on
            else None,
            "end_precision": (event.end_precision or event.precision) if event.ends_on else None,
            "is_approximate": event.is_approximate,
            "display": event.date_display,
        },
        "reported_on": _iso(event.reported_on),
        "category": {"value": event.category, "label": event.get_category_display()},
        "certainty": {
            "value": event.certainty,
            "label": event.get_certainty_display(),
            "note": event.certainty_note,
        },
        "importance": event.importance,
        "entities": [
            {"slug": e.slug, "name": e.name, "kind": e.kind} for e in event.entities.all()
        ],
        "independent_outlets": event.outlet_count,
        "published_at": _iso(event.published_at),
        "last_changed_at": _iso(last_change_at(notes) or event.published_at),
        "url": request.build_absolute_uri(event.get_absolute_url()),
        "api_url": _url(request, "event", slug=story_slug, event_slug=event.slug),
        "citations": [
            {
                "id": citation.pk,
                "number": citation.number,
                "quote": citation.quote,
                "attributed_to": citation.attributed_to,
                "note": citation.note,
                "source": {
                    "title": citation.source.title,
                    "publisher": citation.source.publisher,
                    "author": citation.source.author,
                    "url": citation.source.url,
                    "published_text": citation.source.published_text,
                    "published_on": _iso(citation.source.published_on),
                },
            }
            for citation in event.citations.all()
        ],
        "claims": [
            {
                "label": claim.label,
                "note": claim.note,
                "reports_differ": len(claim.value_list) > 1,
                "values": [
                    {
                        "value": value.value,
                        "is_preferred": value.is_preferred,
                        "reason": value.reason,
                        "quote": value.quote,
                        "citations": [citation.pk for citation in value.backing],
                    }
                    for value in claim.value_list
                ],
            }
            for claim in event.claims.all()
        ],
    }


def events_data(request: HttpRequest, events: list[Event]) -> list[dict[str, Any]]:
    notes = changes_for(event.pk for event in events)
    return [event_data(request, annotate_details(e), notes.get(e.pk, [])) for e in events]


# --- Views ------------------------------------------------------------------------------


@api_view(cache.SITE)
def index(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        {
            "stories_url": _url(request, "stories"),
            "documentation": "README.md, section 'Public API and feeds'",
        }
    )


@api_view(cache.SITE, params=PAGE_PARAMS)
def story_list(request: HttpRequest) -> JsonResponse:
    stories = public_stories().order_by("title", "pk")
    return JsonResponse(
        paginate(
            request,
            stories,
            _url(request, "stories"),
            lambda page: [story_data(request, story) for story in page],
        )
    )


def _story(slug: str) -> Story:
    return get_object_or_404(public_stories(), slug=slug)


@api_view()
def story_detail(request: HttpRequest, slug: str) -> JsonResponse:
    return JsonResponse(story_data(request, _story(slug)))


@api_view(params=PAGE_PARAMS)
def event_list(request: HttpRequest, slug: str) -> JsonResponse:
    story = _story(slug)
    events = with_details(story.events.published().chronological())
    return JsonResponse(
        paginate(
            request,
            events,
            _url(request, "events", slug=slug),
            lambda page: events_data(request, page),
        )
    )


@api_view()
def event_detail(request: HttpRequest, slug: str, event_slug: str) -> JsonResponse:
    story = _story(slug)
    event = get_object_or_404(with_details(story.events.published()), slug=event_slug)
    notes = changes_for([event.pk]).get(event.pk, [])
    data = event_data(request, annotate_details(event), notes)
    data["body"] = event.body
    data["changes"] = [{"at": _iso(note.at), "text": note.text} for note in reversed(notes)]
    siblings = list(story.events.published().chronological().values_list("slug", flat=True))
    index = siblings.index(event.slug)
    data["previous"] = (
        _url(request, "event", slug=slug, event_slug=siblings[index - 1]) if index > 0 else None
    )
    data["next"] = (
        _url(request, "event", slug=slug, event_slug=siblings[index + 1])
        if index + 1 < len(siblings)
        else None
    )
    return JsonResponse(data)


def not_found(request: HttpRequest, rest: str = "") -> JsonResponse:
    return error(404, "No such API resource; start at /api/v1/.")


app_name = "api"
urlpatterns = [
    path("", index, name="index"),
    path("stories/", story_list, name="stories"),
    path("stories/<slug:slug>/", story_detail, name="story"),
    path("stories/<slug:slug>/events/", event_list, name="events"),
    path("stories/<slug:slug>/events/<slug:event_slug>/", event_detail, name="event"),
    re_path(r"^(?P<rest>.*)$", not_found),
]
