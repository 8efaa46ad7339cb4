"""Configuration: the only module that reads environment variables.

Every setting has a default that runs the platform on the embedded stack (SQLite + SpatiaLite,
a SQLite-backed task queue, the development SMS provider, the demo territory). Production sets
the same names to PostgreSQL + PostGIS, Redis and Twilio.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on", "oui"}


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else a random key kept in instance/ across restarts."""
    env = os.environ.get("SECRET_KEY")
    if env:
        return env
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def load_config(instance_path: str | Path) -> dict[str, Any]:
    """Build the configuration mapping from the environment.

    ``instance_path`` is Flask's instance folder: the default database, task-queue file,
    territory artefacts and secret key live there.
    """
    instance = Path(instance_path)
    env = os.environ
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'platform.db'}"
    territory_dir = Path(env.get("TERRITORY_DIR") or instance / "territories")
    public_base_url = env.get("PUBLIC_BASE_URL", "")
    served_over_https = public_base_url.lower().startswith("https://")
    return {
        "SECRET_KEY": _secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "SQLALCHEMY_RECORD_QUERIES": False,
        # Territory: artefacts built by `flask territory build`; the active one is
        # TERRITORY_DIR/current (a symlink swapped atomically by each build).
        "TERRITORY_DIR": str(territory_dir),
        "SHARED_DATA_DIR": env.get("LOT_SHARED_DATA")
        or str(PROJECT_ROOT.parent / "shared" / "data"),
        "TIMEZONE": env.get("TIMEZONE", "Europe/Paris"),
        # Public URL of the service (links in SMS, Twilio signature behind a reverse proxy).
        "PUBLIC_BASE_URL": public_base_url,
        "OPERATOR_DOMAIN": env.get("OPERATOR_DOMAIN", "mobilite-solidaire.lot.fr"),
        "SERVICE_PHONE": env.get("SERVICE_PHONE", "+33565000000"),
        # Who runs the service, shown in every page's header and footer. The State design system
        # (DSFR, Marianne) is reserved to State services: only OPERATOR_IS_STATE=1 turns it on;
        # any other operator (département, intercommunality, association) gets the neutral theme.
        "OPERATOR_NAME": env.get("OPERATOR_NAME", "Mobilité solidaire du Lot"),
        "OPERATOR_TAGLINE": env.get(
            "OPERATOR_TAGLINE", "Trouver un trajet pour les personnes sans voiture"),
        "OPERATOR_LOGO": env.get("OPERATOR_LOGO", ""),
        "OPERATOR_CONTACT": env.get("OPERATOR_CONTACT", ""),
        "OPERATOR_IS_STATE": _bool(env.get("OPERATOR_IS_STATE"), False),
        # Task queue (huey): SQLite file by default, Redis when TASK_QUEUE_URL is redis://.
        "TASK_QUEUE_URL": env.get("TASK_QUEUE_URL") or f"sqlite:///{instance / 'tasks.db'}",
        "TASK_QUEUE_IMMEDIATE": _bool(env.get("TASK_QUEUE_IMMEDIATE"), False),
        # SMS provider: "dev" (stores messages, SMS simulator page) or "twilio".
        "SMS_PROVIDER": env.get("SMS_PROVIDER", "dev"),
        "TWILIO_ACCOUNT_SID": env.get("TWILIO_ACCOUNT_SID", ""),
        "TWILIO_AUTH_TOKEN": env.get("TWILIO_AUTH_TOKEN", ""),
        "TWILIO_FROM_NUMBER": env.get("TWILIO_FROM_NUMBER", ""),
        "TWILIO_MESSAGING_SERVICE_SID": env.get("TWILIO_MESSAGING_SERVICE_SID", ""),
        # Base URL of the Twilio REST API: a local fake server in tests.
        "TWILIO_API_BASE_URL": env.get("TWILIO_API_BASE_URL", ""),
        "SMS_QUIET_HOURS": env.get("SMS_QUIET_HOURS", "20:30-08:00"),
        # Inbound texts: answered in the webhook's own TwiML (the embedded default), or stored
        # by the webhook and handled by the queue worker, the answers sent from the outbox (the
        # production profile): a burst of texts then waits in the queue instead of holding the
        # web workers.
        "SMS_INBOUND_QUEUED": _bool(env.get("SMS_INBOUND_QUEUED"), False),
        "SMS_MAX_PROPOSALS_PER_DRIVER_PER_DAY": int(
            env.get("SMS_MAX_PROPOSALS_PER_DRIVER_PER_DAY", "5")
        ),
        # Outbox delivery: a worker's claim on a row lasts SMS_SENDING_LEASE_S; failures are
        # retried with back-off from SMS_RETRY_BASE_S up to SMS_RETRY_MAX_S, SMS_MAX_ATTEMPTS times.
        "SMS_SENDING_LEASE_S": int(env.get("SMS_SENDING_LEASE_S", "60")),
        "SMS_HTTP_TIMEOUT_S": int(env.get("SMS_HTTP_TIMEOUT_S", "15")),
        "SMS_RETRY_BASE_S": int(env.get("SMS_RETRY_BASE_S", "10")),
        "SMS_RETRY_MAX_S": int(env.get("SMS_RETRY_MAX_S", "900")),
        "SMS_MAX_ATTEMPTS": int(env.get("SMS_MAX_ATTEMPTS", "8")),
        "SMS_SWEEP_GRACE_S": int(env.get("SMS_SWEEP_GRACE_S", "30")),
        # End of day (app.services.lifecycle): at this local time ("HH:MM", TIMEZONE) needs still
        # open on a past day become 'unserved'; keep it out of the DST gap (02:00-03:00).
        "END_OF_DAY_AT": env.get("END_OF_DAY_AT", "00:05"),
        # Web security.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # Cookies are Secure by default when the public URL is https (explicit 0/1 wins).
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), served_over_https),
        "REMEMBER_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), served_over_https),
        "REMEMBER_COOKIE_HTTPONLY": True,
        # Strict-Transport-Security max-age on responses served over HTTPS (0 = no header).
        "HSTS_SECONDS": int(env.get("HSTS_SECONDS", "31536000")),
        # A signed-in session unused for this many minutes is closed (shared counter computers).
        "SESSION_IDLE_TIMEOUT_MIN": int(env.get("SESSION_IDLE_TIMEOUT_MIN", "30")),
        # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted
        # (werkzeug ProxyFix); 0 = none, the client address is the socket's.
        "PROXY_FIX_HOPS": int(env.get("PROXY_FIX_HOPS", "0")),
        # A password reset link set by an administrator stops working after this many hours.
        "PASSWORD_RESET_EXPIRY_HOURS": int(env.get("PASSWORD_RESET_EXPIRY_HOURS", "48")),
        # Bookings: a proposal lapses after this long without an answer (and an hour before
        # the pickup at the latest); the background day plan searches this long.
        "PROPOSAL_EXPIRY_MINUTES": int(env.get("PROPOSAL_EXPIRY_MINUTES", "720")),
        "PLAN_TIME_LIMIT_S": float(env.get("PLAN_TIME_LIMIT_S", "5")),
        # Journey search: the most minutes a volunteer drives with the rider in one combined
        # journey (to and from the stations, added together).
        "JOURNEY_MAX_VOLUNTEER_DRIVE_MIN": float(env.get("JOURNEY_MAX_VOLUNTEER_DRIVE_MIN", "45")),
        # GTFS-Flex export: a GeoPackage of commune outlines (e.g. IGN BD CARTO for the Lot);
        # empty: zones are the Voronoi cells of the commune centres.
        "COMMUNE_POLYGONS_FILE": env.get("COMMUNE_POLYGONS_FILE", ""),
        "WTF_CSRF_ENABLED": _bool(env.get("WTF_CSRF_ENABLED"), True),
        # Largest request body accepted (a bigger one gets the French 413 page).
        "MAX_CONTENT_LENGTH": int(env.get("MAX_UPLOAD_MB", "5")) * 1024 * 1024,
        # Limiter storage: memory:// serves one process; production sets redis://host:6379/N.
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        # Failed sign-ins allowed per submitted e-mail (whatever the address) and per client
        # address (whatever the e-mail); successful sign-ins do not count.
        "LOGIN_RATE_LIMIT_PER_ACCOUNT": env.get("LOGIN_RATE_LIMIT_PER_ACCOUNT", "10 per minute; 50 per hour"),
        "LOGIN_RATE_LIMIT_PER_ADDRESS": env.get("LOGIN_RATE_LIMIT_PER_ADDRESS", "30 per minute; 200 per hour"),
        "API_RATE_LIMIT": env.get("API_RATE_LIMIT", "120 per minute"),
        # Data protection: records of people without activity are purged after this many days.
        "DATA_RETENTION_DAYS": int(env.get("DATA_RETENTION_DAYS", "730")),
        # The audit log (who viewed, changed, exported, erased a record) is kept this many days.
        "AUDIT_RETENTION_DAYS": int(env.get("AUDIT_RETENTION_DAYS", "365")),
        # The purge runs every day at this UTC time (huey periodic task, "HH:MM").
        "DATA_PURGE_AT_UTC": env.get("DATA_PURGE_AT_UTC", "02:30"),
        # Open data: volunteers' times are published rounded to this many minutes, and GTFS stops
        # in communes below this population are moved to the nearest commune above it.
        "OPENDATA_TIME_ROUNDING_MIN": int(env.get("OPENDATA_TIME_ROUNDING_MIN", "5")),
        "OPENDATA_MIN_COMMUNE_POPULATION": int(env.get("OPENDATA_MIN_COMMUNE_POPULATION", "1000")),
        # Matching: the rider's contribution per km (legal cap 0.32 €/km).
        "COST_SHARE_EUR_PER_KM": float(env.get("COST_SHARE_EUR_PER_KM", "0.32")),
        "ENGINE_WARM_UP": _bool(env.get("ENGINE_WARM_UP"), True),
        # The territory's road graph and contraction hierarchy are memory-mapped from their files
        # (one copy per machine, shared by every web and worker process); 0 reads them in.
        "TERRITORY_MMAP": _bool(env.get("TERRITORY_MMAP"), True),
        # Operations: log format (text | json), level, the bearer token that opens /metrics to a
        # Prometheus server elsewhere (loopback scrapers need none), readiness thresholds.
        "LOG_FORMAT": env.get("LOG_FORMAT", "text"),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        "METRICS_TOKEN": env.get("METRICS_TOKEN", ""),
        "READYZ_MAX_QUEUE": int(env.get("READYZ_MAX_QUEUE", "500")),
        "READYZ_MAX_SMS_AGE_S": int(env.get("READYZ_MAX_SMS_AGE_S", "900")),
    }
