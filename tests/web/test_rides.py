"""The status workflow: proposals, answers, first come first served, history, notifications."""

from __future__ import annotations

import threading
from datetime import time

import pytest

from app.extensions import db
from app.models import NeedEvent, Proposal, RideNeed
from app.services import rides
from app.services.rides import Endpoint, NeedChanged, NeedData, RideError
from tests.web.conftest import AIDANT, local_moment, login


@pytest.fixture
def sent(monkeypatch):
    """Record the notification calls instead of sending SMS."""
    from app.services import notifications

    calls: list[tuple[str, int]] = []
    lock = threading.Lock()
    for name in ("notify_proposal", "notify_taken", "notify_confirmation", "notify_cancellation"):
        def fake(obj, _name=name):  # type: ignore[no-untyped-def]
            with lock:
                calls.append((_name, obj.id))
        monkeypatch.setattr(notifications, name, fake)
    return calls


def _new_need(demo) -> RideNeed:  # type: ignore[no-untyped-def]
    person = demo.roseline
    home = person.home_lat_lon
    return rides.create_need(NeedData(
        beneficiary=person, pickup=Endpoint("Domicile", *home),
        dropoff=Endpoint("Valbourg", 44.4508, 1.4405), time_mode="arrive_by",
        requested_at=local_moment(1, time(10, 0)), purpose="medical"), demo.aidant)


def _pierre(demo):  # type: ignore[no-untyped-def]
    from app.models import Driver

    return db.session.execute(db.select(Driver).filter_by(first_name="Pierre")).scalar_one()


def test_propose_accept_confirms_and_tells_the_others(app, demo, sent):
    need = _new_need(demo)
    assert need.status == "new"
    first = rides.propose_ride(need, demo.jeanne, by_user=demo.aidant)
    second = rides.propose_ride(need, _pierre(demo), by_user=demo.aidant)
    assert need.status == "proposed"
    assert first.code != second.code and len(first.code) == 3 and first.code.isdigit()
    with pytest.raises(RideError):
        rides.propose_ride(need, demo.jeanne, by_user=demo.aidant)  # already waiting for her answer
    assert rides.accept_proposal(second, via="sms") is True
    db.session.refresh(first)
    assert need.status == "confirmed" and second.status == "accepted" and first.status == "taken"
    assert second.answered_via == "sms"
    assert rides.accept_proposal(first, via="sms") is False  # too late
    assert sent == [("notify_proposal", first.id), ("notify_proposal", second.id),
                    ("notify_taken", first.id), ("notify_confirmation", need.id)]
    statuses = [(e.from_status, e.to_status) for e in need.events if e.to_status]
    assert statuses == [(None, "new"), ("new", "proposed"), ("proposed", "proposed"), ("proposed", "confirmed")]
    rides.mark_done(need, demo.aidant)
    assert need.status == "done"


def test_decline_reopens_the_search_and_cancel_tells_the_confirmed_driver(app, demo, sent):
    need = _new_need(demo)
    proposal = rides.propose_ride(need, demo.jeanne, by_user=demo.aidant)
    assert rides.decline_proposal(proposal, via="phone", by_user=demo.aidant) is True
    assert proposal.status == "declined" and need.status == "searching"
    assert rides.decline_proposal(proposal, via="phone") is False
    again = rides.propose_ride(need, _pierre(demo), by_user=demo.aidant)
    assert rides.accept_proposal(again, via="web", by_user=demo.aidant)
    rides.cancel_need(need, by_user=demo.aidant, reason="rendez-vous annulé")
    assert need.status == "cancelled"
    assert ("notify_cancellation", need.id) in sent
    with pytest.raises(NeedChanged):
        rides.mark_done(need, demo.aidant)


def test_unserved_needs_a_reason_and_withdraws_pending_proposals(app, demo, sent):
    need = _new_need(demo)
    proposal = rides.propose_ride(need, demo.jeanne, by_user=demo.aidant)
    with pytest.raises(RideError):
        rides.mark_unserved(need, "  ", demo.aidant)
    rides.mark_unserved(need, "Personne le dimanche", demo.aidant)
    db.session.refresh(proposal)
    assert need.status == "unserved" and need.unserved_reason == "Personne le dimanche"
    assert proposal.status == "withdrawn"
    assert rides.accept_proposal(proposal, via="sms") is False


def test_expired_documents_block_a_proposal(app, demo, sent):
    from datetime import date, timedelta

    need = _new_need(demo)
    demo.jeanne.insurance_valid_until = date.today() - timedelta(days=1)
    db.session.commit()
    with pytest.raises(RideError):
        rides.propose_ride(need, demo.jeanne, by_user=demo.aidant)
    assert need.status == "new" and not need.proposals


def test_two_concurrent_acceptances_have_exactly_one_winner(app, demo, sent):
    need = _new_need(demo)
    ids = [rides.propose_ride(need, driver, by_user=demo.aidant).id for driver in (demo.jeanne, _pierre(demo))]
    db.session.commit()
    barrier = threading.Barrier(2)
    results: dict[int, bool] = {}
    errors: list[BaseException] = []

    def answer(proposal_id: int) -> None:
        with app.app_context():
            try:
                proposal = db.session.get(Proposal, proposal_id)
                barrier.wait(timeout=20)
                results[proposal_id] = rides.accept_proposal(proposal, via="sms")
            except BaseException as exc:  # noqa: BLE001 - reported to the test thread
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=answer, args=(pid,)) for pid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert sorted(results.values()) == [False, True]
    db.session.expire_all()
    stored = db.session.get(RideNeed, need.id)
    assert stored.status == "confirmed"
    assert sorted(p.status for p in stored.proposals) == ["accepted", "taken"]
    assert sum(1 for e in stored.events if e.to_status == "confirmed") == 1


def test_an_action_on_a_stale_page_is_refused_not_lost(client, demo, sent):
    login(client, AIDANT)
    need = _new_need(demo)
    seen_version = need.version
    # A colleague cancels the need meanwhile.
    rides.cancel_need(need, by_user=demo.aidant, reason="doublon")
    response = client.post(f"/besoins/{need.id}/sans-solution",
                           data={"version": str(seen_version), "reason": "Personne"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "modifié par quelqu&#39;un d&#39;autre" in html
    db.session.expire_all()
    assert db.session.get(RideNeed, need.id).status == "cancelled"
    assert db.session.query(NeedEvent).filter_by(need_id=need.id, to_status="unserved").count() == 0


def test_need_page_shows_candidates_and_records_the_phone_answer(client, demo, sent):
    login(client, AIDANT)
    person = demo.roseline
    response = client.post(f"/personnes/{person.id}/besoins/nouveau", data={
        "pickup": "home", "dropoff": "commune:99001", "time_mode": "arrive_by",
        "day": local_moment(1, time(10, 0)).date().isoformat(), "at": "10:00", "return_choice": "120",
        "purpose": "medical", "passengers": "1"})
    assert response.status_code == 302
    need_url = response.headers["Location"]
    html = client.get(need_url).get_data(as_text=True)
    assert 'id="candidats"' in html and "Proposer à Jeanne" in html
    need = db.session.execute(db.select(RideNeed).order_by(RideNeed.id.desc())).scalars().first()
    assert need.status == "searching" and need.return_wait_min == 120
    response = client.post(f"/besoins/{need.id}/proposer",
                           data={"driver_id": str(demo.jeanne.id), "version": str(need.version)})
    assert response.status_code == 302
    db.session.expire_all()
    proposal = db.session.execute(db.select(Proposal).filter_by(need_id=need.id)).scalar_one()
    assert proposal.pickup_at is not None and proposal.distance_m and proposal.allowance_eur is not None
    client.post(f"/propositions/{proposal.id}/reponse", data={"answer": "accept"})
    db.session.expire_all()
    assert db.session.get(RideNeed, need.id).status == "confirmed"
    assert db.session.get(Proposal, proposal.id).answered_via == "phone"
    page = client.get(f"/besoins/{need.id}").get_data(as_text=True)
    assert "Conducteur confirmé : Jeanne Martin" in page and "Amélie Aidante" in page


def test_when_nothing_fits_the_page_gives_the_reasons(client, demo, sent):
    login(client, AIDANT)
    response = client.post(f"/personnes/{demo.roseline.id}/besoins/nouveau", data={
        "pickup": "home", "dropoff": "commune:99001", "time_mode": "arrive_by",
        "day": local_moment(1, time(10, 0)).date().isoformat(), "at": "10:00", "return_choice": "none",
        "purpose": "medical", "passengers": "4", "needs_wheelchair": "y"})
    assert response.status_code == 302
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="aucune-solution"' in html and 'id="candidats"' not in html
    assert "Classer sans solution" in html


def test_a_volunteer_trip_is_recorded_from_the_driver_page(client, demo):
    from app.models import DriverOffer

    login(client, AIDANT)
    url = f"/benevoles/{demo.jeanne.id}/trajets/nouveau"
    html = client.post(url, data={"kind": "regular", "origin": "driver_home", "destination": "commune:99002",
                                  "at": "07:45", "seats": "2", "max_detour_min": "10"}).get_data(as_text=True)
    assert "Cochez au moins un jour." in html
    response = client.post(url, data={"kind": "regular", "origin": "driver_home", "destination": "commune:99002",
                                      "weekdays": ["0", "3"], "at": "07:45", "seats": "2", "max_detour_min": "10"})
    assert response.status_code == 302
    offer = db.session.execute(db.select(DriverOffer).filter_by(driver_id=demo.jeanne.id)).scalar_one()
    assert offer.kind == "regular" and offer.weekdays == "0,3" and offer.time_of_day == "07:45"
    assert offer.destination_label == "Saint-Aurèle-du-Causse"
