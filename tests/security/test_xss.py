"""Stored (and reflected) XSS: every free-text field holds script and HTML payloads, and every
page that shows them shows them as text.

Structure A's records are seeded with payloads in every free-text field: people's names,
addresses and notes, need notes, destinations and reasons, history notes, call notes, volunteers'
names, trip labels, the structure's name, an account's name, SMS bodies. Then every GET page of
the URL map (found from the map: a new page is covered without editing this file) is opened with
A's records by the structure's coordinator and by an administrator: the raw HTML must never
contain a payload's tag, and the pages that show those fields must contain the escaped form.
JSON exports must be JSON (not sniffable as HTML) and the CSV export must not carry formulas.
A browser test then opens the pages whose content is built by JavaScript (dashboard map, need
page) and checks that no dialog opens and no injected element appears.
"""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from app.extensions import db
from app.models import Driver, Proposal, RideNeed
from tests.app_fixtures import _empty_tables
from tests.security.conftest import (
    Browser,
    World,
    any_assignments,
    attack_form,
    attacked_app,
    csrf_token_in,
    dispose,
    own_url,
    seed_world,
    signed_in,
)

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
JS_URL = "javascript:alert(1)"
TEMPLATE = "{{7*7}}"
FORMULA = '=HYPERLINK("http://evil.example";"clic")'

# A payload's tag as it must never appear in a page, and the escaped text it must appear as.
RAW = ("<script>alert(1)", "<img src=x", "onerror=alert(1)>")
ESCAPED = ("&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;")
DANGEROUS_URL = re.compile(r"""(href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)

PAYLOAD_TEXT = {
    "structure": f"CCAS {SCRIPT}",
    "user_name": f"Coordination {IMG}",
    "first": SCRIPT,
    "last": IMG,
    "address": f"{IMG} {TEMPLATE}",
    "notes": f"{SCRIPT} {IMG} {JS_URL} {TEMPLATE}",
    "need_notes": f"{SCRIPT} {IMG} {TEMPLATE}",
    "reason": f"{SCRIPT} {IMG}",
    "event": f"{IMG} {SCRIPT}",
    "driver_first": SCRIPT,
    "driver_last": IMG,
    "place_label": f"Domicile ({SCRIPT} {IMG})",
    "sms": f"{SCRIPT} {IMG} {JS_URL}",
}
# Pages that show A's free text: the escaped payload must be there (or the check proves nothing).
MUST_SHOW = (
    "web.beneficiaries", "web.beneficiary", "web.beneficiary_edit", "web.needs", "web.need", "web.drivers",
    "web.driver", "web.driver_edit", "web.dashboard", "web.admin",
)


@pytest.fixture(scope="module")
def world(app_both) -> Iterator[World]:  # type: ignore[no-untyped-def]
    """A's records full of payloads (B's plain), and a volunteer whose name is a formula."""
    _empty_tables(app_both)
    built = seed_world(app_both, text={"A": PAYLOAD_TEXT})
    with app_both.app_context():
        structure_id = built.structure_ids["A"]
        home = db.session.get(Driver, built.label("A", "driver", "private").id)
        formula = Driver(structure_id=structure_id, first_name=FORMULA, last_name=f"+SOMME(1;2) {SCRIPT}",
                         phone_e164="+33611000099", home_commune_insee=home.home_commune_insee,
                         home_geom=home.home_geom, licence_valid_until=date.today() + timedelta(days=300),
                         insurance_valid_until=date.today() + timedelta(days=300))
        db.session.add(formula)
        db.session.flush()
        done = db.session.get(RideNeed, built.label("A", "need", "private-done").id)
        db.session.add(Proposal(need_id=done.id, driver_id=formula.id, code="F0001", status="accepted",
                                distance_m=15_000, added_distance_m=15_000, contribution_eur=4.8,
                                allowance_eur=4.8, pickup_at=done.requested_at, dropoff_at=done.requested_at))
        db.session.commit()
        db.session.remove()
    built.site = attacked_app(app_both)
    try:
        yield built
    finally:
        dispose(built.site)
        _empty_tables(app_both)


def _pages(world: World) -> list[tuple[str, str]]:
    """(endpoint, URL) of every GET page of the site, built with A's records, plus reflections."""
    out = []
    for rule in sorted(world.site.url_map.iter_rules(), key=lambda r: r.rule):
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.rule.startswith("/api/"):
            continue
        for fixed in any_assignments(rule):
            out.append((rule.endpoint, own_url(world, rule, fixed)))
        if rule.endpoint == "web.need":  # every status shows other things (reason, driver…)
            out += [(rule.endpoint, f"/besoins/{r.id}") for r in world.of("A", "need")]
    phone = "+33611000010"  # A's private person (see conftest phone numbers)
    out += [
        ("web.beneficiaries", f"/personnes?q={SCRIPT}"),
        ("web.planning", f"/planification?jour={(date.today() + timedelta(days=3)).isoformat()}"),
        ("web.planning", f"/planification?jour={IMG}"),
        ("sms.simulator", f"/sms/simulateur?tel={phone}"),
        ("sms.simulator", "/sms/simulateur?tel=%2B33611000020"),
    ]
    return out


def _check_html(url: str, html: str) -> list[str]:
    problems = [f"{url}: raw {raw!r}" for raw in RAW if raw in html]
    if DANGEROUS_URL.search(html):
        problems.append(f"{url}: javascript: URL in an attribute")
    return problems


def _check_download(url: str, response) -> list[str]:  # type: ignore[no-untyped-def]
    problems = []
    if response.mimetype == "application/json":
        json.loads(response.get_data(as_text=True))
        if response.headers.get("X-Content-Type-Options") != "nosniff":
            problems.append(f"{url}: JSON without nosniff")
    elif response.mimetype == "text/csv":
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
        for row in rows:
            for cell in row:
                if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                    problems.append(f"{url}: CSV cell read as a formula: {cell!r}")
    elif response.mimetype == "text/plain":  # e.g. the operators' /metrics
        if response.headers.get("X-Content-Type-Options") != "nosniff":
            problems.append(f"{url}: text without nosniff (a browser could sniff it as HTML)")
        problems += _check_html(url, response.get_data(as_text=True))
    else:
        problems.append(f"{url}: unexpected {response.mimetype}")
    return problems


@pytest.mark.parametrize("side,role", [("A", "coordinator"), ("admin", "admin")])
def test_every_page_shows_the_payloads_escaped(world: World, side: str, role: str) -> None:
    browser = signed_in(world, side, role)
    problems: list[str] = []
    shown: set[str] = set()
    opened = 0
    for endpoint, url in _pages(world):
        try:
            response = browser.get(url)
        except Exception as exc:  # noqa: BLE001 - TESTING propagates a 500: report it
            problems.append(f"{url}: exception {type(exc).__name__}: {exc}")
            continue
        if response.status_code >= 500:
            problems.append(f"{url}: {response.status_code}")
        if response.status_code != 200:
            continue
        opened += 1
        if response.mimetype == "text/html":
            html = response.get_data(as_text=True)
            problems += _check_html(url, html)
            if any(escaped in html for escaped in ESCAPED):
                shown.add(endpoint)
        else:
            problems += _check_download(url, response)
    assert opened >= 25
    assert not problems, "\n".join(problems)
    if role == "coordinator":
        assert shown >= set(MUST_SHOW), f"pages that did not show A's free text: {set(MUST_SHOW) - shown}"
    else:
        assert "sms.simulator" in shown  # the administrator's simulator shows the SMS bodies


def test_the_template_syntax_is_shown_not_evaluated(world: World) -> None:
    browser = signed_in(world, "A", "aidant")
    page = browser.get(f"/personnes/{world.label('A', 'beneficiary', 'private').id}").get_data(as_text=True)
    assert TEMPLATE in page


def test_json_exports_carry_the_payloads_as_data(world: World) -> None:
    browser = signed_in(world, "A", "coordinator")
    for url in (f"/personnes/{world.label('A', 'beneficiary', 'private').id}/export.json",
                f"/benevoles/{world.label('A', 'driver', 'private').id}/export.json"):
        response = browser.get(url)
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "attachment" in response.headers["Content-Disposition"]
        assert SCRIPT in json.dumps(response.get_json(), ensure_ascii=False)


def test_the_kilometres_csv_neutralises_formulas(world: World) -> None:
    browser = signed_in(world, "A", "coordinator")
    response = browser.get("/tableau-de-bord/kilometres.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert "HYPERLINK" in text  # the volunteer is in it
    assert _check_download("/tableau-de-bord/kilometres.csv", response) == []


def test_reflected_payloads_come_back_escaped(world: World) -> None:
    anonymous = Browser(world.site)
    page = anonymous.get("/connexion").get_data(as_text=True)
    response = anonymous.client.post("/connexion", data={"email": IMG, "password": "x",
                                                          "csrf_token": csrf_token_in(page)})
    html = response.get_data(as_text=True)
    assert _check_html("/connexion", html) == []
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # the typed e-mail comes back, escaped
    browser = signed_in(world, "A", "aidant")
    html = browser.get("/personnes", query_string={"q": SCRIPT}).get_data(as_text=True)
    assert _check_html("/personnes?q=", html) == []
    assert ESCAPED[0] in html


def test_payloads_typed_in_the_forms_come_back_escaped(world: World) -> None:
    """The same payloads through the real forms (what an attacker with an account would do)."""
    browser = signed_in(world, "A", "aidant")
    form = attack_form(world, {}) | {"first_name": SCRIPT, "last_name": "Formulaire", "home_address": IMG,
                                    "notes": f"{SCRIPT} {JS_URL}"}
    response = browser.post("/personnes/nouvelle", form)
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    page = browser.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True)
    assert _check_html("new person page", page) == []
    assert ESCAPED[0] in page and ESCAPED[1] in page
    admin = signed_in(world, "admin", "admin")
    sent = admin.post("/sms/simulateur", {"tel": "+33611000010", "message": f"{SCRIPT} {IMG}"})
    assert sent.status_code == 302
    thread = admin.get("/sms/simulateur?tel=%2B33611000010").get_data(as_text=True)
    assert _check_html("simulator", thread) == []
    assert ESCAPED[0] in thread


# --------------------------------------------------------------------------------------------
# In Chromium: pages whose content is built by JavaScript


@pytest.fixture
def live_site(world: World) -> Iterator[str]:
    from werkzeug.serving import make_server

    if world.site.config["DATABASE_BACKEND"] != "spatialite":
        pytest.skip("the browser test runs on SpatiaLite (what it checks is in the browser)")
    server = make_server("127.0.0.1", 0, world.site, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.mark.browser
def test_no_script_runs_in_the_browser(world: World, live_site: str) -> None:
    playwright_sync = pytest.importorskip("playwright.sync_api")
    from tests.web.test_browser import CHROMIUM_ARGS

    dialogs: list[str] = []
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_site, locale="fr-FR", viewport={"width": 1280, "height": 900})
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(live_site)
                      else route.abort())
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        try:
            page.goto("/connexion")
            page.get_by_label("Adresse électronique").fill(world.accounts[("A", "coordinator")])
            page.get_by_label("Mot de passe").fill("attaque-mot-de-passe-46")
            page.get_by_role("button", name="Se connecter").click()
            page.wait_for_load_state()

            page.goto("/tableau-de-bord")
            page.wait_for_selector("#dashboard-map .leaflet-interactive", state="attached")
            tooltips = []
            markers = page.locator("#dashboard-map path.leaflet-interactive")
            for k in range(markers.count()):
                markers.nth(k).dispatch_event("mouseover")
                tooltips += page.locator(".leaflet-tooltip").all_inner_texts()
            assert any(SCRIPT in text for text in tooltips), tooltips  # the label is shown, as text
            _assert_nothing_injected(page)

            for url in (f"/besoins/{world.label('A', 'need', 'private-searching').id}",
                        f"/besoins/{world.label('A', 'need', 'private-unserved').id}",
                        f"/personnes/{world.label('A', 'beneficiary', 'private').id}",
                        f"/benevoles/{world.label('A', 'driver', 'private').id}", "/planification"):
                page.goto(url)
                page.wait_for_load_state()
                assert SCRIPT in page.inner_text("main") or url == "/planification", url
                _assert_nothing_injected(page)
        finally:
            context.close()
            browser.close()
    assert dialogs == []


def _assert_nothing_injected(page) -> None:  # type: ignore[no-untyped-def]
    injected = page.evaluate("""() => ({
        images: document.querySelectorAll('img[src="x"]').length,
        scripts: [...document.querySelectorAll('script')].filter(
            s => s.type !== 'application/json' && s.textContent.includes('alert(1)')).length,
        handlers: [...document.querySelectorAll('*')].filter(e => e.hasAttribute('onerror')).length,
    })""")
    assert injected == {"images": 0, "scripts": 0, "handlers": 0}, (page.url, injected)
