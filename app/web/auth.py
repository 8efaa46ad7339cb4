"""Sign-in and sign-out."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Regexp

from ..extensions import limiter
from ..services.accounts import authenticate
from . import bp


class LoginForm(FlaskForm):
    email = EmailField("Adresse électronique", validators=[DataRequired("Indiquez votre adresse électronique."), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Adresse électronique invalide.")])
    password = PasswordField("Mot de passe", validators=[DataRequired("Indiquez votre mot de passe.")])


def _safe_next(target: str | None) -> str | None:
    """Only local paths are followed after sign-in (no open redirect)."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return None


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data or "", form.password.data or "", ip=request.remote_addr)
        if user is not None:
            login_user(user)
            flash(f"Bienvenue, {user.name}.", "success")
            return redirect(_safe_next(request.args.get("next")) or url_for("web.home"))
        form.password.errors.append("Adresse ou mot de passe incorrect.")
    return render_template("web/login.html", form=form)


@bp.post("/deconnexion")
@login_required
def logout() -> Response:
    logout_user()
    flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("web.home"))
