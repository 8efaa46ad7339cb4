"""Beneficiaries: list, record, create, edit, export (JSON) and erasure."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from ..extensions import db
from ..models import Beneficiary, RideNeed
from ..services import access
from ..services.audit import record_audit
from ..services.people import (
    BeneficiaryData,
    erase_beneficiary,
    export_beneficiary,
    save_beneficiary,
    search_beneficiaries_clause,
)
from ..services.search import possible_duplicates
from . import bp
from .common import commune_choices, fill_person_form, float_or_none, json_download
from .forms import BeneficiaryForm, ConfirmForm, as_choices


@bp.get("/personnes")
@login_required
def beneficiaries() -> str:
    query = db.select(Beneficiary).where(access.beneficiary_filter(current_user)).order_by(
        Beneficiary.last_name, Beneficiary.first_name)
    q = (request.args.get("q") or "").strip()
    if q:
        query = query.where(search_beneficiaries_clause(q))
    people = db.session.execute(query.limit(200)).scalars().all()
    return render_template("web/beneficiaries.html", people=people, q=q)


def _data(form: BeneficiaryForm) -> BeneficiaryData:
    return BeneficiaryData(
        first_name=form.first_name.data, last_name=form.last_name.data, phone=form.phone.e164,
        home_commune_insee=form.home_commune.data or None, home_address=form.home_address.data,
        home_lat=float_or_none(form.home_lat.data), home_lon=float_or_none(form.home_lon.data),
        needs_accompaniment=form.needs_accompaniment.data, needs_wheelchair=form.needs_wheelchair.data,
        needs_shopping_help=form.needs_shopping_help.data, no_front_seat=form.no_front_seat.data,
        receives_social_benefits=form.receives_social_benefits.data,
        consent_sms=form.consent_sms.data, consent_sharing=form.consent_sharing.data, notes=form.notes.data)


@bp.route("/personnes/nouvelle", methods=["GET", "POST"])
@login_required
def beneficiary_new() -> str | BaseResponse:
    if current_user.structure_id is None:
        flash("Un compte sans structure ne peut pas inscrire de personne.", "error")
        return redirect(url_for("web.beneficiaries"))
    form = BeneficiaryForm()
    form.home_commune.choices = as_choices(commune_choices())
    duplicates = None
    if form.validate_on_submit():
        data = _data(form)
        if not request.form.get("enregistrer_quand_meme"):
            duplicates = possible_duplicates(current_user, data.first_name, data.last_name, data.phone,
                                             data.home_commune_insee)
        if not duplicates:
            person = save_beneficiary(None, data, current_user)
            flash(f"{person.display_name} est inscrite.", "success")
            return redirect(url_for("web.beneficiary", beneficiary_id=person.id))
    return render_template("web/beneficiary_form.html", form=form, person=None, duplicates=duplicates), \
        (400 if form.errors else 200)


@bp.get("/personnes/<int:beneficiary_id>")
@login_required
def beneficiary(beneficiary_id: int) -> str:
    person = access.beneficiary_or_404(current_user, beneficiary_id)
    record_audit("view", "beneficiary", person.id, user=current_user)
    db.session.commit()
    needs = db.session.execute(
        db.select(RideNeed).where(RideNeed.beneficiary_id == person.id).order_by(RideNeed.requested_at.desc())
    ).scalars().all()
    return render_template("web/beneficiary.html", person=person, needs=needs, form=ConfirmForm(),
                           can_erase=access.can_erase_beneficiary(current_user, person))


@bp.route("/personnes/<int:beneficiary_id>/modifier", methods=["GET", "POST"])
@login_required
def beneficiary_edit(beneficiary_id: int) -> str | BaseResponse:
    person = access.beneficiary_or_404(current_user, beneficiary_id)
    form = BeneficiaryForm()
    form.home_commune.choices = as_choices(commune_choices())
    if form.validate_on_submit():
        save_beneficiary(person, _data(form), current_user)
        flash("Les modifications sont enregistrées.", "success")
        return redirect(url_for("web.beneficiary", beneficiary_id=person.id))
    if request.method == "GET":
        fill_person_form(form, person)
        for name in ("needs_accompaniment", "needs_wheelchair", "needs_shopping_help", "no_front_seat",
                     "receives_social_benefits"):
            getattr(form, name).data = getattr(person, name)
        form.consent_sms.data = person.consent_sms_at is not None
        form.consent_sharing.data = person.consent_sharing_at is not None
        record_audit("view", "beneficiary", person.id, user=current_user, detail={"page": "edit"})
        db.session.commit()
    return render_template("web/beneficiary_form.html", form=form, person=person), (400 if form.errors else 200)


@bp.get("/personnes/<int:beneficiary_id>/export.json")
@login_required
def beneficiary_export(beneficiary_id: int) -> Response:
    person = access.beneficiary_or_404(current_user, beneficiary_id)
    payload = export_beneficiary(person, current_user)
    return json_download(payload, f"personne-{person.id}.json")


@bp.route("/personnes/<int:beneficiary_id>/effacer", methods=["GET", "POST"])
@login_required
def beneficiary_erase(beneficiary_id: int) -> str | BaseResponse:
    person = access.beneficiary_or_404(current_user, beneficiary_id)
    if not access.can_erase_beneficiary(current_user, person):
        abort(404)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = person.display_name
        erase_beneficiary(person, current_user)
        flash(f"Les données de {name} sont effacées.", "success")
        return redirect(url_for("web.beneficiaries"))
    return render_template("web/erase.html", form=form, name=person.display_name,
                           back=url_for("web.beneficiary", beneficiary_id=person.id),
                           what="ses besoins de trajet, leur historique et ses SMS")
