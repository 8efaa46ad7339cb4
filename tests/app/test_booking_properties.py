"""Bookings that hold, as a property: random sequences of what aidants, volunteers (by SMS)
and the day planner do — with two of them acting at the same instant — never book a volunteer
on overlapping services, never put more riders in a car than its seats, and give every
confirmed rider exactly one driver per leg. On SpatiaLite and on PostGIS."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from app.extensions import db
from app.models import (
    Beneficiary,
    Commune,
    DayPlanRun,
    Driver,
    DriverAvailability,
    DriverOffer,
    NeedEvent,
    Place,
    Proposal,
    RideNeed,
    RideRoute,
    SmsMessage,
    Structure,
    utcnow,
)
from app.services import day_plans, rides
from app.services.conversations import handle_inbound
from app.services.matching import candidates_for_need

PARIS = ZoneInfo("Europe/Paris")
PHONES = ("+33633333301", "+33633333302", "+33633333303")
N_NEEDS = 6


def _world() -> tuple[list[Driver], list[Beneficiary]]:
    """Three volunteers available all day (one also drives her own trip with 2 seats), six
    riders in different communes of the demo territory."""
    structure = Structure(name="Structure des propriétés", kind="association")
    communes = list(db.session.execute(select(Commune).where(Commune.geom.is_not(None))
                                       .order_by(Commune.insee)).scalars())[:8]
    drivers = []
    for k, phone in enumerate(PHONES):
        home = communes[k]
        driver = Driver(structure=structure, first_name=("Anne", "Bruno", "Chloé")[k], last_name="Prop",
                        phone_e164=phone, home_commune_insee=home.insee, home_geom=home.geom,
                        licence_valid_until=date.today() + timedelta(days=400),
                        insurance_valid_until=date.today() + timedelta(days=400),
                        vehicle_seats=3 if k else 1, max_rides_per_day=3, max_distance_km=60)
        driver.availability = [DriverAvailability(weekday=w, slot=s) for w in range(7)
                               for s in ("morning", "afternoon")]
        drivers.append(driver)
    riders = [Beneficiary(structure=structure, first_name=f"Rider{k}", last_name="Prop",
                          home_commune_insee=communes[k % len(communes)].insee)
              for k in range(N_NEEDS)]
    db.session.add_all([structure, *drivers, *riders])
    db.session.flush()
    hospital = db.session.execute(select(Place).filter_by(kind="hospital")).scalars().first()
    db.session.add(DriverOffer(driver_id=drivers[2].id, kind="regular", origin_label="Chez Chloé",
                               origin_geom=communes[2].geom, destination_label=hospital.name,
                               destination_geom=hospital.geom, weekdays="0,1,2,3,4,5,6", time_of_day="08:45",
                               flexibility_min=30, seats=2, max_detour_min=30, status="active"))
    db.session.commit()
    return drivers, riders


def _needs(riders: list[Beneficiary], day: date) -> list[RideNeed]:
    hospital = db.session.execute(select(Place).filter_by(kind="hospital")).scalars().first()
    needs = []
    for k, rider in enumerate(riders):
        when = datetime(day.year, day.month, day.day, 9 + (k % 3), 30 * (k % 2), tzinfo=PARIS)
        home = db.session.get(Commune, rider.home_commune_insee)
        needs.append(RideNeed(beneficiary_id=rider.id, structure_id=rider.structure_id,
                              pickup_label=f"Domicile, {home.name}", pickup_geom=home.geom,
                              dropoff_label=hospital.name, dropoff_geom=hospital.geom, dropoff_place_id=hospital.id,
                              requested_at=when, purpose="medical", status="searching",
                              return_mode="after_wait" if k % 3 == 0 else "none",
                              return_wait_min=60 if k % 3 == 0 else None))
    db.session.add_all(needs)
    db.session.commit()
    return needs


def _reset(need_ids: list[int]) -> None:
    db.session.rollback()
    db.session.execute(delete(SmsMessage))
    db.session.execute(delete(Proposal))
    db.session.execute(delete(RideRoute))
    db.session.execute(delete(DayPlanRun))
    db.session.execute(delete(NeedEvent))
    for need in db.session.execute(select(RideNeed).where(RideNeed.id.in_(need_ids))).scalars():
        need.status, need.unserved_reason, need.auto_next = "searching", None, False
    db.session.commit()


# --- the actors -------------------------------------------------------------------------------

def _proposal(k: int) -> Proposal | None:
    rows = list(db.session.execute(select(Proposal).order_by(Proposal.id)).scalars())
    return rows[k % len(rows)] if rows else None


def propose(need_id: int, j: int) -> None:
    need = db.session.get(RideNeed, need_id)
    outcome = candidates_for_need(need)
    if outcome.candidates:
        candidate = outcome.candidates[j % len(outcome.candidates)]
        rides.propose_ride(need, candidate.driver, candidate=candidate)


def answer_sms(k: int, yes: bool) -> None:
    proposal = _proposal(k)
    if proposal is not None:
        handle_inbound(proposal.driver.phone_e164, f"{'OUI' if yes else 'NON'} {proposal.code}",
                       message_sid=f"SMprop{utcnow().timestamp()}{threading.get_ident()}{k}")


def accept_web(k: int) -> None:
    proposal = _proposal(k)
    if proposal is not None:
        rides.accept_proposal(proposal, via="phone")


def cancel(need_id: int) -> None:
    rides.cancel_need(db.session.get(RideNeed, need_id), reason="propriété")


def withdraw(need_id: int) -> None:
    rides.withdraw_proposals(db.session.get(RideNeed, need_id), by_user=None)  # type: ignore[arg-type]


def plan_and_propose(day: date, r: int) -> None:
    run = DayPlanRun(day=day, scope="all", status="queued")
    db.session.add(run)
    db.session.commit()
    day_plans.run_plan(run.id)
    db.session.refresh(run)
    assert run.status == "done", f"the day plan failed: {run.error}"
    routes = (run.result or {}).get("routes", []) if run.status == "done" else []
    if routes:
        rides.propose_route(day_plans.route_plan(run, r % len(routes)))


EXPECTED = (rides.RideError,)


def _act(action: tuple, day: date) -> None:
    name, *args = action
    try:
        if name == "propose":
            propose(*args)
        elif name == "sms":
            answer_sms(*args)
        elif name == "accept":
            accept_web(*args)
        elif name == "cancel":
            cancel(*args)
        elif name == "withdraw":
            withdraw(*args)
        elif name == "plan":
            plan_and_propose(day, *args)
    except EXPECTED:
        db.session.rollback()


def _at_once(app, first: tuple, second: tuple, day: date) -> None:
    """Two people acting at the same instant, each in her own request context and session."""
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(action: tuple) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                _act(action, day)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(a,)) for a in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]


# --- the invariants ---------------------------------------------------------------------------

def _legs(need: RideNeed) -> set[str]:
    return {"outbound", "return"} if need.return_mode != "none" else {"outbound"}


def check_bookings() -> None:
    db.session.expire_all()
    # A cancelled ride keeps its driver's acceptance as history; only rides still ahead book her.
    active = list(db.session.execute(
        select(Proposal).join(RideNeed, RideNeed.id == Proposal.need_id)
        .where(Proposal.status.in_(("pending", "accepted")),
               RideNeed.status.in_(("new", "searching", "proposed", "confirmed")))
        .order_by(Proposal.id)).scalars())
    # A pending route may keep a rider already booked on its driver: it replaces her booking
    # when the driver accepts it (rides.accept_route), so the two are one car, not two.
    route_needs = {r.id: {int(s["need"]) for s in r.stops} for r in db.session.execute(select(RideRoute)).scalars()}
    for a in active:
        assert a.busy_from is not None and a.busy_until is not None
        for b in active:
            if a.id >= b.id or a.driver_id != b.driver_id:
                continue
            if a.route_id is not None and a.route_id == b.route_id:
                continue
            if (b.route_id is not None and a.need_id in route_needs.get(b.route_id, ())) or (
                    a.route_id is not None and b.need_id in route_needs.get(a.route_id, ())):
                continue
            overlap = a.busy_from < b.busy_until and b.busy_from < a.busy_until
            assert not overlap, f"driver {a.driver_id} booked twice at once: proposals {a.id} and {b.id}"
    for route in db.session.execute(select(RideRoute).where(RideRoute.status.in_(("pending", "accepted")))).scalars():
        seats = route.offer.seats if route.offer is not None else route.driver.vehicle_seats
        on_board, worst = 0, 0
        needs = {n.id: n for n in db.session.execute(
            select(RideNeed).where(RideNeed.id.in_({int(s["need"]) for s in route.stops}))).scalars()}
        for stop in route.stops:
            load = needs[int(stop["need"])].passengers
            on_board += load if stop["kind"] == "pickup" else -load
            worst = max(worst, on_board)
        assert worst <= seats, f"route {route.id}: {worst} riders for {seats} seats"
    for p in active:
        if p.route_id is None:
            seats = p.offer.seats if p.offer is not None else p.driver.vehicle_seats
            assert p.need.passengers <= seats
    event(f"bookings at once: {min(len(active), 3)}+")
    if any(p.route_id is not None for p in active):
        event("a pooled route is booked")
    for need in db.session.execute(select(RideNeed)).scalars():
        accepted = [p for p in need.proposals if p.status == "accepted"]
        if need.status == "confirmed":
            event("a need is confirmed")
        covered: list[str] = []
        for p in accepted:
            covered += sorted(_legs(need)) if p.leg == "both" else [p.leg]
        assert len(covered) == len(set(covered)), f"need {need.id}: a leg has two drivers"
        if need.status == "confirmed":
            assert set(covered) == _legs(need), f"need {need.id} confirmed without a driver for every leg"
        if need.status in ("cancelled", "unserved", "new", "searching"):
            assert not [p for p in need.proposals if p.status == "pending"], f"need {need.id}: pending left"
        if need.status in ("unserved", "searching"):
            assert not accepted, f"need {need.id} is {need.status} with an accepted driver"


# --- the property -----------------------------------------------------------------------------

_index = st.integers(min_value=0, max_value=40)
_need = st.integers(min_value=0, max_value=N_NEEDS - 1)
_single = st.one_of(
    st.tuples(st.just("propose"), _need, _index),
    st.tuples(st.just("sms"), _index, st.booleans()),
    st.tuples(st.just("accept"), _index),
    st.tuples(st.just("cancel"), _need),
    st.tuples(st.just("withdraw"), _need),
    st.tuples(st.just("plan"), _index),
)
_step = st.one_of(_single.map(lambda a: ("one", a)), st.tuples(st.just("two"), _single, _single))


@pytest.fixture
def world(app):
    day = datetime.now(PARIS).date() + timedelta(days=4)
    drivers, riders = _world()
    needs = _needs(riders, day)
    return day, [n.id for n in needs]


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(_step, min_size=1, max_size=8))
def test_bookings_hold_under_any_sequence(app, world, steps):
    day, need_ids = world
    _reset(need_ids)
    note(f"steps: {steps!r}")
    for step in steps:
        if step[0] == "one":
            action = step[1]
            _act(_resolve(action, need_ids), day)
        else:
            _at_once(app, _resolve(step[1], need_ids), _resolve(step[2], need_ids), day)
        check_bookings()


def _resolve(action: tuple, need_ids: list[int]) -> tuple:
    """Need indexes to ids."""
    name, *args = action
    if name in ("propose", "cancel", "withdraw"):
        args[0] = need_ids[args[0]]
    return (name, *args)
