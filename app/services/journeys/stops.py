"""What the journey search needs to know about stops and trips beyond the router's answer.

* How busy a stop is (departures per service day, counted from the router's own timetable
  arrays), so that a volunteer drives the rider to the TER station rather than to the nearest
  small bus stop;
* whether stops and trips are accessible in a wheelchair, as the feeds say (GTFS
  ``wheelchair_boarding`` and ``wheelchair_accessible``: 0 or empty unknown, 1 yes, 2 no).

Both are computed once per timetable (router) or per set of feeds and kept in small caches:
the arrays are read-only and a search only looks values up.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: GTFS accessibility values.
WHEELCHAIR_UNKNOWN, WHEELCHAIR_YES, WHEELCHAIR_NO = 0, 1, 2
#: How the answer flags a leg or an itinerary: accessible, unknown (the feed does not say).
WHEELCHAIR_LABEL = {WHEELCHAIR_UNKNOWN: "unknown", WHEELCHAIR_YES: "yes", WHEELCHAIR_NO: "no"}

_lock = threading.Lock()
_departures: weakref.WeakKeyDictionary[Any, dict[str, int]] = weakref.WeakKeyDictionary()
_access: OrderedDict[tuple[str, int], WheelchairFacts] = OrderedDict()
_ACCESS_CACHE_SIZE = 8


def stop_departures(tt: Any) -> np.ndarray:
    """Departures of each stop of a timetable on its base day (``trip_day == 0``).

    A departure is a trip of the day that lets riders board at the stop and goes on from it
    (the last stop of a pattern is not counted, nor a stop where pickup is forbidden).

    Parameters
    ----------
    tt
        A :class:`gtfs_import.Timetable` (read, never modified).

    Returns
    -------
    numpy.ndarray
        ``int64`` of length ``tt.n_stops``.
    """
    n_patterns = len(tt.pattern_stop_offset) - 1
    day0 = np.asarray(tt.trip_day) == 0
    runs = np.bincount(np.asarray(tt.trip_pattern)[day0], minlength=n_patterns)
    lengths = np.diff(np.asarray(tt.pattern_stop_offset))
    pattern_of_entry = np.repeat(np.arange(n_patterns), lengths)
    boards = np.asarray(tt.pattern_pickup, dtype=bool).copy()
    ends = np.asarray(tt.pattern_stop_offset)[1:][lengths > 0] - 1
    boards[ends] = False  # nobody departs from the terminus
    weights = runs[pattern_of_entry] * boards
    counts = np.bincount(np.asarray(tt.pattern_stops), weights=weights, minlength=tt.n_stops)
    return counts.astype(np.int64)


def departures_by_stop(router: Any) -> dict[str, int]:
    """Departures per day of every stop of ``router``'s timetable, by stop id (memoised)."""
    with _lock:
        found = _departures.get(router)
    if found is not None:
        return found
    counts = stop_departures(router.tt)
    found = {str(s): int(c) for s, c in zip(router.tt.stop_ids.tolist(), counts, strict=True)}
    with _lock:
        _departures[router] = found
    return found


@dataclass(frozen=True)
class StationChoice:
    """A station (a parent station, or a stop without one) a volunteer may drive to or from."""

    key: str
    position: tuple[float, float]
    stop_ids: tuple[str, ...]
    departures: int
    distance_m: float


def rank_stations(
    stations: Sequence[StationChoice], *, limit: int, nearest: int
) -> list[StationChoice]:
    """The stations worth trying: the ``nearest`` closest, then the busiest, ``limit`` in all.

    Busiest first is what makes the TER station win over a small stop a little closer; the
    few nearest are kept so that a quiet station next door still serves its one early train.
    """
    by_distance = sorted(stations, key=lambda s: (s.distance_m, s.key))
    chosen = by_distance[: max(0, min(nearest, limit))]
    taken = {s.key for s in chosen}
    busiest = sorted(stations, key=lambda s: (-s.departures, s.distance_m, s.key))
    for s in busiest:
        if len(chosen) >= limit:
            break
        if s.key not in taken:
            chosen.append(s)
            taken.add(s.key)
    return sorted(chosen, key=lambda s: (-s.departures, s.distance_m, s.key))


# -- wheelchair ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WheelchairFacts:
    """Accessibility of the stops and trips of a set of feeds, by namespaced id."""

    stops: dict[str, int]
    trips: dict[str, int]

    def stop(self, stop_id: str | None) -> int:
        """The stop's value (unknown when the feed does not say)."""
        return self.stops.get(stop_id or "", WHEELCHAIR_UNKNOWN)

    def trip(self, trip_id: str | None) -> int:
        """The trip's value (unknown when the feed does not say)."""
        return self.trips.get(trip_id or "", WHEELCHAIR_UNKNOWN)


def _values(table: Any, id_column: str, column: str) -> dict[str, int]:
    if table is None or column not in getattr(table, "columns", ()):
        return {}
    values = table[column].astype("float64").fillna(0).astype(int)
    ids = table[id_column].astype(str)
    return {i: v if v in (1, 2) else 0 for i, v in zip(ids, values, strict=True)}


def wheelchair_facts(service: Any, router: Any) -> WheelchairFacts:
    """Accessibility of the stops and trips of ``router``'s timetable, read from the feeds.

    Ids are namespaced as the timetable does (``"<feed name>:<id>"`` with several feeds). A
    stop with 0 (or no value) inherits its parent station's value, as GTFS says.
    """
    tt = router.tt
    key = (str(getattr(service, "fingerprint", id(service))), len(tt.stop_ids))
    with _lock:
        found = _access.get(key)
        if found is not None:
            _access.move_to_end(key)
            return found
    names = [str(n) for n in tt.feed_names.tolist()]
    prefixes = [""] if len(names) <= 1 else [f"{n}:" for n in names]
    stops: dict[str, int] = {}
    trips: dict[str, int] = {}
    for feed, prefix in zip(service.feeds, prefixes, strict=False):
        for sid, v in _values(feed.stops, "stop_id", "wheelchair_boarding").items():
            stops[prefix + sid] = v
        for tid, v in _values(feed.trips, "trip_id", "wheelchair_accessible").items():
            trips[prefix + tid] = v
    ids = tt.stop_ids.tolist()
    for i, parent in enumerate(tt.stop_parent.tolist()):
        if parent >= 0 and stops.get(ids[i], 0) == WHEELCHAIR_UNKNOWN:
            inherited = stops.get(ids[parent], 0)
            if inherited:
                stops[ids[i]] = inherited
    found = WheelchairFacts(stops, trips)
    with _lock:
        _access[key] = found
        while len(_access) > _ACCESS_CACHE_SIZE:
            _access.popitem(last=False)
    return found


def worst(values: Sequence[int]) -> int:
    """The itinerary's accessibility from its parts': no if one is no, unknown if one is."""
    if WHEELCHAIR_NO in values:
        return WHEELCHAIR_NO
    if WHEELCHAIR_UNKNOWN in values:
        return WHEELCHAIR_UNKNOWN
    return WHEELCHAIR_YES


def label_wheelchair(itinerary: dict[str, Any], facts: WheelchairFacts) -> int:
    """Flag each leg and the itinerary with its accessibility ("yes", "no", "unknown").

    A public-transport leg takes the worst of its trip, its boarding stop and its alighting
    stop; a car leg keeps the flag set when its volunteer was found (unknown otherwise); walks
    do not count. Returns the itinerary's value.
    """
    parts: list[int] = []
    codes = {label: code for code, label in WHEELCHAIR_LABEL.items()}
    for leg in itinerary["legs"]:
        if leg["mode"] == "walk":
            continue
        if leg["mode"] == "car":
            value = codes.get(str(leg.get("wheelchair", "unknown")), WHEELCHAIR_UNKNOWN)
        else:
            value = worst(
                [
                    facts.trip(leg.get("trip_id")),
                    facts.stop(leg["from"].get("stop_id")),
                    facts.stop(leg["to"].get("stop_id")),
                ]
            )
        leg["wheelchair"] = WHEELCHAIR_LABEL[value]
        parts.append(value)
    value = worst(parts) if parts else WHEELCHAIR_YES
    itinerary["wheelchair"] = WHEELCHAIR_LABEL[value]
    return value
