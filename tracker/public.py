"""What the public side reads: public stories, published events with everything
shown about them, the timeline's cards and pages, independent outlets and the
"new" and "updated" marks. The pages, the feed, the API and the exports all
come through here, so a draft has one door to stay behind."""

from __future__ import annotations

import bisect
import datetime as dt
import re
import unicodedata
from collections import defaultdict, namedtuple
from collections.abc import Callable, Iterable

from django.db.models import Count, Max, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from tracker.changes import changes_for, touched_event_ids
from tracker.dates import Precision, format_date, iso_partial, period_start
from tracker.ingestion.dedupe import title_key
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
from tracker.templatetags.timeline import web_url

# Marks on the timeline: "new" for an event published within NEW_DAYS, "updated"
# for one changed in public within UPDATED_DAYS. Counted from the start of the
# day (UTC), so a page is the same all day long (tracker.cache keys it by the date).
NEW_DAYS = 7
UPDATED_DAYS = 7
NEW, UPDATED = "new", "updated"


def public_stories() -> QuerySet[Story]:
    """Public stories with their published event count, the number of distinct
    sources those events cite, and the time the story last changed: the story
    itself or its newest published edit, whichever is later.

    Subqueries rather than joins: a join to a 1,000-event story's events made
    SQLite evaluate the source count once per event row (1.3 s, measured)."""
    published = (
        Event.objects.filter(story=OuterRef("pk"), status=EventStatus.PUBLISHED)
        .order_by()
        .values("story")
    )
    sources = (
        Citation.objects.filter(event__story=OuterRef("pk"), event__status=EventStatus.PUBLISHED)
        .order_by()
        .values("event__story")
        .annotate(n=Count("source", distinct=True))
        .values("n")
    )
    return Story.objects.public().annotate(
        published_event_count=Coalesce(Subquery(published.annotate(n=Count("pk")).values("n")), 0),
        last_updated_at=Greatest(
            "updated_at",
            Coalesce(
                Subquery(published.annotate(last=Max("updated_at")).values("last")),
                "updated_at",
            ),
        ),
        source_count=Coalesce(Subquery(sources), 0),
    )


def with_details(events: QuerySet[Event]) -> QuerySet[Event]:
    """Events with what the event page, the feed and the API show, in six queries
    however many events. Source texts (whole articles) are left in the database."""
    return events.prefetch_related(
        Prefetch(
            "citations",
            queryset=Citation.objects.select_related("source").defer(
                "source__text", "source__notes"
            ),
        ),
        "entities",
        Prefetch(
            "claims",
            queryset=Claim.objects.prefetch_related(
                Prefetch(
                    "values",
                    queryset=ClaimValue.objects.prefetch_related(
                        Prefetch("citations", queryset=Citation.objects.only("pk", "event_id"))
                    ),
                )
            ),
        ),
    )


def annotate_details(event: Event) -> Event:
    """Number the event's citations, point each claim value at the citations
    behind it (``value.backing``), and count outlets and disputes."""
    citations = list(event.citations.all())
    by_pk = {}
    for number, citation in enumerate(citations, 1):
        citation.number = number
        by_pk[citation.pk] = citation
    event.outlet_count = independent_outlets(citations)
    event.disputed_claims = []
    for claim in event.claims.all():
        values = list(claim.values.all())
        for value in values:
            value.backing = [by_pk[c.pk] for c in value.citations.all() if c.pk in by_pk]
        claim.value_list = values
        if len(values) > 1:
            event.disputed_claims.append(claim)
    return event


# --- Timeline cards ------------------------------------------------------------------

MARK_LABELS = {NEW: "New", UPDATED: "Updated"}
CERTAINTY_LABELS = dict(Certainty.choices)
CATEGORY_LABELS = dict(Category.choices)
# The two fields Source.date_display reads: cards run that property on them
# rather than build a Source per citation.
PrintedDate = namedtuple("PrintedDate", "published_text published_on")
CARD_EVENT_FIELDS = (
    "slug",
    "title",
    "summary",
    "occurred_on",
    "precision",
    "ends_on",
    "end_precision",
    "is_approximate",
    "certainty",
    "importance",
    "category",
)


def timeline_cards(
    story: Story, event_ids: Iterable[int], *, event_url: Callable[[str], str], marks: dict
) -> dict[int, dict]:
    """What the timeline's card of each of ``event_ids`` (published events of
    ``story``) shows, by event id, as plain values. ``event_url`` makes an
    event's path from its slug.

    The same details as with_details() and annotate_details() give the event
    page (citations in order, entities by name, the claims sources disagree on
    with the citations behind each version), read in five queries of plain
    values rather than model instances, and the card template reads dict keys,
    its cheapest lookup, with no model method or filter per citation. Measured
    on 100 cards of the benchmark story: 15 ms to read instead of 36, 24 ms to
    render instead of 42."""
    ids = list(event_ids)
    story_url = story.get_absolute_url()

    citations: dict[int, list] = defaultdict(list)
    for event_id, *citation in (
        Citation.objects.filter(event__in=ids)
        .order_by("pk")
        .values_list(
            "event_id",
            "pk",
            "attributed_to",
            "source_id",
            "source__title",
            "source__publisher",
            "source__url",
            "source__published_text",
            "source__published_on",
        )
    ):
        citations[event_id].append(citation)

    entities: dict[int, list] = defaultdict(list)
    for event_id, name, slug in (
        Event.entities.through.objects.filter(event__in=ids)
        .order_by("entity__name", "entity_id")
        .values_list("event_id", "entity__name", "entity__slug")
    ):
        entities[event_id].append({"name": name, "url": f"{story_url}?entity={slug}"})

    backing: dict[int, list[int]] = defaultdict(list)
    for value_id, citation_id in (
        ClaimValue.citations.through.objects.filter(claimvalue__claim__event__in=ids)
        .order_by("citation_id")
        .values_list("claimvalue_id", "citation_id")
    ):
        backing[value_id].append(citation_id)
    claims: dict[int, dict[int, dict]] = defaultdict(dict)
    for event_id, claim_id, label, value_id, value, is_preferred in (
        ClaimValue.objects.filter(claim__event__in=ids)
        .order_by("claim_id", "-is_preferred", "pk")
        .values_list("claim__event_id", "claim_id", "claim__label", "pk", "value", "is_preferred")
    ):
        claim = claims[event_id].setdefault(claim_id, {"pk": claim_id, "label": label})
        claim.setdefault("values", []).append(
            {"pk": value_id, "value": value, "is_preferred": is_preferred}
        )

    cards = {}
    # "story" too: the related manager gives each event its story, by the foreign key.
    for event in story.events.filter(pk__in=ids).only("story", *CARD_EVENT_FIELDS):
        cited = citations.get(event.pk, [])
        by_pk = {}
        shown = []
        outlets = []
        for pk, attributed_to, source_id, title, publisher, url, text, day in cited:
            by_pk[pk] = (publisher or title) + (f" (per {attributed_to})" if attributed_to else "")
            outlets.append((attributed_to, publisher, title, source_id))
            shown.append(
                {
                    "pk": pk,
                    "publisher": publisher,
                    "title": title,
                    "link": web_url(url),
                    "date": Source.date_display.fget(PrintedDate(text, day)),
                    "attributed_to": attributed_to,
                }
            )
        disputed = [c for c in claims.get(event.pk, {}).values() if len(c["values"]) > 1]
        for claim in disputed:
            for value in claim["values"]:
                behind = backing.get(value["pk"], [])
                value["sources"] = "; ".join(by_pk[pk] for pk in behind if pk in by_pk)
        outlet_count = count_outlets(outlets)
        if outlet_count > 1:
            outlets_label = f"{outlet_count} independent outlets"
        else:
            outlets_label = "one outlet" if len(cited) > 1 else ""
        mark = marks.get(event.pk)
        classes = f"event event--{event.certainty} event--importance-{event.importance}"
        cards[event.pk] = {
            "classes": f"{classes} event--{mark}" if mark else classes,
            "slug": event.slug,
            "title": event.title,
            "url": event_url(event.slug),
            # A year-only event sits right under its year's h2, others under a period's h3.
            "level": 3 if event.precision == Precision.YEAR else 4,
            "iso_date": iso_partial(event.occurred_on, event.precision),
            "date": event.date_display,
            "mark": mark or "",
            "mark_label": MARK_LABELS.get(mark or "", ""),
            "certainty": event.certainty,
            "certainty_label": CERTAINTY_LABELS.get(event.certainty, event.certainty),
            "category_label": CATEGORY_LABELS.get(event.category, event.category),
            "summary": event.summary,
            "entities": entities.get(event.pk, []),
            "disputed": disputed,
            "sources_label": f"{len(cited)} source{'' if len(cited) == 1 else 's'}",
            "outlets_label": outlets_label,
            "citations": shown,
        }
    return cards


# --- Timeline pages ------------------------------------------------------------------

# A timeline longer than this is shown a page at a time. Rendered from cold, a
# card costs about 0.4 ms and the page around the cards about 40 ms, however
# long the story (measured in process, 2 cores): a story's 1,000 cards cannot
# be rendered within the 150 ms a page that is not cached may take, 100 can
# with room to spare (bench/README.md, "Public pages"), and are a long read.
TIMELINE_PAGE_SIZE = 100


def period_key(event) -> tuple[int, str, dt.date | None]:
    """(year, precision, start) of the heading an event is filed under: days go
    under their month, year-only events under no period of their year."""
    if event.precision == Precision.YEAR:
        return (event.occurred_on.year, "", None)
    precision = Precision.MONTH if event.precision == Precision.DAY else event.precision
    return (event.occurred_on.year, precision, period_start(event.occurred_on, precision))


def period_label(event) -> str:
    """The period an event is filed under, in words: 'June 2025', 'Q1 2026', '2016'."""
    _, precision, start = period_key(event)
    return format_date(start, precision) if start else str(event.occurred_on.year)


def page_starts(events: list, size: int | None = None) -> list[int]:
    """Where each page of a timeline begins: indexes into ``events``, in the order
    they are shown; [0] when one page holds them all.

    A page holds at most ``size`` (TIMELINE_PAGE_SIZE) events and ends where a
    period ends, if one ends in its second half, so a month is cut in two only
    when it is long.
    """
    size = size or TIMELINE_PAGE_SIZE
    keys = [period_key(event) for event in events]
    starts = [0]
    while len(events) - starts[-1] > size:
        start = starts[-1]
        end = start + size
        boundaries = (i for i in range(end, start + size // 2, -1) if keys[i] != keys[i - 1])
        starts.append(next(boundaries, end))
    return starts


def page_of(starts: list[int], index: int) -> int:
    """The number, from 1, of the page holding the event at ``index``."""
    return bisect.bisect_right(starts, index)


def date_span(events: list) -> str:
    """The periods a run of events covers, earlier first: 'June 2019 to March 2020'
    ("to" because a season's label has a dash of its own: 'Winter 2019–20')."""
    first, last = sorted((events[0], events[-1]), key=lambda event: event.occurred_on)
    start, end = period_label(first), period_label(last)
    return start if start == end else f"{start} to {end}"


# --- Independent outlets ----------------------------------------------------------

_SPACES = re.compile(r"\s+")


def outlet_name(attributed_to: str, publisher: str) -> str:
    """The outlet a citation's report comes from: the one it relays ("per
    Reuters") or else its source's publisher; "" when neither is printed."""
    return (attributed_to or publisher).strip()


def _outlet_key(name: str) -> str:
    key = _SPACES.sub(" ", unicodedata.normalize("NFKC", name).casefold()).strip(" .")
    return key.removeprefix("the ")


def independent_outlets(citations: Iterable[Citation]) -> int:
    """How many independent outlets carry an event (``count_outlets``)."""
    return count_outlets(
        (c.attributed_to, c.source.publisher, c.source.title, c.source_id) for c in citations
    )


def count_outlets(citations: Iterable[tuple[str, str, str, int]]) -> int:
    """How many independent outlets carry an event, from its citations as
    (attributed to, publisher, title, source id).

    Syndicated copies count once. Two citations are the same outlet when
    - they name the same outlet: the one relayed ("per Reuters") or else the
      publisher, compared without case, spacing or a leading "The"; or
    - their sources have the same headline (``title_key``: the words of the
      title without an outlet suffix), the mark of one wire story run twice.
    A source that prints no publisher and relays no one counts as its own outlet.
    """
    citations = list(citations)
    parent = list(range(len(citations)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_seen: dict[str, int] = {}
    for i, (attributed_to, publisher, title, source_id) in enumerate(citations):
        keys = []
        name = outlet_name(attributed_to, publisher)
        keys.append(f"outlet:{_outlet_key(name)}" if name else f"source:{source_id}")
        headline = title_key(title, outlet=publisher)
        if headline:
            keys.append(f"title:{headline}")
        for key in keys:
            if key in first_seen:
                parent[find(i)] = find(first_seen[key])
            else:
                first_seen[key] = i
    return len({find(i) for i in range(len(citations))})


# --- Marks -----------------------------------------------------------------------------


def mark_cutoffs(now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """(new since, updated since): whole days back from the start of today."""
    today = (
        (now or timezone.now())
        .astimezone(dt.UTC)
        .replace(hour=0, minute=0, second=0, microsecond=0)
    )
    return today - dt.timedelta(days=NEW_DAYS), today - dt.timedelta(days=UPDATED_DAYS)


def story_marks(
    story: Story, published_ids: Iterable[int], now: dt.datetime | None = None
) -> dict[int, str]:
    """NEW or UPDATED by event id, for the story's published events (their ids:
    ``published_ids``) that have one."""
    new_since, updated_since = mark_cutoffs(now)
    published = set(published_ids)
    # Asked of the database rather than read from every event's row: converting
    # 1,000 timestamps cost 3 ms of a 1,000-event timeline (measured).
    new = set(
        story.events.published().filter(published_at__gte=new_since).values_list("pk", flat=True)
    )
    marks = dict.fromkeys(new, NEW)
    candidates = (touched_event_ids(story, updated_since) & published) - new
    for pk, notes in changes_for(candidates).items():
        if any(not note.is_publication and note.at >= updated_since for note in notes):
            marks[pk] = UPDATED
    return marks
