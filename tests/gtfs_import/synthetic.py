"""Small synthetic GTFS feeds built in memory (for property-based tests)."""

from __future__ import annotations

from collections.abc import Sequence

import gtfs_kit
import pandas as pd

DATE = "20250106"


def make_feed(
    stops: Sequence[tuple[str, float, float]],
    trips: Sequence[Sequence[tuple[str, str, str, int, int]]],
    parents: dict[str, str] | None = None,
) -> gtfs_kit.Feed:
    """A one-route feed running every trip on :data:`DATE`.

    ``stops``: (stop_id, lat, lon); ``trips``: per trip, events
    (stop_id, arrival 'H:MM:SS', departure, pickup_type, drop_off_type).
    """
    parents = parents or {}
    stop_rows = [
        {
            "stop_id": s,
            "stop_name": s,
            "stop_lat": lat,
            "stop_lon": lon,
            "location_type": 0,
            "parent_station": parents.get(s),
        }
        for s, lat, lon in stops
    ]
    for parent in sorted(set(parents.values())):
        lat, lon = next((la, lo) for s, la, lo in stops if parents.get(s) == parent)
        stop_rows.append(
            {
                "stop_id": parent,
                "stop_name": parent,
                "stop_lat": lat,
                "stop_lon": lon,
                "location_type": 1,
                "parent_station": None,
            }
        )
    st_rows = []
    for t, events in enumerate(trips):
        for seq, (stop, arr, dep, pickup, dropoff) in enumerate(events):
            st_rows.append(
                {
                    "trip_id": f"t{t}",
                    "arrival_time": arr,
                    "departure_time": dep,
                    "stop_id": stop,
                    "stop_sequence": seq,
                    "pickup_type": pickup,
                    "drop_off_type": dropoff,
                }
            )
    dtypes = gtfs_kit.constants.DTYPES

    def frame(rows: list[dict], table: str) -> pd.DataFrame:
        df = pd.DataFrame(rows)
        return df.astype({c: t for c, t in dtypes[table].items() if c in df.columns})

    return gtfs_kit.Feed(
        dist_units="km",
        agency=frame(
            [
                {
                    "agency_id": "a",
                    "agency_name": "A",
                    "agency_url": "http://a",
                    "agency_timezone": "Europe/Paris",
                }
            ],
            "agency",
        ),
        stops=frame(stop_rows, "stops"),
        routes=frame(
            [{"route_id": "r", "agency_id": "a", "route_short_name": "R", "route_type": 3}],
            "routes",
        ),
        trips=frame(
            [
                {"route_id": "r", "service_id": "s", "trip_id": f"t{t}", "trip_headsign": f"H{t}"}
                for t in range(len(trips))
            ],
            "trips",
        ),
        stop_times=frame(st_rows, "stop_times"),
        calendar_dates=frame(
            [{"service_id": "s", "date": DATE, "exception_type": 1}], "calendar_dates"
        ),
    )


def hms(seconds: int) -> str:
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
