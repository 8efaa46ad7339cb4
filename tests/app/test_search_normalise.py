"""The search normaliser, phone fragments and name likeness (pure functions, no database)."""

from __future__ import annotations

import csv
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.search import (
    communes_matching,
    name_distance,
    names_look_alike,
    normalise_text,
    parse_query,
    person_search_key,
    phone_fragment,
)

COMMUNES_CSV = Path(__file__).resolve().parents[3] / "shared" / "data" / "communes" / "lot46_communes.csv"


def _lot_commune_names() -> list[str]:
    if not COMMUNES_CSV.exists():
        return []
    with COMMUNES_CSV.open(encoding="utf-8") as handle:
        return sorted({row["nom"] for row in csv.DictReader(handle)})


LOT_NAMES = _lot_commune_names()
needs_lot = pytest.mark.skipif(not LOT_NAMES, reason=f"real commune names absent ({COMMUNES_CSV})")


def _strip_accents(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))


@pytest.mark.parametrize(("typed", "expected"), [
    ("Sébastien", "sebastien"),
    ("LEFEVRE", "lefevre"),
    ("Lefèvre", "lefevre"),
    ("  Saint-Cirq-Lapopie ", "saint cirq lapopie"),
    ("Cœur de Causse", "coeur de causse"),
    ("L'Hospitalet", "l hospitalet"),
    ("Ÿves  Ñuñez", "yves nunez"),
    ("", ""),
])
def test_normalise_removes_accents_case_and_punctuation(typed, expected):
    assert normalise_text(typed) == expected


def test_normalise_of_none_is_empty():
    assert normalise_text(None) == ""
    assert person_search_key(None, "Roux") == "roux"


@needs_lot
@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(LOT_NAMES or ["x"]), data=st.data())
def test_real_commune_names_round_trip_through_any_writing(name, data):
    """Any case, with or without accents, hyphens or spaces: the same key, found by search."""
    key = normalise_text(name)
    assert key and key == normalise_text(key)  # idempotent
    assert key.isascii() and key == key.lower() and "  " not in key
    variants = [name.upper(), name.lower(), _strip_accents(name), name.replace("-", " "),
                _strip_accents(name).upper().replace("-", "  "), name.replace(" ", "-")]
    variant = data.draw(st.sampled_from(variants))
    assert normalise_text(variant) == key
    names = [(normalise_text(n), f"{i:05d}") for i, n in enumerate(LOT_NAMES)]
    code = f"{LOT_NAMES.index(name):05d}"
    assert code in communes_matching(variant, names)
    # A part of the name (one word of it) finds it too.
    word = data.draw(st.sampled_from(key.split()))
    if len(word) >= 2:
        assert code in communes_matching(word.upper(), names)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_normalise_is_idempotent_and_plain(text):
    key = normalise_text(text)
    assert normalise_text(key) == key
    assert key == key.strip() and "  " not in key
    assert all(ch.isalnum() or ch == " " for ch in key)
    assert not any(unicodedata.combining(ch) for ch in key)


@pytest.mark.parametrize("typed", [
    "06 12 34 56 78", "06.12.34.56.78", "06-12-34-56-78", "0612345678", "+33 6 12 34 56 78",
    "+33612345678", "0033612345678", "0033 6 12 34 56 78", "+33 (0)6 12 34 56 78", "33612345678",
])
def test_phone_in_any_usual_french_writing(typed):
    fragment = phone_fragment(typed)
    assert fragment is not None and fragment.anchored and fragment.digits == "612345678"
    assert fragment.matches("+33612345678")
    assert not fragment.matches("+33612345679")
    assert fragment.like_pattern() == "+33612345678%"


@pytest.mark.parametrize(("typed", "digits", "number"), [
    ("12 34 56", "123456", "+33612345678"), ("34.56.78", "345678", "+33612345678"),
    ("5678", "5678", "+33612345678"), ("00 02 02", "000202", "+33600000202"),
])
def test_partial_phone_matches_anywhere(typed, digits, number):
    fragment = phone_fragment(typed)
    assert fragment is not None and not fragment.anchored and fragment.digits == digits
    assert fragment.matches(number)
    assert not fragment.matches("+33699999999")


def test_partial_phone_with_trunk_prefix_is_anchored():
    fragment = phone_fragment("06 12 34")
    assert fragment is not None and fragment.anchored and fragment.digits == "61234"
    assert fragment.matches("+33612345678") and not fragment.matches("+33661234000")


def test_too_few_digits_or_foreign_numbers_are_no_phone():
    assert phone_fragment("06") is None
    assert phone_fragment("123") is None
    assert phone_fragment("+44 20 7946 0958") is None


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"0[67][0-9]{8}", fullmatch=True), st.sampled_from([" ", ".", "-", ""]),
       st.sampled_from(["national", "plus", "double_zero"]))
def test_every_mobile_written_any_way_finds_its_e164(number, separator, prefix):
    pairs = [number[i:i + 2] for i in range(0, 10, 2)]
    national = separator.join(pairs)
    typed = {"national": national, "plus": "+33 " + national[1:],
             "double_zero": "0033" + separator + national[1:]}[prefix]
    fragment = phone_fragment(typed)
    assert fragment is not None and fragment.matches("+33" + number[1:])


def test_query_splits_name_words_and_phone():
    query = parse_query("Sébastien  06 00 00 02 02")
    assert query.words == ("sebastien",)
    assert query.phone is not None and query.phone.digits == "600000202"
    query = parse_query("roux valbourg")
    assert query.words == ("roux", "valbourg") and query.phone is None
    assert parse_query("  ").empty


def test_names_look_alike():
    assert names_look_alike("Sébastien", "Lefèvre", "Sebastien", "LEFEVRE")
    assert names_look_alike("Seb", "Lefèvre", "Sébastien", "Lefevre")  # same last name, prefix
    assert names_look_alike("Sébastien", "Lefèvre", "Sebastian", "Lefevre")  # one letter off
    assert not names_look_alike("Sébastien", "Lefèvre", "Sarah", "Garcia")
    assert not names_look_alike("Marie", "Lefèvre", "Paul", "Lefèvre")  # same family, another person
    assert name_distance("abc", "abc") == 0.0 and name_distance("", "") == 0.0
