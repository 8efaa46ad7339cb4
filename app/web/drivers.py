"""Volunteer drivers: list, profile, availability grid, documents, trips, export and erasure."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from ..extensions import db
from ..models import Driver, DriverOffer, RideNeed
from ..services import access
from ..services.audit import record_audit
from ..services.people import (
    SLOTS_FR,
    WEEKDAYS_FR,
    DriverData,
    DuplicatePhone,
    add_offer,
    cancel_offer,
    driver_unavailability,
    erase_driver,
    export_driver,
    rides_on_offer,
    save_driver,
)
from ..services.rides import endpoint_choices, resolve_endpoint
from . import bp
from .common import commune_choices, fill_person_form, float_or_none, json_download
from .filters import when
from .forms import ConfirmForm, DriverForm, OfferForm, as_choices, combine_local


@bp.get("/benevoles")
@login_required
def drivers() -> str:
    from ..services.people import search_drivers_clause

    query = db.select(Driver).where(access.driver_filter(current_user)).order_by(Driver.last_name, Driver.first_name)
    q = (request.args.get("q") or "").strip()
    if q:
        query = query.where(search_drivers_clause(q))
    rows = db.session.execute(query).scalars().all()
    today = date.today()
    return render_template("web/drivers.html", drivers=rows, q=q,
                           problems={d.id: driver_unavailability(d, today) for d in rows})


def _data(form: DriverForm) -> DriverData:
    return DriverData(
        first_name=form.first_name.data, last_name=form.last_name.data, phone=form.phone.e164 or "",
        home_commune_insee=form.home_commune.data or None, home_address=form.home_address.data,
        home_lat=float_or_none(form.home_lat.data), home_lon=float_or_none(form.home_lon.data),
        vehicle_seats=form.vehicle_seats.data, wheelchair_accessible=form.wheelchair_accessible.data,
        can_accompany=form.can_accompany.data, max_distance_km=form.max_distance_km.data,
        max_rides_per_day=form.max_rides_per_day.data,
        licence_valid_until=form.licence_valid_until.data, insurance_valid_until=form.insurance_valid_until.data,
        availability=form.availability_cells(), active=form.active.data, notes=form.notes.data,
        publish_consent=bool(form.publish_consent.data))


def _render_form(form: DriverForm, driver: Driver | None) -> tuple[str, int]:
    return render_template("web/driver_form.html", form=form, driver=driver, weekdays=WEEKDAYS_FR,
                           slots=SLOTS_FR), (400 if form.errors else 200)


@bp.route("/benevoles/nouveau", methods=["GET", "POST"])
@login_required
def driver_new() -> tuple[str, int] | BaseResponse:
    if current_user.structure_id is None:
        flash("Un compte sans structure ne peut pas inscrire de bénévole.", "error")
        return redirect(url_for("web.drivers"))
    form = DriverForm()
    form.home_commune.choices = as_choices(commune_choices())
    if form.validate_on_submit():
        try:
            driver = save_driver(None, _data(form), current_user)
        except DuplicatePhone as exc:
            form.phone.errors = [str(exc)]
        else:
            flash(f"{driver.display_name} est inscrit·e comme bénévole.", "success")
            return redirect(url_for("web.driver", driver_id=driver.id))
    return _render_form(form, None)


@bp.get("/benevoles/<int:driver_id>")
@login_required
def driver(driver_id: int) -> str:
    volunteer = access.driver_or_404(current_user, driver_id)
    record_audit("view", "driver", volunteer.id, user=current_user)
    db.session.commit()
    offers = db.session.execute(
        db.select(DriverOffer).where(DriverOffer.driver_id == volunteer.id, DriverOffer.status != "cancelled")
        .order_by(DriverOffer.id.desc())).scalars().all()
    grid = {(a.weekday, a.slot) for a in volunteer.availability}
    return render_template("web/driver.html", driver=volunteer, offers=offers, grid=grid,
                           weekdays=WEEKDAYS_FR, slots=SLOTS_FR,
                           problems=driver_unavailability(volunteer, date.today()),
                           can_edit=access.can_edit_driver(current_user, volunteer), form=ConfirmForm(),
                           **_activity_context(volunteer))


def _activity_context(volunteer: Driver) -> dict[str, object]:
    """Her coming rides, this month's kilometres and allowance, her absences."""
    from ..services import absences
    from .absences import AbsenceForm

    coming = absences.coming_rides(volunteer)
    # The riders' names only where this user may see the need (others by their structure).
    visible_needs = set(db.session.execute(db.select(RideNeed.id).where(
        RideNeed.id.in_([p.need_id for p in coming]), access.need_filter(current_user))).scalars())
    away = absences.coming_absences(volunteer)
    during = {p.id for a in away for p in absences.rides_during(volunteer, a.first_day, a.last_day)}
    return {"coming": coming, "visible_needs": visible_needs, "month": absences.month_activity(volunteer),
            "absences": away, "during_absence": during,
            "extra_slots": absences.coming_extra_slots(volunteer), "absence_form": AbsenceForm()}


@bp.route("/benevoles/<int:driver_id>/modifier", methods=["GET", "POST"])
@login_required
def driver_edit(driver_id: int) -> tuple[str, int] | BaseResponse:
    volunteer = access.driver_or_404(current_user, driver_id)
    if not access.can_edit_driver(current_user, volunteer):
        abort(404)
    form = DriverForm()
    form.home_commune.choices = as_choices(commune_choices())
    if form.validate_on_submit():
        try:
            save_driver(volunteer, _data(form), current_user)
        except DuplicatePhone as exc:
            form.phone.errors = [str(exc)]
        else:
            flash("Les modifications sont enregistrées.", "success")
            return redirect(url_for("web.driver", driver_id=volunteer.id))
    if request.method == "GET":
        fill_person_form(form, volunteer)
        for name in ("vehicle_seats", "wheelchair_accessible", "can_accompany", "max_distance_km",
                     "max_rides_per_day", "licence_valid_until", "insurance_valid_until", "active"):
            getattr(form, name).data = getattr(volunteer, name)
        form.availability.data = [f"{a.weekday}-{a.slot}" for a in volunteer.availability]
        form.publish_consent.data = volunteer.publish_consent_at is not None
        record_audit("view", "driver", volunteer.id, user=current_user, detail={"page": "edit"})
        db.session.commit()
    return _render_form(form, volunteer)


@bp.route("/benevoles/<int:driver_id>/trajets/nouveau", methods=["GET", "POST"])
@login_required
def offer_new(driver_id: int) -> tuple[str, int] | BaseResponse:
    volunteer = access.driver_or_404(current_user, driver_id)
    if not access.can_edit_driver(current_user, volunteer):
        abort(404)
    form = OfferForm()
    choices = endpoint_choices(None)
    if volunteer.home_lat_lon is not None:
        choices.insert(0, ("Domicile", [("driver_home", "Domicile du bénévole")]))
    form.origin.choices = form.destination.choices = as_choices([("", "— Choisir —"), *choices])
    if form.validate_on_submit():
        ends = []
        for value in (form.origin.data, form.destination.data):
            if value == "driver_home" and volunteer.home_lat_lon is not None:
                ends.append(("Domicile du bénévole", volunteer.home_lat_lon))
            else:
                end = resolve_endpoint(value, None)
                ends.append((end.label, (end.lat, end.lon)) if end else None)
        if None in ends:
            form.origin.errors = ["Lieu inconnu."]
        else:
            tz = current_app.config.get("TIMEZONE", "Europe/Paris")
            departure = combine_local(form.day.data, form.at.data, tz) if form.kind.data == "one_off" else None
            add_offer(volunteer, current_user, kind=form.kind.data, origin_label=ends[0][0], origin=ends[0][1],
                      destination_label=ends[1][0], destination=ends[1][1], departure=departure,
                      weekdays=",".join(sorted(form.weekdays.data or [])) or None,
                      time_of_day=form.at.data.strftime("%H:%M"), seats=form.seats.data,
                      max_detour_min=form.max_detour_min.data)
            flash("Le trajet est enregistré.", "success")
            return redirect(url_for("web.driver", driver_id=volunteer.id))
    if request.method == "GET" and form.day.data is None:
        form.day.data = date.today() + timedelta(days=1)
    return render_template("web/offer_form.html", form=form, driver=volunteer), (400 if form.errors else 200)


@bp.post("/benevoles/<int:driver_id>/trajets/<int:offer_id>/annuler")
@login_required
def offer_cancel(driver_id: int, offer_id: int) -> BaseResponse:
    volunteer = access.driver_or_404(current_user, driver_id)
    if not access.can_edit_driver(current_user, volunteer):
        abort(404)
    offer = db.session.get(DriverOffer, offer_id) if offer_id <= access.MAX_ID else None
    if offer is None or offer.driver_id != volunteer.id:
        abort(404)
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("Demande invalide : rechargez la page.", "error")
    elif cancel_offer(offer, current_user):
        flash(f"Le trajet {offer.origin_label} → {offer.destination_label} est annulé : "
              "il ne sera plus proposé.", "success")
        for proposal in rides_on_offer(offer):
            flash(f"Attention : le trajet de {proposal.need.beneficiary.display_name} du "
                  f"{when(proposal.need.requested_at, 'short')} s'appuyait sur ce trajet "
                  f"({'confirmé' if proposal.status == 'accepted' else 'proposé'}) : "
                  "vérifiez avec le bénévole qu'il le fera quand même.", "info")
    else:
        flash("Ce trajet était déjà annulé.", "info")
    return redirect(url_for("web.driver", driver_id=volunteer.id, _anchor="trajets"))


@bp.get("/benevoles/<int:driver_id>/export.json")
@login_required
def driver_export(driver_id: int) -> Response:
    volunteer = access.driver_or_404(current_user, driver_id)
    if not access.can_edit_driver(current_user, volunteer):
        abort(404)
    payload = export_driver(volunteer, current_user)
    return json_download(payload, f"benevole-{volunteer.id}.json")


@bp.route("/benevoles/<int:driver_id>/effacer", methods=["GET", "POST"])
@login_required
def driver_erase(driver_id: int) -> str | BaseResponse:
    volunteer = access.driver_or_404(current_user, driver_id)
    if not access.can_edit_driver(current_user, volunteer):
        abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = volunteer.display_name
        reopened = erase_driver(volunteer, current_user)
        flash(f"Les données de {name} sont effacées.", "success")
        if reopened:
            flash(f"{len(reopened)} trajet(s) qui comptai(en)t sur ce bénévole sont de nouveau à pourvoir "
                  "(noté dans leur historique ; les personnes sont prévenues par SMS quand c'est possible) : "
                  + ", ".join(f"n° {need.id}" for need in reopened) + ".", "info")
        return redirect(url_for("web.drivers"))
    return render_template("web/erase.html", form=form, name=volunteer.display_name,
                           back=url_for("web.driver", driver_id=volunteer.id),
                           what="ses trajets, ses réponses aux propositions et ses SMS")
