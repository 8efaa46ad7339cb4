"""Web security: response headers (CSP, HSTS…), proxy headers, idle sessions, forced password change."""

from __future__ import annotations

import time

from flask import Flask, Response, flash, redirect, request, session, url_for
from flask_login import current_user, logout_user
from werkzeug.middleware.proxy_fix import ProxyFix

_CSP = (
    "default-src 'self'; img-src 'self' data: https://*.tile.openstreetmap.org; "
    "style-src 'self' 'unsafe-inline'; script-src 'self'; font-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
)

# Endpoints a signed-in user with a temporary password may still reach.
_ALLOWED_BEFORE_PASSWORD_CHANGE = {"web.password_change", "web.logout", "web.healthz", "static"}
# The session's last activity (seconds since the epoch) is rewritten at most this often.
_LAST_SEEN_RESOLUTION_S = 30
LAST_SEEN_KEY = "last_seen"


def init_security(app: Flask) -> None:
    """Register the after-request hook that sets the security headers."""

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Permissions-Policy", "geolocation=(), camera=(), microphone=()"
        )
        if response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", _CSP)
        hsts_s = int(app.config.get("HSTS_SECONDS", 0))
        # Only over HTTPS (behind a proxy, X-Forwarded-Proto through ProxyFix): a browser ignores
        # the header over plain HTTP, and sending it there would only mislead a reader.
        if request.is_secure and hsts_s > 0:
            response.headers.setdefault("Strict-Transport-Security", f"max-age={hsts_s}")
        return response


def init_proxy_fix(app: Flask) -> None:
    """Trust PROXY_FIX_HOPS reverse proxies' X-Forwarded-For/-Proto/-Host/-Port (0 = none).

    Behind a proxy, without it, every aidant would share the proxy's address: one rate limit
    for all (a trivial lock-out) and the proxy's address in every audit row. With a wrong,
    too high value a client could forge its address: set exactly the number of proxies.
    """
    hops = int(app.config.get("PROXY_FIX_HOPS", 0))
    if hops < 0:
        raise ValueError("PROXY_FIX_HOPS must be 0 (no proxy) or the number of proxies")
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops
        )


def _is_browser_page() -> bool:
    """Requests of the signed-in pages (not static files, not the public API)."""
    return request.endpoint not in (None, "static") and request.blueprint not in ("api", "standard")


def _next_target() -> str:
    if request.method == "GET":
        return request.full_path.rstrip("?")
    return request.path


def init_sessions(app: Flask) -> None:
    """Idle timeout and forced password change, checked before anything else of a request.

    Registered before CSRF protection, so that a form sent after the idle timeout leads to the
    sign-in page (the session is gone) rather than to a CSRF error.
    """

    @app.before_request
    def _session_guard() -> Response | None:
        if not _is_browser_page() or "_user_id" not in session:
            return None
        timeout_s = int(app.config.get("SESSION_IDLE_TIMEOUT_MIN", 30)) * 60
        now = int(time.time())
        last_seen = session.get(LAST_SEEN_KEY)
        if timeout_s > 0 and (not isinstance(last_seen, int) or now - last_seen > timeout_s):
            logout_user()
            session.clear()
            minutes = timeout_s // 60
            flash(f"Votre session a été fermée après {minutes} minutes sans activité : "
                  "reconnectez-vous pour continuer.", "info")
            return redirect(url_for("web.login", next=_next_target()))
        if not isinstance(last_seen, int) or now - last_seen >= _LAST_SEEN_RESOLUTION_S:
            session[LAST_SEEN_KEY] = now
        if (current_user.is_authenticated and current_user.must_change_password
                and request.endpoint not in _ALLOWED_BEFORE_PASSWORD_CHANGE):
            flash("Votre mot de passe est provisoire : choisissez-en un nouveau pour continuer.", "info")
            return redirect(url_for("web.password_change", next=_next_target()))
        return None


def mark_session_active() -> None:
    """Start the idle clock of a new session (at sign-in)."""
    session[LAST_SEEN_KEY] = int(time.time())
