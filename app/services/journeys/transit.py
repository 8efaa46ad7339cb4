"""Itineraries on the territory's lines: walk and ride, or a volunteer's drive to a station.

:func:`transit_itineraries` asks the RAPTOR router of the service day for journeys, then
checks what the router cannot know: a wheelchair rider needs stops and trips the feed says are
accessible (:mod:`.stops`), and each drive to or from a station needs a volunteer at its own
time (:mod:`.combined`). What fails is left out and the search run again a few times.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..transit import clock_of
from .combined import combined_itineraries, merge_accesses
from .limits import DEFAULT_MAX_VOLUNTEER_DRIVE_MIN, WHEELCHAIR_ROUNDS
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
            acc = merge_accesses(walk_o, {})
            egr = merge_accesses(walk_d, {})
            # The router cannot leave trips out: when every journey found is inaccessible in a
            # wheelchair, search again just after (or, arriving by, just before) them.
            at_s, seen_keys = t_s, set()
            for _ in range(WHEELCHAIR_ROUNDS if facts is not None else 1):
                kept = dropped = 0
                next_s = at_s
                for j in search(walk_o, walk_d, at_s, query.max_transfers):
                    if not j.trips:
                        continue
                    it = itinerary_of(service, router, j, query, acc, egr, generalise, None)
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
