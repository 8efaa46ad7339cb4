"""One rule for who may see a volunteer driver, applied to candidates, proposals, the need page,
the day planning and the dashboard map (labels as text, in Chromium).

The demo: France Services de Valbourg covers every commune but Combelongue; the CCAS de
Combelongue covers Combelongue and Le Mas-Vieux. Jeanne, Pierre, Marie and Henri are France
Services volunteers; Louis is the CCAS's and lives in Combelongue.
"""

from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest

from app.extensions import db
from app.models import Commune, Driver, Place, Proposal, RideNeed, User
from app.services import access, rides
from app.services.rides import Endpoint, NeedData
from tests.web.conftest import (
    ADMIN,
    AIDANT,
    CCAS,
    COORDINATOR,
    ROOT,
    Demo,
    OwnContextClient,
    local_moment,
    login,
    paris_today,
)

MAS_VIEUX = "99050"  # covered by both structures


def _driver(first_name: str) -> Driver:
    return db.session.execute(db.select(Driver).filter_by(first_name=first_name)).scalar_one()


def _commune(name: str) -> Commune:
    return db.session.execute(db.select(Commune).filter_by(name=name)).scalar_one()


def _hospital() -> Endpoint:
    place = db.session.execute(db.select(Place).filter_by(kind="hospital")).scalars().first()
    lat, lon = place.lat_lon
    return Endpoint(place.name, lat, lon, place.id)


def _need(person, by: User, *, days_ahead: int = 1, at: time = time(15, 0), mode: str = "depart_after",
          pickup: Endpoint | None = None, dropoff: Endpoint | None = None) -> RideNeed:  # type: ignore[no-untyped-def]
    """A need of ``person`` from home (or ``pickup``) to the hospital (or ``dropoff``)."""
    if pickup is None:
        pickup = Endpoint("Domicile", *person.home_lat_lon)
    return rides.create_need(NeedData(
        beneficiary=person, pickup=pickup, dropoff=dropoff or _hospital(), time_mode=mode,
        requested_at=local_moment(days_ahead, at), purpose="medical"), by)


def _next_weekday_offset() -> int:
    """Days from today to the next Monday-to-Friday day (Pierre drives on weekdays)."""
    offset = 1
    while (paris_today() + timedelta(days=offset)).weekday() >= 5:
        offset += 1
    return offset


def _user(email: str) -> User:
    return db.session.execute(db.select(User).filter_by(email=email)).scalar_one()


# --- The rule -------------------------------------------------------------------------------

def test_a_driver_is_seen_by_her_structure_and_those_covering_her_commune(app, demo: Demo):
    # The demo's first five volunteers (the seed has more, in other communes).
    first = {"Jeanne", "Pierre", "Marie", "Henri", "Louis"}
    names = {d.id: d.first_name for d in db.session.execute(db.select(Driver)).scalars() if d.first_name in first}
    every = set(names)

    def seen(email: str) -> set[str]:
        return {names[i] for i in access.visible_driver_ids(_user(email), every)}

    assert seen(AIDANT[0]) == {"Jeanne", "Pierre", "Marie", "Henri"}
    assert seen(CCAS[0]) == {"Louis"}
    assert seen(ADMIN[0]) == set(names.values())
    # Pierre moves to Le Mas-Vieux: the CCAS covers it, so its aidants see him; his own
    # structure still does. Louis moves there too: France Services covers it and sees him.
    pierre, louis = _driver("Pierre"), _driver("Louis")
    pierre.home_commune_insee = louis.home_commune_insee = MAS_VIEUX
    db.session.commit()
    assert seen(CCAS[0]) == {"Louis", "Pierre"}
    assert seen(AIDANT[0]) == {"Jeanne", "Pierre", "Marie", "Henri", "Louis"}
    # The SQL condition, the id check and the single-record test agree.
    ccas_aidant = _user(CCAS[0])
    assert access.can_see_driver(ccas_aidant, pierre) and not access.can_see_driver(ccas_aidant, demo.jeanne)
    listed = set(db.session.execute(db.select(Driver.first_name).where(access.driver_filter(ccas_aidant))).scalars())
    assert listed & first == {"Louis", "Pierre"}


def test_an_account_without_structure_sees_no_driver_and_big_ids_name_nobody(app, demo: Demo):
    from werkzeug.exceptions import NotFound

    from app.services.accounts import create_user

    lost = create_user("sans-structure@example.fr", "Sans Structure", "un-mot-de-passe-long", "aidant", None)
    db.session.commit()
    assert access.visible_driver_ids(lost, [demo.jeanne.id]) == set()
    with pytest.raises(NotFound):
        access.driver_or_404(lost, demo.jeanne.id)
    admin = _user(ADMIN[0])
    assert access.driver_or_404(admin, demo.jeanne.id) == demo.jeanne
    for bad in (0, -1, 2**31, 10**30):
        with pytest.raises(NotFound):
            access.driver_or_404(admin, bad)
        with pytest.raises(NotFound):
            access.need_or_404(admin, bad)
    assert access.visible_driver_ids(admin, [10**30, demo.jeanne.id]) == {demo.jeanne.id}


def test_urls_with_ids_beyond_32_bits_answer_404(client, demo: Demo):
    login(client, AIDANT)
    huge = 10**20
    for url in (f"/benevoles/{huge}", f"/besoins/{huge}", f"/personnes/{huge}"):
        assert client.get(url).status_code == 404, url
    for url in (f"/benevoles/{demo.jeanne.id}/trajets/{huge}/annuler", f"/propositions/{huge}/reponse"):
        assert client.post(url, data={"answer": "accept"}).status_code == 404, url


def test_a_driver_is_named_in_full_only_where_she_is_visible(app, demo: Demo):
    louis = _driver("Louis")
    assert access.driver_label(louis, True) == "Louis Bonnet"
    assert access.driver_label(louis, False) == "Louis, bénévole d'une structure partenaire"


# --- Candidates and proposals ----------------------------------------------------------------

def test_candidates_are_only_the_drivers_the_aidant_may_see(client, demo: Demo):
    from app.services.matching import candidates_for_need

    need = _need(demo.sebastien, demo.aidant)  # Valbourg → hospital, tomorrow afternoon
    everyone = {c.driver.first_name for c in candidates_for_need(need).candidates}
    assert {"Jeanne", "Louis"} <= everyone  # Louis, of the CCAS next door, could take her
    mine = candidates_for_need(need, visible_drivers=access.driver_filter(demo.aidant)).candidates
    assert "Louis" not in {c.driver.first_name for c in mine} and "Jeanne" in {c.driver.first_name for c in mine}
    login(client, ADMIN)
    assert "Louis B." in client.get(f"/besoins/{need.id}").get_data(as_text=True)
    client.post("/deconnexion")
    login(client, AIDANT)
    page = client.get(f"/besoins/{need.id}").get_data(as_text=True)
    assert "Jeanne M." in page and "Louis" not in page and "Bonnet" not in page


def test_an_aidant_cannot_propose_a_driver_she_may_not_see(client, demo: Demo):
    need = _need(demo.sebastien, demo.aidant)
    louis = _driver("Louis")
    login(client, AIDANT)
    for driver_id in (louis.id, 999_999, 10**20, "9" * 5000):
        response = client.post(f"/besoins/{need.id}/proposer", data={"version": need.version, "driver_id": driver_id})
        assert response.status_code == 404, driver_id
        assert "Bonnet" not in response.get_data(as_text=True)
    # Not a number at all (a superscript two passes str.isdigit but not int): refused, no error.
    for driver_id in ("²", "1e3", ""):
        response = client.post(f"/besoins/{need.id}/proposer", data={"version": need.version, "driver_id": driver_id})
        assert response.status_code == 302, driver_id
    db.session.expire_all()
    assert db.session.execute(db.select(Proposal).filter_by(need_id=need.id)).first() is None
    assert db.session.get(RideNeed, need.id).status == "new"
    # The same form with a driver she may see does propose.
    response = client.post(f"/besoins/{need.id}/proposer", data={"version": need.version, "driver_id": demo.jeanne.id})
    assert response.status_code == 302
    proposal = db.session.execute(db.select(Proposal).filter_by(need_id=need.id)).scalar_one()
    assert proposal.driver_id == demo.jeanne.id


def test_the_need_page_hides_a_partner_drivers_surname_and_phone(client, demo: Demo):
    need = _need(demo.sebastien, demo.aidant)
    louis, admin = _driver("Louis"), _user(ADMIN[0])
    proposal = rides.propose_ride(need, louis, by_user=admin)  # the administrator asked the CCAS's Louis
    phone_shown = "06 00 00 01 04"
    login(client, ADMIN)
    page = client.get(f"/besoins/{need.id}").get_data(as_text=True)
    assert "Louis Bonnet" in page and phone_shown in page
    client.post("/deconnexion")
    login(client, AIDANT)
    page = client.get(f"/besoins/{need.id}").get_data(as_text=True)
    assert "Louis, bénévole d&#39;une structure partenaire" in page
    assert "Bonnet" not in page and phone_shown not in page and louis.phone_e164 not in page
    # She may still record his answer on the phone, and then reads who to call: his structure.
    assert rides.accept_proposal(proposal, via="phone", by_user=admin)
    page = client.get(f"/besoins/{need.id}").get_data(as_text=True)
    confirmation = re.search(r'id="confirmation">(.*?)</div>', page, re.S).group(1)
    assert "Louis, bénévole d&#39;une structure partenaire" in confirmation
    assert "CCAS de Combelongue" in confirmation
    assert "Bonnet" not in page and phone_shown not in page


def test_a_partner_sees_the_driver_once_she_lives_in_a_commune_it_covers(client, demo: Demo):
    need = _need(demo.sebastien, demo.aidant)
    louis = _driver("Louis")
    louis.home_commune_insee = MAS_VIEUX
    db.session.commit()
    rides.propose_ride(need, louis, by_user=_user(ADMIN[0]))
    login(client, AIDANT)
    page = client.get(f"/besoins/{need.id}").get_data(as_text=True)
    assert "Louis Bonnet" in page and "06 00 00 01 04" in page


# --- Day planning --------------------------------------------------------------------------

def _plan(client, day: date) -> tuple[str, dict]:
    """Plan the day through the page (the queue runs in the test process) and read it back."""
    from app.models import DayPlanRun

    assert client.post("/planification/lancer", data={"jour": day.isoformat()}).status_code == 302
    html = client.get(f"/planification?jour={day.isoformat()}").get_data(as_text=True)
    db.session.expire_all()
    run = db.session.execute(db.select(DayPlanRun).order_by(DayPlanRun.id.desc())).scalars().first()
    return html, run


def _route_of(run, need_id: int) -> tuple[int, dict] | None:
    for index, route in enumerate(run.result["routes"]):
        if any(stop["need"] == need_id for stop in route["stops"]):
            return index, route
    return None


def test_the_day_planning_uses_the_same_rule(app, demo: Demo):
    from app.services.accounts import create_user

    create_user("coordination-ccas@example.fr", "Coline du CCAS", "un-mot-de-passe-long", "coordinator", demo.ccas)
    db.session.commit()
    offset = _next_weekday_offset()
    day = paris_today() + timedelta(days=offset)
    # Sarah (CCAS) needs the hospital on a weekday morning: Louis only drives afternoons, and
    # he is the only volunteer the CCAS may ask (any other one it could see is set aside).
    ccas = _user("coordination-ccas@example.fr")
    for driver in db.session.execute(db.select(Driver).where(access.driver_filter(ccas))).scalars():
        driver.active = driver.first_name == "Louis"
    db.session.commit()
    need = _need(demo.sarah, demo.ccas_aidant, days_ahead=offset, at=time(10, 0), mode="arrive_by")
    coordinator = OwnContextClient(app)
    login(coordinator, ("coordination-ccas@example.fr", "un-mot-de-passe-long"))
    html, run = _plan(coordinator, day)
    assert _route_of(run, need.id) is None and "Pierre" not in html  # Pierre is not the CCAS's to ask
    # Pierre (France Services) moves to Le Mas-Vieux, which the CCAS covers: the CCAS may see him,
    # so its planning may give him Sarah's ride, and the proposal made from the plan goes through.
    pierre = _driver("Pierre")
    pierre.home_commune_insee = MAS_VIEUX
    db.session.commit()
    html = coordinator.get(f"/planification?jour={day.isoformat()}").get_data(as_text=True)
    assert "Ce plan n'est plus à jour" in html  # the driver changed since
    html, run = _plan(coordinator, day)
    found = _route_of(run, need.id)
    assert found is not None and found[1]["driver"] == pierre.id and "Pierre D." in html
    assert coordinator.post("/planification/proposer", data={
        "jour": day.isoformat(), "run_id": run.id, "route": str(found[0])}).status_code == 302
    db.session.expire_all()
    assert db.session.get(RideNeed, need.id).status == "proposed"


def test_the_france_services_planning_never_offers_the_ccas_driver(client, demo: Demo):
    # An afternoon need that Louis could take: the France Services plan gives it to its own.
    need = _need(demo.sebastien, demo.aidant)
    login(client, COORDINATOR)
    day = paris_today() + timedelta(days=1)
    html, run = _plan(client, day)
    assert _route_of(run, need.id) is not None
    assert "Louis" not in html and "Bonnet" not in html


# --- Maps in Chromium: free text is shown as text --------------------------------------------

XSS = "<img src=x onerror=\"document.body.dataset.pwned='oui'\">"


@pytest.fixture
def coordinator_page(live_server, demo: Demo):  # type: ignore[no-untyped-def]
    """Chromium signed in as the France Services coordinator (loopback only, as test_browser)."""
    from tests.web.test_browser import CHROMIUM_ARGS

    playwright_sync = pytest.importorskip("playwright.sync_api")
    if not (ROOT / "app" / "static" / "vendor" / "leaflet" / "leaflet.js").exists():
        pytest.skip("front-end packages not installed: run `make front`")
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(base_url=live_server, locale="fr-FR", viewport={"width": 1280, "height": 900})
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(live_server)
                      else route.abort())
        page = context.new_page()
        page.set_default_timeout(30_000)
        try:
            page.goto("/connexion")
            page.get_by_label("Adresse électronique").fill(COORDINATOR[0])
            page.get_by_label("Mot de passe").fill(COORDINATOR[1])
            page.get_by_role("button", name="Se connecter").click()
            page.wait_for_url("**/")
            yield page
        finally:
            context.close()
            browser.close()


@pytest.mark.browser
def test_dashboard_map_labels_are_text_not_html(coordinator_page, demo: Demo):
    page = coordinator_page
    # A need whose destination label, typed by someone, is an HTML payload; picked up in
    # Salvetat, where no other point of the map lies.
    salvetat = _commune("Salvetat")
    _need(demo.sebastien, demo.aidant, pickup=Endpoint("Salvetat", *salvetat.lat_lon),
          dropoff=Endpoint(XSS, *_commune("Valbourg").lat_lon))
    page.goto("/tableau-de-bord")
    page.locator("#dashboard-map path.leaflet-interactive").first.wait_for()
    markers = page.locator("#dashboard-map path.leaflet-interactive")
    texts = []
    for k in range(markers.count()):
        markers.nth(k).dispatch_event("mouseover")
        texts += page.locator("#dashboard-map .leaflet-tooltip").all_inner_texts()
        markers.nth(k).dispatch_event("mouseout")
    assert any(XSS in t for t in texts), texts  # shown as the very characters typed
    assert page.locator("#dashboard-map .leaflet-tooltip img, #dashboard-map img[src=x]").count() == 0
    assert page.evaluate("document.body.dataset.pwned") is None


@pytest.mark.browser
def test_point_picker_commune_labels_are_text_not_html(coordinator_page, demo: Demo):
    page = coordinator_page
    salvetat = _commune("Salvetat")
    salvetat.name = XSS  # communes come from territory files anyone may build from
    db.session.commit()
    try:
        page.goto("/personnes/nouvelle")
        page.locator("#point-map .lot-commune-label").first.wait_for()
        labels = page.locator("#point-map .lot-commune-label").all_inner_texts()
        assert XSS in labels, labels
        assert page.locator("#point-map .leaflet-tooltip img, #point-map img[src=x]").count() == 0
        assert page.evaluate("document.body.dataset.pwned") is None
    finally:
        salvetat.name = "Salvetat"
        db.session.commit()
