"""The status workflow: proposals, answers, first come first served, history, notifications."""

from __future__ import annotations

import threading
from datetime import UTC, time

import pytest

from app.extensions import db
from app.models import NeedEvent, Proposal, RideNeed
from app.services import rides
from app.services.rides import Endpoint, NeedChanged, NeedData, RideError
from tests.web.conftest import AIDANT, local_moment, login, paris_today


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
    from datetime import timedelta

    need = _new_need(demo)
    demo.jeanne.insurance_valid_until = paris_today() - timedelta(days=1)
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


# --- Editing a posted need ------------------------------------------------------------------

def _seeded_need(person, status: str) -> RideNeed:  # type: ignore[no-untyped-def]
    return db.session.execute(db.select(RideNeed).filter_by(beneficiary_id=person.id, status=status)).scalars().first()


def _selected(html: str, value: str) -> bool:
    import re

    return re.search(rf'<option[^>]*selected[^>]*value="{value}"|<option[^>]*value="{value}"[^>]*selected', html) is not None


def _edit_data(need: RideNeed, **changes: str) -> dict[str, str]:
    data = {"pickup": "home", "dropoff": f"place:{need.dropoff_place_id}", "time_mode": "arrive_by",
            "day": local_moment(3, time(10, 0)).date().isoformat(), "at": "10:00", "return_choice": "120",
            "purpose": "medical", "passengers": "1", "needs_accompaniment": "y", "notes": "Besoin de démonstration",
            "version": str(need.version)}
    data.update(changes)
    return data


def test_modifier_opens_the_creation_form_prefilled_and_saving_searches_again(client, demo, sent):
    from app.models import AuditLog

    login(client, AIDANT)
    need = _seeded_need(demo.roseline, "new")
    page = client.get(f"/besoins/{need.id}").get_data(as_text=True)
    assert f'href="/besoins/{need.id}/modifier"' in page
    db.session.expire_all()
    need = db.session.get(RideNeed, need.id)
    assert need.status == "searching"  # opening the page started the search
    html = client.get(f"/besoins/{need.id}/modifier").get_data(as_text=True)
    assert "Modifier le trajet de Roseline" in html and "Enregistrer les modifications" in html
    assert _selected(html, "home") and _selected(html, f"place:{need.dropoff_place_id}") and _selected(html, "120")
    assert 'value="10:00"' in html and f'value="{local_moment(3, time(10, 0)).date().isoformat()}"' in html
    assert f'name="version" value="{need.version}"' in html
    # The aidant moves the appointment to 11:30, for two passengers, to the town centre.
    response = client.post(f"/besoins/{need.id}/modifier", data=_edit_data(
        need, at="11:30", passengers="2", dropoff="commune:99001"))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/besoins/{need.id}")
    db.session.expire_all()
    need = db.session.get(RideNeed, need.id)
    assert need.status == "searching" and need.passengers == 2 and need.dropoff_label == "Valbourg"
    assert need.dropoff_place_id is None
    assert need.requested_at == local_moment(3, time(11, 30))
    event = need.events[-1]
    assert event.note.startswith("Besoin modifié") and event.user_id == demo.aidant.id
    assert set(event.data["changes"]) >= {"requested_at", "passengers", "dropoff_label", "dropoff_point"}
    assert event.data["changes"]["passengers"] == [1, 2]
    assert db.session.execute(db.select(AuditLog).filter_by(
        action="update", object_type="ride_need", object_id=str(need.id))).scalar_one().user_id == demo.aidant.id
    assert "Besoin modifié" in client.get(f"/besoins/{need.id}").get_data(as_text=True)
    # Saving the same values again changes nothing and writes no event.
    events = len(need.events)
    client.post(f"/besoins/{need.id}/modifier", data=_edit_data(
        need, at="11:30", passengers="2", dropoff="commune:99001"))
    db.session.expire_all()
    assert len(db.session.get(RideNeed, need.id).events) == events


def test_an_unserved_need_edited_goes_back_to_searching(client, demo, sent):
    login(client, AIDANT)
    need = _seeded_need(demo.roseline, "unserved")
    html = client.get(f"/besoins/{need.id}/modifier").get_data(as_text=True)
    assert "Enregistrer les modifications" in html
    # Its date is past: the form says so next to the field, and nothing is saved.
    past = client.post(f"/besoins/{need.id}/modifier", data=_edit_data(
        need, day=need.requested_at.date().isoformat(), purpose="shopping"))
    assert past.status_code == 400 and "date est passée" in past.get_data(as_text=True)
    response = client.post(f"/besoins/{need.id}/modifier", data=_edit_data(need, purpose="shopping", at="09:30"))
    assert response.status_code == 302
    db.session.expire_all()
    need = db.session.get(RideNeed, need.id)
    assert need.status == "searching" and need.unserved_reason is None
    assert (need.events[-1].from_status, need.events[-1].to_status) == ("unserved", "searching")


def test_two_aidants_editing_at_once_the_second_is_told_and_keeps_her_values(app, demo, sent):
    from tests.web.conftest import COORDINATOR, OwnContextClient

    need = _seeded_need(demo.roseline, "new")
    rides.start_search(need)
    seen = need.version
    client, colleague = OwnContextClient(app), OwnContextClient(app)
    login(client, AIDANT)
    login(colleague, COORDINATOR)
    first = client.post(f"/besoins/{need.id}/modifier", data=_edit_data(need, at="14:00", version=str(seen)))
    assert first.status_code == 302
    second = colleague.post(f"/besoins/{need.id}/modifier", data=_edit_data(
        need, at="15:45", notes="Rampe d'accès côté parking", version=str(seen)))
    assert second.status_code == 409
    html = second.get_data(as_text=True)
    assert 'id="conflit"' in html and "modifié par quelqu&#39;un d&#39;autre" in html
    assert 'value="15:45"' in html and "Rampe d&#39;accès côté parking" in html  # her values are kept
    db.session.expire_all()
    stored = db.session.get(RideNeed, need.id)
    assert stored.requested_at == local_moment(3, time(14, 0)) and stored.notes == "Besoin de démonstration"
    assert f'name="version" value="{stored.version}"' in html
    # Having read the warning, she saves on purpose: her values replace the first ones.
    third = colleague.post(f"/besoins/{need.id}/modifier", data=_edit_data(
        need, at="15:45", notes="Rampe d'accès côté parking", version=str(stored.version)))
    assert third.status_code == 302
    db.session.expire_all()
    stored = db.session.get(RideNeed, need.id)
    assert stored.requested_at == local_moment(3, time(15, 45)) and stored.notes == "Rampe d'accès côté parking"
    edits = [e for e in stored.events if (e.note or "").startswith("Besoin modifié")]
    assert [e.actor for e in edits] == ["Amélie Aidante", "Claude Coordinatrice"]


def test_a_service_edit_with_a_stale_version_changes_nothing(app, demo, sent):
    need = _new_need(demo)
    stale = need.version
    rides.start_search(need, demo.aidant)
    person = demo.roseline
    data = NeedData(beneficiary=person, pickup=Endpoint("Domicile", *person.home_lat_lon),
                    dropoff=Endpoint("Valbourg", 44.4508, 1.4405), time_mode="arrive_by",
                    requested_at=local_moment(1, time(16, 0)), purpose="medical")
    with pytest.raises(NeedChanged):
        rides.update_need(need, data, demo.aidant, expected_version=stale)
    db.session.expire_all()
    assert db.session.get(RideNeed, need.id).requested_at == local_moment(1, time(10, 0))
    assert rides.update_need(need, data, demo.aidant, expected_version=need.version) == {
        "requested_at": [local_moment(1, time(10, 0)).astimezone(UTC).isoformat(),
                         local_moment(1, time(16, 0)).isoformat()]}


@pytest.mark.parametrize("status", ["proposed", "confirmed"])
def test_a_proposed_or_confirmed_need_is_not_edited_and_the_page_says_why(client, demo, sent, status):
    login(client, AIDANT)
    need = _seeded_need(demo.sebastien, status)
    before = (need.requested_at, need.version, len(need.events))
    page = client.get(f"/besoins/{need.id}").get_data(as_text=True)
    assert f"/besoins/{need.id}/modifier" not in page
    assert ("retirez d&#39;abord la proposition" if status == "proposed" else "annulez d&#39;abord le besoin") in page
    assert ("Retirer la proposition en attente" in page) == (status == "proposed")
    response = client.get(f"/besoins/{need.id}/modifier")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/besoins/{need.id}#modifier")
    response = client.post(f"/besoins/{need.id}/modifier", data=_edit_data(need, at="16:00"))
    assert response.status_code == 302
    db.session.expire_all()
    need = db.session.get(RideNeed, need.id)
    assert (need.requested_at, need.version, len(need.events)) == before and need.status == status
    assert all(p.status in ("pending", "accepted") for p in need.proposals)
    with pytest.raises(NeedChanged):
        rides.update_need(need, NeedData(
            beneficiary=demo.sebastien, pickup=Endpoint("Domicile", 44.45, 1.44), dropoff=Endpoint("X", 44.5, 1.5),
            time_mode="arrive_by", requested_at=local_moment(4, time(9, 0)), purpose="other"),
            demo.aidant, expected_version=need.version)


# --- Cancelling a volunteer's trip -----------------------------------------------------------

def test_a_cancelled_trip_is_kept_but_no_longer_offered_by_the_matching(client, demo, sent):
    from app.models import AuditLog, Driver, DriverOffer
    from app.services.matching import candidates_for_need
    from tests.web.conftest import CCAS

    louis = db.session.execute(db.select(Driver).filter_by(first_name="Louis")).scalar_one()
    trip = db.session.execute(db.select(DriverOffer).filter_by(driver_id=louis.id)).scalar_one()
    sarah = demo.sarah
    # Sarah (Combelongue) goes to Valbourg tomorrow after 13:30: Louis drives there then anyway.
    need = rides.create_need(NeedData(
        beneficiary=sarah, pickup=Endpoint("Domicile", *sarah.home_lat_lon),
        dropoff=Endpoint("Valbourg", 44.4508, 1.4405), time_mode="depart_after",
        requested_at=local_moment(1, time(13, 30)), purpose="shopping"), demo.ccas_aidant)
    offered = [c for c in candidates_for_need(need).candidates if c.offer is not None and c.offer.id == trip.id]
    assert offered
    proposal = rides.propose_ride(need, louis, by_user=demo.ccas_aidant, candidate=offered[0])
    assert proposal.offer_id == trip.id
    login(client, CCAS)
    page = client.get(f"/benevoles/{louis.id}").get_data(as_text=True)
    assert f'action="/benevoles/{louis.id}/trajets/{trip.id}/annuler"' in page
    response = client.post(f"/benevoles/{louis.id}/trajets/{trip.id}/annuler", follow_redirects=True)
    assert response.status_code == 200 and "est annulé" in response.get_data(as_text=True)
    # The aidant is warned that a pending proposal relied on that trip.
    assert "Sarah Garcia" in response.get_data(as_text=True) and "s&#39;appuyait sur ce trajet (proposé)" in response.get_data(as_text=True)
    db.session.expire_all()
    trip = db.session.get(DriverOffer, trip.id)
    assert trip is not None and trip.status == "cancelled"  # cancelled, not deleted
    assert f"/trajets/{trip.id}/annuler" not in client.get(f"/benevoles/{louis.id}").get_data(as_text=True)
    assert db.session.execute(db.select(AuditLog).filter_by(
        action="cancel", object_type="driver_offer", object_id=str(trip.id))).scalar_one().user_id == demo.ccas_aidant.id
    need = db.session.get(RideNeed, need.id)
    outcome = candidates_for_need(need)
    assert trip.id not in [c.offer.id for c in outcome.candidates if c.offer is not None]
    assert all(c.kind == "volunteer" for c in outcome.candidates)
    # Cancelling twice is harmless.
    again = client.post(f"/benevoles/{louis.id}/trajets/{trip.id}/annuler", follow_redirects=True)
    assert "déjà annulé" in again.get_data(as_text=True)


def test_only_the_drivers_structure_cancels_her_trips(client, demo):
    from app.models import Driver, DriverOffer
    from tests.web.conftest import CCAS

    pierre = _pierre(demo)
    louis = db.session.execute(db.select(Driver).filter_by(first_name="Louis")).scalar_one()
    pierre_trip = db.session.execute(db.select(DriverOffer).filter_by(driver_id=pierre.id)).scalar_one()
    louis_trip = db.session.execute(db.select(DriverOffer).filter_by(driver_id=louis.id)).scalar_one()
    login(client, AIDANT)  # France Services: Louis (CCAS, Combelongue) is neither hers nor in her communes
    assert client.post(f"/benevoles/{louis.id}/trajets/{louis_trip.id}/annuler").status_code == 404
    # A trip id under another volunteer's URL is not found either.
    assert client.post(f"/benevoles/{demo.jeanne.id}/trajets/{pierre_trip.id}/annuler").status_code == 404
    assert client.get(f"/benevoles/{pierre.id}/trajets/{pierre_trip.id}/annuler").status_code == 405
    client.post("/deconnexion")
    login(client, CCAS)
    assert client.post(f"/benevoles/{pierre.id}/trajets/{pierre_trip.id}/annuler").status_code == 404
    db.session.expire_all()
    assert {db.session.get(DriverOffer, pierre_trip.id).status, db.session.get(DriverOffer, louis_trip.id).status} == {"active"}


def test_withdrawing_the_pending_proposal_reopens_the_need_for_editing(client, demo, sent):
    login(client, AIDANT)
    need = _seeded_need(demo.sebastien, "proposed")
    proposal = need.proposals[0]
    stale = need.version
    # A stale page cannot withdraw.
    rides.record_event(need, note="Appel")
    db.session.execute(db.update(RideNeed).where(RideNeed.id == need.id).values(version=RideNeed.version + 1))
    db.session.commit()
    html = client.post(f"/besoins/{need.id}/retirer", data={"version": str(stale)}, follow_redirects=True).get_data(as_text=True)
    assert "modifié par quelqu&#39;un d&#39;autre" in html
    db.session.expire_all()
    need = db.session.get(RideNeed, need.id)
    assert need.status == "proposed" and db.session.get(Proposal, proposal.id).status == "pending"
    response = client.post(f"/besoins/{need.id}/retirer", data={"version": str(need.version)}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "La proposition est retirée" in page and f'href="/besoins/{need.id}/modifier"' in page
    db.session.expire_all()
    need = db.session.get(RideNeed, need.id)
    proposal = db.session.get(Proposal, proposal.id)
    assert need.status == "searching" and proposal.status == "withdrawn"
    assert need.events[-1].note.startswith("Proposition retirée (Pierre D.)")
    # The driver's late "yes" by SMS does not take the ride any more.
    assert rides.accept_proposal(proposal, via="sms") is False
    db.session.expire_all()
    assert db.session.get(RideNeed, need.id).status == "searching"
    assert not any(name == "notify_confirmation" for name, _ in sent)


def test_an_acceptance_racing_a_withdrawal_never_confirms_a_withdrawn_proposal(app, demo, sent, monkeypatch):
    need = _new_need(demo)
    proposal = rides.propose_ride(need, demo.jeanne, by_user=demo.aidant)
    # The withdrawal lands between the acceptance's check of the proposal and its status change.
    real_move = rides._move

    def move_after_withdrawal(ride, to_status, allowed_from, **kwargs):  # type: ignore[no-untyped-def]
        if to_status == "confirmed":
            monkeypatch.setattr(rides, "_move", real_move)
            rides.withdraw_proposals(ride, by_user=demo.aidant)
        return real_move(ride, to_status, allowed_from, **kwargs)

    monkeypatch.setattr(rides, "_move", move_after_withdrawal)
    assert rides.accept_proposal(proposal, via="sms") is False
    db.session.expire_all()
    stored = db.session.get(RideNeed, need.id)
    assert stored.status == "searching" and db.session.get(Proposal, proposal.id).status == "withdrawn"
    assert not any(e.to_status == "confirmed" for e in stored.events)
