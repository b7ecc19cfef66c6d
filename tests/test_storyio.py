"""A story exported and imported again is the same story, history included."""

import datetime as dt

import pytest

from tests.factories import cite, make_claim, make_event, make_source, make_story
from tracker.changes import changes_for
from tracker.models import Citation, Event, Source, Story
from tracker.storyio import StoryFormatError, export_story, import_story

pytestmark = pytest.mark.django_db


def notes(story: Story) -> list[tuple[str, str]]:
    """The public change notes of the story's events, as (event slug, text)."""
    events = dict(story.events.values_list("pk", "slug"))
    found = changes_for(events)
    return sorted((events[pk], change.text) for pk, items in found.items() for change in items)


@pytest.fixture
def edited_story(time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 1, 9, tzinfo=dt.UTC))
    story = make_story(slug="meta-scale-ai")
    event = make_event(story, slug="closing", title="Meta invests", precision="month")
    kept = cite(event, make_source(title="Kept", publisher="Wire"), quote="A passage.")
    gone = cite(event, make_source(title="Gone", publisher="Blog"), quote="Rumour.")
    make_claim(event, "Investment size", [("$14.3 billion", True), ("$14.8 billion", False)])
    time_machine.move_to(dt.datetime(2026, 3, 5, 9, tzinfo=dt.UTC))
    event.title = "Meta invests $14.3 billion in Scale AI"
    event.occurred_on = dt.date(2025, 6, 12)
    event.precision = "day"
    event.save()
    gone.delete()
    kept.quote = "A better passage."
    kept.save()
    return story


def test_export_then_import_gives_back_the_same_story_and_history(edited_story):
    before = export_story(edited_story)
    before_notes = notes(edited_story)
    assert any("Date changed" in text for _, text in before_notes)
    assert ("closing", "Source removed: Blog, “Gone”") in before_notes

    edited_story.delete()
    Source.objects.all().delete()
    again = import_story(before)

    assert export_story(again) == before
    assert notes(again) == before_notes


def test_a_story_without_history_gets_its_import_as_history():
    story = make_story(slug="plain")
    make_event(story, slug="one")
    document = export_story(story)
    del document["history"]
    story.delete()
    again = import_story(document)
    assert Event.history.filter(story_id=again.pk).count() == 1


def test_a_document_naming_an_unknown_source_is_refused_and_nothing_is_kept():
    story = make_story(slug="s")
    cite(make_event(story, slug="e"), make_source(url="https://wire.example/a"))
    document = export_story(story)
    story.delete()
    document["events"][0]["citations"][0]["source"] = "no-such-source"
    with pytest.raises(StoryFormatError, match="unknown source 'no-such-source'"):
        import_story(document)
    assert not Story.objects.filter(slug="s").exists()
    assert not Citation.objects.exists()
