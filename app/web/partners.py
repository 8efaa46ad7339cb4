"""Partner operators of the carpooling standard (administrators), and the journeys' public page.

The administration page creates a partner with its API key, shown once (only its SHA-256 is
stored), lists partners and revokes a key. ``/trajet/<id>`` is the deep link (``webUrl``) of
a journey published through the standard: public, it shows the trip and how to book it by
phone or SMS, and names no volunteer.
"""

from __future__ import annotations

import datetime as dt
import re

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from ..extensions import db
from ..models import PartnerOperator, Structure
from ..services import access, partners
from ..services.publication import cached_communes, commune_of
from . import bp
from .forms import ConfirmForm, FrenchForm, MultiCheckboxField, as_choices

_DOMAIN = r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"


class PartnerForm(FrenchForm):
    name = StringField(
        "Nom de l'opérateur", validators=[DataRequired("Indiquez le nom."), Length(max=200)]
    )
    domain = StringField(
        "Domaine de l'opérateur (ex. covoit.example.fr)",
        filters=[lambda v: v.strip().lower() if isinstance(v, str) else v],
        validators=[
            DataRequired("Indiquez le domaine."),
            Regexp(_DOMAIN, message="Domaine invalide."),
        ],
    )
    contact = StringField("Contact technique (nom, adresse)", validators=[Length(max=300)])
    scopes = MultiCheckboxField(
        "Droits de la clé",
        choices=as_choices([("search", "Recherche"), ("booking", "Réservation et messages")]),
        validators=[DataRequired("Choisissez au moins un droit.")],
    )
    structure = SelectField("Structure qui suit ses passagers", choices=[])


def _partner_form(**kwargs: object) -> PartnerForm:
    form = PartnerForm(prefix="partner", **kwargs)
    structures = db.session.execute(select(Structure).order_by(Structure.name)).scalars().all()
    form.structure.choices = as_choices(
        [("", f"« {partners.PARTNERS_STRUCTURE} » (créée au besoin)")]
        + [(str(s.id), s.name) for s in structures]
    )
    return form


@bp.route("/administration/partenaires", methods=["GET", "POST"])
@login_required
@access.roles_required("admin")
def partners_admin() -> tuple[str, int]:
    """List partners; create one (its key shown once, on this answer only)."""
    form = _partner_form()
    new_key = None
    if form.validate_on_submit():
        structure = (
            db.session.get(Structure, int(form.structure.data)) if form.structure.data else None
        )
        operator, new_key = partners.create_operator(
            form.name.data,
            form.domain.data,
            form.contact.data or "",
            list(form.scopes.data),
            current_user,
            structure=structure,
        )
        flash(
            f"Le partenaire {operator.name} est créé. Copiez sa clé maintenant : "
            "elle ne sera plus jamais affichée.",
            "success",
        )
        form = _partner_form(formdata=None)
    rows = (
        db.session.execute(
            select(PartnerOperator).order_by(
                PartnerOperator.revoked_at.is_not(None), PartnerOperator.name
            )
        )
        .scalars()
        .all()
    )
    return render_template("web/partners.html", form=form, partners=rows, new_key=new_key), (
        400 if form.errors else 200
    )


@bp.post("/administration/partenaires/revoquer")
@login_required
@access.roles_required("admin")
def partner_revoke() -> BaseResponse:
    """Revoke a partner's key (named in the form): every request with it is refused from now on.

    The id is a form field, not a path argument: administrators see every partner, there is
    nothing to hide from one another.
    """
    raw = request.form.get("partner_id", "")
    operator = db.session.get(PartnerOperator, int(raw)) if raw.isdigit() else None
    if operator is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        flash("Demande invalide : rechargez la page.", "error")
    elif partners.revoke_operator(operator, current_user):
        flash(f"La clé de {operator.name} est révoquée.", "success")
    else:
        flash(f"La clé de {operator.name} était déjà révoquée.", "info")
    return redirect(url_for("web.partners_admin"))


def _point(text: str | None) -> tuple[float, float] | None:
    match = re.fullmatch(r"\s*(-?\d{1,2}(?:\.\d+)?),\s*(-?\d{1,3}(?:\.\d+)?)\s*", text or "")
    if not match:
        return None
    lat, lng = float(match[1]), float(match[2])
    return (lat, lng) if -90 <= lat <= 90 and -180 <= lng <= 180 else None


@bp.get("/trajet/<journey_id>")
def journey_page(journey_id: str) -> tuple[str, int]:
    """The deep link of a published journey: when, between which communes, how to book."""
    found = partners.resolve_journey(
        journey_id,
        secret=str(current_app.config["SECRET_KEY"]),
        today=dt.datetime.now(dt.UTC).date(),
    )
    communes = cached_communes()
    places = {
        key: commune_of(communes, point).name
        for key, point in (
            ("from", _point(request.args.get("de"))),
            ("to", _point(request.args.get("a"))),
        )
        if point is not None
    }
    pickup_at = dt.datetime.fromtimestamp(found[1], dt.UTC) if found else None
    return render_template(
        "web/journey_public.html",
        found=found is not None,
        pickup_at=pickup_at,
        places=places,
        service_phone=current_app.config.get("SERVICE_PHONE", ""),
    ), (200 if found else 404)
