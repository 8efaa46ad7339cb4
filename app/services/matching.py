"""The one door from the app to the matching engine.

The engine (road graph + contraction hierarchy) is loaded once per process for the active
territory and shared by the web pages, the SMS worker and the API. This module turns database
rows into the engine's plain values (needs, trips, volunteers' availability windows) and the
engine's answers back into what an aidant reads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy.orm import lazyload

from ..extensions import db
from ..models import Driver, DriverAvailability, DriverOffer, Proposal, RideNeed, aware_utc
from ..observability import timed_call
from .runtime import loaded_territory

# How early before an appointment the rider may be picked up, and how long after the
# "leave after" time the ride may last: bounds of the pickup-to-arrival window.
ARRIVE_BY_WINDOW_S = 2 * 3600
DEPART_AFTER_WINDOW_S = 2 * 3600

PURPOSE_TO_ENGINE = {
    "medical": "medical",
    "employment": "employment",
    "administrative": "social_services",
    "shopping": "shopping",
    "family": "visit",
    "other": "other",
}

REASONS_FR: dict[str, str] = {
    "window_too_short": "Même en partant au plus tôt, le trajet direct arrive trop tard : "
    "avancez l'heure de prise en charge ou retardez le rendez-vous.",
    "over_100_km": "Le trajet dépasse 100 km, la limite du transport d'utilité sociale.",
    "requirement_unmet": "Aucun bénévole disponible ne répond aux besoins de la personne "
    "(accompagnement, fauteuil roulant, place à l'arrière) : vérifiez ces besoins.",
    "no_seat": "Pas assez de places libres : réduisez le nombre de passagers.",
    "too_far": "Le départ ou l'arrivée est trop loin du domicile des bénévoles disponibles.",
    "detour_too_long": "Le détour dépasse ce que les conducteurs acceptent sur leur trajet.",
    "no_one_available_then": "Personne n'est disponible à ce moment : essayez un autre jour "
    "ou un autre créneau (matin, après-midi, soir).",
    "no_return": "L'aller est possible, mais personne ne peut assurer le retour : changez "
    "l'heure du retour ou déposez un besoin séparé pour le retour.",
    "no_offer": "Aucun bénévole ni trajet n'est enregistré pour ce jour.",
    "taken_by_other_need": "Les bénévoles possibles sont déjà pris par d'autres demandes.",
}

_lock = threading.Lock()
_ENGINE_KEY = "lot_engine"


def get_engine() -> Any:
    """The engine of the active territory (matching.engine.Engine), built once per process."""
    from matching.engine import Engine
    from matching.io import load_ch

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    territory = loaded_territory(app)
    cached = app.extensions.get(_ENGINE_KEY)
    if cached is not None and cached[0] == territory.path:
        return cached[1]
    with _lock:
        cached = app.extensions.get(_ENGINE_KEY)
        if cached is None or cached[0] != territory.path:
            # The graph is the territory's, already in memory; the CH was built with it.
            graph = territory.graph
            mapped = bool(app.config.get("TERRITORY_MMAP", True))
            engine = Engine.from_graph(graph, load_ch(territory.path / "ch.npz", graph, mmap=mapped))
            app.extensions[_ENGINE_KEY] = (territory.path, engine)
        return app.extensions[_ENGINE_KEY][1]


@dataclass(frozen=True)
class CandidateView:
    """A ranked way to serve a need, with the driver's record."""

    driver: Driver
    kind: str  # 'volunteer' | 'trip'
    offer: DriverOffer | None
    pickup_at: datetime
    dropoff_at: datetime
    return_pickup_at: datetime | None
    added_time_s: int
    added_distance_m: float
    distance_m: float
    contribution_eur: float
    allowance_eur: float
    leave_at: datetime | None = None
    """When the driver sets off (volunteer: leaves home); with ``end_at``, the time she gives."""
    end_at: datetime | None = None
    joins: int = 0
    """Riders already booked in this car: the need joins her route (proposed as a new route)."""
    route_stops: tuple[dict[str, Any], ...] = ()
    """The joined route's stops after insertion (app.services.rides.RoutePlan.stops)."""


@dataclass(frozen=True)
class ReasonView:
    """Why offers could not serve the need, in French, with what to change."""

    code: str
    count: int
    message_fr: str


@dataclass(frozen=True)
class MatchOutcome:
    """Candidates (best first) and, when there is none, the reasons."""

    candidates: list[CandidateView]
    reasons: list[ReasonView]
    direct_time_s: int
    direct_distance_m: float


def _ts(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _dt(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def need_to_engine(need: RideNeed) -> Any:
    """The engine's RideNeed for a stored need."""
    from matching.rides import Purpose, Requirement, ReturnMode
    from matching.rides import RideNeed as EngineNeed

    pickup = need.pickup_lat_lon
    dropoff = need.dropoff_lat_lon
    assert pickup is not None and dropoff is not None  # columns are NOT NULL
    t = _ts(need.requested_at)
    if need.time_mode == "arrive_by":
        earliest, latest = t - ARRIVE_BY_WINDOW_S, t
    else:
        earliest, latest = t, t + DEPART_AFTER_WINDOW_S
    requirements = Requirement.NONE
    if need.needs_accompaniment:
        requirements |= Requirement.ACCOMPANIMENT
    if need.needs_wheelchair:
        requirements |= Requirement.WHEELCHAIR
    if need.no_front_seat:
        requirements |= Requirement.NO_FRONT_SEAT
    return_mode, wait_s, at_s = ReturnMode.NONE, 0, None
    if need.return_mode == "after_wait" and need.return_wait_min:
        return_mode, wait_s = ReturnMode.AFTER_WAIT, need.return_wait_min * 60
    elif need.return_mode == "at_time" and need.return_at is not None:
        return_mode, at_s = ReturnMode.AT_TIME, max(_ts(need.return_at), latest)
    return EngineNeed(
        need_id=str(need.id),
        pickup_lat=pickup[0],
        pickup_lon=pickup[1],
        dropoff_lat=dropoff[0],
        dropoff_lon=dropoff[1],
        earliest_pickup_s=earliest,
        latest_arrival_s=latest,
        return_mode=return_mode,
        return_wait_s=wait_s,
        return_at_s=at_s,
        seats=max(1, need.passengers),
        requirements=requirements,
        purpose=Purpose(PURPOSE_TO_ENGINE.get(need.purpose, "other")),
    )


def _capabilities(driver: Driver) -> Any:
    from matching.rides import Requirement

    caps = Requirement.NONE
    if driver.can_accompany:
        caps |= Requirement.ACCOMPANIMENT
    if driver.wheelchair_accessible:
        caps |= Requirement.WHEELCHAIR
    if driver.vehicle_seats >= 2:  # a back seat for the rider
        caps |= Requirement.NO_FRONT_SEAT
    return caps


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    start = datetime.combine(day, datetime.min.time(), tz)
    return start, start + timedelta(days=1)


def _rides_on(driver_ids: list[int] | None, day_start: datetime, day_end: datetime) -> dict[int, int]:
    """Confirmed outings per driver on a local day (the volunteers' daily cap): the riders of
    one pooled route count once. ``driver_ids=None``: every driver."""
    outing = db.func.coalesce(Proposal.route_id, -Proposal.id)
    query = (
        db.select(Proposal.driver_id, db.func.count(db.distinct(outing)))
        .join(RideNeed, Proposal.need_id == RideNeed.id)
        .where(
            Proposal.status == "accepted",
            RideNeed.status.in_(("confirmed", "done")),
            RideNeed.requested_at >= day_start,
            RideNeed.requested_at < day_end,
        )
        .group_by(Proposal.driver_id)
    )
    if driver_ids is not None:
        query = query.where(Proposal.driver_id.in_(driver_ids))
    return {driver_id: count for driver_id, count in db.session.execute(query).all()}


@dataclass(frozen=True)
class Booking:
    """A driver's time or seat already given: a pending or accepted proposal of the day."""

    proposal_id: int
    need_id: int
    driver_id: int
    offer_id: int | None
    route_id: int | None
    kind: str
    leg: str
    status: str
    busy_from: datetime
    busy_until: datetime
    pickup_at: datetime | None
    return_pickup_at: datetime | None
    passengers: int


def bookings_on(day: date, driver_ids: list[int] | None = None) -> list[Booking]:
    """Pending and accepted proposals of a local day, with the time they take.

    A proposal written before busy times were kept takes from an hour before its pickup
    to an hour after its drop-off (or around the appointment when it has no times).
    """
    return bookings_on_days([day], driver_ids)


def bookings_on_days(days: list[date], driver_ids: list[int] | None = None) -> list[Booking]:
    """:func:`bookings_on` for several local days, in one query."""
    if not days:
        return []
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    starts = [datetime.combine(day, datetime.min.time(), tz) for day in sorted(set(days))]
    query = (
        # Columns rather than Proposal objects: a busy day holds hundreds of proposals.
        db.select(Proposal.id, Proposal.need_id, Proposal.driver_id, Proposal.offer_id, Proposal.route_id,
                  Proposal.kind, Proposal.leg, Proposal.status, Proposal.busy_from, Proposal.busy_until,
                  Proposal.pickup_at, Proposal.dropoff_at, Proposal.return_pickup_at,
                  RideNeed.passengers, RideNeed.requested_at)
        .join(RideNeed, Proposal.need_id == RideNeed.id)
        .where(Proposal.status.in_(("pending", "accepted")),
               RideNeed.status.in_(("new", "searching", "proposed", "confirmed")),
               db.or_(*[db.and_(RideNeed.requested_at >= start, RideNeed.requested_at < start + timedelta(days=1))
                        for start in starts]))
        .order_by(Proposal.id)
    )
    if driver_ids is not None:
        query = query.where(Proposal.driver_id.in_(driver_ids))
    out = []
    for row in db.session.execute(query).all():
        around = aware_utc(row.pickup_at) or aware_utc(row.requested_at)
        busy_from = aware_utc(row.busy_from) or (around - timedelta(hours=1))
        busy_until = aware_utc(row.busy_until) or (
            (aware_utc(row.dropoff_at) or aware_utc(row.requested_at)) + timedelta(hours=1))
        out.append(Booking(row.id, row.need_id, row.driver_id, row.offer_id, row.route_id, row.kind, row.leg,
                           row.status, busy_from, busy_until, aware_utc(row.pickup_at),
                           aware_utc(row.return_pickup_at), max(1, row.passengers or 1)))
    return out


def firm_bookings(bookings: list[Booking]) -> tuple[list[Booking], list[Booking]]:
    """Split a day's bookings into those the engine keeps as commitments — each leg of a need
    once: the accepted proposal, else the first one proposed — and the others (a need may be
    proposed to several volunteers at once; the first OUI wins). The others still hold their
    drivers' time, as a blocked interval rather than a commitment."""
    firm: list[Booking] = []
    others: list[Booking] = []
    covered: dict[int, set[str]] = {}
    for b in sorted(bookings, key=lambda b: (b.status != "accepted", b.proposal_id)):
        legs = {"outbound", "return"} if b.leg == "both" else {b.leg}
        taken = covered.setdefault(b.need_id, set())
        if legs & taken:
            others.append(b)
            continue
        taken |= legs
        firm.append(b)
    return firm, others


def commitments_for_day(day: date, bookings: list[Booking] | None = None) -> tuple[list[Any], dict[int, RideNeed]]:
    """The day's bookings as the engine's fixed commitments (matching.commitments), and the
    needs they are for. A need booked both ways with one driver is one commitment; a need whose
    legs went to two drivers is one commitment per leg."""
    from matching.commitments import Commitment

    bookings = bookings_on(day) if bookings is None else bookings
    bookings, _ = firm_bookings(bookings)
    if not bookings:
        return [], {}
    needs = {n.id: n for n in db.session.execute(
        db.select(RideNeed).where(RideNeed.id.in_({b.need_id for b in bookings}))).scalars()}
    out = []
    for b in bookings:
        need = needs[b.need_id]
        engine_need = need_to_engine(need)
        has_return = engine_need.return_mode.value != "none"
        legs = ("outbound", "return") if b.leg == "both" and has_return else (
            ("outbound",) if b.leg == "both" else (b.leg,))
        pickup = b.pickup_at
        if pickup is None:  # a proposal made without the engine's times: mid-window
            pickup = _dt(engine_need.earliest_pickup_s + (engine_need.latest_arrival_s - engine_need.earliest_pickup_s) // 2)
        assert pickup is not None
        back = b.return_pickup_at
        if len(legs) == 2 and back is None:  # written before return pickups were kept
            back = _dt(_estimated_return_s(engine_need, _ts(pickup)))
        key = f"t{b.offer_id}" if b.kind == "trip" and b.offer_id is not None else f"v{b.driver_id}"
        out.append(Commitment(need=engine_need, vehicle_key=key, legs=legs, pickup_s=_ts(pickup),
                              return_pickup_s=_ts(back) if len(legs) == 2 and back is not None else None))
    return out, needs


def _estimated_return_s(engine_need: Any, pickup_s: int) -> int:
    """A return pickup when none was kept: after the appointment and the wait, or at the time."""
    if engine_need.return_at_s is not None:
        return int(engine_need.return_at_s)
    return int(engine_need.latest_arrival_s + (engine_need.return_wait_s or 0))


def _free_windows(windows: tuple[tuple[int, int], ...], busy: list[tuple[int, int]],
                  min_s: int = 15 * 60) -> tuple[tuple[int, int], ...]:
    """The availability windows minus the busy intervals (pieces shorter than ``min_s`` dropped)."""
    free = list(windows)
    for b0, b1 in busy:
        pieces = []
        for w0, w1 in free:
            if b1 <= w0 or b0 >= w1:
                pieces.append((w0, w1))
                continue
            if b0 - w0 >= min_s:
                pieces.append((w0, b0))
            if w1 - b1 >= min_s:
                pieces.append((b1, w1))
        free = pieces
    return tuple(free)


@dataclass(frozen=True)
class DriverSide:
    """A day's offers before any booking takes from them: each volunteer with her whole
    windows and daily cap, each trip whole. Plain values (no database rows), so that a
    process may keep them while the day's bookings change (``day_offers``)."""

    volunteers: tuple[tuple[int, Any], ...]
    """(driver id, VolunteerAvailability with the whole windows and the driver's daily cap)."""
    trips: tuple[tuple[int, int, Any], ...]
    """(driver id, offer id, DriverTrip)."""

    def only(self, keep: set[int]) -> DriverSide:
        """The offers of the drivers in ``keep``."""
        return DriverSide(tuple(v for v in self.volunteers if v[0] in keep),
                          tuple(t for t in self.trips if t[0] in keep))


def driver_side(
    day: date,
    structure_ids: list[int] | None = None,
    exclude_driver_ids: set[int] | None = None,
    visible_drivers: Any = None,
    driver_ids: set[int] | None = None,
) -> tuple[DriverSide, dict[str, Any]]:
    """The drivers' offers of a local day before bookings, and a map key -> (driver, offer).

    Only active drivers whose licence and insurance are valid that day are offered, without
    their absences; ``visible_drivers`` (a SQL condition on Driver) keeps only the drivers
    the person asking may see.
    """
    from matching.rides import DriverTrip, VolunteerAvailability, expand_weekly_slots

    tz = ZoneInfo(current_app.config["TIMEZONE"])
    # The weekly grids are read below as plain rows: loading them as objects with every
    # driver (the relationship's default) costs tens of thousands of instances a day.
    query = db.select(Driver).options(lazyload(Driver.availability)).where(Driver.active.is_(True))
    if structure_ids is not None:
        query = query.where(Driver.structure_id.in_(structure_ids))
    if visible_drivers is not None:
        query = query.where(visible_drivers)
    if driver_ids is not None:
        query = query.where(Driver.id.in_(driver_ids))
    drivers = [d for d in db.session.execute(query).scalars() if d.is_cleared_on(day)]
    drivers = [d for d in drivers if d.id not in (exclude_driver_ids or set())]
    index: dict[str, Any] = {}
    if not drivers:
        return DriverSide((), ()), index
    # Absences (holidays, illness) and one-off availabilities ("DISPO lundi matin") of the day.
    from .absences import absent_driver_ids, extra_slots_on

    ids = [d.id for d in drivers]
    absent = absent_driver_ids(ids, day)
    weekly = weekly_cells(ids)
    extra = extra_slots_on(ids, day)
    volunteers = []
    for driver in drivers:
        home = driver.home_lat_lon
        cells = [] if driver.id in absent else list(weekly.get(driver.id, ()))
        cells += [(day.weekday(), slot) for slot in extra.get(driver.id, [])]
        cells = sorted(set(cells))  # an extra slot may repeat a weekly one: one window each
        if home is not None and cells and driver.max_rides_per_day > 0:
            key = f"v{driver.id}"
            volunteers.append((driver.id, VolunteerAvailability(
                driver_id=key, home_lat=home[0], home_lon=home[1],
                windows=expand_weekly_slots(cells, day, 1, str(tz)),
                max_distance_km=float(driver.max_distance_km), seats=driver.vehicle_seats,
                capabilities=_capabilities(driver), max_rides_per_day=driver.max_rides_per_day)))
            index[key] = (driver, None)
    trips = []
    by_id = {d.id: d for d in drivers}
    for offer in db.session.execute(db.select(DriverOffer).where(
            DriverOffer.status == "active", DriverOffer.driver_id.in_(ids))).scalars():
        window = None if offer.driver_id in absent else _offer_window(offer, day, tz)
        if window is None:
            continue
        origin, destination = offer.origin_lat_lon, offer.destination_lat_lon
        assert origin is not None and destination is not None
        key = f"t{offer.id}"
        trips.append((offer.driver_id, offer.id, DriverTrip(
            offer_id=key, driver_id=f"v{offer.driver_id}",
            origin_lat=origin[0], origin_lon=origin[1],
            destination_lat=destination[0], destination_lon=destination[1],
            departure_earliest_s=window[0], departure_latest_s=window[1], seats=offer.seats,
            max_detour_s=offer.max_detour_min * 60, capabilities=_capabilities(by_id[offer.driver_id]))))
        index[key] = (by_id[offer.driver_id], offer)
    return DriverSide(tuple(volunteers), tuple(trips)), index


def booked_state(day: date, driver_ids: list[int] | None = None) -> tuple[dict[int, int], list[Booking]]:
    """What the day's bookings take from the drivers: confirmed outings per driver (their
    daily caps) and the pending and accepted proposals (their time and their trips)."""
    start, end = _day_bounds(day)
    return _rides_on(driver_ids, start, end), bookings_on(day, driver_ids)


def apply_bookings(side: DriverSide, busy: dict[int, int], blocking: list[Booking]) -> tuple[list[Any], list[Any]]:
    """The offers left once the bookings have taken their part (the one-rider search).

    A volunteer's confirmed outings count against her daily cap and the bookings take their
    time out of her windows; a trip that already carries a booked rider, or whose driver is
    busy on another ride then, is left out (a rider joins it only through the pooled
    insertion, which knows its route)."""
    booked: dict[int, list[tuple[int, int]]] = {}
    booked_offers: set[int] = set()
    for b in blocking:
        booked.setdefault(b.driver_id, []).append((_ts(b.busy_from), _ts(b.busy_until)))
        if b.offer_id is not None and b.kind == "trip":
            booked_offers.add(b.offer_id)
    volunteers = []
    for driver_id, whole in side.volunteers:
        left = whole.max_rides_per_day - busy.get(driver_id, 0)
        if left <= 0:
            continue
        windows = _free_windows(whole.windows, booked.get(driver_id, []))
        if not windows:
            continue
        if windows == whole.windows and left == whole.max_rides_per_day:
            volunteers.append(whole)
        else:
            volunteers.append(replace(whole, windows=windows, max_rides_per_day=left))
    trips = []
    for driver_id, offer_id, trip in side.trips:
        if offer_id in booked_offers:
            continue
        if any(b0 < trip.departure_latest_s + trip.max_detour_s and b1 > trip.departure_earliest_s
               for b0, b1 in booked.get(driver_id, [])):
            continue  # she is busy on another ride then
        trips.append(trip)
    return trips, volunteers


def offers_for_day(
    day: date,
    structure_ids: list[int] | None = None,
    exclude_driver_ids: set[int] | None = None,
    visible_drivers: Any = None,
    *,
    block_booked: bool = True,
    driver_ids: set[int] | None = None,
    block: list[Booking] | None = None,
) -> tuple[list[Any], list[Any], dict[str, Any]]:
    """The engine's trips and volunteers for a local day, and a map id -> (driver, offer).

    See :func:`driver_side` for the drivers offered. ``block_booked`` (the one-rider
    search): the day's bookings take their part (:func:`apply_bookings`). Without it (the
    pooled day plan), offers are whole and the bookings are passed to the engine as fixed
    commitments instead (:func:`commitments_for_day`), and the bookings given in ``block``
    (proposals that are not commitments, :func:`firm_bookings`) take their time.
    """
    side, index = driver_side(day, structure_ids, exclude_driver_ids, visible_drivers, driver_ids)
    busy: dict[int, int] = {}
    blocking = block or []
    if block_booked and index:
        busy, blocking = booked_state(day, sorted({driver.id for driver, _ in index.values()}))
    trips, volunteers = apply_bookings(side, busy, blocking)
    kept = {t.offer_id for t in trips} | {v.driver_id for v in volunteers}
    return trips, volunteers, {k: v for k, v in index.items() if k in kept}


def weekly_cells(driver_ids: list[int]) -> dict[int, list[tuple[int, str]]]:
    """The weekly availability cells (weekday, slot) of each driver, in one query."""
    cells: dict[int, list[tuple[int, str]]] = {}
    if not driver_ids:
        return cells
    rows = db.session.execute(
        db.select(DriverAvailability.driver_id, DriverAvailability.weekday, DriverAvailability.slot)
        .where(DriverAvailability.driver_id.in_(driver_ids)))
    for driver_id, weekday, slot in rows:
        cells.setdefault(driver_id, []).append((weekday, slot))
    return cells


def _offer_window(offer: DriverOffer, day: date, tz: ZoneInfo) -> tuple[int, int] | None:
    """The offer's departure window on ``day`` (UNIX seconds), or None if it does not run then."""
    if offer.kind == "regular":
        if not offer.weekdays or not offer.time_of_day:
            return None
        if str(day.weekday()) not in offer.weekdays.split(","):
            return None
        day_start = datetime.combine(day, datetime.min.time(), tz)
        if offer.valid_from and day_start < offer.valid_from.astimezone(tz) - timedelta(days=1):
            return None
        if offer.valid_until and day_start > offer.valid_until.astimezone(tz):
            return None
        hours, minutes = (int(x) for x in offer.time_of_day.split(":"))
        departure = datetime.combine(day, datetime.min.time(), tz) + timedelta(
            hours=hours, minutes=minutes
        )
        flex = timedelta(minutes=offer.flexibility_min)
        return _ts(departure - flex), _ts(departure + flex)
    if offer.departure_earliest is None:
        return None
    earliest = offer.departure_earliest
    latest = offer.departure_latest or earliest
    local = (
        earliest.astimezone(tz) if earliest.tzinfo else earliest.replace(tzinfo=UTC).astimezone(tz)
    )
    if local.date() != day:
        return None
    return _ts(earliest), _ts(latest)


def local_day_of(moment: datetime) -> date:
    """The local calendar day (configured time zone) of a stored UTC moment."""
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).date()


def _candidate_view(c: Any, index: dict[str, Any]) -> CandidateView:
    """The aidant's view of an engine candidate (``index``: offer id -> (driver, offer))."""
    driver, offer = index[c.offer_id]
    return CandidateView(
        driver=driver,
        kind=c.kind,
        offer=offer,
        pickup_at=_dt(c.pickup_s),  # type: ignore[arg-type]
        dropoff_at=_dt(c.dropoff_s),  # type: ignore[arg-type]
        return_pickup_at=_dt(c.return_pickup_s),
        added_time_s=c.added_time_s,
        added_distance_m=c.added_distance_m,
        distance_m=c.total_distance_m,
        contribution_eur=c.rider_contribution_eur,
        allowance_eur=c.mileage_allowance_eur,
        leave_at=_dt(c.leave_s),
        end_at=_dt(c.end_s),
    )


def _reason_views(reasons: Any) -> list[ReasonView]:
    """The engine's reason counts, with the French message saying what to change."""
    return [ReasonView(r.code, r.count, REASONS_FR.get(r.code, r.description)) for r in reasons]


@timed_call("candidates")
def candidates_for_need(
    need: RideNeed, limit: int = 10, visible_drivers: Any = None
) -> MatchOutcome:
    """Ranked candidates for a stored need, or the reasons why nobody can serve it.

    Drivers who already declined this need, or let its proposal lapse, are not proposed
    again. ``visible_drivers`` (``access.driver_filter(user)``) limits the drivers to those
    the aidant may see. The day's offer index is kept per process (``day_offers``); the
    candidates are then filtered for this need and this aidant. When none is left, the
    search runs again on the aidant's own drivers only, so that the reasons given are hers.
    """
    from matching.rides import build_offer_set, match_need

    from .day_offers import day_offers

    excluded = {p.driver_id for p in need.proposals if p.status in ("declined", "expired")}
    day = local_day_of(need.requested_at)
    rate = float(current_app.config["COST_SHARE_EUR_PER_KM"])
    engine_need = need_to_engine(need)
    offers = day_offers(day)
    result = match_need(get_engine(), engine_need, [], [], offers=offers.offer_set,
                        top=max(len(offers.keys), 1), rate_eur_per_km=rate,
                        timezone=current_app.config["TIMEZONE"])
    allowed: set[int] | None = None
    if visible_drivers is not None:
        allowed = set(db.session.execute(db.select(Driver.id).where(visible_drivers)).scalars())
    kept = [c for c in result.candidates
            if offers.keys[c.offer_id][0] not in excluded
            and (allowed is None or offers.keys[c.offer_id][0] in allowed)
            and (c.return_offer_id is None or offers.keys[c.return_offer_id][0] not in excluded)][:limit]
    if kept:
        drivers = {d.id: d for d in db.session.execute(
            db.select(Driver).where(Driver.id.in_({offers.keys[c.offer_id][0] for c in kept}))).scalars()}
        offer_ids = {offers.keys[c.offer_id][1] for c in kept} - {None}
        rows = {o.id: o for o in db.session.execute(
            db.select(DriverOffer).where(DriverOffer.id.in_(offer_ids))).scalars()} if offer_ids else {}
        index = {c.offer_id: (drivers[offers.keys[c.offer_id][0]], rows.get(offers.keys[c.offer_id][1]))
                 for c in kept}
        candidates = [_candidate_view(c, index) for c in kept]
    else:
        candidates = []
    joins = _join_candidates(need, day, excluded, allowed, limit, result.direct_distance_m, offers)
    if joins:
        candidates = sorted(joins + candidates, key=lambda c: c.added_distance_m)[:limit]
    if candidates:
        return MatchOutcome(candidates, [], result.direct_time_s, result.direct_distance_m)
    # Nobody for this aidant: the reasons, counted over her own drivers (the same day's
    # offers, without a second read of the drivers).
    own_drivers = {d for d, _ in offers.keys.values()} - excluded
    if allowed is not None:
        own_drivers &= allowed
    trips, volunteers = offers.offers_of(own_drivers)
    own = match_need(get_engine(), engine_need, [], [], offers=build_offer_set(get_engine(), trips, volunteers),
                     top=limit, rate_eur_per_km=rate, timezone=current_app.config["TIMEZONE"])
    reasons = _reason_views(own.reasons) or [ReasonView("no_offer", 0, REASONS_FR["no_offer"])]
    if own.candidates:  # possible only if the day changed between the two reads
        reasons = [ReasonView("taken_by_other_need", len(own.candidates), REASONS_FR["taken_by_other_need"])]
    return MatchOutcome([], reasons, result.direct_time_s, result.direct_distance_m)


def _join_candidates(need: RideNeed, day: date, excluded: set[int], allowed: set[int] | None,
                     limit: int, rider_m: float, offers: Any) -> list[CandidateView]:
    """Drivers already booked that day who can take the need in the same car: the best
    insertion into each one's booked route, her riders' pickups kept within the margin
    (matching.commitments.insertion_candidates). Proposed as a new route that replaces hers.

    The day's side (bookings, settled cars, their commitments) is kept with the day's offers;
    it is rebuilt for a need that is itself booked (its own booking must not count)."""
    from matching.commitments import insertion_candidates

    from .day_offers import join_context

    context = join_context(day, offers)
    if any(b.need_id == need.id for b in context.bookings):
        context = join_context(day, offers, without_need=need.id)
    # Only a driver whose bookings of the day are all accepted: her car is settled.
    drivers = context.settled - excluded
    if allowed is not None:
        drivers &= allowed
    if not drivers:
        return []
    keys = {k: v for k, v in context.keys.items() if v[0] in drivers}
    trips = [t for t in context.trips if t.offer_id in keys]
    volunteers = [v for v in context.volunteers if v.driver_id in keys]
    commitments = [c for c in context.commitments if c.vehicle_key in keys]
    mine = [b for b in context.bookings if b.driver_id in drivers]
    if not commitments:
        return []
    found = insertion_candidates(get_engine(), need_to_engine(need), trips, volunteers, commitments, top=limit)
    if not found:
        return []
    by_id = {d.id: d for d in db.session.execute(
        db.select(Driver).where(Driver.id.in_({keys[c.vehicle_key][0] for c in found}))).scalars()}
    offer_ids = {keys[c.vehicle_key][1] for c in found} - {None}
    rows = {o.id: o for o in db.session.execute(
        db.select(DriverOffer).where(DriverOffer.id.in_(offer_ids))).scalars()} if offer_ids else {}
    index = {k: (by_id[d], rows.get(o) if o is not None else None)
             for k, (d, o) in keys.items() if d in by_id}
    engine_need = need_to_engine(need)
    has_return = engine_need.return_mode.value != "none"
    rate = float(current_app.config["COST_SHARE_EUR_PER_KM"])
    views = []
    for cand in found:
        if has_return and cand.return_pickup_s is None:
            continue  # the return would need another driver: not offered as a join
        driver, offer = index[cand.vehicle_key]
        kept = [b for b in mine if b.driver_id == driver.id]
        stops = tuple({"need": int(s.need_id), "kind": s.kind, "leg": s.leg,
                       "at": _dt(s.service_start_s).isoformat(), "on_board": s.riders_on_board}  # type: ignore[union-attr]
                      for s in cand.stops)
        margin = timedelta(minutes=30)
        start = min([_dt(cand.stops[0].arrival_s) - margin] + [b.busy_from for b in kept])  # type: ignore[operator]
        end = max([_dt(cand.stops[-1].departure_s) + margin] + [b.busy_until for b in kept])  # type: ignore[operator]
        views.append(CandidateView(
            driver=driver, kind=cand.kind, offer=offer, pickup_at=_dt(cand.pickup_s),  # type: ignore[arg-type]
            dropoff_at=_dt(cand.dropoff_s), return_pickup_at=_dt(cand.return_pickup_s),  # type: ignore[arg-type]
            added_time_s=int(cand.added_time_s), added_distance_m=float(cand.added_distance_m),
            distance_m=float(cand.added_distance_m), contribution_eur=mileage_rate_eur(rider_m, rate),
            allowance_eur=mileage_rate_eur(cand.added_distance_m, rate), leave_at=start, end_at=end,
            joins=len({b.need_id for b in kept}), route_stops=stops))
    return views


# A point farther than this from any road of the graph is off the territory: no drive to it.
MAX_SNAP_GAP_M = 3000.0


def _snap(points: list[tuple[float, float]]) -> tuple[Any, Any]:
    """Nodes of the points and whether each lies close enough to the road graph."""
    snapped = get_engine().snap([p[0] for p in points], [p[1] for p in points])
    return snapped.nodes, snapped.gap_m <= MAX_SNAP_GAP_M


@timed_call("drive_times")
def drive_times(
    origin: tuple[float, float], targets: list[tuple[float, float]]
) -> list[int | None]:
    """Driving time in seconds from a point to each target point.

    Points are (lat, lon) snapped to the nearest road node; None when a target is unreachable
    or when a point lies more than MAX_SNAP_GAP_M from any road of the territory.
    """
    from matching import INF_TIME

    if not targets:
        return []
    src, src_ok = _snap([origin])
    dst, dst_ok = _snap(targets)
    times = get_engine().table(src, dst).time_s[0]
    return [
        int(v) if ok and src_ok[0] and int(v) < INF_TIME else None
        for v, ok in zip(times, dst_ok, strict=True)
    ]


@timed_call("drive_lengths")
def drive_lengths(
    origin: tuple[float, float], targets: list[tuple[float, float]]
) -> list[float | None]:
    """Road length in metres of the fastest route from a point to each target (None as in
    :func:`drive_times`)."""
    from matching import INF_TIME

    if not targets:
        return []
    src, src_ok = _snap([origin])
    dst, dst_ok = _snap(targets)
    table = get_engine().table(src, dst)
    return [
        float(m) if ok and src_ok[0] and int(t) < INF_TIME else None
        for t, m, ok in zip(table.time_s[0], table.length_m[0], dst_ok, strict=True)
    ]


def drive_times_to(
    origins: list[tuple[float, float]], target: tuple[float, float]
) -> list[int | None]:
    """Driving time in seconds from each origin point to one target (None as in drive_times)."""
    from matching import INF_TIME

    if not origins:
        return []
    src, src_ok = _snap(origins)
    dst, dst_ok = _snap([target])
    times = get_engine().table(src, dst).time_s[:, 0]
    return [
        int(v) if ok and dst_ok[0] and int(v) < INF_TIME else None
        for v, ok in zip(times, src_ok, strict=True)
    ]


@timed_call("drive_route")
def drive_route(
    origin: tuple[float, float], target: tuple[float, float]
) -> tuple[int, float, list[tuple[float, float]]] | None:
    """Fastest road route between two points: (time s, length m, [(lat, lon), …]) or None."""
    engine = get_engine()
    nodes, ok = _snap([origin, target])
    if not ok.all():
        return None
    route = engine.route(int(nodes[0]), int(nodes[1]))
    if route is None:
        return None
    coords = engine.route_coordinates(route)
    return int(route.time_s), float(route.length_m), [(float(a), float(b)) for a, b in coords]


@dataclass(frozen=True)
class StopView:
    """A stop of a planned drive: a rider picked up or dropped off."""

    need: RideNeed
    kind: str  # 'pickup' | 'dropoff'
    leg: str  # 'outbound' | 'return'
    at: datetime
    on_board: int
    """Seats taken when the car leaves the stop."""


@dataclass(frozen=True)
class RouteView:
    """A planned drive: a volunteer's outing from home and back, or a driver's own trip."""

    driver: Driver
    kind: str  # 'volunteer' | 'trip'
    offer: DriverOffer | None
    start_at: datetime
    end_at: datetime
    stops: list[StopView]
    riders: int
    max_on_board: int
    distance_m: float
    added_distance_m: float


@dataclass(frozen=True)
class DayPlan:
    """The best plan found for a day's open needs: each need's ride, and the drives.

    ``rides`` and ``unserved`` keep their shape (one row per need); ``routes`` are the
    drives, several riders in a car and services chained in one outing.
    """

    day: date
    rides: list[tuple[RideNeed, CandidateView]]
    unserved: list[tuple[RideNeed, list[ReasonView]]]
    priority_served: int
    added_distance_m: float
    proven_optimal: bool
    routes: list[RouteView] = field(default_factory=list)
    distance_m: float = 0.0
    seconds: float = 0.0
    committed: frozenset[int] = frozenset()
    """Needs already booked, kept fixed in the plan."""
    moved: dict[int, int] = field(default_factory=dict)
    """Booked need id -> seconds its pickup moved from the promise (within the margin)."""
    broken: dict[int, str] = field(default_factory=dict)
    """Booked need id -> why the booking no longer holds (driver absent, offer withdrawn…)."""

    @property
    def riders_per_drive(self) -> float:
        """Mean riders per drive (0 without drives)."""
        return sum(r.riders for r in self.routes) / len(self.routes) if self.routes else 0.0


# Statuses of needs still waiting for a driver, and so planned by plan_day.
PLANNABLE_STATUSES = ("new", "searching")


@timed_call("plan_day")
def plan_day(
    day: date,
    structure_ids: list[int] | None = None,
    time_limit_s: float = 2.0,
    *,
    pooled: bool = True,
    visible_drivers: Any = None,
) -> DayPlan:
    """Plan the open needs of a local day so that the most people get their ride.

    Medical and employment needs come first among equal counts, then the least added driving.
    With ``pooled`` (the default) the pooled planner builds drives: several riders in a car,
    services chained in one outing; a volunteer's daily cap counts her outings. Without it,
    today's one-rider model: one rider per drive, the cap counts services. Needs that
    already have a pending proposal are left to their proposal. ``structure_ids`` limits
    needs and drivers to those structures; ``visible_drivers`` (a SQL condition on Driver,
    ``access.driver_filter(user)``) keeps only the drivers the coordinator may see.
    """
    from matching.day_instance import DayOptions, build_day_instance, plan_day_routes
    from matching.rides import build_offer_set, match_need

    tz = ZoneInfo(current_app.config["TIMEZONE"])
    day_start = datetime.combine(day, datetime.min.time(), tz)
    query = db.select(RideNeed).where(
        RideNeed.status.in_(PLANNABLE_STATUSES),
        RideNeed.requested_at >= day_start,
        RideNeed.requested_at < day_start + timedelta(days=1),
    )
    if structure_ids is not None:
        query = query.where(RideNeed.structure_id.in_(structure_ids))
    needs = [
        n
        for n in db.session.execute(query.order_by(RideNeed.requested_at)).scalars()
        if not any(p.status in ("pending", "accepted") for p in n.proposals)
    ]
    # Offers whole, and the day's bookings as fixed commitments: a booked rider keeps her
    # driver and her pickup (within DayOptions.commitment_margin_s); a new rider may join a
    # booked car only where the seats and the promised times allow.
    firm, tentative = firm_bookings(bookings_on(day))
    trips, volunteers, index = offers_for_day(
        day, structure_ids if visible_drivers is None else None, visible_drivers=visible_drivers,
        block_booked=False, block=tentative,
    )
    if not needs:
        return DayPlan(day, [], [], 0, 0.0, True)
    commitments, committed_rows = commitments_for_day(day, firm)
    commitments = [c for c in commitments if c.vehicle_key in index]
    engine = get_engine()
    rate = float(current_app.config["COST_SHARE_EUR_PER_KM"])
    by_id = {str(n.id): n for n in needs}
    by_id.update({str(k): v for k, v in committed_rows.items()})
    engine_needs = [need_to_engine(n) for n in needs]
    instance = build_day_instance(
        engine, engine_needs, trips, volunteers, DayOptions(one_rider_per_drive=not pooled),
        commitments=commitments,
    )
    planned = plan_day_routes(instance, time_limit_s=time_limit_s)
    if planned.problems:  # the independent checker refused the plan: never show it
        raise RuntimeError(f"the day plan breaks a rule: {planned.problems[0]}")
    share: dict[str, tuple[float, float, float]] = {}  # need id -> (added m, added s, m)
    routes = []
    for route in planned.routes:
        driver, offer = index[route.offer_id]
        riders = max(route.riders, 1)
        added_s = max(route.end_s - route.start_s, 0)
        if route.kind == "trip" and offer is not None:
            added_s = 0  # a trip's added time is not known per rider; its km are
        for stop in route.stops:
            if stop.kind == "pickup" and stop.leg == "outbound":
                share[stop.need_id] = (
                    route.added_distance_m / riders,
                    added_s // riders,
                    route.distance_m / riders,
                )
        routes.append(
            RouteView(
                driver=driver,
                kind=route.kind,
                offer=offer,
                start_at=_dt(route.start_s),  # type: ignore[arg-type]
                end_at=_dt(route.end_s),  # type: ignore[arg-type]
                stops=[
                    StopView(
                        by_id[s.need_id],
                        s.kind,
                        s.leg,
                        _dt(s.service_start_s),  # type: ignore[arg-type]
                        s.riders_on_board,
                    )
                    for s in route.stops
                ],
                riders=route.riders,
                max_on_board=route.max_on_board,
                distance_m=route.distance_m,
                added_distance_m=route.added_distance_m,
            )
        )
    rides = []
    for ride in planned.rides:
        driver, offer = index[ride.offer_id]
        added_m, ride_added_s, total_m = share.get(ride.need_id, (0.0, 0.0, 0.0))
        n = instance.needs[[x.need_id for x in instance.needs].index(ride.need_id)]
        direct = engine.pairwise(
            engine.snap([n.pickup_lat], [n.pickup_lon]).nodes,
            engine.snap([n.dropoff_lat], [n.dropoff_lon]).nodes,
        )
        rider_m = float(direct.length_m[0])
        view = CandidateView(
            driver=driver,
            kind=ride.kind,
            offer=offer,
            pickup_at=_dt(ride.pickup_s),  # type: ignore[arg-type]
            dropoff_at=_dt(ride.dropoff_s),  # type: ignore[arg-type]
            return_pickup_at=_dt(ride.return_pickup_s),
            added_time_s=int(ride_added_s),
            added_distance_m=float(added_m),
            distance_m=float(total_m),
            contribution_eur=mileage_rate_eur(rider_m, rate),
            allowance_eur=mileage_rate_eur(added_m, rate),
        )
        rides.append((by_id[ride.need_id], view))
    rides.sort(key=lambda item: item[1].pickup_at)
    unserved = []
    offers = build_offer_set(engine, trips, volunteers) if planned.unserved else None
    for need_id in planned.unserved:
        result = match_need(
            engine,
            engine_needs[[x.need_id for x in engine_needs].index(need_id)],
            [],
            [],
            offers=offers,
            rate_eur_per_km=rate,
            timezone=str(tz),
        )
        if result.candidates:
            code = "taken_by_other_need"
            reasons = [ReasonView(code, len(result.candidates), REASONS_FR[code])]
        else:
            reasons = _reason_views(result.reasons) or [
                ReasonView("no_offer", 0, REASONS_FR["no_offer"])
            ]
        unserved.append((by_id[need_id], reasons))
    return DayPlan(
        day,
        rides,
        unserved,
        planned.priority_served,
        planned.added_distance_m,
        planned.proven_optimal,
        routes=routes,
        distance_m=planned.distance_m,
        seconds=planned.seconds,
        committed=frozenset(int(n) for n in instance.committed_needs),
        moved={int(k): int(v) for k, v in planned.moved.items()},
        broken={int(k): str(v) for k, v in planned.broken_commitments.items()},
    )


def mileage_rate_eur(distance_m: float, rate_eur_per_km: float) -> float:
    """Euros for ``distance_m`` at the configured rate (capped by the engine at 0.32 €/km)."""
    from matching.rides import mileage_eur

    return mileage_eur(max(distance_m, 0.0), rate_eur_per_km)
