"""Shortened place labels never break an SMS's punctuation (real Lot names).

A proposal that does not fit one SMS has its place labels shortened; an earlier cut lost the
closing parenthesis of "Domicile (Lacombe-Haute)" and left "hospitalier.." before the final dot.
"""

from __future__ import annotations

import csv

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.sms.encoding import _balanced, shorten_label, tidy_punctuation
from tests.conftest import shared_file


def _names() -> list[str]:
    names: list[str] = []
    with shared_file("communes/lot46_communes.csv").open(encoding="utf-8") as f:
        names += [row["nom"] for row in csv.DictReader(f)]
    with shared_file("territory/car-services-publics-2018.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            names += [row["place"], f"{row['place']} ({row['commune']})"]
    return names


@pytest.fixture(scope="module")
def real_names() -> list[str]:
    return _names()


LABELS = ["Domicile ({})", "{}", "Mairie de {}", "Centre hospitalier ({})", '{} "centre"',
          "Gare de {} [quai 1]"]


def test_the_reported_label_keeps_its_parenthesis():
    short = shorten_label("Domicile (Lacombe-Haute)", 20)
    assert short.endswith(")") and short.startswith("Domicile (") and len(short) <= 20
    assert tidy_punctuation("Domicile > Centre hospitalier.. Répondez") == (
        "Domicile > Centre hospitalier. Répondez")


def test_short_labels_are_kept_as_written():
    assert shorten_label("Cahors", 20) == "Cahors"
    assert shorten_label("  Gare   de Cahors ", 40) == "Gare de Cahors"


@settings(max_examples=300, deadline=None)
@given(data=st.data(), limit=st.integers(min_value=6, max_value=40))
def test_real_labels_shortened_stay_balanced_and_short(real_names, data, limit):
    name = data.draw(st.sampled_from(real_names))
    label = data.draw(st.sampled_from(LABELS)).format(name)
    short = shorten_label(label, limit)
    assert 0 < len(short) <= limit
    if _balanced(label):
        assert _balanced(short), (label, short)
    assert ".." not in short
    assert not short.endswith(("(", "[", " ", "-"))
    rendered = tidy_punctuation(f"Trajet : {short} > {short}. Répondez OUI 12")
    assert ".." not in rendered


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_proposal_sms_with_long_real_places_fits_and_is_balanced(app_spatialite, real_names, data):
    from app.services.notifications import _render_fitting

    pickup = f"Domicile ({data.draw(st.sampled_from(real_names))})"
    dropoff = data.draw(st.sampled_from(real_names)) + " - Centre hospitalier Jean Rougier"
    with app_spatialite.test_request_context():
        text = _render_fitting(
            "proposal", ("pickup", "dropoff"), driver=type("D", (), {"first_name": "Maximilienne"})(),
            day="jeudi 12 décembre", hour="8h30", pickup=pickup, dropoff=dropoff, passengers=2,
            needs="accompagnement, fauteuil roulant", distance_km=38, code="482")
    assert _balanced(text), text
    assert ".." not in text
    assert "OUI 482" in text
