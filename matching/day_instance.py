"""A day's needs, trips and volunteers as a pooled-routing instance, and its plan as rides.

:func:`build_day_instance` snaps every stop of the day (pickups, drop-offs, drivers' origins
and destinations, volunteers' homes), computes the CH many-to-many table between all of them
(``Engine.table``) and turns the engine's ride model (:mod:`matching.model`) into a
:class:`matching.pooling.PoolingInstance`:

* a need is one request (its outbound leg), plus a linked request for its return when it
  has one (the return may be driven by another driver, after the appointment and its wait);
* a driver's own trip is one vehicle from her origin to her destination, within her
  departure window and detour budget;
* a volunteer is one vehicle per availability window of the day (an outing from home and
  back, at most ``max_outing_s`` long), at most ``max_rides_per_day`` windows: her daily cap
  counts outings and hours, not the riders in her car. With ``one_rider_per_drive``
  (today's model, the ablation) it counts services instead.

:func:`rides_from_plan` reads a :class:`matching.pooling.PoolingPlan` back into routes (the
stops, each rider's pickup and arrival times) and one :class:`PlannedRide` per served need.
Commitments (:class:`matching.commitments.Commitment`, riders already booked on a driver)
enter as pinned requests: only the booked driver's vehicles may serve them, the planner
always keeps them, and their pickup stays within ``commitment_margin_s`` of the promise.

Nothing here imports Flask or a database.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from matching.engine import Engine
from matching.graph import INF_TIME
from matching.model import (
    MAX_SOCIAL_TRIP_M,
    DriverTrip,
    RideNeed,
    VolunteerAvailability,
)
from matching.pooling import (
    DROPOFF,
    NO_GROUP,
    NO_LIMIT,
    NO_LINK,
    PICKUP,
    PoolingInstance,
    PoolingPlan,
    RouteStops,
    check_plan,
    instance_from_arrays,
    plan_routes,
)
from matching.station_legs import LegRequest, station_leg, usable

if TYPE_CHECKING:
    from matching.commitments import Commitment
    from matching.station_legs import StationAlternative, StationChoice

UNREACHABLE_S = 10 * 86_400.0
"""Travel time put in the matrix for pairs with no road between them (never feasible)."""
UNREACHABLE_M = 1e9

MAX_SNAP_GAP_M = 3000.0
"""A stop farther than this from any road is off the graph: its need is not plannable."""


@dataclass(frozen=True)
class DayOptions:
    """How the engine's ride model maps to the pooled instance.

    ``max_ride_*``: a rider is on board at most ``direct + max(max_ride_extra_s,
    max_ride_factor * direct)`` (the elderly are not driven around the causse).
    """

    pickup_service_s: float = 60.0
    dropoff_service_s: float = 60.0
    max_ride_extra_s: float = 900.0
    max_ride_factor: float = 0.5
    max_outing_s: float = 4 * 3600.0
    one_rider_per_drive: bool = False
    use_trips: bool = True
    use_volunteers: bool = True
    commitment_margin_s: float = 600.0
    """How far a booked rider's pickup may move from the time she was promised."""
    station_legs: bool = False
    """Offer the needs a direct plan leaves unserved a volunteer's drive to a station
    combined with a train or bus (:func:`matching.station_legs.plan_day_with_stations`)."""

    def __post_init__(self) -> None:
        for name in (
            "pickup_service_s",
            "dropoff_service_s",
            "max_ride_extra_s",
            "commitment_margin_s",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        if self.max_ride_factor < 0:
            raise ValueError("max_ride_factor must be >= 0")
        if self.max_outing_s <= 0:
            raise ValueError("max_outing_s must be > 0")


@dataclass(frozen=True)
class DayInstance:
    """The pooled instance of a day and the maps back to the engine's ride model."""

    instance: PoolingInstance
    needs: tuple[RideNeed, ...]
    graph_nodes: npt.NDArray[np.int64]
    """Graph node of each instance node."""
    node_lat: npt.NDArray[np.float64]
    node_lon: npt.NDArray[np.float64]
    request_need: npt.NDArray[np.int64]
    """Index in ``needs`` of each request."""
    request_leg: npt.NDArray[np.int64]
    """0 outbound, 1 return."""
    direct_time_s: npt.NDArray[np.float64]
    """Direct drive of each request's leg."""
    vehicle_offer: tuple[str, ...]
    """Offer id of each vehicle (the trip's ``offer_id`` or the volunteer's ``driver_id``)."""
    vehicle_driver: tuple[str, ...]
    vehicle_kind: tuple[str, ...]
    """'trip' or 'volunteer'."""
    not_plannable: dict[str, str]
    """Need id -> reason code, for needs left out of the instance."""
    radius_encoding: str
    """How the volunteers' distance limits (a pairwise eligibility) are in the instance:
    'matrix' (the planner takes it), 'bits' (exact, as requirement bits), 'bits-grouped'
    (volunteers grouped on a bit: never breaks a limit, may forbid a few allowed pairs)."""
    build_s: float
    committed_needs: frozenset[str] = frozenset()
    """Ids of the needs that came as commitments (at the end of ``needs``)."""
    request_station: tuple[StationAlternative | None, ...] = ()
    """Per request, the station alternative its leg runs to or from (None: direct); empty
    when no station choice was given."""
    broken_commitments: dict[str, str] = field(default_factory=dict)
    """Committed need id -> reason its booking could not enter the instance:
    'vehicle_absent' (no vehicle of that key today), 'pickup_outside_window' (the promise
    no longer fits the need's window), or a ``not_plannable`` reason of the need itself."""

    @property
    def allowed_applied(self) -> bool:
        """Whether the volunteers' distance limits hold in the instance (always)."""
        return bool(self.radius_encoding)


@dataclass(frozen=True)
class PlannedStop:
    """A stop of a route: a rider's pickup or drop-off."""

    need_id: str
    kind: str
    """'pickup' or 'dropoff'."""
    leg: str
    """'outbound' or 'return'."""
    lat: float
    lon: float
    arrival_s: int
    service_start_s: int
    departure_s: int
    riders_on_board: int
    """Seats taken when leaving the stop."""
    station: StationAlternative | None = None
    """The stop is at a station: the rider takes (outbound) or left (return) this train."""


@dataclass(frozen=True)
class PlannedRoute:
    """A drive: a volunteer's outing from home and back, or a driver's own trip."""

    offer_id: str
    driver_id: str
    kind: str
    start_s: int
    end_s: int
    stops: tuple[PlannedStop, ...]
    distance_m: float
    added_distance_m: float
    riders: int
    """Distinct needs carried (outbound or return)."""
    max_on_board: int
    """Most seats taken at once."""


@dataclass(frozen=True)
class PlannedRide:
    """A served need: who drives it, when the rider is picked up and arrives."""

    need_id: str
    offer_id: str
    driver_id: str
    kind: str
    pickup_s: int
    dropoff_s: int
    return_offer_id: str | None
    return_driver_id: str | None
    return_pickup_s: int | None
    return_dropoff_s: int | None
    committed: bool = False
    """The need came as a commitment (already booked): fixed on its driver."""
    outbound_station: StationAlternative | None = None
    """The outbound ends at this station (the rider goes on by public transport)."""
    return_station: StationAlternative | None = None
    """The return starts at this station (the rider came back by public transport)."""


@dataclass(frozen=True)
class DayRoutes:
    """A day's pooled plan in the engine's terms, with its figures."""

    routes: tuple[PlannedRoute, ...]
    """Drives with at least one rider."""
    rides: tuple[PlannedRide, ...]
    unserved: tuple[str, ...]
    """Need ids without a ride (plannable or not)."""
    served: int
    priority_served: int
    distance_m: float
    added_distance_m: float
    proven_optimal: bool
    seconds: float
    first_plan_seconds: float
    problems: tuple[str, ...]
    """What the independent checker found wrong with the plan (empty: valid)."""
    broken_commitments: dict[str, str] = field(default_factory=dict)
    """Committed need id -> reason its booking is not kept: the instance's reasons, and
    'no_longer_fits' for a booked leg the planner could not serve on its driver."""
    moved: dict[str, int] = field(default_factory=dict)
    """Committed need id -> seconds its planned pickup moved from the promise (planned minus
    promised; the booked leg that moved most; 0 when unchanged)."""

    @property
    def riders_per_drive(self) -> float:
        """Mean distinct riders per drive (drives with a rider)."""
        return float(np.mean([r.riders for r in self.routes])) if self.routes else 0.0

    @property
    def stops_per_drive(self) -> float:
        """Mean distinct stop places (pickups and drop-offs) per drive."""
        if not self.routes:
            return 0.0
        return float(np.mean([len({(s.lat, s.lon) for s in r.stops}) for r in self.routes]))

    @property
    def km_per_rider(self) -> float:
        """Driven kilometres per served need."""
        return self.distance_m / 1000.0 / self.served if self.served else 0.0


_FREE_BITS = tuple(range(8, 63))
"""Bits of the requirement masks free for the eligibility encoding (the low ones are
:class:`matching.model.Requirement` flags)."""


def _encode_eligibility(
    allowed: npt.NDArray[np.bool_],
    requirement_mask: npt.NDArray[np.int64],
    capability_mask: npt.NDArray[np.int64],
) -> str:
    """Write a pairwise eligibility into the masks (in place), for a planner that only
    checks ``requirement & ~capability == 0``.

    Vehicles whose column is all True are left alone (they get every eligibility bit). The
    others get a bit each, or share one in groups when there are more than the free bits:
    a vehicle provides every eligibility bit but its own; a request requires the bit of
    every group holding a vehicle it may not use. Exact with one vehicle per bit;
    conservative with groups (a request forbidden in one vehicle of a group is forbidden
    in the whole group).
    """
    limited = np.flatnonzero(~allowed.all(axis=0))
    all_bits = 0
    for b in _FREE_BITS:
        all_bits |= 1 << b
    capability_mask |= all_bits
    if limited.shape[0] == 0:
        return "bits"
    # Distinct columns first (a volunteer's windows share one), grouped in lexicographic
    # order: neighbouring columns share most of their eligibility (measured on the 1,000-need
    # Addison day: 95 % of the allowed pairs kept; a Z-order of the homes kept fewer).
    columns, inverse = np.unique(allowed[:, limited].T, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    n_groups = min(columns.shape[0], len(_FREE_BITS))
    group_of_column = (np.arange(columns.shape[0]) * n_groups) // columns.shape[0]
    for g in range(n_groups):
        bit = np.int64(1) << _FREE_BITS[g]
        members = group_of_column == g
        forbidden = ~columns[members].all(axis=0)
        requirement_mask[forbidden] |= bit
        for v in limited[members[inverse]]:
            capability_mask[v] &= ~bit
    return "bits" if n_groups == columns.shape[0] else "bits-grouped"


def _supports_allowed() -> bool:
    return "allowed" in inspect.signature(instance_from_arrays).parameters


def build_day_instance(
    engine: Engine,
    needs: Sequence[RideNeed],
    trips: Sequence[DriverTrip],
    volunteers: Sequence[VolunteerAvailability],
    options: DayOptions | None = None,
    commitments: Sequence[Commitment] = (),
    station_choices: Mapping[str, StationChoice] | None = None,
) -> DayInstance:
    """The pooled instance of a day (see the module docstring).

    Volunteers' windows that do not overlap the needs' span of the day are dropped, so a
    week of windows may be passed. Needs whose stops are off the road graph, whose direct
    drive does not fit their window or exceeds 100 km are left out (``not_plannable``).

    ``commitments`` are the day's bookings: each booked leg becomes a request pinned to the
    vehicles of its ``vehicle_key`` (a trip is one vehicle, a volunteer one per window),
    with its pickup window the promise +- ``options.commitment_margin_s`` inside the need's
    own window, and a weight above all open needs together. A committed need whose return
    is not booked gets its return planned as a free leg. A booking that cannot enter the
    instance is reported in ``broken_commitments``, never dropped silently.

    ``station_choices`` (need id -> :class:`matching.station_legs.StationChoice`, open needs
    only) replaces a leg by its car part to or from a station
    (:func:`matching.station_legs.station_leg`); such a need is left out with reason
    'station_window_too_short' when that part cannot fit.

    Raises
    ------
    ValueError
        On duplicate need ids, a committed need also among ``needs``, a leg booked twice,
        or a booked return on a need without one.
    """
    opts = options or DayOptions()
    began = time.perf_counter()
    needs = tuple(needs)
    ids = [n.need_id for n in needs]
    if len(set(ids)) != len(ids):
        raise ValueError("need ids must be unique in a day")
    booked = _booked_legs(commitments, set(ids))
    n_open = len(needs)
    needs = needs + tuple(need for need, _ in booked.values())
    trips = tuple(trips) if opts.use_trips else ()
    volunteers = tuple(volunteers) if opts.use_volunteers else ()

    lat = np.array(
        [n.pickup_lat for n in needs]
        + [n.dropoff_lat for n in needs]
        + [t.origin_lat for t in trips]
        + [t.destination_lat for t in trips]
        + [v.home_lat for v in volunteers]
    )
    lon = np.array(
        [n.pickup_lon for n in needs]
        + [n.dropoff_lon for n in needs]
        + [t.origin_lon for t in trips]
        + [t.destination_lon for t in trips]
        + [v.home_lon for v in volunteers]
    )
    if lat.shape[0]:
        snapped = engine.snap(lat, lon)
        point_node, point_ok = snapped.nodes.astype(np.int64), snapped.gap_m <= MAX_SNAP_GAP_M
    else:
        point_node, point_ok = np.empty(0, dtype=np.int64), np.empty(0, dtype=bool)
    choices = dict(station_choices or {})
    n_points = point_node.shape[0]
    station_of_node: dict[int, int] = {}  # station graph node -> its point index
    for chosen in choices.values():
        for alt in (chosen.outbound, chosen.back):
            if alt is not None and alt.station_node not in station_of_node:
                station_of_node[alt.station_node] = n_points + len(station_of_node)
    if station_of_node:
        point_node = np.concatenate(
            [point_node, np.fromiter(station_of_node, dtype=np.int64, count=len(station_of_node))]
        )
        point_ok = np.concatenate([point_ok, np.ones(len(station_of_node), dtype=bool)])
    graph_nodes, point_idx = np.unique(point_node, return_inverse=True)
    point_idx = point_idx.ravel()
    if graph_nodes.shape[0]:
        table = engine.table(graph_nodes, graph_nodes)
        reach = table.time_s < INF_TIME
        travel = np.where(reach, table.time_s.astype(np.float64), UNREACHABLE_S)
        dist = np.where(reach & np.isfinite(table.length_m), table.length_m, UNREACHABLE_M)
    else:
        travel = dist = np.zeros((0, 0))
    n_n, n_t = len(needs), len(trips)
    pick = point_idx[:n_n]
    drop = point_idx[n_n : 2 * n_n]
    t_from = point_idx[2 * n_n : 2 * n_n + n_t]
    t_to = point_idx[2 * n_n + n_t : 2 * n_n + 2 * n_t]
    home = point_idx[2 * n_n + 2 * n_t : n_points]

    # ---------------------------------------------------------------- requests
    req: dict[str, list[float | int]] = {
        k: []
        for k in (
            "pickup_node",
            "dropoff_node",
            "pickup_earliest_s",
            "pickup_latest_s",
            "dropoff_earliest_s",
            "dropoff_latest_s",
            "load",
            "max_ride_s",
            "requirement_mask",
            "priority_weight",
            "linked_to",
            "need",
            "leg",
            "direct",
        )
    }
    not_plannable: dict[str, str] = {}
    n_priority = sum(n.priority for n in needs)
    eps = 1.0 / (n_priority + 1)

    def excess(direct: float) -> float:
        return max(opts.max_ride_extra_s, opts.max_ride_factor * direct)

    def add(**values: float | int) -> int:
        for key, value in values.items():
            req[key].append(value)
        return len(req["need"]) - 1

    span_lo, span_hi = np.inf, -np.inf
    station_of_req: list[StationAlternative | None] = []
    for i, need in enumerate(needs[:n_open]):
        p, d = int(pick[i]), int(drop[i])
        if not (point_ok[i] and point_ok[n_n + i]):
            not_plannable[need.need_id] = "off_road_graph"
            continue
        choice = choices.get(need.need_id)
        out_alt = choice.outbound if choice is not None else None
        back_s = need.return_pickup_s
        back_alt = choice.back if choice is not None and back_s is not None else None
        # Never an accompanied rider at a station, a wheelchair only on an accessible part.
        out_alt = out_alt if out_alt is None or usable(need, out_alt) else None
        back_alt = back_alt if back_alt is None or usable(need, back_alt) else None
        svc = opts.pickup_service_s
        ride = float(travel[p, d])
        out_leg: LegRequest | None
        if out_alt is None:
            if dist[p, d] > MAX_SOCIAL_TRIP_M:
                not_plannable[need.need_id] = "over_100_km"
                continue
            latest_pickup = need.latest_arrival_s - ride - svc
            if ride >= UNREACHABLE_S or latest_pickup < need.earliest_pickup_s:
                not_plannable[need.need_id] = "window_too_short"
                continue
            out_leg = LegRequest(
                p, d, need.earliest_pickup_s, latest_pickup,
                need.earliest_pickup_s + svc + ride, need.latest_arrival_s,
                ride + excess(ride), ride, need.earliest_pickup_s, need.latest_arrival_s,
            )  # fmt: skip
        else:
            out_leg = _station_request(need, out_alt, p, station_of_node, point_idx, travel, dist, svc, excess)  # fmt: skip
            if out_leg is None:
                not_plannable[need.need_id] = "station_window_too_short"
                continue
        ret_leg: LegRequest | None = None
        if back_s is not None and back_alt is None:
            back = float(travel[d, p])
            if back >= UNREACHABLE_S:
                not_plannable[need.need_id] = "no_return"
                continue
            ride_back = back + excess(back)
            ret_leg = LegRequest(
                d, p, back_s, back_s + need.return_slack_s, back_s + svc + back,
                back_s + need.return_slack_s + svc + ride_back, ride_back, back,
                back_s, back_s + need.return_slack_s + ride_back,
            )  # fmt: skip
        elif back_alt is not None:
            ret_leg = _station_request(need, back_alt, p, station_of_node, point_idx, travel, dist, svc, excess)  # fmt: skip
            if ret_leg is None:
                not_plannable[need.need_id] = "station_window_too_short"
                continue
        legs = 2 if back_s is not None else 1
        weight = (1.0 + eps * need.priority) / legs
        made_ids: list[int] = []
        for leg, spec in enumerate((out_leg, ret_leg)):
            if spec is None:
                continue
            made_ids.append(
                add(
                    pickup_node=spec.pickup_node,
                    dropoff_node=spec.dropoff_node,
                    pickup_earliest_s=spec.pickup_earliest_s,
                    pickup_latest_s=spec.pickup_latest_s,
                    dropoff_earliest_s=spec.dropoff_earliest_s,
                    dropoff_latest_s=spec.dropoff_latest_s,
                    load=need.seats,
                    max_ride_s=spec.max_ride_s,
                    requirement_mask=int(need.requirements),
                    priority_weight=weight,
                    linked_to=NO_LINK,
                    need=i,
                    leg=leg,
                    direct=spec.direct,
                )
            )
            station_of_req.append(out_alt if leg == 0 else back_alt)
            span_lo = min(span_lo, spec.span_lo)
            span_hi = max(span_hi, spec.span_hi)
        if len(made_ids) == 2:
            a, b = made_ids
            req["linked_to"][a], req["linked_to"][b] = b, a
    for need, _ in booked.values():  # the day's span covers the bookings too
        span_lo = min(span_lo, need.earliest_pickup_s)
        back_s = need.return_pickup_s
        span_hi = max(
            span_hi,
            need.latest_arrival_s if back_s is None else back_s + need.return_slack_s,
        )

    # ---------------------------------------------------------------- vehicles
    veh: dict[str, list[float | int | bool]] = {
        k: []
        for k in (
            "start_node",
            "end_node",
            "earliest_start_s",
            "latest_end_s",
            "capacity",
            "capability_mask",
            "max_duration_s",
            "max_added_s",
            "max_requests",
            "is_volunteer_outing",
        )
    }
    v_offer: list[str] = []
    v_driver: list[str] = []
    v_kind: list[str] = []
    v_radius: list[float] = []
    promised_by_key: dict[str, list[int]] = {}
    for _, booked_legs in booked.values():
        for key, _leg_name, promised in booked_legs:
            promised_by_key.setdefault(key, []).append(promised)
    for j, trip in enumerate(trips):
        s, e = int(t_from[j]), int(t_to[j])
        if not (point_ok[2 * n_n + j] and point_ok[2 * n_n + n_t + j]):
            continue
        direct = float(travel[s, e])
        if direct >= UNREACHABLE_S:
            continue
        for key, value in (
            ("start_node", s),
            ("end_node", e),
            ("earliest_start_s", trip.departure_earliest_s),
            ("latest_end_s", trip.departure_latest_s + direct + trip.max_detour_s),
            ("capacity", trip.seats),
            ("capability_mask", int(trip.capabilities)),
            ("max_duration_s", direct + trip.max_detour_s),
            ("max_added_s", float(trip.max_detour_s)),
            ("max_requests", 1 if opts.one_rider_per_drive else NO_LIMIT),
            ("is_volunteer_outing", False),
        ):
            veh[key].append(value)
        v_offer.append(trip.offer_id)
        v_driver.append(trip.driver_id)
        v_kind.append("trip")
        v_radius.append(np.inf)
    for j, vol in enumerate(volunteers):
        if not point_ok[2 * n_n + 2 * n_t + j]:
            continue
        h = int(home[j])
        windows = [(a, b) for a, b in vol.windows_sorted if a < span_hi and b > span_lo]
        if opts.one_rider_per_drive:
            # Today's model: the cap counts services, and each service is its own outing.
            windows_kept, per_window = windows, vol.max_rides_per_day
        else:
            windows_kept, per_window = windows[: vol.max_rides_per_day], NO_LIMIT
            if vol.driver_id in promised_by_key:
                # A booked outing's window is kept whatever the cap: it is already driven.
                times = promised_by_key[vol.driver_id]
                held = [w for w in windows if any(w[0] <= t <= w[1] for t in times)]
                rest = [w for w in windows if w not in held]
                windows_kept = sorted(held + rest[: max(vol.max_rides_per_day - len(held), 0)])
        for a, b in windows_kept:
            for key, value in (
                ("start_node", h),
                ("end_node", h),
                ("earliest_start_s", a),
                ("latest_end_s", b),
                ("capacity", vol.seats),
                ("capability_mask", int(vol.capabilities)),
                ("max_duration_s", min(float(b - a), opts.max_outing_s)),
                ("max_added_s", float(NO_LIMIT)),
                ("max_requests", per_window),
                ("is_volunteer_outing", True),
            ):
                veh[key].append(value)
            v_offer.append(vol.driver_id)
            v_driver.append(vol.driver_id)
            v_kind.append("volunteer")
            v_radius.append(np.inf if vol.max_distance_km is None else vol.max_distance_km * 1000.0)

    # ------------------------------------------------------------- commitments
    broken: dict[str, str] = {}
    pins: list[int] = [NO_GROUP] * len(req["need"])
    targets: list[float] = [np.nan] * len(req["need"])
    vehicle_group = np.full(len(v_offer), NO_GROUP, dtype=np.int64)
    if booked:
        group_of: dict[str, int] = {}
        for v, key in enumerate(v_offer):
            if key in promised_by_key:
                vehicle_group[v] = group_of.setdefault(key, len(group_of))
        # A booking outranks every open need together: nothing is worth breaking one.
        big = float(sum(req["priority_weight"])) + 1.0
        margin = opts.commitment_margin_s
        for i in range(n_open, len(needs)):
            need, booked_legs = booked[needs[i].need_id]
            p, d = int(pick[i]), int(drop[i])
            reason = _unplannable(need, point_ok[i] and point_ok[n_n + i], travel, dist, p, d, opts)
            if reason is None and any(key not in group_of for key, _, _ in booked_legs):
                reason = "vehicle_absent"
            ride = float(travel[p, d])
            back = float(travel[d, p])
            svc = opts.pickup_service_s
            made: dict[int, int] = {}
            by_leg = {leg: (key, promised) for key, leg, promised in booked_legs}
            for leg in (0, 1):
                if reason is not None:
                    break
                if leg == 0:
                    lo, hi = float(need.earliest_pickup_s), need.latest_arrival_s - ride - svc
                    rd, src, dst = ride, p, d
                else:
                    back_s = need.return_pickup_s
                    if back_s is None or (1 not in by_leg and 0 not in by_leg):
                        continue
                    lo, hi = float(back_s), float(back_s + need.return_slack_s)
                    rd, src, dst = back, d, p
                key_promise = by_leg.get(leg)
                if key_promise is None and leg == 0:
                    continue  # a booked return alone: the rider goes there another way
                weight = big
                group = NO_GROUP
                target = np.nan
                d_late = need.latest_arrival_s if leg == 0 else hi + svc + rd + excess(rd)
                if key_promise is not None:
                    key, promised = key_promise
                    lo, hi = max(lo, promised - margin), min(hi, promised + margin)
                    if lo > hi:
                        reason = "pickup_outside_window"
                        break
                    group, target = group_of[key], float(promised)
                else:  # the return of a booked outbound, not booked yet: an open leg
                    weight = (1.0 + eps * need.priority) / 2
                made[leg] = add(
                    pickup_node=src,
                    dropoff_node=dst,
                    pickup_earliest_s=lo,
                    pickup_latest_s=hi,
                    dropoff_earliest_s=lo + svc + rd,
                    dropoff_latest_s=d_late,
                    load=need.seats,
                    max_ride_s=rd + excess(rd),
                    requirement_mask=int(need.requirements),
                    priority_weight=weight,
                    linked_to=NO_LINK,
                    need=i,
                    leg=leg,
                    direct=rd,
                )
                pins.append(group)
                targets.append(target)
            if reason is not None:
                broken[need.need_id] = reason
                for r in made.values():  # all or nothing for one booked need
                    for col in req.values():
                        col.pop(r)
                    pins.pop(r)
                    targets.pop(r)
                continue
            if len(made) == 2 and pins[made[0]] >= 0 and pins[made[1]] >= 0:
                req["linked_to"][made[0]], req["linked_to"][made[1]] = made[1], made[0]

    n_req = len(req["need"])
    n_veh = len(v_offer)
    kwargs: dict[str, object] = {}
    requirement_mask = np.array(req["requirement_mask"], dtype=np.int64)
    capability_mask = np.array(veh["capability_mask"], dtype=np.int64)
    # A volunteer drives riders whose pickup and drop-off lie within her road distance of
    # home (as matching.offers): a pairwise eligibility.
    radius = np.array(v_radius, dtype=np.float64)
    allowed = np.ones((n_req, n_veh), dtype=bool)
    if n_req and n_veh:
        starts = np.array(veh["start_node"], dtype=np.int64)
        p_nodes = np.array(req["pickup_node"], dtype=np.int64)
        d_nodes = np.array(req["dropoff_node"], dtype=np.int64)
        # Each leg's two stops are the need's pickup and drop-off, in either order.
        far = np.maximum(dist[np.ix_(starts, p_nodes)], dist[np.ix_(starts, d_nodes)]).T
        allowed = far <= radius[None, :]
        # A booking was accepted by its driver: her distance limit no longer applies to it.
        allowed[np.array(pins) >= 0, :] = True
    if booked:
        kwargs["pin_group"] = np.array(pins, dtype=np.int64)
        kwargs["vehicle_group"] = vehicle_group
        kwargs["pickup_target_s"] = np.array(targets, dtype=np.float64)
    if _supports_allowed():
        kwargs["allowed"] = allowed
        radius_encoding = "matrix"
    else:
        radius_encoding = _encode_eligibility(allowed, requirement_mask, capability_mask)
    instance = instance_from_arrays(
        travel,
        dist,
        pickup_node=np.array(req["pickup_node"], dtype=np.int64),
        dropoff_node=np.array(req["dropoff_node"], dtype=np.int64),
        pickup_earliest_s=np.array(req["pickup_earliest_s"], dtype=np.float64),
        pickup_latest_s=np.array(req["pickup_latest_s"], dtype=np.float64),
        dropoff_earliest_s=np.array(req["dropoff_earliest_s"], dtype=np.float64),
        dropoff_latest_s=np.array(req["dropoff_latest_s"], dtype=np.float64),
        service_s=opts.pickup_service_s,
        dropoff_service_s=opts.dropoff_service_s,
        load=np.array(req["load"], dtype=np.int64),
        max_ride_s=np.array(req["max_ride_s"], dtype=np.float64),
        requirement_mask=requirement_mask,
        priority_weight=np.array(req["priority_weight"], dtype=np.float64),
        linked_to=np.array(req["linked_to"], dtype=np.int64),
        start_node=np.array(veh["start_node"], dtype=np.int64),
        end_node=np.array(veh["end_node"], dtype=np.int64),
        earliest_start_s=np.array(veh["earliest_start_s"], dtype=np.float64),
        latest_end_s=np.array(veh["latest_end_s"], dtype=np.float64),
        capacity=np.array(veh["capacity"], dtype=np.int64),
        capability_mask=capability_mask,
        max_duration_s=np.array(veh["max_duration_s"], dtype=np.float64),
        max_added_s=np.array(veh["max_added_s"], dtype=np.float64),
        max_requests=np.array(veh["max_requests"], dtype=np.int64),
        is_volunteer_outing=np.array(veh["is_volunteer_outing"], dtype=bool),
        one_rider_per_drive=opts.one_rider_per_drive,
        **kwargs,  # type: ignore[arg-type]
    )
    return DayInstance(
        instance=instance,
        needs=needs,
        graph_nodes=graph_nodes.astype(np.int64),
        node_lat=engine.graph.node_lat[graph_nodes].astype(np.float64),
        node_lon=engine.graph.node_lon[graph_nodes].astype(np.float64),
        request_need=np.array(req["need"], dtype=np.int64),
        request_leg=np.array(req["leg"], dtype=np.int64),
        direct_time_s=np.array(req["direct"], dtype=np.float64),
        vehicle_offer=tuple(v_offer),
        vehicle_driver=tuple(v_driver),
        vehicle_kind=tuple(v_kind),
        not_plannable=not_plannable,
        radius_encoding=radius_encoding,
        build_s=time.perf_counter() - began,
        committed_needs=frozenset(booked),
        request_station=tuple(station_of_req) + (None,) * (n_req - len(station_of_req))
        if choices
        else (),
        broken_commitments=broken,
    )


def _station_request(
    need: RideNeed,
    alt: StationAlternative,
    home: int,
    station_of_node: dict[int, int],
    point_idx: npt.NDArray[np.int64],
    travel: npt.NDArray[np.float64],
    dist: npt.NDArray[np.float64],
    service_s: float,
    excess: Callable[[float], float],
) -> LegRequest | None:
    """A leg's car part to or from its station (instance nodes), or None if it cannot fit
    (unreachable, over 100 km, or the window too short for the drive)."""
    station = int(point_idx[station_of_node[alt.station_node]])
    a, b = (home, station) if alt.leg == "outbound" else (station, home)
    car = float(travel[a, b])
    if car >= UNREACHABLE_S or dist[a, b] > MAX_SOCIAL_TRIP_M:
        return None
    return station_leg(need, alt, home, station, car, service_s, excess)


def _booked_legs(
    commitments: Sequence[Commitment], open_ids: set[str]
) -> dict[str, tuple[RideNeed, list[tuple[str, int, int]]]]:
    """Commitments grouped by need: need id -> (need, [(vehicle_key, leg 0/1, promised)]).

    A need may be booked on two drivers (outbound on one, return on another)."""
    out: dict[str, tuple[RideNeed, list[tuple[str, int, int]]]] = {}
    for c in commitments:
        nid = c.need.need_id
        if nid in open_ids:
            raise ValueError(f"need {nid} is both open and committed")
        if nid in out and out[nid][0] != c.need:
            raise ValueError(f"need {nid} is committed twice with different details")
        legs = out.setdefault(nid, (c.need, []))[1]
        for leg_name in c.legs:
            leg = 0 if leg_name == "outbound" else 1
            if leg == 1 and c.need.return_pickup_s is None:
                raise ValueError(f"need {nid}: a return is booked but the need has none")
            if any(existing == leg for _, existing, _ in legs):
                raise ValueError(f"need {nid}: the {leg_name} leg is booked twice")
            promised = c.pickup_s
            if leg == 1 and "outbound" in c.legs:
                assert c.return_pickup_s is not None  # Commitment checks it
                promised = c.return_pickup_s
            legs.append((c.vehicle_key, leg, int(promised)))
    return out


def _unplannable(
    need: RideNeed,
    on_graph: bool,
    travel: npt.NDArray[np.float64],
    dist: npt.NDArray[np.float64],
    p: int,
    d: int,
    opts: DayOptions,
) -> str | None:
    """Why a booked need cannot be planned (the open needs' reasons), or None."""
    if not on_graph:
        return "off_road_graph"
    ride = float(travel[p, d])
    if dist[p, d] > MAX_SOCIAL_TRIP_M:
        return "over_100_km"
    if ride >= UNREACHABLE_S or need.latest_arrival_s - ride - opts.pickup_service_s < (
        need.earliest_pickup_s
    ):
        return "window_too_short"
    if need.return_pickup_s is not None and float(travel[d, p]) >= UNREACHABLE_S:
        return "no_return"
    return None


def rides_from_plan(day: DayInstance, plan: PoolingPlan, *, check: bool = True) -> DayRoutes:
    """The plan's drives (with a rider) and one ride per served need.

    ``check`` runs the independent checker (:func:`matching.pooling.check_plan`) and keeps
    what it finds in ``problems``.
    """
    inst = day.instance
    problems = tuple(check_plan(inst, plan)) if check else ()
    routes: list[PlannedRoute] = []
    times: dict[int, tuple[int, int, int]] = {}  # request -> (vehicle, pickup, dropoff)
    for stops in plan.routes:
        if stops.n_requests == 0:
            continue
        v = int(stops.vehicle)
        route = planned_route(day, stops)
        for r, pickup_s, dropoff_s in _leg_times(stops):
            times[r] = (v, pickup_s, dropoff_s)
        routes.append(route)
    rides: list[PlannedRide] = []
    served_needs: set[int] = set()
    return_of = {
        int(day.request_need[r]): r for r in range(inst.n_requests) if day.request_leg[r] == 1
    }
    for r in range(inst.n_requests):
        if day.request_leg[r] != 0 or r not in times:
            continue
        n = int(day.request_need[r])
        v, pickup_s, dropoff_s = times[r]
        back = int(inst.linked_to[r])
        if back != NO_LINK and back not in times:
            continue  # the checker reports a half-served need
        if back == NO_LINK and n in return_of and return_of[n] in times:
            back = return_of[n]  # a booked outbound's open return, planned on its own
        rv, rp, rd = times[back] if back != NO_LINK else (None, None, None)
        stations = day.request_station
        rides.append(
            PlannedRide(
                need_id=day.needs[n].need_id,
                offer_id=day.vehicle_offer[v],
                driver_id=day.vehicle_driver[v],
                kind=day.vehicle_kind[v],
                pickup_s=pickup_s,
                dropoff_s=dropoff_s,
                return_offer_id=None if rv is None else day.vehicle_offer[rv],
                return_driver_id=None if rv is None else day.vehicle_driver[rv],
                return_pickup_s=rp,
                return_dropoff_s=rd,
                committed=day.needs[n].need_id in day.committed_needs,
                outbound_station=stations[r] if stations else None,
                return_station=stations[back] if stations and back != NO_LINK else None,
            )
        )
        served_needs.add(n)
    broken, moved = _kept_promises(day, plan, times)
    rides.sort(key=lambda ride: (ride.pickup_s, ride.need_id))
    routes.sort(key=lambda route: (route.start_s, route.offer_id))
    return DayRoutes(
        routes=tuple(routes),
        rides=tuple(rides),
        unserved=tuple(
            n.need_id
            for i, n in enumerate(day.needs)
            if i not in served_needs and n.need_id not in day.committed_needs
        ),
        served=len(served_needs),
        priority_served=sum(day.needs[n].priority for n in served_needs),
        distance_m=float(sum(r.distance_m for r in routes)),
        added_distance_m=float(sum(r.added_distance_m for r in routes)),
        proven_optimal=bool(plan.proven_optimal),
        seconds=float(plan.seconds),
        first_plan_seconds=float(plan.first_plan_seconds),
        problems=problems,
        broken_commitments=broken,
        moved=moved,
    )


def _leg_times(stops: RouteStops) -> list[tuple[int, int, int]]:
    """(request, pickup start, drop-off start) of each request of a route, in seconds."""
    pickups: dict[int, int] = {}
    out: list[tuple[int, int, int]] = []
    for k in range(stops.node.shape[0]):
        kind = int(stops.kind[k])
        r = int(stops.request[k])
        start = int(round(float(stops.service_start_s[k])))
        if kind == PICKUP:
            pickups[r] = start
        elif kind == DROPOFF:
            out.append((r, pickups.get(r, start), start))
    return out


def planned_route(day: DayInstance, stops: RouteStops) -> PlannedRoute:
    """One vehicle's route of a plan (of ``day.instance``) as a :class:`PlannedRoute`."""
    inst = day.instance
    v = int(stops.vehicle)
    planned: list[PlannedStop] = []
    for k in range(stops.node.shape[0]):
        kind = int(stops.kind[k])
        if kind not in (PICKUP, DROPOFF):
            continue
        r = int(stops.request[k])
        node = int(stops.node[k])
        planned.append(
            PlannedStop(
                need_id=day.needs[int(day.request_need[r])].need_id,
                kind="pickup" if kind == PICKUP else "dropoff",
                leg="outbound" if day.request_leg[r] == 0 else "return",
                lat=float(day.node_lat[node]),
                lon=float(day.node_lon[node]),
                arrival_s=int(round(float(stops.arrival_s[k]))),
                service_start_s=int(round(float(stops.service_start_s[k]))),
                departure_s=int(round(float(stops.departure_s[k]))),
                riders_on_board=int(stops.load_after[k]),
                station=_stop_station(day, r, kind),
            )
        )
    driven = _route_distance(inst, stops.node, stops.kind, v)
    base = float(inst.distance_m[inst.start_node[v], inst.end_node[v]])
    return PlannedRoute(
        offer_id=day.vehicle_offer[v],
        driver_id=day.vehicle_driver[v],
        kind=day.vehicle_kind[v],
        start_s=int(round(float(stops.departure_s[0]))),
        end_s=int(round(float(stops.arrival_s[-1]))),
        stops=tuple(planned),
        distance_m=driven,
        added_distance_m=driven - base,
        riders=len({p.need_id for p in planned}),
        max_on_board=int(stops.load_after.max()) if stops.load_after.size else 0,
    )


def _stop_station(day: DayInstance, r: int, kind: int) -> StationAlternative | None:
    """The station of a stop: the drop-off of an outbound or the pickup of a return that
    runs through one."""
    if not day.request_station:
        return None
    alt = day.request_station[r]
    if alt is None or (kind == DROPOFF) != (alt.leg == "outbound"):
        return None
    return alt


def _kept_promises(
    day: DayInstance, plan: PoolingPlan, times: dict[int, tuple[int, int, int]]
) -> tuple[dict[str, str], dict[str, int]]:
    """Broken commitments (the instance's and the planner's) and how far each kept one
    moved: planned minus promised pickup, the booked leg that moved most."""
    broken = dict(day.broken_commitments)
    moved: dict[str, int] = {}
    inst = day.instance
    target = inst.pickup_target_s
    if target is None or inst.pin_group is None:
        return broken, moved
    for r in plan.broken_pins:
        broken[day.needs[int(day.request_need[r])].need_id] = "no_longer_fits"
    for req in np.flatnonzero(inst.pin_group >= 0).tolist():
        nid = day.needs[int(day.request_need[req])].need_id
        if nid in broken or req not in times:
            continue
        shift = times[req][1] - int(round(float(target[req])))
        if abs(shift) >= abs(moved.get(nid, 0)):
            moved[nid] = shift
    for nid in broken:
        moved.pop(nid, None)
    return broken, moved


def _route_distance(
    inst: PoolingInstance, node: npt.NDArray[np.int64], kind: npt.NDArray[np.int64], v: int
) -> float:
    """Driven metres of a route; in the one-rider model a volunteer passes home between a
    drop-off and the next pickup (not a stop, but driven)."""
    home = int(inst.start_node[v])
    via_home = inst.one_rider_per_drive and bool(inst.is_volunteer_outing[v])
    total = 0.0
    for k in range(node.shape[0] - 1):
        a, b = int(node[k]), int(node[k + 1])
        if via_home and kind[k] == DROPOFF and kind[k + 1] == PICKUP:
            total += float(inst.distance_m[a, home] + inst.distance_m[home, b])
        else:
            total += float(inst.distance_m[a, b])
    return total


def plan_day_routes(
    day: DayInstance, time_limit_s: float = 1.0, *, seed: int = 0, check: bool = True
) -> DayRoutes:
    """Plan the day's pooled routes within ``time_limit_s`` and read them back as rides."""
    plan = plan_routes(day.instance, time_limit_s=time_limit_s, seed=seed)
    return rides_from_plan(day, plan, check=check)
