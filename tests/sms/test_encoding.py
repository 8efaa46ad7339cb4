"""SMS encodings and segment counting (GSM-7 vs UCS-2, 160/153 and 70/67)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from app.sms.encoding import GSM7_BASIC, GSM7_EXTENDED, count_segments, fit_sms, is_gsm7, to_gsm7

BASIC = sorted(GSM7_BASIC - {"\x1b"})
EXTENDED = sorted(GSM7_EXTENDED)


def test_single_and_concatenated_gsm7_limits():
    assert count_segments("a" * 160) == count_segments("a" * 160).__class__("gsm7", 160, 1)
    assert count_segments("a" * 161).segments == 2
    assert count_segments("a" * 306).segments == 2
    assert count_segments("a" * 307).segments == 3


def test_extension_characters_take_two_septets_and_are_never_split():
    assert count_segments("€" * 80).units == 160
    assert count_segments("€" * 80).segments == 1
    assert count_segments("€" * 81).segments == 2
    # 152 septets then a two-septet character: it does not fit in the first 153, so it moves.
    text = "a" * 152 + "€" + "a" * 10
    assert count_segments(text).units == 164
    assert count_segments(text).segments == 2
    assert count_segments("a" * 152 + "€" + "a" * 152).segments == 3


def test_french_letters_outside_gsm7_switch_to_ucs2():
    assert is_gsm7("Répondez OUI à la proposition, où ? là.")
    assert not is_gsm7("Être à l'heure")  # ê is not in GSM-7
    assert count_segments("ê" * 70).segments == 1
    assert count_segments("ê" * 71).segments == 2
    assert count_segments("ê" * 134).segments == 2
    assert count_segments("ê" * 135).segments == 3
    assert count_segments("😀" * 35).units == 70  # surrogate pairs count twice


def test_fit_sms_prefers_plain_letters_when_it_saves_segments():
    text = "Bientôt : " + "x" * 100  # one ô makes it UCS-2: 2 segments
    assert count_segments(text).segments == 2
    fitted = fit_sms(text)
    assert fitted.startswith("Bientot") and count_segments(fitted).segments == 1
    assert fit_sms("Merci Gaëlle") == "Merci Gaelle"  # same count: plain GSM-7 wins
    assert fit_sms("Déjà là, à côté") == "Déjà là, à coté"  # é and à are GSM-7: kept
    assert fit_sms("Merci 😀") == "Merci 😀"  # nothing plainer exists: kept as written


@given(st.text(alphabet=st.sampled_from(BASIC), max_size=700))
def test_gsm7_basic_segments_follow_160_153(text):
    count = count_segments(text)
    assert count.encoding == "gsm7"
    assert count.segments == (1 if len(text) <= 160 else math.ceil(len(text) / 153))


@given(st.text(alphabet=st.characters(min_codepoint=0x100, max_codepoint=0xFFFF,
                                      blacklist_categories=("Cs",)), min_size=1, max_size=400))
def test_ucs2_segments_follow_70_67(text):
    count = count_segments(text)
    assert count.encoding == "ucs2"
    assert count.segments == (1 if len(text) <= 70 else math.ceil(len(text) / 67))


@given(st.text(alphabet=st.sampled_from(BASIC + EXTENDED), max_size=500))
def test_segments_hold_every_septet_and_no_more_than_needed(text):
    count = count_segments(text)
    capacity = 160 if count.segments == 1 else 153 * count.segments
    assert count.units <= capacity
    # Every closed segment is full but for at most one septet (an escape never split).
    if count.segments > 1:
        assert count.units > 152 * (count.segments - 1)


@given(st.text(max_size=300))
def test_fit_sms_never_costs_more(text):
    assert count_segments(fit_sms(text)).segments <= count_segments(text.replace("\r\n", "\n").strip()).segments
    assert is_gsm7(to_gsm7("âêîôûçœ«»’–…"))


def test_every_sms_template_is_written_in_gsm7():
    """Accents GSM-7 lacks (ê, ç, î…) would make every message of a template cost double."""
    import re
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "app" / "templates" / "sms"
    templates = sorted(folder.glob("*.txt"))
    assert len(templates) > 20
    for path in templates:
        text = re.sub(r"\{[{%#].*?[}%#]\}", "", path.read_text(encoding="utf-8"), flags=re.S)
        assert is_gsm7(text.strip()), (path.name, {c for c in text if not is_gsm7(c)})
