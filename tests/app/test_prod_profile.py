"""`make prod` on this machine: PostGIS, Redis, real gunicorn workers and a separate huey worker.

The SMS flow is played end to end through it (a proposal sent, the driver's OUI through the signed
webhook served by gunicorn, the rider's confirmation), and the queue worker is killed with SIGKILL
while the confirmation is in flight at the provider: the supervisor starts a new worker, which
adopts the message instead of sending it twice.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from app.prod import check_environment
from tests.app_fixtures import _drop_postgis_database, database_url
from tests.conftest import ROOT
from tests.sms.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, FakeTwilio

pytestmark = [pytest.mark.slow, pytest.mark.postgis]
REDIS = "redis://127.0.0.1:6379"


def test_prod_refuses_what_is_not_production():
    problems = check_environment({"DATABASE_URL": "sqlite:///x.db", "SECRET_KEY": ""})
    assert any("SQLite" in p for p in problems) and any("SECRET_KEY" in p for p in problems)
    assert any("TASK_QUEUE_URL" in p for p in problems) and any("RATELIMIT" in p for p in problems)
    assert check_environment({"DATABASE_URL": "postgresql+psycopg://u@h/db", "SECRET_KEY": "k" * 40,
                              "TASK_QUEUE_URL": f"{REDIS}/1", "RATELIMIT_STORAGE_URI": f"{REDIS}/2"}) == []
    out = subprocess.run([sys.executable, "-m", "app.prod"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "DATABASE_URL": "sqlite:///x.db", "SECRET_KEY": ""}, timeout=60)
    assert out.returncode == 2 and "refuses to start" in out.stderr and "SQLite" in out.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis_or_fail(db_index: int):  # type: ignore[no-untyped-def]
    import redis

    client = redis.Redis.from_url(f"{REDIS}/{db_index}")
    try:
        client.ping()
    except redis.RedisError as exc:
        if os.environ.get("LOT_REQUIRE_POSTGIS") == "1":
            pytest.fail(f"Redis not available at {REDIS}: {exc}")
        pytest.skip(f"Redis not available at {REDIS}: {exc}")
    client.flushdb()
    return client


def _wait(predicate, timeout_s: float, what: str, log: Path):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}; prod log:\n" + log.read_text()[-4000:])


def test_prod_profile_sms_flow_survives_a_killed_worker(tmp_path):
    queue, limits = _redis_or_fail(14), _redis_or_fail(15)
    url = database_url("postgis", tmp_path)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = tmp_path / "prod.log"
    with FakeTwilio() as twilio:
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "prod-test-" + "k" * 40,
               "TASK_QUEUE_URL": f"{REDIS}/14", "RATELIMIT_STORAGE_URI": f"{REDIS}/15",
               "SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
               "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_BASE_URL": twilio.base_url,
               "PUBLIC_BASE_URL": base, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2",
               "ENGINE_WARM_UP": "0", "SMS_QUIET_HOURS": "", "SMS_SENDING_LEASE_S": "3",
               "SMS_RETRY_BASE_S": "1", "TERRITORY_DIR": str(tmp_path / "territories"),
               "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"), "GUNICORN_ACCESS_LOG": "",
               "SPATIALITE_LIBRARY_PATH": os.environ.get("SPATIALITE_LIBRARY_PATH", "mod_spatialite")}
        with log_path.open("wb") as log:
            prod = subprocess.Popen([sys.executable, "-m", "app.prod"], cwd=ROOT, env=env, stdout=log,
                                    stderr=subprocess.STDOUT)
        try:
            _run_flow(base, env, twilio, prod, log_path)
        finally:
            prod.send_signal(signal.SIGTERM)
            try:
                prod.wait(60)
            except subprocess.TimeoutExpired:
                prod.kill()
                prod.wait(10)
            _drop_postgis_database(url.rsplit("/", 1)[1])
            queue.flushdb()
            limits.flushdb()
    assert prod.returncode == 0, log_path.read_text()[-3000:]


def _run_flow(base: str, env: dict[str, str], twilio: FakeTwilio, prod, log_path: Path) -> None:  # type: ignore[no-untyped-def]
    from twilio.request_validator import RequestValidator

    from app import create_app
    from app.extensions import db
    from app.models import SmsMessage
    from app.services import rides
    from tests.sms.conftest import RIDER_PHONE, make_need, make_people

    def ready() -> bool:
        try:
            return requests.get(f"{base}/readyz", timeout=30).status_code == 200
        except (requests.ConnectionError, requests.Timeout):
            assert prod.poll() is None, log_path.read_text()[-3000:]
            return False

    _wait(ready, 240, "the production profile to be ready", log_path)
    health = requests.get(f"{base}/healthz", timeout=5)
    assert health.headers.get("Server", "").startswith("gunicorn")

    # The coordinator's side runs in this process, on the same database and Redis queue.
    app = create_app({"SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"], "TASK_QUEUE_URL": env["TASK_QUEUE_URL"],
                      "TASK_QUEUE_IMMEDIATE": False, "SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
                      "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_FROM_NUMBER": FROM_NUMBER,
                      "TWILIO_API_BASE_URL": twilio.base_url, "TERRITORY_DIR": env["TERRITORY_DIR"],
                      "SMS_QUIET_HOURS": "", "SECRET_KEY": env["SECRET_KEY"], "ENGINE_WARM_UP": False,
                      "INSTANCE_PATH": str(log_path.parent / "instance")})
    with app.app_context():
        _s, (marc,), rider = make_people(1)
        proposal = rides.propose_ride(make_need(rider), marc)
        code, driver_phone = proposal.code, marc.phone_e164
        db.session.commit()
        _wait(lambda: twilio.created_for(driver_phone), 60, "the proposal SMS", log_path)

        # The driver answers OUI through the signed webhook, served by gunicorn. The rider's
        # confirmation reaches the provider, which keeps the request hanging after storing it.
        twilio.script[RIDER_PHONE] = ["hang_after_create"]
        params = {"MessageSid": "SM" + "f" * 32, "From": driver_phone, "Body": f"OUI {code}"}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{base}/sms/inbound", params)
        answer = requests.post(f"{base}/sms/inbound", data=params, headers={"X-Twilio-Signature": signature},
                               timeout=30)
        # The production profile queues inbound texts (SMS_INBOUND_QUEUED): the webhook answers
        # with an empty TwiML at once and the queue worker answers from the outbox.
        assert answer.status_code == 200 and "<Message>" not in answer.text, answer.text
        assert twilio.hanging.wait(60), log_path.read_text()[-3000:]

        def in_flight() -> SmsMessage | None:
            db.session.expire_all()
            return db.session.execute(db.select(SmsMessage).where(
                SmsMessage.phone_e164 == RIDER_PHONE, SmsMessage.status == "sending")).scalars().first()

        row = _wait(in_flight, 30, "the confirmation in flight", log_path)
        worker_pid = int(row.sending_owner.rsplit(":", 3)[1])
        os.kill(worker_pid, signal.SIGKILL)
        twilio.release.set()

        def final() -> SmsMessage | None:
            db.session.expire_all()
            done = db.session.get(SmsMessage, row.id)
            return done if done.status in ("sent", "delivered", "failed") else None

        done = _wait(final, 150, "a new worker to finish the confirmation", log_path)
        assert done.status in ("sent", "delivered")
        [created] = twilio.created_for(RIDER_PHONE)  # adopted, never sent twice
        assert done.provider_sid == created["sid"]
        # The proposal, then the answer to her OUI, each once (it may have waited for the new worker).
        _wait(lambda: len(twilio.created_for(driver_phone)) >= 2, 120, "the answer to the driver", log_path)
        time.sleep(2)
        proposal_sms, reply = twilio.created_for(driver_phone)
        assert code in proposal_sms["body"] and "Merci" in reply["body"], reply
        db.session.expire_all()
        [inbound] = db.session.execute(db.select(SmsMessage).where(SmsMessage.direction == "in")).scalars()
        assert inbound.status == "processed" and inbound.driver_id == marc.id
        assert re.search(r"queue worker \d+ exited", log_path.read_text())

    metrics = requests.get(f"{base}/metrics", timeout=10).text
    assert 'endpoint="sms.inbound"' in metrics and "lot_sms_messages" in metrics
