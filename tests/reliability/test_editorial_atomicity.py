"""Editorial decisions are all or nothing: a failure at any step half-way leaves
no half-made event, source, citation or claim value, and the article is back
in the queue as it was."""

import pytest
from django.db import DatabaseError

from tests.factories import make_event, make_story
from tracker import services
from tracker.models import (
    Article,
    ArticleDecision,
    Citation,
    Claim,
    ClaimValue,
    Event,
    ReviewState,
    Source,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def article():
    story = make_story(slug="deal", title="The deal", include_terms="Scale AI")
    return Article.objects.create(
        story=story,
        guid="urn:1",
        url="https://wire.example/scale-ai-deal",
        title="Meta invests in Scale AI",
        outlet="Wire",
        summary="<p>Meta invests $14.3 billion in Scale AI.</p>",
        text="Meta invests $14.3 billion in Scale AI for 49%.",
        extraction_status="full",
    )


def counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Event, Source, Citation, ClaimValue, ArticleDecision)
    }


def fail_at(monkeypatch, target, name: str) -> None:
    original = getattr(target, name)

    def broken(*args, **kwargs):
        # _save stores the citation first: fail it on the claim value, the last row.
        if name == "_save" and not isinstance(args[0], ClaimValue):
            return original(*args, **kwargs)
        raise DatabaseError(f"injected failure in {name}")

    monkeypatch.setattr(target, name, broken)


# Each step a decision takes after it has moved the article out of the queue.
CREATE_STEPS = [
    (services, "_source_for"),
    (services, "_cite"),
    (ArticleDecision.objects, "create"),
]
ACCEPT_STEPS = [*CREATE_STEPS, (services, "_save")]


@pytest.mark.parametrize(
    ("target", "name"), CREATE_STEPS, ids=[name for _target, name in CREATE_STEPS]
)
def test_a_new_event_that_fails_half_way_leaves_nothing_behind(
    monkeypatch, article, editor, target, name, report
):
    before = counts()
    fail_at(monkeypatch, target, name)

    with pytest.raises(DatabaseError):
        services.create_event_from_article(article, editor, category="deal", title="Meta invests")

    assert counts() == before
    article.refresh_from_db()
    assert article.review_state == ReviewState.PENDING and article.reviewed_by is None
    report.input(
        f"decision-fails-at-{name}",
        what=f"create an event from an article; a database error at {name}",
        expect="rolled back: no event, source, citation or decision; article pending",
        survived=True,
    )


@pytest.mark.parametrize(
    ("target", "name"),
    ACCEPT_STEPS,
    ids=["_source_for", "_cite", "decision", "claim_value"],
)
def test_an_acceptance_that_fails_half_way_leaves_nothing_behind(
    monkeypatch, article, editor, target, name
):
    event = make_event(article.story, title="Meta invests", slug="meta-invests")
    claim = Claim.objects.create(event=event, label="Investment size")
    before = counts()
    fail_at(monkeypatch, target, name)

    with pytest.raises(DatabaseError):
        services.accept_article(
            article, editor, event=event, quote="$14.3 billion", claim=claim, claim_value="$14.3bn"
        )

    assert counts() == before
    article.refresh_from_db()
    assert article.review_state == ReviewState.PENDING


def test_after_a_failed_decision_the_same_decision_succeeds(monkeypatch, article, editor):
    with monkeypatch.context() as patch:
        fail_at(patch, services, "_cite")
        with pytest.raises(DatabaseError):
            services.create_event_from_article(article, editor, category="deal", title="X")

    decision = services.create_event_from_article(article, editor, category="deal", title="X")

    assert decision.event.citations.count() == 1
    assert Event.objects.count() == 1 and Source.objects.count() == 1
