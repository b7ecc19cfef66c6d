"""The review queue and its decisions, end to end through the admin views."""

import datetime as dt
import itertools
import threading

import pytest
from django.contrib.messages import get_messages
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import cite, make_claim, make_entity, make_event, make_source, make_story
from tracker import services
from tracker.ingestion.dedupe import canonical_url
from tracker.models import (
    Article,
    ArticleDecision,
    Citation,
    ClaimValue,
    Event,
    ReviewAction,
    Source,
)

_n = itertools.count(1)
QUEUE = reverse("admin:tracker_article_changelist")
NOW = timezone.now()


@pytest.fixture(autouse=True)
def page_settings(settings, tmp_path):
    """The hashed static manifest belongs to deployment; these tests read pages."""
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def make_article(story, **fields) -> Article:
    n = next(_n)
    fields.setdefault("guid", f"urn:article:{n}")
    fields.setdefault("url", f"https://news.example.com/2025/06/article-{n}?utm_source=feed")
    fields.setdefault("normalized_url", canonical_url(fields["url"]) if fields["url"] else "")
    fields.setdefault("title", f"Article {n}")
    fields.setdefault("outlet", f"Outlet {n}")
    fields.setdefault("published_at", NOW - dt.timedelta(hours=n))
    fields.setdefault("matched_terms", ["Scale AI"])
    fields.setdefault("relevance_score", 3.0)
    return Article.objects.create(story=story, **fields)


def review_url(article: Article) -> str:
    return reverse("admin:tracker_article_review", args=[article.pk])


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def accept(client, article, event, **fields):
    data = {
        "decision": "accept",
        "accept-event": event.pk,
        "accept-quote": fields.pop("quote", "Meta invests $14.3 billion."),
        "accept-attributed_to": fields.pop("attributed_to", ""),
        "accept-claim": fields.pop("claim", ""),
        "accept-claim_value": fields.pop("claim_value", ""),
    }
    return client.post(review_url(article), data)


@pytest.fixture
def story(db):
    return make_story(title="Meta and Scale AI", slug="meta-scale-ai")


@pytest.fixture
def closing(story):
    return make_event(story, title="Meta takes a 49% stake in Scale AI", slug="closing")


@pytest.fixture
def article(story, closing):
    return make_article(
        story,
        title="Meta finalises its Scale AI investment",
        outlet="Reuters",
        author="A. Writer",
        url="https://www.reuters.com/tech/meta-scale?utm_medium=rss",
        text="Meta has invested $14.3 billion in Scale AI.\n\nThe deal values Scale at $29bn.",
        summary="<p>Meta <b>invests</b> in Scale AI.</p>",
        extraction_status="full",
        extracted_at=NOW - dt.timedelta(minutes=5),
        suggested_event=closing,
        suggestion_score=0.82,
    )


@pytest.fixture
def staff(client, editor):
    client.force_login(editor)
    return client


# --- The queue ----------------------------------------------------------------------------


def test_the_queue_shows_pending_articles_newest_first_with_why_each_is_there(staff, story):
    event = make_event(story, title="Talks reported")
    older = make_article(story, title="Older news", published_at=NOW - dt.timedelta(days=2))
    newer = make_article(
        story,
        title="Newer news",
        published_at=NOW - dt.timedelta(hours=1),
        matched_terms=["Meta", "Scale AI"],
        relevance_score=4,
        suggested_event=event,
        suggestion_score=0.5,
    )
    make_article(
        story,
        title="Copy elsewhere",
        outlet="Other outlet",
        duplicate_of=newer,
        review_state="duplicate",
        url="",
    )
    make_article(story, title="Already rejected", review_state="rejected")
    make_article(story, title="Filtered out", review_state="filtered")

    response = staff.get(QUEUE)
    html = response.content.decode()

    assert [a.title for a in response.context["cl"].result_list] == ["Newer news", "Older news"]
    assert html.index("Newer news") < html.index("Older news")
    assert "Meta, Scale AI · 4" in html
    assert "Talks reported (0.50)" in html
    assert older.outlet in html


def test_the_queue_counts_the_other_outlets_carrying_the_same_story(staff, story):
    original = make_article(story, title="The original", outlet="Reuters")
    for outlet in ["Bloomberg", "Bloomberg", "The Verge", "Reuters"]:
        make_article(story, outlet=outlet, duplicate_of=original, review_state="duplicate")

    response = staff.get(QUEUE)

    row = next(a for a in response.context["cl"].result_list if a.pk == original.pk)
    assert row._other_outlets == 2


def test_the_queue_marks_an_article_like_one_rejected_before_with_the_reason(staff, story):
    earlier = make_article(
        story, review_state="rejected", reject_reason="opinion", reject_note="a column"
    )
    make_article(story, title="Same story again", previously_rejected=earlier)

    html = staff.get(QUEUE).content.decode()

    assert "✕ rejected before: Opinion: a column" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state": "rejected"}, {"rejected"}),
        ({"state": "all"}, {"pending", "rejected", "strong", "teaser", "other story"}),
        ({"score": "high"}, {"strong"}),
        ({"score": "low"}, {"teaser"}),
        ({"extraction_status__exact": "teaser"}, {"teaser"}),
        ({"q": "strong"}, {"strong"}),
    ],
)
def test_the_queue_filters_by_state_score_band_extraction_and_search(staff, story, query, expected):
    make_article(story, title="pending")
    make_article(story, title="rejected", review_state="rejected")
    make_article(story, title="strong", relevance_score=6)
    make_article(story, title="teaser", relevance_score=1, extraction_status="teaser")
    make_article(make_story(), title="other story")

    response = staff.get(QUEUE, query)

    assert {a.title for a in response.context["cl"].result_list} == expected - (
        set() if query.get("state") == "all" else {"other story"}
    )


def test_the_queue_filters_by_story_and_feed(staff, story):
    from tracker.models import Feed

    feed = Feed.objects.create(url="https://feeds.example.com/rss", title="Example")
    make_article(story, title="from the feed", feed=feed)
    make_article(story, title="no feed")
    make_article(make_story(), title="elsewhere")

    by_story = staff.get(QUEUE, {"story__id__exact": story.pk}).context["cl"].result_list
    by_feed = staff.get(QUEUE, {"feed__id__exact": feed.pk}).context["cl"].result_list

    assert {a.title for a in by_story} == {"from the feed", "no feed"}
    assert [a.title for a in by_feed] == ["from the feed"]


def test_the_queue_costs_the_same_queries_for_10_and_60_articles(staff, story):
    event = make_event(story)

    def queries_for(n: int) -> int:
        Article.objects.all().delete()
        rejected = make_article(story, review_state="rejected", reject_reason="opinion")
        for i in range(n):
            original = make_article(story, suggested_event=event, previously_rejected=rejected)
            if i % 3 == 0:
                make_article(story, duplicate_of=original, review_state="duplicate")
        with CaptureQueriesContext(connection) as queries:
            response = staff.get(QUEUE, {"story__id__exact": story.pk})
        assert response.status_code == 200
        assert len(response.context["cl"].result_list) == min(n, 50)
        return len(queries)

    assert queries_for(10) == queries_for(60)


# --- The article page ---------------------------------------------------------------------


def test_the_article_page_shows_its_text_summary_link_duplicates_and_decisions(
    staff, story, article
):
    copy = make_article(
        story, outlet="Bloomberg", title="A copy", duplicate_of=article, review_state="duplicate"
    )

    response = staff.get(review_url(article))
    html = response.content.decode()

    assert response.status_code == 200
    assert "<p>Meta has invested $14.3 billion in Scale AI.</p>" in html
    assert "<p>Meta <b>invests</b> in Scale AI.</p>" in html
    assert 'href="https://www.reuters.com/tech/meta-scale?utm_medium=rss"' in html
    assert f'href="{review_url(copy)}"' in html and "Bloomberg: A copy" in html
    for decision in ["accept", "create", "reject", "duplicate"]:
        assert f'value="{decision}"' in html


def test_the_article_page_escapes_extracted_text_and_sanitizes_the_summary(staff, story):
    article = make_article(
        story,
        text='<script>alert("text")</script> & more',
        summary='<p onclick="x()">Hi<script>alert("summary")</script><img src=x onerror=y></p>',
    )

    html = staff.get(review_url(article)).content.decode()

    assert "&lt;script&gt;alert(&quot;text&quot;)&lt;/script&gt; &amp; more" in html
    assert 'alert("summary")' not in html
    assert "onclick" not in html and "onerror" not in html


def test_the_accept_form_preselects_the_suggested_event_among_the_storys_events(
    staff, story, closing, article
):
    other = make_event(story, title="Talks", status="draft")
    make_event(make_story(), title="Another story's event")

    form = staff.get(review_url(article)).context["forms"]["accept"]

    assert form["event"].value() == closing.pk
    assert set(form.fields["event"].queryset) == {closing, other}
    assert "(draft)" in form.fields["event"].label_from_instance(other)


def test_the_change_url_of_an_article_leads_to_its_review_page(staff, article):
    response = staff.get(reverse("admin:tracker_article_change", args=[article.pk]))

    assert response.status_code == 302
    assert response.url == review_url(article)


# --- Accepting ----------------------------------------------------------------------------


def test_accepting_creates_the_source_and_the_citation_and_records_who_and_when(
    staff, editor, story, closing, article
):
    following = make_article(story, title="Next one", published_at=NOW - dt.timedelta(days=3))

    response = accept(
        staff, article, closing, quote="Meta has invested $14.3 billion.", attributed_to="Reuters"
    )

    assert response.status_code == 302
    assert response.url == review_url(following)
    source = Source.objects.get()
    assert source.url == article.url
    assert source.normalized_url == canonical_url(article.url)
    assert source.title == "Meta finalises its Scale AI investment"
    assert source.publisher == "Reuters"
    assert source.author == "A. Writer"
    assert source.published_on == timezone.localtime(article.published_at).date()
    assert source.published_text
    assert source.retrieved_at == article.extracted_at
    assert source.text == article.text
    citation = Citation.objects.get()
    assert (citation.event, citation.source) == (closing, source)
    assert citation.quote == "Meta has invested $14.3 billion."
    assert citation.attributed_to == "Reuters"
    article.refresh_from_db()
    assert article.review_state == "accepted"
    assert article.reviewed_by == editor
    assert abs(article.reviewed_at - timezone.now()) < dt.timedelta(minutes=1)
    decision = ArticleDecision.objects.get()
    assert (decision.action, decision.user, decision.citation) == ("accept", editor, citation)
    assert decision.has_created_source


def test_accepting_reuses_the_source_with_the_same_normalized_url(staff, closing, article):
    known = make_source(url="https://www.reuters.com/tech/meta-scale", title="Known")

    accept(staff, article, closing)

    assert Source.objects.count() == 1
    assert Citation.objects.get().source == known
    assert not ArticleDecision.objects.get().has_created_source


def test_accepting_can_add_a_value_to_one_of_the_events_claims(staff, closing, article):
    claim = make_claim(closing, "Investment size", [("$14.3 billion", True)])

    accept(staff, article, closing, claim=claim.pk, claim_value="$14.8 billion")

    value = ClaimValue.objects.get(claim=claim, value="$14.8 billion")
    assert list(value.citations.all()) == [Citation.objects.get()]
    assert not value.is_preferred
    assert ArticleDecision.objects.get().claim_value == value


def test_a_claim_of_another_event_is_refused_with_a_message_and_nothing_is_lost(
    staff, story, closing, article
):
    other_claim = make_claim(make_event(story), "Size", [])

    response = accept(
        staff,
        article,
        closing,
        claim=other_claim.pk,
        claim_value="$1",
        quote="My carefully edited passage",
    )

    assert response.status_code == 200
    assert any("belongs to another event" in m for m in messages_of(response))
    assert "My carefully edited passage" in response.content.decode()
    assert not Citation.objects.exists() and not Source.objects.exists()
    article.refresh_from_db()
    assert article.review_state == "pending"


def test_an_event_of_another_story_is_refused(staff, article):
    stranger = make_event(make_story())

    response = accept(staff, article, stranger)

    assert response.status_code == 200
    assert any("Event:" in m for m in messages_of(response))
    assert not Citation.objects.exists()


def test_accepting_into_an_event_already_citing_the_source_adds_no_second_citation(
    staff, story, closing, article
):
    source = make_source(url=article.url)
    cite(closing, source)

    accept(staff, article, closing)

    assert Citation.objects.count() == 1
    assert ArticleDecision.objects.get().citation is None


# --- A new event --------------------------------------------------------------------------


def test_creating_an_event_makes_a_prefilled_draft_citing_the_article(
    staff, editor, story, article
):
    meta = make_entity(name="Meta Platforms", aliases="Meta")
    scale = make_entity(name="Scale AI")
    unrelated = make_entity(name="OpenAI")
    tagged = make_event(story, title="Background")
    tagged.entities.set([meta, scale, unrelated])
    form = staff.get(review_url(article)).context["forms"]["create"]
    data = {f"create-{name}": value for name, value in form.initial.items()}
    data.update({"decision": "create", "create-category": "deal"})

    response = staff.post(review_url(article), data)

    event = Event.objects.get(title="Meta finalises its Scale AI investment")
    assert response.url == reverse("admin:tracker_event_change", args=[event.pk])
    assert event.status == "draft"
    assert event.precision == "day"
    assert event.occurred_on == timezone.localtime(article.published_at).date()
    assert event.summary == "Meta has invested $14.3 billion in Scale AI."
    assert set(event.entities.all()) == {meta, scale}
    assert event.slug == "meta-finalises-its-scale-ai-investment"
    citation = event.citations.get()
    assert citation.source.url == article.url
    assert event.history.first().history_user == editor
    article.refresh_from_db()
    assert article.review_state == "accepted"


def test_a_new_event_without_a_category_is_refused_with_the_form_kept(staff, article):
    response = staff.post(
        review_url(article),
        {"decision": "create", "create-title": "My title", "create-occurred_on": "2025-06-12"},
    )

    assert response.status_code == 200
    assert any(m.startswith("Category:") for m in messages_of(response))
    assert 'value="My title"' in response.content.decode()
    assert not Event.objects.filter(title="My title").exists()


# --- Rejecting and duplicates -------------------------------------------------------------


def test_rejecting_records_the_reason_the_note_and_who(staff, editor, article):
    response = staff.post(
        review_url(article),
        {"decision": "reject", "reject-reason": "opinion", "reject-note": "op-ed"},
    )

    assert response.status_code == 302
    article.refresh_from_db()
    assert (article.review_state, article.reject_reason, article.reject_note) == (
        "rejected",
        "opinion",
        "op-ed",
    )
    assert article.reviewed_by == editor
    assert ArticleDecision.objects.get().action == ReviewAction.REJECT


def test_rejecting_as_other_needs_a_note(staff, article):
    response = staff.post(review_url(article), {"decision": "reject", "reject-reason": "other"})

    assert any("note" in m for m in messages_of(response))
    article.refresh_from_db()
    assert article.review_state == "pending"


def test_marking_as_duplicate_files_it_under_the_original_of_the_original(staff, story, article):
    first = make_article(story, title="First report")
    second = make_article(story, duplicate_of=first, review_state="duplicate")

    staff.post(review_url(article), {"decision": "duplicate", "duplicate-original": second.pk})

    article.refresh_from_db()
    assert article.review_state == "duplicate"
    assert article.duplicate_of == first


def test_an_article_cannot_be_its_own_duplicate(staff, article):
    response = staff.post(
        review_url(article), {"decision": "duplicate", "duplicate-original": article.pk}
    )

    assert response.status_code == 200
    assert messages_of(response)
    article.refresh_from_db()
    assert article.review_state == "pending"


def test_bulk_reject_asks_for_the_reason_then_rejects_the_pending_ones(staff, editor, story):
    pending = [make_article(story) for _ in range(3)]
    accepted = make_article(story, review_state="accepted")
    selected = [a.pk for a in [*pending, accepted]]

    asked = staff.post(
        f"{QUEUE}?state=all", {"action": "reject_selected", "_selected_action": selected}
    )
    done = staff.post(
        f"{QUEUE}?state=all",
        {
            "action": "reject_selected",
            "_selected_action": selected,
            "apply": "yes",
            "reason": "unreliable",
            "note": "content farm",
        },
    )

    assert asked.status_code == 200 and "Reject them" in asked.content.decode()
    assert done.status_code == 302
    assert set(Article.objects.filter(review_state="rejected").values_list("pk", flat=True)) == {
        a.pk for a in pending
    }
    assert set(
        Article.objects.filter(pk__in=[a.pk for a in pending]).values_list(
            "reject_reason", "reject_note", "reviewed_by"
        )
    ) == {("unreliable", "content farm", editor.pk)}
    accepted.refresh_from_db()
    assert accepted.review_state == "accepted"
    assert any("Rejected 3" in m and "1 were not pending" in m for m in messages_of(done))


# --- Undo ---------------------------------------------------------------------------------


def undo(client, article):
    return client.post(review_url(article), {"decision": "undo"})


def test_undoing_an_accept_removes_the_citation_the_new_source_and_the_claim_value(
    staff, editor, closing, article
):
    claim = make_claim(closing, "Investment size", [("$14.3 billion", True)])
    accept(staff, article, closing, claim=claim.pk, claim_value="$14.8 billion")

    response = undo(staff, article)

    assert response.status_code == 302
    assert not Citation.objects.exists()
    assert not Source.objects.exists()
    assert list(claim.values.values_list("value", flat=True)) == ["$14.3 billion"]
    article.refresh_from_db()
    assert (article.review_state, article.reviewed_by, article.reviewed_at) == (
        "pending",
        None,
        None,
    )
    decision = ArticleDecision.objects.get()
    assert decision.undone_by == editor and decision.undone_at is not None
    assert Citation.history.filter(history_type="-").get().history_user == editor


def test_undo_keeps_a_source_another_event_cites(staff, story, closing, article):
    accept(staff, article, closing)
    source = Source.objects.get()
    cite(make_event(story), source)

    undo(staff, article)

    assert Source.objects.filter(pk=source.pk).exists()
    assert not Citation.objects.filter(event=closing).exists()


def test_undoing_a_new_event_deletes_the_draft_but_keeps_one_that_was_published(
    staff, story, article
):
    other = make_article(story)
    for a in [article, other]:
        staff.post(
            review_url(a),
            {
                "decision": "create",
                "create-title": f"From {a.pk}",
                "create-category": "deal",
                "create-occurred_on": "2025-06-12",
            },
        )
    Event.objects.filter(title=f"From {other.pk}").update(status="published")

    undo(staff, article)
    response = undo(staff, other)

    assert not Event.objects.filter(title=f"From {article.pk}").exists()
    assert Event.objects.filter(title=f"From {other.pk}").exists()
    assert any("Kept the event" in m for m in messages_of(response))


def test_undoing_a_rejection_or_a_duplicate_returns_the_article_to_the_queue(staff, story, article):
    original = make_article(story)
    staff.post(review_url(article), {"decision": "reject", "reject-reason": "off_topic"})
    undo(staff, article)
    staff.post(review_url(article), {"decision": "duplicate", "duplicate-original": original.pk})
    undo(staff, article)

    article.refresh_from_db()
    assert article.review_state == "pending"
    assert article.reject_reason == "" and article.duplicate_of is None
    assert ArticleDecision.objects.filter(undone_at__isnull=False).count() == 2
    html = staff.get(review_url(article)).content.decode()
    assert html.count("undone by editor") == 2


def test_undo_twice_says_it_is_already_undone(staff, closing, article):
    accept(staff, article, closing)
    stale = Article.objects.get(pk=article.pk)
    services.undo_decision(Article.objects.get(pk=article.pk), stale.reviewed_by)

    response = undo(staff, article)

    assert any("no decision on this article to undo" in m for m in messages_of(response))


# --- Two reviewers at once ----------------------------------------------------------------


def test_the_second_reviewer_is_told_who_decided_first_and_nothing_is_cited_twice(
    client, django_user_model, editor, closing, article
):
    other = django_user_model.objects.create_superuser("second", "s@example.org", "pw")
    second = client.__class__()
    client.force_login(editor)
    second.force_login(other)
    client.get(review_url(article))
    second.get(review_url(article))

    accept(client, article, closing)
    response = second.post(
        review_url(article), {"decision": "reject", "reject-reason": "off_topic"}, follow=True
    )
    accept(second, article, closing)

    text = " ".join(messages_of(response))
    assert "Already accepted by editor at" in text
    assert Citation.objects.count() == 1
    article.refresh_from_db()
    assert (article.review_state, article.reviewed_by) == ("accepted", editor)
    assert ArticleDecision.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_accepting_at_the_same_moment_make_one_citation(django_user_model):
    story = make_story()
    event = make_event(story)
    article = make_article(story)
    users = [
        django_user_model.objects.create_superuser(f"racer{i}", f"r{i}@example.org", "pw")
        for i in range(2)
    ]
    start = threading.Barrier(2)
    outcomes = []

    def review(user):
        try:
            start.wait()
            services.accept_article(Article.objects.get(pk=article.pk), user, event=event)
            outcomes.append("accepted")
        except services.ReviewConflict as conflict:
            outcomes.append(str(conflict))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=review, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("accepted") == 1, outcomes
    [lost] = [o for o in outcomes if o != "accepted"]
    assert lost.startswith("Already accepted by racer"), lost
    assert Citation.objects.count() == 1
    assert ArticleDecision.objects.count() == 1


# --- History ------------------------------------------------------------------------------


def test_citations_and_events_keep_who_changed_them_viewable_in_the_admin(
    staff, editor, closing, article
):
    accept(staff, article, closing)

    record = Citation.history.get()
    response = staff.get(reverse("admin:tracker_event_history", args=[closing.pk]))

    assert (record.history_type, record.history_user) == ("+", editor)
    assert response.status_code == 200
