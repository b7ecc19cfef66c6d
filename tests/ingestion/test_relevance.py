"""Scoring articles against a story's include and exclude terms."""

from __future__ import annotations

import pytest

from tracker.ingestion.relevance import (
    BODY_WEIGHT,
    NO_TERMS_SCORE,
    TITLE_WEIGHT,
    Relevance,
    find_terms,
    passes,
    score,
)

STORY_TERMS = ["Scale AI", "Alexandr Wang", "data labeling"]


def test_terms_in_the_title_count_double() -> None:
    result = score(
        title="Meta invests in Scale AI",
        body="Alexandr Wang will join Meta.",
        include_terms=STORY_TERMS,
    )
    assert result.matched == ["Scale AI", "Alexandr Wang"]
    assert result.score == TITLE_WEIGHT + BODY_WEIGHT


def test_a_term_in_title_and_body_counts_once_at_the_title_weight() -> None:
    result = score(title="Scale AI layoffs", body="Scale AI cut staff.", include_terms=["Scale AI"])
    assert result.score == TITLE_WEIGHT


def test_matching_ignores_case_and_unicode_case_folding() -> None:
    assert score(title="SCALE ai news", include_terms=["Scale AI"]).matched == ["Scale AI"]
    assert score(title="Die Strasse", include_terms=["STRAßE"]).matched == ["STRAßE"]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Meta's stake in Scale AI's business", True),
        ("(Scale AI)", True),
        ("ScaleAI", False),
        ("Scale AIs", False),
        ("upscale AI chips", False),
        ("Scale\nAI", True),
        ("Scale - AI", True),
    ],
)
def test_terms_match_whole_words_only(text: str, found: bool) -> None:
    assert bool(score(title="", body=text, include_terms=["Scale AI"]).matched) is found


def test_hyphens_and_spaces_between_words_are_interchangeable() -> None:
    result = score(title="", body="the data-labeling startup", include_terms=["data labeling"])
    assert result.matched == ["data labeling"]


def test_terms_with_symbols_are_matched_literally() -> None:
    result = score(
        title="Meta pays $14.3 billion",
        body="written in C++ and C#",
        include_terms=["$14.3 billion", "C++", "C#", "14.3"],
    )
    assert result.matched == ["$14.3 billion", "C++", "C#", "14.3"]
    assert score(title="14x3", include_terms=["14.3"]).matched == []


def test_any_exclude_term_forces_the_score_to_zero() -> None:
    result = score(
        title="Scale AI: an opinion",
        body="Alexandr Wang sponsored content",
        include_terms=STORY_TERMS,
        exclude_terms=["sponsored content", "crypto"],
    )
    assert result.score == 0
    assert result.excluded == ["sponsored content"]
    assert result.matched == ["Scale AI", "Alexandr Wang"]
    assert not passes(result, 0.0)


def test_article_passes_when_its_score_reaches_the_threshold() -> None:
    result = score(title="", body="Scale AI cut staff", include_terms=STORY_TERMS)
    assert passes(result, 1.0)
    assert not passes(result, 1.5)


def test_article_without_any_term_does_not_pass() -> None:
    result = score(title="Weather", body="Sunny", include_terms=STORY_TERMS)
    assert result.score == 0
    assert result.matched == []
    assert not passes(result, 1.0)


def test_a_story_with_no_include_terms_sends_every_new_article_to_review() -> None:
    result = score(title="Anything at all", body="", include_terms=[])
    assert result.score == NO_TERMS_SCORE
    assert not result.has_include_terms
    assert passes(result, 1.0)
    assert passes(result, 99.0)
    assert passes(result, 99.0, False)


def test_blank_include_terms_count_as_none() -> None:
    assert passes(score(title="x", include_terms=["", "  "]), 5.0)


def test_a_story_with_no_include_terms_still_honours_its_exclude_terms() -> None:
    result = score(title="Crypto news", include_terms=[], exclude_terms=["crypto"])
    assert result.score == 0
    assert not passes(result, 1.0)


def test_callers_may_say_whether_the_story_has_include_terms() -> None:
    assert not passes(Relevance(score=0.0), 1.0, True)
    assert passes(Relevance(score=0.0), 1.0, False)


def test_find_terms_lists_the_terms_present_in_the_order_given() -> None:
    text = "Jason Droege replaces Alexandr Wang at Scale AI"
    assert find_terms(text, ["Scale AI", "Meta", "alexandr wang"]) == ["Scale AI", "alexandr wang"]
    assert find_terms("", ["Scale AI"]) == []
