"""Forged requests: POSTs without a valid CSRF token, forged and replayed Twilio webhooks.

Every POST route of the URL map (found from the map: a new one is covered without editing this
file) is sent, by a signed-in coordinator and by an administrator, a form that would pass
validation and targets their own records, but with no CSRF token, a forged one, or the token of
another person's session: it must be refused (4xx, never a redirect that acts or a 500) and the
database must not change. Only the Twilio webhooks are exempt from CSRF; they are protected by
their signature, which must cover the URL, the parameters and the token.
"""

from __future__ import annotations

import itertools

import pytest
from twilio.request_validator import RequestValidator

from app.extensions import db
from app.models import Beneficiary, SmsMessage
from tests.security.conftest import (
    Browser,
    World,
    any_assignments,
    attack_form,
    attacked_app,
    dispose,
    dump_difference,
    own_url,
    signed_in,
    table_dump,
)

# Exempt from CSRF on purpose: Twilio cannot send a token; the signature protects them.
SIGNED_WEBHOOKS = {"sms.inbound", "sms.status"}
# Tested on their own below (refusing a forged sign-out means staying signed in).
SEPARATELY = {"web.logout"}
AUTH_TOKEN = "attaque-twilio-token-0123456789abcdef"


def post_rules(app):  # type: ignore[no-untyped-def]
    return [rule for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule)
            if "POST" in rule.methods and rule.endpoint not in SIGNED_WEBHOOKS | SEPARATELY]


def _targets(world: World) -> list[str]:
    """Every POST URL, built with the attacked user's own records (structure A)."""
    return [own_url(world, rule, fixed) for rule in post_rules(world.site) for fixed in any_assignments(rule)]


def _forged_tokens(world: World) -> dict[str, str | None]:
    other = signed_in(world, "B", "coordinator")
    return {"no token": None, "forged token": "IjEyMzQ1NiI.ZzZzZw.forged-signature",
            "another session's token": other.token}


@pytest.mark.parametrize("side,role", [("A", "coordinator"), ("admin", "admin")])
def test_every_post_route_refuses_a_missing_or_forged_csrf_token(world: World, side: str, role: str) -> None:
    browser = signed_in(world, side, role)
    urls = _targets(world)
    assert len(urls) >= 20
    tokens = _forged_tokens(world)
    before = table_dump(world.base)
    accepted = []
    for url, (what, token) in itertools.product(urls, tokens.items()):
        form = attack_form(world, {}) | ({"csrf_token": token} if token else {})
        try:
            response = browser.post(url, form, with_token=False)
        except Exception as exc:  # noqa: BLE001 - TESTING propagates a 500: report it
            accepted.append(f"{url} ({what}) -> exception {type(exc).__name__}: {exc}")
            continue
        if not 400 <= response.status_code < 500:
            accepted.append(f"{url} ({what}) -> {response.status_code} {response.headers.get('Location', '')}")
    assert not accepted, "POSTs without a valid CSRF token not refused:\n" + "\n".join(accepted)
    assert dump_difference(before, table_dump(world.base)) == {}
    # Still signed in: the refusals did not end the session either.
    assert browser.get("/personnes").status_code == 200


def test_the_same_post_with_the_token_goes_through(world: World) -> None:
    """Control: the refusals above are the token's doing, not a form the view would refuse anyway."""
    browser = signed_in(world, "A", "aidant")
    form = attack_form(world, {}) | {"first_name": "Contrôle", "last_name": "Jeton"}
    response = browser.post("/personnes/nouvelle", form)
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    with world.base.app_context():
        assert db.session.execute(db.select(Beneficiary).filter_by(last_name="Jeton")).scalar_one()
        db.session.remove()


def test_sign_in_and_sign_out_need_the_token(world: World) -> None:
    anonymous = Browser(world.site)
    response = anonymous.client.post("/connexion", data={"email": world.accounts[("A", "aidant")],
                                                          "password": "attaque-mot-de-passe-46"})
    assert 400 <= response.status_code < 500
    assert anonymous.get("/personnes").status_code == 302  # not signed in (login CSRF refused)

    browser = signed_in(world, "A", "aidant")
    for token in (None, "forged", _forged_tokens(world)["another session's token"]):
        browser.client.post("/deconnexion", data={"csrf_token": token} if token else {})
        assert browser.get("/personnes").status_code == 200  # a forged sign-out changes nothing
    browser.post("/deconnexion")
    assert browser.get("/personnes").status_code == 302  # with the token it signs out (control)


# --------------------------------------------------------------------------------------------
# Twilio webhooks


def _signature(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


@pytest.fixture(scope="module")
def twilio_site(world: World):  # type: ignore[no-untyped-def]
    site = attacked_app(world.base, TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_BASE_URL="")
    yield site
    dispose(site)


def _outbound(world: World, reference: str) -> None:
    with world.base.app_context():
        phone = "+33611000020"
        db.session.add(SmsMessage(direction="out", phone_e164=phone, body="Proposition", status="sent",
                                  reference=reference))
        db.session.commit()
        db.session.remove()


def test_forged_webhooks_are_refused_and_change_nothing(world: World, twilio_site) -> None:  # type: ignore[no-untyped-def]
    _outbound(world, "ref-forge-a")
    _outbound(world, "ref-forge-b")
    client = twilio_site.test_client()
    driver_phone = "+33611000020"  # A's private volunteer
    stop = {"MessageSid": "SMforged0001", "From": driver_phone, "Body": "STOP"}
    delivered = {"MessageSid": "SMstatus0001", "MessageStatus": "failed", "ErrorCode": "30003"}
    base = "http://localhost"
    attempts = {
        "no signature": ("/sms/inbound", stop, None),
        "wrong auth token": ("/sms/inbound", stop, _signature(f"{base}/sms/inbound", stop, "not-the-token")),
        "signature of other parameters": ("/sms/inbound", stop,
                                          _signature(f"{base}/sms/inbound", {**stop, "Body": "AIDE"})),
        "signature for another host": ("/sms/inbound", stop, _signature("http://evil.example/sms/inbound", stop)),
        "inbound signature replayed on status": ("/sms/status?ref=ref-forge-a", stop,
                                                 _signature(f"{base}/sms/inbound", stop)),
        "status signature replayed on another ref": (
            "/sms/status?ref=ref-forge-b", delivered,
            _signature(f"{base}/sms/status?ref=ref-forge-a", delivered)),
        "status signature without the ref": ("/sms/status?ref=ref-forge-b", delivered,
                                             _signature(f"{base}/sms/status", delivered)),
        "garbage signature": ("/sms/inbound", stop, "AAAA"),
    }
    before = table_dump(world.base)
    answers = {}
    for what, (url, params, signature) in attempts.items():
        headers = {"X-Twilio-Signature": signature} if signature else {}
        answers[what] = client.post(url, data=params, headers=headers).status_code
    assert answers == dict.fromkeys(attempts, 403)
    assert dump_difference(before, table_dump(world.base)) == {}

    # Control: the genuine status callback for ref-forge-a is accepted and applied.
    genuine = client.post("/sms/status?ref=ref-forge-a", data=delivered,
                          headers={"X-Twilio-Signature": _signature(f"{base}/sms/status?ref=ref-forge-a", delivered)})
    assert genuine.status_code == 204
    with world.base.app_context():
        rows = {r.reference: r.status for r in db.session.execute(
            db.select(SmsMessage).where(SmsMessage.reference.in_(["ref-forge-a", "ref-forge-b"]))).scalars()}
        db.session.remove()
    assert rows == {"ref-forge-a": "failed", "ref-forge-b": "sent"}


def test_a_replayed_webhook_changes_nothing_more(world: World, twilio_site) -> None:  # type: ignore[no-untyped-def]
    """Twilio signatures carry no time: a captured request can be sent again verbatim. The
    MessageSid makes the replay a no-op (same answer, nothing more stored or sent)."""
    client = twilio_site.test_client()
    params = {"MessageSid": "SMreplay0001", "From": "+33611000021", "Body": "STOP"}
    headers = {"X-Twilio-Signature": _signature("http://localhost/sms/inbound", params)}
    before = table_dump(world.base)
    first = client.post("/sms/inbound", data=params, headers=headers)
    assert first.status_code == 200
    after_first = table_dump(world.base)
    assert dump_difference(before, after_first)  # control: the genuine request did something
    for _ in range(3):
        again = client.post("/sms/inbound", data=params, headers=headers)
        assert again.status_code == 200 and again.get_data() == first.get_data()
    assert dump_difference(after_first, table_dump(world.base)) == {}


def test_behind_a_proxy_only_the_public_url_signature_is_accepted(world: World) -> None:
    site = attacked_app(world.base, TWILIO_AUTH_TOKEN=AUTH_TOKEN, PUBLIC_BASE_URL="https://mobilite.example.fr")
    try:
        client = site.test_client()
        params = {"MessageSid": "SMproxy0001", "From": "+33611000010", "Body": "AIDE"}
        before = table_dump(world.base)
        internal = client.post("/sms/inbound", data=params,
                               headers={"X-Twilio-Signature": _signature("http://localhost/sms/inbound", params)})
        assert internal.status_code == 403
        assert dump_difference(before, table_dump(world.base)) == {}
        public = client.post("/sms/inbound", data=params, headers={
            "X-Twilio-Signature": _signature("https://mobilite.example.fr/sms/inbound", params)})
        assert public.status_code == 200
    finally:
        dispose(site)
