"""IDOR sweep driven by the URL map: another structure's identifiers give 404 and change nothing.

Every rule of ``app.url_map`` that takes an ``<int:…>`` argument is found from the map itself (a
new route is covered without editing this file) and each argument is classified by its name
into the kind of record it designates; a route with an argument this file does not know fails
``test_every_route_argument_is_classified`` until someone says what it designates.

Signed in as structure A's aidant and then its coordinator, the attacker tries every identifier
of structure B that the documented access rule does not share with A (``World.visible_under_rule``)
in every such route, alone and mixed with A's own identifiers, with GET and with POST (a valid
CSRF token and a form that would pass validation). Every answer must be 404 (not 403: that would
confirm the record exists; not 200; not 500) and the database must be exactly as before.
"""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter, Rule

from app.extensions import db
from app.models import Proposal
from tests.security.conftest import (
    ARGUMENT_KINDS,
    ID_KINDS,
    NOT_AN_ID,
    Browser,
    Record,
    World,
    any_assignments,
    attack_form,
    dump_difference,
    id_rules,
    kind_of,
    own_label,
    signed_in,
    table_dump,
)


def test_every_route_argument_is_classified(world: World) -> None:
    unknown = []
    for rule in world.site.url_map.iter_rules():
        for name, converter in rule._converters.items():
            if isinstance(converter, AnyConverter):
                continue
            known = ARGUMENT_KINDS if isinstance(converter, IntegerConverter) else NOT_AN_ID
            if name not in known:
                unknown.append(f"{rule.rule} ({rule.endpoint}): <{name}>")
    assert not unknown, (
        "routes whose arguments the IDOR sweep cannot classify (add them to ARGUMENT_KINDS or "
        f"NOT_AN_ID in {__file__}): {unknown}")
    assert len(id_rules(world.site)) >= 15  # the sweep below really walks the map


def _attack_ids(world: World, viewer: str, kind: str) -> list[Record]:
    """The other side's records of ``kind`` that the documented rule does not share with ``viewer``."""
    other = "B" if viewer == "A" else "A"
    return [r for r in world.of(other, kind) if not world.visible_under_rule(viewer, r)]


def _combos(world: World, rule: Rule, ints: list[str]) -> list[dict[str, object]]:
    """Argument values to try: each B identifier alone among A's own, and among B's."""
    combos: list[dict[str, object]] = []
    for fixed in any_assignments(rule):
        kinds = {name: kind_of(name, fixed) for name in ints}
        own = {name: world.label("A", kinds[name], own_label(kinds[name])).id for name in ints}
        theirs = {name: _attack_ids(world, "A", kinds[name])[0].id for name in ints}
        for name in ints:
            for record in _attack_ids(world, "A", kinds[name]):
                for candidate in (fixed | own | {name: record.id}, fixed | theirs | {name: record.id}):
                    if candidate not in combos:
                        combos.append(candidate)
    return combos


def _try(browser: Browser, method: str, url: str, form: dict[str, str]) -> str | None:
    """None when the answer is 404; otherwise what happened."""
    try:
        response = browser.get(url) if method == "GET" else browser.post(url, form)
    except Exception as exc:  # noqa: BLE001 - TESTING propagates a 500: report it as one
        return f"{method} {url} -> exception {type(exc).__name__}: {exc}"
    if response.status_code != 404:
        return f"{method} {url} -> {response.status_code} {response.headers.get('Location', '')}".rstrip()
    return None


def test_the_seed_shares_some_records_and_keeps_others_private(world: World) -> None:
    """The rule excludes B's shared records (and only those) from the sweep; every kind is tried."""
    for kind in ID_KINDS:
        assert _attack_ids(world, "A", kind), f"no private record of kind {kind} to attack"
    shared = [r for r in world.records if r.structure == "B" and world.visible_under_rule("A", r)]
    assert {r.kind for r in shared} == {"beneficiary", "need", "driver", "offer", "series", "absence"}
    assert {r.label for r in shared if r.kind == "beneficiary"} == {"shared"}


def sweep(world: World, browser: Browser) -> tuple[int, list[str], dict[str, object]]:
    """Try every B identifier in every id route: (requests made, answers that were not 404,
    changes in the database)."""
    adapter = world.site.url_map.bind("localhost")
    before = table_dump(world.base)
    failures, tried = [], 0
    for rule, ints in id_rules(world.site):
        for values in _combos(world, rule, ints):
            form = attack_form(world, values)
            for method in sorted(rule.methods & {"GET", "POST"}):
                url = adapter.build(rule.endpoint, values, method=method)
                tried += 1
                problem = _try(browser, method, url, form)
                if problem:
                    failures.append(problem)
    return tried, failures, dump_difference(before, table_dump(world.base))


@pytest.mark.parametrize("role", ["aidant", "coordinator"])
def test_another_structures_ids_give_404_and_change_nothing(world: World, role: str) -> None:
    tried, failures, changed = sweep(world, signed_in(world, "A", role))
    assert tried > 100
    assert not failures, f"{len(failures)} of {tried} requests with B's identifiers were not 404:\n" + \
        "\n".join(failures)
    assert changed == {}


def test_own_ids_are_reachable_so_the_sweep_is_not_empty(world: World) -> None:
    """Control: the same URLs built with A's own identifiers are found (by an administrator, who
    may open every page), so a 404 in the sweep above means "refused", not "mistyped URL". Some
    pages exist only for a record in a given state (a confirmation sheet for a confirmed need):
    one of A's records of the right kind must open the page."""
    browser = signed_in(world, "admin", "admin")
    adapter = world.site.url_map.bind("localhost")
    not_found = []
    for rule, ints in id_rules(world.site):
        if "GET" not in rule.methods:
            continue
        statuses = []
        for fixed in any_assignments(rule):
            choices = [world.of("A", kind_of(name, fixed)) for name in ints]
            for records in itertools.islice(itertools.product(*choices), 40):
                values = fixed | {n: r.id for n, r in zip(ints, records, strict=True)}
                statuses.append(browser.get(adapter.build(rule.endpoint, values, method="GET")).status_code)
                if statuses[-1] != 404:
                    break
            if statuses[-1] == 404:
                break
        if statuses[-1] == 404 or statuses[-1] >= 500:
            not_found.append(f"{rule.rule}: {statuses}")
    assert not not_found


def test_a_form_field_cannot_smuggle_another_structures_volunteer(world: World) -> None:
    """POST /besoins/<A's need>/proposer with B's private volunteer in ``driver_id``: the need is
    A's, but the volunteer is not one A may see (issue 11: need_propose loaded any driver by id)."""
    browser = signed_in(world, "A", "aidant")
    need = world.label("A", "need", "private-searching")
    outsider = world.label("B", "driver", "private")
    assert not world.visible_under_rule("A", outsider)
    form = attack_form(world, {"need_id": need.id}) | {"driver_id": str(outsider.id)}
    before = table_dump(world.base)
    response = browser.post(f"/besoins/{need.id}/proposer", form)
    assert response.status_code in (302, 404)
    with world.base.app_context():
        smuggled = db.session.execute(db.select(Proposal).filter_by(need_id=need.id, driver_id=outsider.id)).all()
        db.session.remove()
    assert smuggled == []
    page = browser.get(f"/besoins/{need.id}").get_data(as_text=True)
    assert "ConducteurB private" not in page and "+336220000" not in page and "06 22 00 00" not in page
    changed = dump_difference(before, table_dump(world.base))
    assert set(changed) <= {"audit_log", "need_events", "ride_needs"}, changed  # the page view only


def test_account_form_cannot_reach_another_structure_or_escalate(world: World) -> None:
    """A coordinator creates accounts for her own structure only, and never an administrator."""
    browser = signed_in(world, "A", "coordinator")
    token = browser.token
    form = {"user-csrf_token": token, "user-name": "Compte pirate", "user-password": "Mot-de-passe-pirate-2026",
            "user-role": "aidant"}
    before = table_dump(world.base)
    other_structure = browser.post("/administration", form | {"user-email": "pirate1@attaque.test",
                                                              "user-structure": str(world.structure_ids["B"])})
    escalation = browser.post("/administration", form | {"user-email": "pirate2@attaque.test", "user-role": "admin",
                                                         "user-structure": str(world.structure_ids["A"])})
    assert (other_structure.status_code, escalation.status_code) == (400, 400)
    assert dump_difference(before, table_dump(world.base)) == {}
    # Control: the same form for her own structure creates the account.
    control = browser.post("/administration", form | {"user-email": "controle@attaque.test",
                                                      "user-structure": str(world.structure_ids["A"])})
    assert control.status_code == 302, control.get_data(as_text=True)[:500]


@pytest.mark.parametrize("role", ["aidant", "coordinator"])
def test_the_sms_simulator_is_not_a_door_to_other_peoples_messages(world: World, role: str) -> None:
    """The simulator reads and sends as a phone number (a query-string identifier): administrators
    only (issue 11); for everyone else it does not exist."""
    browser = signed_in(world, "A", role)
    before = table_dump(world.base)
    for record in (world.label("B", "driver", "private"), world.label("A", "driver", "private")):
        phone = "+33611000020" if record.structure == "A" else "+33622000020"
        assert browser.get("/sms/simulateur", query_string={"tel": phone}).status_code == 404
        assert browser.post("/sms/simulateur", {"tel": phone, "message": "STOP"}).status_code == 404
    assert browser.get("/sms/simulateur").status_code == 404
    assert dump_difference(before, table_dump(world.base)) == {}
    admin = signed_in(world, "admin", "admin")
    assert admin.get("/sms/simulateur", query_string={"tel": "+33622000020"}).status_code == 200  # control


NOT_PAGES = {"static", "web.healthz", "web.readyz", "metrics", "web.operator_logo", "web.login"}


@pytest.mark.parametrize("role", ["aidant", "coordinator"])
def test_lists_and_searches_show_nothing_of_b_beyond_the_rule(world: World, role: str) -> None:
    """Lists, searches, the planning and the dashboard (pages without an id, from the URL map)
    never show B's people, needs or volunteers that the rule keeps from A; they do show the
    ones B shares (so the check is not vacuous)."""
    browser = signed_in(world, "A", role)
    adapter = world.site.url_map.bind("localhost")
    urls = [adapter.build(rule.endpoint, {}, method="GET") for rule in world.site.url_map.iter_rules()
            if "GET" in rule.methods and not rule.arguments and rule.endpoint not in NOT_PAGES
            and not rule.rule.startswith("/api/")]
    days = [(date.today() + timedelta(days=n)).isoformat() for n in (-5, 3, 4, 9)]
    urls += ["/personnes?q=NomB", "/benevoles?q=ConducteurB", "/besoins?statut=tous",
             *[f"/besoins?statut={status}" for status in ("new", "searching", "proposed", "confirmed", "done",
                                                          "cancelled", "unserved")],
             *[f"/planification?jour={day}" for day in days]]
    hidden = ("NomB private", "NomB no_consent", "ConducteurB private", "+33622000010", "+33622000011",
              "+33622000020", "06 22 00 00 10", "06 22 00 00 11", "06 22 00 00 20")  # see conftest phones
    leaks, seen = [], ""
    for url in urls:
        response = browser.get(url)
        if response.status_code != 200:
            continue
        text = response.get_data(as_text=True)
        seen += text
        leaks += [f"{url}: {marker!r}" for marker in hidden if marker in text]
    assert not leaks, "\n".join(leaks)
    assert "NomB shared" in seen and "ConducteurB shared" in seen
