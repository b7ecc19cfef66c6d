"""Suggesting the event an article reports, on events like the seeded story's."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest

from tracker.ingestion.extract import extract_article
from tracker.ingestion.suggest import (
    SUGGESTION_FLOOR,
    ArticleFeatures,
    EventFeatures,
    date_signal,
    rank_events,
    suggest_event,
)

PAGES = Path(__file__).resolve().parents[2] / "fixtures" / "pages"
META = ("Meta", "Meta Platforms")
SCALE = ("Scale AI", "Scale")
WANG = ("Alexandr Wang", "Alexander Wang")
GOOGLE = ("Google", "Alphabet")
JUNE_1, JUNE_30 = dt.date(2025, 6, 1), dt.date(2025, 6, 30)

FOUNDED, TALKS, STAKE, WANG_LEAVES, GOOGLE_CUTS, LAYOFFS, NEBIUS = range(1, 8)
EVENTS = [
    EventFeatures(
        key=FOUNDED,
        title="Alexandr Wang founds Scale AI",
        text="Alexandr Wang founds Scale AI, a company that labels and curates the data "
        "AI models are trained on.",
        date=dt.date(2016, 1, 1),
        end_date=dt.date(2016, 12, 31),
        entities=[WANG, SCALE],
    ),
    EventFeatures(
        key=TALKS,
        title="Meta in talks to invest more than $10 billion in Scale AI",
        text="Bloomberg reports that Meta is negotiating an investment in Scale AI that "
        "could exceed $10 billion.",
        entities=[META, SCALE],
        date=JUNE_1,
        end_date=JUNE_30,
    ),
    EventFeatures(
        key=STAKE,
        title="Meta takes a 49% stake in Scale AI",
        text="Meta invests about $14.3 billion for a 49% stake in Scale AI, valuing the "
        "company at about $29 billion.",
        entities=[META, SCALE],
        date=JUNE_1,
        end_date=JUNE_30,
    ),
    EventFeatures(
        key=WANG_LEAVES,
        title="Alexandr Wang leaves Scale AI to lead Meta's superintelligence unit",
        text="Scale AI's founder and chief executive, Alexandr Wang, joins Meta to lead a "
        "new superintelligence unit; Jason Droege becomes interim chief executive.",
        entities=[WANG, ("Jason Droege",), META, SCALE],
        date=JUNE_1,
        end_date=JUNE_30,
    ),
    EventFeatures(
        key=GOOGLE_CUTS,
        title="Google moves to end its work with Scale AI",
        text="Google, Scale AI's largest customer, moves to cut ties after the Meta deal "
        "becomes public.",
        entities=[GOOGLE, META, SCALE],
        date=JUNE_1,
        end_date=JUNE_30,
    ),
    EventFeatures(
        key=LAYOFFS,
        title="Scale AI lays off 14% of its staff",
        text="Scale AI cuts about 200 employees and 500 contractors, saying it grew its "
        "generative AI business too fast.",
        date=dt.date(2025, 7, 16),
        entities=[SCALE, ("Jason Droege",)],
    ),
    EventFeatures(
        key=NEBIUS,
        title="Meta signs a $27 billion compute agreement with Nebius",
        text="Meta signs a multi-year agreement with Nebius Group for dedicated capacity "
        "on Nvidia's platform.",
        date=dt.date(2026, 3, 1),
        end_date=dt.date(2026, 3, 31),
        entities=[META, ("Nebius Group", "Nebius"), ("Nvidia",)],
    ),
]


def page(name: str) -> ArticleFeatures:
    extracted = extract_article((PAGES / f"{name}.html").read_bytes(), url="https://a.example/")
    return ArticleFeatures(title=extracted.title, text=extracted.text, date=extracted.published)


def test_article_on_the_deal_is_matched_to_the_stake() -> None:
    found = suggest_event(page("techledger_meta_scale_stake"), EVENTS)
    assert found is not None
    assert found.key == STAKE
    assert 0.5 < found.score <= 1
    assert set(found.signals) == {"date", "entities", "terms", "title"}


def test_article_on_the_layoffs_is_matched_to_the_layoffs() -> None:
    found = suggest_event(page("northwire_scale_layoffs"), EVENTS)
    assert found is not None
    assert found.key == LAYOFFS


def test_syndicated_copy_gets_the_same_suggestion_as_its_original() -> None:
    original = suggest_event(page("northwire_scale_layoffs"), EVENTS)
    copy = suggest_event(page("daily_courier_scale_layoffs_syndicated"), EVENTS)
    assert original is not None and copy is not None
    assert copy.key == original.key


def test_an_article_about_something_the_timeline_lacks_gets_no_suggestion() -> None:
    without_layoffs = [e for e in EVENTS if e.key != LAYOFFS]
    assert suggest_event(page("northwire_scale_layoffs"), without_layoffs) is None


def test_a_headline_alone_can_be_enough() -> None:
    article = ArticleFeatures(
        title="Google plans to cut ties with Scale AI after Meta deal, sources say",
        text="Google, Scale AI's largest customer, is said to be winding down several "
        "projects with the data-labeling startup.",
        date=dt.date(2025, 6, 14),
    )
    found = suggest_event(article, EVENTS)
    assert found is not None
    assert found.key == GOOGLE_CUTS


def test_an_unrelated_article_gets_no_suggestion() -> None:
    article = ArticleFeatures(
        title="County fair returns with new rides this weekend",
        text="The fair opens Friday with a new roller coaster and a pie contest.",
        date=dt.date(2025, 6, 14),
    )
    assert suggest_event(article, EVENTS) is None


def test_the_same_words_far_from_the_event_date_score_lower() -> None:
    words = {"title": "Meta takes 49% stake in Scale AI", "text": "$14.3 billion for 49%"}
    near = suggest_event(ArticleFeatures(**words, date=dt.date(2025, 6, 13)), EVENTS, floor=0)
    far = suggest_event(ArticleFeatures(**words, date=dt.date(2026, 6, 13)), EVENTS, floor=0)
    assert near is not None and far is not None
    assert near.key == far.key == STAKE
    assert far.score < near.score / 2


def test_an_undated_article_is_still_matched_on_content() -> None:
    article = ArticleFeatures(
        title="Meta signs $27 billion Nebius compute agreement",
        text="The deal with Nebius Group covers Nvidia capacity.",
    )
    found = suggest_event(article, EVENTS)
    assert found is not None
    assert found.key == NEBIUS
    assert "date" not in found.signals


def test_entities_the_caller_found_count_like_names_in_the_text() -> None:
    article = ArticleFeatures(title="Compute deal signed", date=dt.date(2026, 3, 10))
    plain = rank_events(article, EVENTS)[0]
    told = rank_events(replace(article, entities=["Nebius", "Nvidia", "Meta"]), EVENTS)[0]
    assert told.key == NEBIUS
    assert told.signals["entities"] == 1.0
    assert told.score > plain.score


def test_ranking_lists_every_event_best_first_with_scores_in_range() -> None:
    ranked = rank_events(page("techledger_meta_scale_stake"), EVENTS)
    assert sorted(s.key for s in ranked) == sorted(e.key for e in EVENTS)
    scores = [s.score for s in ranked]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)


def test_ties_go_to_the_nearer_event_then_the_first() -> None:
    events = [
        EventFeatures(key=key, title="Scale AI news", entities=[SCALE], date=date)
        for key, date in ((1, dt.date(2025, 1, 1)), (2, JUNE_1), (3, JUNE_1))
    ]
    article = ArticleFeatures(title="Scale AI news", date=dt.date(2025, 6, 2))
    assert [s.key for s in rank_events(article, events)] == [2, 3, 1]


def test_no_events_means_no_suggestion() -> None:
    assert suggest_event(ArticleFeatures(title="Scale AI"), []) is None
    assert rank_events(ArticleFeatures(title="Scale AI"), []) == []


def test_events_given_as_flat_name_lists_still_work() -> None:
    events = [
        EventFeatures(key=1, title="Meta takes a stake in Scale AI", entities=["Meta", "Scale AI"])
    ]
    found = suggest_event(ArticleFeatures(title="Meta takes stake in Scale AI"), events)
    assert found is not None
    assert found.signals["entities"] == 1.0


@pytest.mark.parametrize(
    ("article", "start", "end", "expected"),
    [
        (dt.date(2025, 6, 13), dt.date(2025, 6, 13), None, 1.0),
        (dt.date(2025, 6, 20), dt.date(2025, 6, 13), None, 0.5),
        (dt.date(2025, 6, 6), dt.date(2025, 6, 13), None, 0.5),
        (dt.date(2025, 6, 27), dt.date(2025, 6, 13), None, 0.25),
    ],
)
def test_date_closeness_halves_every_week(
    article: dt.date, start: dt.date, end: dt.date | None, expected: float
) -> None:
    assert date_signal(article, start, end) == pytest.approx(expected)


def test_a_date_inside_a_long_span_says_little() -> None:
    day = date_signal(dt.date(2025, 6, 15), dt.date(2025, 6, 15))
    month = date_signal(dt.date(2025, 6, 15), dt.date(2025, 6, 1), dt.date(2025, 6, 30))
    months = date_signal(dt.date(2025, 6, 15), dt.date(2025, 6, 1), dt.date(2026, 3, 1))
    assert day == 1.0
    assert month is not None and 0.4 < month < 0.6
    assert months is not None and months < 0.1
    assert date_signal(None, dt.date(2025, 6, 1)) is None
    assert date_signal(dt.date(2025, 6, 1), None) is None


def test_the_floor_is_what_the_module_says() -> None:
    weak = suggest_event(page("northwire_scale_layoffs"), [EVENTS[STAKE - 1]], floor=0)
    assert weak is not None and weak.score < SUGGESTION_FLOOR
