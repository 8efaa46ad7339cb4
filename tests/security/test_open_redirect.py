"""Open redirect: after a successful sign-in (and a forced password change) ``next`` is followed
only when it is a path of this site; every trick that makes a browser leave the site is refused.

Browsers read a backslash as a slash, drop tabs and newlines anywhere in a URL and leading
spaces/control characters, so the check on the answer does the same before resolving the
``Location`` against the site: it must stay on http://localhost and never carry the payload.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urljoin, urlsplit

import pytest

from app.extensions import db
from app.services.accounts import create_user
from tests.security.conftest import PASSWORD, Browser, World

PAYLOADS = [
    "//evil.example",
    "///evil.example",
    "////evil.example/",
    "/\\evil.example",
    "\\\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "%5C%5Cevil.example",
    "https:evil.example",
    "https:/evil.example",
    "https://evil.example",
    "http://evil.example/besoins",
    "HTTP://EVIL.EXAMPLE",
    "ftp://evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(document.domain)",
    " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/%09/evil.example",
    "/%0a/evil.example",
    "evil.example",
    "//evil.example@localhost",
    "//localhost@evil.example",
]


def lands_on_site(location: str) -> bool:
    """Where a browser goes with this Location, read as a browser reads it."""
    cleaned = re.sub(r"[\t\n\r]", "", location).lstrip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f"
                                                          "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b"
                                                          "\x1c\x1d\x1e\x1f ").replace("\\", "/")
    target = urlsplit(urljoin("http://localhost/connexion", cleaned))
    return target.scheme == "http" and target.hostname == "localhost"


def _refused(location: str) -> bool:
    lowered = location.lower()
    return lands_on_site(location) and "evil" not in lowered and "javascript" not in lowered \
        and "data:" not in lowered


@pytest.mark.parametrize("payload", PAYLOADS)
def test_next_payloads_are_refused_after_sign_in(world: World, payload: str) -> None:
    email = world.accounts[("A", "aidant")]
    encoded = Browser(world.site).sign_in(email, next_url=payload, refresh=False)
    assert encoded.status_code == 302
    location = encoded.headers["Location"]
    if "%" in payload:
        # Read verbatim, "/%5Cevil.example" is a harmless path of this site (a browser does not
        # decode %5C before finding the host); what matters is that it stays here.
        assert lands_on_site(location), (payload, location)
        # The same characters put in the URL as they are: the app reads them URL-decoded
        # ("/\evil.example"), which must be refused.
        raw = quote(payload, safe="/\\:%@")
        decoded = Browser(world.site).sign_in(email, raw_query=f"next={raw}", refresh=False)
        assert decoded.status_code == 302
        assert _refused(decoded.headers["Location"]), (payload, decoded.headers["Location"])
    else:
        assert _refused(location), (payload, location)


def test_a_local_next_is_still_followed(world: World) -> None:
    """Control: the check refuses the payloads above, not every ``next``."""
    response = Browser(world.site).sign_in(world.accounts[("A", "aidant")], next_url="/besoins?statut=tous")
    assert response.status_code == 302
    assert response.headers["Location"] == "/besoins?statut=tous"


@pytest.mark.parametrize("payload", ["//evil.example", "/\\evil.example", "https:evil.example",
                                     "javascript:alert(1)", "/\t/evil.example"])
def test_next_is_refused_through_a_forced_password_change(world: World, payload: str) -> None:
    """A temporary password sends the user to the password change first; ``next`` carried along
    must still be refused at both steps."""
    with world.base.app_context():
        email = f"provisoire.{abs(hash(payload)) % 10**8}@attaque.test"
        create_user(email, "Compte provisoire", PASSWORD, "aidant", None, temporary=True)
        db.session.commit()
        db.session.remove()
    browser = Browser(world.site)
    first = browser.sign_in(email, next_url=payload)
    assert first.status_code == 302
    assert _refused(first.headers["Location"]), first.headers["Location"]
    assert urlsplit(first.headers["Location"]).path == "/mot-de-passe"
    new_password = "Changé-à-la-première-connexion-2026"
    second = browser.post("/mot-de-passe", {"current_password": PASSWORD, "new_password": new_password,
                                            "confirm": new_password}, query_string={"next": payload})
    assert second.status_code == 302, second.get_data(as_text=True)[:500]
    assert _refused(second.headers["Location"]), second.headers["Location"]
