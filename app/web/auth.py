"""Sign-in, sign-out, password change and reset by link."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Regexp

from ..extensions import limiter
from ..security import mark_session_active
from ..services.accounts import (
    PASSWORD_RULE_FR,
    AccountError,
    authenticate,
    change_password,
    reset_password,
    user_for_reset_token,
)
from . import bp
from .error_pages import is_csrf_replay
from .forms import FrenchForm


class LoginForm(FrenchForm):
    email = EmailField("Adresse électronique", validators=[DataRequired("Indiquez votre adresse électronique."), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message="Adresse électronique invalide.")])
    password = PasswordField("Mot de passe", validators=[DataRequired("Indiquez votre mot de passe.")])


class NewPasswordFields(FrenchForm):
    new_password = PasswordField("Nouveau mot de passe", description=PASSWORD_RULE_FR,
                                 validators=[DataRequired("Indiquez le nouveau mot de passe.")])
    confirm = PasswordField("Confirmez le nouveau mot de passe", validators=[
        DataRequired("Confirmez le nouveau mot de passe."),
        EqualTo("new_password", "Les deux mots de passe sont différents.")])


class PasswordChangeForm(NewPasswordFields):
    current_password = PasswordField("Mot de passe actuel", validators=[
        DataRequired("Indiquez votre mot de passe actuel.")])


def _safe_next(target: str | None) -> str | None:
    """Only local paths are followed after sign-in (no open redirect).

    Browsers read ``/\\host`` as ``//host`` and drop tabs and newlines before reading a URL,
    so backslashes and control characters are refused along with schemes and hosts.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) < 0x21 or ord(c) == 0x7F for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


# Sign-in is limited twice: per submitted e-mail whatever the address (no brute force of one
# account from many addresses) and per client address whatever the e-mail (no spraying of many
# accounts from one address). Only failures count, so aidants behind one proxy or counter do
# not lock each other out by signing in; PROXY_FIX_HOPS makes the address the real client's.
def _login_account_key() -> str:
    return "account:" + (request.form.get("email") or "").strip().lower()[:200]


def _sign_in_failed(response: Response) -> bool:
    return response.status_code != 302


def _account_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"])


def _address_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT_PER_ADDRESS"])


@bp.route("/connexion", methods=["GET", "POST"])
@limiter.limit(_account_limit, key_func=_login_account_key, methods=["POST"], scope="sign-in-account",
               deduct_when=_sign_in_failed)
@limiter.limit(_address_limit, methods=["POST"], scope="sign-in-address", deduct_when=_sign_in_failed)
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("web.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data or "", form.password.data or "", ip=request.remote_addr)
        if user is not None:
            session.clear()  # nothing of an anonymous visit is carried into the signed-in session
            login_user(user)
            mark_session_active()
            flash(f"Bienvenue, {user.name}.", "success")
            target = _safe_next(request.args.get("next"))
            if user.must_change_password:
                return redirect(url_for("web.password_change", next=target))
            return redirect(target or url_for("web.home"))
        form.password.errors.append("Adresse ou mot de passe incorrect.")
    return render_template("web/login.html", form=form)


@bp.post("/deconnexion")
@login_required
def logout() -> Response:
    if is_csrf_replay():  # a forged or stale sign-out button: stay signed in
        return redirect(url_for("web.home"))
    logout_user()
    session.clear()
    flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("web.home"))


@bp.route("/mot-de-passe", methods=["GET", "POST"])
@login_required
def password_change() -> Any:
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current_password.data or "", form.new_password.data or "")
        except AccountError as exc:
            field = form.current_password if "actuel" in str(exc) else form.new_password
            field.errors = [*field.errors, str(exc)]
        else:
            # The new password ends every other session; this one goes on under the new mark.
            login_user(current_user._get_current_object())  # type: ignore[attr-defined]
            mark_session_active()
            flash("Votre mot de passe est changé.", "success")
            return redirect(_safe_next(request.args.get("next")) or url_for("web.home"))
    return render_template("web/password_change.html", form=form,
                           forced=current_user.must_change_password), (400 if form.errors else 200)


@bp.route("/mot-de-passe/reinitialiser/<token>", methods=["GET", "POST"])
def password_reset(token: str) -> Any:
    account = user_for_reset_token(token)
    if account is None:
        return render_template("web/password_reset_invalid.html"), 404
    form = NewPasswordFields()
    if form.validate_on_submit():
        try:
            reset_password(token, form.new_password.data or "")
        except AccountError as exc:
            form.new_password.errors = [*form.new_password.errors, str(exc)]
        else:
            if current_user.is_authenticated:
                logout_user()
            session.clear()
            flash("Votre mot de passe est enregistré : connectez-vous avec lui.", "success")
            return redirect(url_for("web.login"))
    response = current_app.make_response((
        render_template("web/password_reset.html", form=form, account=account),
        400 if form.errors else 200))
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response
