"""Itineraries as JSON-ready dicts: places, legs (walk, car, public transport), GeoJSON lines.

The shapes are those of the open-data API (``/api/v1/journeys``); a place given for a rider
or a volunteer is always a generalised one (see :mod:`.places`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from .geometry import LatLon, haversine_m
from .limits import WALK_SPEED_M_S
from .roads import Roads
from .types import Access, Generalise, JourneyQuery, PlaceRef

_MODE_OF_ROUTE_TYPE = {
    0: "tram",
    1: "subway",
    2: "rail",
    3: "bus",
    4: "ferry",
    5: "cable_car",
    6: "aerial_lift",
    7: "funicular",
    11: "trolleybus",
    12: "monorail",
}


def transit_mode(route_type: int) -> str:
    """Plain mode name of a GTFS route type (basic or extended)."""
    if route_type in _MODE_OF_ROUTE_TYPE:
        return _MODE_OF_ROUTE_TYPE[route_type]
    if 100 <= route_type < 200:
        return "rail"
    if 200 <= route_type < 300:
        return "coach"
    if 700 <= route_type < 800:
        return "bus"
    if 1500 <= route_type < 1600:
        return "carpool" if route_type == 1551 else "taxi"
    return "other"


def iso(when: dt.datetime) -> str:
    """An instant as ISO 8601 to the second, with its offset."""
    return when.isoformat(timespec="seconds")


def line(points: Iterable[LatLon]) -> dict[str, Any]:
    """A GeoJSON LineString (lon, lat to 6 decimals), repeated points dropped, two at least."""
    coords: list[list[float]] = []
    for lat, lon in points:
        c = [round(lon, 6), round(lat, 6)]
        if not coords or coords[-1] != c:
            coords.append(c)
    if len(coords) == 1:
        coords.append(list(coords[0]))
    return {"type": "LineString", "coordinates": coords}


def merge_lines(legs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One LineString through the geometries of ``legs``, in order."""
    pts: list[LatLon] = []
    for leg in legs:
        pts.extend((lat, lon) for lon, lat in leg["geometry"]["coordinates"])
    return line(pts)


def stop_place(service: Any, router: Any, stop_id: str) -> dict[str, Any]:
    """A stop as a place, named after its parent station when it has one."""
    s = service.stop(router, stop_id)
    name = s.name
    if s.parent_id:
        parent = service.stop(router, s.parent_id)
        name = parent.name or name
    return {
        "name": name,
        "lat": round(s.lat, 6),
        "lon": round(s.lon, 6),
        "stop_id": stop_id,
        "kind": "stop",
    }


def point_place(name: str, ll: LatLon, kind: str) -> dict[str, Any]:
    """The query's own origin or destination as a place (the rider gave it)."""
    return {"name": name, "lat": round(ll[0], 6), "lon": round(ll[1], 6), "kind": kind}


def generalised_place(place: PlaceRef) -> dict[str, Any]:
    """A public place standing for a rider's or a volunteer's point."""
    return {
        "name": place.name,
        "lat": round(place.lat, 6),
        "lon": round(place.lon, 6),
        "kind": place.kind,
        "generalised": True,
    }


def no_volunteer_notice() -> dict[str, str]:
    """The notice of a search that found no volunteer on call."""
    return {
        "code": "no_volunteer_available",
        "message": "No volunteer driver is on call near there at that time.",
    }


def transit_leg(
    service: Any, router: Any, leg: Any, dep: dt.datetime, arr: dt.datetime
) -> dict[str, Any]:
    """A leg on a line of the territory, its stops and its route."""
    route = service.route(router, leg.route_id)
    stops = [leg.from_stop_id, *leg.intermediate_stop_ids, leg.to_stop_id]
    places = [stop_place(service, router, s) for s in stops]
    # A headway-based trip (frequencies.txt, exact_times 0): the times are an estimate, the
    # line runs every headway_s seconds.
    headway = (
        {"frequency_based": True, "headway_s": int(leg.headway_s)}
        if getattr(leg, "frequency_based", False) and leg.headway_s
        else {}
    )
    return {
        "mode": transit_mode(route.route_type),
        "from": places[0],
        "to": places[-1],
        "departure": iso(dep),
        "arrival": iso(arr),
        "duration_s": leg.duration_s,
        "route": {
            "id": route.route_id,
            "short_name": route.short_name,
            "long_name": route.long_name,
            "type": route.route_type,
            "agency": route.agency,
        },
        "trip_id": leg.trip_id,
        "headsign": leg.headsign,
        **headway,
        "intermediate_stops": places[1:-1],
        "distance_m": int(
            sum(
                haversine_m((a["lat"], a["lon"]), (b["lat"], b["lon"]))
                for a, b in zip(places, places[1:], strict=False)
            )
        ),
        # The trip's shape between the two stops (shapes.txt), else the stops in order.
        "geometry": line(getattr(leg, "geometry", ()) or [(p["lat"], p["lon"]) for p in places]),
    }


def itinerary_of(
    service: Any,
    router: Any,
    journey: Any,
    query: JourneyQuery,
    access: dict[str, Access],
    egress: dict[str, Access],
    generalise: Generalise,
    booking: dict[str, Any] | None,
    roads: Roads | None = None,
) -> dict[str, Any]:
    """A router's journey as an itinerary: its walks, its lines, and a volunteer's drive to
    or from a station where ``access`` or ``egress`` says the stop is reached by car."""
    legs: list[dict[str, Any]] = []
    for leg in journey.legs:
        dep, arr = service.at(router, leg.departure_s), service.at(router, leg.arrival_s)
        if leg.mode == "transit":
            legs.append(transit_leg(service, router, leg, dep, arr))
            continue
        # A walk, or the access/egress of a stop reached by car.
        start = stop_place(service, router, leg.from_stop_id) if leg.from_stop_id else None
        end = stop_place(service, router, leg.to_stop_id) if leg.to_stop_id else None
        way = None
        if leg.from_stop_id is None and leg.to_stop_id in access:
            way = access[leg.to_stop_id]
        elif leg.to_stop_id is None and leg.from_stop_id in egress:
            way = egress[leg.from_stop_id]
        if way is not None and way.mode == "car":
            if start is None:  # first mile: origin -> station, then wait for the train
                start = generalised_place(generalise(query.origin))
                arr = dep + dt.timedelta(seconds=way.drive_s)
            else:  # last mile: station -> destination, after the rider is out of the train
                end = generalised_place(generalise(query.destination))
                dep = arr - dt.timedelta(seconds=way.drive_s)
            assert start is not None and end is not None
            legs.append(car_leg(start, end, dep, arr, booking, roads))
            continue
        start = start or point_place("Départ", query.origin, "origin")
        end = end or point_place("Arrivée", query.destination, "destination")
        legs.append(
            {
                "mode": "walk",
                "from": start,
                "to": end,
                "departure": iso(dep),
                "arrival": iso(arr),
                "duration_s": leg.duration_s,
                "distance_m": int(round(leg.duration_s * WALK_SPEED_M_S)),
                "geometry": line([(start["lat"], start["lon"]), (end["lat"], end["lon"])]),
            }
        )
    return finish(legs, journey.transfers)


def car_leg(
    start: dict[str, Any],
    end: dict[str, Any],
    dep: dt.datetime,
    arr: dt.datetime,
    booking: dict[str, Any] | None,
    roads: Roads | None = None,
) -> dict[str, Any]:
    """A volunteer's drive between two places, along the road when the engine draws it."""
    a, b = (start["lat"], start["lon"]), (end["lat"], end["lon"])
    found = roads.route(a, b) if roads is not None and roads.route is not None else None
    leg = {
        "mode": "car",
        "from": start,
        "to": end,
        "departure": iso(dep),
        "arrival": iso(arr),
        "duration_s": int((arr - dep).total_seconds()),
        "distance_m": int(found[1]) if found else int(haversine_m(a, b)),
        "geometry": line([a, *(found[2] if found else []), b]),
        "operator": "volunteer",
    }
    if booking:
        leg["booking"] = booking
    return leg


def finish(legs: list[dict[str, Any]], transfers: int) -> dict[str, Any]:
    """The itinerary of ``legs``: its kind, times, walking and whole line."""
    modes = {leg["mode"] for leg in legs}
    has_car = "car" in modes
    has_transit = bool(modes - {"walk", "car"})
    kind = "combined" if has_car and has_transit else ("solidarity" if has_car else "transit")
    dep = dt.datetime.fromisoformat(legs[0]["departure"])
    arr = dt.datetime.fromisoformat(legs[-1]["arrival"])
    walks = [leg for leg in legs if leg["mode"] == "walk"]
    return {
        "type": kind,
        "departure": legs[0]["departure"],
        "arrival": legs[-1]["arrival"],
        "duration_s": int((arr - dep).total_seconds()),
        "transfers": transfers,
        "walking_m": sum(leg["distance_m"] for leg in walks),
        "walking_s": sum(leg["duration_s"] for leg in walks),
        "legs": legs,
        "geometry": merge_lines(legs),
    }
