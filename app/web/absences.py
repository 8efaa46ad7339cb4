"""A volunteer's absences, recorded by an aidant on her page."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response
from wtforms import DateField, StringField
from wtforms.validators import InputRequired, Length, Optional

from ..extensions import db
from ..services import access
from ..services.absences import AbsenceError, delete_absence, record_absence
from . import bp
from .filters import when
from .forms import ConfirmForm, FrenchForm


class AbsenceForm(FrenchForm):
    first_day = DateField("Absent(e) à partir du", validators=[InputRequired("Indiquez le premier jour (jj/mm/aaaa).")])
    last_day = DateField("Jusqu'au (inclus)", validators=[InputRequired("Indiquez le dernier jour (jj/mm/aaaa).")])
    reason = StringField("Motif (facultatif)", validators=[Optional(), Length(max=200)])


def _editable_driver(driver_id: int):  # type: ignore[no-untyped-def]
    volunteer = access.driver_or_404(current_user, driver_id)
    if not access.can_edit_driver(current_user, volunteer):
        abort(404)
    return volunteer


@bp.post("/benevoles/<int:driver_id>/absences")
@login_required
def absence_new(driver_id: int) -> Response:
    volunteer = _editable_driver(driver_id)
    form = AbsenceForm()
    target = url_for("web.driver", driver_id=volunteer.id) + "#absences"
    if not form.validate_on_submit():
        errors = [e for field in form for e in field.errors]
        flash("Absence non enregistrée : " + " ".join(errors), "error")
        return redirect(target)
    try:
        absence, planned = record_absence(volunteer, form.first_day.data, form.last_day.data,
                                          reason=form.reason.data, source="web", user=current_user)
    except AbsenceError as exc:
        db.session.rollback()
        flash(f"Absence non enregistrée : {exc}", "error")
        return redirect(target)
    db.session.commit()
    flash(f"Absence enregistrée du {when(absence.first_day)} au {when(absence.last_day)} : "
          f"{volunteer.first_name} ne sera proposé(e) pour aucun trajet ces jours-là.", "success")
    if planned:
        flash(f"Attention : {len(planned)} trajet(s) déjà proposé(s) ou confirmé(s) pendant cette absence "
              "sont à confier à un autre bénévole (voir « Trajets à venir »).", "error")
    return redirect(target)


@bp.post("/benevoles/<int:driver_id>/absences/<int:absence_id>/supprimer")
@login_required
def absence_delete(driver_id: int, absence_id: int) -> Response:
    volunteer = _editable_driver(driver_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        delete_absence(volunteer, absence_id, user=current_user)
    except AbsenceError:
        db.session.rollback()
        abort(404)
    db.session.commit()
    flash("Absence supprimée.", "success")
    return redirect(url_for("web.driver", driver_id=volunteer.id) + "#absences")
