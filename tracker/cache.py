"""Cached public pages and conditional GET, both keyed by version numbers.

Every story has a version that changes whenever anything its pages show
changes: an event published or edited, a citation, a claim or one of its
values, a source, an entity, the story itself. So does every event (for its
card on the timeline), and the site as a whole (with any story: it keys what
lists every story). Rendered pages and cards are cached under the version and
the ETag is made from it, so a change makes every cached copy unreachable at
once, with no list of keys to delete.

A version is the time of the change (with a random tail, so two changes never
share one): distinct from one change to the next, and the Last-Modified date
besides. Versions live in Django's
cache, which is Redis in production, shared by every web process and worker;
one lost with the cache is recreated as "now", which can only make a client
fetch again, never keep an old copy.

Signals below bump the versions on every save and delete of the models the
pages show, at once and again after the transaction commits: a page rendered
from the old rows in between would otherwise be cached under the new version.
Bulk ``QuerySet.update()`` calls send no signals; call ``bump()`` after one.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date

from tracker.models import Citation, Claim, ClaimValue, Entity, Event, Source, Story
from tracker.public import NEW_DAYS, UPDATED_DAYS

log = logging.getLogger(__name__)

PREFIX = "tracker"
SITE = "site"
# How long a rendered page or event card is kept although nothing changed: the
# bound on how stale one can get if an invalidation was lost (the cache was
# unreachable at the moment of a change, or came back from an old snapshot).
PAGE_TIMEOUT = 3600
# Rendered pages each web process keeps in memory in front of the shared cache,
# so a popular page is not copied out of Redis on every request. Measured: a
# 1,000-event timeline is about 2 MB of HTML.
LOCAL_PAGE_BYTES = 48 * 1024 * 1024
# "New" and "updated" marks cover this many days, so for that long after a
# change a page also depends on the date.
MARK_DAYS = max(NEW_DAYS, UPDATED_DAYS)
# Query parameters are cut to this length before they become part of a cache key.
MAX_PARAM_CHARS = 100
# A slug longer than the field allows names no story.
SLUG_MAX_LENGTH = Story._meta.get_field("slug").max_length or 0


# --- Versions --------------------------------------------------------------------


def _key(kind: str, ident: object) -> str:
    return f"{PREFIX}:{kind}:{ident}"


def _new_version() -> int:
    """The time in microseconds, times 1,000, plus a random part: two changes in
    one microsecond (or under a frozen test clock) still get distinct versions."""
    return time.time_ns() // 1000 * 1000 + secrets.randbelow(1000)


def _versions(keys: list[str]) -> dict[str, int]:
    """The versions under ``keys``; a missing one is created as "now". Two processes
    creating one at once may each use their own for a moment: the later write
    wins and the other's cached copies are simply never found again."""
    found = cache.get_many(keys)
    missing = {key: _new_version() for key in keys if key not in found}
    if missing:
        cache.set_many(missing, None)
        found.update(missing)
    return found


def bump(story_ids: Iterable[int] = (), event_ids: Iterable[int] = ()) -> None:
    """Give the stories, the events and the site new versions. Never raises: a
    change must not fail because the cache is down (PAGE_TIMEOUT bounds the harm)."""
    now = _new_version()
    mapping = {_key("story", pk): now for pk in story_ids if pk is not None}
    mapping.update({_key("event", pk): now for pk in event_ids if pk is not None})
    mapping[_key("story", SITE)] = now
    try:
        cache.set_many(mapping, None)
    except Exception:
        log.warning("could not bump cache versions %s", sorted(mapping), exc_info=True)


@dataclass(frozen=True)
class Version:
    """What a page depends on: ``tag`` goes into its ETag and cache key."""

    tag: str
    modified_at: dt.datetime


def _version(scope: str, number: int) -> Version:
    changed = dt.datetime.fromtimestamp(number // 1000 / 1e6, tz=dt.UTC)
    now = timezone.now()
    tag = f"{scope}.{number}"
    if now - changed <= dt.timedelta(days=MARK_DAYS + 1):
        # "New" and "updated" marks lapse with time, not with a change: within
        # their reach a page is also a function of the date.
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        tag = f"{tag}.{today:%Y%m%d}"
        changed = max(changed, today)
    return Version(tag, changed.replace(microsecond=0))


def story_version(story_id: int) -> Version:
    key = _key("story", story_id)
    return _version(f"s{story_id}", _versions([key])[key])


def site_version() -> Version:
    key = _key("story", SITE)
    return _version(SITE, _versions([key])[key])


def event_versions(event_ids: Iterable[int]) -> dict[int, int]:
    ids = list(event_ids)
    found = _versions([_key("event", pk) for pk in ids])
    return {pk: found[_key("event", pk)] for pk in ids}


def public_story_id(slug: str, site: Version | None = None) -> int | None:
    """The id of the public story with ``slug``, None when there is none. Kept
    under the site version (``site``, read when not given), so publishing,
    hiding or renaming a story is seen by the next request."""
    if SLUG_MAX_LENGTH and len(slug) > SLUG_MAX_LENGTH:
        return None
    key = _key("slug", f"{(site or site_version()).tag}:{slug}")
    found = cache.get(key)
    if found is None:
        found = Story.objects.public().filter(slug=slug).values_list("pk", flat=True).first()
        # Misses are not kept: made-up slugs would only fill the cache.
        if found is not None:
            cache.set(key, found, PAGE_TIMEOUT)
    return found


# --- Fragments ---------------------------------------------------------------------


def get_fragments(keys: Iterable[str]) -> dict[str, str]:
    """The cached fragments among ``keys``; missing ones are left out."""
    prefix = f"{PREFIX}:frag:"
    try:
        found = cache.get_many([prefix + key for key in keys])
    except Exception:
        log.warning("fragment cache unreachable", exc_info=True)
        return {}
    return {key.removeprefix(prefix): value for key, value in found.items()}


def set_fragments(fragments: dict[str, str]) -> None:
    try:
        cache.set_many({f"{PREFIX}:frag:{k}": v for k, v in fragments.items()}, PAGE_TIMEOUT)
    except Exception:
        log.warning("fragment cache unreachable", exc_info=True)


# --- Whole pages ---------------------------------------------------------------------


class _LocalPages:
    """A small least-recently-used store of rendered pages, bounded in bytes. Keys
    carry the version, so an entry can be old but never wrong."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.entries: OrderedDict[str, tuple] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> tuple | None:
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
            return entry

    def put(self, key: str, entry: tuple) -> None:
        size = sum(len(part) for part in (entry[0], entry[2]) if part)
        if size > self.max_bytes // 4:
            return
        with self.lock:
            if key in self.entries:
                self.size -= sum(len(p) for p in (self.entries[key][0], self.entries[key][2]) if p)
            self.entries[key] = entry
            self.size += size
            while self.size > self.max_bytes:
                _, dropped = self.entries.popitem(last=False)
                self.size -= sum(len(part) for part in (dropped[0], dropped[2]) if part)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.size = 0


local_pages = _LocalPages(LOCAL_PAGE_BYTES)

_NOT_STORED = {"content-length", "set-cookie", "etag", "last-modified", "cache-control", "vary"}
_ACCEPTS_GZIP = re.compile(r"\bgzip\b")


@dataclass
class Page:
    """One cacheable response: its version and the variant the request asks for."""

    version: Version
    variant: str

    @property
    def etag(self) -> str:
        # Weak: the gzip and the plain body of one version are the same page,
        # and a client holding either may revalidate with it.
        return f'W/"{self.version.tag}.{self.variant}"'

    @property
    def key(self) -> str:
        return f"{PREFIX}:page:{self.version.tag}:{self.variant}"

    def load(self, request: HttpRequest) -> HttpResponse | None:
        """The cached response, gzipped for a client that accepts it (compressed
        on the first such request and kept beside the plain body)."""
        entry = local_pages.get(self.key)
        if entry is None:
            try:
                entry = cache.get(self.key)
            except Exception:
                log.warning("page cache unreachable", exc_info=True)
                return None
            if entry is None:
                return None
            local_pages.put(self.key, entry)
        content, headers, compressed = entry
        if _ACCEPTS_GZIP.search(request.headers.get("Accept-Encoding", "")):
            if compressed is None:
                compressed = gzip.compress(content, compresslevel=6, mtime=0)
                self._keep((content, headers, compressed))
            response = HttpResponse(compressed)
            response["Content-Encoding"] = "gzip"
        else:
            response = HttpResponse(content)
        for name, value in headers.items():
            response[name] = value
        return response

    def store(self, response: HttpResponse) -> None:
        # The view's own headers (Content-Type, the sitemap's X-Robots-Tag); the
        # middleware adds its own again on the way out of a cached response.
        headers = {k: v for k, v in response.items() if k.lower() not in _NOT_STORED}
        self._keep((response.content, headers, None))

    def _keep(self, entry: tuple) -> None:
        local_pages.put(self.key, entry)
        try:
            cache.set(self.key, entry, PAGE_TIMEOUT)
        except Exception:
            log.warning("page cache unreachable", exc_info=True)

    def decorate(self, response: HttpResponse) -> HttpResponse:
        response["ETag"] = self.etag
        response["Last-Modified"] = http_date(self.version.modified_at.timestamp())
        # Always ask again, cheaply: a changed story must show at once, and an
        # unchanged one costs a 304.
        response["Cache-Control"] = "public, no-cache"
        patch_vary_headers(response, ["Accept-Encoding"])
        return response


def variant_of(request: HttpRequest, params: Iterable[str]) -> str:
    """A short digest of what selects the response within a version: scheme, host
    (absolute URLs are rendered into pages and feeds), path and the parameters the
    view reads. Other parameters are ignored, so they cannot fill the cache."""
    parts = [request.scheme or "", request.get_host(), request.path]
    for name in sorted(params):
        value = request.GET.get(name)
        if value is not None:
            parts.append(f"{name}={value[:MAX_PARAM_CHARS]}")
    return hashlib.blake2b("\n".join(parts).encode(), digest_size=8).hexdigest()


# The public story behind each slug this process has served, with the site
# version it was found under. While that version holds, a cached page costs one
# round trip to the cache (the site's and the story's versions at once) rather
# than three: a cached page of 100 events took 0.9 to 1.0 ms of CPU instead of
# 1.3 (measured in process). Only public stories' slugs are kept, one entry each.
_story_ids: dict[str, tuple[str, int]] = {}


def _story_page_version(slug: str) -> Version | None:
    """The version of the pages of the public story ``slug``; None when there is none."""
    site_key = _key("story", SITE)
    known = _story_ids.get(slug)
    if known is None:
        site = site_version()
    else:
        site_tag, story_id = known
        found = _versions([site_key, _key("story", story_id)])
        site = _version(SITE, found[site_key])
        if site.tag == site_tag:
            return _version(f"s{story_id}", found[_key("story", story_id)])
    story_id = public_story_id(slug, site)
    if story_id is None:
        return None
    _story_ids[slug] = (site.tag, story_id)
    return story_version(story_id)


def cached_page(
    scope: str = "story", *, params: Iterable[str] = (), slug_kwarg: str = "slug"
) -> Callable:
    """Serve a public GET view from the cache, with ETag and Last-Modified and a
    304 when they match.

    ``scope`` is "story" (the page shows one story, named by the URL's
    ``slug_kwarg``) or "site" (it lists stories). ``params`` are the query
    parameters the view reads. A story that is missing or not public is left
    to the view, which answers 404; only 200 responses are stored.
    """
    params = tuple(params)

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method not in ("GET", "HEAD"):
                return view(request, *args, **kwargs)
            try:
                version = (
                    site_version() if scope == SITE else _story_page_version(kwargs[slug_kwarg])
                )
            except Exception:
                log.warning("cache unreachable; serving %s uncached", request.path, exc_info=True)
                return view(request, *args, **kwargs)
            if version is None:
                return view(request, *args, **kwargs)
            page = Page(version, variant_of(request, params))
            not_modified = get_conditional_response(
                request, etag=page.etag, last_modified=int(version.modified_at.timestamp())
            )
            if not_modified is not None:
                return page.decorate(not_modified)
            response = page.load(request)
            if response is None:
                response = view(request, *args, **kwargs)
                if response.status_code != 200 or response.streaming:
                    return response
                if hasattr(response, "render"):
                    response.render()
                page.store(response)
            return page.decorate(response)

        return wrapper

    return decorator


# --- What a change touches --------------------------------------------------------------


def changed(story_ids: Iterable[int] = (), event_ids: Iterable[int] = ()) -> None:
    story_ids, event_ids = set(story_ids), set(event_ids)
    bump(story_ids, event_ids)
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        transaction.on_commit(lambda: bump(story_ids, event_ids))


def _events_changed(event_ids: Iterable[int]) -> None:
    event_ids = set(event_ids)
    stories = Event.objects.filter(pk__in=event_ids).values_list("story_id", flat=True)
    changed(set(stories), event_ids)


def _event_of(instance) -> tuple[set[int], set[int]]:
    """(story ids, event ids) of an object that belongs to one event."""
    event = instance._state.fields_cache.get("event")
    if event is not None:
        return {event.story_id}, {event.pk}
    story_ids = set(Event.objects.filter(pk=instance.event_id).values_list("story_id", flat=True))
    return story_ids, {instance.event_id}


@receiver(post_save, sender=Story)
@receiver(post_delete, sender=Story)
def _story_changed(sender, instance, **kwargs) -> None:
    changed({instance.pk})


@receiver(post_save, sender=Event)
@receiver(post_delete, sender=Event)
def _event_changed(sender, instance, **kwargs) -> None:
    changed({instance.story_id}, {instance.pk})


@receiver(post_save, sender=Citation)
@receiver(post_delete, sender=Citation)
@receiver(post_save, sender=Claim)
@receiver(post_delete, sender=Claim)
def _part_changed(sender, instance, **kwargs) -> None:
    changed(*_event_of(instance))


@receiver(post_save, sender=ClaimValue)
@receiver(post_delete, sender=ClaimValue)
def _claim_value_changed(sender, instance, **kwargs) -> None:
    rows = Claim.objects.filter(pk=instance.claim_id).values_list("event_id", "event__story_id")
    changed({story for _, story in rows}, {event for event, _ in rows})


@receiver(post_save, sender=Source)
@receiver(post_delete, sender=Source)
def _source_changed(sender, instance, **kwargs) -> None:
    rows = Citation.objects.filter(source_id=instance.pk).values_list("event_id", "event__story_id")
    changed({story for _, story in rows}, {event for event, _ in rows})


@receiver(post_save, sender=Entity)
@receiver(post_delete, sender=Entity)
def _entity_changed(sender, instance, **kwargs) -> None:
    rows = Event.objects.filter(entities=instance.pk).values_list("pk", "story_id")
    changed({story for _, story in rows}, {event for event, _ in rows})


_M2M_ACTIONS = {"post_add", "post_remove", "post_clear", "pre_clear"}


@receiver(m2m_changed, sender=Event.entities.through)
def _event_entities_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if action not in _M2M_ACTIONS:
        return
    if not reverse:
        changed({instance.story_id}, {instance.pk})
    elif action == "pre_clear":
        # The entity is about to leave every event: find them while the rows exist.
        _events_changed(instance.events.values_list("pk", flat=True))
    elif pk_set:
        _events_changed(pk_set)


@receiver(m2m_changed, sender=ClaimValue.citations.through)
def _claim_value_citations_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    if action not in _M2M_ACTIONS:
        return
    if not reverse:
        _claim_value_changed(sender, instance)
    else:
        changed(*_event_of(instance))
