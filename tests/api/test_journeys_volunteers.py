"""Volunteer legs that hold, stations by importance, walking and wheelchair limits.

Journeys on the real K1 TER feed (Toulouse–Cahors–Brive) from Lalbenque, a village 4 km from
its station: a volunteer drives the rider to a station, checked at the drive's own time,
within her reach, against her bookings; the stations tried are the busiest; ``max_walk_m``
and ``wheelchair`` change what is found.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import gtfs_kit
import pandas as pd
import pytest

from app.services.journeys import (
    Availability,
    JourneyQuery,
    VolunteerView,
    haversine_m,
    search_journeys,
)
from app.services.journeys.stops import StationChoice, departures_by_stop, rank_stations
from matching.model import SLOT_HOURS
from tests.api.conftest import (
    CAHORS,
    DATE,
    LALBENQUE_VILLAGE,
    TOULOUSE,
    TZ,
    at,
    fake_drive_times,
    station_position,
)

FRIDAY = DATE.weekday()
#: A volunteer's home (a commune centre) between Lalbenque and Cahors.
HOME = (44.38, 1.50)


def _volunteer(cells: set[tuple[int, str]], *, km: float = 20, driver_id: int = 1, **kw):  # type: ignore[no-untyped-def]
    return VolunteerView(HOME, km * 1000.0, frozenset(cells), driver_id=driver_id, **kw)


def _availability(*volunteers: VolunteerView, busy=None) -> Availability:  # type: ignore[no-untyped-def]
    return Availability(list(volunteers), dict(SLOT_HOURS), TZ, busy or {})


def _combined(service, availability, when="11:30", **kw):  # type: ignore[no-untyped-def]
    toulouse = station_position(service.feeds[0], TOULOUSE)
    query = JourneyQuery(
        origin=LALBENQUE_VILLAGE,
        destination=toulouse,
        when=at(when),
        modes=frozenset({"combined"}),
        max_transfers=0,
    )
    return search_journeys(
        query,
        transit=service,
        drive_times=fake_drive_times,
        tz=TZ,
        availability=availability,
        **kw,
    )


def _car_legs(result):  # type: ignore[no-untyped-def]
    return [
        (dt.datetime.fromisoformat(leg["departure"]), dt.datetime.fromisoformat(leg["arrival"]))
        for it in result.itineraries
        for leg in it["legs"]
        if leg["mode"] == "car"
    ]


# -- volunteer legs ---------------------------------------------------------------------------


def test_volunteer_on_call_at_the_drive_but_not_at_the_query_is_offered(k1_service):
    """Asked at 11:30 (morning), the drive is after noon: an afternoon volunteer takes it."""
    afternoon = _availability(_volunteer({(FRIDAY, "afternoon")}))
    result = _combined(k1_service, afternoon)
    legs = _car_legs(result)
    assert legs, "an afternoon volunteer drives to the station after noon"
    for start, end in legs:
        assert 12 <= start.astimezone(TZ).hour < 18 and end.astimezone(TZ).hour < 18
    morning = _availability(_volunteer({(FRIDAY, "morning")}))
    for start, end in _car_legs(_combined(k1_service, morning)):
        assert start.astimezone(TZ).hour >= 8 and end.astimezone(TZ).hour < 12


def test_booked_volunteer_is_not_offered_at_her_busy_time(k1_service):
    free = _availability(_volunteer({(FRIDAY, "afternoon")}))
    offered = _car_legs(_combined(k1_service, free))
    assert offered
    start, end = offered[0]
    busy = {1: [(start - dt.timedelta(minutes=30), end + dt.timedelta(minutes=30))]}
    booked = _combined(k1_service, _availability(_volunteer({(FRIDAY, "afternoon")}), busy=busy))
    for s, e in _car_legs(booked):
        assert not (s < busy[1][0][1] and busy[1][0][0] < e), "a drive during her booking"
    assert (start, end) not in _car_legs(booked)


def test_volunteer_out_of_reach_is_not_offered(k1_service):
    # 3 km from home reaches neither Lalbenque (about 7 km away) nor any station.
    near = _availability(_volunteer({(FRIDAY, "afternoon")}, km=3))
    result = _combined(k1_service, near)
    assert _car_legs(result) == []
    assert "no_volunteer_available" in {n["code"] for n in result.notices}
    # Reaching the rider but not the stations is not enough either.
    assert 3000 < haversine_m(HOME, LALBENQUE_VILLAGE) < 12_000


def test_reach_is_checked_on_the_road(k1_service):
    """Within her distance in a straight line, but the road (× 1.3 at 50 km/h, read as 60 km/h)
    is longer: she is not offered."""
    station = station_position(k1_service.feeds[0], CAHORS)
    straight = max(haversine_m(HOME, LALBENQUE_VILLAGE), haversine_m(HOME, station))
    km = straight * 1.05 / 1000
    result = _combined(k1_service, _availability(_volunteer({(FRIDAY, "afternoon")}, km=km)))
    for it in result.itineraries:
        for leg in it["legs"]:
            if leg["mode"] == "car":
                assert leg["to"]["name"] != "Cahors"


def test_volunteer_driving_is_bounded_per_journey(k1_service):
    free = _availability(_volunteer({(FRIDAY, "afternoon")}, km=40))
    wide = _combined(k1_service, free, max_volunteer_drive_s=45 * 60)
    assert _car_legs(wide)
    for it in wide.itineraries:
        assert sum(leg["duration_s"] for leg in it["legs"] if leg["mode"] == "car") <= 45 * 60
    shortest = min(int((e - s).total_seconds()) for s, e in _car_legs(wide))
    tight = _combined(k1_service, free, max_volunteer_drive_s=shortest - 1)
    for s, e in _car_legs(tight):
        assert (e - s).total_seconds() < shortest


def test_wheelchair_rider_needs_an_accessible_car(k1_service):
    plain = _availability(_volunteer({(FRIDAY, "afternoon")}))
    adapted = _availability(_volunteer({(FRIDAY, "afternoon")}, wheelchair=True))
    toulouse = station_position(k1_service.feeds[0], TOULOUSE)
    query = JourneyQuery(
        origin=LALBENQUE_VILLAGE,
        destination=toulouse,
        when=at("11:30"),
        modes=frozenset({"combined"}),
        max_transfers=0,
        wheelchair=True,
    )
    kw = {"transit": k1_service, "drive_times": fake_drive_times, "tz": TZ}
    assert _car_legs(search_journeys(query, availability=plain, **kw)) == []
    found = search_journeys(query, availability=adapted, **kw)
    assert _car_legs(found)
    for it in found.itineraries:
        car = next(leg for leg in it["legs"] if leg["mode"] == "car")
        assert car["wheelchair"] == "yes"
        assert it["wheelchair"] == "unknown"  # the K1 feed says nothing of its trains


# -- stations by importance -------------------------------------------------------------------


def _reference_departures(feed: gtfs_kit.Feed) -> pd.Series:
    """Departures per stop on DATE from the feed with gtfs-kit: every stop time of a trip of
    the day but its last, where boarding is allowed."""
    trips = gtfs_kit.trips.get_trips(feed, DATE.strftime("%Y%m%d"))
    st = feed.stop_times.loc[feed.stop_times["trip_id"].isin(trips["trip_id"])]
    last = st.groupby("trip_id")["stop_sequence"].transform("max")
    boards = st.loc[(st["stop_sequence"] < last) & (st["pickup_type"].fillna(0).astype(int) != 1)]
    return boards.groupby("stop_id").size()


def test_departures_per_stop_match_the_feed(k1_service):
    router = k1_service.router_for(DATE)
    counted = departures_by_stop(router)
    expected = _reference_departures(k1_service.feeds[0])
    assert expected.sum() > 0
    for stop_id, n in counted.items():
        assert n == int(expected.get(stop_id, 0)), stop_id


def test_ranking_tries_the_busiest_station_first_within_the_cap(k1_service):
    router = k1_service.router_for(DATE)
    counted = departures_by_stop(router)
    stations = [
        StationChoice(
            s,
            (float(lat), float(lon)),
            (s,),
            counted[s],
            haversine_m(LALBENQUE_VILLAGE, (float(lat), float(lon))),
        )
        for s, lat, lon in zip(
            router.tt.stop_ids.tolist(), router.tt.stop_lat, router.tt.stop_lon, strict=True
        )
        if s in counted and counted[s] > 0
    ]
    ranked = rank_stations(stations, limit=4, nearest=1)
    assert len(ranked) == 4
    busiest = max(stations, key=lambda s: s.departures)
    assert ranked[0].departures == busiest.departures
    nearest = min(stations, key=lambda s: s.distance_m)
    assert nearest.key in {s.key for s in ranked}  # the station next door is still tried
    others = sorted((s for s in stations if s.key != nearest.key), key=lambda s: -s.departures)
    kept = {s.key for s in ranked} - {nearest.key}
    assert min(s.departures for s in stations if s.key in kept) >= others[2].departures


# -- walking and wheelchair -------------------------------------------------------------------


def test_max_walk_m_decides_whether_the_station_is_walked_to(k1_feed, k1_service):
    cahors = station_position(k1_feed, CAHORS)
    origin = (cahors[0] + 0.0135, cahors[1])  # 1.5 km north of the station
    toulouse = station_position(k1_feed, TOULOUSE)

    def search(max_walk_m: float):  # type: ignore[no-untyped-def]
        query = JourneyQuery(
            origin=origin,
            destination=toulouse,
            when=at("08:00"),
            modes=frozenset({"transit"}),
            max_walk_m=max_walk_m,
        )
        return search_journeys(query, transit=k1_service, drive_times=None, tz=TZ)

    short = search(1200)
    assert short.itineraries == []
    assert "no_stop_near_origin" in {n["code"] for n in short.notices}
    long = search(2000)
    assert long.itineraries and long.itineraries[0]["legs"][0]["mode"] == "walk"
    assert long.itineraries[0]["walking_m"] > 1400


@pytest.fixture(scope="module")
def k1_marked(k1_feed, tmp_path_factory):  # type: ignore[no-untyped-def]
    """The K1 feed with accessibility said: every station yes, the first morning train from
    Cahors to Toulouse not accessible, the others yes."""
    from app.services.transit import TransitService, transit_service_from_files
    from tests.conftest import shared_file

    base = transit_service_from_files(
        [shared_file("gtfs/ter-k1-toulouse-cahors-brive-2025-01.zip")], TZ, None
    )
    feed = k1_feed.copy()
    feed.stops = feed.stops.assign(wheelchair_boarding=1)
    plain = _first_train(base)
    feed.trips = feed.trips.assign(
        wheelchair_accessible=[2 if t == plain else 1 for t in feed.trips["trip_id"]]
    )
    marked = dataclasses.replace(
        base,
        feeds=(feed,),
        fingerprint=base.fingerprint + "-wheelchair",
        cache_dir=Path(tmp_path_factory.mktemp("marked")),
    )
    assert isinstance(marked, TransitService)
    return marked, plain


def _cahors_to_toulouse(service, wheelchair: bool):  # type: ignore[no-untyped-def]
    feed = service.feeds[0]
    query = JourneyQuery(
        origin=station_position(feed, CAHORS),
        destination=station_position(feed, TOULOUSE),
        when=at("06:00"),
        modes=frozenset({"transit"}),
        max_transfers=0,
        wheelchair=wheelchair,
    )
    return search_journeys(query, transit=service, drive_times=None, tz=TZ)


def _first_train(service) -> str:  # type: ignore[no-untyped-def]
    first = _cahors_to_toulouse(service, False).itineraries[0]
    return next(leg["trip_id"] for leg in first["legs"] if leg["mode"] == "rail")


def test_wheelchair_leaves_out_an_inaccessible_train(k1_marked):
    service, plain = k1_marked
    anyone = _cahors_to_toulouse(service, False)
    assert plain in {leg.get("trip_id") for leg in anyone.itineraries[0]["legs"]}
    assert "wheelchair" not in anyone.itineraries[0]
    rider = _cahors_to_toulouse(service, True)
    assert rider.itineraries
    trips = {leg.get("trip_id") for it in rider.itineraries for leg in it["legs"]}
    assert plain not in trips
    assert {it["wheelchair"] for it in rider.itineraries} == {"yes"}
    assert "wheelchair_excluded" in {n["code"] for n in rider.notices}


def test_wheelchair_unknown_is_kept_and_flagged(k1_service):
    anyone = _cahors_to_toulouse(k1_service, False)
    rider = _cahors_to_toulouse(k1_service, True)
    assert [it["arrival"] for it in rider.itineraries] == [
        it["arrival"] for it in anyone.itineraries
    ]
    for it in rider.itineraries:
        assert it["wheelchair"] == "unknown"
        assert {leg["wheelchair"] for leg in it["legs"] if leg["mode"] == "rail"} == {"unknown"}


# -- bookings from the database -----------------------------------------------------------------


def _book(driver, busy_from: dt.datetime, busy_until: dt.datetime, status: str = "pending"):  # type: ignore[no-untyped-def]
    """A rider's need on DATE and a proposal to ``driver`` taking her time in between."""
    from app.extensions import db
    from app.models import Beneficiary, Proposal, RideNeed, point

    rider = Beneficiary(structure_id=driver.structure_id, first_name="Rose", last_name="Test")
    db.session.add(rider)
    db.session.flush()
    need = RideNeed(
        beneficiary_id=rider.id,
        structure_id=driver.structure_id,
        pickup_label="Domicile",
        pickup_geom=point(*LALBENQUE_VILLAGE),
        dropoff_label="Hôpital",
        dropoff_geom=point(*HOME),
        requested_at=busy_from + dt.timedelta(minutes=20),
        status="proposed",
    )
    db.session.add(need)
    db.session.flush()
    proposal = Proposal(
        need_id=need.id,
        driver_id=driver.id,
        code="123456",
        status=status,
        busy_from=busy_from,
        busy_until=busy_until,
    )
    db.session.add(proposal)
    db.session.commit()
    return proposal


def test_volunteer_with_a_proposal_at_the_drive_is_not_offered(app, k1_service):  # type: ignore[no-untyped-def]
    from app.extensions import db
    from app.services.journeys import load_availability
    from tests.api import seed

    driver = seed.driver(cells=((FRIDAY, "afternoon"),))
    driver.max_distance_km = 40
    db.session.commit()
    free = load_availability(TZ, [DATE])
    assert [v.driver_id for v in free.volunteers] == [driver.id]
    offered = _car_legs(_combined(k1_service, free))
    assert offered, "on call, within reach and free: she is offered"
    start, end = offered[0]
    _book(driver, start - dt.timedelta(minutes=45), start + dt.timedelta(minutes=15))
    booked = load_availability(TZ, [DATE])
    assert len(booked.busy[driver.id]) == 1
    legs = _car_legs(_combined(k1_service, booked))
    assert (start, end) not in legs
    (b0, b1) = booked.busy[driver.id][0]
    for s, e in legs:
        assert e <= b0 or s >= b1
    # A refused proposal does not take her time.
    from app.models import Proposal

    db.session.query(Proposal).update({"status": "refused"})
    db.session.commit()
    assert _car_legs(_combined(k1_service, load_availability(TZ, [DATE])))[0] == (start, end)


def test_kept_volunteers_follow_a_grid_change_a_withdrawn_consent_and_a_new_volunteer(app):  # type: ignore[no-untyped-def]
    """The volunteers on call are kept per process between searches: a change of grid, of
    consent or a new volunteer must show at the next search all the same."""
    from app.extensions import db
    from app.models import DriverAvailability
    from app.services.journeys import load_availability
    from tests.api import seed

    driver = seed.driver(cells=((FRIDAY, "afternoon"),))
    db.session.commit()
    first = load_availability(TZ, [DATE])
    assert [(v.driver_id, sorted(v.cells)) for v in first.volunteers] == [(driver.id, [(FRIDAY, "afternoon")])]
    db.session.add(DriverAvailability(driver_id=driver.id, weekday=FRIDAY, slot="morning"))
    db.session.commit()
    assert sorted(load_availability(TZ, [DATE]).volunteers[0].cells) == [(FRIDAY, "afternoon"), (FRIDAY, "morning")]
    other = seed.driver("Paul", "Durand", "+33611223355", cells=((FRIDAY, "morning"),))
    db.session.commit()
    assert {v.driver_id for v in load_availability(TZ, [DATE]).volunteers} == {driver.id, other.id}
    driver.publish_consent_at = None
    db.session.commit()
    assert [v.driver_id for v in load_availability(TZ, [DATE]).volunteers] == [other.id]
