"""The review dashboard on the admin index: per story, what waits for review,
what was accepted lately, which feeds fail, and a month of ingestion."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from tracker.admin.review import ALL
from tracker.models import Article, Feed, ReviewState, Story

CHART_DAYS = 30
CHART_HEIGHT = 36
BAR_WIDTH = 6


@dataclass
class Bar:
    day: dt.date
    count: int
    url: str
    x: int = 0
    y: int = 0
    height: int = 0


@dataclass
class StoryRow:
    story: Story
    pending: int
    accepted_this_week: int
    failing_feeds: int = 0
    flagged_feeds: int = 0
    bars: list[Bar] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)

    @property
    def ingested(self) -> int:
        return sum(bar.count for bar in self.bars)


def _url(name: str, **params) -> str:
    return f"{reverse(name)}?{urlencode(params)}"


def story_dashboard(now: dt.datetime | None = None) -> dict:
    """Per story: pending articles, accepted in the past seven days, failing and
    flagged feeds, and articles ingested per day over CHART_DAYS days, each with
    the link to the list behind it. Three queries however many stories."""
    now = timezone.localtime(now or timezone.now())
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    # The same bounds as the changelist's "Past 7 days", so the link selects it.
    week = {
        "reviewed_at__gte": str(today - dt.timedelta(days=7)),
        "reviewed_at__lt": str(today + dt.timedelta(days=1)),
    }
    first_day = today - dt.timedelta(days=CHART_DAYS - 1)
    stories = Story.objects.annotate(
        pending=Count("articles", filter=Q(articles__review_state=ReviewState.PENDING)),
        accepted_this_week=Count(
            "articles",
            filter=Q(
                articles__review_state=ReviewState.ACCEPTED,
                articles__reviewed_at__gte=today - dt.timedelta(days=7),
                articles__reviewed_at__lt=today + dt.timedelta(days=1),
            ),
        ),
    ).order_by("title")
    feeds = {
        row["story_id"]: row
        for row in Feed.stories.through.objects.filter(feed__in=Feed.objects.failing())
        .values("story_id")
        .annotate(
            failing=Count("feed_id"),
            flagged=Count("feed_id", filter=Q(feed__flagged_at__isnull=False)),
        )
    }
    per_day = {
        (row["story_id"], row["day"]): row["n"]
        for row in Article.objects.filter(created_at__gte=first_day)
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values("story_id", "day")
        .annotate(n=Count("pk"))
    }
    rows = []
    for story in stories:
        # Each story's chart is scaled to its own busiest day; the bar titles give counts.
        peak = max((n for (s, _), n in per_day.items() if s == story.pk), default=0)
        row = StoryRow(story, story.pending, story.accepted_this_week)
        row.failing_feeds = feeds.get(story.pk, {}).get("failing", 0)
        row.flagged_feeds = feeds.get(story.pk, {}).get("flagged", 0)
        row.links = {
            "pending": _url("admin:tracker_article_changelist", story__id__exact=story.pk),
            "accepted": _url(
                "admin:tracker_article_changelist",
                story__id__exact=story.pk,
                state=ReviewState.ACCEPTED,
                **week,
            ),
            "failing": _url(
                "admin:tracker_feed_changelist", stories__id__exact=story.pk, health="failing"
            ),
            "flagged": _url(
                "admin:tracker_feed_changelist", stories__id__exact=story.pk, health="flagged"
            ),
            "ingested": _url(
                "admin:tracker_article_changelist",
                story__id__exact=story.pk,
                state=ALL,
                created_at__gte=first_day.isoformat(),
            ),
        }
        for i in range(CHART_DAYS):
            start = first_day + dt.timedelta(days=i)
            count = per_day.get((story.pk, start.date()), 0)
            height = max(1, round(CHART_HEIGHT * count / peak)) if count else 0
            row.bars.append(
                Bar(
                    day=start.date(),
                    count=count,
                    url=_url(
                        "admin:tracker_article_changelist",
                        story__id__exact=story.pk,
                        state=ALL,
                        created_at__gte=start.isoformat(),
                        created_at__lt=(start + dt.timedelta(days=1)).isoformat(),
                    ),
                    x=i * BAR_WIDTH,
                    y=CHART_HEIGHT - height,
                    height=height,
                )
            )
        rows.append(row)
    return {
        "rows": rows,
        "chart_width": CHART_DAYS * BAR_WIDTH,
        "chart_height": CHART_HEIGHT,
        "bar_width": BAR_WIDTH - 1,
        "first_day": first_day.date(),
        "decisions_url": reverse("admin:tracker_articledecision_changelist"),
    }
