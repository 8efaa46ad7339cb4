"""``transfers.txt``: minimum, timed, forbidden and in-seat transfers, as routing rules.

Each row of ``transfers.txt`` becomes one or more rules between two stops of the timetable
(a station stands for each of its stops), optionally restricted to trips or routes.
``transfer_type`` is read as the GTFS reference says:

====  =====================================  ==========================================
type  meaning                                rule (``min_s``)
====  =====================================  ==========================================
0     recommended transfer point             :data:`DEFAULT` (the usual change time, or
                                             a walk between two stops)
1     timed: the departing vehicle waits     ``0``
2     needs ``min_transfer_time`` seconds    ``min_transfer_time`` (:data:`DEFAULT` if
                                             blank)
3     forbidden                              :data:`FORBIDDEN`
4     in-seat (stay on the vehicle, block)   ``0``, between the two trips only
5     in-seat forbidden: alight and re-board no rule: an ordinary change applies
====  =====================================  ==========================================

Rules without trips or routes change the timetable's arrays once (change time at a stop,
footpaths between stops); the others are checked by RAPTOR each time it boards a trip
(:mod:`gtfs_import.raptor`). When several rules match one transfer, the most specific
wins, in the GTFS order: both trips, a trip and a route, one trip, both routes, one route.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import gtfs_kit
import numpy as np
import pandas as pd

#: ``min_s`` of a forbidden transfer.
FORBIDDEN: Final = -1
#: ``min_s`` of a transfer allowed with the usual change time or walk.
DEFAULT: Final = -2
#: Change time at a stop where every change is forbidden (never reached by a real time).
FORBIDDEN_CHANGE_S: Final = 2**30

_COLUMNS = ("from_stop", "to_stop", "from_trip", "to_trip", "from_route", "to_route", "min_s")


def _ids(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        return pd.Series(pd.NA, index=df.index, dtype="string")
    s = df[name].astype("string").str.strip()
    return s.where(s != "", pd.NA)


def transfer_rules(
    feed: gtfs_kit.Feed,
    prefix: str,
    stop_index: Mapping[str, int],
    members: Mapping[int, Sequence[int]],
    route_index: Mapping[str, int],
    trip_index: Mapping[str, int],
    trip_ends: Mapping[int, tuple[int, int]],
) -> pd.DataFrame:
    """Routing rules of one feed's ``transfers.txt`` (see the module docstring).

    Parameters
    ----------
    feed
        The feed.
    prefix
        Namespace of the feed's ids in the timetable (``""`` for a single feed).
    stop_index, route_index
        Timetable index of each namespaced stop and route id.
    members
        For a station's index, the indices of its stops (a stop maps to itself).
    trip_index
        Index of each namespaced GTFS trip id (shared by all its runs and days).
    trip_ends
        ``(first stop, last stop)`` of each GTFS trip index, for in-seat rows that give
        trips but no stops.

    Returns
    -------
    pandas.DataFrame
        Columns ``from_stop``, ``to_stop``, ``from_trip``, ``to_trip``, ``from_route``,
        ``to_route`` (indices, ``-1`` for "any") and ``min_s`` (seconds, or
        :data:`FORBIDDEN` / :data:`DEFAULT`), int64. Rows naming an unknown stop, trip or
        route, or of an unknown type, are left out (:func:`gtfs_import.validate_feed`
        reports them).
    """
    xfers = getattr(feed, "transfers", None)
    empty = pd.DataFrame({c: pd.Series([], dtype="int64") for c in _COLUMNS})
    if xfers is None or not len(xfers) or "transfer_type" not in xfers.columns:
        return empty
    kind = xfers["transfer_type"].astype("Int64").fillna(0).to_numpy(dtype=np.int64)
    min_time = (
        xfers["min_transfer_time"].astype("Int64").to_numpy(dtype=np.int64, na_value=-1)
        if "min_transfer_time" in xfers.columns
        else np.full(len(xfers), -1, dtype=np.int64)
    )
    cols = {
        name: _ids(xfers, f"{name}_id").to_numpy(dtype=object, na_value=None)
        for name in ("from_stop", "to_stop", "from_trip", "to_trip", "from_route", "to_route")
    }
    rows: list[tuple[int, ...]] = []
    for i in range(len(xfers)):
        t = int(kind[i])
        if t == 5 or t not in (0, 1, 2, 3, 4):
            continue
        if t == 1 or t == 4:
            min_s = 0
        elif t == 2:
            min_s = int(min_time[i]) if min_time[i] >= 0 else DEFAULT
        elif t == 3:
            min_s = FORBIDDEN
        else:
            min_s = DEFAULT
        ref = {}
        known = True
        for name, index in (
            ("from_trip", trip_index),
            ("to_trip", trip_index),
            ("from_route", route_index),
            ("to_route", route_index),
        ):
            value = cols[name][i]
            ref[name] = -1 if value is None else index.get(prefix + value, -2)
            known &= ref[name] != -2
        if not known:
            continue
        if t == 4 and (ref["from_trip"] < 0 or ref["to_trip"] < 0):
            continue  # in-seat transfers are between two trips
        stops = []
        for name, trip, end in (("from_stop", ref["from_trip"], 1), ("to_stop", ref["to_trip"], 0)):
            value = cols[name][i]
            if value is None:
                if t in (4, 5) and trip >= 0 and trip in trip_ends:
                    stops.append([trip_ends[trip][end]])
                else:
                    stops.append([])
            else:
                s = stop_index.get(prefix + value)
                stops.append(list(members.get(s, [s])) if s is not None else [])
        for u in stops[0]:
            for v in stops[1]:
                rows.append(
                    (
                        u,
                        v,
                        ref["from_trip"],
                        ref["to_trip"],
                        ref["from_route"],
                        ref["to_route"],
                        min_s,
                    )
                )
    if not rows:
        return empty
    return pd.DataFrame(rows, columns=list(_COLUMNS), dtype=np.int64)


def specificity(rules: pd.DataFrame) -> np.ndarray:
    """GTFS priority of each rule: higher is more specific (trips before routes)."""
    trips = (rules["from_trip"] >= 0).to_numpy(dtype=np.int64) + (rules["to_trip"] >= 0).to_numpy(
        dtype=np.int64
    )
    routes = (rules["from_route"] >= 0).to_numpy(dtype=np.int64) + (
        rules["to_route"] >= 0
    ).to_numpy(dtype=np.int64)
    out: np.ndarray = trips * 10 + routes
    return out
