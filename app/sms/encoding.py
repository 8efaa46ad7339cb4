"""SMS encodings and segment counting (3GPP TS 23.038).

A message that only uses the GSM 7-bit default alphabet (plus its extension table, whose
characters take two septets: an escape and the character) fits 160 septets in one SMS, and 153
per segment once concatenated (the user-data header takes 7). Any other character switches the
whole message to UCS-2: 70 UTF-16 code units in one SMS, 67 per concatenated segment. A
two-septet character or a surrogate pair is never split across two segments, so counting is a
greedy packing, not a division.
"""

from __future__ import annotations

from dataclasses import dataclass

# The GSM 03.38 default alphabet (basic character set), one septet each.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: escape + character, two septets each.
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

SINGLE_GSM7, MULTI_GSM7 = 160, 153
SINGLE_UCS2, MULTI_UCS2 = 70, 67

# Close GSM-7 spellings of characters French texts often contain but GSM-7 lacks.
_TRANSLITERATION = {
    "â": "a", "ê": "e", "î": "i", "ô": "o", "û": "u", "ë": "e", "ï": "i", "ÿ": "y", "ç": "c",
    "Â": "A", "Ê": "E", "Î": "I", "Ô": "O", "Û": "U", "Ë": "E", "Ï": "I", "È": "E", "À": "A",
    "Ù": "U", "œ": "oe", "Œ": "Oe", "’": "'", "‘": "'", "«": '"', "»": '"', "“": '"', "”": '"',
    "–": "-", "—": "-", "…": "...", "\u00a0": " ", "\u202f": " ", "→": ">", "á": "a", "í": "i",
    "ó": "o", "ú": "u", "Á": "A", "Í": "I", "Ó": "O", "Ú": "U",
}


@dataclass(frozen=True)
class SegmentCount:
    """How a text travels: its encoding, its length in units and its number of segments."""

    encoding: str  # "gsm7" | "ucs2"
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` exists in the GSM-7 alphabet (basic or extended)."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in text)


def _pack(sizes: list[int], single: int, multi: int) -> int:
    """Number of segments for characters of the given unit sizes (never split a character)."""
    total = sum(sizes)
    if total <= single:
        return 1
    segments, used = 1, 0
    for size in sizes:
        if used + size > multi:
            segments += 1
            used = 0
        used += size
    return segments


def count_segments(text: str) -> SegmentCount:
    """Encoding, length and number of SMS segments of ``text``."""
    if is_gsm7(text):
        sizes = [2 if c in GSM7_EXTENDED else 1 for c in text]
        return SegmentCount("gsm7", sum(sizes), _pack(sizes, SINGLE_GSM7, MULTI_GSM7))
    sizes = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return SegmentCount("ucs2", sum(sizes), _pack(sizes, SINGLE_UCS2, MULTI_UCS2))


def to_gsm7(text: str) -> str:
    """``text`` with the characters GSM-7 lacks replaced by close spellings where one exists."""
    return "".join(_TRANSLITERATION.get(c, c) for c in text)


def fit_sms(text: str) -> str:
    """The spelling of ``text`` that takes the fewest segments.

    Accents GSM-7 lacks (ê, ô, ç…) force the whole message into UCS-2 and can triple its cost;
    when replacing them by plain letters saves segments (or gets the text into GSM-7 at the same
    count), the plain spelling wins. Otherwise the text is kept as written.
    """
    text = text.replace("\r\n", "\n").strip()
    if is_gsm7(text):
        return text
    plain = to_gsm7(text)
    if is_gsm7(plain) and count_segments(plain).segments <= count_segments(text).segments:
        return plain
    return text


_PAIRS = {"(": ")", "[": "]", '"': '"'}


def _balanced(text: str) -> bool:
    """True when every opening bracket or quote of ``text`` is closed, in order."""
    stack: list[str] = []
    for c in text:
        if stack and c == _PAIRS[stack[-1]]:
            stack.pop()
        elif c in _PAIRS:
            stack.append(c)
        elif c in ")]":
            return False
    return not stack


def _cut(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a word end if one is close, with a dot."""
    if len(text) <= limit:
        return text
    head = text[: max(limit - 1, 1)]
    space = head.rfind(" ")
    if space >= limit // 2:
        head = head[:space]
    head = head.rstrip(" ,;:-'/(\"")
    return (head + ".") if head and head[-1].isalnum() else head


def shorten_label(text: str, limit: int) -> str:
    """A place or person label shortened to at most ``limit`` characters without broken punctuation.

    "Domicile (Lacombe-Haute)" becomes "Domicile (Lacombe-H.)" rather than losing its closing
    parenthesis; when even that does not fit, the bracketed part is dropped before the main part
    is cut. The result never ends on an opening bracket, a dangling quote or two dots, and its
    brackets and quotes are balanced whenever the input's were.
    """
    text = " ".join(text.split())
    if len(text) <= limit or limit < 2:
        return text[: max(limit, 0)] if len(text) > limit else text
    open_at = text.find("(")
    if open_at > 0 and text.endswith(")") and _balanced(text):
        main, inner = text[:open_at].rstrip(), text[open_at + 1 : -1].strip()
        room = limit - len(main) - 3  # " (" and ")"
        if room >= 4:
            inner_cut = _cut(inner, room)
            if inner_cut:
                return f"{main} ({inner_cut})"
        return shorten_label(main, limit)
    cut = _cut(text, limit)
    # Drop an unclosed bracket or quote and what follows it rather than leave it open.
    while cut and not _balanced(cut):
        opening = max(cut.rfind(c) for c in _PAIRS)
        cut = cut[:opening].rstrip(" ,;:-'/")
        if cut and cut[-1].isalnum() and len(cut) < limit:
            cut += "."
    return cut or text[:limit]


def tidy_punctuation(text: str) -> str:
    """Collapse the double punctuation that shortened labels can leave in a rendered text."""
    import re

    text = re.sub(r"\.(\s*\.)+", ".", text)
    return re.sub(r"\.\s*([,;:)])", r".\1", text)
