"""The journey service on the real K1 TER feed (Toulouse–Cahors–Brive), checked against its timetable."""

from __future__ import annotations

import datetime as dt

import pytest

from app.services.journeys import (
    FIRST_MILE_BUFFER_S,
    LAST_MILE_BUFFER_S,
    MAX_DRIVE_STATIONS,
    MAX_DRIVE_TO_STOP_M,
    JourneyQuery,
    haversine_m,
    search_journeys,
)
from tests.api.conftest import (
    BRIVE,
    CAHORS,
    LALBENQUE_FONTANES,
    LALBENQUE_VILLAGE,
    TOULOUSE,
    TZ,
    at,
    direct_rides,
    fake_drive_times,
    seconds_of,
    station_position,
)

#: search_journeys' default bound on a volunteer's driving with the rider.
MAX_VOLUNTEER_DRIVE_S = 45 * 60


def _transit(k1_service, origin, destination, when, **kw):  # type: ignore[no-untyped-def]
    query = JourneyQuery(
        origin=origin, destination=destination, when=when, modes=frozenset({"transit"}), **kw
    )
    return search_journeys(query, transit=k1_service, drive_times=None, tz=TZ)


@pytest.mark.parametrize("destination", [TOULOUSE, BRIVE])
@pytest.mark.parametrize("time", ["05:00", "07:30", "12:10", "17:45", "21:00"])
def test_depart_after_gives_the_first_train_of_the_timetable(
    k1_feed, k1_service, k1_stop_times, destination, time
):
    rides = direct_rides(k1_feed, k1_stop_times, CAHORS, destination)
    rides = rides.loc[rides["dep"] >= seconds_of(at(time).isoformat())]
    result = _transit(
        k1_service,
        station_position(k1_feed, CAHORS),
        station_position(k1_feed, destination),
        at(time),
        max_transfers=0,
    )
    if rides.empty:
        assert result.itineraries == []
        return
    first = result.itineraries[0]
    best = rides.loc[rides["arr"] == rides["arr"].min()].iloc[0]
    trains = [leg for leg in first["legs"] if leg["mode"] == "rail"]
    assert len(trains) == 1 and first["transfers"] == 0
    (train,) = trains
    assert seconds_of(train["arrival"]) == best["arr"]
    assert train["trip_id"] in set(rides.loc[rides["arr"] == best["arr"], "trip_id"])
    assert seconds_of(train["departure"]) in set(rides.loc[rides["arr"] == best["arr"], "dep"])
    assert train["headsign"] == best["headsign"]
    assert train["from"]["name"] == "Cahors"
    assert train["to"]["name"] == (
        "Toulouse Matabiau" if destination == TOULOUSE else "Brive-la-Gaillarde"
    )
    assert first["type"] == "transit" and first["walking_m"] <= 100
    coords = first["geometry"]["coordinates"]
    assert coords[0] == pytest.approx([train["from"]["lon"], train["from"]["lat"]], abs=0.01)
    assert coords[-1] == pytest.approx([train["to"]["lon"], train["to"]["lat"]], abs=0.01)


@pytest.mark.parametrize(
    "origin,destination", [(CAHORS, TOULOUSE), (TOULOUSE, CAHORS), (CAHORS, BRIVE)]
)
@pytest.mark.parametrize("time", ["08:00", "13:00", "19:30"])
def test_arrive_by_gives_the_last_train_of_the_timetable(
    k1_feed, k1_service, k1_stop_times, origin, destination, time
):
    rides = direct_rides(k1_feed, k1_stop_times, origin, destination)
    rides = rides.loc[rides["arr"] <= seconds_of(at(time).isoformat())]
    result = _transit(
        k1_service,
        station_position(k1_feed, origin),
        station_position(k1_feed, destination),
        at(time),
        arrive_by=True,
        max_transfers=0,
    )
    if rides.empty:
        assert result.itineraries == []
        return
    first = result.itineraries[0]
    (train,) = [leg for leg in first["legs"] if leg["mode"] == "rail"]
    assert seconds_of(train["departure"]) == rides["dep"].max()
    assert seconds_of(first["arrival"]) <= seconds_of(at(time).isoformat())


def test_no_service_day_says_so(k1_feed, k1_service):
    result = _transit(
        k1_service,
        station_position(k1_feed, CAHORS),
        station_position(k1_feed, TOULOUSE),
        at("08:00").replace(year=2031),
    )
    assert result.itineraries == []
    assert [n["code"] for n in result.notices] == ["no_transit_service"]


def _stations_near(feed, point):  # type: ignore[no-untyped-def]
    """Every parent station a volunteer may drive to within the bound on her driving; the K1
    line has fewer than the cap near Lalbenque, so the service tries them all."""
    stations = feed.stops.loc[feed.stops["location_type"] == 1]
    found = []
    for row in stations.itertuples():
        pos = (row.stop_lat, row.stop_lon)
        d = haversine_m(point, pos)
        drive = fake_drive_times(point, [pos])[0]
        if 1200 < d <= MAX_DRIVE_TO_STOP_M and drive <= MAX_VOLUNTEER_DRIVE_S:
            found.append((d, row.stop_id, pos))
    assert len(found) <= MAX_DRIVE_STATIONS
    return [(sid, pos) for _, sid, pos in sorted(found)]


@pytest.mark.parametrize("time", ["05:30", "06:45", "11:00", "16:30"])
def test_first_mile_drive_from_lalbenque_then_the_best_train(
    k1_feed, k1_service, k1_stop_times, time
):
    """A volunteer drives the rider from Lalbenque to a station; the train is the earliest possible."""
    toulouse = station_position(k1_feed, TOULOUSE)
    query = JourneyQuery(
        origin=LALBENQUE_VILLAGE,
        destination=toulouse,
        when=at(time),
        modes=frozenset({"combined"}),
        max_transfers=0,
    )
    result = search_journeys(query, transit=k1_service, drive_times=fake_drive_times, tz=TZ)
    # Reference: for each station, the first direct train after the drive and the buffer.
    t0 = seconds_of(at(time).isoformat())
    best = None
    for station, pos in _stations_near(k1_feed, LALBENQUE_VILLAGE):
        ready = t0 + round(fake_drive_times(LALBENQUE_VILLAGE, [pos])[0]) + FIRST_MILE_BUFFER_S
        rides = direct_rides(k1_feed, k1_stop_times, station, TOULOUSE)
        rides = rides.loc[rides["dep"] >= ready]
        if not rides.empty and (best is None or rides["arr"].min() < best[0]):
            best = (int(rides["arr"].min()), station)
    combined = [it for it in result.itineraries if it["type"] == "combined"]
    if best is None:
        assert combined == []
        return
    first = combined[0]
    car, train = first["legs"][0], first["legs"][1]
    assert car["mode"] == "car" and train["mode"] == "rail"
    assert seconds_of(train["arrival"]) == best[0]
    assert train["from"]["name"] in {"Lalbenque - Fontanes", "Cahors", "Caussade"}
    # The car reaches the station before the train leaves, with the buffer.
    assert seconds_of(car["arrival"]) + FIRST_MILE_BUFFER_S <= seconds_of(train["departure"])
    assert seconds_of(car["departure"]) >= t0
    assert car["from"]["generalised"] is True  # the rider's home is not echoed
    assert car["to"]["name"] == train["from"]["name"]


def test_first_mile_prefers_lalbenque_fontanes_for_an_early_train(
    k1_feed, k1_service, k1_stop_times
):
    """The station next to the village is chosen when its train is the earliest arrival."""
    rides = direct_rides(k1_feed, k1_stop_times, LALBENQUE_FONTANES, TOULOUSE).sort_values("dep")
    assert not rides.empty, "trains stop at Lalbenque-Fontanes on a weekday"
    first_train = rides.iloc[0]
    pos = station_position(k1_feed, LALBENQUE_FONTANES)
    drive_s = round(fake_drive_times(LALBENQUE_VILLAGE, [pos])[0])
    leave = int(first_train["dep"]) - drive_s - FIRST_MILE_BUFFER_S - 60
    when = at("00:00") + dt.timedelta(seconds=leave)
    query = JourneyQuery(
        origin=LALBENQUE_VILLAGE,
        destination=station_position(k1_feed, TOULOUSE),
        when=when,
        modes=frozenset({"combined"}),
        max_transfers=0,
    )
    result = search_journeys(query, transit=k1_service, drive_times=fake_drive_times, tz=TZ)
    first = result.itineraries[0]
    train = first["legs"][1]
    assert train["from"]["name"] == "Lalbenque - Fontanes"
    assert train["trip_id"] == first_train["trip_id"]
    assert seconds_of(train["departure"]) == first_train["dep"]


@pytest.mark.parametrize("time", ["10:00", "19:00"])
def test_last_mile_train_then_drive_to_lalbenque(k1_feed, k1_service, k1_stop_times, time):
    """Arrive by a time in Lalbenque from Toulouse: the latest train, then a volunteer's drive."""
    query = JourneyQuery(
        origin=station_position(k1_feed, TOULOUSE),
        destination=LALBENQUE_VILLAGE,
        when=at(time),
        arrive_by=True,
        modes=frozenset({"combined"}),
        max_transfers=0,
    )
    result = search_journeys(query, transit=k1_service, drive_times=fake_drive_times, tz=TZ)
    t_end = seconds_of(at(time).isoformat())
    best = None
    for station, pos in _stations_near(k1_feed, LALBENQUE_VILLAGE):
        drive = round(fake_drive_times(pos, [LALBENQUE_VILLAGE])[0])
        rides = direct_rides(k1_feed, k1_stop_times, TOULOUSE, station)
        rides = rides.loc[rides["arr"] + LAST_MILE_BUFFER_S + drive <= t_end]
        if not rides.empty and (best is None or rides["dep"].max() > best):
            best = int(rides["dep"].max())
    combined = [it for it in result.itineraries if it["type"] == "combined"]
    assert best is not None
    first = combined[0]
    train, car = first["legs"][-2], first["legs"][-1]
    assert train["mode"] == "rail" and car["mode"] == "car"
    assert seconds_of(train["departure"]) == best
    assert seconds_of(car["arrival"]) <= t_end
    assert seconds_of(train["arrival"]) + LAST_MILE_BUFFER_S <= seconds_of(car["departure"])
    assert car["to"]["generalised"] is True


def test_without_road_times_no_volunteer_option(k1_feed, k1_service):
    query = JourneyQuery(
        origin=LALBENQUE_VILLAGE, destination=station_position(k1_feed, TOULOUSE), when=at("07:00")
    )
    result = search_journeys(query, transit=k1_service, drive_times=None, tz=TZ)
    assert {it["type"] for it in result.itineraries} <= {"transit"}
    assert "road_routing_unavailable" in {n["code"] for n in result.notices}
    assert "no_stop_near_origin" in {n["code"] for n in result.notices}


def test_solidarity_ride_on_request_is_timed_on_the_road(k1_feed, k1_service):
    query = JourneyQuery(
        origin=LALBENQUE_VILLAGE,
        destination=station_position(k1_feed, CAHORS),
        when=at("09:00"),
        modes=frozenset({"solidarity"}),
    )
    result = search_journeys(
        query,
        transit=k1_service,
        drive_times=fake_drive_times,
        tz=TZ,
        booking={"method": "phone", "phone": "+33565000000"},
    )
    (ride,) = result.itineraries
    (leg,) = ride["legs"]
    assert ride["type"] == "solidarity" and leg["operator"] == "solidarity_service"
    expected = round(fake_drive_times(LALBENQUE_VILLAGE, [station_position(k1_feed, CAHORS)])[0])
    assert ride["duration_s"] == expected
    assert leg["booking"]["phone"] == "+33565000000"
