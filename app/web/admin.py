"""Accounts and structures: administrators manage structures; coordinators their aidants."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from ..extensions import db
from ..models import Commune, Structure, User
from ..services import access
from ..services.accounts import AccountError, create_user, issue_reset_token, set_account_active
from ..services.audit import record_audit
from . import bp
from .common import commune_choices
from .forms import ConfirmForm, StructureForm, UserForm, as_choices


@bp.route("/administration", methods=["GET", "POST"])
@login_required
@access.roles_required("coordinator", "admin")
def admin() -> tuple[str, int] | BaseResponse:
    form = UserForm(prefix="user")
    structures = access.structures_visible(current_user)
    form.structure.choices = as_choices([(str(s.id), s.name) for s in structures])
    if not access.is_admin(current_user):
        form.role.choices = as_choices([("aidant", "Aidant"), ("coordinator", "Coordinateur")])
    if form.validate_on_submit():
        exists = db.session.execute(db.select(User).filter_by(email=form.email.data.lower())).scalar_one_or_none()
        structure = db.session.get(Structure, int(form.structure.data)) if form.structure.data else None
        if exists is not None:
            form.email.errors = ["Un compte existe déjà avec cette adresse."]
        elif form.role.data != "admin" and (structure is None or structure not in structures):
            form.structure.errors = ["Choisissez la structure du compte."]
        else:
            try:
                user = create_user(form.email.data, form.name.data, form.password.data, form.role.data,
                                   structure if form.role.data != "admin" else None, temporary=True)
            except AccountError as exc:
                form.password.errors = [*form.password.errors, str(exc)]
            else:
                db.session.flush()
                record_audit("create", "user", user.id, user=current_user, detail={"role": user.role})
                db.session.commit()
                flash(f"Le compte de {user.name} est créé. Son mot de passe est provisoire : "
                      "il ou elle devra le changer à sa première connexion.", "success")
                return redirect(url_for("web.admin"))
    users = db.session.execute(
        db.select(User).where(User.structure_id.in_([s.id for s in structures]) if not access.is_admin(current_user) else db.true())
        .order_by(User.name)).scalars().all()
    manageable = {u.id for u in users if access.can_manage_account(current_user, u)}
    return render_template("web/admin.html", form=form, users=users, structures=structures,
                           manageable=manageable), (400 if form.errors else 200)


@bp.post("/administration/comptes/<int:user_id>/<any(desactiver, reactiver):action>")
@login_required
@access.roles_required("coordinator", "admin")
def account_active(user_id: int, action: str) -> BaseResponse:
    account = access.account_or_404(current_user, user_id)
    active = action == "reactiver"
    if not ConfirmForm().validate_on_submit():
        flash("Demande invalide : rechargez la page.", "error")
        return redirect(url_for("web.admin"))
    try:
        changed = set_account_active(account, active, current_user)
    except AccountError as exc:
        flash(str(exc), "error")
    else:
        if not changed:
            flash(f"Le compte de {account.name} était déjà {'actif' if active else 'désactivé'}.", "info")
        elif active:
            flash(f"Le compte de {account.name} est réactivé : il ou elle peut se connecter à nouveau.", "success")
        else:
            flash(f"Le compte de {account.name} est désactivé : il ou elle ne peut plus se connecter.", "success")
    return redirect(url_for("web.admin", _anchor="comptes"))


@bp.post("/administration/comptes/<int:user_id>/lien-mot-de-passe")
@login_required
@access.roles_required("coordinator", "admin")
def account_reset_link(user_id: int) -> str | BaseResponse:
    """A single-use, expiring link to choose a new password, shown once to the coordinator."""
    account = access.account_or_404(current_user, user_id)
    if not ConfirmForm().validate_on_submit():
        flash("Demande invalide : rechargez la page.", "error")
        return redirect(url_for("web.admin", _anchor="comptes"))
    hours = int(current_app.config["PASSWORD_RESET_EXPIRY_HOURS"])
    try:
        token = issue_reset_token(account, current_user, hours)
    except AccountError as exc:
        flash(str(exc), "error")
        return redirect(url_for("web.admin", _anchor="comptes"))
    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    path = url_for("web.password_reset", token=token)
    link = base + path if base else url_for("web.password_reset", token=token, _external=True)
    response = current_app.make_response(render_template(
        "web/password_reset_link.html", account=account, link=link,
        expires_at=account.password_reset_expires_at))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/administration/structures/nouvelle", methods=["GET", "POST"])
@login_required
@access.roles_required("admin")
def structure_new() -> tuple[str, int] | BaseResponse:
    form = StructureForm()
    form.communes.choices = as_choices([c for c in commune_choices() if c[0]])
    if form.validate_on_submit():
        if db.session.execute(db.select(Structure).filter_by(name=form.name.data)).scalar_one_or_none():
            form.name.errors = ["Une structure porte déjà ce nom."]
        else:
            communes = db.session.execute(db.select(Commune).where(Commune.insee.in_(form.communes.data))).scalars().all()
            structure = Structure(name=form.name.data, kind=form.kind.data, communes=list(communes))
            db.session.add(structure)
            db.session.flush()
            record_audit("create", "structure", structure.id, user=current_user)
            db.session.commit()
            flash(f"La structure {structure.name} est créée.", "success")
            return redirect(url_for("web.admin"))
    return render_template("web/structure_form.html", form=form), (400 if form.errors else 200)
