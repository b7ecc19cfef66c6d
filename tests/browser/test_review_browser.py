"""An editor clears an article from the queue in a real browser, and the source
appears on the public event page."""

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from tracker.models import Article, Citation, Event
from tracker.storyio import import_story, load_document

FIXTURE = Path(settings.BASE_DIR) / "fixtures" / "meta-scale-ai.json"

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def page_settings(settings, tmp_path):
    """Plain HTTP on the live server, and static files without the hashed manifest."""
    settings.SECURE_SSL_REDIRECT = False
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def seeded_story(transactional_db):
    return import_story(load_document(FIXTURE), base_dir=FIXTURE.parent)


@pytest.fixture
def pending_article(seeded_story):
    closing = Event.objects.get(story=seeded_story, slug="closing")
    published = timezone.now() - dt.timedelta(hours=2)
    return Article.objects.create(
        story=seeded_story,
        guid="urn:reuters:meta-scale-close",
        url="https://www.reuters.com/technology/meta-finalizes-scale-ai-investment-2025-06-13/",
        normalized_url="https://www.reuters.com/technology/meta-finalizes-scale-ai-investment-2025-06-13",
        title="Meta finalizes $14.3 billion investment in Scale AI",
        outlet="Reuters",
        author="Krystal Hu",
        published_at=published,
        summary="<p>Meta has <b>finalized</b> its investment in Scale AI.</p>",
        text=(
            "Meta Platforms has finalized a $14.3 billion investment in Scale AI for a 49% "
            "stake, the companies said on Friday.\n\n"
            "Scale AI's chief executive will join Meta to work on its superintelligence effort."
        ),
        extraction_status="full",
        extracted_at=published + dt.timedelta(minutes=5),
        matched_terms=["Meta", "Scale AI"],
        relevance_score=6,
        suggested_event=closing,
        suggestion_score=0.91,
    )


@pytest.fixture
def more_of_the_queue(seeded_story, pending_article):
    """Rows that show why articles are in the queue: a copy from another outlet,
    and one like an article rejected before."""
    Article.objects.create(
        story=seeded_story,
        guid="urn:bloomberg:copy",
        title="Meta completes Scale AI deal",
        outlet="Bloomberg",
        duplicate_of=pending_article,
        review_state="duplicate",
        extraction_status="skipped",
    )
    rejected = Article.objects.create(
        story=seeded_story,
        guid="urn:blog:opinion",
        title="Why Meta overpaid for Scale AI",
        outlet="A blog",
        review_state="rejected",
        reject_reason="opinion",
        reject_note="a column, no news",
    )
    Article.objects.create(
        story=seeded_story,
        guid="urn:blog:opinion-2",
        title="Why Meta overpaid for Scale AI (updated)",
        outlet="A blog",
        published_at=timezone.now() - dt.timedelta(hours=5),
        matched_terms=["Meta"],
        relevance_score=2,
        extraction_status="teaser",
        previously_rejected=rejected,
    )


def test_an_editor_accepts_an_article_into_the_closing_and_the_public_page_cites_it(
    live_server, page, editor, seeded_story, pending_article, more_of_the_queue, artifacts_dir
):
    page.set_viewport_size({"width": 1600, "height": 1000})
    refused = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security" in message.text else None
        ),
    )
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", "pw-editor")
    page.click("input[type=submit]")
    page.wait_for_selector("#review-dashboard")
    page.screenshot(path=str(artifacts_dir / "review-dashboard.png"), full_page=True)

    page.click(f'#review-dashboard a[title="Pending articles of {seeded_story.title}"]')
    page.wait_for_selector("#result_list")
    assert "Meta finalizes $14.3 billion investment in Scale AI" in page.inner_text("#result_list")
    page.screenshot(path=str(artifacts_dir / "review-queue.png"), full_page=True)

    page.click("#result_list a:has-text('Meta finalizes')")
    page.wait_for_selector("#decision-accept")
    assert "Meta takes a 49% stake in Scale AI" in page.inner_text(
        "#id_accept-event option:checked"
    )
    page.screenshot(path=str(artifacts_dir / "review-article.png"), full_page=True)

    page.fill("#event-search", "49% stake")
    shown = page.eval_on_selector_all(
        "#id_accept-event option:not([hidden])", "options => options.map(o => o.text)"
    )
    assert shown == ["June 2025 — Meta takes a 49% stake in Scale AI"]
    page.fill("#id_accept-quote", "Meta Platforms has finalized a $14.3 billion investment.")
    page.fill("#id_accept-attributed_to", "")
    page.click("#accept-button")
    page.wait_for_selector(".messagelist")
    assert "Accepted" in page.inner_text(".messagelist")

    citation = Citation.objects.get(source__url=pending_article.url)
    assert citation.event.slug == "closing"
    page.goto(f"{live_server.url}/stories/meta-scale-ai/events/closing/")
    assert "Meta finalizes $14.3 billion investment in Scale AI" in page.inner_text("main")
    assert refused == []
