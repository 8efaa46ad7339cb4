"""Reading inbound texts: commands, codes, and TRAJET over the demo and the real Lot communes."""

from __future__ import annotations

import random
import unicodedata
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from app.services.communes import CommuneRecord, read_commune_aliases_csv, read_communes_csv
from app.services.sms_grammar import (
    CANCEL,
    HELP,
    NO,
    START,
    STOP,
    TRIP,
    UNKNOWN,
    WEEKDAYS_FR,
    YES,
    CommuneIndex,
    TripParseError,
    edit_distance,
    fold_text,
    parse_command,
    parse_trip,
)
from tests.conftest import shared_file

PARIS = ZoneInfo("Europe/Paris")
# A Monday morning.
NOW = datetime(2026, 3, 9, 9, 30, tzinfo=PARIS)

SPELLINGS = {
    YES: ["OUI", "oui", "Oui", "ouii", "OUIII", "oiu", "ouais", "ok", "OK", "d'accord", "D’accord", "Yes"],
    NO: ["NON", "non", "Non", "nonn", "nan", "NO", "nom", "pas dispo"],
    CANCEL: ["ANNULER", "annuler", "Annulé", "anuler", "annulerr", "anulé", "ANNULATION", "annler"],
    STOP: ["STOP", "stop", "Stop", "ARRET", "ARRÊT", "arrêt", "Arret", "arête", "arrete"],
    START: ["START", "start", "Start", "strat", "reprendre"],
    HELP: ["AIDE", "aide", "Aide", "aidez", "HELP", "?"[:0] + "info"],
    TRIP: ["TRAJET", "trajet", "Trajet", "trajt", "tarjet", "trajets"],
}


@pytest.mark.parametrize(("keyword", "word"), [(k, w) for k, words in SPELLINGS.items() for w in words])
def test_every_usual_spelling_of_a_command(keyword, word):
    assert parse_command(word).keyword == keyword


@pytest.mark.parametrize("text", ["OUI 482", "oui482", "Oui, 482 !", "482 oui", "  oui   482.", "OUI n°482",
                                  "Oui 482 merci", "OUÍ 482", "ouii 482"])
def test_the_code_is_found_wherever_it_is(text):
    command = parse_command(text)
    assert (command.keyword, command.code) == (YES, "482")


@pytest.mark.parametrize("text", ["bonjour", "stp", "top", "pas de souci", "", "   ", "!!!", "je ne sais pas",
                                  "no comment" [:0] + "qui est-ce ?", "12"])
def test_texts_that_are_no_command(text):
    assert parse_command(text).keyword == UNKNOWN


def test_trajet_keeps_the_original_details():
    command = parse_command("TRAJET Lalbenque Cahors jeudi 8h 2 places")
    assert command.keyword == TRIP and command.rest == "Lalbenque Cahors jeudi 8h 2 places"
    assert parse_command("trajet: St-Cirq → Cahors").rest == "St-Cirq → Cahors"


def _noisy(word: str, data: st.DataObject) -> str:
    """A keyword as typed on a phone: any case, maybe doubled letters, punctuation around."""
    chars = []
    for c in word:
        c = c.upper() if data.draw(st.booleans()) else c.lower()
        chars.append(c * data.draw(st.integers(1, 2)) if c.isalpha() and c.lower() in "io" else c)
    return (data.draw(st.sampled_from(["", " ", "  ", "\n", "« "])) + "".join(chars)
            + data.draw(st.sampled_from(["", " ", "!", ".", " !", "...", ",", " :)"])))


@given(data=st.data(), keyword=st.sampled_from([YES, NO, CANCEL, STOP, START, HELP]),
       code=st.one_of(st.none(), st.integers(100, 999)))
def test_keywords_survive_case_punctuation_and_codes(data, keyword, code):
    word = data.draw(st.sampled_from({YES: ["oui", "ok"], NO: ["non"], CANCEL: ["annuler", "annulé"],
                                      STOP: ["stop", "arrêt"], START: ["start"], HELP: ["aide"]}[keyword]))
    text = _noisy(word, data)
    if code is not None:
        text += data.draw(st.sampled_from([" ", "", "  ", " n°"])) + str(code)
    command = parse_command(text)
    assert command.keyword == keyword, text
    if keyword in (YES, NO, CANCEL):
        assert command.code == (str(code) if code is not None else None), text


@given(st.text(max_size=200))
def test_any_text_gives_a_command_without_error(text):
    command = parse_command(text)
    assert command.keyword in (YES, NO, CANCEL, STOP, START, HELP, TRIP, UNKNOWN)
    assert command.code is None or command.code.isdigit()
    assert fold_text(fold_text(text)) == fold_text(text)


@given(st.text(alphabet="abcdefgh", max_size=8), st.text(alphabet="abcdefgh", max_size=8))
def test_edit_distance_is_a_distance(a, b):
    d = edit_distance(a, b, limit=20)
    assert d == edit_distance(b, a, limit=20)
    assert (d == 0) == (a == b)
    assert d <= max(len(a), len(b))


# --- TRAJET over the demo territory's communes ---------------------------------------------

def _demo_index() -> CommuneIndex:
    from data.demo import CENTER_LAT, CENTER_LON, TOWN, village_positions

    records = [CommuneRecord("99001", TOWN[0], CENTER_LAT, CENTER_LON, TOWN[1], None, None, None)]
    for k, (name, lat, lon, population, _road) in enumerate(village_positions(), start=2):
        records.append(CommuneRecord(f"99{k:03d}", name, lat, lon, population, None, None, None))
    combelongue = next(r for r in records if r.name == "Combelongue")
    records.append(CommuneRecord("99050", "Le Mas-Vieux", combelongue.lat + 0.01, combelongue.lon, 200, None, None,
                                 combelongue.insee))
    return CommuneIndex.build(records)


def test_trajet_as_in_the_issue():
    trip = parse_trip("Valbourg Fontverte jeudi 8h 2 places", _demo_index(), NOW)
    assert (trip.origin.name, trip.destination.name) == ("Valbourg", "Fontverte")
    assert trip.departure == datetime(2026, 3, 12, 8, 0, tzinfo=PARIS)
    assert trip.seats == 2 and trip.assumed == ()


@pytest.mark.parametrize(("text", "origin", "destination", "departure", "seats"), [
    ("de St Aurele du Causse à Valbourg demain 14h30", "Saint-Aurèle-du-Causse", "Valbourg", (3, 10, 14, 30), 1),
    ("saint-aurèle-du-causse -> valbourg 10/03 7:45 3pl", "Saint-Aurèle-du-Causse", "Valbourg", (3, 10, 7, 45), 3),
    ("Mas Vieux Valbourg lundi prochain 9h", "Le Mas-Vieux", "Valbourg", (3, 16, 9, 0), 1),
    ("les granges valbourg le 14 mars 18h une place", "Les Granges", "Valbourg", (3, 14, 18, 0), 1),
    ("Valbour Roquefix mercredi midi", "Valbourg", "Roquefixe", (3, 11, 12, 0), 1),
    ("puech ste foy vers castelnau riviere vendredi 8 h 15 deux places", "Puech-Sainte-Foy", "Castelnau-Rivière",
     (3, 13, 8, 15), 2),
    ("jeudi 8h Valbourg Salvetat 2 places", "Valbourg", "Salvetat", (3, 12, 8, 0), 2),
    ("Valbourg Fontverte lundi 8h", "Valbourg", "Fontverte", (3, 16, 8, 0), 1),  # Monday 8h is past: next week
])
def test_trajet_spellings(text, origin, destination, departure, seats):
    trip = parse_trip(text, _demo_index(), NOW)
    assert (trip.origin.name, trip.destination.name, trip.seats) == (origin, destination, seats)
    month, day, hour, minute = departure
    assert trip.departure == datetime(2026, month, day, hour, minute, tzinfo=PARIS)


def test_a_merged_commune_is_shown_with_its_current_name():
    trip = parse_trip("Le Mas-Vieux Valbourg demain 9h", _demo_index(), NOW)
    assert trip.origin.label == "Le Mas-Vieux (Combelongue)"


@pytest.mark.parametrize(("text", "message"), [
    ("Valbourg jeudi 8h", "arrivée"),
    ("Paris Lyon jeudi 8h", "Communes non reconnues"),
    ("Valbourg Fontverte jeudi", "heure"),
    ("Valbourg Fontverte hier 8h", "passé"),
    ("Valbourg Fontverte 01/03 8h", "passé"),
    ("Valbourg Fontverte jeudi 8h 9 places", "places"),
    ("Valbourg Valbourg jeudi 8h", "même commune"),
    ("Valbourg Fontverte 31/02 8h", "Date"),
    ("", "départ"),
])
def test_trajet_errors_say_what_is_missing(text, message):
    with pytest.raises(TripParseError, match=message):
        parse_trip(text, _demo_index(), NOW)


def test_a_missing_day_means_the_next_such_hour():
    index = _demo_index()
    assert parse_trip("Valbourg Fontverte 14h", index, NOW).departure == datetime(2026, 3, 9, 14, 0, tzinfo=PARIS)
    trip = parse_trip("Valbourg Fontverte 7h", index, NOW)
    assert trip.departure == datetime(2026, 3, 10, 7, 0, tzinfo=PARIS)
    assert "jour" in trip.assumed and "places" in trip.assumed


# --- TRAJET over the real communes of the Lot ----------------------------------------------

@pytest.fixture(scope="module")
def lot_index() -> CommuneIndex:
    communes = read_communes_csv(shared_file("communes/lot46_communes.csv"))
    aliases = read_commune_aliases_csv(shared_file("communes/lot46_communes_deleguees_2026.csv"))
    return CommuneIndex.build(communes, aliases)


@pytest.mark.parametrize(("text", "origin", "destination"), [
    ("Lalbenque Cahors jeudi 8h 2 places", "Lalbenque", "Cahors"),
    ("st cirq lapopie cahors jeudi 8h", "Saint-Cirq-Lapopie", "Cahors"),
    ("LALBENQUE CAHOR jeudi 8h", "Lalbenque", "Cahors"),
    ("lalbenqe cahors jeudi 8h", "Lalbenque", "Cahors"),
    ("de Labastide-Murat à Cahors jeudi 8h", "Labastide-Murat", "Cahors"),
    ("Labastide Murat Figeac jeudi 8h", "Labastide-Murat", "Figeac"),
    ("Saint Géry Cahors jeudi 8h", "Saint-Géry", "Cahors"),
    ("Coeur de Causse Cahors jeudi 8h", "Cœur de Causse", "Cahors"),
    ("Fontanes du Causse Cahors jeudi 8h", "Fontanes-du-Causse", "Cahors"),
    ("Fontanes Cahors jeudi 8h", "Fontanes", "Cahors"),
    ("Castelnau Montratier Cahors jeudi 8h", "Castelnau-Montratier", "Cahors"),
    ("Cahors Bellefont la Rauze jeudi 8h", "Cahors", "Bellefont-La Rauze"),
    ("Laroque des Arcs Cahors jeudi 8h", "Laroque-des-Arcs", "Cahors"),
    ("Cahors St Gery Vers jeudi 8h", "Cahors", "Saint Géry-Vers"),
])
def test_trajet_over_the_real_lot_communes(lot_index, text, origin, destination):
    trip = parse_trip(text, lot_index, NOW)
    assert (trip.origin.name, trip.destination.name) == (origin, destination)


def test_old_names_of_merged_lot_communes_point_to_the_new_commune(lot_index):
    trip = parse_trip("Labastide-Murat Cahors jeudi 8h", lot_index, NOW)
    assert trip.origin.current_name == "Cœur de Causse"
    assert trip.origin.label == "Labastide-Murat (Cœur de Causse)"
    cdc = next(e for e in lot_index.entries if e.name == "Cœur de Causse")
    assert (trip.origin.lat, trip.origin.lon) == (cdc.lat, cdc.lon)


def _typed(name: str, rng: random.Random) -> str:
    """A commune name as someone might text it."""
    text = name
    if rng.random() < 0.5:
        text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    if rng.random() < 0.4:
        text = text.replace("Saint-", "St ").replace("Sainte-", "Ste ").replace("Saint ", "St ")
    if rng.random() < 0.5:
        text = text.replace("-", " ")
    return rng.choice([str.lower, str.upper, str.title, lambda s: s])(text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_pair_of_real_communes_is_understood(lot_index, data):
    current = [e for e in lot_index.entries if e.current_name is None]
    origin = data.draw(st.sampled_from(current))
    destination = data.draw(st.sampled_from(current))
    assume(origin.insee != destination.insee)
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    day = data.draw(st.sampled_from(WEEKDAYS_FR[1:]))
    hour = data.draw(st.integers(6, 20))
    text = f"{_typed(origin.name, rng)} {_typed(destination.name, rng)} {day} {hour}h"
    trip = parse_trip(text, lot_index, NOW)
    assert (trip.origin.insee, trip.destination.insee) == (origin.insee, destination.insee), text
    assert trip.departure.hour == hour and trip.departure - NOW < timedelta(days=7)
