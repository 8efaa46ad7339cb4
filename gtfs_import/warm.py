"""Compile (or load from the numba cache) every routing kernel before the first request."""

from __future__ import annotations

import time

import gtfs_kit
import numpy as np
import pandas as pd


def _tiny_feed() -> gtfs_kit.Feed:
    """Two stops, two trips, one day: enough to run every kernel once."""
    dtypes = gtfs_kit.constants.DTYPES

    def frame(rows: list[dict[str, object]], table: str) -> pd.DataFrame:
        df = pd.DataFrame(rows)
        return df.astype({c: t for c, t in dtypes[table].items() if c in df.columns})

    stop_times = [
        {
            "trip_id": trip,
            "arrival_time": when,
            "departure_time": when,
            "stop_id": stop,
            "stop_sequence": seq,
        }
        for trip, events in (
            ("t0", (("a", "08:00:00"), ("b", "08:10:00"))),
            ("t1", (("b", "08:30:00"), ("a", "08:40:00"))),
        )
        for seq, (stop, when) in enumerate(events)
    ]
    return gtfs_kit.Feed(
        dist_units="km",
        agency=frame(
            [
                {
                    "agency_id": "w",
                    "agency_name": "warm-up",
                    "agency_url": "https://example.org",
                    "agency_timezone": "Europe/Paris",
                }
            ],
            "agency",
        ),
        stops=frame(
            [
                {"stop_id": "a", "stop_name": "a", "stop_lat": 44.45, "stop_lon": 1.44},
                {"stop_id": "b", "stop_name": "b", "stop_lat": 44.46, "stop_lon": 1.45},
            ],
            "stops",
        ),
        routes=frame([{"route_id": "r", "agency_id": "w", "route_type": 3}], "routes"),
        trips=frame(
            [{"route_id": "r", "service_id": "s", "trip_id": t} for t in ("t0", "t1")], "trips"
        ),
        stop_times=frame(stop_times, "stop_times"),
        calendar_dates=frame(
            [{"service_id": "s", "date": "20250106", "exception_type": 1}], "calendar_dates"
        ),
    )


def warm_up() -> float:
    """Run every journey-search kernel once on a tiny timetable; return the seconds taken.

    With numba's on-disk cache filled this only loads machine code; on a fresh checkout
    it compiles (a few seconds). Call it at start-up, before serving requests.
    """
    from gtfs_import.router import TransitRouter
    from gtfs_import.timetable import build_timetable

    began = time.perf_counter()
    router = TransitRouter(build_timetable(_tiny_feed(), "20250106"))
    trip_ok, stop_ok = router.wheelchair_masks()
    router.depart_after({"a": 0}, {"b": 0}, 7 * 3600)
    router.arrive_by({"a": 0}, {"b": 0}, 9 * 3600)
    router.depart_window({"a": 0}, {"b": 0}, 7 * 3600, 7200, trip_ok=trip_ok, stop_ok=stop_ok)
    router.arrive_window({"a": 0}, {"b": 0}, 9 * 3600, 7200, stop_ok=np.ones_like(stop_ok))
    return time.perf_counter() - began
