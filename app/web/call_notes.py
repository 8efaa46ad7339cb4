"""Call notes: an aidant writes down a phone call about a ride need or with a volunteer."""

from __future__ import annotations

from flask import flash, redirect, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from ..services import access
from ..services.call_notes import PARTY_FR, InvalidCallNote, add_driver_note, add_need_note
from . import bp
from .forms import CallNoteForm


@bp.app_template_filter("call_party_fr")
def call_party_fr(value: str) -> str:
    return PARTY_FR.get(value, value)


@bp.app_context_processor
def call_note_parties() -> dict[str, object]:
    """Whom a call can be with: about a need (anyone) or with a volunteer (not the rider)."""
    return {"need_call_parties": list(PARTY_FR.items()),
            "driver_call_parties": [(k, v) for k, v in PARTY_FR.items() if k != "rider"]}


def _flash_errors(form: CallNoteForm) -> None:
    for errors in form.errors.values():
        for message in errors:
            flash(message, "error")


@bp.post("/besoins/<int:need_id>/appels")
@login_required
def need_call_note(need_id: int) -> BaseResponse:
    ride = access.need_or_404(current_user, need_id)
    form = CallNoteForm()
    if not form.validate_on_submit():
        _flash_errors(form)
    else:
        try:
            add_need_note(ride, form.body.data, form.party.data, current_user)
        except InvalidCallNote as exc:
            flash(str(exc), "error")
        else:
            flash("La note d'appel est enregistrée.", "success")
    return redirect(url_for("web.need", need_id=ride.id, _anchor="appels"))


@bp.post("/benevoles/<int:driver_id>/appels")
@login_required
def driver_call_note(driver_id: int) -> BaseResponse:
    volunteer = access.driver_or_404(current_user, driver_id)
    form = CallNoteForm()
    if not form.validate_on_submit():
        _flash_errors(form)
    else:
        try:
            add_driver_note(volunteer, form.body.data, form.party.data, current_user)
        except InvalidCallNote as exc:
            flash(str(exc), "error")
        else:
            flash("La note d'appel est enregistrée.", "success")
    return redirect(url_for("web.driver", driver_id=volunteer.id, _anchor="appels"))
