"""Itineraries on the territory's lines: walk and ride, or a volunteer's drive to a station.

:func:`transit_itineraries` asks the RAPTOR router of the service day for journeys, then
leaves out, for a wheelchair rider, the stops and trips the feed says are not accessible (its
masks; :mod:`.stops` labels the others yes or unknown), and searches over the query's window
(range RAPTOR). Each drive to or from a station needs a volunteer at its own time
(:mod:`.combined`): what fails is left out and the search run again a few times.
"""

from __future__ import annotations

from typing import Any

from ..transit import clock_of
from .combined import combined_itineraries, merge_accesses
from .limits import DEFAULT_MAX_VOLUNTEER_DRIVE_MIN
from .roads import Roads
from .serialise import itinerary_of
from .stops import WHEELCHAIR_NO, label_wheelchair, wheelchair_facts
from .types import Availability, Generalise, JourneyQuery, SearchResult


def transit_itineraries(
    query: JourneyQuery,
    service: Any,
    roads: Roads | None,
    generalise: Generalise,
    booking: dict[str, Any] | None,
    result: SearchResult,
    availability: Availability | None = None,
    max_volunteer_drive_s: int = DEFAULT_MAX_VOLUNTEER_DRIVE_MIN * 60,
) -> None:
    """Add to ``result`` the walk-and-ride journeys of ``service`` (a
    :class:`~app.services.transit.TransitService`) and, with ``combined`` among the modes and
    road times known, those with a volunteer's drive to or from a station."""
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
    # A wheelchair rider: the router leaves out what the feed says is not accessible.
    trip_ok, stop_ok = router.wheelchair_masks() if facts is not None else (None, None)
    search = router.arrive_window if query.arrive_by else router.depart_window
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
            acc = merge_accesses(walk_o, {})
            egr = merge_accesses(walk_d, {})
            seen_keys = set()
            found = search(walk_o, walk_d, t_s, query.window_s, query.max_transfers,
                           trip_ok=trip_ok, stop_ok=stop_ok)
            for j in found:
                if not j.trips:
                    continue
                it = itinerary_of(service, router, j, query, acc, egr, generalise, None)
                key = tuple(leg.get("trip_id") for leg in it["legs"])
                if key in seen_keys:
                    continue
                seen_keys.add(key)
                if keep(it):  # labels each leg's accessibility (yes / unknown)
                    result.itineraries.append(it)
            if trip_ok is not None:
                # Say how many journeys the masks left out: those of the same search without
                # them that ride a trip or use a stop the feed says a wheelchair cannot.
                inaccessible += _left_out(router, trip_ok, stop_ok, seen_keys, search(
                    walk_o, walk_d, t_s, query.window_s, query.max_transfers))
        else:
            which = "origin" if not walk_o else "destination"
            result.notices.append(
                {
                    "code": f"no_stop_near_{which}",
                    "message": f"No stop within {int(query.max_walk_m)} m of the {which}.",
                }
            )
    if "combined" in query.modes and roads is not None:
        combined_itineraries(
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


def _left_out(router: Any, trip_ok: Any, stop_ok: Any, kept: set[tuple[Any, ...]],
              journeys: Any) -> int:
    """How many of ``journeys`` (found without the wheelchair masks) the masks exclude."""
    tt = router.tt
    kept = {tuple(t for t in key if t) for key in kept}  # the trips of the journeys kept
    barred_trips = set(tt.trip_ids[~trip_ok].tolist())
    barred_stops = set(tt.stop_ids[~stop_ok].tolist())
    out = 0
    for j in journeys:
        rides = [leg for leg in j.legs if leg.mode == "transit"]
        if not rides or tuple(leg.trip_id for leg in rides) in kept:
            continue
        if any(leg.trip_id in barred_trips or leg.from_stop_id in barred_stops
               or leg.to_stop_id in barred_stops for leg in rides):
            out += 1
    return out
