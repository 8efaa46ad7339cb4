"""Partner operators of the carpooling standard (MaaS apps) and the bookings they make.

A partner authenticates with an API key of which only the SHA-256 is stored. A booking is the
partner's view of one of our ride needs: the need (and its proposal to the volunteer) is the
truth, the booking only keeps what the partner sent and what links it to the need.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import UtcDateTime, utcnow
from .core import Structure, User
from .people import Beneficiary, Driver
from .rides import DriverOffer, RideNeed

#: What a key may do: search (public anyway) and booking (the booking and message routes).
PARTNER_SCOPES = ("search", "booking")


class PartnerOperator(db.Model):
    """A carpooling or MaaS operator allowed to book our volunteers' journeys."""

    __tablename__ = "partner_operators"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # The operator's domain, as in the standard's ``operator`` fields of its users.
    domain: Mapped[str] = mapped_column(String(253), index=True)
    contact: Mapped[str] = mapped_column(String(300), default="")
    # SHA-256 (hex) of the key; the key itself is shown once, at creation, and never stored.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The key's first characters, so that an administrator can tell keys apart in the list.
    key_prefix: Mapped[str] = mapped_column(String(12))
    scopes: Mapped[str] = mapped_column(String(100), default="search,booking")  # comma list
    # The structure that follows the partner's passengers (None: "Partenaires", made on demand).
    structure_id: Mapped[int | None] = mapped_column(ForeignKey("structures.id"))
    # The account the partner's steps are recorded under in needs' histories and the audit log
    # (inactive: nobody signs in with it).
    account_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    structure: Mapped[Structure | None] = relationship()
    account: Mapped[User | None] = relationship(foreign_keys=[account_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @property
    def scope_list(self) -> list[str]:
        return [s for s in self.scopes.split(",") if s]


class PartnerBooking(db.Model):
    """A booking made by a partner for one of its passengers (standard ``Booking``)."""

    __tablename__ = "partner_bookings"
    __table_args__ = (UniqueConstraint("operator_id", "booking_uuid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The standard's bookingId: a UUID chosen by the partner.
    booking_uuid: Mapped[str] = mapped_column(String(36), index=True)
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("partner_operators.id", ondelete="CASCADE"), index=True
    )
    need_id: Mapped[int | None] = mapped_column(
        ForeignKey("ride_needs.id", ondelete="SET NULL"), index=True
    )
    beneficiary_id: Mapped[int | None] = mapped_column(
        ForeignKey("beneficiaries.id", ondelete="SET NULL")
    )
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("drivers.id", ondelete="SET NULL"))
    offer_id: Mapped[int | None] = mapped_column(
        ForeignKey("driver_offers.id", ondelete="SET NULL")
    )
    driver_journey_id: Mapped[str] = mapped_column(String(255))
    # The partner's passenger (its own id and alias): the only personal data we hold of them.
    passenger_id: Mapped[str] = mapped_column(String(255))
    passenger_alias: Mapped[str] = mapped_column(String(100))
    pickup_at: Mapped[datetime] = mapped_column(UtcDateTime())
    pickup_lat: Mapped[float] = mapped_column(Float)
    pickup_lng: Mapped[float] = mapped_column(Float)
    drop_lat: Mapped[float] = mapped_column(Float)
    drop_lng: Mapped[float] = mapped_column(Float)
    pickup_address: Mapped[str | None] = mapped_column(String(300))
    drop_address: Mapped[str | None] = mapped_column(String(300))
    duration_s: Mapped[int | None] = mapped_column(Integer)
    distance_m: Mapped[int | None] = mapped_column(Integer)
    price_amount_eur: Mapped[float | None] = mapped_column(Float)
    # The partner said the ride took place (status VALIDATED).
    validated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    operator: Mapped[PartnerOperator] = relationship()
    need: Mapped[RideNeed | None] = relationship()
    beneficiary: Mapped[Beneficiary | None] = relationship()
    driver: Mapped[Driver | None] = relationship()
    offer: Mapped[DriverOffer | None] = relationship()


class PartnerMessage(db.Model):
    """A message sent through the standard's ``POST /messages``, relayed by SMS to a volunteer."""

    __tablename__ = "partner_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(
        ForeignKey("partner_operators.id", ondelete="CASCADE"), index=True
    )
    booking_id: Mapped[int | None] = mapped_column(
        ForeignKey("partner_bookings.id", ondelete="CASCADE"), index=True
    )
    driver_id: Mapped[int | None] = mapped_column(ForeignKey("drivers.id", ondelete="SET NULL"))
    sender_id: Mapped[str] = mapped_column(String(255))
    sender_alias: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    # The outbox row that carries it to the volunteer (None when it could not be relayed).
    sms_id: Mapped[int | None] = mapped_column(ForeignKey("sms_messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
