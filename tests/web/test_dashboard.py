"""The coordinators' dashboard: waiting needs, gaps, volunteers' activity, monthly km (CSV), map."""

from __future__ import annotations

import json
import re

from app.services import dashboard
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
