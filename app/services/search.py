"""Search that forgives: names without accents or case, phone numbers as people write them,
communes by their current or old name, and the possible duplicates of a person being registered.

Names are compared through a normalised ``search_key`` column (lower case, no accents, words
separated by single spaces) computed in Python when a person is saved, so the same plain
``LIKE`` works on SpatiaLite and PostgreSQL without ``unaccent``. Phone numbers are matched
against the stored E.164 form. Communes (and the old names of merged communes) are resolved
in Python to INSEE codes, so a renamed commune needs no change to people's rows.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, true

# Letters that Unicode does not decompose into a base letter and an accent.
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o",
                            "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ı": "i"})
# A run of characters a phone number is written with: digits, spaces, dots, dashes, slashes,
# parentheses, and a leading "+".
_PHONE_RUN = re.compile(r"\+?\d[\d\s.\-/()]*\d|\+?\d")
MIN_PHONE_DIGITS = 4
SEARCH_KEY_LENGTH = 250
# Possible duplicates: two names closer than this (0 = identical, 1 = nothing in common).
NAME_DISTANCE_MAX = 0.2


def normalise_text(text: str | None) -> str:
    """Lower case, no accents, words of letters and digits separated by one space.

    "  Lefèvre-D'Œillet " -> "lefevre d oeillet".
    """
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    # casefold may produce new decomposable letters (rare); keep only base letters.
    bare = "".join(ch for ch in unicodedata.normalize("NFKD", bare) if not unicodedata.combining(ch))
    words = "".join(ch if ch.isalnum() else " " for ch in bare).split()
    return " ".join(words)


def person_search_key(first_name: str | None, last_name: str | None) -> str:
    """The normalised name stored in ``search_key`` (first name, then last name)."""
    return normalise_text(f"{first_name or ''} {last_name or ''}")[:SEARCH_KEY_LENGTH]


@dataclass(frozen=True)
class PhoneFragment:
    """Digits of a phone number as typed, ready to compare with E.164.

    ``anchored`` when the fragment starts with the trunk prefix (0, +33, 0033): then it must
    be the beginning of the number; otherwise it may be anywhere in it.
    """

    digits: str
    anchored: bool

    def like_pattern(self) -> str:
        return f"+33{self.digits}%" if self.anchored else f"%{self.digits}%"

    def matches(self, e164: str | None) -> bool:
        if not e164:
            return False
        return e164.startswith("+33" + self.digits) if self.anchored else self.digits in e164


def phone_fragment(text: str) -> PhoneFragment | None:
    """A phone number (whole or partial) written the French way, or None.

    "06 12 34 56 78", "06.12.34.56.78", "+33 6 12 34 56 78", "0033612345678" all give the
    anchored digits "612345678"; "12 34 56" gives "123456" to find anywhere in the number.
    """
    raw = text.strip()
    digits = re.sub(r"\D", "", raw)
    if len(digits) < MIN_PHONE_DIGITS:
        return None
    if raw.startswith("+"):
        if not digits.startswith("33"):
            return None  # a foreign number: never stored (French numbers only)
        return PhoneFragment(digits[2:].lstrip("0") or "0", True)
    if digits.startswith("0033"):
        return PhoneFragment(digits[4:].lstrip("0") or "0", True)
    if digits.startswith("33") and len(digits) == 11:
        return PhoneFragment(digits[2:], True)
    if digits.startswith("0") and not digits.startswith("00"):  # 01…09: the trunk prefix
        return PhoneFragment(digits[1:], True)
    return PhoneFragment(digits, False)


@dataclass(frozen=True)
class SearchQuery:
    """What an aidant typed, split into name or commune words and a phone fragment."""

    words: tuple[str, ...] = ()
    phone: PhoneFragment | None = None

    @property
    def empty(self) -> bool:
        return not self.words and self.phone is None


def parse_query(text: str | None) -> SearchQuery:
    """Split a search: the longest phone-like run (4 digits or more) is the phone fragment."""
    text = (text or "").strip()
    phone: PhoneFragment | None = None
    rest = text
    runs = sorted(_PHONE_RUN.finditer(text), key=lambda m: len(re.sub(r"\D", "", m.group())), reverse=True)
    if runs:
        phone = phone_fragment(runs[0].group())
        if phone is not None:
            rest = text[:runs[0].start()] + " " + text[runs[0].end():]
    words = normalise_text(rest).split()
    return SearchQuery(words=tuple(words), phone=phone)


# --- Communes ---------------------------------------------------------------------------------

def commune_names() -> list[tuple[str, str]]:
    """(normalised name, INSEE code of the current commune) for every commune and old name.

    An old commune merged into a new one answers for the new one too, so that a person
    registered in "Cours" is found by "Bellefont-La Rauze" and the other way round.
    """
    from ..extensions import db
    from ..models import Commune, CommuneAlias

    pairs: list[tuple[str, str]] = []
    for insee, name, merged_into in db.session.execute(
            select(Commune.insee, Commune.name, Commune.merged_into_insee)):
        pairs.append((normalise_text(name), insee))
        if merged_into:
            pairs.append((normalise_text(name), merged_into))
    for name, insee, old_insee in db.session.execute(
            select(CommuneAlias.name, CommuneAlias.commune_insee, CommuneAlias.old_insee)):
        pairs.append((normalise_text(name), insee))
        if old_insee:
            pairs.append((normalise_text(name), old_insee))
    return pairs


def communes_matching(word: str, names: list[tuple[str, str]]) -> set[str]:
    """INSEE codes of the communes one of whose names contains ``word`` (normalised).

    Words of one letter match no commune (every name has an "a").
    """
    word = normalise_text(word)
    if len(word) < 2:
        return set()
    codes = {insee for name, insee in names if word in name}
    return codes


def _merged_codes(codes: set[str]) -> set[str]:
    """The codes plus those of the old communes merged into them (people may be stored there)."""
    from ..extensions import db
    from ..models import Commune

    if not codes:
        return codes
    old = db.session.execute(select(Commune.insee).where(Commune.merged_into_insee.in_(codes))).scalars()
    return codes | set(old)


def person_search_clause(model: Any, text: str | None,
                         names: list[tuple[str, str]] | None = None) -> ColumnElement[bool]:
    """SQL condition on a person model (Beneficiary or Driver) for a forgiving search.

    Every word must be in the normalised name or in the name of the person's commune; the
    phone fragment, when there is one, must be in the phone number.
    """
    query = parse_query(text)
    if query.empty:
        return true() if not (text or "").strip() else false()
    if query.words and names is None:
        names = commune_names()
    conditions: list[ColumnElement[bool]] = []
    for word in query.words:
        options: list[ColumnElement[bool]] = [model.search_key.like(f"%{word}%")]
        codes = _merged_codes(communes_matching(word, names or []))
        if codes:
            options.append(model.home_commune_insee.in_(sorted(codes)))
        conditions.append(or_(*options))
    if query.phone is not None:
        conditions.append(model.phone_e164.like(query.phone.like_pattern()))
    return and_(*conditions)


# --- Possible duplicates ----------------------------------------------------------------------

def name_distance(a: str, b: str) -> float:
    """Normalised edit distance between two normalised names: 0 identical, 1 nothing alike."""
    if not a and not b:
        return 0.0
    return 1.0 - SequenceMatcher(None, a, b).ratio()


def names_look_alike(first_a: str, last_a: str, first_b: str, last_b: str) -> bool:
    """Same last name and one first name starting like the other, or a small edit distance.

    "Sébastien Lefèvre" ~ "Sebastien Lefevre" ~ "Seb Lefèvre" ~ "Sébastian Lefèvre".
    """
    la, lb = normalise_text(last_a), normalise_text(last_b)
    fa, fb = normalise_text(first_a), normalise_text(first_b)
    if la and la == lb and fa and fb and (fa.startswith(fb[:3]) or fb.startswith(fa[:3])):
        return True
    return name_distance(f"{fa} {la}", f"{fb} {lb}") <= NAME_DISTANCE_MAX


@dataclass
class Duplicates:
    """Possible duplicates of a person being registered."""

    visible: list[Any]  # records the aidant may open, with the reason in ``reasons``
    reasons: dict[int, str]
    hidden_same_phone: int = 0  # same phone, in a structure the aidant does not see

    def __bool__(self) -> bool:
        return bool(self.visible or self.hidden_same_phone)


def possible_duplicates(user: Any, first_name: str, last_name: str, phone_e164: str | None,
                        commune_insee: str | None, *, exclude_id: int | None = None) -> Duplicates:
    """People already registered who may be the one being registered.

    Same phone number anywhere, or a close name in the same commune. Records of structures the
    aidant may not see are only counted (same phone), never named.
    """
    from ..extensions import db
    from ..models import Beneficiary
    from .access import beneficiary_filter

    reasons: dict[int, str] = {}
    found: dict[int, Any] = {}
    hidden = 0
    visible_ids = select(Beneficiary.id).where(beneficiary_filter(user))
    if phone_e164:
        for person, seen in db.session.execute(
                select(Beneficiary, Beneficiary.id.in_(visible_ids))
                .where(Beneficiary.phone_e164 == phone_e164)).all():
            if person.id == exclude_id:
                continue
            if seen:
                found[person.id] = person
                reasons[person.id] = "même numéro de téléphone"
            else:
                hidden += 1
    if commune_insee:
        same_commune = db.session.execute(
            select(Beneficiary).where(Beneficiary.home_commune_insee == commune_insee,
                                      beneficiary_filter(user))).scalars()
        for person in same_commune:
            if person.id == exclude_id or person.id in found:
                continue
            if names_look_alike(first_name, last_name, person.first_name, person.last_name):
                found[person.id] = person
                reasons[person.id] = "nom proche, même commune"
    visible = sorted(found.values(), key=lambda p: (p.last_name, p.first_name))
    return Duplicates(visible=visible, reasons=reasons, hidden_same_phone=hidden)


# --- Migration helper -------------------------------------------------------------------------

def backfill_search_keys(bind: Any) -> int:
    """Compute ``search_key`` for every beneficiary and driver already stored; return the count.

    Works on a bare connection (``op.get_bind()`` in an Alembic migration): it uses table
    descriptions of its own, not the ORM models, which may be ahead of the migration.
    """
    from sqlalchemy import column, table, update

    count = 0
    for name in ("beneficiaries", "drivers"):
        people = table(name, column("id"), column("first_name"), column("last_name"), column("search_key"))
        rows = bind.execute(select(people.c.id, people.c.first_name, people.c.last_name)).all()
        for row_id, first, last in rows:
            bind.execute(update(people).where(people.c.id == row_id)
                         .values(search_key=person_search_key(first, last)))
            count += 1
    return count
