"""The service simulation's station option: the Lot's train network, each need's alternatives
through a station, and the bounds with split legs and with stations.

``benchmarks.service`` builds, for each need and leg, the stations a volunteer could drive the
rider to (or fetch her from) and the train that fits her appointment (RAPTOR on the territory's
feed), and hands them to the day planner (``matching.station_legs``). Kept apart from the
simulation itself, which does not need a feed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from benchmarks.synthetic import SHARED_DATA, Places
from matching.engine import Engine
from matching.model import Requirement, RideNeed
from matching.offers import OfferSet, build_need_arrays, evaluate

PARIS = ZoneInfo("Europe/Paris")

TER_LOT = SHARED_DATA / "gtfs" / "ter-lines-serving-lot-2025-01.zip"
STATION_REACH_S = 1800
"""A volunteer drives a rider to or from a station at most this far from her home."""
TRANSFER_MARGIN_S = 600
"""Between the car and the train (and back): walking to the platform, buying a ticket."""
WALK_KMH, WALK_DETOUR, MAX_WALK_S = 4.0, 1.3, 900
"""The walk between the destination and its stop: straight line / 4 km/h x 1.3, <= 15 min."""
MAX_TRANSIT_WAIT_S = 3600
"""Outbound: the train arrives at most an hour before the appointment; return: it leaves at
most an hour after the rider is ready."""
STATIONS_PER_LEG = 3
MAX_STATION_SNAP_M = 3000.0
"""As the day instance's MAX_SNAP_GAP_M: the generated graph is sparse between villages."""


@dataclass(frozen=True)
class TransitNetwork:
    """The territory's public transport as the benchmark sees it: a router over the week and
    its stations (stops of the feed inside the territory's box, snapped to the roads)."""

    router: Any  # gtfs_import.TransitRouter
    station_ids: tuple[str, ...]
    station_names: tuple[str, ...]
    station_nodes: np.ndarray
    wheelchair: tuple[np.ndarray, np.ndarray]
    """(trip_ok, stop_ok) for a wheelchair user."""
    max_walk_s: int = MAX_WALK_S
    """Longest walk between the destination and its stop (a sensitivity knob)."""

    def to_tt(self, unix_s: int) -> int:
        """Timetable seconds of a UNIX time."""
        return int(unix_s) - int(self.router.tt.origin_utc_s)

    def to_unix(self, tt_s: int) -> int:
        return int(tt_s) + int(self.router.tt.origin_utc_s)


def transit_network(
    engine: Engine, places: Places, feed_path: Path, days: list[dt.date]
) -> TransitNetwork | None:
    """The feed's router over ``days`` (and the day after) and its stations in the box of
    ``places``; None when the feed is absent or runs on none of the days."""
    from gtfs_import import TransitRouter, build_timetable, feed_dates, read_feed

    if not feed_path.exists():
        return None
    feed = read_feed(feed_path)
    running = {str(d) for d in feed_dates(feed)}
    wanted = [d for d in days if d.strftime("%Y%m%d") in running]
    if not wanted:
        return None
    tt = build_timetable(feed, sorted({*wanted, max(wanted) + dt.timedelta(days=1)}))
    router = TransitRouter(tt)
    served = np.zeros(tt.n_stops, dtype=bool)
    served[tt.pattern_stops] = True
    inside = (
        (tt.stop_lat >= places.lat.min())
        & (tt.stop_lat <= places.lat.max())
        & (tt.stop_lon >= places.lon.min())
        & (tt.stop_lon <= places.lon.max())
        & served
    )
    # A station (parent) stands for all its stops in a query.
    keys = sorted({int(tt.stop_parent[i]) if tt.stop_parent[i] >= 0 else int(i) for i in np.flatnonzero(inside)})  # fmt: skip
    if not keys:
        return None
    snapped = engine.snap(tt.stop_lat[keys], tt.stop_lon[keys])
    ok = snapped.gap_m <= MAX_STATION_SNAP_M
    keys = [k for k, good in zip(keys, ok.tolist(), strict=True) if good]
    return TransitNetwork(
        router=router,
        station_ids=tuple(str(tt.stop_ids[k]) for k in keys),
        station_names=tuple(str(tt.stop_names[k]) for k in keys),
        station_nodes=np.asarray(snapped.nodes, dtype=np.int64)[ok],
        wheelchair=router.wheelchair_masks(),
    )


def _describe(net: TransitNetwork, journey: Any) -> str:
    """'K1 08:12 Lalbenque - Fontanes -> Cahors 08:31, walk 9 min'."""
    tt = net.router.tt
    parts = []
    for leg in journey.legs:
        if leg.mode != "transit":
            continue
        a = dt.datetime.fromtimestamp(net.to_unix(leg.departure_s), PARIS).strftime("%H:%M")
        b = dt.datetime.fromtimestamp(net.to_unix(leg.arrival_s), PARIS).strftime("%H:%M")
        names = {str(s): str(n) for s, n in zip(tt.stop_ids, tt.stop_names, strict=True)}
        parts.append(
            f"{leg.route_short_name or 'train'} {a} {names.get(str(leg.from_stop_id), '?')}"
            f" -> {names.get(str(leg.to_stop_id), '?')} {b}"
        )
    walk = round(journey.walking_s / 60)
    return ", ".join(parts) + (f", walk {walk} min" if walk else "")


def station_alternatives(
    engine: Engine, net: TransitNetwork, needs: list[RideNeed]
) -> dict[str, list[Any]]:
    """Per need, the ways to do its legs through a station (car within ``STATION_REACH_S``
    of home and shorter than the direct drive, then RAPTOR to the stop(s) within a 15-min
    walk of the destination), shortest drive first, at most ``STATIONS_PER_LEG`` per leg.
    None for a rider with accompaniment; for a wheelchair no walk and accessible trips only."""
    from matching.station_legs import StationAlternative

    out: dict[str, list[Any]] = {}
    if not needs or net.station_nodes.shape[0] == 0:
        return out
    homes = np.asarray(engine.snap([n.pickup_lat for n in needs], [n.pickup_lon for n in needs]).nodes)  # fmt: skip
    dests = np.asarray(engine.snap([n.dropoff_lat for n in needs], [n.dropoff_lon for n in needs]).nodes)  # fmt: skip
    to_st = engine.table(homes, net.station_nodes).time_s
    from_st = engine.table(net.station_nodes, homes).time_s
    direct = engine.table(homes, dests).time_s
    back_direct = engine.table(dests, homes).time_s
    walk_m = net.max_walk_s * WALK_KMH / 3.6 / WALK_DETOUR
    for n, need in enumerate(needs):
        if need.requirements & Requirement.ACCOMPANIMENT:
            continue
        wheel = bool(need.requirements & Requirement.WHEELCHAIR)
        walks = net.router.walks_from_point(
            need.dropoff_lat, need.dropoff_lon, 0.0 if wheel else walk_m, WALK_KMH, WALK_DETOUR
        )
        if not walks:
            continue
        masks = {"trip_ok": net.wheelchair[0], "stop_ok": net.wheelchair[1]} if wheel else {}
        alts: list[tuple[float, Any]] = []
        back_s = need.return_pickup_s
        for k, sid in enumerate(net.station_ids):
            node, name = int(net.station_nodes[k]), net.station_names[k]
            car = float(to_st[n, k])
            if car <= STATION_REACH_S and car < float(direct[n, n]):
                found = net.router.arrive_by({sid: 0}, walks, net.to_tt(need.latest_arrival_s), 2, **masks)  # fmt: skip
                found = [j for j in found if j.trips >= 1]
                if found:
                    j = found[-1]  # the latest departure
                    if net.to_tt(need.latest_arrival_s) - j.arrival_s <= MAX_TRANSIT_WAIT_S:
                        alts.append((car, StationAlternative(
                            "outbound", node, net.to_unix(j.departure_s) - TRANSFER_MARGIN_S,
                            j.duration_s, _describe(net, j), name, wheel,
                        )))  # fmt: skip
            car = float(from_st[k, n])
            if back_s is not None and car <= STATION_REACH_S and car < float(back_direct[n, n]):
                found = net.router.depart_after(walks, {sid: 0}, net.to_tt(back_s), 2, **masks)
                found = [j for j in found if j.trips >= 1]
                if found:
                    j = found[-1]  # the earliest arrival
                    if j.departure_s - net.to_tt(back_s) <= MAX_TRANSIT_WAIT_S:
                        alts.append((car, StationAlternative(
                            "return", node, net.to_unix(j.arrival_s) + TRANSFER_MARGIN_S,
                            j.duration_s, _describe(net, j), name, wheel,
                        )))  # fmt: skip
        if alts:
            alts.sort(key=lambda x: x[0])
            kept = [a for _, a in alts if a.leg == "outbound"][:STATIONS_PER_LEG]
            kept += [a for _, a in alts if a.leg == "return"][:STATIONS_PER_LEG]
            out[need.need_id] = kept
    return out


def upper_bound_legs(
    engine: Engine,
    needs: list[RideNeed],
    offers: OfferSet,
    alternatives: dict[str, list[Any]],
    alone: set[str],
) -> tuple[set[str], set[str]]:
    """(split, transit): the needs some driver could serve alone (``alone``, today's model)
    or whose every leg some driver could serve alone, directly (split) or directly or
    through a station (transit). The same feasibility as :func:`upper_bound_day`: each leg
    is a one-way need (no return) evaluated by the engine; a return leg runs from the return
    time within the need's slack plus the pooled model's ride-time bound."""
    from matching.day_instance import DayOptions
    from matching.matcher import need_candidates
    from matching.station_legs import usable

    opts = DayOptions()
    if not needs:
        return set(), set()

    def excess(ride: float) -> float:
        return max(opts.max_ride_extra_s, opts.max_ride_factor * ride)

    homes = np.asarray(engine.snap([n.pickup_lat for n in needs], [n.pickup_lon for n in needs]).nodes)  # fmt: skip
    dests = np.asarray(engine.snap([n.dropoff_lat for n in needs], [n.dropoff_lon for n in needs]).nodes)  # fmt: skip
    back_t = engine.table(dests, homes).time_s
    legs: list[RideNeed] = []
    owner: list[tuple[int, int, bool]] = []  # (need, leg 0/1, through a station)

    def leg(n: int, k: int, station: bool, a: tuple[float, float], b: tuple[float, float], lo: int, hi: int) -> None:  # fmt: skip
        need = needs[n]
        if hi <= lo:
            return
        legs.append(RideNeed(
            f"{need.need_id}|{len(legs)}", *a, *b, lo, hi, seats=need.seats,
            requirements=need.requirements, purpose=need.purpose,
        ))  # fmt: skip
        owner.append((n, k, station))

    lat, lon = engine.graph.node_lat, engine.graph.node_lon
    for n, need in enumerate(needs):
        home = (need.pickup_lat, need.pickup_lon)
        dest = (need.dropoff_lat, need.dropoff_lon)
        leg(n, 0, False, home, dest, need.earliest_pickup_s, need.latest_arrival_s)
        back_s = need.return_pickup_s
        if back_s is not None and back_t[n, n] < 10**8:
            ride = float(back_t[n, n])
            late = back_s + need.return_slack_s + int(ride + excess(ride))
            leg(n, 1, False, dest, home, back_s, late)
        width = need.latest_arrival_s - need.earliest_pickup_s
        for alt in alternatives.get(need.need_id, ()):
            if not usable(need, alt):
                continue
            st = (float(lat[alt.station_node]), float(lon[alt.station_node]))
            if alt.leg == "outbound":
                leg(n, 0, True, home, st, alt.time_s - width, alt.time_s)
            else:
                car = float(engine.table([alt.station_node], [homes[n]]).time_s[0, 0])
                late = alt.time_s + need.return_slack_s + int(car + excess(car))
                leg(n, 1, True, st, home, alt.time_s, late)
    arrays = build_need_arrays(engine, legs)
    ev = evaluate(arrays, offers)
    ok_direct: set[tuple[int, int]] = set()
    ok_any: set[tuple[int, int]] = set()
    for i, (n, k, station) in enumerate(owner):
        if need_candidates(i, arrays, offers, ev, 0.32)[0]:
            ok_any.add((n, k))
            if not station:
                ok_direct.add((n, k))
    split, transit = set(alone), set(alone)
    for n, need in enumerate(needs):
        wanted = [0] if need.return_pickup_s is None else [0, 1]
        if all((n, k) in ok_direct for k in wanted):
            split.add(need.need_id)
        if all((n, k) in ok_any for k in wanted):
            transit.add(need.need_id)
    return split, transit
