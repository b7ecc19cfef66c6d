"""extract_article() on the sample pages in fixtures/pages/."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from tracker.ingestion.extract import (
    FAILED,
    FULL,
    FULL_TEXT_MIN_CHARS,
    TEASER,
    ExtractedArticle,
    extract_article,
)

PAGES = Path(__file__).resolve().parents[2] / "fixtures" / "pages"


def extract(name: str, **kwargs: int) -> ExtractedArticle:
    return extract_article(
        (PAGES / name).read_bytes(), url=f"https://news.example/{name}", **kwargs
    )


def test_full_article_keeps_the_story_and_drops_the_page_chrome() -> None:
    article = extract("techledger_meta_scale_stake.html")
    assert article.status == FULL
    assert article.reason == ""
    assert article.text.startswith("Meta Platforms has agreed to invest $14.3 billion in Scale AI")
    assert "Meta declined to comment beyond the announcement." in article.text
    for chrome in ("cookies", "Newsletters", "Sign up", "All rights reserved", "More from"):
        assert chrome not in article.text


def test_full_article_metadata_comes_from_the_page() -> None:
    article = extract("techledger_meta_scale_stake.html")
    assert article.title == "Meta takes 49% stake in Scale AI for $14.3 billion"
    assert article.author == "Dana Whitfield"
    assert article.published == dt.date(2025, 6, 13)
    assert article.sitename == "Tech Ledger"
    assert article.description.startswith("Meta Platforms will invest $14.3 billion")
    assert article.metadata() == {
        "title": article.title,
        "author": "Dana Whitfield",
        "published": "2025-06-13",
        "sitename": "Tech Ledger",
        "description": article.description,
    }


def test_paywalled_page_is_a_teaser_with_its_metadata() -> None:
    article = extract("ledger_street_paywalled_teaser.html")
    assert article.status == TEASER
    assert 0 < len(article.text) < FULL_TEXT_MIN_CHARS
    assert "courting researchers" in article.text
    assert "Subscribe" not in article.text
    assert "teaser" in article.reason
    assert article.title == "Inside Meta's Scramble to Catch Up in AI"
    assert article.published == dt.date(2025, 6, 20)


def test_syndicated_copy_yields_the_same_story_without_either_sites_chrome() -> None:
    original = extract("northwire_scale_layoffs.html")
    copy = extract("daily_courier_scale_layoffs_syndicated.html")
    assert original.status == copy.status == FULL
    assert original.sitename == "Northwire"
    assert copy.sitename == "The Daily Courier"
    for text in (original.text, copy.text):
        assert "ramped up our generative AI capacity too fast" in text
        assert "ADVERTISEMENT" not in text
        assert "County fair" not in text
        assert "Another day, another tech layoff" not in text  # a reader comment


def test_text_is_capped_on_a_word_boundary() -> None:
    article = extract("techledger_meta_scale_stake.html", max_chars=1000)
    assert article.status == FULL
    assert article.is_truncated
    assert 900 < len(article.text) <= 1000
    assert not article.text.endswith(" ")
    full = extract("techledger_meta_scale_stake.html").text
    assert full.startswith(article.text)


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        "   \n",
        b"\x00\x01\x02\xff" * 500,
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        "<html><body></body></html>",
        "<<<<>>>>",
        b"<html>" + b"<div>" * 3000 + b"deep" + b"</div>" * 3000,
        '{"not": "html"}',
    ],
)
def test_garbage_fails_with_a_reason_instead_of_raising(garbage: bytes | str) -> None:
    article = extract_article(garbage, url="https://news.example/garbage")
    assert article.status == FAILED
    assert article.text == ""
    assert article.reason


def test_a_crash_inside_the_extractor_is_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr("tracker.ingestion.extract.trafilatura.bare_extraction", explode)
    article = extract("techledger_meta_scale_stake.html")
    assert article.status == FAILED
    assert article.reason == "extraction error: RecursionError: maximum recursion depth exceeded"


def test_text_given_as_str_is_read_too() -> None:
    html = (PAGES / "northwire_scale_layoffs.html").read_text(encoding="utf-8")
    assert extract_article(html, url="https://news.example/a").status == FULL
