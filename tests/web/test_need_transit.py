"""The need page shows the bus or train that would do, from the territory's timetables."""

from __future__ import annotations

from datetime import time

from app.services import rides
from app.services.rides import Endpoint, NeedData
from tests.api.seed import CASTELNAU, VALBOURG_GARE
from tests.web.conftest import AIDANT, local_moment, login, paris_today


def _weekday_ahead() -> int:
    """Days from today to the next Monday-to-Saturday day (the demo buses do not run on Sunday)."""
    days = 2
    while (paris_today().toordinal() + days) % 7 == 0:  # date.toordinal() % 7 == 0 is a Sunday
        days += 1
    return days


def _bus_section(client, demo, appointment: time) -> str:  # type: ignore[no-untyped-def]
    """The need page's public-transport section for a ride from Castelnau-Rivière's town hall
    to the bus station, arriving by ``appointment`` on a day the buses run."""
    login(client, AIDANT)
    need = rides.create_need(NeedData(
        beneficiary=demo.roseline, pickup=Endpoint("Place de la mairie", *CASTELNAU),
        dropoff=Endpoint("Gare routière", *VALBOURG_GARE), time_mode="arrive_by",
        requested_at=local_moment(_weekday_ahead(), appointment), purpose="medical"), demo.aidant)
    page = client.get(f"/besoins/{need.id}").get_data(as_text=True)
    return page.split('id="bus"', 1)[1].split("<h2", 1)[0]


def test_the_need_page_shows_the_bus_before_the_appointment(client, demo):
    section = _bus_section(client, demo, time(9, 0))
    # Line L1 leaves Castelnau-Rivière at 06:50 and 08:10: both arrive before 09:00.
    assert "L1" in section and "Départ 08:10" in section and "Départ 06:50" in section, section
    assert "Pas de bus" not in section


def test_no_bus_is_said_when_none_runs(client, demo):
    assert "Pas de bus ni de train adapté à cet horaire." in _bus_section(client, demo, time(6, 0))
