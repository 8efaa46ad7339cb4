"""The values a journey search takes and gives: the query, volunteers' trips and grids, results.

All are plain frozen values (no database rows): what the search computes from them cannot
reach further than what they hold.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .geometry import LatLon, haversine_m
from .limits import MAX_WALK_M, MODES

#: A busy time of a volunteer, [start, end].
Interval = tuple[dt.datetime, dt.datetime]


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
    #: Transit journeys for any departure (arriving by: any arrival) within this many seconds
    #: after (before) ``when``: the Pareto set of later departure, earlier arrival and fewer
    #: transfers over the window (range RAPTOR). 0: the best journeys from one instant.
    window_s: int = 0


@dataclass(frozen=True)
class PlaceRef:
    """A public place standing for a precise point (a rider's or a volunteer's)."""

    name: str
    lat: float
    lon: float
    kind: str


#: ``generalise(latlon) -> place`` (see :class:`PlaceRef`).
Generalise = Callable[[LatLon], PlaceRef]


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
class OfferMatch:
    """A volunteer trip that can take the rider from the origin to the destination."""

    offer: OfferView
    driver_departure_at: dt.datetime
    pickup_at: dt.datetime
    dropoff_at: dt.datetime
    ride_s: int
    detour_s: int


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
class Access:
    """How the rider reaches (or leaves) a stop: on foot, or driven by a volunteer."""

    mode: str  # walk | car
    seconds: int  # the value given to the router (buffer included for car)
    drive_s: int = 0
    station: str = ""  # the station (parent, or the stop itself) a car drives to or from


@dataclass
class SearchResult:
    """Itineraries (JSON-ready dicts) and notices saying what could not be searched."""

    itineraries: list[dict[str, Any]] = field(default_factory=list)
    notices: list[dict[str, str]] = field(default_factory=list)
