"""Service simulation: a week of solidarity transport around Cahors, three matching policies.

Run ``python -m benchmarks.service`` (``--json PATH`` to keep the figures). On a generated
road graph of the territory (the 86 communes around Cahors when ``../shared/data`` is
present), it generates a realistic week of demand and supply:

* demand: elderly people's medical trips to Cahors (picked up at the door, often
  accompanied, driven back after the appointment), job seekers going to France Travail or
  to interviews (morning, back at a given time), working days without a car (a home-care
  job, a training: there at 8–9:30, back at 16:30–18:00), parents' errands in school
  hours;
* supply: volunteers with a weekday x morning/afternoon/evening availability grid, and
  commuters' regular trips (to a town in the morning, back in the evening).

It then serves the same week with three policies and reports, for each, the share of
needs served, the added kilometres and the load per volunteer:

* ``engine``: this project's engine (road routing, trips and volunteers, exact daily
  assignment);
* ``lotocar``: the Lot'ô car rules (2018–2019): commune-to-commune lines on commuters'
  regular trips only, detours estimated as the straight line x 1.4, requests taken in
  order by an operator;
* ``mobicoop``: Mobicoop's solidarity rule: volunteers only, pickup and drop-off within a
  straight-line radius of 20 km of the volunteer's home, the appointment inside one of the
  volunteer's availability slots, requests taken in order.

A baseline's promise is also checked on the road network: a ride it accepts but that
cannot be driven in time (or beyond the driver's real detour limit) is counted as
promised but not served.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from benchmarks.service_transit import (
    MAX_TRANSIT_WAIT_S,
    MAX_WALK_S,
    STATION_REACH_S,
    TER_LOT,
    TRANSFER_MARGIN_S,
    TransitNetwork,
    station_alternatives,
    transit_network,
    upper_bound_legs,
)
from benchmarks.synthetic import SHARED_DATA, Places, generate_territory, load_places, random_places
from matching.engine import Engine
from matching.model import (
    DriverTrip,
    Purpose,
    Requirement,
    ReturnMode,
    RideNeed,
    VolunteerAvailability,
    expand_weekly_slots,
)
from matching.offers import OfferSet, build_need_arrays, build_offer_set, evaluate
from matching.rides import assign_batch
from matching.snap import haversine_m

CAHORS_AREA = SHARED_DATA / "communes" / "lot46_cahors_area_communes.csv"
PARIS = ZoneInfo("Europe/Paris")
FIRST_DAY = dt.date(2025, 1, 27)  # a Monday
LOTOCAR_FACTOR = 1.4
LOTOCAR_SPEED_KMH = 60.0  # to turn the estimated kilometres into minutes
MOBICOOP_RADIUS_M = 20_000.0


@dataclass(frozen=True)
class Week:
    """A week of needs (by day) and the offers."""

    needs_by_day: dict[dt.date, list[RideNeed]]
    trips: list[DriverTrip]
    volunteers: list[VolunteerAvailability]
    trip_lines: dict[str, tuple[int, int]]
    """Offer id -> (origin commune, destination commune), the Lot'ô car line."""


def _local(day: dt.date, hour: float) -> int:
    minutes = int(round(hour * 60))
    return int(dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60), PARIS).timestamp())


def _near(rng: np.random.Generator, places: Places, i: int, km: float) -> tuple[float, float]:
    lat = float(places.lat[i] + rng.normal(0, km / 111.2))
    lon = float(places.lon[i] + rng.normal(0, km / (111.2 * math.cos(math.radians(places.lat[i])))))
    return lat, lon


def generate_week(
    places: Places,
    *,
    seed: int = 2026,
    needs_per_day: int = 45,
    n_volunteers: int = 40,
    n_commuters: int = 150,
) -> Week:
    """Generate the week's demand and supply (see the module docstring)."""
    rng = np.random.default_rng(seed)
    n = len(places.name)
    town = int(np.argmax(places.population))
    others = [i for i in np.argsort(-places.population)[1:6].tolist()]
    villages = [i for i in range(n) if i != town]
    vw = places.population[villages].astype(float)
    vw /= vw.sum()
    needs_by_day: dict[dt.date, list[RideNeed]] = {}
    for d in range(7):
        day = FIRST_DAY + dt.timedelta(days=d)
        weekend = day.weekday() >= 5
        count = needs_per_day // 4 if weekend else needs_per_day
        needs: list[RideNeed] = []
        for k in range(count):
            home = int(rng.choice(villages, p=vw))
            pick = _near(rng, places, home, 0.7)
            r = rng.random()
            if r < 0.5 or weekend:  # Roseline: a medical appointment in Cahors
                drop = _near(rng, places, town, 1.2)
                appt = _local(day, rng.uniform(8.5, 17.0))
                need = RideNeed(
                    f"{day.isoformat()}-{k}",
                    *pick,
                    *drop,
                    appt - 75 * 60,
                    appt,
                    return_mode=ReturnMode.AFTER_WAIT,
                    return_wait_s=int(rng.integers(30, 91)) * 60,
                    requirements=Requirement.ACCOMPANIMENT
                    if rng.random() < 0.6
                    else Requirement.NONE,
                    purpose=Purpose.MEDICAL,
                )
            elif r < 0.7:  # Sébastien: France Travail or an interview, back at a given time
                dest = town if rng.random() < 0.7 else int(rng.choice(others))
                drop = _near(rng, places, dest, 1.0)
                appt = _local(day, rng.uniform(8.5, 11.5))
                need = RideNeed(
                    f"{day.isoformat()}-{k}",
                    *pick,
                    *drop,
                    appt - 60 * 60,
                    appt,
                    return_mode=ReturnMode.AT_TIME,
                    return_at_s=appt + int(rng.integers(60, 180)) * 60,
                    purpose=Purpose.EMPLOYMENT,
                )
            elif r < 0.88:  # Sarah's home-care job or Sébastien's training: a working day
                dest = town if rng.random() < 0.6 else int(rng.choice(others))
                drop = _near(rng, places, dest, 1.0)
                start = _local(day, rng.uniform(8.0, 9.5))
                need = RideNeed(
                    f"{day.isoformat()}-{k}",
                    *pick,
                    *drop,
                    start - 60 * 60,
                    start,
                    return_mode=ReturnMode.AT_TIME,
                    return_at_s=_local(day, rng.uniform(16.5, 18.0)),
                    purpose=Purpose.EMPLOYMENT,
                )
            else:  # Sarah: errands during school hours
                dest = town if rng.random() < 0.5 else int(rng.choice(others))
                drop = _near(rng, places, dest, 1.0)
                appt = _local(day, rng.uniform(9.5, 14.5))
                need = RideNeed(
                    f"{day.isoformat()}-{k}",
                    *pick,
                    *drop,
                    appt - 45 * 60,
                    appt,
                    return_mode=ReturnMode.AFTER_WAIT,
                    return_wait_s=int(rng.integers(45, 120)) * 60,
                    purpose=Purpose.SHOPPING,
                )
            needs.append(need)
        needs_by_day[day] = needs
    volunteers = []
    slots = ["morning", "afternoon", "evening"]
    for v in range(n_volunteers):
        home = int(rng.choice(villages, p=vw)) if rng.random() < 0.8 else town
        grid = []
        for weekday in range(7):
            for s, p in zip(slots, (0.35, 0.35, 0.08), strict=True):
                if rng.random() < (p / 3 if weekday >= 5 else p):
                    grid.append((weekday, s))
        windows = expand_weekly_slots(grid, FIRST_DAY, 7)
        if not windows:
            continue
        volunteers.append(
            VolunteerAvailability(
                f"volunteer-{v}",
                *_near(rng, places, home, 0.7),
                windows,
                max_distance_km=float(rng.choice([15.0, 20.0, 20.0, 30.0])),
                capabilities=Requirement.ACCOMPANIMENT | Requirement.NO_FRONT_SEAT,
                max_rides_per_day=2,
            )
        )
    trips = []
    lines: dict[str, tuple[int, int]] = {}
    for c in range(n_commuters):
        home = int(rng.choice(villages, p=vw))
        work = town if rng.random() < 0.75 else int(rng.choice(others))
        h = _near(rng, places, home, 0.7)
        w = _near(rng, places, work, 1.0)
        leave_h = rng.uniform(7.0, 8.5)
        back_h = rng.uniform(16.5, 18.5)
        detour = int(rng.integers(8, 21)) * 60
        for d in range(5):
            day = FIRST_DAY + dt.timedelta(days=d)
            for tag, o, dst, hour, line in (
                ("am", h, w, leave_h, (home, work)),
                ("pm", w, h, back_h, (work, home)),
            ):
                oid = f"commuter-{c}-{day.isoformat()}-{tag}"
                trips.append(
                    DriverTrip(
                        oid,
                        f"commuter-{c}",
                        *o,
                        *dst,
                        _local(day, hour),
                        _local(day, hour) + 20 * 60,
                        seats=3,
                        max_detour_s=detour,
                    )
                )
                lines[oid] = line
    return Week(needs_by_day, trips, volunteers, lines)


# --------------------------------------------------------------------------- policies


def _commune_of(places: Places, lat: float, lon: float) -> int:
    return int(np.argmin(haversine_m(lat, lon, places.lat, places.lon)))


def _est_s(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    km = float(haversine_m(lat1, lon1, lat2, lon2)) / 1000.0 * LOTOCAR_FACTOR
    return km / LOTOCAR_SPEED_KMH * 3600.0


def lotocar_day(
    needs: list[RideNeed],
    trips: list[DriverTrip],
    lines: dict[str, tuple[int, int]],
    places: Places,
) -> dict[str, tuple[str, str | None]]:
    """Lot'ô car: a need rides a commuter's line toward its drop-off commune, detour by
    straight line x 1.4, first come first served; a return needs a line back."""
    used: set[str] = set()
    out: dict[str, tuple[str, str | None]] = {}

    def fits(need: RideNeed, trip: DriverTrip, back: bool) -> bool:
        if (
            trip.offer_id in used
            or need.seats > trip.seats
            or need.requirements & ~trip.capabilities
        ):
            return False
        p = (need.dropoff_lat, need.dropoff_lon) if back else (need.pickup_lat, need.pickup_lon)
        q = (need.pickup_lat, need.pickup_lon) if back else (need.dropoff_lat, need.dropoff_lon)
        if lines[trip.offer_id][1] != _commune_of(places, *q):
            return False
        o = (trip.origin_lat, trip.origin_lon)
        d = (trip.destination_lat, trip.destination_lon)
        detour = _est_s(*o, *p) + _est_s(*p, *q) + _est_s(*q, *d) - _est_s(*o, *d)
        if detour > trip.max_detour_s:
            return False
        earliest = need.return_pickup_s if back else need.earliest_pickup_s
        assert earliest is not None
        latest = earliest + need.return_slack_s + _est_s(*p, *q) if back else need.latest_arrival_s
        dep = max(trip.departure_earliest_s, earliest - _est_s(*o, *p))
        return dep <= trip.departure_latest_s and dep + _est_s(*o, *p) + _est_s(*p, *q) <= latest

    for need in needs:
        out_trip = next((t for t in trips if fits(need, t, False)), None)
        if out_trip is None:
            continue
        back_trip = None
        if need.return_pickup_s is not None:
            used.add(out_trip.offer_id)
            back_trip = next((t for t in trips if fits(need, t, True)), None)
            used.discard(out_trip.offer_id)
            if back_trip is None:
                continue
            used.add(back_trip.offer_id)
        used.add(out_trip.offer_id)
        out[need.need_id] = (out_trip.offer_id, back_trip.offer_id if back_trip else None)
    return out


def mobicoop_day(
    needs: list[RideNeed], volunteers: list[VolunteerAvailability]
) -> dict[str, tuple[str, str | None]]:
    """Mobicoop: a volunteer whose home is within 20 km (straight line) of both ends and
    who has a slot containing the appointment; first come first served, one ride per slot
    and at most ``max_rides_per_day`` a day."""
    slot_used: set[tuple[str, int]] = set()
    per_day: Counter[str] = Counter()
    out: dict[str, tuple[str, str | None]] = {}
    for need in needs:
        for v in volunteers:
            if need.requirements & ~v.capabilities or need.seats > v.seats:
                continue
            if per_day[v.driver_id] >= v.max_rides_per_day:
                continue
            if (
                float(haversine_m(v.home_lat, v.home_lon, need.pickup_lat, need.pickup_lon))
                > MOBICOOP_RADIUS_M
            ):
                continue
            if (
                float(haversine_m(v.home_lat, v.home_lon, need.dropoff_lat, need.dropoff_lon))
                > MOBICOOP_RADIUS_M
            ):
                continue
            slot = next(
                (i for i, (a, b) in enumerate(v.windows_sorted) if a <= need.latest_arrival_s <= b),
                None,
            )
            if slot is None or (v.driver_id, slot) in slot_used:
                continue
            slot_used.add((v.driver_id, slot))
            per_day[v.driver_id] += 1
            out[need.need_id] = (v.driver_id, v.driver_id)
            break
    return out


# --------------------------------------------------------------------------- evaluation


@dataclass
class PolicyFigures:
    needs: int = 0
    promised: int = 0
    served: int = 0
    served_priority: int = 0
    priority_needs: int = 0
    added_km: float = 0.0
    rides_per_volunteer: Counter[str] | None = None

    def as_dict(self, volunteers: list[VolunteerAvailability]) -> dict[str, Any]:
        load = self.rides_per_volunteer or Counter()
        counts = [load.get(v.driver_id, 0) for v in volunteers]
        return {
            "needs": self.needs,
            "promised": self.promised,
            "served": self.served,
            "served_share": self.served / self.needs if self.needs else 0.0,
            "priority_served_share": self.served_priority / self.priority_needs
            if self.priority_needs
            else 0.0,
            "added_km": round(self.added_km, 1),
            "added_km_per_served": round(self.added_km / self.served, 2) if self.served else None,
            "volunteer_rides_mean": float(np.mean(counts)) if counts else 0.0,
            "volunteer_rides_max": int(max(counts, default=0)),
            "volunteers_without_ride": int(sum(1 for c in counts if c == 0)),
            "volunteer_rides_histogram": dict(sorted(Counter(counts).items())),
        }


def _road_check(
    engine: Engine,
    needs: list[RideNeed],
    offers: OfferSet,
    chosen: dict[str, tuple[str, str | None]],
    fig: PolicyFigures,
) -> None:
    """Count a baseline's promises that can really be driven, and their road kilometres."""
    if not needs:
        return
    arrays = build_need_arrays(engine, needs)
    ev = evaluate(arrays, offers)
    index = {oid: i for i, oid in enumerate(offers.offer_ids)}
    row_of: dict[tuple[int, int, int], int] = {}
    for k in range(ev.rows.shape[0]):
        row_of[(int(ev.rows[k, 0]), int(ev.rows[k, 1]), int(ev.rows[k, 2]))] = k
    for n, need in enumerate(needs):
        if need.need_id not in chosen:
            continue
        fig.promised += 1
        out_id, back_id = chosen[need.need_id]
        o = index[out_id]
        k = row_of.get((n, o, 0))
        if k is None:
            continue
        km = float(ev.row_lengths[k, 0]) / 1000.0
        if o < offers.n_trips and need.return_pickup_s is not None:
            assert back_id is not None
            k2 = row_of.get((n, index[back_id], 1))
            if k2 is None:
                continue
            km += float(ev.row_lengths[k2, 0]) / 1000.0
        fig.served += 1
        fig.served_priority += need.priority
        fig.added_km += km
        if o >= offers.n_trips:
            assert fig.rides_per_volunteer is not None
            fig.rides_per_volunteer[out_id] += 1


@dataclass
class RouteFigures:
    """Drives of a routing policy: riders and stops per drive, kilometres driven."""

    drives: int = 0
    riders: int = 0
    stops: int = 0
    driven_km: float = 0.0
    problems: int = 0
    seconds: float = 0.0

    def as_dict(self, served: int) -> dict[str, Any]:
        return {
            "drives": self.drives,
            "riders_per_drive": round(self.riders / self.drives, 2) if self.drives else None,
            "stops_per_drive": round(self.stops / self.drives, 2) if self.drives else None,
            "driven_km": round(self.driven_km, 1),
            "km_per_rider": round(self.driven_km / served, 2) if served else None,
            "checker_problems": self.problems,
            "planner_seconds": round(self.seconds, 2),
        }


def upper_bound_day(engine: Engine, needs: list[RideNeed], offers: OfferSet) -> set[str]:
    """Needs that some driver could serve alone (the engine's own feasibility: a candidate
    with its return), whatever the other needs."""
    from matching.matcher import need_candidates

    if not needs:
        return set()
    arrays = build_need_arrays(engine, needs)
    ev = evaluate(arrays, offers)
    out = set()
    for n, need in enumerate(needs):
        cands, _ = need_candidates(n, arrays, offers, ev, 0.32)
        if cands:
            out.add(need.need_id)
    return out


def arrival_order_day(
    engine: Engine,
    needs: list[RideNeed],
    trips: list[DriverTrip],
    volunteers: list[VolunteerAvailability],
) -> list[Any]:
    """Needs taken one by one in arrival order, each given its best candidate at once
    (today's one-rider model, no planning of the day): the trips used and the volunteers'
    busy hours and daily caps are taken away before the next need."""
    trips = list(trips)
    vols = {v.driver_id: v for v in volunteers}
    rides = []
    for need in needs:
        result = assign_batch(engine, [need], trips, list(vols.values()), 2)
        if not result.rides:
            continue
        cand = result.rides[0].candidate
        rides.append(result.rides[0])
        if cand.kind == "trip":
            used = {cand.offer_id, cand.return_offer_id}
            trips = [t for t in trips if t.offer_id not in used]
            continue
        v = vols[cand.driver_id]
        left = v.max_rides_per_day - 1
        windows = []
        for a, b in v.windows_sorted:
            for lo, hi in ((a, min(b, cand.leave_s)), (max(a, cand.end_s), b)):
                if hi > lo:
                    windows.append((lo, hi))
        if left <= 0 or not windows:
            del vols[cand.driver_id]
        else:
            vols[cand.driver_id] = replace(v, windows=tuple(windows), max_rides_per_day=left)
    return rides


POOLED_POLICIES = {
    "engine_pooled": {},
    "one_rider_per_drive": {"one_rider_per_drive": True},
    "volunteers_only": {"use_trips": False},
}
"""The pooled planner and its ablations (options of matching.day_instance.DayOptions)."""


TRANSIT_POLICY = "engine_pooled_transit"
"""The pooled planner with the station option (matching.station_legs), phase 1 being
``engine_pooled``'s own plan."""


def simulate(
    engine: Engine,
    places: Places,
    week: Week,
    time_limit_s: float = 3.0,
    transit: TransitNetwork | None = None,
) -> dict[str, Any]:
    """Serve the week with every policy; figures per policy. With ``transit``, also the
    pooled planner with a volunteer's drive to a station combined with a train or bus."""
    from matching.day_instance import DayOptions, build_day_instance, plan_day_routes
    from matching.pooling import warm_up
    from matching.station_legs import plan_day_with_stations

    warm_up()
    pooled_names = [*POOLED_POLICIES, *([TRANSIT_POLICY] if transit is not None else [])]
    names = ["engine", "arrival_order", *pooled_names, "lotocar", "mobicoop"]
    figs = {name: PolicyFigures(rides_per_volunteer=Counter()) for name in names}
    routes = {name: RouteFigures() for name in (*pooled_names, "engine", "arrival_order")}
    bound_split = bound_transit = bound_transit_priority = 0
    station_needs = station_legs_used = needs_with_alternative = 0
    transit_examples: list[dict[str, Any]] = []
    reasons: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    bound = 0
    bound_priority = 0
    outside: Counter[str] = Counter()  # served needs that no driver could serve alone
    split: Counter[str] = Counter()  # needs whose return is driven by another driver
    # The road check of Mobicoop's choices ignores our road-distance limit (its own rule is
    # the straight-line radius), keeping time windows, requirements and seats.
    unlimited = [replace(v, max_distance_km=None) for v in week.volunteers]
    for day, needs in sorted(week.needs_by_day.items()):
        trips = [
            t
            for t in week.trips
            if dt.datetime.fromtimestamp(t.departure_earliest_s, PARIS).date() == day
        ]
        n_prio = sum(x.priority for x in needs)
        for fig in figs.values():
            fig.needs += len(needs)
            fig.priority_needs += n_prio
        offers = build_offer_set(engine, trips, week.volunteers)
        alone = upper_bound_day(engine, needs, offers)
        bound += len(alone)
        bound_priority += sum(x.priority for x in needs if x.need_id in alone)
        alternatives: dict[str, list[Any]] = {}
        if transit is not None:
            alternatives = station_alternatives(engine, transit, needs)
            needs_with_alternative += len(alternatives)
            split_set, transit_set = upper_bound_legs(engine, needs, offers, alternatives, alone)
            bound_split += len(split_set)
            bound_transit += len(transit_set)
            bound_transit_priority += sum(x.priority for x in needs if x.need_id in transit_set)
        plans: dict[str, Any] = {}
        result = assign_batch(
            engine,
            needs,
            trips,
            week.volunteers,
            cap_per_volunteer_per_day=2,
            offers=offers,
            spread_load=True,
            time_limit_s=None,  # the exact one-rider reference: no time budget
        )
        f = figs["engine"]
        f.promised += result.served
        f.served += result.served
        f.served_priority += result.priority_served
        f.added_km += result.added_distance_m / 1000.0
        _one_rider_drives(result.rides, routes["engine"])
        assert f.rides_per_volunteer is not None
        for ride in result.rides:
            kinds[ride.candidate.kind] += 1
            if ride.candidate.kind == "volunteer":
                f.rides_per_volunteer[ride.candidate.driver_id] += 1
        for u in result.unserved:
            top = max(u.reasons, key=lambda r: r.count)
            reasons[top.code] += 1
        ordered = arrival_order_day(engine, needs, trips, week.volunteers)
        f = figs["arrival_order"]
        f.promised += len(ordered)
        f.served += len(ordered)
        f.served_priority += sum(
            x.priority for x in needs if x.need_id in {r.need_id for r in ordered}
        )
        f.added_km += sum(r.candidate.added_distance_m for r in ordered) / 1000.0
        _one_rider_drives(ordered, routes["arrival_order"])
        for r in ordered:
            if r.candidate.kind == "volunteer":
                f.rides_per_volunteer[r.candidate.driver_id] += 1  # type: ignore[index]
        for name in pooled_names:
            options = POOLED_POLICIES.get(name, {})
            if name == TRANSIT_POLICY:
                plan = plan_day_with_stations(
                    engine,
                    needs,
                    trips,
                    week.volunteers,
                    alternatives,
                    DayOptions(station_legs=True),
                    time_limit_s=time_limit_s,
                    seed=0,
                    direct_plan=plans["engine_pooled"],
                )
                through = [r for r in plan.rides if r.outbound_station or r.return_station]
                station_needs += len(through)
                station_legs_used += sum(
                    (r.outbound_station is not None) + (r.return_station is not None)
                    for r in through
                )
                for r in through[: max(0, 5 - len(transit_examples))]:
                    transit_examples.append(
                        {
                            "need_id": r.need_id,
                            "outbound": r.outbound_station.description
                            if r.outbound_station
                            else "direct",
                            "return": r.return_station.description
                            if r.return_station
                            else ("direct" if r.return_offer_id else None),
                        }
                    )
            else:
                inst = build_day_instance(
                    engine,
                    needs,
                    trips,
                    week.volunteers,
                    DayOptions(**options),
                )
                plan = plan_day_routes(inst, time_limit_s=time_limit_s, seed=0)
            plans[name] = plan
            f = figs[name]
            f.promised += plan.served
            f.served += plan.served
            f.served_priority += plan.priority_served
            f.added_km += plan.added_distance_m / 1000.0
            rf = routes[name]
            rf.seconds += plan.seconds
            rf.problems += len(plan.problems)
            for route in plan.routes:
                rf.driven_km += route.distance_m / 1000.0
                drives = 1
                if options.get("one_rider_per_drive"):
                    # Each service is its own drive (home between two services).
                    drives = sum(1 for s in route.stops if s.kind == "pickup")
                    rf.riders += drives
                    rf.stops += 2 * drives
                else:
                    rf.riders += route.riders
                    rf.stops += len({(s.lat, s.lon) for s in route.stops})
                rf.drives += drives
                if route.kind == "volunteer":
                    f.rides_per_volunteer[route.driver_id] += drives  # type: ignore[index]
            outside[name] += sum(1 for r in plan.rides if r.need_id not in alone)
            split[name] += sum(1 for r in plan.rides if r.return_offer_id not in (None, r.offer_id))
        lot = lotocar_day(needs, trips, week.trip_lines, places)
        _road_check(engine, needs, build_offer_set(engine, trips, []), lot, figs["lotocar"])
        mob = mobicoop_day(needs, week.volunteers)
        _road_check(engine, needs, build_offer_set(engine, [], unlimited), mob, figs["mobicoop"])
    policies = {name: fig.as_dict(week.volunteers) for name, fig in figs.items()}
    for name, rf in routes.items():
        policies[name].update(rf.as_dict(figs[name].served))
        policies[name]["share_of_upper_bound"] = (
            round(figs[name].served / bound, 3) if bound else None
        )
        if name in pooled_names:
            policies[name]["served_beyond_upper_bound"] = outside[name]
            policies[name]["return_by_another_driver"] = split[name]
        if transit is not None:
            policies[name]["share_of_upper_bound_transit"] = (
                round(figs[name].served / bound_transit, 3) if bound_transit else None
            )
    if transit is not None:
        policies[TRANSIT_POLICY]["needs_through_a_station"] = station_needs
        policies[TRANSIT_POLICY]["legs_through_a_station"] = station_legs_used
    transit_report = (
        {}
        if transit is None
        else {
            "upper_bound_split": bound_split,
            "upper_bound_transit": bound_transit,
            "upper_bound_transit_priority": bound_transit_priority,
            "transit": {
                "feed": TER_LOT.name,
                "stations": list(transit.station_names),
                "needs_with_a_station_alternative": needs_with_alternative,
                "station_reach_s": STATION_REACH_S,
                "transfer_margin_s": TRANSFER_MARGIN_S,
                "max_walk_s": transit.max_walk_s,
                "max_transit_wait_s": MAX_TRANSIT_WAIT_S,
                "examples": transit_examples,
            },
        }
    )
    return {
        "upper_bound": bound,
        "upper_bound_priority": bound_priority,
        **transit_report,
        "policies": policies,
        "engine_unserved_main_reason": dict(reasons.most_common()),
        "engine_rides_by_kind": dict(kinds),
        "pooled_time_limit_s_per_day": time_limit_s,
        "notes": {
            "engine": "today's model: one rider per drive, exact daily assignment (MILP)",
            "arrival_order": "needs one by one in arrival order, best candidate at once "
            "(one rider per drive, no day plan)",
            "engine_pooled": "pooled and chained routes (several riders per car, services "
            "chained in one outing), LNS within the time limit",
            "one_rider_per_drive": "the pooled planner with the one-rider switch",
            "volunteers_only": "the pooled planner without the drivers' own trips",
            "volunteer_rides": "pooled policies count drives (outings or trips), not riders",
            TRANSIT_POLICY: "engine_pooled's plan, then the needs it leaves unserved offered "
            "a volunteer's drive to or from a station with a train (second phase, the first "
            "plan's riders kept on their drivers)",
            "upper_bound_split": "needs whose every leg some driver could serve alone "
            "(directly; legs possibly by different drivers), or in upper_bound",
            "upper_bound_transit": "upper_bound_split, each leg also possibly through a "
            "station (a car part some driver could serve alone, then the train)",
        },
    }


def _one_rider_drives(rides: list[Any] | tuple[Any, ...], rf: RouteFigures) -> None:
    """One-rider drives: each service is a drive with one rider and two stops (a return by
    another trip is its own drive)."""
    for ride in rides:
        c = ride.candidate
        legs = 2 if c.kind == "trip" and c.return_offer_id is not None else 1
        rf.drives += legs
        rf.riders += legs
        rf.stops += 2 * legs
        rf.driven_km += c.total_distance_m / 1000.0


def osm_territory(path: Path, n_places: int = 86) -> tuple[Any, Places]:
    """A real road graph (cached in the temporary folder) and its densest places as
    the territory's towns and villages."""
    import tempfile

    from benchmarks.synthetic import places_from_graph_density
    from matching.io import graph_from_osm, load_graph, save_graph

    cache = Path(tempfile.gettempdir()) / "lot-matching-bench"
    cache.mkdir(parents=True, exist_ok=True)
    name = path.name.split(".osm")[0]
    gpath = cache / f"{name}.graph.npz"
    if not gpath.exists():
        save_graph(graph_from_osm(path, simplify=False), gpath)
    graph = load_graph(gpath)
    return graph, places_from_graph_density(graph, n_places)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Simulate a week of solidarity transport.")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--needs-per-day", type=int, default=45)
    parser.add_argument("--volunteers", type=int, default=40)
    parser.add_argument("--commuters", type=int, default=150)
    parser.add_argument(
        "--time-limit", type=float, default=3.0, help="pooled planner's seconds per day"
    )
    parser.add_argument(
        "--osm",
        type=Path,
        help="run the week on this real extract (homes and destinations on its roads, its "
        "densest places as town centres) instead of the generated Cahors area",
    )
    parser.add_argument(
        "--gtfs",
        type=Path,
        default=TER_LOT,
        help="feed of the station option (engine_pooled_transit); its stops inside the "
        "territory's box are the stations",
    )
    parser.add_argument("--no-transit", action="store_true", help="leave out the station option")
    parser.add_argument(
        "--max-walk-min",
        type=float,
        default=MAX_WALK_S / 60,
        help="station option: longest walk between the destination and its stop (minutes)",
    )
    args = parser.parse_args(argv)
    if args.osm is not None:
        from matching.io import load_ch, save_ch  # noqa: F401 (CH built by Engine)

        graph, places = osm_territory(args.osm)
        territory_name = f"real roads: {args.osm.name} (densest places as towns)"
    else:
        places = load_places(CAHORS_AREA) or random_places(86, args.seed, lat0=44.45, lon0=1.44)
        graph = generate_territory(places, seed=args.seed).graph
        territory_name = "communes around Cahors" if CAHORS_AREA.exists() else "random villages"
    engine = Engine.from_graph(graph)
    week = generate_week(
        places,
        seed=args.seed,
        needs_per_day=args.needs_per_day,
        n_volunteers=args.volunteers,
        n_commuters=args.commuters,
    )
    transit = None
    if not args.no_transit:
        transit = transit_network(engine, places, args.gtfs, sorted(week.needs_by_day))
        if transit is not None:
            transit = replace(transit, max_walk_s=int(args.max_walk_min * 60))
        if transit is None:
            print(f"no station option: {args.gtfs} absent, not running this week or no stop "
                  "in the territory")  # fmt: skip
    report = simulate(engine, places, week, time_limit_s=args.time_limit, transit=transit)
    report["scenario"] = {
        "territory": territory_name,
        "graph_nodes": graph.n_nodes,
        "days": len(week.needs_by_day),
        "needs": sum(len(v) for v in week.needs_by_day.values()),
        "volunteers": len(week.volunteers),
        "commuter_trips": len(week.trips),
        "seed": args.seed,
    }
    text = json.dumps(report, indent=2)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    print(text)
    print()
    print(summary_markdown(report))
    return 0


def summary_markdown(report: dict[str, Any]) -> str:
    """The policies side by side, with the upper bound."""
    bound = report["upper_bound"]
    lines = [f"Upper bound (needs some driver could serve alone): {bound}"]
    if "upper_bound_transit" in report:
        lines.append(
            f"Legs split between drivers: {report['upper_bound_split']}; and through a "
            f"station: {report['upper_bound_transit']} (stations: "
            f"{', '.join(report['transit']['stations'])})"
        )
    lines += [
        "",
        "| policy | served | share | of upper bound | priority share | added km "
        "| riders / drive | stops / drive | km per rider | volunteer drives mean / max |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, p in report["policies"].items():
        ub = p.get("share_of_upper_bound")
        lines.append(
            f"| {name} | {p['served']}/{p['needs']} (promised {p['promised']}) "
            f"| {p['served_share']:.0%} | {'' if ub is None else f'{ub:.0%}'} "
            f"| {p['priority_served_share']:.0%} | {p['added_km']:.0f} "
            f"| {p.get('riders_per_drive') or '–'} | {p.get('stops_per_drive') or '–'} "
            f"| {p.get('km_per_rider') or p['added_km_per_served']} "
            f"| {p['volunteer_rides_mean']:.2f} / {p['volunteer_rides_max']} |"
        )
    transit = report["policies"].get(TRANSIT_POLICY)
    if transit is not None:
        share = transit.get("share_of_upper_bound_transit")
        lines.append("")
        lines.append(
            f"{TRANSIT_POLICY}: {transit['needs_through_a_station']} needs through a station "
            f"({transit['legs_through_a_station']} legs); "
            f"{'' if share is None else f'{share:.0%} '}of the transit bound"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
