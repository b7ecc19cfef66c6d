"""Identity of articles: canonical URLs, title keys and SimHash fingerprints.

No database here: the pipeline asks these functions and compares the answers.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import urlsplit, urlunsplit

import courlan

_WORD = re.compile(r"\w+", re.UNICODE)


def canonical_url(url: str) -> str:
    """The form of ``url`` two copies of one page share: lower-case host, no default
    port, no tracking parameters (utm_*, fbclid, ref, ...), sorted query, no fragment.
    Returns "" for something that is not an http(s) URL."""
    url = (url or "").strip()
    if not url:
        return ""
    try:
        normalized = courlan.normalize_url(url)
    except (ValueError, AttributeError):
        return ""
    parts = urlsplit(normalized)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


# --- Titles -------------------------------------------------------------------------

# Outlets append their name to titles: "Meta invests in Scale AI - Reuters",
# "... | TechCrunch", "... — The Verge". Only spaced separators count, so
# "Meta-Scale" and "14.3-billion" are left alone.
_TITLE_SUFFIX = re.compile(r"\s+[-–—|•·:]\s+([^-–—|•·]+)$")
# A trailing segment of at most this many words is taken for an outlet name.
_MAX_OUTLET_WORDS = 4
# Titles shorter than this (after the outlet is stripped) are too generic to
# match on ("Live updates", "Scale AI news"): the key is "" and nothing matches.
MIN_TITLE_KEY_WORDS = 4
TITLE_KEY_MAX_CHARS = 300  # Article.title_key's max_length


def title_key(title: str, *, outlet: str = "") -> str:
    """A key two copies of one headline share: case-folded, outlet suffixes such as
    " - Reuters" or " | TechCrunch" removed (``outlet``, when known, is removed
    whatever its length), punctuation dropped, spaces collapsed.

    Returns "" when fewer than MIN_TITLE_KEY_WORDS words remain, since a short
    title says too little to call two articles the same."""
    text = unicodedata.normalize("NFKC", title or "").strip()
    outlet_key = " ".join(_WORD.findall(unicodedata.normalize("NFKC", outlet).casefold()))
    while True:
        match = _TITLE_SUFFIX.search(text)
        if match is None:
            break
        segment = match.group(1)
        head = text[: match.start()]
        words = _WORD.findall(segment)
        is_outlet = bool(outlet_key) and " ".join(words).casefold() == outlet_key
        if not is_outlet and len(words) > _MAX_OUTLET_WORDS:
            break
        text = head
    words = _WORD.findall(text.casefold().replace("_", " "))
    if len(words) < MIN_TITLE_KEY_WORDS:
        return ""
    return " ".join(words)[:TITLE_KEY_MAX_CHARS].rstrip()


# --- Near-duplicate text ---------------------------------------------------------------

# Two texts whose 64-bit SimHashes differ in at most 3 bits are near-duplicates:
# the threshold Manku, Jain and Das Sarma found best for web pages ("Detecting
# near-duplicates for web crawling", WWW 2007). Measured on the sample pages
# (fixtures/pages): the syndicated copy of the Northwire story is 3 bits from
# the original when the extracted texts are compared, 8 bits when the two
# different headlines are hashed in too (hence ``fingerprint`` leaves titles
# out); unrelated articles on the same story are 27 to 33 bits apart.
NEAR_DUPLICATE_MAX_DISTANCE = 3
SHINGLE_WORDS = 3
# Below this many words a SimHash is noise: one changed word moves many bits.
MIN_FINGERPRINT_WORDS = 50

_BITS = 64
_MASK = (1 << _BITS) - 1
_SIGN = 1 << (_BITS - 1)
_LOW_BIT = bytes(7) + b"\x01"


def _words(text: str) -> list[str]:
    return _WORD.findall(unicodedata.normalize("NFKC", text or "").casefold())


def _shingles(words: list[str]) -> list[str]:
    if len(words) < SHINGLE_WORDS:
        return [" ".join(words)] if words else []
    return list(map(" ".join, zip(words, words[1:], words[2:], strict=False)))


def simhash(text: str) -> int:
    """64-bit SimHash of ``text`` over its word 3-shingles (case-folded words).

    Returned as a SIGNED 64-bit integer (two's complement, -2**63 .. 2**63-1) so it
    fits a bigint column; ``hamming`` accepts that form. Returns 0 for text
    without words; ``fingerprint`` is the caller-facing form that refuses texts
    too short to fingerprint."""
    return _simhash(_words(text))


def _simhash(words: list[str]) -> int:
    shingles = _shingles(words)
    if not shingles:
        return 0
    blake2b = hashlib.blake2b
    digests = b"".join([blake2b(s.encode(), digest_size=8).digest() for s in shingles])
    # Bit-sliced counting: every shingle's hash side by side in one integer, so the
    # hashes with bit b set are counted by one AND and one popcount, not a Python
    # loop over 64 bits per shingle.
    packed = int.from_bytes(digests, "big")
    count = len(shingles)
    lanes = int.from_bytes(_LOW_BIT * count, "big")
    unsigned = 0
    for bit in range(_BITS):
        if 2 * (packed & (lanes << bit)).bit_count() > count:
            unsigned |= 1 << bit
    return unsigned - (1 << _BITS) if unsigned & _SIGN else unsigned


def fingerprint(text: str) -> int | None:
    """The SimHash to store for an article: of its extracted text alone, since
    syndicated copies keep the body and rewrite the headline. Returns None when
    the text has fewer than MIN_FINGERPRINT_WORDS words (a teaser's fingerprint
    would match other teasers and miss its own full copy)."""
    words = _words(text)
    if len(words) < MIN_FINGERPRINT_WORDS:
        return None
    return _simhash(words)


# A fingerprint cut into four 16-bit bands: two fingerprints within 3 bits of each
# other differ in at most 3 bands, so they share at least one (pigeonhole). The
# near-duplicate search looks up the articles sharing a band, by index, instead
# of comparing with every recent article.
BANDS = 4
_BAND_BITS = _BITS // BANDS


def fingerprint_bands(value: int) -> tuple[int, ...]:
    """The BANDS 16-bit slices of a fingerprint (signed or not), lowest first."""
    unsigned = value & _MASK
    band_mask = (1 << _BAND_BITS) - 1
    return tuple((unsigned >> (_BAND_BITS * i)) & band_mask for i in range(BANDS))


def hamming(a: int, b: int) -> int:
    """Number of differing bits between two 64-bit fingerprints, signed or not."""
    return ((a ^ b) & _MASK).bit_count()


def is_near_duplicate(
    a: int | None, b: int | None, max_distance: int = NEAR_DUPLICATE_MAX_DISTANCE
) -> bool:
    """Whether two fingerprints are within ``max_distance`` bits. A missing
    fingerprint (None) matches nothing."""
    if a is None or b is None:
        return False
    return hamming(a, b) <= max_distance


# --- Entry identity ----------------------------------------------------------------------

GUID_MAX_CHARS = 1000  # Article.guid's max_length


def entry_identity(entry_id: str, link: str, title: str, published: str) -> str:
    """The stable identity of a feed entry within its feed: the entry's own id
    (RSS guid, Atom id), else its link, else "sha256:" and the hash of title and
    publication date. An id or link longer than GUID_MAX_CHARS is hashed too, so
    the identity always fits the column. Returns "" when the entry has none of
    these (it cannot be told apart from the next one and should be skipped)."""
    for candidate in (entry_id, link):
        candidate = (candidate or "").strip()
        if candidate:
            if len(candidate) <= GUID_MAX_CHARS:
                return candidate
            return "sha256:" + hashlib.sha256(candidate.encode()).hexdigest()
    title, published = (title or "").strip(), (published or "").strip()
    if not title and not published:
        return ""
    return "sha256:" + hashlib.sha256(f"{title}\n{published}".encode()).hexdigest()
