"""Small GTFS feeds written to disk for a test, then read back with :func:`read_feed`.

Unlike :mod:`tests.gtfs_import.synthetic` (tables built in memory), these go through the
same reader as real feeds, so optional files (``frequencies.txt``, ``transfers.txt``) and
their columns are read exactly as in production.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gtfs_kit

import gtfs_import

Row = Mapping[str, Any]


def write_feed(folder: Path, tables: Mapping[str, Sequence[Row]]) -> Path:
    """Write ``tables`` (``{"stops": [row, ...], ...}``) as ``<table>.txt`` CSV files."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, rows in tables.items():
        columns: list[str] = []
        for row in rows:
            columns += [c for c in row if c not in columns]
        with open(folder / f"{table}.txt", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({c: "" if row.get(c) is None else row.get(c) for c in columns})
    return folder


def line_feed(
    folder: Path,
    stops: Sequence[tuple[str, str, float, float]],
    trips: Sequence[tuple[str, str, str, Sequence[tuple[str, str]]]],
    dates: Sequence[str],
    timezone: str = "Europe/Paris",
    parents: Mapping[str, str] | None = None,
    extra: Mapping[str, Sequence[Row]] | None = None,
) -> gtfs_kit.Feed:
    """Write and read a feed whose every trip runs on each of ``dates``.

    ``stops``: ``(stop_id, name, lat, lon)``; a stop named in ``parents`` values but not
    listed is added as a station at its first child's place. ``trips``: ``(trip_id,
    route_id, headsign, [(stop_id, "H:MM:SS"), ...])`` with equal arrival and departure.
    ``extra``: more tables, e.g. ``{"transfers": [...]}``.
    """
    parents = dict(parents or {})
    stop_rows: list[Row] = [
        {
            "stop_id": s,
            "stop_name": name,
            "stop_lat": lat,
            "stop_lon": lon,
            "location_type": 0,
            "parent_station": parents.get(s),
        }
        for s, name, lat, lon in stops
    ]
    for station in sorted(set(parents.values())):
        child = next(row for row in stop_rows if row["parent_station"] == station)
        stop_rows.append(
            {
                "stop_id": station,
                "stop_name": child["stop_name"],
                "stop_lat": child["stop_lat"],
                "stop_lon": child["stop_lon"],
                "location_type": 1,
                "parent_station": None,
            }
        )
    routes = sorted({route for _, route, _, _ in trips})
    tables: dict[str, Sequence[Row]] = {
        "agency": [
            {
                "agency_id": "ag",
                "agency_name": "Agency",
                "agency_url": "https://example.org",
                "agency_timezone": timezone,
            }
        ],
        "stops": stop_rows,
        "routes": [
            {"route_id": r, "agency_id": "ag", "route_short_name": r, "route_type": 3}
            for r in routes
        ],
        "trips": [
            {"route_id": route, "service_id": "all", "trip_id": t, "trip_headsign": head}
            for t, route, head, _ in trips
        ],
        "stop_times": [
            {
                "trip_id": t,
                "arrival_time": time,
                "departure_time": time,
                "stop_id": stop,
                "stop_sequence": seq,
            }
            for t, _, _, events in trips
            for seq, (stop, time) in enumerate(events)
        ],
        "calendar_dates": [{"service_id": "all", "date": d, "exception_type": 1} for d in dates],
        **(extra or {}),
    }
    return gtfs_import.read_feed(write_feed(folder, tables))
