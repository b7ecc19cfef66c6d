"""insert_rows stores what bulk_create stores, faster."""

import datetime as dt

import pytest

from tracker.bulk import insert_rows
from tracker.models import Article, Feed, Story

pytestmark = pytest.mark.django_db


def articles(story: Story, feed: Feed, tag: str) -> list[Article]:
    published = dt.datetime(2025, 6, 12, 10, 30, 15, 250, tzinfo=dt.UTC)
    first = Article(
        story=story,
        feed=feed,
        guid=f"{tag}-1",
        url=f"https://wire.example/{tag}/1",
        normalized_url=f"https://wire.example/{tag}/1",
        title="Meta takes a 49% stake in Scale AI — “a big bet”",
        published_at=published,
        summary="<p>Scale AI &amp; Meta</p>",
        matched_terms=["Scale AI", "Meta"],
        metadata={"sitename": "Wire", "nested": {"n": 1}},
        relevance_score=2.5,
        fingerprint=-(2**63) + 5,
        fingerprint_band0=65535,
    )
    copy = Article(story=story, feed=feed, guid=f"{tag}-2", title="A copy", duplicate_of=first)
    return [first, copy]


def stored(article: Article) -> dict:
    """The row as read back, less what differs between the two sets by design."""
    row = Article.objects.get(pk=article.pk)
    differ = {"id", "guid", "url", "normalized_url", "duplicate_of_id", "created_at"}
    return {
        f.attname: getattr(row, f.attname)
        for f in Article._meta.concrete_fields
        if f.attname not in differ
    }


def test_insert_rows_stores_what_bulk_create_stores_and_sets_the_keys():
    story = Story.objects.create(slug="s", title="S")
    feed = Feed.objects.create(url="https://wire.example/feed.xml")
    by_orm = articles(story, feed, "orm")
    Article.objects.bulk_create(by_orm[:1])
    Article.objects.bulk_create(by_orm[1:])
    fast = articles(story, feed, "fast")
    insert_rows(fast[:1])
    insert_rows(fast[1:])

    assert all(a.pk and not a._state.adding for a in fast)
    assert [stored(a) for a in fast] == [stored(a) for a in by_orm]
    # The copy points at the row inserted before it, through the key it got.
    assert Article.objects.get(pk=fast[1].pk).duplicate_of_id == fast[0].pk
    first = Article.objects.get(pk=fast[0].pk)
    assert first.created_at is not None and first.published_at == fast[0].published_at
    assert first.metadata == {"sitename": "Wire", "nested": {"n": 1}}


def test_insert_rows_splits_what_one_statement_cannot_hold():
    story = Story.objects.create(slug="s", title="S")
    feed = Feed.objects.create(url="https://wire.example/feed.xml")
    many = [Article(story=story, feed=feed, guid=str(i), title=f"t{i}") for i in range(700)]
    insert_rows(many)
    assert Article.objects.count() == 700
    assert sorted(a.pk for a in many) == sorted(Article.objects.values_list("pk", flat=True))
    assert {Article.objects.get(pk=a.pk).guid for a in many[::50]} == {a.guid for a in many[::50]}


def test_insert_rows_refuses_a_row_pointing_at_an_unsaved_one_as_bulk_create_does():
    story = Story.objects.create(slug="s", title="S")
    feed = Feed.objects.create(url="https://wire.example/feed.xml")
    _, copy = articles(story, feed, "unsaved")
    with pytest.raises(ValueError, match="unsaved related object 'duplicate_of'"):
        insert_rows([copy])
    assert not Article.objects.exists()
