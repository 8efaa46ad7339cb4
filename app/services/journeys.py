"""Journey search for open-data consumers: trains and buses, volunteer rides, and both combined.

Three kinds of itineraries answer one query (origin, destination, time):

* ``transit``: walk, ride the territory's lines (RAPTOR over its GTFS feeds), walk;
* ``carpool`` and ``solidarity``: a volunteer's planned trip that can take the rider on a small
  detour (an active :class:`~app.models.DriverOffer`), or a ride on request from the solidarity
  service, booked by phone;
* ``combined``: a volunteer drives the rider to a station or stop (first mile) or from it
  (last mile), and the train or bus does the rest.

What leaves this module is meant for the public: no volunteer's name, phone or home; a
rider is picked up at a generalised place (town hall, station, commune), the exact meeting
point being agreed with the service. Volunteers appear only with their recorded consent, their
trips as if they went from commune centre to commune centre, their times rounded (the rules are
in :mod:`app.services.publication`).

Road travel times come from the matching engine through :mod:`app.services.matching` as a
:data:`DriveTimes` function; without it, volunteer options are left out and a notice says so.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

LatLon = tuple[float, float]
#: ``drive_times(from_latlon, to_latlons) -> seconds`` (None where unreachable).
DriveTimes = Callable[[LatLon, Sequence[LatLon]], Sequence[float | None]]
#: ``drive_times_to(from_latlons, to_latlon) -> seconds`` (None where unreachable).
DriveTimesTo = Callable[[Sequence[LatLon], LatLon], Sequence[float | None]]
#: ``drive_lengths(from_latlon, to_latlons) -> metres`` (None where unreachable).
DriveLengths = Callable[[LatLon, Sequence[LatLon]], Sequence[float | None]]
#: ``drive_route(a, b) -> (seconds, metres, [(lat, lon), ...])`` or None.
DriveRoute = Callable[[LatLon, LatLon], "tuple[int, float, list[LatLon]] | None"]
#: ``generalise(latlon) -> place`` (see :class:`PlaceRef`).
Generalise = Callable[[LatLon], "PlaceRef"]

MODES = ("transit", "solidarity", "combined")
WALK_SPEED_M_S = 4.5 / 3.6
#: Walking to or from a stop, straight line (the router adds a detour factor).
MAX_WALK_M = 1200.0
#: Stations a volunteer may drive a rider to or from, straight line.
MAX_DRIVE_TO_STOP_M = 30_000.0
#: At most this many stations (grouped by parent station) are tried for a drive: the
#: :data:`NEAREST_DRIVE_STATIONS` nearest, then the busiest (departures per day).
MAX_DRIVE_STATIONS = 12
NEAREST_DRIVE_STATIONS = 3
#: Greatest ``max_walk_m`` a query may ask for (beyond it, a drive to the station is the offer).
MAX_WALK_LIMIT_M = 5000.0
#: Rounds of search when drives to stations turn out to have no volunteer at their time.
VOLUNTEER_ROUNDS = 3
#: Rounds of search when every journey found is inaccessible in a wheelchair.
WHEELCHAIR_ROUNDS = 4
#: Rider dropped at the station this long before the train; picked up this long after arrival.
FIRST_MILE_BUFFER_S = 600
LAST_MILE_BUFFER_S = 300
#: "Transport d'utilité sociale" trips are at most 100 km.
MAX_SOLIDARITY_M = 100_000.0
#: Volunteer trips offered around the requested time.
CARPOOL_WINDOW_S = 1800
EARTH_RADIUS_M = 6_371_000.0


class JourneyQueryError(ValueError):
    """A journey query is malformed; ``parameter`` names the culprit."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


@dataclass(frozen=True)
class JourneyQuery:
    """A journey search. ``when`` is aware; with ``arrive_by`` it is the latest arrival."""

    origin: LatLon
    destination: LatLon
    when: dt.datetime
    arrive_by: bool = False
    max_transfers: int = 4
    modes: frozenset[str] = frozenset(MODES)
    max_walk_m: float = MAX_WALK_M
    #: Only stops, trips and cars said to be accessible; "unknown" ones kept but flagged.
    wheelchair: bool = False


@dataclass(frozen=True)
class PlaceRef:
    """A public place standing for a precise point (a rider's or a volunteer's)."""

    name: str
    lat: float
    lon: float
    kind: str


@dataclass(frozen=True)
class OfferView:
    """An active volunteer trip, as plain values (see :func:`load_offer_views`).

    One-off trips have a departure window; regular trips weekdays (0 = Monday), a time of day
    and a flexibility, within an optional validity period. Loaded for the public, ``origin``
    and ``destination`` are commune centres, not the volunteer's points.
    """

    id: int
    kind: str  # one_off | regular
    origin: LatLon
    destination: LatLon
    seats: int
    max_detour_s: int
    departure_earliest: dt.datetime | None = None
    departure_latest: dt.datetime | None = None
    weekdays: frozenset[int] = frozenset()
    time_of_day_s: int | None = None
    flexibility_s: int = 900
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    wheelchair: bool = False


@dataclass(frozen=True)
class VolunteerView:
    """When and how far a volunteer drives on request (weekday 0 = Monday × slot grid).

    ``home`` is the centre of her commune; ``driver_id`` links her to her bookings and never
    leaves the server.
    """

    home: LatLon
    max_distance_m: float
    cells: frozenset[tuple[int, str]]
    driver_id: int | None = None
    wheelchair: bool = False


Interval = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True)
class Availability:
    """The volunteers on call, the local hours of the grid's slots, and the time their
    pending or accepted proposals already take (``busy``, by driver id)."""

    volunteers: Sequence[VolunteerView]
    slot_hours: dict[str, tuple[int, int]]
    tz: dt.tzinfo
    busy: Mapping[int, Sequence[Interval]] = field(default_factory=dict)

    def on_call(self, v: VolunteerView, when: dt.datetime) -> bool:
        """Whether her weekly grid covers the instant ``when``."""
        local = when.astimezone(self.tz)
        return any(
            h0 <= local.hour < h1 and (local.weekday(), s) in v.cells
            for s, (h0, h1) in self.slot_hours.items()
        )

    def is_free(self, v: VolunteerView, start: dt.datetime, end: dt.datetime) -> bool:
        """Whether no booking of hers overlaps [start, end]."""
        if v.driver_id is None:
            return True
        return not any(b0 < end and start < b1 for b0, b1 in self.busy.get(v.driver_id, ()))

    def anyone_near(self, point: LatLon, when: dt.datetime) -> bool:
        """Whether a volunteer available at ``when`` lives within their distance of ``point``."""
        local = when.astimezone(self.tz)
        slots = {s for s, (h0, h1) in self.slot_hours.items() if h0 <= local.hour < h1}
        cells = {(local.weekday(), s) for s in slots}
        return any(
            v.cells & cells and haversine_m(v.home, point) <= v.max_distance_m
            for v in self.volunteers
        )


@dataclass(frozen=True)
class OfferMatch:
    """A volunteer trip that can take the rider from the origin to the destination."""

    offer: OfferView
    driver_departure_at: dt.datetime
    pickup_at: dt.datetime
    dropoff_at: dt.datetime
    ride_s: int
    detour_s: int


@dataclass(frozen=True)
class Roads:
    """Road travel times of the engine: one-to-many, many-to-one (optional), route (optional)."""

    times: DriveTimes
    times_to: DriveTimesTo | None = None
    route: DriveRoute | None = None
    lengths: DriveLengths | None = None

    def from_point(self, source: LatLon, targets: Sequence[LatLon]) -> list[int | None]:
        """Drive times from ``source`` to each target."""
        return _drive(self.times, source, targets)

    def lengths_from(self, source: LatLon, targets: Sequence[LatLon]) -> list[float | None] | None:
        """Road lengths in metres from ``source`` to each target; None when not known."""
        if self.lengths is None:
            return None
        return [
            None if m is None or not math.isfinite(float(m)) else float(m)
            for m in self.lengths(source, list(targets))
        ]

    def to_point(self, sources: Sequence[LatLon], target: LatLon) -> list[int | None]:
        """Drive times from each source to ``target``."""
        if self.times_to is not None:
            raw = list(self.times_to(list(sources), target))
            return [_plausible(t, a, target) for t, a in zip(raw, sources, strict=True)]
        return [_drive(self.times, s, [target])[0] for s in sources]


@dataclass
class SearchResult:
    """Itineraries (JSON-ready dicts) and notices saying what could not be searched."""

    itineraries: list[dict[str, Any]] = field(default_factory=list)
    notices: list[dict[str, str]] = field(default_factory=list)


# -- geometry helpers -------------------------------------------------------------------


def haversine_m(a: LatLon, b: LatLon) -> float:
    """Great-circle distance in metres."""
    la1, lo1, la2, lo2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _line(points: Iterable[LatLon]) -> dict[str, Any]:
    coords: list[list[float]] = []
    for lat, lon in points:
        c = [round(lon, 6), round(lat, 6)]
        if not coords or coords[-1] != c:
            coords.append(c)
    if len(coords) == 1:
        coords.append(list(coords[0]))
    return {"type": "LineString", "coordinates": coords}


def _merge_lines(legs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    pts: list[LatLon] = []
    for leg in legs:
        pts.extend((lat, lon) for lon, lat in leg["geometry"]["coordinates"])
    return _line(pts)


def _iso(when: dt.datetime) -> str:
    return when.isoformat(timespec="seconds")


#: No drive is faster than this on average; a faster answer means a point lies off the road
#: graph (snapped to a far node), and is treated as unreachable.
MAX_PLAUSIBLE_SPEED_M_S = 130 / 3.6
SNAP_TOLERANCE_M = 1500.0


def _plausible(t: float | None, a: LatLon, b: LatLon) -> int | None:
    if t is None or not math.isfinite(float(t)) or t < 0:
        return None
    if haversine_m(a, b) - SNAP_TOLERANCE_M > float(t) * MAX_PLAUSIBLE_SPEED_M_S:
        return None
    return int(round(float(t)))


def _drive(drive_times: DriveTimes, source: LatLon, targets: Sequence[LatLon]) -> list[int | None]:
    """Drive times as ints, None where unreachable (whatever the engine's sentinel) or implausible."""
    if not targets:
        return []
    return [
        _plausible(t, source, b)
        for t, b in zip(drive_times(source, list(targets)), targets, strict=True)
    ]


def drive_seconds(drive_times: DriveTimes, a: LatLon, b: LatLon) -> int | None:
    """Road time from ``a`` to ``b`` in seconds, None when unreachable or off the road graph."""
    return _drive(drive_times, a, [b])[0]


# -- volunteer trips --------------------------------------------------------------------


def match_offer(
    offer: OfferView,
    origin: LatLon,
    destination: LatLon,
    target: dt.datetime,
    drive_times: DriveTimes,
    *,
    ride_s: int,
    target_is_arrival: bool = False,
    day: dt.date | None = None,
    tz: dt.tzinfo | None = None,
) -> OfferMatch | None:
    """Whether a volunteer's trip can take the rider along, and when.

    The driver leaves the trip's origin A within its window, picks the rider up at
    ``origin``, drops them at ``destination`` and drives on to the trip's destination B; the
    added time must fit the offer's ``max_detour_s``. The pickup (or, with
    ``target_is_arrival``, the drop-off, never later than ``target``) is as close to
    ``target`` as the window allows. Regular trips are taken on ``day`` (local, ``tz``).
    """
    window = _window(offer, day, tz)
    if window is None or offer.seats < 1:
        return None
    earliest, latest = window
    a_o, a_b = _drive(drive_times, offer.origin, [origin, offer.destination])
    (d_b,) = _drive(drive_times, destination, [offer.destination])
    if a_o is None or a_b is None or d_b is None:
        return None
    detour = a_o + ride_s + d_b - a_b
    if detour > offer.max_detour_s:
        return None
    if target_is_arrival:
        leave = min(latest, target - dt.timedelta(seconds=a_o + ride_s))
        if leave < earliest:
            return None
    else:
        leave = min(max(target - dt.timedelta(seconds=a_o), earliest), latest)
    pickup = leave + dt.timedelta(seconds=a_o)
    return OfferMatch(
        offer, leave, pickup, pickup + dt.timedelta(seconds=ride_s), ride_s, max(0, detour)
    )


def _window(
    offer: OfferView, day: dt.date | None, tz: dt.tzinfo | None
) -> tuple[dt.datetime, dt.datetime] | None:
    if offer.kind == "regular":
        if (
            day is None
            or tz is None
            or offer.time_of_day_s is None
            or day.weekday() not in offer.weekdays
        ):
            return None
        if (offer.valid_from and day < offer.valid_from) or (
            offer.valid_until and day > offer.valid_until
        ):
            return None
        start = dt.datetime.combine(day, dt.time(), tzinfo=tz) + dt.timedelta(
            seconds=offer.time_of_day_s
        )
        flex = dt.timedelta(seconds=offer.flexibility_s)
        return start - flex, start + flex
    if offer.departure_earliest is None:
        return None
    return offer.departure_earliest, offer.departure_latest or offer.departure_earliest


def load_offer_views(
    *, kind: str, start: dt.datetime | None = None, end: dt.datetime | None = None
) -> list[OfferView]:
    """Active trips of cleared, active drivers who consented to publication, for the public.

    One-off trips are those within [start, end]. Each trip's ends are replaced by the centres
    of their communes, so that nothing computed from it depends on the volunteer's home.
    """
    from ..extensions import db
    from ..models import Driver, DriverOffer
    from .publication import cached_communes, commune_of

    communes = cached_communes()
    if not communes:  # nothing to generalise to: publish nothing rather than homes
        return []
    from sqlalchemy.orm import contains_eager

    q = (
        db.session.query(DriverOffer)
        .join(Driver)
        .options(contains_eager(DriverOffer.driver))  # one query, not one per trip
        .filter(
            DriverOffer.status == "active",
            DriverOffer.kind == kind,
            Driver.active.is_(True),
            Driver.publish_consent_at.is_not(None),
        )
    )
    if kind == "one_off" and start is not None and end is not None:
        # Wide on purpose: SQLite compares timestamps as text; the exact window is checked later.
        q = q.filter(
            DriverOffer.departure_earliest <= end + dt.timedelta(hours=3),
            DriverOffer.departure_earliest >= start - dt.timedelta(days=1),
        )
    today = dt.date.today()
    out = []
    for offer in q.order_by(DriverOffer.id).limit(2000):
        driver = offer.driver
        if (
            not driver.is_cleared_on(today)
            or offer.origin_lat_lon is None
            or offer.destination_lat_lon is None
        ):
            continue
        weekdays = frozenset(
            int(x) for x in (offer.weekdays or "").split(",") if x.strip().isdigit()
        )
        tod = None
        if offer.time_of_day:
            h, _, m = offer.time_of_day.partition(":")
            tod = int(h) * 3600 + int(m or 0) * 60
        a = commune_of(communes, offer.origin_lat_lon)
        b = commune_of(communes, offer.destination_lat_lon)
        out.append(
            OfferView(
                id=offer.id,
                kind=offer.kind,
                origin=(a.lat, a.lon),
                destination=(b.lat, b.lon),
                seats=offer.seats,
                max_detour_s=offer.max_detour_min * 60,
                departure_earliest=_aware(offer.departure_earliest),
                departure_latest=_aware(offer.departure_latest),
                weekdays=weekdays,
                time_of_day_s=tod,
                flexibility_s=offer.flexibility_min * 60,
                valid_from=offer.valid_from.date() if offer.valid_from else None,
                valid_until=offer.valid_until.date() if offer.valid_until else None,
                wheelchair=bool(driver.wheelchair_accessible),
            )
        )
    return out


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return (
        value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    )  # SQLite drops the zone


def load_availability(tz: dt.tzinfo, days: Iterable[dt.date] = ()) -> Availability:
    """Cleared, active volunteers who consented to publication, with their weekly grid, and
    the grid's slot hours. A volunteer's home is the centre of her commune: whether someone is
    on call near a point must not reveal where she lives.

    ``days``: the local days whose pending and accepted proposals are loaded as her busy time
    (a volunteer already booked then is not offered again)."""
    from ..extensions import db
    from ..models import Driver
    from . import matching as matching_service
    from .publication import cached_communes, commune_of

    slot_hours = getattr(matching_service, "SLOT_HOURS", None)
    if slot_hours is None:  # until the matching service re-exports the engine's grid hours
        from matching.model import SLOT_HOURS as slot_hours
    today = dt.date.today()
    communes = cached_communes()
    volunteers = []
    from sqlalchemy.orm import selectinload

    drivers = (
        db.session.query(Driver)
        .options(selectinload(Driver.availability))
        .filter(Driver.active.is_(True), Driver.publish_consent_at.is_not(None))
    )
    for d in drivers:
        home = d.home_lat_lon
        if home is None or not communes or not d.is_cleared_on(today) or d.sms_opt_out:
            continue
        centre = commune_of(communes, home)
        cells = frozenset((a.weekday, a.slot) for a in d.availability)
        if cells:
            volunteers.append(
                VolunteerView(
                    (centre.lat, centre.lon),
                    d.max_distance_km * 1000.0,
                    cells,
                    driver_id=d.id,
                    wheelchair=bool(d.wheelchair_accessible),
                )
            )
    busy: dict[int, tuple[Interval, ...]] = {}
    ids = [v.driver_id for v in volunteers if v.driver_id is not None]
    if ids:
        from .journeys_volunteers import busy_by_driver

        bookings = [b for day in sorted(set(days)) for b in matching_service.bookings_on(day, ids)]
        busy = busy_by_driver(bookings)
    return Availability(volunteers, dict(slot_hours), tz, busy)


# -- generalised places -----------------------------------------------------------------


class PlaceIndex:
    """Nearest public place (town hall, station, bus stop, commune centre) to a point."""

    def __init__(self, places: Sequence[PlaceRef]) -> None:
        self.places = list(places)

    def __call__(self, point: LatLon) -> PlaceRef:
        if not self.places:
            return PlaceRef(
                "Point de rendez-vous à convenir", round(point[0], 2), round(point[1], 2), "area"
            )
        return min(self.places, key=lambda p: haversine_m(point, (p.lat, p.lon)))


PUBLIC_PLACE_KINDS = ("town_hall", "station", "bus_stop", "france_services", "commune")


def place_index_from_db(territory: str | None = None) -> PlaceIndex:
    """The territory's public places and commune centres, from the database."""
    from ..extensions import db
    from ..models import Commune, Place

    refs: list[PlaceRef] = []
    q = db.session.query(Place).filter(Place.kind.in_(PUBLIC_PLACE_KINDS))
    if territory:
        q = q.filter(Place.territory == territory)
    for p in q:
        ll = p.lat_lon
        if ll:
            refs.append(PlaceRef(p.name, ll[0], ll[1], p.kind))
    for c in db.session.query(Commune).filter(Commune.merged_into_insee.is_(None)):
        ll = c.lat_lon
        if ll:
            refs.append(PlaceRef(c.name, ll[0], ll[1], "commune"))
    return PlaceIndex(refs)


def _cached_place_index(territory: str | None) -> PlaceIndex:
    """The place index, read once per territory build (places only change with a build)."""
    from flask import current_app

    from ..errors import TerritoryNotBuilt
    from .runtime import loaded_territory

    try:
        key: object = loaded_territory().path
    except TerritoryNotBuilt:
        return place_index_from_db(territory)
    cached = current_app.extensions.get("lot_place_index")
    if cached is not None and cached[0] == key:
        return cached[1]  # type: ignore[no-any-return]
    index = place_index_from_db(territory)
    current_app.extensions["lot_place_index"] = (key, index)
    return index


# -- transit ----------------------------------------------------------------------------

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


@dataclass(frozen=True)
class _Access:
    """How the rider reaches (or leaves) a stop: on foot, or driven by a volunteer."""

    mode: str  # walk | car
    seconds: int  # the value given to the router (buffer included for car)
    drive_s: int = 0
    station: str = ""  # the station (parent, or the stop itself) a car drives to or from


def _place_of_stop(service: Any, router: Any, stop_id: str) -> dict[str, Any]:
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


def _point(name: str, ll: LatLon, kind: str) -> dict[str, Any]:
    return {"name": name, "lat": round(ll[0], 6), "lon": round(ll[1], 6), "kind": kind}


def _generalised(place: PlaceRef) -> dict[str, Any]:
    return {
        "name": place.name,
        "lat": round(place.lat, 6),
        "lon": round(place.lon, 6),
        "kind": place.kind,
        "generalised": True,
    }


def _itinerary_of(
    service: Any,
    router: Any,
    journey: Any,
    query: JourneyQuery,
    access: dict[str, _Access],
    egress: dict[str, _Access],
    generalise: Generalise,
    booking: dict[str, Any] | None,
    roads: Roads | None = None,
) -> dict[str, Any]:
    legs: list[dict[str, Any]] = []
    for leg in journey.legs:
        dep, arr = service.at(router, leg.departure_s), service.at(router, leg.arrival_s)
        if leg.mode == "transit":
            route = service.route(router, leg.route_id)
            stops = [leg.from_stop_id, *leg.intermediate_stop_ids, leg.to_stop_id]
            places = [_place_of_stop(service, router, s) for s in stops]
            legs.append(
                {
                    "mode": transit_mode(route.route_type),
                    "from": places[0],
                    "to": places[-1],
                    "departure": _iso(dep),
                    "arrival": _iso(arr),
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
                    # A headway-based trip (frequencies.txt, exact_times 0): the times are
                    # an estimate, the line runs every headway_s seconds.
                    **({"frequency_based": True, "headway_s": int(leg.headway_s)}
                       if getattr(leg, "frequency_based", False) and leg.headway_s else {}),
                    "intermediate_stops": places[1:-1],
                    "distance_m": int(
                        sum(
                            haversine_m((a["lat"], a["lon"]), (b["lat"], b["lon"]))
                            for a, b in zip(places, places[1:], strict=False)
                        )
                    ),
                    "geometry": _line((p["lat"], p["lon"]) for p in places),
                }
            )
            continue
        # A walk, or the access/egress of a stop reached by car.
        start = _place_of_stop(service, router, leg.from_stop_id) if leg.from_stop_id else None
        end = _place_of_stop(service, router, leg.to_stop_id) if leg.to_stop_id else None
        way = None
        if leg.from_stop_id is None and leg.to_stop_id in access:
            way = access[leg.to_stop_id]
        elif leg.to_stop_id is None and leg.from_stop_id in egress:
            way = egress[leg.from_stop_id]
        if way is not None and way.mode == "car":
            if start is None:  # first mile: origin -> station, then wait for the train
                start = _generalised(generalise(query.origin))
                arr = dep + dt.timedelta(seconds=way.drive_s)
            else:  # last mile: station -> destination, after the rider is out of the train
                end = _generalised(generalise(query.destination))
                dep = arr - dt.timedelta(seconds=way.drive_s)
            assert start is not None and end is not None
            legs.append(_car_leg(start, end, dep, arr, booking, roads))
            continue
        start = start or _point("Départ", query.origin, "origin")
        end = end or _point("Arrivée", query.destination, "destination")
        legs.append(
            {
                "mode": "walk",
                "from": start,
                "to": end,
                "departure": _iso(dep),
                "arrival": _iso(arr),
                "duration_s": leg.duration_s,
                "distance_m": int(round(leg.duration_s * WALK_SPEED_M_S)),
                "geometry": _line([(start["lat"], start["lon"]), (end["lat"], end["lon"])]),
            }
        )
    return _finish(legs, journey.transfers)


def _car_leg(
    start: dict[str, Any],
    end: dict[str, Any],
    dep: dt.datetime,
    arr: dt.datetime,
    booking: dict[str, Any] | None,
    roads: Roads | None = None,
) -> dict[str, Any]:
    a, b = (start["lat"], start["lon"]), (end["lat"], end["lon"])
    found = roads.route(a, b) if roads is not None and roads.route is not None else None
    leg = {
        "mode": "car",
        "from": start,
        "to": end,
        "departure": _iso(dep),
        "arrival": _iso(arr),
        "duration_s": int((arr - dep).total_seconds()),
        "distance_m": int(found[1]) if found else int(haversine_m(a, b)),
        "geometry": _line([a, *(found[2] if found else []), b]),
        "operator": "volunteer",
    }
    if booking:
        leg["booking"] = booking
    return leg


def _finish(legs: list[dict[str, Any]], transfers: int) -> dict[str, Any]:
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
        "geometry": _merge_lines(legs),
    }


def _no_volunteer_notice() -> dict[str, str]:
    return {
        "code": "no_volunteer_available",
        "message": "No volunteer driver is on call near there at that time.",
    }


def _solidarity_itineraries(
    query: JourneyQuery,
    roads: Roads,
    offers: Sequence[OfferView],
    generalise: Generalise,
    booking: dict[str, Any] | None,
    tz: dt.tzinfo,
    result: SearchResult,
    availability: Availability | None = None,
    rounding_s: int = 0,
) -> None:
    from .publication import round_time

    if haversine_m(query.origin, query.destination) > MAX_SOLIDARITY_M:
        result.notices.append(
            {"code": "too_far_for_solidarity", "message": "Volunteer rides are limited to 100 km."}
        )
        return
    drive_times = roads.times
    (ride_s,) = _drive(drive_times, query.origin, [query.destination])
    if ride_s is None:
        result.notices.append(
            {"code": "no_road", "message": "No road route between the origin and the destination."}
        )
        return
    pickup, dropoff = (
        _generalised(generalise(query.origin)),
        _generalised(generalise(query.destination)),
    )
    day = query.when.astimezone(tz).date()
    for offer in offers:
        if query.wheelchair and not offer.wheelchair:
            continue
        m = match_offer(
            offer,
            query.origin,
            query.destination,
            query.when,
            drive_times,
            ride_s=ride_s,
            target_is_arrival=query.arrive_by,
            day=day,
            tz=tz,
        )
        if m is None:
            continue
        # Published times are rounded (a volunteer's times are never given to the minute),
        # down when the rider must arrive by a time.
        down = query.arrive_by
        pickup_at = round_time(m.pickup_at, rounding_s, down=down).astimezone(tz)
        dropoff_at = round_time(m.dropoff_at, rounding_s, down=down).astimezone(tz)
        if query.arrive_by:
            if (query.when - dropoff_at).total_seconds() > 2 * CARPOOL_WINDOW_S:
                continue
        elif abs((pickup_at - query.when).total_seconds()) > CARPOOL_WINDOW_S:
            continue
        leg = _car_leg(pickup, dropoff, pickup_at, dropoff_at, booking, roads)
        leg["operator"] = "volunteer_trip"
        leg["seats"] = offer.seats
        it = _finish([leg], 0)
        it["type"] = "carpool"
        if query.wheelchair:
            leg["wheelchair"] = it["wheelchair"] = "yes"
        result.itineraries.append(it)
    # A ride on request from the solidarity service, door to door, if a volunteer is on call.
    if query.arrive_by:
        arr = query.when.astimezone(tz)
        dep = arr - dt.timedelta(seconds=ride_s)
    else:
        dep = query.when.astimezone(tz)
        arr = dep + dt.timedelta(seconds=ride_s)
    # Someone on call for the ride's own times, within reach of the pickup, not booked then.
    if availability is not None:
        from .journeys_volunteers import volunteer_for_leg

        found = volunteer_for_leg(
            availability, roads, [query.origin], dep, arr, wheelchair=query.wheelchair
        )
        if found is None:
            result.notices.append(_no_volunteer_notice())
            return
    leg = _car_leg(pickup, dropoff, dep, arr, booking, roads)
    leg["operator"] = "solidarity_service"
    it = _finish([leg], 0)
    if query.wheelchair:
        leg["wheelchair"] = it["wheelchair"] = "yes" if availability is not None else "unknown"
    result.itineraries.append(it)


def search_journeys(
    query: JourneyQuery,
    *,
    transit: Any | None,
    drive_times: DriveTimes | Roads | None,
    offers: Sequence[OfferView] = (),
    generalise: Generalise | None = None,
    booking: dict[str, Any] | None = None,
    tz: dt.tzinfo = dt.UTC,
    availability: Availability | None = None,
    rounding_s: int = 0,
    max_volunteer_drive_s: int = 45 * 60,
) -> SearchResult:
    """All itineraries for a query, best first (earliest arrival, or latest departure).

    ``transit`` is a :class:`~app.services.transit.TransitService` (None: no lines);
    ``drive_times`` the road travel-time function (None: no volunteer options); ``offers``
    the active volunteer trips; ``generalise`` maps a point to the public place that stands
    for it; ``booking`` tells how to book a volunteer ride (the service's phone);
    ``availability`` the volunteers on call (None: not checked), without whom no ride on
    request nor drive to a station is offered; ``rounding_s`` the step volunteers' trip
    times are rounded to; ``max_volunteer_drive_s`` the most a volunteer drives with the rider
    in one combined journey (config ``JOURNEY_MAX_VOLUNTEER_DRIVE_MIN``).
    """
    result = SearchResult()
    gen = generalise or PlaceIndex([])
    roads = (
        drive_times if isinstance(drive_times, Roads) or drive_times is None else Roads(drive_times)
    )
    if transit is not None and transit.has_feeds and ({"transit", "combined"} & query.modes):
        from .journeys_transit import transit_itineraries

        transit_itineraries(
            query, transit, roads, gen, booking, result, availability, max_volunteer_drive_s
        )
    elif {"transit", "combined"} & query.modes:
        result.notices.append(
            {"code": "no_transit_data", "message": "The territory has no timetable."}
        )
    if roads is None and ({"solidarity", "combined"} & query.modes):
        result.notices.append(
            {
                "code": "road_routing_unavailable",
                "message": "Road travel times are unavailable: volunteer rides are not searched.",
            }
        )
    if roads is not None and "solidarity" in query.modes:
        _solidarity_itineraries(
            query, roads, offers, gen, booking, tz, result, availability, rounding_s
        )
    if query.arrive_by:
        result.itineraries.sort(
            key=lambda it: (
                -dt.datetime.fromisoformat(it["departure"]).timestamp(),
                it["transfers"],
                it["walking_m"],
            )
        )
    else:
        result.itineraries.sort(
            key=lambda it: (
                dt.datetime.fromisoformat(it["arrival"]).timestamp(),
                it["transfers"],
                it["walking_m"],
            )
        )
    return result


# -- the application's entry point ------------------------------------------------------


def road_drive_times() -> DriveTimes | None:
    """The engine's road travel-time function, when the matching service offers one."""
    try:
        from .matching import drive_times
    except ImportError:
        return None
    return drive_times  # type: ignore[no-any-return]


def app_roads() -> Roads | None:
    """The engine's road functions (through :mod:`app.services.matching`), memoised per search."""
    times = road_drive_times()
    if times is None:
        return None
    from . import matching

    return Roads(
        memoised(times),
        matching.drive_times_to,
        matching.drive_route,
        memoised(matching.drive_lengths),
    )


def memoised(drive_times: DriveTimes) -> DriveTimes:
    """The same function, remembering answers (one search asks for the same pairs often)."""
    cache: dict[tuple[LatLon, LatLon], float | None] = {}

    def drive(source: LatLon, targets: Sequence[LatLon]) -> list[float | None]:
        missing = list(dict.fromkeys(t for t in targets if (source, t) not in cache))
        if missing:
            for t, v in zip(missing, drive_times(source, missing), strict=True):
                cache[(source, t)] = v
        return [cache[(source, t)] for t in targets]

    return drive


def service_booking() -> dict[str, Any]:
    """How the public books a volunteer ride: the solidarity service's phone."""
    from flask import current_app

    rate = f"{float(current_app.config.get('COST_SHARE_EUR_PER_KM', 0.32)):.2f}".replace(".", ",")
    booking: dict[str, Any] = {
        "method": "phone",
        "phone": current_app.config.get("SERVICE_PHONE", ""),
        "conditions": (
            "Transport solidaire (transport d'utilité sociale) : réservé aux personnes éligibles, "
            f"trajets de 100 km au plus ; participation aux frais de {rate} € par km au plus."
        ),
    }
    url = current_app.config.get("PUBLIC_BASE_URL")
    if url:
        booking["url"] = url
    return booking


def find_journeys(query: JourneyQuery) -> SearchResult:
    """Search with the active territory's timetables, road graph, places and volunteer trips."""
    from zoneinfo import ZoneInfo

    from flask import current_app

    from ..errors import TerritoryNotBuilt
    from .publication import rounding_step_s
    from .runtime import loaded_territory
    from .transit import transit_service

    tz = ZoneInfo(current_app.config.get("TIMEZONE", "Europe/Paris"))
    try:
        service = transit_service()
        territory_name: str | None = loaded_territory().name
    except TerritoryNotBuilt:
        service, territory_name = None, None
    drive = app_roads()
    wants_volunteers = drive is not None and bool({"solidarity", "combined"} & query.modes)
    offers: list[OfferView] = []
    generalise: Generalise = PlaceIndex([])
    availability = None
    if wants_volunteers:
        local_day = query.when.astimezone(tz).date()
        # Legs may fall on the day before (arrive by) or after (a late train): their bookings.
        days = [local_day + dt.timedelta(days=k) for k in (-1, 0, 1)]
        availability = load_availability(tz, days)
        start = query.when - dt.timedelta(hours=3)
        end = query.when + dt.timedelta(hours=3)
        if "solidarity" in query.modes:
            offers = load_offer_views(kind="one_off", start=start, end=end) + load_offer_views(
                kind="regular"
            )
            offers = _seats_left(offers, local_day)
        generalise = _cached_place_index(territory_name)
    return search_journeys(
        query,
        transit=service,
        drive_times=drive,
        offers=offers,
        generalise=generalise,
        booking=service_booking(),
        tz=tz,
        availability=availability,
        rounding_s=rounding_step_s(),
        max_volunteer_drive_s=int(
            float(current_app.config.get("JOURNEY_MAX_VOLUNTEER_DRIVE_MIN", 45)) * 60
        ),
    )


def _seats_left(offers: list[OfferView], day: dt.date) -> list[OfferView]:
    """Volunteer trips with the seats already booked on ``day`` taken off (full ones dropped)."""
    from dataclasses import replace

    from .matching import bookings_on

    taken: dict[int, int] = {}
    for b in bookings_on(day):
        if b.offer_id is not None:
            taken[b.offer_id] = taken.get(b.offer_id, 0) + b.passengers
    out = []
    for offer in offers:
        seats = offer.seats - taken.get(offer.id, 0)
        if seats >= 1:
            out.append(replace(offer, seats=seats) if seats != offer.seats else offer)
    return out
