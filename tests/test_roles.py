"""Who may do what: the Editor and Reviewer groups, and readers kept out of the admin."""

import datetime as dt
import itertools

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone

from tests.factories import make_claim, make_event, make_story
from tracker.models import Article, Citation, Event

_n = itertools.count(1)


@pytest.fixture(autouse=True)
def page_settings(settings, tmp_path):
    """The hashed static manifest belongs to deployment; these tests read pages."""
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def member_of(group: str, django_user_model, username: str):
    user = django_user_model.objects.create_user(
        username, f"{username}@example.org", f"pw-{username}", is_staff=True
    )
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def reviewer(django_user_model):
    """Staff in the Reviewer group: the review queue, nothing else."""
    return member_of("Reviewer", django_user_model, "rita")


@pytest.fixture
def group_editor(django_user_model):
    """Staff in the Editor group (not a superuser): edits, publishes and reviews."""
    return member_of("Editor", django_user_model, "eddie")


@pytest.fixture
def story(db):
    return make_story(slug="meta-scale-ai")


@pytest.fixture
def closing(story):
    return make_event(story, slug="closing", title="The closing")


@pytest.fixture
def article(story, closing):
    n = next(_n)
    return Article.objects.create(
        story=story,
        guid=f"urn:{n}",
        url=f"https://news.example.com/{n}",
        normalized_url=f"https://news.example.com/{n}",
        title="Meta closes the Scale AI deal",
        outlet="Reuters",
        published_at=timezone.now() - dt.timedelta(hours=1),
        text="Meta closed the deal.",
        suggested_event=closing,
    )


def review_url(article) -> str:
    return reverse("admin:tracker_article_review", args=[article.pk])


def codenames(group: str) -> set[str]:
    return set(Group.objects.get(name=group).permissions.values_list("codename", flat=True))


def test_the_migration_creates_the_editor_and_reviewer_groups(db):
    editor, reviewer = codenames("Editor"), codenames("Reviewer")

    assert {"publish_event", "change_event", "add_event", "review_article"} <= editor
    assert {"review_article", "view_article", "add_citation", "add_source"} <= reviewer
    assert not {"publish_event", "change_event", "add_event", "delete_citation"} & reviewer
    assert Permission.objects.get(codename="review_article").name == "Can review articles"


def test_a_reviewer_works_the_queue_and_accepts_an_article(client, reviewer, closing, article):
    client.force_login(reviewer)

    queue = client.get(reverse("admin:tracker_article_changelist"))
    page = client.get(review_url(article))
    response = client.post(
        review_url(article),
        {"decision": "accept", "accept-event": closing.pk, "accept-quote": "Closed."},
    )

    assert queue.status_code == 200 and article.title in queue.content.decode()
    assert page.status_code == 200
    assert response.status_code == 302
    assert Citation.objects.get().event == closing
    article.refresh_from_db()
    assert (article.review_state, article.reviewed_by) == ("accepted", reviewer)


def test_a_reviewer_rejects_and_undoes(client, reviewer, article):
    client.force_login(reviewer)

    client.post(review_url(article), {"decision": "reject", "reject-reason": "opinion"})
    article.refresh_from_db()
    rejected = article.review_state
    client.post(review_url(article), {"decision": "undo"})
    article.refresh_from_db()

    assert (rejected, article.review_state) == ("rejected", "pending")


def test_a_reviewer_is_not_offered_and_cannot_create_an_event(client, reviewer, article):
    client.force_login(reviewer)

    page = client.get(review_url(article)).content.decode()
    response = client.post(
        review_url(article),
        {
            "decision": "create",
            "create-title": "Sneaky",
            "create-category": "deal",
            "create-occurred_on": "2025-06-12",
        },
    )

    assert 'value="create"' not in page
    assert response.status_code == 403
    assert not Event.objects.filter(title="Sneaky").exists()
    article.refresh_from_db()
    assert article.review_state == "pending"


def test_a_reviewer_cannot_add_a_claim_value(client, reviewer, closing, article):
    claim = make_claim(closing, "Size", [])
    client.force_login(reviewer)

    response = client.post(
        review_url(article),
        {
            "decision": "accept",
            "accept-event": closing.pk,
            "accept-claim": claim.pk,
            "accept-claim_value": "$1",
        },
    )

    assert response.status_code == 403
    assert not claim.values.exists() and not Citation.objects.exists()


def test_a_reviewer_cannot_publish_an_event(client, reviewer, story):
    draft = make_event(story, status="draft")
    client.force_login(reviewer)
    changelist = reverse("admin:tracker_event_changelist")

    listing = client.get(changelist)
    action = client.post(changelist, {"action": "publish", "_selected_action": [draft.pk]})
    edit = client.post(
        reverse("admin:tracker_event_change", args=[draft.pk]),
        {"status": "published", "title": draft.title},
    )

    assert listing.status_code == 200
    assert 'value="publish"' not in listing.content.decode()
    assert action.status_code in (200, 302)
    assert edit.status_code == 403
    draft.refresh_from_db()
    assert draft.status == "draft"


def test_an_editor_creates_a_draft_from_an_article_and_publishes_it(client, group_editor, article):
    client.force_login(group_editor)

    created = client.post(
        review_url(article),
        {
            "decision": "create",
            "create-title": "Meta closes the deal",
            "create-category": "deal",
            "create-occurred_on": "2025-06-12",
        },
    )
    event = Event.objects.get(title="Meta closes the deal")
    status_before = event.status
    client.post(
        reverse("admin:tracker_event_changelist"),
        {"action": "publish", "_selected_action": [event.pk]},
    )
    event.refresh_from_db()

    assert created.status_code == 302
    assert (status_before, event.status) == ("draft", "published")
    assert event.history.filter(status="published").get().history_user == group_editor


def test_a_reviewer_cannot_undo_an_editors_new_event(client, group_editor, reviewer, article):
    client.force_login(group_editor)
    client.post(
        review_url(article),
        {
            "decision": "create",
            "create-title": "Kept",
            "create-category": "deal",
            "create-occurred_on": "2025-06-12",
        },
    )
    client.force_login(reviewer)

    response = client.post(review_url(article), {"decision": "undo"})

    assert response.status_code == 403
    assert Event.objects.filter(title="Kept").exists()


def test_staff_without_the_review_permission_can_look_but_not_decide(
    client, django_user_model, closing, article
):
    looker = django_user_model.objects.create_user("lou", "lou@example.org", "pw", is_staff=True)
    looker.user_permissions.add(Permission.objects.get(codename="view_article"))
    client.force_login(looker)

    page = client.get(review_url(article))
    response = client.post(review_url(article), {"decision": "accept", "accept-event": closing.pk})

    assert page.status_code == 200
    assert 'value="accept"' not in page.content.decode()
    assert response.status_code == 403
    article.refresh_from_db()
    assert article.review_state == "pending"


@pytest.mark.parametrize(
    "url",
    [
        reverse("admin:index"),
        reverse("admin:tracker_article_changelist"),
        reverse("admin:tracker_event_changelist"),
    ],
)
def test_a_reader_cannot_reach_the_admin(client, reader, url):
    client.force_login(reader)

    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


def test_a_reader_can_neither_log_in_to_the_admin_nor_post_a_decision(client, reader, article):
    login = client.post(
        reverse("admin:login"), {"username": "reader", "password": "pw-reader"}, follow=True
    )
    client.force_login(reader)
    decision = client.post(review_url(article), {"decision": "reject", "reject-reason": "opinion"})

    assert "Please enter the correct username and password" in login.content.decode()
    assert decision.status_code == 302
    article.refresh_from_db()
    assert article.review_state == "pending"
