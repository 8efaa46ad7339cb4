"""Range queries on the real TER lines serving the Lot (skipped without the shared data)."""

from __future__ import annotations

import pytest

from tests.gtfs_import.checks import assert_valid_journey
from tests.gtfs_import.conftest import (
    CAHORS,
    DATE,
    TOULOUSE,
    day_stop_times,
    seconds,
    station_stops,
)
from tests.gtfs_import.test_router_window import _key, _pareto, brute_force_window


@pytest.mark.parametrize("backward", [False, True])
@pytest.mark.parametrize("origin,destination", [(CAHORS, TOULOUSE), (TOULOUSE, CAHORS)])
def test_two_hour_window_cahors_toulouse(
    lot_feed, lot_tt, lot_router, origin, destination, backward
):
    time = seconds("16:00:00") if backward else seconds("06:00:00")
    window = 2 * 3600
    if backward:
        journeys = lot_router.arrive_window({origin: 0}, {destination: 0}, time, window, 3)
    else:
        journeys = lot_router.depart_window({origin: 0}, {destination: 0}, time, window, 3)
    assert len(journeys) >= 2, "several trains in two hours"
    keys = [_key(j) for j in journeys]
    assert keys == sorted(keys, key=lambda k: (k[0], k[2]))
    assert set(keys) == _pareto(set(keys))
    origins = {s: 0 for s in station_stops(lot_feed, origin)}
    dests = {s: 0 for s in station_stops(lot_feed, destination)}
    st = day_stop_times(lot_feed, DATE)
    for j in journeys:
        assert_valid_journey(j, lot_tt, st, origins, dests)
    expected = brute_force_window(lot_router, origins, dests, time, window, 3, backward)
    assert set(keys) == expected
