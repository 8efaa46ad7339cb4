"""Twilio webhooks: signatures (valid, forged, replayed), public URL behind a proxy, TwiML,
delivery reports."""

from __future__ import annotations

from twilio.request_validator import RequestValidator

from app.extensions import db
from app.models import SmsMessage
from app.services.notifications import send_sms
from tests.sms.conftest import AUTH_TOKEN, make_people, outbox, signed_post


def _inbound_rows() -> list[SmsMessage]:
    db.session.expire_all()
    return list(db.session.execute(db.select(SmsMessage).where(SmsMessage.direction == "in")).scalars())


def test_a_signed_text_is_answered_in_twiml(app, client, twilio_token):
    make_people(1)
    response = signed_post(client, "/sms/inbound", {"MessageSid": "SM001", "From": "+33622222221", "Body": "AIDE"})
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    text = response.get_data(as_text=True)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?><Response><Message>')
    assert "TRAJET" in text
    [row] = _inbound_rows()
    assert (row.kind, row.status, row.body) == ("help", "processed", "AIDE")


def test_forged_or_unsigned_requests_are_refused(app, client, twilio_token):
    make_people(1)
    params = {"MessageSid": "SM002", "From": "+33622222221", "Body": "STOP"}
    assert signed_post(client, "/sms/inbound", params, token="not-the-token").status_code == 403
    assert client.post("/sms/inbound", data=params).status_code == 403
    # A valid signature for another body does not cover this one.
    other = RequestValidator(AUTH_TOKEN).compute_signature("http://localhost/sms/inbound", {**params, "Body": "AIDE"})
    forged = client.post("/sms/inbound", data=params, headers={"X-Twilio-Signature": other})
    assert forged.status_code == 403
    assert _inbound_rows() == []
    assert outbox() == []


def test_without_an_auth_token_nothing_is_accepted(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", "")
    response = signed_post(client, "/sms/inbound", {"MessageSid": "SM003", "From": "+33600000000", "Body": "AIDE"},
                           token="")
    assert response.status_code == 403


def test_a_replayed_message_is_processed_once_and_answered_the_same(app, client, twilio_token):
    make_people(1)
    params = {"MessageSid": "SM004", "From": "+33622222221", "Body": "STOP"}
    first = signed_post(client, "/sms/inbound", params)
    again = signed_post(client, "/sms/inbound", params)
    assert first.status_code == again.status_code == 200
    assert first.get_data() == again.get_data()
    assert len(_inbound_rows()) == 1
    assert len(outbox(kind="stop_ack")) == 1


def test_the_public_url_is_the_signed_one_behind_a_proxy(app, client, twilio_token, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", "https://mobilite.example.fr/")
    params = {"MessageSid": "SM005", "From": "+33699999999", "Body": "bonjour"}
    assert signed_post(client, "/sms/inbound", params).status_code == 403  # signed for localhost
    ok = signed_post(client, "/sms/inbound", params, base="https://mobilite.example.fr")
    assert ok.status_code == 200
    with_query = signed_post(client, "/sms/status", {"MessageSid": "SMX", "MessageStatus": "delivered"},
                             base="https://mobilite.example.fr", query="ref=unknown")
    assert with_query.status_code == 204


def test_webhooks_need_no_csrf_token(tmp_path):
    # Real CSRF protection on; the webhook is exempt, the simulator form is not.
    csrf_app = _light_app(tmp_path, WTF_CSRF_ENABLED=True, TWILIO_AUTH_TOKEN=AUTH_TOKEN)
    with csrf_app.app_context():
        client = csrf_app.test_client()
        response = signed_post(client, "/sms/inbound", {"MessageSid": "SM006", "From": "+33699999998", "Body": "STOP"})
        assert response.status_code == 200
        assert client.post("/sms/simulateur", data={"tel": "+33699999998", "message": "x"}).status_code == 400


def _light_app(tmp_path, **overrides):  # type: ignore[no-untyped-def]
    from app import create_app
    from tests.app_fixtures import database_url
    from tests.sms.test_twilio_delivery import _init_spatial_metadata

    url = database_url("spatialite", tmp_path)
    _init_spatial_metadata(tmp_path / "test.db")
    config = {"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "k",
              "SQLALCHEMY_DATABASE_URI": url, "TERRITORY_DIR": str(tmp_path / "territories"),
              "RATELIMIT_ENABLED": False, "TASK_QUEUE_IMMEDIATE": True, "TASK_QUEUE_URL": "memory://"}
    config.update(overrides)
    app = create_app(config)
    with app.app_context():
        db.create_all()
    return app


def test_delivery_reports_update_the_outbox(app, client, twilio_token):
    row = send_sms("+33655555555", "Bonjour", kind="test")
    assert row.status == "delivered"  # dev provider
    db.session.execute(db.update(SmsMessage).where(SmsMessage.id == row.id)
                       .values(status="sending", provider_sid=None))
    db.session.commit()
    # The worker died after Twilio took the message: the callback's ref ties it back to the row.
    response = signed_post(client, "/sms/status", {"MessageSid": "SMabc", "MessageStatus": "sent"},
                           query=f"ref={row.reference}")
    assert response.status_code == 204
    db.session.expire_all()
    row = db.session.get(SmsMessage, row.id)
    assert (row.status, row.provider_sid) == ("sent", "SMabc")
    signed_post(client, "/sms/status", {"MessageSid": "SMabc", "MessageStatus": "undelivered", "ErrorCode": "30003"})
    db.session.expire_all()
    row = db.session.get(SmsMessage, row.id)
    assert row.status == "undelivered" and "30003" in row.last_error
    # A late "sent" does not move it back.
    signed_post(client, "/sms/status", {"MessageSid": "SMabc", "MessageStatus": "sent"})
    db.session.expire_all()
    assert db.session.get(SmsMessage, row.id).status == "undelivered"
    assert signed_post(client, "/sms/status", {"MessageSid": "SMabc", "MessageStatus": "sent"},
                       token="forged").status_code == 403
