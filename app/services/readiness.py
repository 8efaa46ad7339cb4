"""Readiness checks behind /readyz: may this process receive traffic now?"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from flask import current_app
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError

from ..errors import TerritoryNotBuilt
from ..extensions import db


def _database() -> dict[str, Any]:
    try:
        db.session.execute(text("SELECT 1"))
        return {"ok": True, "backend": current_app.config["DATABASE_BACKEND"]}
    except SQLAlchemyError as exc:
        db.session.rollback()
        return {"ok": False, "error": type(exc).__name__}


def _redis_urls() -> list[str]:
    urls = [current_app.config.get("TASK_QUEUE_URL", ""), current_app.config.get("RATELIMIT_STORAGE_URI", "")]
    return sorted({u for u in urls if u.startswith(("redis://", "rediss://"))})


def _redis() -> dict[str, Any]:
    import redis

    urls = _redis_urls()
    for url in urls:
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
            client.ping()
            client.close()
        except redis.RedisError as exc:
            return {"ok": False, "error": f"{type(exc).__name__} on {url.split('@')[-1]}"}
    return {"ok": True, "servers": len(urls)}


def _queue() -> dict[str, Any]:
    from ..tasks import get_huey

    limit = int(current_app.config.get("READYZ_MAX_QUEUE", 500))
    try:
        depth = int(get_huey().pending_count())
    except Exception as exc:  # noqa: BLE001 - any storage failure means "not ready", reported
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": depth <= limit, "depth": depth, "limit": limit}


def _sms() -> dict[str, Any]:
    from ..models import SmsMessage, utcnow

    limit = int(current_app.config.get("READYZ_MAX_SMS_AGE_S", 900))
    oldest = db.session.execute(select(func.min(SmsMessage.created_at)).where(
        SmsMessage.direction == "out", SmsMessage.status.in_(("queued", "sending")),
        (SmsMessage.not_before.is_(None)) | (SmsMessage.not_before <= utcnow()))).scalar()
    if oldest is None:
        return {"ok": True, "oldest_waiting_s": 0, "limit_s": limit}
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    age = max(0, int((utcnow() - oldest).total_seconds()))
    return {"ok": age <= limit, "oldest_waiting_s": age, "limit_s": limit}


def _territory() -> dict[str, Any]:
    from .runtime import loaded_territory

    try:
        territory = loaded_territory()
    except TerritoryNotBuilt as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "name": territory.name, "nodes": territory.graph.n_nodes}


def readiness() -> dict[str, dict[str, Any]]:
    """Every check with its verdict (``ok``) and figures."""
    checks = {"database": _database()}
    checks["redis"] = _redis()
    checks["queue"] = _queue()
    checks["sms"] = _sms() if checks["database"]["ok"] else {"ok": False, "error": "database"}
    checks["territory"] = _territory()
    return checks
