"""Workflows that span rows. Every entry point (admin action, view, task,
command) calls these, so a behaviour lives in one place."""

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from tracker.models import Event, Feed, Story


@transaction.atomic
def set_event_status(events: QuerySet[Event], status: str) -> int:
    """Publish or unpublish; saves each event so its history and published_at follow.
    Returns how many events changed (those already in ``status`` are left alone)."""
    changed = 0
    for event in events.select_for_update().exclude(status=status):
        event.status = status
        event.save()
        changed += 1
    return changed


def story_for_slug(slug: str) -> Story:
    """The story with ``slug``, created (titled from the slug) when missing."""
    story, _ = Story.objects.get_or_create(
        slug=slug, defaults={"title": slug.replace("-", " ").title()}
    )
    return story


@transaction.atomic
def add_feed(url: str, story: Story, *, title: str = "", site_url: str = "") -> tuple[Feed, bool]:
    """Subscribe ``story`` to the feed at ``url`` (one Feed row per URL, shared by
    the stories it serves). Returns (feed, created)."""
    feed, created = Feed.objects.get_or_create(
        url=url, defaults={"title": title[:300], "site_url": site_url[:2000]}
    )
    feed.stories.add(story)
    return feed, created


def poll_now(feeds: QuerySet[Feed]) -> int:
    """Send these feeds' polls to the workers now, whatever their schedule.
    Returns how many were sent (a feed already being polled is sent anyway; its
    claim makes the second poll a no-op)."""
    from tracker import tasks
    from tracker.ingestion.pipeline import lease_feed

    now = timezone.now()
    with transaction.atomic():
        sent = [f.pk for f in feeds.filter(is_active=True) if lease_feed(f.pk, now, force=True)]
        tasks.enqueue_polls(sent, now)
    return len(sent)
