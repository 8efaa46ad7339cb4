"""The SMS simulator (development provider only): play a rider or a driver in the browser.

GET /sms/simulateur lists the phone numbers of the drivers and beneficiaries; choosing one shows
every SMS to and from it. POST sends a text "from" that phone through the very same inbound
handling as Twilio's webhook. Reading anyone's messages and answering in her name is an
administrator's tool: every endpoint answers 404 to anyone else, and to everyone unless
SMS_PROVIDER=dev.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from ..extensions import db
from ..models import Beneficiary, Driver, SmsMessage
from ..services.access import beneficiary_filter, driver_filter, is_admin
from . import bp


def _fr_phone(e164: str) -> str:
    from ..services.notifications import fr_phone

    return fr_phone(e164)


def _phones() -> list[tuple[str, str, str]]:
    """(phone, label, role) of the people the user may see and play."""
    drivers = db.session.execute(select(Driver).where(driver_filter(current_user), Driver.phone_e164.is_not(None))
                                 .order_by(Driver.last_name, Driver.first_name)).scalars()
    riders = db.session.execute(select(Beneficiary).where(beneficiary_filter(current_user),
                                                          Beneficiary.phone_e164.is_not(None))
                                .order_by(Beneficiary.last_name, Beneficiary.first_name)).scalars()
    out = [(d.phone_e164, f"{d.first_name} {d.last_name} — bénévole", "driver") for d in drivers]
    out += [(b.phone_e164, f"{b.first_name} {b.last_name} — personne aidée", "rider") for b in riders if b.phone_e164]
    return out


def simulator_access(view: Callable[..., Any]) -> Callable[..., Any]:
    """Every simulator view: signed in as an administrator, development provider on; else 404."""

    @wraps(view)
    @login_required
    def checked(*args: Any, **kwargs: Any) -> Any:
        if current_app.config.get("SMS_PROVIDER", "dev") != "dev" or not is_admin(current_user):
            abort(404)
        return view(*args, **kwargs)

    return checked


@bp.get("/simulateur")
@simulator_access
def simulator() -> str:
    phones = _phones()
    allowed = {p for p, _, _ in phones}
    phone = request.args.get("tel", "")
    if phone and phone not in allowed and not phone.startswith("+3399"):
        abort(404)
    messages: list[SmsMessage] = []
    if phone:
        messages = list(db.session.execute(select(SmsMessage).where(SmsMessage.phone_e164 == phone)
                                      .order_by(SmsMessage.created_at, SmsMessage.id)).scalars())
    label = next((lbl for p, lbl, _ in phones if p == phone), "numéro inconnu" if phone else "")
    # Link each message about a need to the aidant's page of that need (when the web has it).
    need_endpoint = "web.need" if "web.need" in current_app.view_functions else None
    return render_template("sms/simulator.html", phones=phones, phone=phone, label=label, messages=messages,
                           fr_phone=_fr_phone, unknown_phone="+33999000001", need_endpoint=need_endpoint)


@bp.post("/simulateur")
@simulator_access
def simulator_send() -> Response:
    phone = request.form.get("tel", "")
    body = (request.form.get("message") or "").strip()
    allowed = {p for p, _, _ in _phones()}
    if phone not in allowed and not phone.startswith("+3399"):
        abort(404)
    if not body:
        flash("Écrivez un message avant d'envoyer.", "error")
    else:
        from ..services.conversations import handle_inbound

        handle_inbound(phone, body, message_sid=f"SIM{uuid.uuid4().hex}")
    return redirect(url_for("sms.simulator", tel=phone) + "#fil")
