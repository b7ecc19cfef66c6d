"""The Atom feed of a story's new and updated events.

An entry is an event; its id is the event's URL, so an edit updates the entry
a reader already has (a new ``<updated>`` and the change in its text) rather
than adding another. Only published events of public stories appear.
"""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html, format_html_join

from tracker.changes import latest_changed
from tracker.exports import SITE_NAME, credits_html
from tracker.models import Event, Story
from tracker.public import annotate_details, public_stories, with_details

# Entries in the feed: the events most recently published or changed.
FEED_SIZE = 50
# Change notes shown in one entry, newest first.
NOTES_PER_ENTRY = 5


class StoryFeed(Feed):
    feed_type = Atom1Feed
    author_name = SITE_NAME

    def get_object(self, request, slug: str) -> Story:
        return get_object_or_404(public_stories(), slug=slug)

    def title(self, story: Story) -> str:
        return f"{story.title}: new and updated events"

    def subtitle(self, story: Story) -> str:
        return story.summary

    def link(self, story: Story) -> str:
        return story.get_absolute_url()

    def feed_url(self, story: Story) -> str:
        return reverse("tracker:story_feed", kwargs={"slug": story.slug})

    def items(self, story: Story) -> list[Event]:
        ranked = latest_changed(story, FEED_SIZE)
        events = {
            event.pk: event
            for event in with_details(story.events.filter(pk__in=[pk for pk, _ in ranked]))
        }
        items = []
        for pk, notes in ranked:
            event = annotate_details(events[pk])
            event.notes = notes
            items.append(event)
        return items

    def item_title(self, event: Event) -> str:
        return event.title

    def item_link(self, event: Event) -> str:
        return event.get_absolute_url()

    def item_pubdate(self, event: Event):
        return event.published_at or event.notes[0].at

    def item_updateddate(self, event: Event):
        return event.notes[-1].at

    def item_categories(self, event: Event) -> list[str]:
        return [event.get_category_display(), event.get_certainty_display()]

    def item_description(self, event: Event) -> str:
        parts = [
            format_html(
                "<p><strong>{}</strong> · {} · {}</p>",
                event.date_display,
                event.get_certainty_display(),
                event.get_category_display(),
            )
        ]
        if event.summary:
            parts.append(format_html("<p>{}</p>", event.summary))
        updates = [note for note in reversed(event.notes) if not note.is_publication]
        if updates:
            parts.append(
                format_html(
                    "<p>What changed:</p><ul>{}</ul>",
                    format_html_join(
                        "",
                        "<li>{}: {}</li>",
                        ((f"{n.at:%-d %B %Y}", n.text) for n in updates[:NOTES_PER_ENTRY]),
                    ),
                )
            )
        citations = list(event.citations.all())
        if citations:
            parts.append(format_html("<p>Sources: {}</p>", credits_html(citations)))
        if event.disputed_claims:
            labels = ", ".join(claim.label for claim in event.disputed_claims)
            parts.append(format_html("<p>Reports differ on: {}</p>", labels))
        return "".join(parts)
