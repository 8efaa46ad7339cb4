"""Brute force on sign-in, with the platform behind a reverse proxy (``PROXY_FIX_HOPS=1``).

Documented behaviour (README, issue 11): the sign-in limit is keyed on the account *and* on the
client address, only failed attempts count, and behind a proxy the client address is the one
the proxy puts in ``X-Forwarded-For`` (Werkzeug ProxyFix, ``PROXY_FIX_HOPS`` hops trusted).
So an attacker who rotates addresses is still stopped on the account she attacks, and one who
hammers from one address does not lock out an aidant signing in from another. Without a proxy
(``PROXY_FIX_HOPS=0``), a forged ``X-Forwarded-For`` header buys nothing.

The limiter is one object shared by every app of the process: each test builds its own app with
a fresh in-memory storage and puts the limiter back as the other tests expect it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from app.extensions import db, limiter
from app.models import AuditLog
from tests.security.conftest import PASSWORD, World, dispose
from tests.web.conftest import sibling_app

PROXY = "10.0.0.1"  # the reverse proxy: every request reaches the app from it
# Small limits keep the test short (every failed attempt hashes a password); the keys and the
# counting rule are what is under test, not the production figures.
LIMITS = {"LOGIN_RATE_LIMIT_PER_ACCOUNT": "5 per minute", "LOGIN_RATE_LIMIT_PER_ADDRESS": "10 per minute"}


@pytest.fixture
def proxied(world: World) -> Iterator[Flask]:
    """The app behind one proxy hop, with the real limiter (CSRF off: the limiter is the subject)."""
    was_enabled = limiter.enabled
    site = sibling_app(world.base, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                       PROXY_FIX_HOPS=1, WTF_CSRF_ENABLED=False, **LIMITS)
    limiter.reset()
    try:
        yield site
    finally:
        limiter.reset()
        limiter.enabled = was_enabled
        dispose(site)


@pytest.fixture
def direct(world: World) -> Iterator[Flask]:
    """The app reached directly (no proxy trusted), with the real limiter."""
    was_enabled = limiter.enabled
    site = sibling_app(world.base, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                       PROXY_FIX_HOPS=0, WTF_CSRF_ENABLED=False, **LIMITS)
    limiter.reset()
    try:
        yield site
    finally:
        limiter.reset()
        limiter.enabled = was_enabled
        dispose(site)


def _attempt(app: Flask, email: str, password: str, client_address: str, *, through_proxy: bool = True) -> int:
    """One sign-in from ``client_address`` (through the proxy: in X-Forwarded-For) in a fresh browser."""
    client = app.test_client()
    headers = {"X-Forwarded-For": client_address} if through_proxy else {}
    remote = PROXY if through_proxy else client_address
    return client.post("/connexion", data={"email": email, "password": password}, headers=headers,
                       environ_base={"REMOTE_ADDR": remote}).status_code


def test_rotating_addresses_do_not_escape_the_per_account_limit(world: World, proxied: Flask) -> None:
    victim = world.accounts[("A", "aidant")]
    codes = [_attempt(proxied, victim, f"mauvais-{i}", f"203.0.113.{i + 1}") for i in range(12)]
    assert 429 in codes, codes
    first_refusal = codes.index(429)
    assert first_refusal == 5, codes
    assert set(codes[first_refusal:]) == {429}, codes  # once limited, every new address is too
    assert set(codes[:first_refusal]) == {200}


def test_an_attacker_on_one_address_does_not_lock_out_an_aidant_on_another(world: World, proxied: Flask) -> None:
    attacker = "198.51.100.7"
    # Password spraying: a new account each time (the per-account limit never trips), one address.
    codes = [_attempt(proxied, f"inconnu{i}@attaque.test", "mauvais-mot", attacker) for i in range(15)]
    assert 429 in codes, "the attacker's address was never limited"
    assert _attempt(proxied, "encore-un@attaque.test", "mauvais-mot", attacker) == 429
    # Meanwhile two aidants sign in from their counters, behind the same proxy.
    assert _attempt(proxied, world.accounts[("A", "aidant")], PASSWORD, "192.0.2.10") == 302
    assert _attempt(proxied, world.accounts[("B", "aidant")], PASSWORD, "192.0.2.11") == 302


def test_the_audit_trail_records_the_clients_address_not_the_proxys(world: World, proxied: Flask) -> None:
    email = world.accounts[("B", "coordinator")]
    assert _attempt(proxied, email, "mauvais-mot", "192.0.2.44") == 200
    assert _attempt(proxied, email, PASSWORD, "192.0.2.45") == 302
    with world.base.app_context():
        rows = db.session.execute(db.select(AuditLog.action, AuditLog.ip).where(
            AuditLog.actor == email, AuditLog.action.in_(["login", "login_failed"]))
            .order_by(AuditLog.id.desc()).limit(2)).all()
        db.session.remove()
    assert sorted(rows) == [("login", "192.0.2.45"), ("login_failed", "192.0.2.44")]


def test_without_a_trusted_proxy_a_forged_forwarded_for_is_ignored(world: World, direct: Flask) -> None:
    """Reached directly, an attacker who forges X-Forwarded-For is still one address."""
    client = direct.test_client()
    codes = []
    for i in range(15):
        codes.append(client.post("/connexion", data={"email": f"spray{i}@attaque.test", "password": "x"},
                                 headers={"X-Forwarded-For": f"203.0.113.{i % 250 + 1}"},
                                 environ_base={"REMOTE_ADDR": "198.51.100.99"}).status_code)
    assert 429 in codes, "forged X-Forwarded-For headers escaped the per-address limit"


def test_a_forwarded_loopback_address_does_not_open_the_metrics(world: World, proxied: Flask) -> None:
    """/metrics answers to loopback (or a bearer token): behind the proxy, a client who writes
    127.0.0.1 in X-Forwarded-For is still the address the proxy saw."""
    client = proxied.test_client()
    forged = client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1, 203.0.113.9"},
                        environ_base={"REMOTE_ADDR": PROXY})
    assert forged.status_code == 404
    outsider = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}, environ_base={"REMOTE_ADDR": PROXY})
    assert outsider.status_code == 404
    local = client.get("/metrics", environ_base={"REMOTE_ADDR": "127.0.0.1"})  # control: the host itself
    assert local.status_code == 200
