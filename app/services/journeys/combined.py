"""Combined itineraries: a volunteer drives the rider to a station (first mile) or from it
(last mile), and the train or bus does the rest.

Drives are searched wherever some volunteer lives within reach; each one the router uses is
then checked at its own time (:func:`volunteer_check`). A station whose drive has no
volunteer is left out and the search run again, :data:`~.limits.VOLUNTEER_ROUNDS` times at
most.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from .geometry import LatLon, haversine_m
from .limits import (
    FIRST_MILE_BUFFER_S,
    LAST_MILE_BUFFER_S,
    MAX_DRIVE_STATIONS,
    MAX_DRIVE_TO_STOP_M,
    NEAREST_DRIVE_STATIONS,
    VOLUNTEER_ROUNDS,
)
from .roads import Roads, drive_from
from .serialise import itinerary_of, no_volunteer_notice
from .stops import StationChoice, departures_by_stop, rank_stations
from .types import Access, Availability, Generalise, JourneyQuery, SearchResult
from .volunteers import anyone_within_reach, volunteer_for_leg


def drive_accesses(
    service: Any,
    router: Any,
    point: LatLon,
    roads: Roads,
    *,
    towards_point: bool,
    skip_m: float,
    max_drive_s: int,
    excluded: frozenset[str] = frozenset(),
) -> dict[str, Access]:
    """Stations a volunteer can drive the rider to (or from), beyond walking distance.

    Stations are tried by importance (departures per day, see
    :func:`~.stops.rank_stations`), at most :data:`~.limits.MAX_DRIVE_STATIONS`; a drive
    longer than ``max_drive_s`` is not offered; ``excluded`` stops are left out (inaccessible
    in a wheelchair, or found without a volunteer at the drive's time).
    """
    near = router.walks_from_point(point[0], point[1], max_walk_m=MAX_DRIVE_TO_STOP_M)
    departures = departures_by_stop(router)
    groups: dict[str, list[str]] = {}
    where: dict[str, LatLon] = {}
    for stop_id in near:
        if stop_id in excluded:
            continue
        info = service.stop(router, stop_id)
        key = info.parent_id or stop_id
        groups.setdefault(key, []).append(stop_id)
        where.setdefault(key, (info.lat, info.lon))
    stations = [
        StationChoice(
            key,
            where[key],
            tuple(stops),
            sum(departures.get(s, 0) for s in stops),
            haversine_m(point, where[key]),
        )
        for key, stops in groups.items()
    ]
    stations = [s for s in stations if s.distance_m > skip_m]
    ranked = rank_stations(stations, limit=MAX_DRIVE_STATIONS, nearest=NEAREST_DRIVE_STATIONS)
    if not ranked:
        return {}
    if towards_point:
        times = roads.to_point([s.position for s in ranked], point)
        buffer = LAST_MILE_BUFFER_S
    else:
        times = drive_from(roads.times, point, [s.position for s in ranked])
        buffer = FIRST_MILE_BUFFER_S
    out: dict[str, Access] = {}
    for station, t in zip(ranked, times, strict=True):
        if t is None or t > max_drive_s:
            continue
        for stop_id in station.stop_ids:
            out[stop_id] = Access("car", t + buffer, t, station.key)
    return out


def merge_accesses(walks: dict[str, int], drives: dict[str, Access]) -> dict[str, Access]:
    """Each stop's quickest way: the walk, or the drive when it takes less."""
    out = {s: Access("walk", w) for s, w in walks.items()}
    for s, a in drives.items():
        if s not in out or a.seconds < out[s].seconds:
            out[s] = a
    return out


def volunteer_check(
    it: dict[str, Any],
    query: JourneyQuery,
    availability: Availability | None,
    roads: Roads,
    max_drive_s: int,
    stations: dict[str, LatLon],
) -> tuple[str, str] | None:
    """Why a combined itinerary cannot be offered, as (side, station stop id); None when it can.

    Each car leg needs a volunteer at the leg's own time, within reach of both its ends and
    free of bookings then; the legs with the rider together take at most ``max_drive_s``.
    """
    legs = it["legs"]
    cars = [(i, leg) for i, leg in enumerate(legs) if leg["mode"] == "car"]
    if not cars:
        return None
    if sum(leg["duration_s"] for _, leg in cars) > max_drive_s:
        i, longest = max(cars, key=lambda c: c[1]["duration_s"])
        side = "origin" if i == 0 else "destination"
        return side, str((longest["to"] if i == 0 else longest["from"]).get("stop_id", ""))
    for i, leg in cars:
        first_mile = i == 0
        stop_id = str((leg["to"] if first_mile else leg["from"]).get("stop_id", ""))
        station = stations.get(stop_id, (leg["to"]["lat"], leg["to"]["lon"]))
        reach = [query.origin, station] if first_mile else [station, query.destination]
        if availability is None:
            if query.wheelchair:
                leg["wheelchair"] = "unknown"
            continue
        start = dt.datetime.fromisoformat(leg["departure"])
        end = dt.datetime.fromisoformat(leg["arrival"])
        found = volunteer_for_leg(
            availability, roads, reach, start, end, wheelchair=query.wheelchair
        )
        if found is None:
            return ("origin" if first_mile else "destination"), stop_id
        if query.wheelchair:  # found among accessible cars only
            leg["wheelchair"] = "yes"
    return None


def combined_itineraries(
    query: JourneyQuery,
    service: Any,
    router: Any,
    roads: Roads,
    generalise: Generalise,
    booking: dict[str, Any] | None,
    result: SearchResult,
    availability: Availability | None,
    max_drive_s: int,
    walk_o: dict[str, int],
    walk_d: dict[str, int],
    barred: frozenset[str],
    keep: Callable[[dict[str, Any]], bool],
    t_s: int,
) -> None:
    """Add to ``result`` the journeys with a volunteer's drive to (or from) a station.

    ``walk_o`` and ``walk_d`` are the stops within walking distance of each end, ``barred``
    the stops a wheelchair cannot use, ``keep`` the test each itinerary must pass, ``t_s`` the
    query's time on the router's clock.
    """

    def reachable(point: LatLon) -> bool:
        return availability is None or anyone_within_reach(
            availability, point, wheelchair=query.wheelchair
        )

    reach_o, reach_d = reachable(query.origin), reachable(query.destination)
    if not (reach_o or reach_d):
        result.notices.append(no_volunteer_notice())
        return
    plain = router.arrive_by if query.arrive_by else router.depart_after
    # A wheelchair rider: the router leaves out what the feed says is not accessible.
    trip_ok, stop_ok = router.wheelchair_masks() if query.wheelchair else (None, None)

    def search(origins: Any, destinations: Any, at_s: int, max_transfers: int) -> Any:
        return plain(origins, destinations, at_s, max_transfers, trip_ok=trip_ok, stop_ok=stop_ok)

    banned = {"origin": set(barred), "destination": set(barred)}
    seen = {tuple(leg.get("trip_id") for leg in it["legs"]) for it in result.itineraries}
    refused = 0
    for _ in range(VOLUNTEER_ROUNDS):
        drive_o = (
            drive_accesses(
                service,
                router,
                query.origin,
                roads,
                towards_point=False,
                skip_m=query.max_walk_m,
                max_drive_s=max_drive_s,
                excluded=frozenset(banned["origin"]),
            )
            if reach_o
            else {}
        )
        drive_d = (
            drive_accesses(
                service,
                router,
                query.destination,
                roads,
                towards_point=True,
                skip_m=query.max_walk_m,
                max_drive_s=max_drive_s,
                excluded=frozenset(banned["destination"]),
            )
            if reach_d
            else {}
        )
        acc, egr = merge_accesses(walk_o, drive_o), merge_accesses(walk_d, drive_d)
        if not (drive_o or drive_d) or not acc or not egr:
            break
        stations = {s: service.stop(router, s) for s in {*drive_o, *drive_d}}
        positions = {s: (info.lat, info.lon) for s, info in stations.items()}
        journeys = search(
            {s: a.seconds for s, a in acc.items()},
            {s: a.seconds for s, a in egr.items()},
            t_s,
            query.max_transfers,
        )
        again = False
        for j in journeys:
            it = itinerary_of(service, router, j, query, acc, egr, generalise, booking, roads)
            key = tuple(leg.get("trip_id") for leg in it["legs"])
            if it["type"] != "combined" or key in seen:
                continue
            problem = volunteer_check(it, query, availability, roads, max_drive_s, positions)
            if problem is not None:
                side, stop_id = problem
                drives = drive_o if side == "origin" else drive_d
                group = drives.get(stop_id)
                station = group.station if group is not None else stop_id
                banned[side] |= {s for s, a in drives.items() if a.station == station} | {stop_id}
                refused += 1
                again = True
                continue
            if keep(it):
                seen.add(key)
                result.itineraries.append(it)
        if not again:
            break
    if refused and not any(it["type"] == "combined" for it in result.itineraries):
        result.notices.append(
            {
                "code": "no_volunteer_available",
                "message": "No volunteer driver is on call, within reach and free at the time "
                "of the drive to or from the station.",
            }
        )
