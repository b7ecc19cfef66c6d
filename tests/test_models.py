import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests.factories import cite, make_claim, make_event, make_source, make_story
from tracker.models import ClaimValue, Event, Source

pytestmark = pytest.mark.django_db


def test_event_date_is_stored_as_the_first_day_of_its_period():
    event = make_event(make_story(), occurred_on=dt.date(2026, 2, 17), precision="quarter")
    event.refresh_from_db()
    assert event.occurred_on == dt.date(2026, 1, 1)
    assert event.date_display == "Q1 2026"


def test_events_sort_across_precisions_with_the_coarser_period_first():
    story = make_story()
    day = make_event(story, occurred_on=dt.date(2025, 6, 12), precision="day")
    month = make_event(story, occurred_on=dt.date(2025, 6, 30), precision="month")
    year = make_event(story, occurred_on=dt.date(2025, 9, 1), precision="year")
    later = make_event(story, occurred_on=dt.date(2026, 1, 5), precision="quarter")
    assert list(Event.objects.chronological()) == [year, month, day, later]


def test_expected_event_says_so_in_its_date():
    event = make_event(
        make_story(), occurred_on=dt.date(2026, 7, 1), precision="season", certainty="expected"
    )
    assert event.date_display == "Summer 2026, expected"


def test_two_events_of_one_story_cannot_share_a_slug_and_the_form_says_why():
    story = make_story()
    make_event(story, slug="closing")
    duplicate = Event(
        story=story, slug="closing", title="Again", category="deal", occurred_on=dt.date(2025, 6, 1)
    )
    with pytest.raises(ValidationError) as refused:
        duplicate.full_clean()
    assert "already has an event with this slug" in str(refused.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_the_same_slug_is_fine_in_another_story():
    make_event(make_story(), slug="closing")
    make_event(make_story(), slug="closing")
    assert Event.objects.filter(slug="closing").count() == 2


def test_an_event_cannot_cite_the_same_source_twice():
    event = make_event(make_story())
    source = make_source()
    cite(event, source)
    with pytest.raises(IntegrityError), transaction.atomic():
        cite(event, source)


def test_a_claim_cannot_have_two_preferred_values():
    claim = make_claim(make_event(make_story()), "Investment size", [("$14.3 billion", True)])
    second = ClaimValue(claim=claim, value="$14.8 billion", is_preferred=True)
    with pytest.raises(ValidationError) as refused:
        second.full_clean()
    assert "Only one value of a claim can be preferred" in str(refused.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        second.save()
    ClaimValue.objects.create(claim=claim, value="$14.8 billion", is_preferred=False)
    assert claim.values.count() == 2


def test_a_span_cannot_end_before_it_starts():
    with pytest.raises(IntegrityError), transaction.atomic():
        make_event(make_story(), occurred_on=dt.date(2025, 6, 1), ends_on=dt.date(2025, 1, 1))


def test_importance_outside_one_to_five_is_refused():
    event = make_event(make_story())
    event.importance = 9
    with pytest.raises(ValidationError) as refused:
        event.full_clean()
    assert "Importance runs from 1 to 5" in str(refused.value)


def test_source_urls_are_normalized_and_unique_when_present():
    first = make_source(url="https://Example.com:443/story?utm_source=feed#top")
    assert first.normalized_url == "https://example.com/story"
    again = Source(url="https://example.com/story", title="Same page")
    with pytest.raises(ValidationError) as refused:
        again.validate_constraints()
    assert "A source with this URL already exists" in str(refused.value)
    with pytest.raises(IntegrityError), transaction.atomic():
        again.save()


def test_sources_without_url_may_be_many():
    make_source(url="")
    make_source(url="")
    assert Source.objects.filter(url="").count() == 2


def test_publishing_stamps_published_at_once():
    event = make_event(make_story(), status="draft")
    assert event.published_at is None
    event.status = "published"
    event.save()
    first = event.published_at
    assert first is not None
    event.save()
    assert event.published_at == first
