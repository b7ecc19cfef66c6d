"""Identity of articles: canonical URLs, title keys, SimHash, entry identity."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tracker.ingestion.dedupe import (
    NEAR_DUPLICATE_MAX_DISTANCE,
    canonical_url,
    entry_identity,
    fingerprint,
    fingerprint_bands,
    hamming,
    is_near_duplicate,
    simhash,
    title_key,
)
from tracker.ingestion.extract import extract_article

PAGES = Path(__file__).resolve().parents[2] / "fixtures" / "pages"


def page_text(name: str) -> str:
    return extract_article((PAGES / f"{name}.html").read_bytes(), url="https://a.example/").text


# --- canonical_url -----------------------------------------------------------------


def test_canonical_url_drops_tracking_and_fragment() -> None:
    assert canonical_url(
        "HTTPS://TechLedger.example:443/ai/story/?utm_source=rss&utm_medium=feed#comments"
    ) == canonical_url("https://techledger.example/ai/story/")


def test_canonical_url_of_something_else_is_empty() -> None:
    assert canonical_url("") == ""
    assert canonical_url("mailto:desk@example.org") == ""


# --- title_key -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "key"),
    [
        (
            "Meta to pay $14.3 billion for 49% of Scale AI - Reuters",
            "meta to pay 14 3 billion for 49 of scale ai",
        ),
        (
            "Scale AI confirms Meta investment, Wang to step down | TechCrunch",
            "scale ai confirms meta investment wang to step down",
        ),
        ("Meta-Scale deal: what we know — The Verge", "meta scale deal what we know"),
        ("Meta and Scale AI | Tech | The Verge", "meta and scale ai"),
        (
            "  META TO PAY $14.3 BILLION FOR 49% OF SCALE AI  ",
            "meta to pay 14 3 billion for 49 of scale ai",
        ),
        ("Straße und Übernahme: Meta kauft sich ein", "strasse und übernahme meta kauft sich ein"),
    ],
)
def test_title_key_ignores_case_punctuation_and_outlet_suffixes(title: str, key: str) -> None:
    assert title_key(title) == key


def test_copies_of_one_headline_share_a_key() -> None:
    assert title_key("Meta takes 49% stake in Scale AI - Reuters") == title_key(
        "Meta takes 49% stake in Scale AI | Northwire"
    )


def test_a_long_suffix_is_kept_unless_it_is_the_known_outlet() -> None:
    title = "Scale AI cuts staff - The Ledger Street Journal of Commerce"
    assert title_key(title).endswith("journal of commerce")
    assert title_key(title, outlet="The Ledger Street Journal of Commerce") == "scale ai cuts staff"


@pytest.mark.parametrize(
    "title",
    [
        "",
        "Live updates",
        "Scale AI news - Reuters",
        "Scale AI layoffs - what we know",
        "!!! ??? ...",
    ],
)
def test_short_titles_have_no_key(title: str) -> None:
    assert title_key(title) == ""


def test_title_key_fits_its_column() -> None:
    assert len(title_key("word " * 200)) <= 300


# --- SimHash ---------------------------------------------------------------------------


def test_simhash_is_a_signed_64_bit_integer() -> None:
    values = [simhash(f"text number {i} about Meta and Scale AI and data") for i in range(50)]
    assert all(-(2**63) <= v < 2**63 for v in values)
    assert any(v < 0 for v in values)


def test_simhash_is_stable_and_ignores_case_and_punctuation() -> None:
    text = page_text("northwire_scale_layoffs")
    assert simhash(text) == simhash(text)
    assert simhash(text) == simhash(text.upper().replace(",", ""))


def test_simhash_of_nothing_is_zero() -> None:
    assert simhash("") == 0
    assert simhash(" ... ") == 0


def test_hamming_counts_differing_bits_across_the_sign() -> None:
    assert hamming(0, 0) == 0
    assert hamming(0, -1) == 64
    assert hamming(-1, 2**64 - 1) == 0
    assert hamming(0b1011, 0b0001) == 2
    assert hamming(-(2**63), 0) == 1


def test_syndicated_copy_is_a_near_duplicate_of_the_original() -> None:
    original = fingerprint(page_text("northwire_scale_layoffs"))
    copy = fingerprint(page_text("daily_courier_scale_layoffs_syndicated"))
    assert original is not None and copy is not None
    assert original != copy  # the copy is not byte-identical
    assert is_near_duplicate(original, copy)


def test_different_articles_on_the_same_story_are_far_apart() -> None:
    layoffs = fingerprint(page_text("northwire_scale_layoffs"))
    stake = fingerprint(page_text("techledger_meta_scale_stake"))
    assert layoffs is not None and stake is not None
    assert hamming(layoffs, stake) > 4 * NEAR_DUPLICATE_MAX_DISTANCE
    assert not is_near_duplicate(layoffs, stake)


def test_fingerprints_within_the_distance_share_a_band() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        value = rng.getrandbits(64) - 2**63
        flipped = value
        for bit in rng.sample(range(64), NEAR_DUPLICATE_MAX_DISTANCE):
            flipped ^= 1 << bit
        flipped = (flipped + 2**63) % 2**64 - 2**63  # back to the signed form
        assert hamming(value, flipped) == NEAR_DUPLICATE_MAX_DISTANCE
        assert set(enumerate(fingerprint_bands(value))) & set(enumerate(fingerprint_bands(flipped)))


def test_bands_are_the_fingerprint_in_four_slices() -> None:
    assert fingerprint_bands(0x0123_4567_89AB_CDEF) == (0xCDEF, 0x89AB, 0x4567, 0x0123)
    assert fingerprint_bands(-1) == (0xFFFF,) * 4


def test_teasers_get_no_fingerprint_and_match_nothing() -> None:
    teaser = page_text("ledger_street_paywalled_teaser")
    assert fingerprint(teaser) is None
    assert not is_near_duplicate(None, None)
    assert not is_near_duplicate(None, 0)


def test_near_duplicate_distance_can_be_widened() -> None:
    assert not is_near_duplicate(0, 0b11111)
    assert is_near_duplicate(0, 0b11111, max_distance=5)


# --- Entry identity ----------------------------------------------------------------------


def test_entry_identity_prefers_the_id_then_the_link() -> None:
    assert entry_identity("tag:a,2025:1", "https://a.example/1", "T", "") == "tag:a,2025:1"
    assert entry_identity("", "https://a.example/1", "T", "") == "https://a.example/1"


def test_entry_identity_without_id_or_link_hashes_title_and_date() -> None:
    one = entry_identity("", "", "Scale AI cuts staff", "2025-07-16T17:20:00+00:00")
    again = entry_identity("  ", "", "Scale AI cuts staff", "2025-07-16T17:20:00+00:00")
    later = entry_identity("", "", "Scale AI cuts staff", "2025-07-17T09:00:00+00:00")
    assert one.startswith("sha256:") and len(one) == 7 + 64
    assert one == again
    assert one != later


def test_entry_identity_too_long_for_its_column_is_hashed() -> None:
    identity = entry_identity("x" * 1001, "", "", "")
    assert identity.startswith("sha256:")
    assert len(identity) <= 1000


def test_an_entry_with_nothing_to_go_by_has_no_identity() -> None:
    assert entry_identity("", "", "", "") == ""
