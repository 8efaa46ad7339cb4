"""Journeys with changes on the real Lot TER lines, against a plain connection scan."""

from __future__ import annotations

import datetime as dt

import pytest

from app.services.journeys import JourneyQuery, search_journeys
from tests.api.conftest import CAHORS, DATE, TZ, at, seconds_of, station_position
from tests.conftest import shared_file
from tests.gtfs_import.conftest import footpaths_by_id, reference_trips
from tests.gtfs_import.reference import best_arrivals

LOT = "gtfs/ter-lines-serving-lot-2025-01.zip"
FIGEAC = "StopArea:OCE87613091"


@pytest.fixture(scope="module")
def lot(tmp_path_factory):  # type: ignore[no-untyped-def]
    import gtfs_import
    from app.services.transit import transit_service_from_files

    path = shared_file(LOT)
    return gtfs_import.read_feed(path), transit_service_from_files(
        [path], TZ, tmp_path_factory.mktemp("lot-cache")
    )


@pytest.mark.parametrize("time", ["06:00", "10:00", "14:00"])
def test_cahors_to_figeac_changes_trains_and_arrives_earliest(lot, time):
    feed, service = lot
    origin, destination = station_position(feed, CAHORS), station_position(feed, FIGEAC)
    query = JourneyQuery(
        origin=origin, destination=destination, when=at(time), modes=frozenset({"transit"})
    )
    result = search_journeys(query, transit=service, drive_times=None, tz=TZ)
    router = service.router_for(DATE)
    tt = router.tt
    access = router.walks_from_point(*origin, max_walk_m=query.max_walk_m)
    egress = router.walks_from_point(*destination, max_walk_m=query.max_walk_m)
    expected = best_arrivals(
        reference_trips(feed, DATE.strftime("%Y%m%d")),
        footpaths_by_id(tt),
        access,
        egress,
        seconds_of(at(time).isoformat()),
        query.max_transfers + 1,
        tt.min_change_s,
    )
    assert result.itineraries, "Cahors -> Figeac is reachable by changing trains"
    first = result.itineraries[0]
    assert seconds_of(first["arrival"]) == min(expected)
    for it in result.itineraries:
        rides = [leg for leg in it["legs"] if leg["mode"] not in ("walk", "car")]
        assert it["transfers"] == len(rides) - 1 >= 1  # no direct train between these lines
        for a, b in zip(it["legs"], it["legs"][1:], strict=False):
            assert dt.datetime.fromisoformat(a["arrival"]) <= dt.datetime.fromisoformat(
                b["departure"]
            )
            if "stop_id" in a["to"] and "stop_id" in b["from"]:
                same_stop = a["to"]["stop_id"] == b["from"]["stop_id"]
                assert same_stop or b["mode"] == "walk" or a["mode"] == "walk"
        assert it["duration_s"] == seconds_of(it["arrival"]) - seconds_of(it["departure"])
