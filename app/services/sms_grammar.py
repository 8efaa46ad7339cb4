"""Reading the texts people send: OUI / NON / ANNULER / STOP / START / AIDE / TRAJET …

Texts come from basic phones, typed in a hurry: any case, with or without accents, with
punctuation, doubled letters ("ouiii"), small typos ("anuler", "trajt"), the code glued to the
word ("oui482") or before it ("482 oui"). Everything here is pure (no database, no Flask): the
conversation service (:mod:`app.services.conversations`) decides what a command means for the
person who sent it.

TRAJET texts ("TRAJET Lalbenque Cahors jeudi 8h 2 places") are read against a
:class:`CommuneIndex` of the territory's communes, including the old names of merged communes
and the usual spellings (St/Ste for Saint/Sainte, missing hyphens or article, one or two typos).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

# --- Normalisation ---------------------------------------------------------------------------

_LIGATURES = {"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ß": "ss"}


def fold_text(text: str) -> str:
    """Lower-case, accent-free ASCII form of ``text``; everything but letters and digits is a space.

    Letters and digits glued together are split ("oui482" → "oui 482", "8h30" → "8 h 30").
    """
    text = "".join(_LIGATURES.get(c, c) for c in text)
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    ascii_text = re.sub(r"[^a-z0-9]+", " ", ascii_text)
    ascii_text = re.sub(r"(?<=[a-z])(?=[0-9])|(?<=[0-9])(?=[a-z])", " ", ascii_text)
    return " ".join(ascii_text.split())


def squeeze(word: str) -> str:
    """Runs of the same letter reduced to one ("ouiii" → "oui", "annuler" → "anuler")."""
    return re.sub(r"(.)\1+", r"\1", word)


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Damerau-Levenshtein distance (optimal string alignment), capped at ``limit`` + 1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[len(b)]


# --- Commands --------------------------------------------------------------------------------

YES, NO, CANCEL, STOP, START, HELP, TRIP, UNKNOWN = "yes", "no", "cancel", "stop", "start", "help", "trip", "unknown"
ABSENT, AVAILABLE = "absent", "available"

# Exact spellings (after folding and squeezing). Short words are never matched fuzzily:
# "top", "stp" (s'il te plaît) or "nom" typed for something else must not become commands.
_EXACT: dict[str, str] = {}
for _kw, _words in {
    YES: "oui ouai ouais ouaip ui wi wui oiu uoi ouo oi ok oki okay oke yes yep dac dacord accepte "
         "accepter jaccepte confirme confirmer valide",
    NO: "non nan no nop nope nn nom refuse refuser indispo indisponible",
    CANCEL: "anuler anule anul anulation anulez anulé desiste",
    STOP: "stop arret arete arreter arretez desabonner desinscrire stopez unsubscribe",
    START: "start demarer reprendre reprise restart unstop",
    HELP: "aide aidez aider help info infos sos comment menu",
    TRIP: "trajet trajets trajt trjet tajet traget",
    ABSENT: "absent absente absents absence absences abscent absant conge conges vacances",
    AVAILABLE: "dispo dispos disponible disponibles",
}.items():
    for _w in _words.split():
        _EXACT[squeeze(fold_text(_w))] = _kw
# Longer keywords also accept one typo (Damerau-Levenshtein ≤ 1 on the squeezed word).
_FUZZY = {"anuler": CANCEL, "arret": STOP, "start": START, "trajet": TRIP, "reprendre": START,
          "desabonner": STOP, "indisponible": NO, "absente": ABSENT, "disponible": AVAILABLE}

_CODE = re.compile(r"^\d{1,6}$")


@dataclass(frozen=True)
class Command:
    """What a text asks for: a keyword, maybe a code, and the rest of the words."""

    keyword: str
    code: str | None = None
    rest: str = ""  # the original text after the keyword (TRAJET details)
    raw: str = ""


def _keyword_of(word: str) -> str | None:
    word = squeeze(word)
    if word in _EXACT:
        return _EXACT[word]
    if len(word) >= 5:
        for target, keyword in _FUZZY.items():
            if edit_distance(word, target, 1) <= 1:
                return keyword
    return None


def _rest_after_keyword(raw: str) -> str:
    """The original text after its first word (accents and case kept, for TRAJET details)."""
    match = re.match(r"\s*[\W_]*[^\W\d_]+[\s\W_]*", raw)
    return raw[match.end():].strip() if match else raw.strip()


def parse_command(text: str) -> Command:
    """Read a text message as a command (keyword ``unknown`` when nothing fits)."""
    raw = text or ""
    words = fold_text(raw).split()
    if not words:
        return Command(UNKNOWN, raw=raw)
    # "d'accord", "pas dispo", "bien sûr": two words that say one thing.
    if len(words) >= 2 and (words[0], words[1]) in {("d", "accord"), ("bien", "sur"), ("pas", "dispo"),
                                                    ("pas", "disponible"), ("pas", "possible"), ("ca", "marche")}:
        keyword = NO if words[0] == "pas" else YES
        words = [keyword] + words[2:]
    else:
        keyword = None
    code = None
    if _CODE.match(words[0]) and len(words) >= 2 and _keyword_of(words[1]) in (YES, NO, CANCEL):
        # "482 oui": code first.
        code, words = words[0], words[1:]
    if keyword is None:
        keyword = _keyword_of(words[0])
    if keyword is None:
        return Command(UNKNOWN, code=next((w for w in words if _CODE.match(w)), None), raw=raw)
    if keyword in (TRIP, ABSENT, AVAILABLE):
        return Command(keyword, rest=_rest_after_keyword(raw), raw=raw)
    if code is None:
        code = next((w for w in words[1:4] if _CODE.match(w)), None)
    return Command(keyword, code=code, raw=raw)


# --- Communes --------------------------------------------------------------------------------

_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "s": "saint", "stes": "saintes", "sts": "saints",
                  "n": "notre", "nd": "notre dame"}
_ARTICLES = ("le", "la", "les", "l")


def _place_key(words: list[str]) -> str:
    """Compact matching key of a name given as folded words: abbreviations expanded, no spaces."""
    return "".join(_ABBREVIATIONS.get(w, w) for w in words)


@dataclass(frozen=True)
class CommuneEntry:
    """A commune the index can answer with (old names point to the commune they name)."""

    insee: str
    name: str
    lat: float
    lon: float
    population: int | None = None
    current_insee: str | None = None  # the commune it is part of today, when merged
    current_name: str | None = None

    @property
    def label(self) -> str:
        """Name as shown back to the driver: "Labastide-Murat (Cœur de Causse)"."""
        if self.current_name and self.current_name != self.name:
            return f"{self.name} ({self.current_name})"
        return self.name


@dataclass
class CommuneIndex:
    """Every spelling people use for the communes of a territory."""

    entries: list[CommuneEntry] = field(default_factory=list)
    _keys: dict[str, list[tuple[CommuneEntry, bool]]] = field(default_factory=dict)

    def add(self, entry: CommuneEntry, *, alias: bool = False) -> None:
        words = fold_text(entry.name).split()
        keys = {_place_key(words)}
        if len(words) > 1 and words[0] in _ARTICLES:
            keys.add(_place_key(words[1:]))
        self.entries.append(entry)
        for key in keys:
            self._keys.setdefault(key, []).append((entry, alias))

    @classmethod
    def build(cls, communes: Iterable[Any], aliases: Iterable[Any] = ()) -> CommuneIndex:
        """Index from objects with ``insee``, ``name``, ``lat``/``lon`` (or ``lat_lon``),
        ``population`` and ``merged_into_insee`` (models or :class:`CommuneRecord`), plus
        aliases with ``name`` and ``commune_insee`` (:class:`CommuneAlias`)."""
        index = cls()
        items = list(communes)
        by_insee = {str(c.insee): c for c in items}
        for c in items:
            lat, lon = _lat_lon_of(c)
            merged = getattr(c, "merged_into_insee", None)
            current = by_insee.get(merged) if merged else None
            index.add(CommuneEntry(
                insee=str(c.insee), name=str(c.name), lat=lat, lon=lon,
                population=getattr(c, "population", None),
                current_insee=merged if current is not None else None,
                current_name=str(current.name) if current is not None else None,
            ), alias=current is not None)
        known = {fold_text(str(c.name)) for c in items}
        for a in aliases:
            target = by_insee.get(str(a.commune_insee))
            if target is None or fold_text(str(a.name)) in known:
                continue
            lat, lon = _lat_lon_of(target)
            index.add(CommuneEntry(
                insee=str(getattr(a, "old_insee", None) or target.insee), name=str(a.name),
                lat=lat, lon=lon, population=getattr(target, "population", None),
                current_insee=str(target.insee), current_name=str(target.name),
            ), alias=True)
        return index

    def lookup(self, words: list[str]) -> tuple[CommuneEntry | None, int]:
        """Best commune for a run of folded words, and its edit distance (None if nothing fits
        or two communes fit equally well)."""
        if not words:
            return None, 99
        key = _place_key(words)
        exact = self._keys.get(key)
        if exact:
            return _prefer(exact), 0
        if len(key) < 5:
            return None, 99
        limit = 1 if len(key) < 9 else 2
        best: list[tuple[CommuneEntry, bool]] = []
        best_d = limit + 1
        for candidate, entries in self._keys.items():
            d = edit_distance(key, candidate, limit)
            if d < best_d:
                best, best_d = list(entries), d
            elif d == best_d and d <= limit:
                best.extend(entries)
        if not best or best_d > limit:
            return None, 99
        distinct = {e.insee for e, _ in best}
        if len(distinct) > 1:
            return None, 99
        return _prefer(best), best_d


def _prefer(entries: list[tuple[CommuneEntry, bool]]) -> CommuneEntry:
    """Among entries with the same spelling: a current commune before an old name."""
    return sorted(entries, key=lambda e: (e[1], -(e[0].population or 0)))[0][0]


def _lat_lon_of(obj: Any) -> tuple[float, float]:
    if hasattr(obj, "lat") and hasattr(obj, "lon"):
        return float(obj.lat), float(obj.lon)
    value = obj.lat_lon
    return float(value[0]), float(value[1])


# --- TRAJET ----------------------------------------------------------------------------------

WEEKDAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_WEEKDAY_WORDS = {w: k for k, w in enumerate(WEEKDAYS_FR)}
_WEEKDAY_WORDS.update({"lun": 0, "mer": 2, "merc": 2, "jeu": 3, "ven": 4, "vend": 4, "sam": 5, "dim": 6})
_MONTHS = {"janvier": 1, "janv": 1, "fevrier": 2, "fev": 2, "mars": 3, "avril": 4, "avr": 4, "mai": 5,
           "juin": 6, "juillet": 7, "juil": 7, "aout": 8, "septembre": 9, "sept": 9, "octobre": 10,
           "oct": 10, "novembre": 11, "nov": 11, "decembre": 12, "dec": 12}
_NUMBERS = {"un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8}
_CONNECTORS = {"de", "depuis", "du", "a", "au", "vers", "pour", "jusqu", "jusque", "et", "puis", "direction",
               "depart", "arrivee", "destination", "aller", "le", "la"}
MAX_SEATS = 8
MAX_DAYS_AHEAD = 60


@dataclass(frozen=True)
class TripRequest:
    """A trip a driver announced by SMS, as understood."""

    origin: CommuneEntry
    destination: CommuneEntry
    departure: datetime  # aware, local time zone
    seats: int
    assumed: tuple[str, ...] = ()  # what was not said and was assumed ("1 place")


class TripParseError(ValueError):
    """A TRAJET text could not be understood; the message (French) says what is missing."""


_TIME = re.compile(r"\b(\d{1,2}) ?(?:h|heures?|:) ?(\d{2})?\b|\b(midi|minuit)\b")
_SEATS = re.compile(r"\b(\d|un|une|deux|trois|quatre|cinq|six|sept|huit) ?(?:places?|pl|p|passagers?|pers|personnes?)\b")
_DATE = re.compile(r"\b(?:le )?(\d{1,2}) ?[/.-] ?(\d{1,2})(?: ?[/.-] ?(\d{2,4}))?\b")
_DAY_MONTH = re.compile(r"\b(?:le )?(\d{1,2}) (" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b")
_RELATIVE = re.compile(r"\b(aujourd hui|aujourdhui|auj|ce (?:matin|soir|midi)|apres demain|demain|hier)\b")
_WEEKDAY = re.compile(r"\b(?:le |ce )?(" + "|".join(sorted(_WEEKDAY_WORDS, key=len, reverse=True)) + r")\b(?: (prochain))?")


def _trip_text(text: str) -> str:
    """Folded text that keeps the separators dates and times need (":", "/", ".")."""
    text = "".join(_LIGATURES.get(c, c) for c in text)
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    ascii_text = re.sub(r"[^a-z0-9:/.]+", " ", ascii_text)
    ascii_text = re.sub(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)", " ", ascii_text)
    return " ".join(ascii_text.split())


def parse_trip(text: str, index: CommuneIndex, now: datetime) -> TripRequest:
    """Read "Lalbenque Cahors jeudi 8h 2 places" (the text after TRAJET).

    ``now`` is an aware datetime in the territory's time zone; the departure comes back in the
    same zone. Raise :class:`TripParseError` with a French message when something is missing.
    """
    folded = _trip_text(text)
    spans: list[tuple[int, int]] = []

    def take(match: re.Match[str]) -> None:
        spans.append(match.span())

    # Seats first: "2 p" must not be read as anything else.
    seats: int | None = None
    m = _SEATS.search(folded)
    if m:
        take(m)
        seats = int(m.group(1)) if m.group(1).isdigit() else _NUMBERS[m.group(1)]
    hour = minute = None
    for m in _TIME.finditer(folded):
        if any(s <= m.start() < e for s, e in spans):
            continue
        if m.group(3):
            hour, minute = (12, 0) if m.group(3) == "midi" else (0, 0)
        else:
            hour, minute = int(m.group(1)), int(m.group(2) or 0)
        take(m)
        break
    day: date | None = None
    today = now.date()
    m = _DATE.search(folded)
    if m and not any(s <= m.start() < e for s, e in spans):
        take(m)
        day = _resolve_day_month(int(m.group(1)), int(m.group(2)), m.group(3), today)
    if day is None:
        m = _DAY_MONTH.search(folded)
        if m:
            take(m)
            day = _resolve_day_month(int(m.group(1)), _MONTHS[m.group(2)], None, today)
    if day is None:
        m = _RELATIVE.search(folded)
        if m:
            take(m)
            word = m.group(1)
            offset = {"demain": 1, "hier": -1}.get(word, 2 if word.startswith("apres") else 0)
            day = today + timedelta(days=offset)
    by_weekday = False
    if day is None:
        m = _WEEKDAY.search(folded)
        if m:
            by_weekday = True
            take(m)
            ahead = (_WEEKDAY_WORDS[m.group(1)] - today.weekday()) % 7
            if m.group(2):
                ahead = ahead or 7
            day = today + timedelta(days=ahead)
    # The places are what remains, in order.
    chars = list(folded)
    for s, e in spans:
        for k in range(s, e):
            chars[k] = " "
    place_words = [w for w in re.sub(r"[:/.]", " ", "".join(chars)).split()
                   if not w.isdigit() and w not in ("h", "places", "place")]
    origin, destination = _split_places(place_words, index)
    if hour is None:
        raise TripParseError("Il manque l'heure de départ (par exemple 8h30).")
    if not (0 <= hour <= 23 and 0 <= (minute or 0) <= 59):
        raise TripParseError("Heure de départ non comprise (par exemple 8h30).")
    assumed: list[str] = []
    departure_time = time(hour, minute or 0)
    if day is None:
        day = today if departure_time > now.timetz().replace(tzinfo=None) else today + timedelta(days=1)
        assumed.append("jour")
    departure = datetime.combine(day, departure_time, tzinfo=now.tzinfo)
    if departure <= now:
        # A weekday named today at an hour already past means next week.
        if day == today and by_weekday:
            departure += timedelta(days=7)
        else:
            raise TripParseError("Ce départ est déjà passé : indiquez un jour et une heure à venir.")
    if departure - now > timedelta(days=MAX_DAYS_AHEAD):
        raise TripParseError(f"Annoncez les trajets au plus {MAX_DAYS_AHEAD} jours à l'avance.")
    if seats is None:
        seats = 1
        assumed.append("places")
    if not 1 <= seats <= MAX_SEATS:
        raise TripParseError(f"Nombre de places entre 1 et {MAX_SEATS}.")
    return TripRequest(origin, destination, departure, seats, tuple(assumed))


def _resolve_day_month(day: int, month: int, year: str | None, today: date) -> date:
    try:
        if year:
            y = int(year) + (2000 if len(year) == 2 else 0)
            return date(y, month, day)
        candidate = date(today.year, month, day)
        # "02/01" written in December means next January; a date a few weeks back is a mistake
        # to report, not a trip in eleven months.
        if (today - candidate).days > 180:
            candidate = date(today.year + 1, month, day)
        return candidate
    except ValueError as exc:
        raise TripParseError("Date non comprise (par exemple 14/03).") from exc


def _strip_connectors(words: list[str]) -> list[str]:
    start, end = 0, len(words)
    while start < end and words[start] in _CONNECTORS:
        start += 1
    # A trailing connector is never part of a name ("Lalbenque a" → "Lalbenque").
    while end > start and words[end - 1] in _CONNECTORS - {"le", "la"}:
        end -= 1
    return words[start:end]


def _lookup_side(words: list[str], index: CommuneIndex) -> tuple[CommuneEntry | None, int, int]:
    """Best reading of one side: as written, or without its connector words ("vers", "à"…),
    which are also parts of names ("Saint Géry-Vers")."""
    best: tuple[CommuneEntry | None, int, int] = (None, 99, 0)
    for candidate in (words, _strip_connectors(words)):
        entry, distance = index.lookup(candidate)
        if entry is not None and (best[0] is None or (distance, -len(candidate)) < (best[1], -best[2])):
            best = (entry, distance, len(candidate))
    return best


def _split_places(words: list[str], index: CommuneIndex) -> tuple[CommuneEntry, CommuneEntry]:
    """The split of the words into departure and destination that reads best."""
    if not words:
        raise TripParseError("Indiquez la commune de départ et celle d'arrivée.")
    best: tuple[int, int, CommuneEntry, CommuneEntry] | None = None
    seen_origin: CommuneEntry | None = None
    for i in range(1, len(words)):
        origin, d1, kept1 = _lookup_side(words[:i], index)
        if origin is not None and seen_origin is None:
            seen_origin = origin
        destination, d2, kept2 = _lookup_side(words[i:], index)
        if origin is None or destination is None:
            continue
        # Fewest typos first; then the fewest words thrown away as connectors.
        score = (d1 + d2, len(words) - kept1 - kept2)
        if best is None or score < best[:2]:
            best = (*score, origin, destination)
    if best is None:
        if seen_origin is None:
            seen_origin = index.lookup(_strip_connectors(words))[0]
        if seen_origin is not None:
            raise TripParseError(f"Départ compris : {seen_origin.label}. Commune d'arrivée non reconnue.")
        raise TripParseError("Communes non reconnues : écrivez par exemple TRAJET Lalbenque Cahors jeudi 8h.")
    origin, destination = best[2], best[3]
    if origin.lat == destination.lat and origin.lon == destination.lon:
        raise TripParseError("Le départ et l'arrivée sont la même commune.")
    return origin, destination


# --- Absences and one-off availability -------------------------------------------------------

MAX_ABSENCE_DAYS = 366
SLOT_WORDS = {"matin": "morning", "matinee": "morning", "apres midi": "afternoon", "aprem": "afternoon",
              "apm": "afternoon", "am": "afternoon", "soir": "evening", "soiree": "evening"}
_SLOT = re.compile(r"\b(" + "|".join(sorted(SLOT_WORDS, key=len, reverse=True)) + r")\b")
_SPAN_DAY_MONTH = re.compile(r"\b(\d{1,2}) (?:au|a) (\d{1,2}) (" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b")
_UNTIL = re.compile(r"\bjusqu(?:e|au|a)?\b")


@dataclass(frozen=True)
class AbsenceRequest:
    """ABSENT du 12/12 au 20/12: inclusive local days."""

    first_day: date
    last_day: date


@dataclass(frozen=True)
class AvailabilityRequest:
    """DISPO lundi matin: one day and its slots; ``day`` None for a bare DISPO (back again)."""

    day: date | None
    slots: tuple[str, ...]


class AbsenceParseError(ValueError):
    """An ABSENT or DISPO text that cannot be read; the message is French and fits an SMS."""


def _days_in(folded: str, today: date) -> list[tuple[int, date, bool]]:
    """Every day named in ``folded``, with its position and whether it was a weekday name."""
    found: list[tuple[int, date, bool]] = []
    taken: list[tuple[int, int]] = []

    def free(m: re.Match[str]) -> bool:
        return not any(s <= m.start() < e for s, e in taken)

    for m in _SPAN_DAY_MONTH.finditer(folded):  # "du 12 au 20 decembre"
        month = _MONTHS[m.group(3)]
        found.append((m.start(), _resolve_absence_day(int(m.group(1)), month, today), False))
        found.append((m.start(2), _resolve_absence_day(int(m.group(2)), month, today), False))
        taken.append(m.span())
    for pattern in (_DATE, _DAY_MONTH):
        for m in pattern.finditer(folded):
            if not free(m):
                continue
            if pattern is _DATE:
                try:
                    day = _resolve_day_month(int(m.group(1)), int(m.group(2)), m.group(3), today)
                except TripParseError as exc:
                    raise AbsenceParseError("Date non comprise (par exemple 12/12).") from exc
            else:
                day = _resolve_absence_day(int(m.group(1)), _MONTHS[m.group(2)], today)
            found.append((m.start(), day, False))
            taken.append(m.span())
    for m in _RELATIVE.finditer(folded):
        if free(m):
            word = m.group(1)
            offset = {"demain": 1, "hier": -1}.get(word, 2 if word.startswith("apres") else 0)
            found.append((m.start(), today + timedelta(days=offset), False))
            taken.append(m.span())
    for m in _WEEKDAY.finditer(folded):
        if free(m):
            ahead = (_WEEKDAY_WORDS[m.group(1)] - today.weekday()) % 7
            found.append((m.start(), today + timedelta(days=ahead or (7 if m.group(2) else 0)), True))
            taken.append(m.span())
    found.sort()
    return found


def _resolve_absence_day(day: int, month: int, today: date) -> date:
    try:
        return _resolve_day_month(day, month, None, today)
    except TripParseError as exc:
        raise AbsenceParseError("Date non comprise (par exemple 12/12).") from exc


def parse_absence(text: str, today: date) -> AbsenceRequest:
    """Read the text after ABSENT: "du 12/12 au 20/12", "demain", "lundi", "jusqu'au 20/12"."""
    # "12-12" is a date; the dash between two dates ("12/12 - 20/12") is not.
    text = re.sub(r"(?<![\d/.])(\d{1,2})-(\d{1,2})(?![\d/.])", r"\1/\2", text)
    folded = _trip_text(text)
    days = _days_in(folded, today)
    if not days:
        raise AbsenceParseError("Indiquez les dates, par exemple : ABSENT du 12/12 au 20/12")
    until = _UNTIL.search(folded)
    if len(days) == 1:
        first = last = days[0][1]
        if until is not None and until.start() < days[0][0]:
            first = today
    else:
        first, last = days[0][1], days[1][1]
        if last < first and days[1][2]:  # "du jeudi au lundi": the next Monday
            last += timedelta(days=7)
        if last < first:
            last = last.replace(year=last.year + 1) if (first - last).days > 180 else last
    if last < first:
        raise AbsenceParseError("La date de fin est avant la date de début.")
    if last < today:
        raise AbsenceParseError("Ces dates sont déjà passées.")
    if (last - first).days + 1 > MAX_ABSENCE_DAYS:
        raise AbsenceParseError("Une absence dure au plus un an. Appelez-nous pour une pause plus longue.")
    return AbsenceRequest(max(first, today), last)


def parse_availability(text: str, today: date) -> AvailabilityRequest:
    """Read the text after DISPO: "lundi matin", "demain apres-midi", "14/12", or nothing."""
    text = re.sub(r"(?<![\d/.])(\d{1,2})-(\d{1,2})(?![\d/.])", r"\1/\2", text)
    folded = _trip_text(text)
    slots = tuple(dict.fromkeys(SLOT_WORDS[m.group(1)] for m in _SLOT.finditer(folded)))
    days = _days_in(_SLOT.sub(" ", folded), today)
    if not days:
        if slots:
            raise AbsenceParseError("Indiquez le jour, par exemple : DISPO lundi matin")
        return AvailabilityRequest(None, ())
    day = days[0][1]
    if day < today:
        raise AbsenceParseError("Ce jour est déjà passé.")
    if (day - today).days > MAX_DAYS_AHEAD:
        raise AbsenceParseError(f"Indiquez un jour dans les {MAX_DAYS_AHEAD} prochains jours.")
    return AvailabilityRequest(day, slots or ("morning", "afternoon"))
