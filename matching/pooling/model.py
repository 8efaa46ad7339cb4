"""Types of the pooled route planner: the instance (arrays) and the plan it returns.

A pooling instance is a heterogeneous dial-a-ride problem (DARP) over ``N`` nodes whose travel
times and distances are precomputed matrices (CH many-to-many tables on real roads, Euclidean
distances on the Cordeau benchmark). Times are seconds on any common origin (UNIX seconds or
seconds since midnight) as float64; the benchmark uses minutes, which is fine: the solver only
needs one unit throughout. Costs are distances (``distance_m``).

Requests ``r`` go from ``pickup_node[r]`` to ``dropoff_node[r]``; vehicles ``v`` go from
``start_node[v]`` to ``end_node[v]``: a volunteer's outing starts and ends at home, a driver's
own trip goes from her origin to her destination. The objective, in strict order, is

1. the priority-weighted number of served requests (maximised),
2. the added driving in metres: the sum over vehicles of the route's distance minus the direct
   distance ``start_node -> end_node`` (0 for an outing from home), minimised,
3. the spread of load: the sum over vehicles of the squared number of requests served,
   minimised (two volunteers with two services each beat one with four).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from matching.errors import MatchingError

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B8 = npt.NDArray[np.bool_]

NO_LINK = -1
"""``linked_to`` sentinel: the request has no linked leg."""
NO_LIMIT = -1
"""Sentinel of ``max_added_s`` and ``max_requests``: no limit."""
NO_GROUP = -1
"""``pin_group`` / ``vehicle_group`` sentinel: a free request, a vehicle in no group."""

# Kinds of stop events in a route.
START = 0
PICKUP = 1
DROPOFF = 2
END = 3


class PoolingError(MatchingError, ValueError):
    """A pooling instance (or a plan given to the checker) is malformed."""


@dataclass(frozen=True, eq=False)
class PoolingInstance:
    """A heterogeneous DARP as arrays; build it with :func:`instance_from_arrays`.

    Request arrays have length ``R``, vehicle arrays length ``V``; nodes index the matrices.
    ``max_ride_s``, ``max_duration_s`` use ``inf`` for "no limit"; ``max_added_s`` and
    ``max_requests`` use :data:`NO_LIMIT` (-1).
    """

    travel_s: F64
    """float64[N, N] travel time between nodes."""
    distance_m: F64
    """float64[N, N] driving distance between nodes (the cost)."""
    # requests
    pickup_node: I64
    dropoff_node: I64
    pickup_earliest_s: F64
    pickup_latest_s: F64
    """Window of the start of the pickup service."""
    dropoff_earliest_s: F64
    dropoff_latest_s: F64
    """Window of the start of the drop-off service; the latest is the appointment."""
    pickup_service_s: F64
    dropoff_service_s: F64
    """Dwell at the pickup and at the drop-off (boarding, help to the door)."""
    load: I64
    """Seats taken by the rider (and her companion)."""
    max_ride_s: F64
    """Longest time on board, from the end of the pickup service to the start of drop-off."""
    requirement_mask: I64
    """Bit flags of :class:`matching.model.Requirement` the vehicle must all provide."""
    priority_weight: F64
    """Weight of serving the request in the first objective (e.g. 2 medical/employment, 1)."""
    linked_to: I64
    """Index of the linked leg (outbound <-> return) or -1: both are served or neither."""
    # vehicles
    start_node: I64
    end_node: I64
    earliest_start_s: F64
    latest_end_s: F64
    capacity: I64
    capability_mask: I64
    max_duration_s: F64
    """Longest route, from leaving ``start_node`` to arriving at ``end_node``."""
    max_added_s: F64
    """Longest added driving time over the direct ``start -> end`` time, or -1 (no limit)."""
    max_requests: I64
    """Most requests the vehicle serves (a volunteer's daily cap of services), or -1."""
    is_volunteer_outing: B8
    """True for an outing from home (home -> services -> home), False for a driver's own trip."""
    serve_all: bool = False
    """Every request must be served (the Cordeau benchmark); the planner fails otherwise."""
    one_rider_per_drive: bool = False
    """Today's model: at most one rider on board, and each service of a volunteer is its own
    outing (the car goes home between two services); a driver's trip carries one request."""
    pin_group: I64 | None = None
    """int64[R] or None: a request with ``pin_group == g >= 0`` is already booked (a
    commitment); only a vehicle with ``vehicle_group == g`` may serve it, and it must be
    served (never removed by the search). -1 (:data:`NO_GROUP`) or None: free."""
    vehicle_group: I64 | None = None
    """int64[V] or None: the pin group of each vehicle, or -1 (:data:`NO_GROUP`)."""
    pickup_target_s: F64 | None = None
    """float64[R] or None: preferred start of the pickup (NaN: none), e.g. the time promised
    to a booked rider. The plan reports schedules that start the pickup at the target when
    the route allows it, rather than at the earliest time (which would move the promise)."""

    @property
    def n_nodes(self) -> int:
        return int(self.travel_s.shape[0])

    @property
    def n_requests(self) -> int:
        return int(self.pickup_node.shape[0])

    @property
    def n_vehicles(self) -> int:
        return int(self.start_node.shape[0])

    @property
    def pinned(self) -> B8:
        """bool[R]: the request is pinned to a vehicle group (a commitment)."""
        if self.pin_group is None:
            return np.zeros(self.n_requests, dtype=np.bool_)
        return self.pin_group >= 0

    @property
    def has_pins(self) -> bool:
        return self.pin_group is not None and bool(np.any(self.pin_group >= 0))

    @property
    def base_travel_s(self) -> F64:
        """Direct time of each vehicle's own trip (0 for an outing from and to home)."""
        return self.travel_s[self.start_node, self.end_node]

    @property
    def base_distance_m(self) -> F64:
        """Direct distance of each vehicle's own trip (0 for an outing from and to home)."""
        return self.distance_m[self.start_node, self.end_node]


class RouteStops(NamedTuple):
    """One vehicle's route as stop events, from its start (kind START) to its end (END).

    ``request`` is -1 at START and END; ``load_after`` is the seats taken when leaving the stop.
    In the one-rider model a volunteer goes home between a drop-off and the next pickup; that
    pass is not a stop, but ``arrival_s`` of the pickup includes it.
    """

    vehicle: int
    node: I64
    request: I64
    kind: I64
    arrival_s: F64
    service_start_s: F64
    departure_s: F64
    load_after: I64

    @property
    def n_requests(self) -> int:
        return int(np.count_nonzero(self.kind == PICKUP))


class Objective(NamedTuple):
    """The objective in strict order; compare plans with :func:`objective_key`."""

    served_weight: float
    added_distance_m: float
    load_spread: float


def objective_key(obj: Objective) -> tuple[float, float, float]:
    """Sort key of an objective: smaller is better (served weight is maximised)."""
    return (-round(obj.served_weight, 9), round(obj.added_distance_m, 6), obj.load_spread)


@dataclass(frozen=True, eq=False)
class PoolingPlan:
    """The best plan found by :func:`matching.pooling.plan_routes`."""

    routes: tuple[RouteStops, ...]
    """One entry per vehicle (an unused vehicle has START and END only)."""
    served: B8
    """bool[R]: the request is in some route."""
    vehicle_of: I64
    """int64[R]: the vehicle serving the request, or -1."""
    objective: Objective
    distance_m: float
    """Total driven distance of all routes (Cordeau's cost)."""
    proven_optimal: bool = False
    bound: float | None = None
    """A proven bound on the added distance when known (None otherwise)."""
    seconds: float = 0.0
    first_plan_seconds: float = 0.0
    iterations: int = 0
    history: tuple[tuple[float, Objective], ...] = field(default_factory=tuple)
    """(seconds since the start, objective) at each improvement: the anytime curve."""
    broken_pins: tuple[int, ...] = ()
    """Pinned requests the planner could not serve (a commitment that no longer fits)."""

    @property
    def n_served(self) -> int:
        return int(np.count_nonzero(self.served))


def _as(name: str, value: object, dtype: type, size: int | None) -> npt.NDArray[Any]:
    arr: npt.NDArray[Any] = np.asarray(value, dtype=dtype)
    if size is not None and arr.ndim == 0:
        arr = np.full(size, arr.item(), dtype=dtype)
    arr = np.ascontiguousarray(arr)
    if size is not None and arr.shape != (size,):
        raise PoolingError(f"{name} must have shape ({size},), got {arr.shape}")
    return arr


def instance_from_arrays(
    travel_s: npt.ArrayLike,
    distance_m: npt.ArrayLike,
    *,
    pickup_node: npt.ArrayLike,
    dropoff_node: npt.ArrayLike,
    pickup_earliest_s: npt.ArrayLike,
    pickup_latest_s: npt.ArrayLike,
    dropoff_earliest_s: npt.ArrayLike,
    dropoff_latest_s: npt.ArrayLike,
    start_node: npt.ArrayLike,
    end_node: npt.ArrayLike,
    earliest_start_s: npt.ArrayLike,
    latest_end_s: npt.ArrayLike,
    capacity: npt.ArrayLike,
    service_s: npt.ArrayLike = 0.0,
    dropoff_service_s: npt.ArrayLike | None = None,
    load: npt.ArrayLike = 1,
    max_ride_s: npt.ArrayLike = math.inf,
    requirement_mask: npt.ArrayLike = 0,
    priority_weight: npt.ArrayLike = 1.0,
    linked_to: npt.ArrayLike | None = None,
    capability_mask: npt.ArrayLike = 0,
    max_duration_s: npt.ArrayLike = math.inf,
    max_added_s: npt.ArrayLike = NO_LIMIT,
    max_requests: npt.ArrayLike = NO_LIMIT,
    is_volunteer_outing: npt.ArrayLike | None = None,
    serve_all: bool = False,
    one_rider_per_drive: bool = False,
    pin_group: npt.ArrayLike | None = None,
    vehicle_group: npt.ArrayLike | None = None,
    pickup_target_s: npt.ArrayLike | None = None,
) -> PoolingInstance:
    """Validate arrays and build a :class:`PoolingInstance`.

    Scalars are broadcast to every request or vehicle. ``service_s`` is the pickup dwell (and
    the drop-off dwell unless ``dropoff_service_s`` is given). ``is_volunteer_outing`` defaults
    to ``start_node == end_node``. ``pin_group`` (per request) and ``vehicle_group`` (per
    vehicle) pin booked requests to a group of vehicles (-1: free / no group); linked legs
    must both be pinned or both free. ``pickup_target_s`` (NaN: none) is the preferred
    pickup start reported in the plan.

    Raises
    ------
    PoolingError (a ValueError)
        On wrong shapes, nodes out of range, negative or non-finite times, empty windows, bad
        loads or capacities, or links that are not symmetric pairs.
    """
    travel = np.ascontiguousarray(np.asarray(travel_s, dtype=np.float64))
    dist = np.ascontiguousarray(np.asarray(distance_m, dtype=np.float64))
    if travel.ndim != 2 or travel.shape[0] != travel.shape[1]:
        raise PoolingError(f"travel_s must be a square matrix, got shape {travel.shape}")
    if dist.shape != travel.shape:
        raise PoolingError(f"distance_m has shape {dist.shape}, travel_s {travel.shape}")
    if not (np.all(np.isfinite(travel)) and np.all(travel >= 0)):
        raise PoolingError(
            "travel_s must be finite and non-negative (unreachable pairs: drop the node)"
        )
    if not (np.all(np.isfinite(dist)) and np.all(dist >= 0)):
        raise PoolingError("distance_m must be finite and non-negative")
    n = travel.shape[0]
    pickup = _as("pickup_node", pickup_node, np.int64, None)
    if pickup.ndim != 1:
        raise PoolingError("pickup_node must be one-dimensional")
    r = pickup.shape[0]
    start = _as("start_node", start_node, np.int64, None)
    if start.ndim != 1:
        raise PoolingError("start_node must be one-dimensional")
    v = start.shape[0]
    f = {
        "pickup_earliest_s": pickup_earliest_s,
        "pickup_latest_s": pickup_latest_s,
        "dropoff_earliest_s": dropoff_earliest_s,
        "dropoff_latest_s": dropoff_latest_s,
        "pickup_service_s": service_s,
        "dropoff_service_s": service_s if dropoff_service_s is None else dropoff_service_s,
        "max_ride_s": max_ride_s,
        "priority_weight": priority_weight,
    }
    req = {k: _as(k, val, np.float64, r) for k, val in f.items()}
    req["pickup_node"] = pickup
    req["dropoff_node"] = _as("dropoff_node", dropoff_node, np.int64, r)
    req["load"] = _as("load", load, np.int64, r)
    req["requirement_mask"] = _as("requirement_mask", requirement_mask, np.int64, r)
    req["linked_to"] = _as(
        "linked_to", np.full(r, NO_LINK) if linked_to is None else linked_to, np.int64, r
    )
    veh = {
        "start_node": start,
        "end_node": _as("end_node", end_node, np.int64, v),
        "earliest_start_s": _as("earliest_start_s", earliest_start_s, np.float64, v),
        "latest_end_s": _as("latest_end_s", latest_end_s, np.float64, v),
        "capacity": _as("capacity", capacity, np.int64, v),
        "capability_mask": _as("capability_mask", capability_mask, np.int64, v),
        "max_duration_s": _as("max_duration_s", max_duration_s, np.float64, v),
        "max_added_s": _as("max_added_s", max_added_s, np.float64, v),
        "max_requests": _as("max_requests", max_requests, np.int64, v),
    }
    outing = (
        veh["start_node"] == veh["end_node"]
        if is_volunteer_outing is None
        else _as("is_volunteer_outing", is_volunteer_outing, np.bool_, v)
    )
    for name in ("pickup_node", "dropoff_node"):
        a = req[name]
        if r and (a.min() < 0 or a.max() >= n):
            raise PoolingError(f"{name} must index the {n} nodes of the matrices")
    for name in ("start_node", "end_node"):
        a = veh[name]
        if v and (a.min() < 0 or a.max() >= n):
            raise PoolingError(f"{name} must index the {n} nodes of the matrices")
    for name in (
        "pickup_earliest_s",
        "pickup_latest_s",
        "dropoff_earliest_s",
        "dropoff_latest_s",
        "pickup_service_s",
        "dropoff_service_s",
    ):
        if not np.all(np.isfinite(req[name])):
            raise PoolingError(f"{name} must be finite")
    for name in ("pickup_service_s", "dropoff_service_s"):
        if np.any(req[name] < 0):
            raise PoolingError(f"{name} must be non-negative")
    bad = np.flatnonzero(req["pickup_earliest_s"] > req["pickup_latest_s"])
    if bad.size:
        raise PoolingError(f"request {bad[0]}: pickup window is empty")
    bad = np.flatnonzero(req["dropoff_earliest_s"] > req["dropoff_latest_s"])
    if bad.size:
        raise PoolingError(f"request {bad[0]}: drop-off window is empty")
    if np.any(np.isnan(req["max_ride_s"])) or np.any(req["max_ride_s"] < 0):
        raise PoolingError("max_ride_s must be non-negative (inf: no limit)")
    if np.any(req["load"] < 1):
        raise PoolingError("load must be at least 1 seat")
    if not (np.all(np.isfinite(req["priority_weight"])) and np.all(req["priority_weight"] > 0)):
        raise PoolingError("priority_weight must be finite and positive")
    if np.any(req["requirement_mask"] < 0) or np.any(veh["capability_mask"] < 0):
        raise PoolingError("requirement and capability masks must be non-negative bit flags")
    link = req["linked_to"]
    for i in np.flatnonzero(link != NO_LINK):
        j = int(link[i])
        if not (0 <= j < r) or j == i or link[j] != i:
            raise PoolingError(f"request {i}: linked_to={j} is not a symmetric pair of requests")
    if not (
        np.all(np.isfinite(veh["earliest_start_s"])) and np.all(np.isfinite(veh["latest_end_s"]))
    ):
        raise PoolingError("vehicle availability windows must be finite")
    bad = np.flatnonzero(veh["earliest_start_s"] > veh["latest_end_s"])
    if bad.size:
        raise PoolingError(f"vehicle {bad[0]}: availability window is empty")
    if np.any(veh["capacity"] < 0):
        raise PoolingError("capacity must be non-negative")
    if np.any(np.isnan(veh["max_duration_s"])) or np.any(veh["max_duration_s"] < 0):
        raise PoolingError("max_duration_s must be non-negative (inf: no limit)")
    if np.any(np.isnan(veh["max_added_s"])) or np.any(
        (veh["max_added_s"] < 0) & (veh["max_added_s"] != NO_LIMIT)
    ):
        raise PoolingError("max_added_s must be non-negative or -1 (no limit)")
    if np.any((veh["max_requests"] < 0) & (veh["max_requests"] != NO_LIMIT)):
        raise PoolingError("max_requests must be non-negative or -1 (no limit)")
    pins, groups, target = _pins(pin_group, vehicle_group, pickup_target_s, req, r, v)
    return PoolingInstance(
        travel_s=travel,
        distance_m=dist,
        is_volunteer_outing=outing,
        serve_all=bool(serve_all),
        one_rider_per_drive=bool(one_rider_per_drive),
        pin_group=pins,
        vehicle_group=groups,
        pickup_target_s=target,
        **req,
        **veh,
    )


def _pins(
    pin_group: npt.ArrayLike | None,
    vehicle_group: npt.ArrayLike | None,
    pickup_target_s: npt.ArrayLike | None,
    req: dict[str, npt.NDArray[Any]],
    r: int,
    v: int,
) -> tuple[I64 | None, I64 | None, F64 | None]:
    """Validate the optional pin arrays (None stays None: today's instance, unchanged)."""
    pg: I64 | None = None
    vg: I64 | None = None
    target: F64 | None = None
    if pin_group is not None or vehicle_group is not None:
        pg = _as("pin_group", NO_GROUP if pin_group is None else pin_group, np.int64, r)
        vg = _as("vehicle_group", NO_GROUP if vehicle_group is None else vehicle_group, np.int64, v)
        if np.any(pg < NO_GROUP) or np.any(vg < NO_GROUP):
            raise PoolingError("pin_group and vehicle_group must be >= 0 or -1 (free)")
        link = req["linked_to"]
        for i in np.flatnonzero(link != NO_LINK):
            if (pg[i] >= 0) != (pg[int(link[i])] >= 0):
                raise PoolingError(f"request {i}: linked legs must both be pinned or both free")
    if pickup_target_s is not None:
        target = _as("pickup_target_s", pickup_target_s, np.float64, r)
        if np.any(np.isinf(target)):
            raise PoolingError("pickup_target_s must be finite or NaN (no target)")
    return pg, vg, target
