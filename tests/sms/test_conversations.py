"""Full SMS conversations through the signed webhook: proposals, OUI/NON, first come first
served, confirmations, ANNULER, STOP/START, TRAJET, AIDE, unknown numbers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

from app.extensions import db
from app.models import DriverOffer, NeedEvent, Proposal, RideNeed, SmsMessage
from app.services import rides
from tests.sms.conftest import PARIS, RIDER_PHONE, make_need, make_people, outbox, signed_post

_sid = iter(range(10_000, 99_999))


def text(client, phone: str, body: str) -> str:  # type: ignore[no-untyped-def]
    """Send ``body`` from ``phone`` through the signed webhook; return the TwiML reply text."""
    response = signed_post(client, "/sms/inbound", {"MessageSid": f"SM{next(_sid)}", "From": phone, "Body": body})
    assert response.status_code == 200
    root = ElementTree.fromstring(response.get_data())
    assert root.tag == "Response"
    return "\n".join(m.text or "" for m in root.iter("Message"))


def _status(obj):  # type: ignore[no-untyped-def]
    db.session.expire_all()
    return db.session.get(type(obj), obj.id).status


def test_proposal_oui_confirms_and_the_rider_is_told(app, client, twilio_token, daytime):
    _s, (marc,), rider = make_people(1)
    need = make_need(rider)
    proposal = rides.propose_ride(need, marc)
    [sms] = outbox(marc.phone_e164)
    assert sms.kind == "proposal" and sms.segments == 1
    assert f"OUI {proposal.code}" in sms.body and f"NON {proposal.code}" in sms.body
    assert "10h" in sms.body and "Centre hospitalier de Valbourg" in sms.body

    reply = text(client, marc.phone_e164, f"oui {proposal.code}")
    assert "Merci Marc" in reply and "confirmé" in reply and "Roseline D." in reply
    assert _status(need) == "confirmed" and _status(proposal) == "accepted"
    [confirmation] = outbox(RIDER_PHONE, kind="confirmation")
    assert "Marc" in confirmation.body and "10h" in confirmation.body
    assert "Domicile, Les Granges" in confirmation.body
    assert f"ANNULER {need.id}" in confirmation.body
    assert confirmation.status in ("sent", "delivered")
    # The driver got the details in the reply; no second SMS repeats them.
    assert outbox(marc.phone_e164, kind="driver_confirmation") == []
    db.session.expire_all()
    assert db.session.get(Proposal, proposal.id).answered_via == "sms"


def test_no_consent_no_sms_to_the_rider(app, client, twilio_token, daytime):
    _s, (marc,), rider = make_people(1, consent_sms=False)
    proposal = rides.propose_ride(make_need(rider), marc)
    text(client, marc.phone_e164, f"OUI {proposal.code}")
    assert outbox(RIDER_PHONE) == []


def test_two_drivers_answering_oui_at_once_one_wins(app, client, twilio_token, daytime):
    _s, (marc, julie), rider = make_people(2)
    need = make_need(rider)
    p1, p2 = rides.propose_ride(need, marc), rides.propose_ride(need, julie)
    barrier = threading.Barrier(2)
    replies: dict[str, str] = {}
    errors: list[BaseException] = []

    def answer(name: str, phone: str, code: str) -> None:
        try:
            local_client = app.test_client()
            barrier.wait()
            replies[name] = text(local_client, phone, f"OUI {code}")
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=answer, args=(d.first_name, d.phone_e164, p.code))
               for d, p in ((marc, p1), (julie, p2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    statuses = sorted([_status(p1), _status(p2)])
    assert statuses == ["accepted", "taken"]
    winner = marc if _status(p1) == "accepted" else julie
    loser = julie if winner is marc else marc
    assert "confirmé" in replies[winner.first_name]
    assert "déjà trouvé un conducteur" in replies[loser.first_name]
    assert _status(need) == "confirmed"
    [confirmation] = outbox(RIDER_PHONE, kind="confirmation")
    assert winner.first_name in confirmation.body


def test_the_others_are_told_it_is_taken(app, client, twilio_token, daytime):
    _s, (marc, julie, paul), rider = make_people(3)
    need = make_need(rider)
    p1, p2, _p3 = (rides.propose_ride(need, d) for d in (marc, julie, paul))
    text(client, marc.phone_e164, f"OUI {p1.code}")
    for other in (julie, paul):
        [notice] = outbox(other.phone_e164, kind="taken")
        assert "autre conducteur" in notice.body
    # Julie answers late: nothing changes, she is thanked.
    assert "déjà trouvé" in text(client, julie.phone_e164, f"oui {p2.code}")
    assert _status(p1) == "accepted"


def test_a_bare_oui_answers_the_latest_open_proposal(app, client, twilio_token, daytime):
    _s, (marc,), rider = make_people(1)
    first = rides.propose_ride(make_need(rider), marc)
    day = datetime.now(PARIS).date() + timedelta(days=3)
    later_need = make_need(rider, datetime(day.year, day.month, day.day, 15, 0, tzinfo=PARIS))
    second = rides.propose_ride(later_need, marc)
    # Make the second proposal's SMS clearly the latest.
    db.session.execute(db.update(SmsMessage).where(SmsMessage.proposal_id == first.id)
                       .values(sent_at=datetime.now(UTC) - timedelta(hours=1)))
    db.session.commit()
    reply = text(client, marc.phone_e164, "Ouiii !")
    assert "15h" in reply
    assert (_status(first), _status(second)) == ("pending", "accepted")


def test_non_declines_and_the_search_resumes(app, client, twilio_token, daytime):
    _s, (marc,), rider = make_people(1)
    need = make_need(rider)
    proposal = rides.propose_ride(need, marc)
    assert "C'est noté" in text(client, marc.phone_e164, f"Non {proposal.code}")
    assert _status(proposal) == "declined"
    assert _status(need) == "searching"
    assert "Aucune proposition" in text(client, marc.phone_e164, "oui")


def test_an_unknown_code_lists_the_open_ones(app, client, twilio_token, daytime):
    _s, (marc,), rider = make_people(1)
    proposal = rides.propose_ride(make_need(rider), marc)
    wrong = "999" if proposal.code != "999" else "998"
    reply = text(client, marc.phone_e164, f"OUI {wrong}")
    assert f"Code {wrong} inconnu" in reply and proposal.code in reply
    assert _status(proposal) == "pending"


def test_stop_then_a_proposal_sends_nothing_and_start_resumes(app, client, twilio_token, daytime):
    _s, (marc,), rider = make_people(1)
    assert "Pour reprendre : START" in text(client, marc.phone_e164, "ARRÊT")
    need = make_need(rider)
    rides.propose_ride(need, marc)
    assert [m.kind for m in outbox(marc.phone_e164) if m.status in ("queued", "sending", "sent", "delivered")] == ["stop_ack"]
    # The aidants see in the need's history that the driver must be called.
    db.session.expire_all()
    notes = [e.note for e in db.session.execute(db.select(NeedEvent).where(NeedEvent.need_id == need.id)).scalars()]
    assert any("SMS" in (n or "") for n in notes)
    db.session.refresh(marc)
    assert marc.sms_opt_out is True

    assert "de nouveau" in text(client, marc.phone_e164, "start")
    db.session.refresh(marc)
    assert marc.sms_opt_out is False
    other = make_need(rider, datetime.now(PARIS).replace(hour=11, minute=0, second=0, microsecond=0) + timedelta(days=4))
    rides.propose_ride(other, marc)
    assert outbox(marc.phone_e164, kind="proposal")[-1].status == "delivered"


def test_rider_cancels_by_sms_and_the_driver_is_told(app, client, twilio_token, daytime):
    _s, (marc,), rider = make_people(1)
    need = make_need(rider)
    proposal = rides.propose_ride(need, marc)
    text(client, marc.phone_e164, f"OUI {proposal.code}")
    reply = text(client, RIDER_PHONE, "annuler")
    assert "est annulé" in reply
    assert _status(need) == "cancelled"
    [notice] = outbox(marc.phone_e164, kind="cancellation")
    assert "Roseline D." in notice.body and "annulé" in notice.body
    assert outbox(RIDER_PHONE, kind="cancellation") == []  # the reply said it


def test_rider_with_two_rides_is_asked_which(app, client, twilio_token, daytime):
    _s, _drivers, rider = make_people(1)
    first = make_need(rider)
    day = datetime.now(PARIS).date() + timedelta(days=5)
    second = make_need(rider, datetime(day.year, day.month, day.day, 9, 0, tzinfo=PARIS))
    reply = text(client, RIDER_PHONE, "ANNULER")
    assert "Quel trajet" in reply and str(first.id) in reply and str(second.id) in reply
    assert "annulé" in text(client, RIDER_PHONE, f"ANNULER {second.id}")
    assert (_status(first), _status(second)) == ("searching", "cancelled")
    assert "Mobilité solidaire" in text(client, RIDER_PHONE, "aide")


def test_a_driver_announces_a_trip_and_confirms_it(app, client, twilio_token, daytime):
    _s, (marc,), _rider = make_people(1)
    reply = text(client, marc.phone_e164, "TRAJET Le Mas-Vieux Valbourg demain 8h30 2 places")
    assert "Compris : Le Mas-Vieux (Combelongue) > Valbourg" in reply and "8h30" in reply and "2 places" in reply
    offer = db.session.execute(db.select(DriverOffer).where(DriverOffer.driver_id == marc.id)).scalar_one()
    assert (offer.status, offer.source, offer.seats) == ("pending_confirmation", "sms", 2)
    code = reply.split("OUI ")[1].split(" ")[0]
    assert "enregistré" in text(client, marc.phone_e164, f"oui {code}")
    assert _status(offer) == "active"
    assert "retiré" in text(client, marc.phone_e164, f"ANNULER {code}")
    assert _status(offer) == "cancelled"


def test_a_trip_that_is_not_understood_is_explained(app, client, twilio_token, daytime):
    make_people(1)
    reply = text(client, "+33622222221", "trajet Valbourg Paris demain 8h")
    assert "arrivée non reconnue" in reply and "Exemple" in reply
    assert db.session.execute(db.select(DriverOffer)).first() is None


def test_only_registered_drivers_announce_trips(app, client, twilio_token, daytime):
    make_people(1)
    assert "réservé aux conducteurs" in text(client, RIDER_PHONE, "TRAJET Valbourg Salvetat demain 8h")
    assert "réservé aux conducteurs" in text(client, "+33698765432", "TRAJET Valbourg Salvetat demain 8h")


def test_an_unknown_number_is_pointed_to_france_services(app, client, twilio_token, daytime):
    reply = text(client, "+33698765432", "Bonjour, j'ai besoin d'aller chez le médecin")
    assert "France Services de Valbourg" in reply
    assert "Bonjour, ce numéro sert aux trajets solidaires" in reply
    reply = text(client, "+33698765432", "J'habite à Fontverte")
    assert "France Services" in reply


def test_aide_explains_the_commands(app, client, twilio_token, daytime):
    make_people(1)
    reply = text(client, "+33622222221", "aide")
    assert "OUI" in reply and "TRAJET" in reply and "STOP" in reply
    assert "Message non compris" in text(client, "+33622222221", "Bonjour")


def test_every_reply_is_stored_and_fits_one_sms(app, client, twilio_token, daytime):
    _s, (marc,), rider = make_people(1)
    proposal = rides.propose_ride(make_need(rider), marc)
    for body in ("AIDE", f"OUI {proposal.code}", "TRAJET Valbourg Salvetat demain 8h 3 places", "STOP", "START"):
        text(client, marc.phone_e164, body)
    replies = outbox(marc.phone_e164)
    assert all(r.status in ("sent", "delivered") for r in replies)
    assert max(r.segments for r in replies) == 1, [(r.body, r.segments) for r in replies if r.segments > 1]
    inbound = db.session.execute(db.select(SmsMessage).where(SmsMessage.direction == "in")).scalars().all()
    assert all(m.status == "processed" for m in inbound)
    assert db.session.execute(db.select(RideNeed)).scalar_one().status == "confirmed"


def test_a_failure_while_handling_gets_an_answer_and_is_recorded(app, client, twilio_token, daytime, monkeypatch):
    _s, (marc,), rider = make_people(1)
    proposal = rides.propose_ride(make_need(rider), marc)

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database went away")

    monkeypatch.setattr(rides, "accept_proposal", broken)
    reply = text(client, marc.phone_e164, f"OUI {proposal.code}")
    assert "nous n'avons pas pu traiter votre message" in reply
    inbound = db.session.execute(db.select(SmsMessage).where(SmsMessage.direction == "in")).scalar_one()
    assert inbound.status == "processed" and "database went away" in inbound.last_error
    assert _status(proposal) == "pending"


def test_a_message_whose_handling_died_is_taken_over_on_retry(app, client, twilio_token, daytime):
    _s, (marc,), rider = make_people(1)
    proposal = rides.propose_ride(make_need(rider), marc)
    stale = datetime.now(UTC) - timedelta(minutes=5)
    db.session.add(SmsMessage(direction="in", phone_e164=marc.phone_e164, body=f"OUI {proposal.code}",
                              status="processing", provider_sid="SMdied", created_at=stale, updated_at=stale))
    db.session.commit()
    params = {"MessageSid": "SMdied", "From": marc.phone_e164, "Body": f"OUI {proposal.code}"}
    response = signed_post(client, "/sms/inbound", params)
    assert "confirmé" in response.get_data(as_text=True)
    assert _status(proposal) == "accepted"
    # While another request is handling it, a retry answers nothing and does nothing.
    db.session.add(SmsMessage(direction="in", phone_e164=marc.phone_e164, body="NON", status="processing",
                              provider_sid="SMbusy"))
    db.session.commit()
    response = signed_post(client, "/sms/inbound", {"MessageSid": "SMbusy", "From": marc.phone_e164, "Body": "NON"})
    assert ElementTree.fromstring(response.get_data()).findall("Message") == []


def test_drivers_asked_are_told_when_the_proposal_is_withdrawn_or_the_need_cancelled(
    app, client, twilio_token, daytime
):
    _s, (marc, julie), rider = make_people(2)
    need = make_need(rider)
    proposal = rides.propose_ride(need, marc)
    rides.withdraw_proposals(need, by_user=None)
    [notice] = outbox(marc.phone_e164, kind="withdrawn")
    assert proposal.code in notice.body and "retirée" in notice.body
    # Marc answers late: nothing is confirmed.
    text(client, marc.phone_e164, f"OUI {proposal.code}")
    assert _status(need) == "searching"
    # A pending proposal withdrawn by a cancellation is announced the same way.
    rides.propose_ride(need, julie)
    rides.cancel_need(need, via="web")
    [notice] = outbox(julie.phone_e164, kind="withdrawn")
    assert "Inutile de répondre" in notice.body


def test_an_oui_for_a_time_already_given_says_so_and_keeps_the_ride_open(app, client, twilio_token, daytime):
    """A proposal written outside the platform's checks (a partner's booking, an old row) may
    overlap a ride the volunteer already accepted: her OUI is refused, and she is told why."""
    _s, (marc,), rider = make_people(1)
    day = datetime.now(PARIS).date() + timedelta(days=2)
    first = rides.propose_ride(make_need(rider, datetime(day.year, day.month, day.day, 10, 0, tzinfo=PARIS)), marc)
    assert "Merci Marc" in text(client, marc.phone_e164, f"OUI {first.code}")
    second_need = make_need(rider, datetime(day.year, day.month, day.day, 10, 30, tzinfo=PARIS))
    second = Proposal(need_id=second_need.id, driver_id=marc.id, kind="volunteer", code="4242", status="pending",
                      pickup_at=second_need.requested_at - timedelta(minutes=30))
    second_need.status = "proposed"
    db.session.add(second)
    db.session.commit()
    reply = text(client, marc.phone_e164, "OUI 4242")
    assert "vous avez déjà un trajet" in reply and "NON 4242" in reply, reply
    assert "déjà trouvé" not in reply
    assert (_status(first), _status(second), _status(second_need)) == ("accepted", "pending", "proposed")
