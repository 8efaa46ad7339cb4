"""The carpooling-standard search routes: every result obeys the query (radius, time, count)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit

import pytest

import app.web.partners  # noqa: F401  (the deep-link page; registered before any app is made)
from app.extensions import db
from app.services.journeys import haversine_m
from data.demo import _offset
from tests.api import seed
from tests.api.seed import DAY, MONTBRUN, MONTBRUN_HOME, VALBOURG_HOSPITAL, local

BASE = "/api/covoiturage/v1"


def _search(**extra):  # type: ignore[no-untyped-def]
    q = {
        "departureLat": MONTBRUN[0] + 0.002,
        "departureLng": MONTBRUN[1],
        "arrivalLat": VALBOURG_HOSPITAL[0],
        "arrivalLng": VALBOURG_HOSPITAL[1],
    }
    q.update(extra)
    return q


def _conforms(item: dict, query: dict, operator: str) -> None:  # type: ignore[type-arg]
    pickup = (item["passengerPickupLat"], item["passengerPickupLng"])
    drop = (item["passengerDropLat"], item["passengerDropLng"])
    assert (
        haversine_m(pickup, (query["departureLat"], query["departureLng"]))
        <= 1000 * float(query.get("departureRadius", 1.0)) * 1.01
    )
    assert (
        haversine_m(drop, (query["arrivalLat"], query["arrivalLng"]))
        <= 1000 * float(query.get("arrivalRadius", 1.0)) * 1.01
    )
    assert item["operator"] == operator and item["driver"]["operator"] == operator
    assert item["duration"] > 0


def _without_ids(item: dict) -> dict:  # type: ignore[type-arg]
    """An answer's item without its ids (fresh in every answer, and in the deep link)."""
    return {
        k: ({**v, "id": None} if k == "driver" else v)
        for k, v in item.items()
        if k not in ("id", "webUrl")
    }


@pytest.fixture
def offers(app):  # type: ignore[no-untyped-def]
    jeanne = seed.driver()
    paul = seed.driver("Paul", "Verdier", "+33699887766")
    expired = seed.driver("Luc", "Roux", "+33611000000", cleared=False)
    made = {
        "at_8": seed.one_off(jeanne, local(DAY, "08:00")),
        "at_8_10": seed.one_off(paul, local(DAY, "08:10")),
        "at_11": seed.one_off(jeanne, local(DAY, "11:00")),
        "cancelled": seed.one_off(paul, local(DAY, "08:05"), status="cancelled"),
        "not_cleared": seed.one_off(expired, local(DAY, "08:05")),
        "far_away": seed.one_off(
            paul,
            local(DAY, "08:05"),
            origin=(44.27, 1.35),
            destination=(44.56, 1.18),
            max_detour_min=5,
        ),
        "regular_mon_wed": seed.regular(jeanne, "0,2", "07:45"),
        "regular_fri": seed.regular(paul, "4", "17:30"),
    }
    db.session.commit()
    return made


def test_driver_journeys_obey_radius_time_and_count(client, app, offers):
    departure = int(local(DAY, "08:10").timestamp())
    query = _search(departureDate=departure, timeDelta=900)
    r = client.get(f"{BASE}/driver_journeys", query_string=query)
    assert r.status_code == 200
    items = r.get_json()
    ids = {item["id"] for item in items}
    assert (
        len(ids) == len(items) == 2
    )  # the 08:00 and 08:10 trips; not 11:00, cancelled, uncleared, too far
    for item in items:  # ids say nothing of the database
        assert not any(str(o.id) in item["id"].split("-") for o in offers.values())
    leaving = sorted(item["driverDepartureDate"] for item in items)
    assert local(DAY, "08:00").timestamp() <= leaving[0]
    assert leaving[-1] <= local(DAY, "08:25").timestamp()
    operator = app.config["OPERATOR_DOMAIN"]
    for item in items:
        _conforms(item, query, operator)
        assert abs(item["passengerPickupDate"] - departure) <= 900
        assert item["type"] == "PLANNED"
        # The legal share of costs for the rider's own ride, on the road graph's length.
        assert item["price"] == {
            "type": "PAYING",
            "currency": "EUR",
            "amount": round(item["distance"] / 1000 * app.config["COST_SHARE_EUR_PER_KM"], 2),
        }
        assert item["distance"] > haversine_m(
            (query["departureLat"], query["departureLng"]),
            (query["arrivalLat"], query["arrivalLng"]),
        )
        assert item["driver"]["alias"] == "Bénévole"
        assert item["driverDepartureDate"] <= item["passengerPickupDate"]
    # Most relevant (closest pickup) first, and count honoured.
    gaps = [abs(i["passengerPickupDate"] - departure) for i in items]
    assert gaps == sorted(gaps)
    one = client.get(f"{BASE}/driver_journeys", query_string={**query, "count": 1}).get_json()
    assert [_without_ids(i) for i in one] == [_without_ids(items[0])]
    assert (
        client.get(f"{BASE}/driver_journeys", query_string={**query, "count": 0}).get_json() == []
    )
    text = r.get_data(as_text=True)
    for secret in ("Martinez", "Verdier", "+336", "Truffi", f"{MONTBRUN_HOME[0]:.4f}"):
        assert secret not in text


def test_driver_journeys_narrow_time_delta_excludes(client, offers):
    r = client.get(
        f"{BASE}/driver_journeys",
        query_string=_search(departureDate=int(local(DAY, "09:30").timestamp()), timeDelta=600),
    )
    assert r.status_code == 200 and r.get_json() == []


def test_driver_regular_trips_schedules(client, app, offers):
    monday = DAY - dt.timedelta(days=DAY.weekday())
    window = (
        int(local(monday, "00:00").timestamp()),
        int(local(monday + dt.timedelta(days=14), "00:00").timestamp()),
    )
    query = _search(
        departureTimeOfDay="07:50:00",
        departureWeekdays="MON,TUE",
        timeDelta=1200,
        minDepartureDate=window[0],
        maxDepartureDate=window[1],
    )
    r = client.get(f"{BASE}/driver_regular_trips", query_string=query)
    assert r.status_code == 200
    (trip,) = r.get_json()
    _conforms(trip, query, app.config["OPERATOR_DOMAIN"])
    assert trip["driver"]["alias"] == "Bénévole"
    (schedule,) = trip["schedules"]  # Jeanne's Monday and Wednesday trip, on Mondays
    assert schedule["passengerPickupDay"] == "MON"
    h, m, s = (int(x) for x in schedule["passengerPickupTimeOfDay"].split(":"))
    assert abs(h * 3600 + m * 60 + s - (7 * 3600 + 50 * 60)) <= 1200
    dates = [j["passengerPickupDate"] for j in schedule["journeySchedules"]]
    assert len(dates) == 2 and all(window[0] <= d <= window[1] for d in dates)
    for d in dates:
        assert dt.datetime.fromtimestamp(d, seed.TZ).weekday() == 0
    # Friday evening trip only shows for Friday around 17:30.
    friday = client.get(
        f"{BASE}/driver_regular_trips",
        query_string=_search(departureTimeOfDay="17:35:00", departureWeekdays="FRI"),
    ).get_json()
    assert [[s["passengerPickupDay"] for s in t["schedules"]] for t in friday] == [["FRI"]]
    assert (
        client.get(
            f"{BASE}/driver_regular_trips", query_string=_search(departureTimeOfDay="12:00:00")
        ).get_json()
        == []
    )


@pytest.mark.parametrize(
    "path,query,word",
    [
        ("driver_journeys", {"departureLat": 44.4}, "departureLng"),
        ("driver_journeys", _search(), "departureDate"),
        ("driver_journeys", _search(departureDate="soon"), "departureDate"),
        ("driver_journeys", _search(departureDate=1, departureRadius=-1), "departureRadius"),
        ("driver_regular_trips", _search(), "departureTimeOfDay"),
        ("driver_regular_trips", _search(departureTimeOfDay="7h30"), "departureTimeOfDay"),
        (
            "driver_regular_trips",
            _search(departureTimeOfDay="07:30:00", departureWeekdays="MON,FUNDAY"),
            "departureWeekdays",
        ),
    ],
)
def test_errors_use_the_standard_format(client, path, query, word):
    r = client.get(f"{BASE}/{path}", query_string=query)
    assert r.status_code == 400
    body = r.get_json()
    assert list(body) == ["error"] and word in body["error"]


def test_status(client):
    r = client.get(f"{BASE}/status")
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "*"


def test_radius_semantics_a_small_radius_excludes_what_a_larger_one_includes(client, app):
    """A trip that takes no detour: the rider 2 km from its start is taken only when the search
    radius lets the pickup be the trip's own start (the centre of its commune)."""
    jeanne = seed.driver()
    seed.one_off(jeanne, local(DAY, "08:00"), max_detour_min=0)
    db.session.commit()
    away = _offset(*MONTBRUN, 0, 2.0)  # 2 km north of the village centre, off her way
    base = {
        "departureLat": away[0],
        "departureLng": away[1],
        "arrivalLat": VALBOURG_HOSPITAL[0],
        "arrivalLng": VALBOURG_HOSPITAL[1],
        "departureDate": int(local(DAY, "08:05").timestamp()),
        "timeDelta": 1800,
    }
    narrow = client.get(f"{BASE}/driver_journeys", query_string={**base, "departureRadius": 1})
    assert narrow.status_code == 200 and narrow.get_json() == []
    default = client.get(f"{BASE}/driver_journeys", query_string=base)  # 1 km by default
    assert default.get_json() == []
    query = {**base, "departureRadius": 3, "arrivalRadius": 1}
    (item,) = client.get(f"{BASE}/driver_journeys", query_string=query).get_json()
    _conforms(item, query, app.config["OPERATOR_DOMAIN"])
    pickup = (item["passengerPickupLat"], item["passengerPickupLng"])
    assert 1000 < haversine_m(pickup, away) <= 3000  # a meeting point, not the rider's door
    assert abs(item["passengerPickupDate"] - base["departureDate"]) <= 1800
    # Radius 0: only the searched points themselves, which this trip cannot serve.
    zero = {**base, "departureRadius": 0, "arrivalRadius": 0}
    assert client.get(f"{BASE}/driver_journeys", query_string=zero).get_json() == []


def test_regular_trips_honour_the_radius_too(client, app):
    jeanne = seed.driver()
    seed.regular(jeanne, "0,1,2,3,4", "07:45").max_detour_min = 0
    db.session.commit()
    away = _offset(*MONTBRUN, 0, 2.0)
    base = {
        "departureLat": away[0],
        "departureLng": away[1],
        "arrivalLat": VALBOURG_HOSPITAL[0],
        "arrivalLng": VALBOURG_HOSPITAL[1],
        "departureTimeOfDay": "07:50:00",
        "timeDelta": 1800,
    }
    assert client.get(f"{BASE}/driver_regular_trips", query_string=base).get_json() == []
    query = {**base, "departureRadius": 3}
    (trip,) = client.get(f"{BASE}/driver_regular_trips", query_string=query).get_json()
    _conforms(trip, query, app.config["OPERATOR_DOMAIN"])


def test_web_url_is_a_deep_link_to_the_journey_page(client, app, offers):
    departure = int(local(DAY, "08:10").timestamp())
    items = client.get(
        f"{BASE}/driver_journeys", query_string=_search(departureDate=departure)
    ).get_json()
    assert items
    for item in items:
        link = urlsplit(item["webUrl"])
        assert link.path == f"/trajet/{item['id']}"
        page = client.get(f"{link.path}?{link.query}")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert "Comment réserver" in text and "Montbrun-les-Pins" in text
        assert "Martinez" not in text and "Verdier" not in text and "Truffi" not in text
    gone = client.get("/trajet/j-0123456789abcdeft1796109000-0123456789abcdef0123")
    assert gone.status_code == 404 and "plus disponible" in gone.get_data(as_text=True)
