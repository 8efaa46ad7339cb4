"""Ride needs, driver offers (trips), proposals to drivers, and each need's history."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import PointColumnType, UtcDateTime, lat_lon, utcnow
from .core import Place, Structure, User
from .people import Beneficiary, Driver

NEED_STATUSES = ("new", "searching", "proposed", "confirmed", "done", "cancelled", "unserved")
PURPOSES = ("medical", "employment", "administrative", "shopping", "family", "other")
RETURN_MODES = ("none", "after_wait", "at_time")
TIME_MODES = ("arrive_by", "depart_after")
PROPOSAL_STATUSES = ("pending", "accepted", "declined", "taken", "expired", "withdrawn")
# Which legs of a need a proposal covers: both (one driver there and back), or one of them
# (a pooled plan may drive the return with another volunteer).
PROPOSAL_LEGS = ("both", "outbound", "return")
ROUTE_STATUSES = ("pending", "accepted", "declined", "expired", "withdrawn", "cancelled")


class RideNeed(db.Model):
    """A trip a beneficiary needs, posted by an aidant."""

    __tablename__ = "ride_needs"

    id: Mapped[int] = mapped_column(primary_key=True)
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("beneficiaries.id", ondelete="CASCADE"), index=True)
    structure_id: Mapped[int] = mapped_column(ForeignKey("structures.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    pickup_label: Mapped[str] = mapped_column(String(300))
    pickup_place_id: Mapped[int | None] = mapped_column(ForeignKey("places.id", ondelete="SET NULL"))
    pickup_geom = mapped_column(PointColumnType(), nullable=False)
    dropoff_label: Mapped[str] = mapped_column(String(300))
    dropoff_place_id: Mapped[int | None] = mapped_column(ForeignKey("places.id", ondelete="SET NULL"))
    dropoff_geom = mapped_column(PointColumnType(), nullable=False)
    # "arrive_by": requested_at is the appointment; "depart_after": the earliest departure.
    time_mode: Mapped[str] = mapped_column(String(20), default="arrive_by")
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    return_mode: Mapped[str] = mapped_column(String(20), default="none")
    return_wait_min: Mapped[int | None] = mapped_column(Integer)
    return_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    purpose: Mapped[str] = mapped_column(String(20), default="other")
    passengers: Mapped[int] = mapped_column(Integer, default=1)
    needs_accompaniment: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_wheelchair: Mapped[bool] = mapped_column(Boolean, default=False)
    no_front_seat: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    unserved_reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
    # Optimistic locking: two aidants saving the same need at once cannot overwrite each other.
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # The recurring series this need is an occurrence of (None once edited on its own).
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("ride_need_series.id", ondelete="SET NULL"), index=True)
    # The aidant's choice: when a proposal expires or is declined, propose the next candidate
    # without waiting for her.
    auto_next: Mapped[bool] = mapped_column(Boolean, default=False)

    __mapper_args__ = {"version_id_col": version}

    beneficiary: Mapped[Beneficiary] = relationship()
    structure: Mapped[Structure] = relationship()
    created_by: Mapped[User | None] = relationship()
    pickup_place: Mapped[Place | None] = relationship(foreign_keys=[pickup_place_id])
    dropoff_place: Mapped[Place | None] = relationship(foreign_keys=[dropoff_place_id])
    proposals: Mapped[list[Proposal]] = relationship(back_populates="need", order_by="Proposal.id")
    events: Mapped[list[NeedEvent]] = relationship(back_populates="need", order_by="NeedEvent.at")

    @property
    def pickup_lat_lon(self) -> tuple[float, float] | None:
        return lat_lon(self.pickup_geom)

    @property
    def dropoff_lat_lon(self) -> tuple[float, float] | None:
        return lat_lon(self.dropoff_geom)


class RideNeedSeries(db.Model):
    """A recurring need (weekly dialysis, a physiotherapy course): one RideNeed per occurrence.

    The schedule is explicit (weekdays, every N weeks, from a date until a date, minus
    exception dates); the trip to repeat is kept as ``template``, the NeedData of one
    occurrence without its date (ends with their points, time of day, return, purpose…).
    """

    __tablename__ = "ride_need_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    beneficiary_id: Mapped[int] = mapped_column(ForeignKey("beneficiaries.id", ondelete="CASCADE"), index=True)
    structure_id: Mapped[int] = mapped_column(ForeignKey("structures.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    weekdays: Mapped[str] = mapped_column(String(20))  # "0,3" (0 = Monday)
    interval_weeks: Mapped[int] = mapped_column(Integer, default=1)
    start_date: Mapped[date] = mapped_column(Date)
    until_date: Mapped[date] = mapped_column(Date)
    exception_dates: Mapped[list[str]] = mapped_column(JSON, default=list)  # ISO dates
    local_time: Mapped[str] = mapped_column(String(5))  # "08:30", in the platform's time zone
    template: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | cancelled
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    beneficiary: Mapped[Beneficiary] = relationship()
    occurrences: Mapped[list[RideNeed]] = relationship(order_by="RideNeed.requested_at", viewonly=True)

    @property
    def weekday_numbers(self) -> list[int]:
        return [int(d) for d in self.weekdays.split(",") if d.strip()]


class DriverOffer(db.Model):
    """A trip a volunteer drives anyway (one-off or regular) and can share."""

    __tablename__ = "driver_offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="one_off")  # one_off | regular
    origin_label: Mapped[str] = mapped_column(String(300))
    origin_geom = mapped_column(PointColumnType(), nullable=False)
    destination_label: Mapped[str] = mapped_column(String(300))
    destination_geom = mapped_column(PointColumnType(), nullable=False)
    # One-off: the departure window. Regular: weekdays ("0,1,4") and a local time of day.
    departure_earliest: Mapped[datetime | None] = mapped_column(UtcDateTime())
    departure_latest: Mapped[datetime | None] = mapped_column(UtcDateTime())
    weekdays: Mapped[str | None] = mapped_column(String(20))
    time_of_day: Mapped[str | None] = mapped_column(String(5))  # "07:45"
    flexibility_min: Mapped[int] = mapped_column(Integer, default=15)
    valid_from: Mapped[datetime | None] = mapped_column(UtcDateTime())
    valid_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    seats: Mapped[int] = mapped_column(Integer, default=1)
    max_detour_min: Mapped[int] = mapped_column(Integer, default=15)
    status: Mapped[str] = mapped_column(String(20), default="active")  # pending_confirmation|active|cancelled
    source: Mapped[str] = mapped_column(String(10), default="web")  # web | sms
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # Any change to an offer (its days, hour, places, window) shows in the day's fingerprint
    # (app.services.day_state), which processes compare before reusing what they keep.
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    driver: Mapped[Driver] = relationship()

    @property
    def origin_lat_lon(self) -> tuple[float, float] | None:
        return lat_lon(self.origin_geom)

    @property
    def destination_lat_lon(self) -> tuple[float, float] | None:
        return lat_lon(self.destination_geom)


class Proposal(db.Model):
    """A ride proposed to a driver for a need, with the engine's figures and the answer."""

    __tablename__ = "proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("ride_needs.id", ondelete="CASCADE"), index=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id", ondelete="CASCADE"), index=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("driver_offers.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20), default="volunteer")  # volunteer | trip
    code: Mapped[str] = mapped_column(String(6), index=True)  # short code quoted in SMS answers
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    pickup_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    dropoff_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    added_time_s: Mapped[int | None] = mapped_column(Integer)
    added_distance_m: Mapped[int | None] = mapped_column(Integer)
    distance_m: Mapped[int | None] = mapped_column(Integer)
    contribution_eur: Mapped[float | None] = mapped_column(Float)
    # Mileage allowance owed to the volunteer for this ride (dashboard, monthly CSV).
    allowance_eur: Mapped[float | None] = mapped_column(Float)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    answered_via: Mapped[str | None] = mapped_column(String(10))  # sms | phone | web
    # A pending proposal lapses at this moment without an answer (app.services.lifecycle).
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    # The driver's time this ride takes, from leaving home (or her trip's start) to being back
    # (or her trip's end): a pending or accepted proposal blocks it (bookings that hold).
    busy_from: Mapped[datetime | None] = mapped_column(UtcDateTime())
    busy_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The promised return pickup, when the proposal covers the return too.
    return_pickup_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    leg: Mapped[str] = mapped_column(String(10), default="both")
    # The pooled route this proposal is part of (answered as a whole by the driver), if any.
    route_id: Mapped[int | None] = mapped_column(ForeignKey("ride_routes.id", ondelete="SET NULL"), index=True)

    need: Mapped[RideNeed] = relationship(back_populates="proposals")
    driver: Mapped[Driver] = relationship()
    offer: Mapped[DriverOffer | None] = relationship()
    route: Mapped[RideRoute | None] = relationship(back_populates="proposals")


class RideRoute(db.Model):
    """A drive proposed to one driver as a whole: riders pooled in her car, services chained.

    The driver answers the route with one code; each rider's own ride is a Proposal of the
    route (``Proposal.route_id``). ``stops`` keeps the planned order and times:
    ``[{"need": id, "kind": "pickup"|"dropoff", "leg": "outbound"|"return", "at": iso}, …]``.
    """

    __tablename__ = "ride_routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id", ondelete="CASCADE"), index=True)
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("driver_offers.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20), default="volunteer")  # volunteer | trip
    code: Mapped[str] = mapped_column(String(6), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    start_at: Mapped[datetime] = mapped_column(UtcDateTime())
    end_at: Mapped[datetime] = mapped_column(UtcDateTime())
    distance_m: Mapped[int | None] = mapped_column(Integer)
    stops: Mapped[list[dict]] = mapped_column(JSON, default=list)
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("day_plans.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    answered_via: Mapped[str | None] = mapped_column(String(10))

    driver: Mapped[Driver] = relationship()
    offer: Mapped[DriverOffer | None] = relationship()
    proposals: Mapped[list[Proposal]] = relationship(back_populates="route", order_by="Proposal.id")


class NeedEvent(db.Model):
    """One step in a need's history, visible to the structures that follow it."""

    __tablename__ = "need_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("ride_needs.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str | None] = mapped_column(String(200))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)

    need: Mapped[RideNeed] = relationship(back_populates="events")
    user: Mapped[User | None] = relationship()
