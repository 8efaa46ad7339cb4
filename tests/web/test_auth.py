"""Sign-in and accounts in the browser's shoes: password change, temporary passwords, reset links,
idle timeout, Secure cookies and HSTS, the proxy's client address, and the sign-in limits on Redis."""

from __future__ import annotations

import hashlib
import html
import re
import time
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from app.extensions import db
from app.models import AuditLog, User, utcnow
from app.security import LAST_SEEN_KEY

from .conftest import ADMIN, AIDANT, COORDINATOR, OwnContextClient, login, sibling_app


def _page(response) -> str:  # type: ignore[no-untyped-def]
    """The page's text with HTML entities decoded (apostrophes come as &#39;)."""
    return html.unescape(response.get_data(as_text=True))


def _user(email: str) -> User:
    db.session.expire_all()
    return db.session.execute(db.select(User).filter_by(email=email)).scalar_one()


def _sign_in(client, email: str, password: str, **kwargs):  # type: ignore[no-untyped-def]
    return client.post("/connexion", data={"email": email, "password": password}, **kwargs)


# --- password change ------------------------------------------------------------------------


def test_password_change_checks_current_password_and_policy(demo, client):
    login(client, AIDANT)
    page = client.get("/mot-de-passe")
    assert page.status_code == 200 and "Changer de mot de passe" in _page(page)

    wrong = client.post("/mot-de-passe", data={"current_password": "pas-le-bon-mot-de-passe",
                                               "new_password": "le causse est vert en mai",
                                               "confirm": "le causse est vert en mai"})
    assert wrong.status_code == 400 and "Le mot de passe actuel est incorrect." in _page(wrong)

    for weak, message in (("court-46", "trop court"),
                          ("aidant@demo.mobilite-lot.fr!", "adresse électronique"),
                          ("aaaaaaaaaaaaaaaa", "trop simple"),
                          ("123456789012", "trop simple")):
        refused = client.post("/mot-de-passe", data={"current_password": AIDANT[1], "new_password": weak,
                                                     "confirm": weak})
        assert refused.status_code == 400 and message in _page(refused), weak

    mismatch = client.post("/mot-de-passe", data={"current_password": AIDANT[1],
                                                  "new_password": "le causse est vert en mai",
                                                  "confirm": "le causse est vert en juin"})
    assert "Les deux mots de passe sont différents." in _page(mismatch)
    assert _user(AIDANT[0]).password_changed_at is not None
    before = _user(AIDANT[0]).password_hash
    elsewhere = OwnContextClient(client.application)  # the same aidant, signed in at another desk
    login(elsewhere, AIDANT)
    assert elsewhere.get("/besoins").status_code == 200

    done = client.post("/mot-de-passe", data={"current_password": AIDANT[1],
                                              "new_password": "le causse est vert en mai",
                                              "confirm": "le causse est vert en mai"})
    assert done.status_code == 302
    stored = _user(AIDANT[0])
    assert stored.password_hash != before and "le causse" not in stored.password_hash
    assert stored.password_hash.startswith(("scrypt:", "pbkdf2:"))  # werkzeug's hashes
    assert db.session.execute(db.select(AuditLog).filter_by(action="password_change", object_id=str(stored.id))).scalar_one()
    assert client.get("/besoins").status_code == 200  # this session goes on
    assert elsewhere.get("/besoins").status_code == 302  # every other one ends

    fresh = OwnContextClient(client.application)
    assert _sign_in(fresh, *AIDANT).status_code == 200  # the old password no longer works
    assert _sign_in(fresh, AIDANT[0], "le causse est vert en mai").status_code == 302


def test_password_change_needs_sign_in(demo, client):
    response = client.get("/mot-de-passe")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]


# --- temporary password ---------------------------------------------------------------------


def test_an_account_created_by_a_coordinator_must_change_its_temporary_password(demo, client):
    login(client, COORDINATOR)
    created = client.post("/administration", data={
        "user-name": "Nadia Nouvelle", "user-email": "nadia@demo.mobilite-lot.fr", "user-role": "aidant",
        "user-structure": str(demo.valbourg.id), "user-password": "provisoire-valbourg-46"})
    assert created.status_code == 302, _page(created)[:2000]
    assert _user("nadia@demo.mobilite-lot.fr").must_change_password is True

    weak = client.post("/administration", data={
        "user-name": "Olivier", "user-email": "olivier@demo.mobilite-lot.fr", "user-role": "aidant",
        "user-structure": str(demo.valbourg.id), "user-password": "olivier@demo.mobilite-lot.fr"})
    assert weak.status_code == 400 and "adresse électronique" in _page(weak)

    nadia = OwnContextClient(client.application)
    signed_in = nadia.post("/connexion?next=/besoins", data={"email": "nadia@demo.mobilite-lot.fr",
                                                             "password": "provisoire-valbourg-46"})
    assert signed_in.status_code == 302
    assert urlsplit(signed_in.headers["Location"]).path == "/mot-de-passe"
    for path in ("/besoins", "/personnes", "/benevoles", "/"):
        blocked = nadia.get(path)
        assert blocked.status_code == 302, path
        assert urlsplit(blocked.headers["Location"]).path == "/mot-de-passe", path
    page = nadia.get("/mot-de-passe")
    assert page.status_code == 200 and "provisoire" in _page(page)

    same = nadia.post("/mot-de-passe", data={"current_password": "provisoire-valbourg-46",
                                             "new_password": "provisoire-valbourg-46",
                                             "confirm": "provisoire-valbourg-46"})
    assert same.status_code == 400 and "différent de l'actuel" in _page(same)
    changed = nadia.post("/mot-de-passe?next=/besoins", data={
        "current_password": "provisoire-valbourg-46", "new_password": "ma phrase secrète du Lot",
        "confirm": "ma phrase secrète du Lot"})
    assert changed.status_code == 302 and changed.headers["Location"] == "/besoins"
    assert _user("nadia@demo.mobilite-lot.fr").must_change_password is False
    assert nadia.get("/besoins").status_code == 200


# --- reset link -----------------------------------------------------------------------------


def _reset_link(client, account_id: int) -> str:  # type: ignore[no-untyped-def]
    page = client.post(f"/administration/comptes/{account_id}/lien-mot-de-passe")
    assert page.status_code == 200, _page(page)[:1000]
    assert page.headers["Cache-Control"] == "no-store"
    match = re.search(r'value="(http[^"]+/mot-de-passe/reinitialiser/([^"]+))"', _page(page))
    assert match is not None
    return urlsplit(match.group(1)).path


def test_reset_link_is_single_use_expiring_and_replaced_by_a_new_one(demo, client):
    login(client, COORDINATOR)
    aidant_id = demo.aidant.id
    first = _reset_link(client, aidant_id)
    token = first.rsplit("/", 1)[1]
    stored = _user(AIDANT[0])
    assert stored.password_reset_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (stored.password_reset_token_hash or "")
    hours = client.application.config["PASSWORD_RESET_EXPIRY_HOURS"]
    left = stored.password_reset_expires_at - utcnow()
    assert timedelta(hours=hours) - timedelta(minutes=5) < left <= timedelta(hours=hours)

    anonymous = OwnContextClient(client.application)
    assert anonymous.get(first).status_code == 200
    second = _reset_link(client, aidant_id)
    assert second != first
    assert anonymous.get(first).status_code == 404  # replaced by the new one
    assert "plus valable" in _page(anonymous.get(first))
    # The current password keeps working until the link is used.
    assert _sign_in(OwnContextClient(client.application), *AIDANT).status_code == 302

    desk = OwnContextClient(client.application)  # a session left open somewhere
    login(desk, AIDANT)
    weak = anonymous.post(second, data={"new_password": "court", "confirm": "court"})
    assert weak.status_code == 400 and "trop court" in _page(weak)
    used = anonymous.post(second, data={"new_password": "un nouveau départ à Valbourg",
                                        "confirm": "un nouveau départ à Valbourg"})
    assert used.status_code == 302 and urlsplit(used.headers["Location"]).path == "/connexion"
    assert anonymous.get(second).status_code == 404  # used once
    assert desk.get("/besoins").status_code == 302  # the reset ended the open session
    assert anonymous.post(second, data={"new_password": "encore une autre phrase",
                                        "confirm": "encore une autre phrase"}).status_code == 404
    assert _sign_in(OwnContextClient(client.application), *AIDANT).status_code == 200
    assert _sign_in(OwnContextClient(client.application), AIDANT[0],
                    "un nouveau départ à Valbourg").status_code == 302

    expired = _reset_link(client, aidant_id)
    account = _user(AIDANT[0])
    account.password_reset_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert anonymous.get(expired).status_code == 404
    assert anonymous.get("/mot-de-passe/reinitialiser/inventé").status_code == 404


def test_reset_link_only_for_accounts_one_manages(demo, client):
    login(client, AIDANT)  # an aidant manages nobody
    assert client.post(f"/administration/comptes/{demo.ccas_aidant.id}/lien-mot-de-passe").status_code in (403, 404)
    other = OwnContextClient(client.application)
    login(other, COORDINATOR)  # coordinator of Valbourg: not the CCAS's accounts
    assert other.post(f"/administration/comptes/{demo.ccas_aidant.id}/lien-mot-de-passe").status_code == 404
    assert _user(demo.ccas_aidant.email).password_reset_token_hash is None
    admin = OwnContextClient(client.application)
    login(admin, ADMIN)
    assert _reset_link(admin, demo.ccas_aidant.id)


# --- idle timeout ---------------------------------------------------------------------------


def _age_session(client, seconds: int) -> None:  # type: ignore[no-untyped-def]
    with client.session_transaction() as session:
        session[LAST_SEEN_KEY] = int(time.time()) - seconds


def test_idle_session_is_closed_and_sign_in_keeps_next(demo, client, app):
    login(client, AIDANT)
    _age_session(client, 29 * 60)
    assert client.get("/besoins").status_code == 200  # 29 minutes: still open, and renewed
    _age_session(client, 31 * 60)
    closed = client.get("/besoins?statut=ouverts")
    assert closed.status_code == 302
    location = urlsplit(closed.headers["Location"])
    assert location.path == "/connexion"
    assert parse_qs(location.query)["next"] == ["/besoins?statut=ouverts"]
    page = client.get(closed.headers["Location"])
    assert "Votre session a été fermée après 30 minutes sans activité" in _page(page)
    assert client.get("/besoins").status_code == 302  # the session is gone
    with client.session_transaction() as session:
        assert "_user_id" not in session
    back = client.post(closed.headers["Location"], data={"email": AIDANT[0], "password": AIDANT[1]})
    assert back.headers["Location"] == "/besoins?statut=ouverts"

    previous = app.config["SESSION_IDLE_TIMEOUT_MIN"]
    app.config["SESSION_IDLE_TIMEOUT_MIN"] = 5  # configurable, read per request
    try:
        _age_session(client, 6 * 60)
        assert client.get("/besoins").status_code == 302
    finally:
        app.config["SESSION_IDLE_TIMEOUT_MIN"] = previous


# --- HTTPS: Secure cookies and HSTS; the proxy's headers ------------------------------------


def test_cookies_are_secure_when_the_public_url_is_https(monkeypatch, tmp_path):
    from app.config import load_config

    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    assert load_config(tmp_path)["SESSION_COOKIE_SECURE"] is False
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://mobilite.lot.fr")
    config = load_config(tmp_path)
    assert config["SESSION_COOKIE_SECURE"] is True and config["REMEMBER_COOKIE_SECURE"] is True
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "0")  # an explicit setting wins
    assert load_config(tmp_path)["SESSION_COOKIE_SECURE"] is False


def test_behind_a_proxy_https_gets_hsts_secure_cookie_and_the_client_address(demo, app):
    proxied = sibling_app(app, PROXY_FIX_HOPS=1, SESSION_COOKIE_SECURE=True, HSTS_SECONDS=600)
    client = proxied.test_client()
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    page = client.get("/connexion", headers=https)
    assert page.headers["Strict-Transport-Security"] == "max-age=600"
    assert "Strict-Transport-Security" not in client.get("/connexion").headers  # plain http
    signed_in = _sign_in(client, *AIDANT, headers=https)
    assert signed_in.status_code == 302
    cookie = signed_in.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    row = db.session.execute(db.select(AuditLog).filter_by(action="login").order_by(AuditLog.id.desc())).scalars().first()
    assert row.ip == "203.0.113.7"

    # Without PROXY_FIX_HOPS the header is not trusted: a client cannot choose its address.
    direct = app.test_client()
    _sign_in(direct, COORDINATOR[0], COORDINATOR[1], headers={"X-Forwarded-For": "198.51.100.9"})
    row = db.session.execute(db.select(AuditLog).filter_by(action="login").order_by(AuditLog.id.desc())).scalars().first()
    assert row.ip == "127.0.0.1"


# --- sign-in limits on Redis, per account and per address ------------------------------------


@pytest.fixture
def limited_redis(app):  # type: ignore[no-untyped-def]
    """The app behind one proxy, with the real limiter storing its counters in the local Redis."""
    import redis

    from app.extensions import limiter

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(f"Redis is needed for the production limiter path: {exc}")
    was_enabled = limiter.enabled  # one limiter object for every app of the process
    try:
        yield sibling_app(app, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0",
                          PROXY_FIX_HOPS=1, LOGIN_RATE_LIMIT_PER_ACCOUNT="3 per minute",
                          LOGIN_RATE_LIMIT_PER_ADDRESS="5 per minute")
    finally:
        limiter.enabled = was_enabled


def _address() -> str:
    raw = uuid.uuid4().bytes
    return f"10.{raw[0]}.{raw[1]}.{raw[2] or 1}"


def _fresh_account(demo) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """An aidant of its own, so that counters left in Redis by another run never interfere."""
    from app.services.accounts import create_user

    email, password = f"aidant-{uuid.uuid4().hex[:12]}@demo.mobilite-lot.fr", "phrase de passe du causse"
    create_user(email, "Aidant d'essai", password, "aidant", demo.valbourg)
    db.session.commit()
    return email, password


def test_sign_in_limited_per_account_from_many_addresses(demo, limited_redis):
    import redis

    client = limited_redis.test_client()
    victim, password = _fresh_account(demo)
    for _ in range(3):  # three guesses, each from a new address
        assert _sign_in(client, victim, f"devine-{uuid.uuid4()}",
                        headers={"X-Forwarded-For": _address()}).status_code == 200
    blocked = _sign_in(client, victim, password, headers={"X-Forwarded-For": _address()})
    assert blocked.status_code == 429  # even the right password, from yet another address
    assert "Trop de tentatives" in _page(blocked)
    # Another aidant behind the same proxy is not locked out.
    other = limited_redis.test_client()
    assert _sign_in(other, *COORDINATOR, headers={"X-Forwarded-For": _address()}).status_code == 302
    keys = redis.Redis(host="127.0.0.1", port=6379).keys(f"*{victim}*")
    assert keys, "the counters live in Redis"


def test_sign_in_limited_per_address_and_successes_do_not_count(demo, limited_redis):
    attacker = _address()
    client = limited_redis.test_client()
    for _ in range(5):  # five different accounts guessed from one address
        assert _sign_in(client, f"{uuid.uuid4().hex[:10]}@demo.mobilite-lot.fr", "devine-devine-46",
                        headers={"X-Forwarded-For": attacker}).status_code == 200
    assert _sign_in(client, *COORDINATOR, headers={"X-Forwarded-For": attacker}).status_code == 429

    counter = _address()  # a France Services counter: six sign-ins that succeed
    account = _fresh_account(demo)
    for _ in range(6):
        assert _sign_in(limited_redis.test_client(), *account,
                        headers={"X-Forwarded-For": counter}).status_code == 302
