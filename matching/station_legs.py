"""A volunteer's drive to a station combined with a train or bus, as an option of the day plan.

The caller (who routes public transport: RAPTOR on the territory's feeds, outside
``matching``) gives, per need and leg, *station alternatives*: a station's graph node and,
for the outbound, the latest drop-off at the station (train departure minus a transfer
margin); for the return, the earliest pickup there (train arrival plus a margin); with the
public-transport part's duration and a short description kept for the rides.

The planner cannot choose between exclusive alternatives (the kernels know linked legs, not
"one of"), so the option is a second phase, which serves each leg at most once by
construction:

1. the day is planned as today (direct legs only);
2. the needs left unserved that have an alternative go into a second instance whose legs run
   to or from their first usable station (``needs_for_stations``); every need served in
   phase 1 enters it as a commitment on the driver(s) that served it
   (:class:`matching.commitments.Commitment`: pinned, kept, its pickup within
   ``commitment_margin_s`` of phase 1's); the second plan is kept when it serves at least
   as many needs (then as much priority) as the first.

Rules: a rider who needs accompaniment is never left at a station; a wheelchair rider only
takes an alternative marked ``wheelchair_accessible``. :func:`station_problems` re-checks
the read-back rides against the transit times (independent of the instance's windows).

Nothing here imports Flask, a database or ``gtfs_import``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from matching.model import Requirement, RideNeed

if TYPE_CHECKING:
    from matching.commitments import Commitment
    from matching.day_instance import DayOptions, DayRoutes, PlannedRide
    from matching.engine import Engine
    from matching.model import DriverTrip, VolunteerAvailability

OUTBOUND = "outbound"
RETURN = "return"


@dataclass(frozen=True)
class StationAlternative:
    """One way to do a need's leg partly by public transport, computed by the caller."""

    leg: str
    """'outbound' (car home -> station, then transit) or 'return' (transit, then car)."""
    station_node: int
    """Graph node of the station (snapped by the caller)."""
    time_s: int
    """Outbound: latest start of the drop-off at the station (departure - margin).
    Return: earliest start of the pickup at the station (arrival + margin). UNIX seconds."""
    transit_s: int
    """Duration of the public-transport part (walk included), for the rides."""
    description: str
    """Short text of the public-transport part ('TER 8:12 Lalbenque -> Cahors 8:31')."""
    station_name: str = ""
    wheelchair_accessible: bool = False
    """Every trip and stop of the transit part takes a wheelchair."""

    def __post_init__(self) -> None:
        if self.leg not in (OUTBOUND, RETURN):
            raise ValueError(f"leg must be {OUTBOUND!r} or {RETURN!r}, got {self.leg!r}")
        if self.transit_s < 0:
            raise ValueError("transit_s must be >= 0")


@dataclass(frozen=True)
class StationChoice:
    """The alternative used for each leg of one need in the second phase (None: direct)."""

    outbound: StationAlternative | None = None
    back: StationAlternative | None = None


def usable(need: RideNeed, alt: StationAlternative) -> bool:
    """Whether ``need``'s rider may take ``alt``: never with accompaniment (she is not left
    alone at a station), in a wheelchair only on an accessible transit part, and a return
    only for a need that has one."""
    if need.requirements & Requirement.ACCOMPANIMENT:
        return False
    if need.requirements & Requirement.WHEELCHAIR and not alt.wheelchair_accessible:
        return False
    return alt.leg == OUTBOUND or need.return_pickup_s is not None


def choose(
    needs: Sequence[RideNeed], alternatives: Mapping[str, Sequence[StationAlternative]]
) -> dict[str, StationChoice]:
    """Need id -> the first usable alternative of each leg (the caller's order, e.g. the
    shortest drive first), for the needs with at least one."""
    out: dict[str, StationChoice] = {}
    for need in needs:
        alts = [a for a in alternatives.get(need.need_id, ()) if usable(need, a)]
        first_out = next((a for a in alts if a.leg == OUTBOUND), None)
        first_back = next((a for a in alts if a.leg == RETURN), None)
        if first_out is not None or first_back is not None:
            out[need.need_id] = StationChoice(first_out, first_back)
    return out


@dataclass(frozen=True)
class LegRequest:
    """A leg's request in the pooled instance (instance node indices, seconds)."""

    pickup_node: int
    dropoff_node: int
    pickup_earliest_s: float
    pickup_latest_s: float
    dropoff_earliest_s: float
    dropoff_latest_s: float
    max_ride_s: float
    direct: float
    span_lo: float
    span_hi: float


def station_leg(
    need: RideNeed,
    alt: StationAlternative,
    home: int,
    station: int,
    car_s: float,
    service_s: float,
    excess: Callable[[float], float],
) -> LegRequest | None:
    """The car part of a leg through a station, or None when it cannot fit.

    Outbound: picked up at home within a window as long as the need's own
    (``latest_arrival - earliest_pickup``) ending so that the car reaches the station by
    ``alt.time_s``; the rider accepts to leave earlier than for a direct ride, since the
    train does the rest. Return: picked up at the station from ``alt.time_s`` within the
    need's ``return_slack_s``, driven home within the usual ride-time bound.
    """
    ride_max = car_s + excess(car_s)
    if alt.leg == OUTBOUND:
        width = float(need.latest_arrival_s - need.earliest_pickup_s)
        lo = float(alt.time_s) - width
        hi = float(alt.time_s) - car_s - service_s
        if hi < lo:
            return None
        return LegRequest(
            home, station, lo, hi, lo + service_s + car_s, float(alt.time_s), ride_max, car_s,
            lo, float(alt.time_s),
        )  # fmt: skip
    lo = float(alt.time_s)
    hi = lo + need.return_slack_s
    late = hi + service_s + ride_max
    return LegRequest(
        station, home, lo, hi, lo + service_s + car_s, late, ride_max, car_s, lo, late
    )


def station_problems(rides: Sequence[PlannedRide], needs: Sequence[RideNeed]) -> list[str]:
    """What a plan's station rides break, checked against the transit times themselves:
    drop-off at the station by its latest time, pickup there not before the train's
    arrival (plus margin), no accompanied rider and no wheelchair on an inaccessible part."""
    by_id = {n.need_id: n for n in needs}
    errs: list[str] = []
    for r in rides:
        need = by_id.get(r.need_id)
        for alt in (r.outbound_station, r.return_station):
            if alt is None:
                continue
            if need is not None and not usable(need, alt):
                errs.append(f"need {r.need_id}: its rider may not take {alt.description!r}")
        if r.outbound_station is not None and r.dropoff_s > r.outbound_station.time_s:
            errs.append(f"need {r.need_id}: at the station after its latest time")
        if r.return_station is not None and (
            r.return_pickup_s is None or r.return_pickup_s < r.return_station.time_s
        ):
            errs.append(f"need {r.need_id}: picked up at the station before the train is in")
    return errs


def _commitments_of(
    rides: Sequence[PlannedRide], needs: Mapping[str, RideNeed]
) -> list[Commitment]:
    """Phase 1's served needs as bookings on the drivers who served them."""
    from matching.commitments import Commitment

    out = []
    for r in rides:
        need = needs[r.need_id]
        if r.return_offer_id is None or r.return_pickup_s is None:
            out.append(Commitment(need, r.offer_id, (OUTBOUND,), r.pickup_s))
        elif r.return_offer_id == r.offer_id:
            out.append(
                Commitment(need, r.offer_id, (OUTBOUND, RETURN), r.pickup_s, r.return_pickup_s)
            )
        else:
            out.append(Commitment(need, r.offer_id, (OUTBOUND,), r.pickup_s))
            out.append(Commitment(need, r.return_offer_id, (RETURN,), r.return_pickup_s))
    return out


def plan_day_with_stations(
    engine: Engine,
    needs: Sequence[RideNeed],
    trips: Sequence[DriverTrip],
    volunteers: Sequence[VolunteerAvailability],
    alternatives: Mapping[str, Sequence[StationAlternative]],
    options: DayOptions | None = None,
    *,
    time_limit_s: float = 1.0,
    seed: int = 0,
    direct_plan: DayRoutes | None = None,
) -> DayRoutes:
    """The day plan, with the station option when ``options.station_legs`` is on.

    Off (the default), it is exactly ``plan_day_routes(build_day_instance(...))``. On, the
    needs phase 1 leaves unserved are offered through a station in a second phase (see the
    module docstring), each phase within ``time_limit_s``. ``direct_plan``: phase 1's plan
    when the caller already has it (the same needs, offers and options, switch aside).
    """
    from matching.day_instance import DayOptions, build_day_instance, plan_day_routes

    opts = options or DayOptions()
    first = direct_plan or plan_day_routes(
        build_day_instance(engine, needs, trips, volunteers, opts),
        time_limit_s,
        seed=seed,
    )
    if not opts.station_legs:
        return first
    served = {r.need_id for r in first.rides}
    left = [n for n in needs if n.need_id not in served]
    choices = choose(left, alternatives)
    if not choices:
        return first
    by_id = {n.need_id: n for n in needs}
    second_day = build_day_instance(
        engine,
        [n for n in left if n.need_id in choices],
        trips,
        volunteers,
        opts,
        commitments=_commitments_of(first.rides, by_id),
        station_choices=choices,
    )
    second = plan_day_routes(second_day, time_limit_s, seed=seed)
    if (second.served, second.priority_served) < (first.served, first.priority_served):
        return replace(first, seconds=first.seconds + second.seconds)
    rides = tuple(replace(r, committed=False) for r in second.rides)
    got = {r.need_id for r in rides}
    return replace(
        second,
        rides=rides,
        unserved=tuple(n.need_id for n in needs if n.need_id not in got),
        broken_commitments={},
        moved={},
        proven_optimal=False,
        seconds=first.seconds + second.seconds,
        first_plan_seconds=first.first_plan_seconds,
        problems=second.problems + tuple(station_problems(rides, needs)),
    )
