"""Which event of its story an article most likely reports, for the reviewer.

Plain data in, one suggestion out; no database. Three content signals, each in
[0, 1], are averaged with WEIGHTS:

- entities: the share of the event's entities the article names;
- terms: the share of the event's distinctive words the article uses, each word
  weighted by how rare it is among the story's events (words every event of a
  Meta/Scale AI story shares, such as "meta", tell the events apart poorly);
- title: word overlap (Jaccard) of the two titles;

and the date signal (how close the article's date is to the event's date or
span) scales that mean between DATE_FLOOR and 1. An event without entities
leaves that signal out and the others are re-weighted.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from tracker.ingestion.relevance import find_terms

# Weights of the content signals; the date then scales their mean (see DATE_FLOOR).
WEIGHTS: Final = {"entities": 0.3, "terms": 0.45, "title": 0.25}
# An article far from an event's date keeps this share of its content score: a
# story's later articles mention its earlier events as background, which says
# little about what they report. An undated article or event keeps the share a
# date half-way close would give.
DATE_FLOOR: Final = 0.3

# The date signal halves for every this many days between article and event:
# news follows an event within days; a month away it is background.
DATE_HALF_LIFE_DAYS: Final = 7.0
# Spans are averaged over at most this many days (a decade).
MAX_SPAN_DAYS: Final = 3660

# Below this nothing is suggested. Calibrated on the events of the seeded
# Meta/Scale AI story against the sample feeds and pages: right matches score
# 0.32 (a headline alone) to 0.63 (a full article on the day), while a full
# article about something the timeline lacks (the July 2025 layoffs) scores 0.28
# against its best wrong event, and short items on other subjects under 0.2.
SUGGESTION_FLOOR: Final = 0.3

_WORD = re.compile(r"\w+", re.UNICODE)
# Words that carry no meaning for matching: English function words and the
# vocabulary of every news report.
_STOPWORD_TEXT = """
a about after again against all also am an and any are as at be because been
before being between both but by can could did do does doing down during each
few for from further had has have having he her here hers him his how i if in
into is it its itself just more most my no nor not now of off on once only or
other our ours out over own same she should so some such than that the their
theirs them then there these they this those through to too under until up
very was we were what when where which while who whom why will with would you
your says said say according report reports reported new year years company
companies people percent per cent billion million week weeks month months day
days mr ms one two three first last
"""
_STOPWORDS: Final = frozenset(_STOPWORD_TEXT.split())
# Crude English suffix stripping, enough for "investment", "invests" and
# "invested" to meet "invest"; words keep at least four letters.
_SUFFIXES: Final = ("ments", "ment", "ings", "ing", "ers", "er", "ed", "es", "s")


@dataclass(frozen=True)
class ArticleFeatures:
    """What is known of an article: ``text`` is plain text (feed summary and, once
    extracted, the page's text); ``date`` is its publication date; ``entities``
    may list entity names the caller already found in it (the event's entities
    are also looked for in ``title`` and ``text``); ``terms`` are extra phrases
    it is known to contain, such as the story's include terms it matched."""

    title: str
    text: str = ""
    date: dt.date | None = None
    entities: Sequence[str] = ()
    terms: Sequence[str] = ()


@dataclass(frozen=True)
class EventFeatures:
    """What is known of an event. ``key`` is returned in the suggestion (the
    event's primary key). ``date`` is when it happened and ``end_date`` the last
    day it covers: the end of a span, or of the period for an event dated to a
    month, quarter or year (defaults to ``date``). Each item of ``entities`` is
    one entity: its name, or a sequence of its name and aliases (any one found
    counts). ``terms`` are extra phrases that characterise the event."""

    key: int
    title: str
    text: str = ""
    date: dt.date | None = None
    end_date: dt.date | None = None
    entities: Sequence[str | Sequence[str]] = ()
    terms: Sequence[str] = ()


@dataclass(frozen=True)
class Suggestion:
    """The event an article most likely reports: ``key`` of the event, ``score``
    in [0, 1], and the signals that made it (``signals``, each in [0, 1])."""

    key: int
    score: float
    signals: dict[str, float] = field(default_factory=dict)


def _stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def _words(text: str) -> set[str]:
    folded = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    return {
        _stem(w)
        for w in _WORD.findall(folded.replace("'s ", " "))
        if w not in _STOPWORDS and (len(w) >= 3 or (w.isdigit() and len(w) >= 2))
    }


def date_signal(
    article_date: dt.date | None, start: dt.date | None, end: dt.date | None = None
) -> float | None:
    """How close ``article_date`` is to an event that happened on one unknown day
    between ``start`` and ``end``: the average, over the days of the span, of a
    closeness that halves every DATE_HALF_LIFE_DAYS. 1 for the very day of a
    one-day event, about 0.5 anywhere inside a month, and small inside a span of
    many months, which says little about which day the article reports.
    Returns None when either side has no date."""
    if article_date is None or start is None:
        return None
    end = min(max(end or start, start), start + dt.timedelta(days=MAX_SPAN_DAYS))
    span = (end - start).days + 1
    total = sum(
        0.5 ** (abs((article_date - start).days - offset) / DATE_HALF_LIFE_DAYS)
        for offset in range(span)
    )
    return float(total / span)


def _entity_signal(event: EventFeatures, article_text: str, known: set[str]) -> float | None:
    if not event.entities:
        return None
    found = 0
    for entity in event.entities:
        names = [entity] if isinstance(entity, str) else list(entity)
        if any(n.casefold() in known for n in names) or find_terms(article_text, names):
            found += 1
    return found / len(event.entities)


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def rank_events(article: ArticleFeatures, events: Sequence[EventFeatures]) -> list[Suggestion]:
    """Every event scored for ``article``, best first; ties go to the event nearer
    in date, then to the one given first. Returns [] when there are no events."""
    article_text = f"{article.title}\n{article.text}\n" + "\n".join(article.terms)
    article_words = _words(article_text)
    article_title_words = _words(article.title)
    known_entities = {name.casefold() for name in article.entities}

    event_words = [_words(f"{e.title}\n{e.text}\n" + "\n".join(e.terms)) for e in events]
    document_frequency: Counter[str] = Counter(w for words in event_words for w in words)
    count = len(events)

    def rarity(word: str) -> float:
        return 1.0 + math.log(count / document_frequency[word])

    ranked: list[tuple[tuple[float, float, int], Suggestion]] = []
    for index, (event, words) in enumerate(zip(events, event_words, strict=True)):
        signals: dict[str, float] = {}
        date = date_signal(article.date, event.date, event.end_date)
        if date is not None:
            signals["date"] = date
        entities = _entity_signal(event, article_text, known_entities)
        if entities is not None:
            signals["entities"] = entities
        if words:
            total = sum(rarity(w) for w in words)
            signals["terms"] = sum(rarity(w) for w in words & article_words) / total
        signals["title"] = _jaccard(_words(event.title), article_title_words)
        content = [(WEIGHTS[name], value) for name, value in signals.items() if name in WEIGHTS]
        mean = sum(w * v for w, v in content) / sum(w for w, _ in content)
        closeness = 0.5 if date is None else date
        score = mean * (DATE_FLOOR + (1 - DATE_FLOOR) * closeness)
        suggestion = Suggestion(
            key=event.key,
            score=round(score, 4),
            signals={name: round(value, 4) for name, value in signals.items()},
        )
        ranked.append(((-suggestion.score, -signals.get("date", 0.0), index), suggestion))
    ranked.sort(key=lambda item: item[0])
    return [suggestion for _, suggestion in ranked]


def suggest_event(
    article: ArticleFeatures,
    events: Sequence[EventFeatures],
    *,
    floor: float = SUGGESTION_FLOOR,
) -> Suggestion | None:
    """The best-scoring event for ``article`` (see ``rank_events``), or None when
    there are no events or the best scores below ``floor``."""
    ranked = rank_events(article, events)
    if not ranked or ranked[0].score < floor:
        return None
    return ranked[0]
