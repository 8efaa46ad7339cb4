"""A need joins a volunteer's booked car: the need page offers her with the riders already on
board, the proposal is her updated route, and accepting it keeps the booked rider's promise."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Beneficiary,
    Commune,
    Driver,
    Place,
    Proposal,
    RideNeed,
    RideRoute,
    SmsMessage,
    utcnow,
)
from app.services import rides
from app.services.matching import candidates_for_need
from tests.web.conftest import AIDANT, login, paris_today

PARIS = ZoneInfo("Europe/Paris")


def _need(demo, first: str, phone: str, day: date) -> RideNeed:
    village = db.session.execute(select(Commune).filter_by(name="Montbrun-les-Pins")).scalar_one()
    target = db.session.execute(select(Place).filter_by(name="Maison de santé du Foirail")).scalar_one()
    rider = Beneficiary(structure_id=demo.valbourg.id, first_name=first, last_name="Voisin", phone_e164=phone,
                        home_commune_insee=village.insee, consent_sms_at=utcnow())
    db.session.add(rider)
    db.session.flush()
    need = RideNeed(beneficiary_id=rider.id, structure_id=demo.valbourg.id, pickup_label="Domicile, Montbrun-les-Pins",
                    pickup_geom=village.geom, dropoff_label=target.name, dropoff_place_id=target.id,
                    dropoff_geom=target.geom, purpose="medical", status="searching",
                    requested_at=datetime(day.year, day.month, day.day, 10, 0, tzinfo=PARIS))
    db.session.add(need)
    db.session.commit()
    return need


def test_a_need_joins_a_booked_car_and_the_first_rider_keeps_her_time(client, demo, app):
    app.config["SMS_QUIET_HOURS"] = ""
    day = paris_today() + timedelta(days=6)
    first = _need(demo, "Odette", "+33677000011", day)
    jeanne = db.session.execute(select(Driver).filter_by(first_name="Jeanne")).scalar_one()
    candidate = next(c for c in candidates_for_need(first).candidates if c.driver.id == jeanne.id and c.kind == "volunteer")
    proposal = rides.propose_ride(first, jeanne, candidate=candidate)
    assert rides.accept_proposal(proposal, via="phone")
    promised = proposal.pickup_at

    second = _need(demo, "Lucien", "+33677000012", day)
    # Joining Odette's car is offered; any other outing of Jeanne's does not overlap hers.
    outcome = candidates_for_need(second)
    with_jeanne = [c for c in outcome.candidates if c.driver.id == jeanne.id]
    join = next(c for c in with_jeanne if c.joins == 1)
    for other in (c for c in with_jeanne if not c.joins):
        assert other.end_at <= proposal.busy_from or other.leave_at >= proposal.busy_until
    assert {s["need"] for s in join.route_stops} == {first.id, second.id}

    login(client, AIDANT)
    html = client.get(f"/besoins/{second.id}").get_data(as_text=True)
    assert "voiture partagée : 1 personne(s) déjà à bord" in html
    response = client.post(f"/besoins/{second.id}/proposer",
                           data={"version": second.version, "driver_id": jeanne.id, "rejoindre": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    route = db.session.execute(select(RideRoute)).scalar_one()
    [new] = route.proposals
    assert new.need_id == second.id and new.status == "pending"
    sms = db.session.execute(select(SmsMessage).filter_by(kind="proposal", driver_id=jeanne.id)
                             .order_by(SmsMessage.id.desc())).scalars().first()
    assert "Odette V." in sms.body and "Lucien V." in sms.body and f"OUI {route.code}" in sms.body

    assert rides.accept_proposal(new, via="phone")
    db.session.expire_all()
    assert db.session.get(RideNeed, second.id).status == "confirmed"
    assert db.session.get(RideNeed, first.id).status == "confirmed"
    kept = db.session.get(Proposal, proposal.id)
    assert kept.status == "accepted" and kept.route_id == route.id
    assert abs((kept.pickup_at - promised).total_seconds()) <= 600  # the promise holds (margin)
    moved = db.session.execute(select(SmsMessage).filter_by(kind="pickup_moved")).scalars().all()
    assert bool(moved) == (abs((kept.pickup_at - promised).total_seconds()) >= 60)
