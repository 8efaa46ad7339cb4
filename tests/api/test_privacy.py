"""Volunteers in the open data: consent first, commune-level places, rounded times, fresh ids."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest

from app.extensions import db
from app.models import Commune
from app.services.journeys import haversine_m
from app.services.publication import (
    CommunePoint,
    journey_id_matches,
    populous_commune_of,
    public_journey_id,
    round_seconds,
    round_time,
)
from tests.api import seed
from tests.api.seed import DAY, MONTBRUN, MONTBRUN_HOME, VALBOURG_HOSPITAL, local

STANDARD = "/api/covoiturage/v1"
#: Another home in Montbrun-les-Pins, on the other side of the village.
MONTBRUN_OTHER_HOME = (44.441, 1.529)
SALVETAT_HOME = (44.5030, 1.7090)


def _standard(client, **extra):  # type: ignore[no-untyped-def]
    q = {
        "departureLat": MONTBRUN[0] + 0.002,
        "departureLng": MONTBRUN[1],
        "arrivalLat": VALBOURG_HOSPITAL[0],
        "arrivalLng": VALBOURG_HOSPITAL[1],
        "departureDate": int(local(DAY, "08:10").timestamp()),
        "timeDelta": 1800,
    }
    q.update(extra)
    r = client.get(f"{STANDARD}/driver_journeys", query_string=q)
    assert r.status_code == 200
    return r.get_json()


def _regular(client):  # type: ignore[no-untyped-def]
    r = client.get(
        f"{STANDARD}/driver_regular_trips",
        query_string={
            "departureLat": MONTBRUN[0] + 0.002,
            "departureLng": MONTBRUN[1],
            "arrivalLat": VALBOURG_HOSPITAL[0],
            "arrivalLng": VALBOURG_HOSPITAL[1],
            "departureTimeOfDay": "07:50:00",
            "timeDelta": 1800,
        },
    )
    assert r.status_code == 200
    return r.get_json()


def _journeys(client, when: dt.datetime, modes: str = "solidarity"):  # type: ignore[no-untyped-def]
    r = client.get(
        "/api/v1/journeys",
        query_string={
            "from": f"{MONTBRUN[0] + 0.001},{MONTBRUN[1]}",
            "to": f"{VALBOURG_HOSPITAL[0]},{VALBOURG_HOSPITAL[1]}",
            "datetime": when.isoformat(),
            "modes": modes,
        },
    )
    assert r.status_code == 200
    return r.get_json()


def _gtfs(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/gtfs.zip")
    assert r.status_code == 200, r.get_data(as_text=True)
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        return {n: zf.read(n).decode() for n in zf.namelist()}


def test_nothing_of_a_volunteer_without_consent_is_published(client):
    d = seed.driver(consent=False)
    seed.one_off(d, local(DAY, "08:00"))
    seed.regular(d, "0,1,2,3,4", "07:45")
    db.session.commit()
    assert _standard(client) == [] and _regular(client) == []
    body = _journeys(client, local(DAY, "08:10"))
    # Neither her trip nor a ride on request that only she could drive.
    assert body["itineraries"] == []
    assert "no_volunteer_available" in {n["code"] for n in body["notices"]}
    assert client.get("/api/v1/gtfs.zip").status_code == 404
    # Once her consent is recorded, all of it appears.
    d.publish_consent_at = dt.datetime.now(dt.UTC)
    db.session.commit()
    assert len(_standard(client)) == 1 and len(_regular(client)) == 1
    kinds = sorted(it["type"] for it in _journeys(client, local(DAY, "08:10"))["itineraries"])
    assert kinds == ["carpool", "carpool", "solidarity"]
    assert "trajet-1" in _gtfs(client)["trips.txt"]


def test_times_are_rounded_and_from_the_commune_centre_not_the_home(client, app):
    """Two volunteers of Montbrun, at two ends of the village, publish the same times."""
    a = seed.driver()
    b = seed.driver("Paul", "Verdier", "+33699887766", home=MONTBRUN_OTHER_HOME)
    seed.one_off(a, local(DAY, "08:00"), origin=MONTBRUN_HOME)
    seed.one_off(b, local(DAY, "08:00"), origin=MONTBRUN_OTHER_HOME)
    db.session.commit()
    assert haversine_m(MONTBRUN_HOME, MONTBRUN_OTHER_HOME) > 600
    for departure in ("07:40", "08:10", "08:24"):
        items = _standard(client, departureDate=int(local(DAY, departure).timestamp()))
        assert len(items) == 2
        times = {(i["passengerPickupDate"], i["driverDepartureDate"]) for i in items}
        assert len(times) == 1, items  # the homes make no difference
        for pickup, leaving in times:
            assert pickup % 300 == 0 and leaving % 300 == 0
    body = _journeys(client, local(DAY, "08:07"))
    carpools = [it for it in body["itineraries"] if it["type"] == "carpool"]
    assert len(carpools) == 2
    assert len({(it["departure"], it["arrival"]) for it in carpools}) == 1
    for it in carpools:
        for moment in (it["departure"], it["arrival"]):
            assert dt.datetime.fromisoformat(moment).minute % 5 == 0
            assert dt.datetime.fromisoformat(moment).second == 0
    # The step is a setting.
    app.config["OPENDATA_TIME_ROUNDING_MIN"] = 15
    try:
        for i in _standard(client):
            assert i["passengerPickupDate"] % 900 == 0 and i["driverDepartureDate"] % 900 == 0
    finally:
        app.config["OPENDATA_TIME_ROUNDING_MIN"] = 5


def test_rounded_pickups_still_obey_time_delta(client):
    d = seed.driver()
    seed.one_off(d, local(DAY, "08:00"), latest=local(DAY, "08:00"))
    db.session.commit()
    # The exact pickup is 08:00 plus a short drive; rounded, it is 08:00 or 08:05.
    for delta in (0, 60, 120, 300, 900):
        target = int(local(DAY, "08:02").timestamp())
        for item in _standard(client, departureDate=target, timeDelta=delta):
            assert abs(item["passengerPickupDate"] - target) <= delta
    assert _standard(client, departureDate=int(local(DAY, "08:02").timestamp()), timeDelta=900)


def test_ids_link_nothing_across_queries(client, app):
    d = seed.driver()
    offer = seed.one_off(d, local(DAY, "08:00"))
    seed.regular(d, "0,1,2,3,4", "07:45")
    db.session.commit()
    first, second = _standard(client), _standard(client)
    assert len(first) == len(second) == 1
    assert first[0]["id"] != second[0]["id"]
    assert first[0]["driver"]["id"] != second[0]["driver"]["id"]
    assert first[0]["driver"]["alias"] == second[0]["driver"]["alias"] == "Bénévole"
    assert _regular(client)[0]["id"] != _regular(client)[0]["id"]
    # The service still recognises an id it issued, today and tomorrow, and only for that trip.
    secret, today = app.config["SECRET_KEY"], dt.datetime.now(dt.UTC).date()
    pickup = first[0]["passengerPickupDate"]
    for issued in (first[0]["id"], second[0]["id"]):
        assert journey_id_matches(issued, offer.id, pickup, secret=secret, today=today)
        assert journey_id_matches(
            issued, offer.id, pickup, secret=secret, today=today + dt.timedelta(days=1)
        )
        assert not journey_id_matches(
            issued, offer.id, pickup, secret=secret, today=today + dt.timedelta(days=2)
        )
        assert not journey_id_matches(issued, offer.id + 1, pickup, secret=secret, today=today)
        assert not journey_id_matches(issued, offer.id, pickup + 300, secret=secret, today=today)
        assert not journey_id_matches(issued, offer.id, pickup, secret="other", today=today)
    assert not journey_id_matches("offer-1-2", offer.id, pickup, secret=secret, today=today)


def _stops(files: dict[str, str]) -> set[str]:
    lines = files["stops.txt"].splitlines()
    col = lines[0].split(",").index("stop_name")
    return {line.split(",")[col] for line in lines[1:]}


def test_gtfs_moves_small_communes_to_the_nearest_populous_one(client, app):
    d = seed.driver(home=SALVETAT_HOME)
    seed.regular(d, "0,2", "07:47", origin=SALVETAT_HOME, destination=VALBOURG_HOSPITAL)
    db.session.commit()
    communes = {c.name: c for c in db.session.query(Commune).filter_by(territory="demo")}
    salvetat = communes["Salvetat"]
    assert (salvetat.population or 0) < app.config["OPENDATA_MIN_COMMUNE_POPULATION"]
    expected = min(
        (
            c
            for c in communes.values()
            if (c.population or 0) >= 1000 and c.merged_into_insee is None
        ),
        key=lambda c: haversine_m(salvetat.lat_lon, c.lat_lon),
    )
    files = _gtfs(client)
    assert _stops(files) == {expected.name, "Valbourg"} and "Salvetat" not in files["stops.txt"]
    assert "07:45:00" in files["stop_times.txt"] and "07:47" not in files["stop_times.txt"]
    # Without a threshold, the commune itself is the stop: the threshold is what moved it.
    app.config["OPENDATA_MIN_COMMUNE_POPULATION"] = 0
    try:
        assert _stops(_gtfs(client)) == {"Salvetat", "Valbourg"}
    finally:
        app.config["OPENDATA_MIN_COMMUNE_POPULATION"] = 1000


def test_gtfs_ids_are_not_database_ids(client):
    d = seed.driver()
    for h in (9, 8, 7):  # created latest first: the feed numbers them by route and time
        seed.regular(d, "0", f"0{h}:00")
    db.session.commit()
    files = _gtfs(client)
    ids = sorted(line.split(",")[2] for line in files["trips.txt"].splitlines()[1:]
                 if not line.startswith("solidaire,"))  # the on-demand service's Flex trips
    assert ids == ["trajet-1", "trajet-2", "trajet-3"]
    first_stops = {
        line.split(",")[0]: line.split(",")[2]
        for line in files["stop_times.txt"].splitlines()[1:]
        if line.split(",")[4] == "1" and line.startswith("trajet-")
    }
    assert first_stops == {"trajet-1": "07:00:00", "trajet-2": "08:00:00", "trajet-3": "09:00:00"}


# -- the rules, on plain values --------------------------------------------------------------


def _c(insee: str, lat: float, population: int | None, epci: str | None) -> CommunePoint:
    return CommunePoint(insee, insee, lat, 1.0, population, epci)


def test_populous_commune_prefers_the_same_intercommunality():
    hamlet = _c("46001", 44.0, 90, "CC A")
    near_other = _c("46002", 44.01, 5000, "CC B")
    far_same = _c("46003", 44.1, 1200, "CC A")
    too_small = _c("46004", 44.005, 999, "CC A")
    unknown = _c("46005", 44.002, None, "CC A")
    communes = [hamlet, near_other, far_same, too_small, unknown]
    assert populous_commune_of(communes, hamlet, 1000) == far_same
    assert populous_commune_of(communes, near_other, 1000) == near_other
    assert populous_commune_of(communes, hamlet, 0) == hamlet
    no_epci = _c("46006", 44.0, 50, None)
    assert populous_commune_of([*communes, no_epci], no_epci, 1000) == near_other
    assert populous_commune_of([hamlet, too_small], hamlet, 1000) is None


@pytest.mark.parametrize(
    "hhmmss,step,expected",
    [
        ("08:02:29", 300, "08:00:00"),
        ("08:02:30", 300, "08:05:00"),
        ("08:07:31", 300, "08:10:00"),
        ("08:07:31", 900, "08:15:00"),
        ("08:07:31", 0, "08:07:31"),
    ],
)
def test_round_time_and_seconds(hhmmss, step, expected):
    h, m, s = (int(x) for x in hhmmss.split(":"))
    when = dt.datetime(2026, 12, 1, h, m, s, tzinfo=seed.TZ)
    assert round_time(when, step).strftime("%H:%M:%S") == expected
    assert round_time(when, step).tzinfo == seed.TZ
    seconds = round_seconds(h * 3600 + m * 60 + s, step)
    assert f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}" == expected
    down = round_time(when, step, down=True)
    assert down <= when and (when - down).total_seconds() < max(step, 1)


def test_journey_ids_differ_for_the_same_trip():
    ids = {
        public_journey_id(7, 1_764_000_000, secret="s", day=dt.date(2026, 12, 1)) for _ in range(50)
    }
    assert len(ids) == 50
    fixed = public_journey_id(7, 1_764_000_000, secret="s", day=dt.date(2026, 12, 1), nonce="ab")
    assert fixed != public_journey_id(
        7, 1_764_000_000, secret="s", day=dt.date(2026, 12, 2), nonce="ab"
    )  # the key turns every day
    assert "7" not in fixed.split("-")


def test_demo_volunteers_consented_so_the_demo_feed_has_trips(client):
    from app.models import Driver
    from app.services.demo_data import seed_demo

    seed_demo()
    drivers = db.session.query(Driver).all()
    assert drivers and all(d.publish_consent_at is not None for d in drivers)
    assert "trajet-1" in _gtfs(client)["trips.txt"]


@pytest.mark.parametrize(
    "setting,value,function",
    [
        ("OPENDATA_TIME_ROUNDING_MIN", -5, "rounding_step_s"),
        ("OPENDATA_TIME_ROUNDING_MIN", 90, "rounding_step_s"),
        ("OPENDATA_MIN_COMMUNE_POPULATION", -1, "min_commune_population"),
    ],
)
def test_bad_settings_are_refused_with_their_name(sapp, setting, value, function):
    from app.services import publication

    old = sapp.config[setting]
    sapp.config[setting] = value
    try:
        with pytest.raises(ValueError, match=setting):
            getattr(publication, function)()
    finally:
        sapp.config[setting] = old
