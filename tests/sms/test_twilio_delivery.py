"""Outbound sending through the real twilio client against a local fake of the Messages API.

A real huey queue (SQLite file) and real consumers: in threads for retries, in separate
processes killed with SIGKILL mid-send for the no-loss, no-duplicate guarantee.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app import create_app
from app.extensions import db
from app.models import SmsMessage
from app.services.notifications import send_sms
from app.services.sms_providers import ProviderPermanentError, TwilioProvider
from app.tasks import start_consumer_in_process
from tests.app_fixtures import database_url
from tests.sms.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, FakeTwilio

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fake_twilio():
    with FakeTwilio() as server:
        yield server


def _init_spatial_metadata(path: Path) -> None:
    """SpatiaLite metadata for WGS84 only, in one transaction: seconds instead of a minute of
    one-row transactions (the default initialisation on first connection)."""
    import pyproj  # noqa: F401  (before mod_spatialite, see app.database)
    import pysqlite3.dbapi2 as sqlite3

    conn = sqlite3.connect(str(path))
    conn.enable_load_extension(True)
    conn.load_extension(os.environ.get("SPATIALITE_LIBRARY_PATH", "mod_spatialite"))
    conn.execute("SELECT InitSpatialMetaData(1, 'WGS84')")
    conn.commit()
    conn.close()


@pytest.fixture(scope="module")
def twilio_app(tmp_path_factory, fake_twilio):  # type: ignore[no-untyped-def]
    # No territory needed to send SMS: the app and its schema only (much faster than make_app).
    tmp = tmp_path_factory.mktemp("sms-twilio")
    url = database_url("spatialite", tmp)
    _init_spatial_metadata(tmp / "test.db")
    app = create_app({
        "TESTING": True, "INSTANCE_PATH": str(tmp / "instance"), "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": url, "TERRITORY_DIR": str(tmp / "territories"),
        "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False, "ENGINE_WARM_UP": False,
        "SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_BASE_URL": fake_twilio.base_url,
        "TASK_QUEUE_IMMEDIATE": False, "TASK_QUEUE_URL": f"sqlite:///{tmp / 'queue.db'}",
        "SMS_RETRY_BASE_S": 0.2, "SMS_RETRY_MAX_S": 1.0, "SMS_HTTP_TIMEOUT_S": 20, "SMS_QUIET_HOURS": "",
    })
    with app.app_context():
        db.create_all()
    app.config["_TMP"] = str(tmp)
    return app


@pytest.fixture
def tapp(twilio_app, fake_twilio):  # type: ignore[no-untyped-def]
    fake_twilio.script.clear()
    fake_twilio.created.clear()
    fake_twilio.posts.clear()
    fake_twilio.hanging.clear()
    fake_twilio.release.clear()
    with twilio_app.app_context():
        yield twilio_app
        db.session.remove()
        db.session.execute(db.delete(SmsMessage))
        db.session.commit()


def _wait_final(row_ids: list[int], timeout_s: float = 40) -> dict[int, SmsMessage]:
    deadline = time.monotonic() + timeout_s
    while True:
        db.session.expire_all()
        rows = {r.id: r for r in db.session.execute(db.select(SmsMessage).where(SmsMessage.id.in_(row_ids))).scalars()}
        if all(r.status in ("sent", "delivered", "failed", "cancelled") for r in rows.values()):
            return rows
        if time.monotonic() > deadline:
            pytest.fail("outbox rows not final in time: " + ", ".join(f"{r.id}:{r.status}" for r in rows.values()))
        time.sleep(0.2)


def test_the_twilio_client_sends_through_the_configured_base_url(tapp, fake_twilio):
    provider = TwilioProvider(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number=FROM_NUMBER,
                              api_base_url=fake_twilio.base_url, status_callback="https://example.org/sms/status")
    sent = provider.send("+33633333301", "Bonjour", reference="ref123")
    [created] = fake_twilio.created_for("+33633333301")
    assert sent.sid == created["sid"]
    assert created["from"] == FROM_NUMBER and created["body"] == "Bonjour"
    assert created["status_callback"] == "https://example.org/sms/status?ref=ref123"
    found = provider.find_sent("+33633333301", "Bonjour", since=datetime.now(UTC))
    assert found is not None and found.sid == created["sid"]
    assert provider.find_sent("+33633333301", "Autre chose", since=datetime.now(UTC)) is None
    # A message older than the window is not taken for this one.
    assert provider.find_sent("+33633333301", "Bonjour", since=datetime.now(UTC) + timedelta(hours=1)) is None
    with pytest.raises(ProviderPermanentError):
        TwilioProvider(account_sid=ACCOUNT_SID, auth_token="", from_number=FROM_NUMBER)


def test_temporary_errors_are_retried_and_permanent_ones_fail(tapp, fake_twilio):
    fake_twilio.script.update({
        "+33633333311": ["500", "ok"],
        "+33633333312": ["429", "429", "ok"],
        "+33633333314": ["400"],
    })
    rows = [send_sms(phone, f"Message pour {phone}", kind="test")
            for phone in ("+33633333311", "+33633333312", "+33633333313", "+33633333314")]
    assert all(r.status == "queued" for r in rows)  # written first, sent by the worker
    consumer = start_consumer_in_process(tapp, workers=2, periodic=False)
    assert consumer is not None
    try:
        final = _wait_final([r.id for r in rows])
    finally:
        consumer.stop(graceful=True)
    by_phone = {r.phone_e164: r for r in final.values()}
    assert (by_phone["+33633333311"].status, by_phone["+33633333311"].attempts) == ("sent", 2)
    assert (by_phone["+33633333312"].status, by_phone["+33633333312"].attempts) == ("sent", 3)
    assert (by_phone["+33633333313"].status, by_phone["+33633333313"].attempts) == ("sent", 1)
    assert by_phone["+33633333314"].status == "failed"
    assert "21211" in (by_phone["+33633333314"].last_error or "")
    for phone in ("+33633333311", "+33633333312", "+33633333313"):
        [created] = fake_twilio.created_for(phone)  # exactly one message despite the retries
        assert by_phone[phone].provider_sid == created["sid"]
    assert fake_twilio.created_for("+33633333314") == []


def _worker_env(app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    tmp = Path(app.config["_TMP"])
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "TASK_QUEUE_URL": app.config["TASK_QUEUE_URL"],
        "TASK_QUEUE_IMMEDIATE": "0", "SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_API_BASE_URL": app.config["TWILIO_API_BASE_URL"], "SECRET_KEY": "worker-test",
        "TERRITORY_DIR": str(tmp / "territories"), "SMS_QUIET_HOURS": "", "PYTHONPATH": str(ROOT),
        "SPATIALITE_LIBRARY_PATH": os.environ.get("SPATIALITE_LIBRARY_PATH", "mod_spatialite"),
    })
    return env


def _start_worker(app, log_path: Path) -> subprocess.Popen[bytes]:  # type: ignore[no-untyped-def]
    log = log_path.open("ab")
    return subprocess.Popen([sys.executable, "-m", "app.sms.worker", "--workers", "1", "--no-periodic"],
                            cwd=ROOT, env=_worker_env(app), stdout=log, stderr=subprocess.STDOUT)


@pytest.mark.parametrize("hang", ["hang_after_create", "hang_before_create"])
def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(tapp, fake_twilio, hang, tmp_path):
    """SIGKILL while the HTTP request is in flight; a new consumer finishes the job.

    hang_after_create: Twilio stored the message but the worker died before learning its sid —
    the new worker must adopt it, not send it again. hang_before_create: Twilio never got it —
    the new worker must send it.
    """
    killed_phone, queued_phone = "+33644444401", "+33644444402"
    fake_twilio.script[killed_phone] = [hang]
    first = send_sms(killed_phone, "Rappel : demain 9h", kind="test")
    second = send_sms(queued_phone, "Trajet confirmé", kind="test")
    worker = _start_worker(tapp, tmp_path / "worker1.log")
    try:
        assert fake_twilio.hanging.wait(60), (tmp_path / "worker1.log").read_text()
        db.session.expire_all()
        row = db.session.get(SmsMessage, first.id)
        assert row.status == "sending" and row.sending_owner and f":{worker.pid}:" in row.sending_owner
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(10)
    fake_twilio.release.set()
    created_before = len(fake_twilio.created_for(killed_phone))
    assert created_before == (1 if hang == "hang_after_create" else 0)
    db.session.expire_all()
    assert db.session.get(SmsMessage, first.id).status == "sending"  # stuck: its owner is dead
    assert db.session.get(SmsMessage, second.id).status == "queued"  # still waiting in the queue

    worker = _start_worker(tapp, tmp_path / "worker2.log")
    try:
        final = _wait_final([first.id, second.id], timeout_s=60)
    finally:
        worker.send_signal(signal.SIGINT)
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
    [created] = fake_twilio.created_for(killed_phone)  # one message, never two
    assert final[first.id].status == "sent"
    assert final[first.id].provider_sid == created["sid"]
    [created_second] = fake_twilio.created_for(queued_phone)
    assert final[second.id].provider_sid == created_second["sid"]


def test_the_redis_queue_sends_too(tapp, fake_twilio, monkeypatch):
    """Production runs the queue on Redis: same tasks, same outcome."""
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis not available on 127.0.0.1:6379")
    from huey import RedisHuey

    monkeypatch.setitem(tapp.config, "TASK_QUEUE_URL", url)
    monkeypatch.setitem(tapp.extensions, "huey", None)
    tapp.extensions.pop("huey")
    try:
        fake_twilio.script["+33633333321"] = ["503", "ok"]
        row = send_sms("+33633333321", "Par Redis", kind="test")
        from app.tasks import get_huey

        assert isinstance(get_huey(tapp), RedisHuey)
        consumer = start_consumer_in_process(tapp, workers=1, periodic=False)
        try:
            final = _wait_final([row.id])
        finally:
            consumer.stop(graceful=True)
        assert (final[row.id].status, final[row.id].attempts) == ("sent", 2)
        assert len(fake_twilio.created_for("+33633333321")) == 1
    finally:
        get_huey(tapp).storage.flush_all()


def test_network_failures_are_told_apart(tapp, fake_twilio):
    import socket as socket_module

    from app.services.sms_providers import ProviderAmbiguousError, ProviderTemporaryError

    # Nothing listens: the request never left, retrying is safe.
    with socket_module.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    down = TwilioProvider(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number=FROM_NUMBER,
                          api_base_url=f"http://127.0.0.1:{closed_port}", timeout_s=2)
    with pytest.raises(ProviderTemporaryError):
        down.send("+33633333331", "x", reference="r1")
    # The request left and no answer came back in time: maybe sent, maybe not.
    fake_twilio.script["+33633333332"] = ["hang_after_create"]
    slow = TwilioProvider(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN, from_number=FROM_NUMBER,
                          api_base_url=fake_twilio.base_url, timeout_s=0.5)
    with pytest.raises(ProviderAmbiguousError):
        slow.send("+33633333332", "y", reference="r2")
    fake_twilio.release.set()
    assert len(fake_twilio.created_for("+33633333332")) == 1
    # Wrong credentials are a permanent error, not something to retry.
    wrong = TwilioProvider(account_sid=ACCOUNT_SID, auth_token="wrong", from_number=FROM_NUMBER,
                           api_base_url=fake_twilio.base_url)
    with pytest.raises(ProviderPermanentError):
        wrong.send("+33633333333", "z", reference="r3")
