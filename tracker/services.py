"""Workflows that span rows. Every entry point (admin action, view, task,
command) calls these, so a behaviour lives in one place."""

from django.db import transaction
from django.db.models import QuerySet

from tracker.models import Event


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
