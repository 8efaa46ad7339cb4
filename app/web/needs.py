"""Ride needs: posting a need, candidates and transit alternative, proposals, follow-up."""

from __future__ import annotations

import logging
from datetime import date, time, timedelta
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from ..errors import TerritoryNotBuilt
from ..extensions import db
from ..models import Proposal, RideNeed, utcnow
from ..services import access
from ..services import rides as rides_service
from ..services.audit import record_audit
from ..services.rides import NeedData, RideError, endpoint_choices, resolve_endpoint
from . import bp
from .forms import (
    AnswerForm,
    CancelForm,
    NeedEditForm,
    NeedForm,
    ProposeForm,
    UnservedForm,
    VersionedActionForm,
    as_choices,
    combine_local,
)

log = logging.getLogger(__name__)


@bp.get("/besoins")
@login_required
def needs() -> str:
    status = request.args.get("statut") or "actifs"
    query = db.select(RideNeed).where(access.need_filter(current_user))
    if status == "actifs":
        query = query.where(RideNeed.status.in_(rides_service.ACTIVE_STATUSES)).order_by(RideNeed.requested_at)
    elif status in rides_service.STATUS_FR:
        query = query.where(RideNeed.status == status).order_by(RideNeed.requested_at.desc())
    else:
        query = query.order_by(RideNeed.requested_at.desc())
    rows = db.session.execute(query.limit(300)).scalars().all()
    return render_template("web/needs.html", needs=rows, status=status, statuses=rides_service.STATUS_FR)


def _tz() -> str:
    return str(current_app.config.get("TIMEZONE", "Europe/Paris"))


def _prepare_need_form(form: NeedForm, person: Any) -> None:
    form.pickup.choices = form.dropoff.choices = as_choices([("", "— Choisir —"), *endpoint_choices(person)])


def _need_data(form: NeedForm, person: Any) -> NeedData | None:
    """The need typed in the form, or None with an error set on the unknown end."""
    pickup = resolve_endpoint(form.pickup.data, person)
    dropoff = resolve_endpoint(form.dropoff.data, person)
    if pickup is None:
        form.pickup.errors = ["Lieu de départ inconnu."]
        return None
    if dropoff is None:
        form.dropoff.errors = ["Destination inconnue."]
        return None
    requested_at = combine_local(form.day.data, form.at.data, _tz())
    return_wait = int(form.return_choice.data) if form.return_choice.data.isdigit() else None
    return_at = (combine_local(form.day.data, form.return_time.data, _tz())
                 if form.return_choice.data == "at_time" else None)
    return NeedData(
        beneficiary=person, pickup=pickup, dropoff=dropoff, time_mode=form.time_mode.data,
        requested_at=requested_at, purpose=form.purpose.data,
        return_mode="after_wait" if return_wait else ("at_time" if return_at else "none"),
        return_wait_min=return_wait, return_at=return_at, passengers=form.passengers.data,
        needs_accompaniment=form.needs_accompaniment.data, needs_wheelchair=form.needs_wheelchair.data,
        no_front_seat=form.no_front_seat.data, notes=form.notes.data)


@bp.route("/personnes/<int:beneficiary_id>/besoins/nouveau", methods=["GET", "POST"])
@login_required
def need_new(beneficiary_id: int) -> tuple[str, int] | BaseResponse:
    person = access.beneficiary_or_404(current_user, beneficiary_id)
    form = NeedForm()
    _prepare_need_form(form, person)
    if request.method == "GET":
        form.pickup.data = "home" if person.home_lat_lon is not None else ""
        form.day.data = date.today() + timedelta(days=1)
        form.at.data = time(10, 0)
        form.needs_accompaniment.data = person.needs_accompaniment
        form.needs_wheelchair.data = person.needs_wheelchair
        form.no_front_seat.data = person.no_front_seat
    if form.validate_on_submit():
        data = _need_data(form, person)
        if data is not None:
            need = rides_service.create_need(data, current_user)
            flash("Le besoin est enregistré. Voici les solutions possibles.", "success")
            return redirect(url_for("web.need", need_id=need.id))
    return render_template("web/need_form.html", form=form, person=person), (400 if form.errors else 200)


def _fill_need_form(form: NeedEditForm, ride: RideNeed) -> None:
    """Pre-fill the form from the stored need (GET of the edit page)."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(_tz())
    person = ride.beneficiary
    form.pickup.data = rides_service.endpoint_value(ride.pickup_label, ride.pickup_place_id, person)
    form.dropoff.data = rides_service.endpoint_value(ride.dropoff_label, ride.dropoff_place_id, person)
    form.time_mode.data = ride.time_mode
    local = ride.requested_at.astimezone(tz)
    form.day.data, form.at.data = local.date(), local.time().replace(second=0, microsecond=0)
    if ride.return_mode == "after_wait" and ride.return_wait_min in (60, 120, 180):
        form.return_choice.data = str(ride.return_wait_min)
    elif ride.return_mode == "at_time" and ride.return_at is not None:
        form.return_choice.data = "at_time"
        form.return_time.data = ride.return_at.astimezone(tz).time().replace(second=0, microsecond=0)
    else:
        form.return_choice.data = "none"
    for name in ("purpose", "passengers", "needs_accompaniment", "needs_wheelchair", "no_front_seat", "notes"):
        getattr(form, name).data = getattr(ride, name)
    form.version.data = str(ride.version)


@bp.route("/besoins/<int:need_id>/modifier", methods=["GET", "POST"])
@login_required
def need_edit(need_id: int) -> tuple[str, int] | BaseResponse:
    ride = access.need_or_404(current_user, need_id)
    blocked = rides_service.edit_blocked_reason(ride)
    if blocked is not None:
        flash(blocked, "error")
        return redirect(url_for("web.need", need_id=ride.id, _anchor="modifier"))
    person = ride.beneficiary
    form = NeedEditForm()
    _prepare_need_form(form, person)
    conflict = None
    if request.method == "GET":
        _fill_need_form(form, ride)
        record_audit("view", "ride_need", ride.id, user=current_user,
                     detail={"beneficiary": ride.beneficiary_id, "page": "edit"})
        db.session.commit()
    elif form.validate_on_submit():
        data = _need_data(form, person)
        if data is not None:
            try:
                changes = rides_service.update_need(data=data, need=ride, by_user=current_user,
                                                    expected_version=_version(form))
            except RideError as exc:
                db.session.rollback()
                db.session.refresh(ride)
                blocked = rides_service.edit_blocked_reason(ride)
                if blocked is not None:
                    flash(f"{exc} {blocked}", "error")
                    return redirect(url_for("web.need", need_id=ride.id))
                # Someone saved the need meanwhile: keep what this aidant typed, show the current
                # state, and let her save again on purpose (the form now carries the new version).
                conflict = str(exc)
                form.version.data = str(ride.version)
            else:
                flash("Les modifications du besoin sont enregistrées. Voici les solutions à jour."
                      if changes else "Aucune modification à enregistrer.", "success" if changes else "info")
                return redirect(url_for("web.need", need_id=ride.id))
    status = 409 if conflict else (400 if form.errors else 200)
    return render_template("web/need_form.html", form=form, person=person, need=ride,
                           conflict=conflict), status


def _matching(need: RideNeed) -> tuple[Any, str | None]:
    """The engine's outcome for an open need, among the drivers the signed-in user may see,
    or an explanation of why there is none."""
    from ..services.matching import candidates_for_need

    try:
        return candidates_for_need(need, visible_drivers=access.driver_filter(current_user)), None
    except TerritoryNotBuilt:
        return None, "Le territoire n'est pas construit : le moteur de recherche de conducteurs est indisponible."


def _transit(need: RideNeed) -> tuple[Any, str | None]:
    """The public-transport alternative: journeys by bus or train before the appointment."""
    from ..services.journeys import transit_alternative

    try:
        return transit_alternative(need), None
    except TerritoryNotBuilt:
        return None, "Horaires des transports en commun indisponibles."


@bp.get("/besoins/<int:need_id>")
@login_required
def need(need_id: int) -> str:
    from ..services.route_views import route_for_need

    ride = access.need_or_404(current_user, need_id)
    record_audit("view", "ride_need", ride.id, user=current_user, detail={"beneficiary": ride.beneficiary_id})
    db.session.commit()
    outcome, engine_error = (None, None)
    transit, transit_error = (None, None)
    if ride.status in rides_service.OPEN_STATUSES:
        rides_service.start_search(ride, current_user)
        outcome, engine_error = _matching(ride)
        transit, transit_error = _transit(ride)
    pending_drivers = {p.driver_id for p in ride.proposals if p.status == "pending"}
    # Name and phone only of the drivers this user may see; the others by first name.
    seen = access.visible_driver_ids(current_user, [p.driver_id for p in ride.proposals])
    return render_template(
        "web/need.html", need=ride, outcome=outcome, engine_error=engine_error, transit=transit,
        transit_error=transit_error, pending_drivers=pending_drivers, seen_drivers=seen,
        driver_label=access.driver_label,
        confirmed=rides_service.confirmed_proposal(ride), shared_route=route_for_need(ride),
        propose_form=ProposeForm(), answer_form=AnswerForm(), unserved_form=UnservedForm(),
        cancel_form=CancelForm(), done_form=VersionedActionForm(),
        open_statuses=rides_service.OPEN_STATUSES,
        edit_blocked=rides_service.edit_blocked_reason(ride))


def _version(form: Any) -> int | None:
    try:
        return int(form.version.data)
    except (TypeError, ValueError):
        return None


@bp.post("/besoins/<int:need_id>/proposer")
@login_required
def need_propose(need_id: int) -> BaseResponse:
    ride = access.need_or_404(current_user, need_id)
    form = ProposeForm()
    raw_id = str(form.driver_id.data or "")
    if not form.validate_on_submit() or not (raw_id.isascii() and raw_id.isdigit()):
        flash("Demande invalide : rechargez la page.", "error")
        return redirect(url_for("web.need", need_id=ride.id))
    # A driver this user may not see answers like one that does not exist (an absurdly long
    # number names nobody either).
    driver = access.driver_or_404(current_user, int(raw_id) if len(raw_id) <= 12 else 0)
    outcome, error = _matching(ride)
    candidate = None
    join = request.form.get("rejoindre") == "1"
    if outcome is not None:
        candidate = next((c for c in outcome.candidates if c.driver.id == driver.id and bool(c.joins) == join), None)
    if candidate is None:
        flash(error or "Ce bénévole ne fait plus partie des solutions pour ce trajet : voici la liste à jour.", "error")
        return redirect(url_for("web.need", need_id=ride.id))
    try:
        if candidate.joins:
            route = rides_service.propose_route(rides_service.route_plan_for_join(ride, candidate),
                                                by_user=current_user)
            flash(f"Trajet proposé à {driver.first_name} par SMS avec sa tournée mise à jour "
                  f"(code {route.code}). Notez sa réponse ici s'il ou elle vous appelle.", "success")
        else:
            proposal = rides_service.propose_ride(ride, driver, by_user=current_user, candidate=candidate,
                                                  expected_version=_version(form))
            flash(_proposal_sent_message(proposal, driver.first_name), "success")
    except RideError as exc:
        flash(str(exc), "error")
    return redirect(url_for("web.need", need_id=ride.id, _anchor="propositions"))


def _proposal_sent_message(proposal: Proposal, first_name: str) -> str:
    """Say what really happened to the proposal SMS: sent, planned for the morning, or not sent."""
    from ..services.notifications import fr_day, fr_hour, proposal_sms

    sms = proposal_sms(proposal)
    after = "Notez sa réponse ici s'il ou elle vous appelle."
    if sms is None:
        return (f"Trajet proposé à {first_name} (code {proposal.code}), mais aucun SMS n'a pu être "
                f"envoyé (voir l'historique) : appelez le bénévole. {after}")
    if sms.not_before is not None and sms.not_before > utcnow():
        return (f"Trajet proposé à {first_name} (code {proposal.code}) : le SMS partira "
                f"{fr_day(sms.not_before)} à {fr_hour(sms.not_before)}, après les heures de "
                f"silence. {after}")
    return f"Trajet proposé à {first_name} par SMS (code {proposal.code}). {after}"


@bp.post("/propositions/<int:proposal_id>/reponse")
@login_required
def proposal_answer(proposal_id: int) -> BaseResponse:
    proposal = access.proposal_or_404(current_user, proposal_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        flash("Choisissez la réponse du bénévole.", "error")
    else:
        need_id, first_name = proposal.need_id, proposal.driver.first_name
        try:
            if form.answer.data == "accept":
                if rides_service.accept_proposal(proposal, via="phone", by_user=current_user):
                    flash(f"{first_name} a accepté : le trajet est confirmé.", "success")
                else:
                    flash("Trop tard : ce trajet a déjà été pris par un autre bénévole ou clos.", "error")
            elif rides_service.decline_proposal(proposal, via="phone", by_user=current_user):
                flash(f"Refus de {first_name} enregistré. Proposez à quelqu'un d'autre.", "info")
            else:
                flash("Cette proposition n'attend plus de réponse.", "error")
        except RideError as exc:
            # Nothing was stored (the change and its SMS roll back together); say why.
            db.session.rollback()
            flash(str(exc), "error")
        return redirect(url_for("web.need", need_id=need_id))
    return redirect(url_for("web.need", need_id=proposal.need_id))


def _act(need_id: int, form_class: type, action: Any, success: str) -> BaseResponse:
    ride = access.need_or_404(current_user, need_id)
    form = form_class()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(url_for("web.need", need_id=ride.id, _anchor="suivi"))
    try:
        action(ride, form)
    except RideError as exc:
        flash(str(exc), "error")
    else:
        flash(success, "success")
    return redirect(url_for("web.need", need_id=ride.id))


@bp.post("/besoins/<int:need_id>/annuler")
@login_required
def need_cancel(need_id: int) -> BaseResponse:
    return _act(need_id, CancelForm, lambda need, form: rides_service.cancel_need(
        need, by_user=current_user, reason=form.reason.data or None, expected_version=_version(form)),
        "Le besoin est annulé.")


@bp.post("/besoins/<int:need_id>/relance-auto")
@login_required
def need_auto_next(need_id: int) -> BaseResponse:
    on = request.form.get("auto_next") == "1"
    return _act(need_id, VersionedActionForm, lambda need, form: rides_service.set_auto_next(
        need, on, current_user),
        "Relance automatique activée." if on else "Relance automatique désactivée.")


@bp.post("/besoins/<int:need_id>/effectue")
@login_required
def need_done(need_id: int) -> BaseResponse:
    return _act(need_id, VersionedActionForm, lambda need, form: rides_service.mark_done(
        need, current_user, expected_version=_version(form)), "Le trajet est noté comme effectué.")


@bp.post("/besoins/<int:need_id>/sans-solution")
@login_required
def need_unserved(need_id: int) -> BaseResponse:
    return _act(need_id, UnservedForm, lambda need, form: rides_service.mark_unserved(
        need, form.reason.data, current_user, expected_version=_version(form)),
        "Le besoin est classé sans solution ; il compte dans les manques du territoire.")


@bp.post("/besoins/<int:need_id>/retirer")
@login_required
def need_withdraw(need_id: int) -> BaseResponse:
    return _act(need_id, VersionedActionForm, lambda need, form: rides_service.withdraw_proposals(
        need, by_user=current_user, expected_version=_version(form)),
        "La proposition est retirée ; le bénévole qui l'a reçue par SMS en est averti par SMS. "
        "Le besoin peut être modifié ou proposé à quelqu'un d'autre.")
