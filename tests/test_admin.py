"""The admin as editors use it: pages load for staff, others are sent to log in,
changelists cost the same queries however many rows, edits reach the public page."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.conftest import queued_poll_batches
from tests.factories import make_story, populate
from tracker.models import Event, Feed

pytestmark = pytest.mark.django_db

CHANGELISTS = ["story", "event", "citation", "claim", "source", "entity", "feed", "article"]


@pytest.fixture
def staff_client(client, editor):
    client.force_login(editor)
    return client


@pytest.mark.parametrize("model", CHANGELISTS)
def test_changelists_and_add_forms_load_for_staff(staff_client, model):
    populate(make_story(), 3)
    assert staff_client.get(reverse(f"admin:tracker_{model}_changelist")).status_code == 200
    # Articles come from ingestion only; everything else can be added by hand.
    add_status = 403 if model == "article" else 200
    assert staff_client.get(reverse(f"admin:tracker_{model}_add")).status_code == add_status


@pytest.mark.parametrize("model", CHANGELISTS)
def test_anonymous_visitors_are_sent_to_the_login_page(client, model):
    response = client.get(reverse(f"admin:tracker_{model}_changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_a_signed_in_reader_without_staff_rights_cannot_use_the_admin(client, reader):
    client.force_login(reader)
    response = client.get(reverse("admin:tracker_event_changelist"))
    assert response.status_code == 302 and "login" in response["Location"]


def changelist_queries(client, model: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse(f"admin:tracker_{model}_changelist")).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "model", ["story", "event", "citation", "claim", "source", "entity", "feed"]
)
def test_changelist_queries_stay_constant_as_rows_grow(staff_client, model):
    story = make_story()
    populate(story, 3)
    for i in range(3):
        Feed.objects.create(url=f"https://wire.example/{i}.xml").stories.add(story)
    few = changelist_queries(staff_client, model)
    populate(story, 30)
    for i in range(3, 30):
        Feed.objects.create(url=f"https://wire.example/{i}.xml").stories.add(story)
    assert changelist_queries(staff_client, model) == few


def test_an_edit_saved_in_the_admin_shows_on_the_public_page(staff_client):
    story = make_story(slug="meta-scale-ai", title="Meta and Scale AI")
    [event] = populate(story, 1)
    change = reverse("admin:tracker_event_change", args=[event.pk])
    form = staff_client.get(change).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name != "entities"
    }
    data.update(
        title="Meta closes its Scale AI investment",
        occurred_on="2025-06-12",
        entities=[e.pk for e in event.entities.all()],
        **management_forms(staff_client.get(change)),
    )
    response = staff_client.post(change, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    page = staff_client.get(event.get_absolute_url())
    assert "Meta closes its Scale AI investment" in page.content.decode()


def management_forms(response) -> dict:
    """The inline formsets' management and existing-row fields, as the browser sends them."""
    data = {}
    for formset in response.context["inline_admin_formsets"]:
        fs = formset.formset
        for name, value in fs.management_form.initial.items():
            data[f"{fs.prefix}-{name}"] = value
        for i, form in enumerate(fs.forms):
            for name, field in form.fields.items():
                value = form.initial.get(name, field.initial)
                if value is None:
                    continue
                if hasattr(value, "pk"):
                    value = value.pk
                data[f"{fs.prefix}-{i}-{name}"] = value
    return data


def test_publish_and_unpublish_actions_change_what_readers_see(staff_client, client):
    story = make_story()
    [event] = populate(story, 1)
    changelist = reverse("admin:tracker_event_changelist")
    staff_client.post(changelist, {"action": "unpublish", "_selected_action": [event.pk]})
    assert Event.objects.get(pk=event.pk).status == "draft"
    assert client.get(event.get_absolute_url()).status_code == 404
    staff_client.post(changelist, {"action": "publish", "_selected_action": [event.pk]})
    assert client.get(event.get_absolute_url()).status_code == 200


def test_event_dates_entered_mid_month_are_kept_as_the_month(staff_client):
    story = make_story()
    [event] = populate(story, 1)
    event.occurred_on = dt.date(2025, 6, 17)
    event.precision = "month"
    event.save()
    response = staff_client.get(reverse("admin:tracker_event_changelist"))
    assert "June 2025" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_poll_now_sends_the_selected_feeds_to_the_workers(client, editor, redis_client):
    client.force_login(editor)
    feeds = [Feed.objects.create(url=f"https://wire.example/{i}.xml") for i in range(2)]
    response = client.post(
        reverse("admin:tracker_feed_changelist"),
        {"action": "poll_now", "_selected_action": [f.pk for f in feeds]},
        follow=True,
    )
    assert "Sent 2 feed(s) to the workers" in response.content.decode()
    assert queued_poll_batches(redis_client) == [[f.pk for f in feeds]]
