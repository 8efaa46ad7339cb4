"""A pooled route by SMS: one proposal of at most three GSM-7 segments, answered with one code
through the signed webhook; one reminder for the whole route the day before."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from app.extensions import db
from app.models import Beneficiary, RideNeed, RideRoute
from app.services import rides
from app.services.notifications import send_reminders
from app.sms.encoding import count_segments, is_gsm7
from tests.sms.conftest import PARIS, make_need, make_people, outbox
from tests.sms.test_conversations import text


def _route(driver, needs: list[RideNeed], start: datetime) -> rides.RoutePlan:
    """All riders picked up one after the other, then dropped in the same order."""
    stops, riders = [], []
    for k, need in enumerate(needs):
        at = start + timedelta(minutes=10 * k)
        stops.append({"need": need.id, "kind": "pickup", "leg": "outbound", "at": at.isoformat()})
        riders.append(rides.RouteRider(need.id, ("outbound",), at, start + timedelta(minutes=60 + 5 * k)))
    for k, need in enumerate(needs):
        stops.append({"need": need.id, "kind": "dropoff", "leg": "outbound",
                      "at": (start + timedelta(minutes=60 + 5 * k)).isoformat()})
    return rides.RoutePlan(driver_id=driver.id, offer_id=None, kind="volunteer", start_at=start - timedelta(minutes=20),
                           end_at=start + timedelta(minutes=90), distance_m=42_000, stops=stops, riders=riders)


def test_a_route_of_four_riders_fits_three_segments_and_is_answered_by_code(client, app, twilio_token, daytime):
    _s, (marc,), rider = make_people(1)
    marc.vehicle_seats = 4
    day = datetime.now(PARIS).date() + timedelta(days=2)
    when = datetime.combine(day, time(10), PARIS)
    needs = []
    for k, name in enumerate(("Germaine", "Marcelle", "Jean-Baptiste", "Évelyne")):
        other = Beneficiary(structure=rider.structure, first_name=name, last_name="Lacoste-Delmas",
                            home_commune_insee=rider.home_commune_insee)
        db.session.add(other)
        db.session.commit()
        need = make_need(other, when)
        need.pickup_label = f"Lieu-dit des Grandes Combes numéro {k}, route de la vallée du Célé"
        need.needs_wheelchair = k == 1
        db.session.commit()
        needs.append(need)
    route = rides.propose_route(_route(marc, needs, when.astimezone(PARIS) - timedelta(hours=1)))
    [sms] = outbox(marc.phone_e164, kind="proposal")
    assert is_gsm7(sms.body) and count_segments(sms.body).segments <= 3
    assert f"OUI {route.code}" in sms.body and "fauteuil" in sms.body
    for name in ("Germaine L.", "Marcelle L.", "Jean-Baptiste L."):
        assert name in sms.body
    # One answer with the route's code confirms every rider.
    reply = text(client, marc.phone_e164, f"oui {route.code}")
    assert "tournée confirmée" in reply
    db.session.expire_all()
    assert db.session.get(RideRoute, route.id).status == "accepted"
    assert all(db.session.get(RideNeed, n.id).status == "confirmed" for n in needs)
    # A second OUI is told it is already hers; a NON now changes nothing.
    assert "déjà" in text(client, marc.phone_e164, f"OUI {route.code}")
    text(client, marc.phone_e164, f"NON {route.code}")
    db.session.expire_all()
    assert db.session.get(RideRoute, route.id).status == "accepted"
    # The day before: one reminder for the route, listing the stops.
    eve = datetime.combine(day - timedelta(days=1), time(10), PARIS)
    send_reminders(eve)
    send_reminders(eve + timedelta(minutes=15))
    [reminder] = outbox(marc.phone_e164, kind="reminder_driver")
    assert "tournée" in reminder.body and "Germaine L." in reminder.body


def test_a_route_answered_after_it_lapsed_is_refused(client, app, twilio_token, daytime):
    _s, (marc,), rider = make_people(1)
    need = make_need(rider)
    route = rides.propose_route(_route(marc, [need], need.requested_at.astimezone(PARIS) - timedelta(hours=1)))
    route.expires_at = datetime.now(PARIS) - timedelta(minutes=1)
    db.session.commit()
    reply = text(client, marc.phone_e164, f"OUI {route.code}")
    assert "expiré" in reply
    db.session.expire_all()
    assert db.session.get(RideRoute, route.id).status == "pending"  # the expiry task closes it
    assert db.session.get(RideNeed, need.id).status == "proposed"
