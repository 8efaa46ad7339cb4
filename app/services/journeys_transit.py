"""Itineraries on the territory's lines: walk and ride, or a volunteer's drive to a station.

:func:`transit_itineraries` asks the RAPTOR router of the service day for journeys, then
checks what the router cannot know: each drive to (or from) a station needs a volunteer on
call at the drive's own time, within reach and free of bookings
(:mod:`app.services.journeys_volunteers`), and a wheelchair rider needs stops and trips the
feed says are accessible (:mod:`app.services.journeys_stops`). What fails is left out and
the search run again a few times; the itineraries are JSON-ready dicts of
:mod:`app.services.journeys`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from .journeys import (
    FIRST_MILE_BUFFER_S,
    LAST_MILE_BUFFER_S,
    MAX_DRIVE_STATIONS,
    MAX_DRIVE_TO_STOP_M,
    NEAREST_DRIVE_STATIONS,
    VOLUNTEER_ROUNDS,
    WHEELCHAIR_ROUNDS,
    Availability,
    Generalise,
    JourneyQuery,
    LatLon,
    Roads,
    SearchResult,
    _Access,
    _drive,
    _itinerary_of,
    _no_volunteer_notice,
    haversine_m,
)


def _drive_accesses(
    service: Any,
    router: Any,
    point: LatLon,
    roads: Roads,
    *,
    towards_point: bool,
    skip_m: float,
    max_drive_s: int,
    excluded: frozenset[str] = frozenset(),
) -> dict[str, _Access]:
    """Stations a volunteer can drive the rider to (or from), beyond walking distance.

    Stations are tried by importance (departures per day, see
    :func:`~app.services.journeys_stops.rank_stations`), at most :data:`MAX_DRIVE_STATIONS`;
    a drive longer than ``max_drive_s`` is not offered; ``excluded`` stops are left out
    (inaccessible in a wheelchair, or found without a volunteer at the drive's time).
    """
    from .journeys_stops import StationChoice, departures_by_stop, rank_stations

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
        times = _drive(roads.times, point, [s.position for s in ranked])
        buffer = FIRST_MILE_BUFFER_S
    out: dict[str, _Access] = {}
    for station, t in zip(ranked, times, strict=True):
        if t is None or t > max_drive_s:
            continue
        for stop_id in station.stop_ids:
            out[stop_id] = _Access("car", t + buffer, t, station.key)
    return out


def _merge_accesses(walks: dict[str, int], drives: dict[str, _Access]) -> dict[str, _Access]:
    out = {s: _Access("walk", w) for s, w in walks.items()}
    for s, a in drives.items():
        if s not in out or a.seconds < out[s].seconds:
            out[s] = a
    return out


def _volunteer_check(
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
    from .journeys_volunteers import volunteer_for_leg

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


def transit_itineraries(
    query: JourneyQuery,
    service: Any,
    roads: Roads | None,
    generalise: Generalise,
    booking: dict[str, Any] | None,
    result: SearchResult,
    availability: Availability | None = None,
    max_volunteer_drive_s: int = 45 * 60,
) -> None:
    from .journeys_stops import WHEELCHAIR_NO, label_wheelchair, wheelchair_facts
    from .transit import clock_of

    day, _ = clock_of(query.when, service.tz)
    router = service.router_for(day)
    if router is None:
        result.notices.append(
            {
                "code": "no_transit_service",
                "message": f"No line of the territory runs on {day.isoformat()} "
                f"(timetables cover {service.first_day} to {service.last_day}).",
            }
        )
        return
    t_s = service.seconds(router, query.when)
    facts = wheelchair_facts(service, router) if query.wheelchair else None
    walk_o = router.walks_from_point(*query.origin, max_walk_m=query.max_walk_m)
    walk_d = router.walks_from_point(*query.destination, max_walk_m=query.max_walk_m)
    barred: frozenset[str] = frozenset()
    if facts is not None:
        barred = frozenset(s for s in {*walk_o, *walk_d} if facts.stop(s) == WHEELCHAIR_NO)
        walk_o = {s: w for s, w in walk_o.items() if s not in barred}
        walk_d = {s: w for s, w in walk_d.items() if s not in barred}
    search = router.arrive_by if query.arrive_by else router.depart_after
    inaccessible = 0

    def keep(it: dict[str, Any]) -> bool:
        nonlocal inaccessible
        if facts is None:
            return True
        if label_wheelchair(it, facts) == WHEELCHAIR_NO:
            inaccessible += 1
            return False
        return True

    if "transit" in query.modes:
        if walk_o and walk_d:
            acc = _merge_accesses(walk_o, {})
            egr = _merge_accesses(walk_d, {})
            # The router cannot leave trips out: when every journey found is inaccessible in a
            # wheelchair, search again just after (or, arriving by, just before) them.
            at_s, seen_keys = t_s, set()
            for _ in range(WHEELCHAIR_ROUNDS if facts is not None else 1):
                kept = dropped = 0
                next_s = at_s
                for j in search(walk_o, walk_d, at_s, query.max_transfers):
                    if not j.trips:
                        continue
                    it = _itinerary_of(service, router, j, query, acc, egr, generalise, None)
                    key = tuple(leg.get("trip_id") for leg in it["legs"])
                    if key in seen_keys:
                        continue
                    seen_keys.add(key)
                    if keep(it):
                        result.itineraries.append(it)
                        kept += 1
                        continue
                    dropped += 1
                    edge = it["arrival"] if query.arrive_by else it["departure"]
                    edge_s = service.seconds(router, dt.datetime.fromisoformat(edge))
                    next_s = (
                        min(next_s, edge_s - 60) if query.arrive_by else max(next_s, edge_s + 60)
                    )
                if kept or not dropped:
                    break
                at_s = next_s
        else:
            which = "origin" if not walk_o else "destination"
            result.notices.append(
                {
                    "code": f"no_stop_near_{which}",
                    "message": f"No stop within {int(query.max_walk_m)} m of the {which}.",
                }
            )
    if "combined" in query.modes and roads is not None:
        _combined_itineraries(
            query,
            service,
            router,
            roads,
            generalise,
            booking,
            result,
            availability,
            max_volunteer_drive_s,
            walk_o,
            walk_d,
            barred,
            keep,
            t_s,
        )
    if inaccessible:
        result.notices.append(
            {
                "code": "wheelchair_excluded",
                "message": f"{inaccessible} itinerary(ies) left out: a stop or a trip is not "
                "accessible in a wheelchair according to the timetable.",
            }
        )


def _combined_itineraries(
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
    """A volunteer's drive to (or from) a station, then the train or bus.

    Drives are searched wherever some volunteer lives within reach; each one found is then
    checked at its own time (:func:`_volunteer_check`). A station whose drive has no
    volunteer is left out and the search run again, :data:`VOLUNTEER_ROUNDS` times at most.
    """
    from .journeys_volunteers import anyone_within_reach

    def reachable(point: LatLon) -> bool:
        return availability is None or anyone_within_reach(
            availability, point, wheelchair=query.wheelchair
        )

    reach_o, reach_d = reachable(query.origin), reachable(query.destination)
    if not (reach_o or reach_d):
        result.notices.append(_no_volunteer_notice())
        return
    search = router.arrive_by if query.arrive_by else router.depart_after
    banned = {"origin": set(barred), "destination": set(barred)}
    seen = {tuple(leg.get("trip_id") for leg in it["legs"]) for it in result.itineraries}
    refused = 0
    for _ in range(VOLUNTEER_ROUNDS):
        drive_o = (
            _drive_accesses(
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
            _drive_accesses(
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
        acc, egr = _merge_accesses(walk_o, drive_o), _merge_accesses(walk_d, drive_d)
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
            it = _itinerary_of(service, router, j, query, acc, egr, generalise, booking, roads)
            key = tuple(leg.get("trip_id") for leg in it["legs"])
            if it["type"] != "combined" or key in seen:
                continue
            problem = _volunteer_check(it, query, availability, roads, max_drive_s, positions)
            if problem is not None:
                side, stop_id = problem
                group = (drive_o if side == "origin" else drive_d).get(stop_id)
                station = group.station if group is not None else stop_id
                lost = {
                    s
                    for s, a in (drive_o if side == "origin" else drive_d).items()
                    if a.station == station
                } | {stop_id}
                banned[side] |= lost
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
