"""Recurring ride needs (series) and copies of a need to another date."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from ..extensions import db
from ..models import Beneficiary, RideNeedSeries
from ..services import access
from ..services import series as series_service
from ..services.audit import record_audit
from ..services.rides import endpoint_value
from . import bp
from .forms import ConfirmForm, NeedEditForm, SeriesEditForm, SeriesForm

# The need form's helpers: the series form is the need form plus a schedule.
from .needs import _fill_need_form, _need_data, _prepare_need_form


def series_or_404(series_id: int) -> RideNeedSeries:
    """The series if the signed-in user may see its person; 404 otherwise."""
    found = db.session.execute(
        db.select(RideNeedSeries).join(Beneficiary, RideNeedSeries.beneficiary_id == Beneficiary.id)
        .where(RideNeedSeries.id == series_id, access.beneficiary_filter(current_user))
    ).scalar_one_or_none()
    if found is None:
        abort(404)
    return found


def _schedule(form: SeriesForm) -> series_service.Schedule:
    return series_service.Schedule(
        weekdays=tuple(form.weekday_numbers()), interval_weeks=int(form.interval_weeks.data),
        start=form.day.data, until=form.until.data, exceptions=tuple(form.exception_dates()),
        local_time=form.at.data)


def _render(form: Any, person: Beneficiary, series: RideNeedSeries | None = None,
            status: int | None = None) -> tuple[str, int]:
    return render_template("web/need_form.html", form=form, person=person, series_mode=True, series=series,
                           max_occurrences=series_service.MAX_OCCURRENCES), \
        status or (400 if form.errors else 200)


@bp.route("/personnes/<int:beneficiary_id>/series/nouvelle", methods=["GET", "POST"])
@login_required
def series_new(beneficiary_id: int) -> tuple[str, int] | BaseResponse:
    person = access.beneficiary_or_404(current_user, beneficiary_id)
    form = SeriesForm()
    _prepare_need_form(form, person)
    if request.method == "GET":
        form.pickup.data = "home" if person.home_lat_lon is not None else ""
        form.day.data = date.today() + timedelta(days=1)
        form.until.data = form.day.data + timedelta(weeks=12)
        form.at.data = time(10, 0)
        form.return_choice.data = "120"
        for name in ("needs_accompaniment", "needs_wheelchair", "no_front_seat"):
            getattr(form, name).data = getattr(person, name)
    if form.validate_on_submit():
        data = _need_data(form, person)
        if data is not None:
            try:
                created = series_service.create_series(data, _schedule(form), current_user)
            except series_service.SeriesError as exc:
                form.weekdays.errors = [str(exc)]
            else:
                count = len(series_service.occurrences(created))
                flash(f"La série est enregistrée : {count} trajet{'s' if count > 1 else ''} à venir, "
                      "chacun cherché comme un besoin ordinaire.", "success")
                return redirect(url_for("web.series", series_id=created.id))
    return _render(form, person)


@bp.get("/series/<int:series_id>")
@login_required
def series(series_id: int) -> str:
    found = series_or_404(series_id)
    record_audit("view", "ride_need_series", found.id, user=current_user,
                 detail={"beneficiary": found.beneficiary_id})
    db.session.commit()
    return render_template("web/series.html", series=found, person=found.beneficiary,
                           needs=series_service.occurrences(found), schedule=series_service.describe(found),
                           cancel_form=ConfirmForm())


def _fill_series_form(form: SeriesEditForm, found: RideNeedSeries) -> None:
    """Pre-fill the form from the series: its trip (template) and its schedule."""
    t = found.template
    person = found.beneficiary
    form.pickup.data = endpoint_value(t["pickup"]["label"], t["pickup"]["place_id"], person)
    form.dropoff.data = endpoint_value(t["dropoff"]["label"], t["dropoff"]["place_id"], person)
    form.time_mode.data = t["time_mode"]
    if t.get("return_mode") == "after_wait" and t.get("return_wait_min") in (60, 120, 180):
        form.return_choice.data = str(t["return_wait_min"])
    elif t.get("return_mode") == "at_time" and t.get("return_time"):
        form.return_choice.data = "at_time"
        form.return_time.data = time.fromisoformat(t["return_time"])
    else:
        form.return_choice.data = "none"
    for name in ("purpose", "passengers", "needs_accompaniment", "needs_wheelchair", "no_front_seat", "notes"):
        getattr(form, name).data = t.get(name)
    form.day.data = found.start_date
    form.until.data = found.until_date
    form.at.data = time.fromisoformat(found.local_time)
    form.weekdays.data = [str(d) for d in found.weekday_numbers]
    form.interval_weeks.data = str(found.interval_weeks)
    form.exceptions.data = ", ".join(f"{date.fromisoformat(d):%d/%m/%Y}" for d in found.exception_dates)


@bp.route("/series/<int:series_id>/modifier", methods=["GET", "POST"])
@login_required
def series_edit(series_id: int) -> tuple[str, int] | BaseResponse:
    found = series_or_404(series_id)
    if found.status != "active":
        flash("Cette série est close : elle ne peut plus être modifiée.", "error")
        return redirect(url_for("web.series", series_id=found.id))
    person = found.beneficiary
    form = SeriesEditForm()
    _prepare_need_form(form, person)
    if request.method == "GET":
        _fill_series_form(form, found)
    elif form.validate_on_submit():
        data = _need_data(form, person)
        if data is not None:
            try:
                change = series_service.update_series(found, data, _schedule(form), current_user)
            except series_service.SeriesError as exc:
                form.weekdays.errors = [str(exc)]
            else:
                flash(change.summary_fr(), "success" if not change.kept else "warning")
                return redirect(url_for("web.series", series_id=found.id))
    return _render(form, person, found)


@bp.post("/series/<int:series_id>/annuler")
@login_required
def series_cancel(series_id: int) -> BaseResponse:
    found = series_or_404(series_id)
    if not ConfirmForm().validate_on_submit():
        flash("Demande invalide : rechargez la page.", "error")
        return redirect(url_for("web.series", series_id=found.id))
    reason = (request.form.get("reason") or "").strip()[:300] or None
    try:
        count = series_service.cancel_series(found, current_user, reason)
    except series_service.SeriesError as exc:
        flash(str(exc), "error")
    else:
        flash(f"La série est close : {count} trajet{'s' if count > 1 else ''} à venir "
              f"annulé{'s' if count > 1 else ''}. Les trajets passés restent dans l'historique.", "success")
    return redirect(url_for("web.series", series_id=found.id))


@bp.get("/besoins/<int:need_id>/copier")
@login_required
def need_copy(need_id: int) -> str:
    """The new-need form filled from an existing need, the date left for the aidant to choose."""
    ride = access.need_or_404(current_user, need_id)
    person = ride.beneficiary
    form = NeedEditForm(formdata=None)
    _prepare_need_form(form, person)
    _fill_need_form(form, ride)
    form.day.data = None
    return render_template("web/need_form.html", form=form, person=person, copy_of=ride,
                           form_action=url_for("web.need_new", beneficiary_id=person.id))
