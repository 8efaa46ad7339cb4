"""French error pages of the aidants' site, and the recovery of a form sent with an expired token.

The public API keeps its JSON errors (``app/api/errors.py``: blueprint handlers win over these
application-wide ones); an unknown ``/api/…`` URL gets a JSON 404 here too. The SMS webhooks
keep Werkzeug's plain answers (Twilio reads only the status).

CSRF expiry: after an hour at the counter the form's token has expired (or the session was
closed meanwhile), and Flask-WTF refuses the POST before any view runs. Instead of a bare 400
that loses what was typed, the same view is called again on the same request, flagged as a
replay: its form reads the submitted values, fails validation on the token (every web form is
a FlaskForm, which checks the token itself), and the page comes back, with status 400, with what
was typed (password fields never render their value), a fresh token and a French message. A
view that answers with a redirect (a button acting on a record) gets instead a French 400 page
with a link back to where the redirect led. Nothing may be written during a replay: a commit raises (``_forbid_commit_during_replay``), so a view that
would act without validating its form gets a 500 page instead of acting on a forged request.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Flask,
    current_app,
    g,
    has_request_context,
    jsonify,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from werkzeug.exceptions import HTTPException, InternalServerError

from ..extensions import db

log = logging.getLogger(__name__)

CSRF_EXPIRED_FR = "Votre session a expiré, vérifiez puis validez à nouveau."
CSRF_BACK_FR = "Rien n'a été enregistré. Revenez à la page pour refaire cette action."

ERROR_PAGES_FR: dict[int, tuple[str, str]] = {
    400: ("Demande invalide", "La demande envoyée n'a pas pu être comprise. Revenez à la page "
          "précédente et réessayez."),
    403: ("Accès refusé", "Vous n'avez pas accès à cette page."),
    404: ("Page introuvable", "Cette page n'existe pas, ou vous n'y avez pas accès."),
    405: ("Action impossible", "Cette page ne permet pas cette action. Revenez à la page précédente."),
    413: ("Envoi trop volumineux", "Le formulaire ou le fichier envoyé est trop volumineux."),
    429: ("Trop de tentatives", "Patientez une minute avant de réessayer."),
    500: ("Erreur du service", "Une erreur inattendue est survenue ; rien n'a été enregistré par "
          "cette action. Réessayez dans un instant ; si elle se reproduit, prévenez votre "
          "coordinateur."),
}

_FALLBACK_500 = (
    '<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Erreur du service</title>'
    "</head><body><h1>Erreur du service</h1><p>Une erreur inattendue est survenue. Réessayez dans "
    "un instant ; si elle se reproduit, prévenez votre coordinateur.</p>"
    '<p><a href="/">Retour à l\'accueil</a></p></body></html>'
)


def _wants_plain_error() -> bool:
    return request.path.startswith("/sms/")


def error_page(code: int, message: str | None = None) -> tuple[Any, int]:
    """The French page for an HTTP error ``code`` (JSON under /api/)."""
    title, default = ERROR_PAGES_FR.get(code, ERROR_PAGES_FR[400 if code < 500 else 500])
    if request.path.startswith("/api/"):
        return jsonify({"error": title, "status": code}), code
    return render_template("web/error.html", title=title, message=message or default,
                           code=code), code


def _http_error(error: HTTPException) -> Any:
    code = error.code or 500
    if _wants_plain_error():
        return error
    return error_page(code)


def _internal_error(error: InternalServerError) -> Any:
    # Flask has already logged the original exception; the transaction it broke is abandoned.
    db.session.rollback()
    if _wants_plain_error():
        return error
    try:
        return error_page(500)
    except Exception:  # noqa: BLE001  (the page itself failed: database down, template error…)
        log.exception("the French 500 page could not be rendered; plain fallback served")
        return _FALLBACK_500, 500


def _csrf_error(error: CSRFError) -> Any:
    """Show the form again with what was typed, a new token and a French message."""
    endpoint = request.endpoint or ""
    if (request.method != "POST" or not endpoint.startswith("web.") or g.get("csrf_replay")
            or endpoint not in current_app.view_functions):
        return error_page(400, CSRF_EXPIRED_FR)
    g.csrf_replay = True  # base.html shows CSRF_EXPIRED_FR on every page rendered now
    try:
        response = current_app.make_response(
            current_app.view_functions[endpoint](**(request.view_args or {})))
    except HTTPException:
        # The view refuses anyway (404 of a record out of reach…): the answer stays the plain
        # refusal of the token, telling nothing more about the record.
        return _expired_page(url_for("web.home"))
    if response.status_code in (301, 302, 303, 307, 308):
        # An action button (no form to show again): a page that leads back to where it was.
        return _expired_page(response.headers.get("Location") or url_for("web.home"))
    response.status_code = 400  # refused, and nothing was written: the form comes back
    return response


def _expired_page(back_url: str) -> tuple[str, int]:
    session.pop("_flashes", None)  # a view's own "invalid request" message would say less
    return render_template("web/error.html", title="Page expirée", message=CSRF_BACK_FR,
                           back_url=back_url, code=400), 400


def is_csrf_replay() -> bool:
    """True while a view runs again after an expired or missing CSRF token (nothing to act on)."""
    return has_request_context() and bool(g.get("csrf_replay"))


def _forbid_commit_during_replay(session: Any) -> None:
    if is_csrf_replay():
        raise RuntimeError("a view tried to write during the replay of a request whose CSRF "
                           "token was refused: its form must be validated before acting")


def init_error_pages(app: Flask) -> None:
    """Register the French error pages and the CSRF expiry recovery on the application."""
    for code in ERROR_PAGES_FR:
        if code == 500:
            app.register_error_handler(InternalServerError, _internal_error)
        else:
            app.register_error_handler(code, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    if not event.contains(db.session, "before_commit", _forbid_commit_during_replay):
        event.listen(db.session, "before_commit", _forbid_commit_during_replay)
