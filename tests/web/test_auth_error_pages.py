"""French error pages for 400, 403, 404, 405, 413, 429 and 500; the open API keeps JSON errors."""

from __future__ import annotations

import html
from pathlib import Path

from flask import abort

from .conftest import AIDANT, sibling_app

ENGLISH = ("Bad Request", "Not Found", "Method Not Allowed", "Internal Server Error", "Forbidden",
           "Too Many Requests", "Request Entity Too Large", "The browser (or proxy)")


def _french_page(response, status: int, title: str) -> str:  # type: ignore[no-untyped-def]
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == status, page[:500]
    assert response.mimetype == "text/html"
    assert '<html lang="fr"' in page and f"<h1>{title}</h1>" in page
    assert not [word for word in ENGLISH if word in page]
    return page


def test_404_405_and_413_are_french(sapp, sclient):
    _french_page(sclient.get("/cette-page-n-existe-pas"), 404, "Page introuvable")
    _french_page(sclient.get("/deconnexion"), 405, "Action impossible")
    small = sibling_app(sapp, MAX_CONTENT_LENGTH=1024).test_client()
    _french_page(small.post("/connexion", data={"email": AIDANT[0], "password": "x" * 5000}), 413,
                 "Envoi trop volumineux")


def test_400_and_403_from_any_view_are_french(sapp):
    probe = sibling_app(sapp)
    probe.add_url_rule("/essai/400", "essai_400", lambda: abort(400))
    probe.add_url_rule("/essai/403", "essai_403", lambda: abort(403))
    client = probe.test_client()
    _french_page(client.get("/essai/400"), 400, "Demande invalide")
    _french_page(client.get("/essai/403"), 403, "Accès refusé")


def test_500_is_french_and_the_failed_transaction_is_dropped(sapp, tmp_path: Path):
    # A database without the tables: signing in fails inside SQLAlchemy, as with a database down.
    broken = sibling_app(sapp, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'empty.db'}",
                         PROPAGATE_EXCEPTIONS=False)
    response = broken.test_client().post("/connexion", data={"email": AIDANT[0], "password": AIDANT[1]})
    page = _french_page(response, 500, "Erreur du service")
    assert "rien n'a été enregistré" in page
    assert "Traceback" not in page and "OperationalError" not in page


def test_rate_limited_sign_in_page_is_french(sapp):
    from app.extensions import limiter

    was_enabled = limiter.enabled  # one limiter object for every app of the process
    try:
        limited = sibling_app(sapp, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                              LOGIN_RATE_LIMIT_PER_ADDRESS="1 per minute")
        client = limited.test_client()
        client.post("/connexion", data={"email": "x@example.fr", "password": "mauvais-mot-de-passe"})
        _french_page(client.post("/connexion", data={"email": "y@example.fr", "password": "autre-mauvais"}),
                     429, "Trop de tentatives")
    finally:
        limiter.reset()
        limiter.enabled = was_enabled


def test_the_open_api_keeps_json_errors(sclient):
    unknown = sclient.get("/api/v1/nulle-part")
    assert unknown.status_code == 404 and unknown.is_json
    assert unknown.get_json()["status"] == 404
    missing = sclient.get("/api/v1/journeys")  # a real route, parameters missing
    assert missing.status_code == 400 and missing.is_json and "error" in missing.get_json()
