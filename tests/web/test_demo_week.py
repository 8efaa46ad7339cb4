"""The demo week of `make run`: needs over several days, volunteers, commuters, pooled routes."""

from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.models import Driver, DriverOffer, Proposal, RideNeed
from app.services.demo_data import demo_today
from app.services.matching import local_day_of, plan_day


def _needs() -> list[RideNeed]:
    return list(db.session.execute(db.select(RideNeed)).scalars())


def test_the_week_has_needs_on_several_days_mostly_the_next_two(app, demo):
    today = demo_today()
    needs = _needs()
    assert 25 <= len(needs) <= 40
    days = [(local_day_of(n.requested_at) - today).days for n in needs if n.status in ("new", "searching")]
    assert len(set(days)) >= 4 and all(d > 0 for d in days)
    assert sum(d in (1, 2) for d in days) > len(days) / 2
    assert {n.purpose for n in needs} >= {"medical", "employment"}
    assert any(n.needs_wheelchair for n in needs) and any(n.needs_accompaniment for n in needs)
    assert {n.return_mode for n in needs} == {"none", "after_wait", "at_time"}


def test_every_state_has_an_example_with_its_history(app, demo):
    today = demo_today()
    needs = _needs()
    assert {n.status for n in needs} == {"new", "searching", "proposed", "confirmed", "done", "cancelled", "unserved"}
    for need in needs:
        assert need.events and need.events[-1].to_status == need.status
        accepted = [p for p in need.proposals if p.status == "accepted"]
        assert len(accepted) == (1 if need.status in ("confirmed", "done") else 0)
    assert all(n.unserved_reason for n in needs if n.status == "unserved")
    done_last_week = [n for n in needs if n.status == "done" and 0 < (today - local_day_of(n.requested_at)).days <= 7]
    assert done_last_week


def test_eight_volunteers_with_valid_documents_and_commuters_trips(app, demo):
    tomorrow = demo_today() + timedelta(days=1)
    drivers = list(db.session.execute(db.select(Driver)).scalars())
    volunteers = [d for d in drivers if d.availability and d.is_cleared_on(tomorrow)]
    assert len(volunteers) == 8
    assert {d.structure.name for d in volunteers} == {"France Services de Valbourg", "CCAS de Combelongue"}
    regular = list(db.session.execute(db.select(DriverOffer).filter_by(kind="regular")).scalars())
    # A commuter drives her own trips to work: no availability grid to be sent anywhere else.
    commuters = {o.driver_id for o in regular if not o.driver.availability}
    assert len(commuters) >= 3
    assert any(set(o.weekdays.split(",")) == {"0", "1", "2", "3", "4"} for o in regular)
    assert all(o.driver.is_cleared_on(tomorrow) for o in regular)


def test_the_seeded_tomorrow_is_planned_with_pooled_routes(app, demo):
    tomorrow = demo_today() + timedelta(days=1)
    plan = plan_day(tomorrow)
    assert plan.routes and max(r.riders for r in plan.routes) >= 2
    # Every open need of tomorrow is planned (the confirmed one may be shown as fixed), most served.
    tomorrows = {n.id: n.status for n in _needs() if local_day_of(n.requested_at) == tomorrow}
    open_ids = {i for i, status in tomorrows.items() if status in ("new", "searching")}
    planned = {n.id for n, _c in plan.rides} | {n.id for n, _r in plan.unserved}
    assert open_ids <= planned <= set(tomorrows)
    assert len({n.id for n, _c in plan.rides} & open_ids) >= len(open_ids) // 2


def test_seeding_again_changes_nothing(app, demo):
    from app.services.demo_data import seed_demo

    before = [db.session.query(m).count() for m in (RideNeed, Driver, DriverOffer, Proposal)]
    seed_demo()
    assert [db.session.query(m).count() for m in (RideNeed, Driver, DriverOffer, Proposal)] == before
