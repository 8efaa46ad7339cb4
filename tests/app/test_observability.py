"""Request ids, JSON logs, Prometheus metrics and readiness, as an operator would use them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from app.extensions import db
from app.models import SmsMessage, utcnow
from tests.conftest import ROOT


def test_every_response_carries_a_request_id(client):
    first = client.get("/healthz").headers["X-Request-Id"]
    second = client.get("/healthz").headers["X-Request-Id"]
    assert first and second and first != second
    given = client.get("/healthz", headers={"X-Request-Id": "proxy-abc-12345"})
    assert given.headers["X-Request-Id"] == "proxy-abc-12345"
    forged = client.get("/healthz", headers={"X-Request-Id": "<script>alert(1)</script>"})
    assert forged.headers["X-Request-Id"] != "<script>alert(1)</script>" and "<" not in forged.headers["X-Request-Id"]


def test_metrics_for_loopback_scrapers(client, app):
    client.get("/connexion")
    db.session.add(SmsMessage(direction="out", phone_e164="+33600000999", body="x", status="failed", attempts=3))
    db.session.add(SmsMessage(direction="out", phone_e164="+33600000999", body="y", status="queued",
                              created_at=utcnow()))
    db.session.commit()
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype.startswith("text/plain")
    body = response.get_data(as_text=True)
    assert 'lot_http_request_duration_seconds_bucket{endpoint="web.login",le="0.005",method="GET",status="200"}' in body \
        or 'endpoint="web.login"' in body
    assert "lot_queue_depth" in body and "lot_sms_oldest_waiting_age_seconds" in body
    assert 'lot_sms_messages{direction="out",status="failed"} 1.0' in body
    assert "lot_sms_retried 1.0" in body


def test_metrics_are_closed_to_other_addresses_and_open_with_the_token(client, app):
    remote = {"REMOTE_ADDR": "198.51.100.7"}
    assert client.get("/metrics", environ_base=remote).status_code == 404
    # Relayed by a proxy on this machine (PROXY_FIX_HOPS=0): loopback, but not a local scraper.
    assert client.get("/metrics", headers={"X-Forwarded-For": "198.51.100.7"}).status_code == 404
    app.config["METRICS_TOKEN"] = "s3cret-token-for-prometheus"
    try:
        assert client.get("/metrics").status_code == 404  # loopback needs the token too now
        ok = client.get("/metrics", environ_base=remote,
                        headers={"Authorization": "Bearer s3cret-token-for-prometheus"})
        assert ok.status_code == 200
        assert client.get("/metrics", environ_base=remote,
                          headers={"Authorization": "Bearer wrong"}).status_code == 404
    finally:
        app.config["METRICS_TOKEN"] = ""


def test_readiness_reports_each_check(client, app):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    checks = response.get_json()["checks"]
    assert set(checks) == {"database", "redis", "queue", "sms", "territory"}
    assert all(c["ok"] for c in checks.values())


def test_readiness_fails_when_redis_is_down_or_sms_wait(client, app):
    previous = app.config["RATELIMIT_STORAGE_URI"]
    app.config["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:1/0"  # nothing listens there
    try:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["checks"]["redis"]["ok"] is False
    finally:
        app.config["RATELIMIT_STORAGE_URI"] = previous
    from datetime import timedelta

    db.session.add(SmsMessage(direction="out", phone_e164="+33600000998", body="old", status="queued",
                              created_at=utcnow() - timedelta(hours=2)))
    db.session.commit()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["sms"]["oldest_waiting_s"] >= 7000


def test_json_logs_carry_the_request_id(tmp_path):
    """A process with LOG_FORMAT=json writes one JSON object per line, with the request id."""
    config = {"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"),
              "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite'}",
              "TERRITORY_DIR": str(tmp_path / "territories")}
    script = (
        "import logging, sys, json\n"
        "from app import create_app\n"
        "app = create_app(json.loads(sys.argv[1]))\n"
        "@app.get('/say')\n"
        "def say():\n"
        "    logging.getLogger('lot.test').warning('hello from a request')\n"
        "    return 'ok'\n"
        "app.test_client().get('/say', headers={'X-Request-Id': 'req-0123456789'})\n"
    )
    env = {**os.environ, "LOG_FORMAT": "json", "SPATIALITE_LIBRARY_PATH": "mod_spatialite", "SECRET_KEY": "x" * 32}
    out = subprocess.run([sys.executable, "-c", script, json.dumps(config)], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    lines = [json.loads(line) for line in out.stderr.splitlines() if line.startswith("{")]
    [said] = [r for r in lines if r.get("message") == "hello from a request"]
    assert said["request_id"] == "req-0123456789" and said["level"] == "WARNING" and said["logger"] == "lot.test"


def test_queued_sms_carry_the_request_id_into_the_worker(app, tmp_path):
    """The task queued by a request carries its id; the worker runs it under that id."""
    from tests.web.conftest import sibling_app

    queued = sibling_app(app, TASK_QUEUE_IMMEDIATE=False, TASK_QUEUE_URL=f"sqlite:///{tmp_path / 'q.db'}")
    from app.observability import current_request_id, request_id
    from app.tasks import _in_app, enqueue_delivery, get_huey

    with queued.test_request_context("/", headers={"X-Request-Id": "req-from-webhook-42"}):
        queued.preprocess_request()
        enqueue_delivery(12345)
        [message] = get_huey(queued).pending()
    assert message.kwargs == {"request_id": "req-from-webhook-42"} and message.args == (12345,)

    seen: list[str | None] = []
    task = _in_app(queued, lambda row_id: seen.append(request_id()))
    task(12345, request_id="req-from-webhook-42")
    assert seen == ["req-from-webhook-42"] and current_request_id.get() is None


def test_engine_and_planner_latency_are_measured(client, app):
    from datetime import date, timedelta

    from app.services.matching import plan_day

    plan_day(date.today() + timedelta(days=1))
    body = client.get("/metrics").get_data(as_text=True)
    assert 'lot_engine_duration_seconds_count{operation="plan_day"}' in body
