"""The demo data of `make run`: idempotent, every status shown, candidates for a need in town."""

from __future__ import annotations

from datetime import time

from app.extensions import db
from app.models import Beneficiary, Driver, DriverOffer, RideNeed
from app.services.demo_data import seed_demo
from app.services.matching import candidates_for_need
from app.services.rides import Endpoint, NeedData, create_need
from tests.web.conftest import local_moment


def test_seed_is_idempotent_and_covers_the_workflow(app, demo):
    counts = [db.session.query(m).count() for m in (Beneficiary, Driver, RideNeed, DriverOffer)]
    accounts = seed_demo()
    assert [db.session.query(m).count() for m in (Beneficiary, Driver, RideNeed, DriverOffer)] == counts
    assert {role for role, _e, _p in accounts} == {"admin", "coordinator", "aidant"}
    statuses = {n.status for n in db.session.execute(db.select(RideNeed)).scalars()}
    assert statuses == {"new", "searching", "proposed", "confirmed", "done", "cancelled", "unserved"}
    kinds = {o.kind for o in db.session.execute(db.select(DriverOffer)).scalars()}
    assert kinds == {"regular", "one_off"}


def test_a_new_need_in_town_finds_demo_volunteers(app, demo):
    # In the morning: Jeanne's afternoon that day is taken by Sébastien's confirmed ride.
    person = demo.roseline
    need = create_need(NeedData(
        beneficiary=person, pickup=Endpoint("Domicile", *person.home_lat_lon),
        dropoff=Endpoint("Valbourg", 44.4508, 1.4405), time_mode="arrive_by",
        requested_at=local_moment(2, time(10, 30)), purpose="medical"), demo.aidant)
    outcome = candidates_for_need(need)
    names = {c.driver.first_name for c in outcome.candidates}
    assert "Jeanne" in names and "Henri" not in names  # Henri's insurance has expired
