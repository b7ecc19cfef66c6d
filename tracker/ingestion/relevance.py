"""Does an article belong to a story? Scores it against the story's terms.

Terms are phrases matched as whole words, ignoring case (Unicode case folding,
so "STRASSE" matches "Straße"), with any run of spaces or hyphens between
words ("data labeling" matches "data-labeling"). No database here.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

# A term in the title says more about the article than one in its body.
TITLE_WEIGHT: Final = 2.0
BODY_WEIGHT: Final = 1.0

# The score of an article for a story without include terms: the default
# threshold (Story.relevance_threshold), so a stored score reads as "passed".
# ``passes`` does not rely on it: with no include terms every article passes.
NO_TERMS_SCORE: Final = 1.0

_SEPARATORS = re.compile(r"[\s\-‐‑–]+")


@dataclass(frozen=True)
class Relevance:
    """``score`` is the sum, over the include terms found, of TITLE_WEIGHT when the
    term is in the title, else BODY_WEIGHT; 0 when an exclude term is found.
    ``matched`` and ``excluded`` list the terms found, as the story spells them.
    ``has_include_terms`` records whether the story had any."""

    score: float
    matched: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    has_include_terms: bool = True


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


@functools.lru_cache(maxsize=1024)
def _pattern(term: str) -> re.Pattern[str] | None:
    words = [w for w in _SEPARATORS.split(_fold(term).strip()) if w]
    if not words:
        return None
    body = r"[\s\-‐‑–]+".join(re.escape(w) for w in words)
    # Lookarounds rather than \b: a term may start or end with a non-word
    # character ("C++", "$14.3 billion") where \b would never match.
    return re.compile(rf"(?<!\w){body}(?!\w)")


def _found(term: str, folded_text: str) -> bool:
    pattern = _pattern(term)
    return pattern is not None and pattern.search(folded_text) is not None


def find_terms(text: str, terms: Sequence[str]) -> list[str]:
    """The ``terms`` that occur in ``text`` as whole words (matched as ``score``
    matches them), in the order given. Returns [] when none does."""
    folded = _fold(text or "")
    return [term for term in terms if _found(term, folded)]


def score(
    *,
    title: str,
    body: str = "",
    include_terms: Sequence[str],
    exclude_terms: Sequence[str] = (),
) -> Relevance:
    """Score an article (``title`` and plain-text ``body``, e.g. the feed summary
    or the extracted text) against a story's terms.

    Any exclude term found forces the score to 0. With no include terms the
    score is NO_TERMS_SCORE: a story with no include terms sends every new
    article to review. Use ``passes`` to decide, not the score alone.
    """
    folded_title, folded_body = _fold(title or ""), _fold(body or "")
    excluded = [t for t in exclude_terms if _found(t, folded_title) or _found(t, folded_body)]
    includes = [t for t in include_terms if t.strip()]
    matched: list[str] = []
    total = 0.0
    for term in includes:
        if _found(term, folded_title):
            total += TITLE_WEIGHT
        elif _found(term, folded_body):
            total += BODY_WEIGHT
        else:
            continue
        matched.append(term)
    if not includes:
        total = NO_TERMS_SCORE
    if excluded:
        total = 0.0
    return Relevance(
        score=total, matched=matched, excluded=excluded, has_include_terms=bool(includes)
    )


def passes(relevance: Relevance, threshold: float, has_include_terms: bool | None = None) -> bool:
    """Whether the article goes to review: never when an exclude term matched;
    always when the story has no include terms; otherwise when the score reaches
    ``threshold``. ``has_include_terms`` defaults to what ``score`` recorded."""
    if relevance.excluded:
        return False
    if has_include_terms is None:
        has_include_terms = relevance.has_include_terms
    if not has_include_terms:
        return True
    return relevance.score >= threshold
