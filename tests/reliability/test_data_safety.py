"""Data safety: a story goes out through `exportstory` and back in through
`importstory` without losing anything, and every migration can be undone."""

import datetime as dt
import json
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tracker.models import (
    Certainty,
    Citation,
    Claim,
    ClaimValue,
    Entity,
    Event,
    EventStatus,
    Feed,
    Source,
    Story,
)
from tracker.storyio import export_story, import_story, load_document

FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "meta-scale-ai.json"


def enrich(story: Story) -> None:
    """What the seeded story lacks: a draft, a span, a source with a URL, a claim
    whose values cite different sources, a feed, an entity with aliases."""
    entity = Entity.objects.create(
        slug="scale-ai-board", name="Scale AI board", kind="organization", aliases="the board"
    )
    draft = Event.objects.create(
        story=story,
        slug="board-vote",
        title="The board votes",
        summary="Unconfirmed “vote” — with quotes and a dash.",
        body="First paragraph.\n\nSecond paragraph.",
        category="leadership",
        importance=2,
        status=EventStatus.DRAFT,
        occurred_on=dt.date(2025, 6, 1),
        precision="month",
        ends_on=dt.date(2025, 7, 15),
        end_precision="day",
        is_approximate=True,
        sequence=3,
        reported_on=dt.date(2025, 6, 20),
        certainty=Certainty.REPORTED,
        certainty_note="One outlet only.",
    )
    draft.entities.add(entity)
    wire = Source.objects.create(
        url="https://wire.example/board?utm_source=x",
        title="Board votes",
        publisher="Wire",
        author="A. Writer",
        published_text="20 June 2025",
        published_on=dt.date(2025, 6, 20),
        text="The board voted.",
        notes="Paywalled.",
    )
    other = Source.objects.create(title="Memo", publisher="Blog", document="memo.txt")
    first = Citation.objects.create(event=draft, source=wire, quote="voted", attributed_to="AP")
    second = Citation.objects.create(event=draft, source=other, quote="memo", note="Leaked")
    claim = Claim.objects.create(event=draft, label="Vote count", note="Disputed")
    value = ClaimValue.objects.create(claim=claim, value="7–2", is_preferred=True, reason="Two")
    value.citations.add(first)
    ClaimValue.objects.create(claim=claim, value="6–3", quote="memo").citations.add(second)
    feed = Feed.objects.create(url="https://wire.example/feed.xml", title="Wire", is_active=False)
    feed.stories.add(story)


@pytest.mark.django_db
def test_exportstory_then_importstory_round_trips_a_story_without_loss(tmp_path, report):
    story = import_story(load_document(FIXTURE), base_dir=FIXTURE.parent)
    enrich(story)
    before = export_story(story)
    path = tmp_path / "story.json"
    call_command("exportstory", story.slug, "-o", str(path))
    assert json.loads(path.read_text()) == before

    story.delete()
    Source.objects.all().delete()
    Entity.objects.all().delete()
    Feed.objects.all().delete()
    call_command("importstory", str(path), stdout=StringIO())

    after = export_story(Story.objects.get(slug=before["story"]["slug"]))
    assert after == before
    events = before["events"]
    report.input(
        "story-round-trip",
        what=(
            f"exportstory then importstory into an empty database: {len(events)} events, "
            f"{len(before['sources'])} sources, "
            f"{sum(len(e['citations']) for e in events)} citations, "
            f"{sum(len(c['values']) for e in events for c in e['claims'])} claim values, "
            f"{len(before['entities'])} entities, {len(before['feeds'])} feeds"
        ),
        expect="the second export equals the first",
        survived=True,
    )


@pytest.mark.django_db
def test_importing_over_an_existing_story_is_all_or_nothing(tmp_path):
    story = import_story(load_document(FIXTURE), base_dir=FIXTURE.parent)
    document = export_story(story)
    document["events"][-1]["entities"].append("no-such-entity")
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document))
    events_before = Event.objects.count()

    with pytest.raises(Exception, match="unknown entity"):
        call_command("importstory", str(path), "--replace", stdout=StringIO())

    assert Event.objects.count() == events_before
    assert Story.objects.filter(slug=story.slug).exists()


@pytest.mark.django_db(transaction=True)
def test_every_migration_can_be_undone_and_done_again(report):
    executor = MigrationExecutor(connection)
    leaves = [key for key in executor.loader.graph.leaf_nodes() if key[0] == "tracker"]
    applied = len([key for key in executor.loader.applied_migrations if key[0] == "tracker"])
    try:
        call_command("migrate", "tracker", "zero", verbosity=0)
        tables = connection.introspection.table_names()
        assert not [t for t in tables if t.startswith("tracker_")], tables
    finally:
        call_command("migrate", verbosity=0)
    executor = MigrationExecutor(connection)
    assert not executor.migration_plan(leaves), "migrations left unapplied"
    Story.objects.create(slug="after", title="After the round trip")
    report.input(
        "migrations-reversed",
        what=f"tracker's {applied} migrations undone to zero and applied again "
        f"({connection.vendor})",
        expect="no irreversible operation; schema back and usable",
        survived=True,
    )
