"""The seeded story, fixtures/meta-scale-ai.json, as `manage.py bootstrap` loads it."""

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from tracker.models import Certainty, Entity, EventStatus, Feed, Source, Story
from tracker.storyio import export_story, import_story, load_document

FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "meta-scale-ai.json"
NAMED_EVENTS = ["talks", "closing", "wang-move", "google-exit", "avocado", "muse-spark"]


def normalized(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture
def story(db) -> Story:
    return import_story(load_document(FIXTURE), base_dir=FIXTURE.parent)


@pytest.mark.django_db
def test_seeded_story_carries_the_six_named_events_published_and_cited(story):
    events = {event.slug: event for event in story.events.all()}

    assert story.slug == "meta-scale-ai"
    for slug in NAMED_EVENTS:
        assert slug in events, f"missing event {slug}"
        assert events[slug].status == EventStatus.PUBLISHED
        assert events[slug].citations.exists(), f"{slug} cites nothing"


@pytest.mark.django_db
def test_every_event_is_published_and_cites_a_seed_document(story):
    for event in story.events.all():
        assert event.status == EventStatus.PUBLISHED, event.slug
        assert event.citations.filter(source__document__endswith=".txt").exists(), event.slug


@pytest.mark.django_db
def test_investment_size_shows_three_figures_with_one_preferred(story):
    claim = story.events.get(slug="closing").claims.get(label="Investment size")
    values = {value.value: value for value in claim.values.all()}

    assert set(values) == {"$14.3 billion", "$14.8 billion", "about $15 billion"}
    assert [v.value for v in values.values() if v.is_preferred] == ["$14.3 billion"]
    assert values["$14.3 billion"].reason
    for value in values.values():
        assert value.citations.exists(), f"{value.value} is backed by no citation"


@pytest.mark.django_db
def test_every_quote_is_found_in_its_seed_text(story):
    for event in story.events.prefetch_related("citations__source"):
        for citation in event.citations.all():
            assert normalized(citation.quote), f"{event.slug}: empty quote"
            assert normalized(citation.quote) in normalized(citation.source.text), (
                f"{event.slug}: quote not in {citation.source.document}"
            )
        for claim in event.claims.all():
            for value in claim.values.all():
                texts = [normalized(c.source.text) for c in value.citations.all()]
                assert any(normalized(value.quote) in text for text in texts), (
                    f"{event.slug}, {claim.label}: quote of {value.value!r} not in its sources"
                )


@pytest.mark.django_db
def test_avocado_release_reads_as_expected_in_summer_2026(story):
    avocado = story.events.get(slug="avocado")

    assert avocado.certainty == Certainty.EXPECTED
    assert avocado.date_display == "Summer 2026, expected"
    assert avocado.reported_on.isoformat() == "2026-03-19"


@pytest.mark.django_db
def test_seed_with_contradictory_printed_date_keeps_it_as_text_only(story):
    source = Source.objects.get(document="004_eef30f730183d976.txt")

    assert source.published_text == "Jun 10, 2026"
    assert source.published_on is None
    assert "conflicts" in source.notes


@pytest.mark.django_db
def test_export_then_import_into_an_empty_database_gives_the_same_document(story):
    exported = export_story(story)

    story.delete()
    Source.objects.all().delete()
    Entity.objects.all().delete()
    Feed.objects.all().delete()
    reimported = import_story(exported)

    assert export_story(reimported) == exported


@pytest.mark.django_db
def test_bootstrap_loads_the_story_once_and_creates_admin(monkeypatch):
    monkeypatch.setenv("ADMIN_PASSWORD", "correct horse battery staple")
    first, second = StringIO(), StringIO()

    call_command("bootstrap", stdout=first)
    call_command("bootstrap", stdout=second)

    assert list(Story.objects.values_list("slug", flat=True)) == ["meta-scale-ai"]
    assert get_user_model().objects.filter(username="admin", is_superuser=True).exists()
    assert "Loaded the story 'Meta and Scale AI'" in first.getvalue()
    assert "not loaded again" in second.getvalue()
    assert "'admin' exists" in second.getvalue()
