"""The app's door to the engine: stored drivers and needs in, ranked candidates out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.extensions import db
from app.models import (
    Beneficiary,
    Commune,
    Driver,
    DriverAvailability,
    DriverOffer,
    Place,
    Proposal,
    RideNeed,
    Structure,
    point,
)
from app.services.matching import candidates_for_need, drive_route, drive_times

PARIS = ZoneInfo("Europe/Paris")
# A Tuesday well inside the demo territory's validity.
DAY = date(2026, 12, 8)


def _commune(name: str) -> Commune:
    return db.session.execute(db.select(Commune).filter_by(name=name)).scalar_one()


def _place(kind: str) -> Place:
    return db.session.execute(db.select(Place).filter_by(kind=kind)).scalars().first()


def _setup(*, licence_ok: bool = True, wheelchair: bool = False, slots=((1, "morning"),)):
    structure = Structure(name="France Services test", kind="france_services")
    village = _commune("Montbrun-les-Pins")
    driver = Driver(
        structure=structure,
        first_name="Marc",
        last_name="Volontaire",
        phone_e164="+33612345678",
        home_commune_insee=village.insee,
        home_geom=village.geom,
        vehicle_seats=3,
        wheelchair_accessible=wheelchair,
        max_distance_km=30,
        licence_valid_until=DAY + timedelta(days=300 if licence_ok else -1),
        insurance_valid_until=DAY + timedelta(days=300),
    )
    driver.availability = [DriverAvailability(weekday=w, slot=s) for w, s in slots]
    rider_home = _commune("Les Granges")
    rider = Beneficiary(
        structure=structure,
        first_name="Roseline",
        last_name="Test",
        home_commune_insee=rider_home.insee,
    )
    db.session.add_all([structure, driver, rider])
    db.session.flush()
    hospital = _place("hospital")
    need = RideNeed(
        beneficiary=rider,
        structure=structure,
        pickup_label="Domicile",
        pickup_geom=rider_home.geom,
        dropoff_label=hospital.name,
        dropoff_place_id=hospital.id,
        dropoff_geom=hospital.geom,
        time_mode="arrive_by",
        requested_at=datetime(2026, 12, 8, 10, 0, tzinfo=PARIS).astimezone(UTC),
        purpose="medical",
    )
    db.session.add(need)
    db.session.commit()
    return driver, need


def test_a_volunteer_available_that_morning_is_a_candidate(app):
    driver, need = _setup()
    outcome = candidates_for_need(need)
    assert [c.driver.id for c in outcome.candidates] == [driver.id]
    best = outcome.candidates[0]
    assert best.kind == "volunteer"
    assert best.dropoff_at <= need.requested_at
    assert best.pickup_at < best.dropoff_at
    # The contribution is at most 0.32 € per km of the rider's own ride.
    assert 0 < best.contribution_eur <= 0.32 * outcome.direct_distance_m / 1000 + 0.01
    assert best.added_distance_m > outcome.direct_distance_m  # from home and back home
    assert outcome.reasons == []


def test_expired_licence_makes_the_driver_unavailable(app):
    _driver, need = _setup(licence_ok=False)
    outcome = candidates_for_need(need)
    assert outcome.candidates == []
    assert [r.code for r in outcome.reasons] == ["no_offer"]
    assert "Aucun bénévole" in outcome.reasons[0].message_fr


def test_reasons_say_what_to_change(app):
    _driver, need = _setup(slots=((1, "evening"),))
    outcome = candidates_for_need(need)
    assert outcome.candidates == []
    assert outcome.reasons[0].code == "no_one_available_then"
    assert "créneau" in outcome.reasons[0].message_fr
    need.needs_wheelchair = True
    need.requested_at = datetime(2026, 12, 8, 19, 0, tzinfo=PARIS).astimezone(UTC)
    db.session.commit()
    outcome = candidates_for_need(need)
    assert outcome.reasons[0].code == "requirement_unmet"


def test_a_regular_trip_passing_by_is_offered(app):
    driver, need = _setup(slots=())
    origin = _commune("Les Granges")
    db.session.add(
        DriverOffer(
            driver=driver,
            kind="regular",
            origin_label="Les Granges",
            origin_geom=origin.geom,
            destination_label="Valbourg",
            destination_geom=point(44.4508, 1.4405),
            weekdays="0,1,2,3,4",
            time_of_day="09:20",
            flexibility_min=20,
            seats=2,
            max_detour_min=15,
        )
    )
    db.session.commit()
    outcome = candidates_for_need(need)
    assert [c.kind for c in outcome.candidates] == ["trip"]
    assert outcome.candidates[0].offer is not None


def test_drive_times_and_route_on_the_demo_roads(app):
    valbourg = (44.4508, 1.4405)
    times = drive_times(valbourg, [(44.4508, 1.4405), _commune("Puech-Sainte-Foy").lat_lon])
    assert times[0] is not None and times[0] < 60
    assert times[1] is not None and 900 < times[1] < 3600  # 24 km of country roads
    time_s, length_m, coords = drive_route(valbourg, _commune("Puech-Sainte-Foy").lat_lon)
    assert time_s == times[1]
    assert 20_000 < length_m < 40_000
    assert len(coords) > 10


@pytest.mark.parametrize("mode", ["depart_after"])
def test_depart_after_window(app, mode):
    _driver, need = _setup()
    need.time_mode = mode
    need.requested_at = datetime(2026, 12, 8, 9, 0, tzinfo=PARIS).astimezone(UTC)
    db.session.commit()
    outcome = candidates_for_need(need)
    assert outcome.candidates and outcome.candidates[0].pickup_at >= need.requested_at


def test_points_off_the_territory_have_no_drive(app):
    toulouse = (43.6045, 1.4440)  # 95 km south of the demo territory's roads
    assert drive_times((44.4508, 1.4405), [toulouse, (44.4508, 1.4405)])[0] is None
    assert drive_route((44.4508, 1.4405), toulouse) is None


def _two_needs_one_volunteer():
    """Two needs at the same hour from the same home (the hospital, the shop), one
    volunteer whose daily cap is one."""
    driver, need = _setup()
    driver.max_rides_per_day = 1
    shopping = RideNeed(
        beneficiary=need.beneficiary,
        structure=need.structure,
        pickup_label="Domicile",
        pickup_geom=need.pickup_geom,
        dropoff_label="Supermarché",
        dropoff_geom=_place("shop").geom,
        time_mode="arrive_by",
        requested_at=need.requested_at,
        purpose="shopping",
    )
    db.session.add(shopping)
    db.session.commit()
    return driver, need, shopping


def test_plan_day_one_rider_model_gives_each_volunteer_at_most_her_cap(app):
    """Today's model (one rider per drive, the cap counts services): the plan serves one
    need, the medical one, and says why the other waits."""
    from app.services.matching import plan_day

    driver, need, shopping = _two_needs_one_volunteer()
    plan = plan_day(DAY, pooled=False)
    assert [(n.id, c.driver.id) for n, c in plan.rides] == [(need.id, driver.id)]
    assert plan.priority_served == 1
    assert [n.id for n, _reasons in plan.unserved] == [shopping.id]
    assert plan.unserved[0][1], "an unserved need comes with its reasons"
    assert all(r.max_on_board == 1 for r in plan.routes)
    # Once the shopping trip is proposed to her, the booking holds: a re-plan keeps it with her
    # (it is fixed) and the medical need, which would take her only service, waits.
    db.session.add(Proposal(need=shopping, driver=driver, code="123", status="pending"))
    db.session.commit()
    replanned = plan_day(DAY, pooled=False)
    assert [(n.id, c.driver.id) for n, c in replanned.rides] == [(shopping.id, driver.id)]
    assert replanned.committed == {shopping.id} and not replanned.broken
    assert [n.id for n, _reasons in replanned.unserved] == [need.id]


def test_plan_day_pools_both_riders_in_one_outing(app):
    """Pooled (the default): the cap counts outings, not riders: both go in one car."""
    from app.services.matching import plan_day

    driver, need, shopping = _two_needs_one_volunteer()
    plan = plan_day(DAY)
    assert sorted(n.id for n, _c in plan.rides) == sorted([need.id, shopping.id])
    assert {c.driver.id for _n, c in plan.rides} == {driver.id}
    assert plan.priority_served == 1 and plan.unserved == []
    (route,) = plan.routes
    assert route.driver.id == driver.id and route.kind == "volunteer"
    assert route.riders == 2 and route.max_on_board == 2
    assert plan.riders_per_drive == 2
    times = [s.at for s in route.stops]
    assert times == sorted(times)
    assert route.start_at <= times[0] and times[-1] <= route.end_at
    # Each rider is picked up before the appointment, then dropped at her place by then.
    appointment = need.requested_at.replace(tzinfo=UTC)
    for _n, c in plan.rides:
        assert c.pickup_at < c.dropoff_at <= appointment
        assert c.contribution_eur > 0 and c.allowance_eur >= 0
    assert {(s.need.id, s.kind) for s in route.stops} == {
        (need.id, "pickup"),
        (need.id, "dropoff"),
        (shopping.id, "pickup"),
        (shopping.id, "dropoff"),
    }
    assert plan.distance_m > 0
