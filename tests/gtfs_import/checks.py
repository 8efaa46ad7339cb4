"""Path properties every journey must have, checked against the feed's own stop times."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

import gtfs_import


def assert_valid_journey(
    journey: gtfs_import.Journey,
    tt: gtfs_import.Timetable,
    stop_times: pd.DataFrame,
    access: Mapping[str, int],
    egress: Mapping[str, int],
) -> None:
    """Fail unless the journey can really be made with the published stop times.

    ``stop_times`` is :func:`tests.gtfs_import.conftest.day_stop_times` of the feed;
    ``access``/``egress`` map the stops (not stations) to their walk times.
    """
    legs = journey.legs
    if not legs:  # already there: an origin stop is a destination stop, no walk
        assert journey.departure_s == journey.arrival_s
        assert any(access.get(s) == 0 and w == 0 for s, w in egress.items())
        return
    assert journey.departure_s == legs[0].departure_s
    assert journey.arrival_s == legs[-1].arrival_s
    foot = {
        (str(tt.stop_ids[u]), str(tt.stop_ids[tt.foot_to[e]])): int(tt.foot_s[e])
        for u in range(tt.n_stops)
        for e in range(tt.foot_offset[u], tt.foot_offset[u + 1])
    }
    first, last = legs[0], legs[-1]
    if first.mode == "walk" and first.from_stop_id is None:
        assert access[first.to_stop_id] == first.duration_s
    else:
        assert access[first.from_stop_id] == 0, "journey starts at a stop without access walk"
    if last.mode == "walk" and last.to_stop_id is None:
        assert egress[last.from_stop_id] == last.duration_s
    else:
        assert egress[last.to_stop_id] == 0, "journey ends at a stop without egress walk"
    for leg in legs:
        assert leg.departure_s <= leg.arrival_s
        if leg.mode == "walk" and leg.from_stop_id is not None and leg.to_stop_id is not None:
            assert foot[(leg.from_stop_id, leg.to_stop_id)] == leg.duration_s, "walk is a footpath"
        if leg.mode == "transit":
            _assert_ride(leg, stop_times)
    for a, b in zip(legs, legs[1:], strict=False):
        assert a.to_stop_id is not None and a.to_stop_id == b.from_stop_id, "legs are continuous"
        assert a.arrival_s <= b.departure_s, "no leg starts before the previous one ends"
        if a.mode == "transit" and b.mode == "transit":
            change = int(tt.stop_change_s[tt.stop_ids.tolist().index(a.to_stop_id)])
            assert b.departure_s >= a.arrival_s + change, "time to change"
    n_transit = sum(leg.mode == "transit" for leg in legs)
    assert journey.transfers == max(0, n_transit - 1)
    assert journey.walking_s == sum(leg.duration_s for leg in legs if leg.mode == "walk")


def _assert_ride(leg: gtfs_import.Leg, stop_times: pd.DataFrame) -> None:
    rows = stop_times.loc[stop_times["trip_id"] == leg.trip_id]
    for _, run in rows.groupby("run"):
        run = run.reset_index(drop=True)
        board = run.index[
            (run["stop_id"] == leg.from_stop_id) & (run["dep"] == leg.departure_s) & run["pickup"]
        ]
        alight = run.index[
            (run["stop_id"] == leg.to_stop_id) & (run["arr"] == leg.arrival_s) & run["dropoff"]
        ]
        for i in board:
            for j in alight:
                if i < j and tuple(run["stop_id"][i + 1 : j]) == leg.intermediate_stop_ids:
                    return
    raise AssertionError(f"no run of trip {leg.trip_id} matches leg {leg}")
