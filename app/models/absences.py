"""A volunteer's absences (holidays, illness) and her one-off availabilities, by the day."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import UtcDateTime, utcnow
from .people import Driver

ABSENCE_SOURCES = ("web", "sms")


class DriverAbsence(db.Model):
    """Days (inclusive) on which a volunteer drives for nobody: she is offered no ride then."""

    __tablename__ = "driver_absences"
    __table_args__ = (CheckConstraint("first_day <= last_day", name="ck_absence_days_in_order"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id", ondelete="CASCADE"), index=True)
    first_day: Mapped[date] = mapped_column(Date, index=True)
    last_day: Mapped[date] = mapped_column(Date, index=True)
    reason: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(10), default="web")  # web | sms
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    driver: Mapped[Driver] = relationship()


class DriverExtraSlot(db.Model):
    """A one-off availability ("DISPO lundi matin"): that slot of that day, on top of her grid.

    It also wins over an absence on that day (she said she is available after all).
    """

    __tablename__ = "driver_extra_slots"
    __table_args__ = (UniqueConstraint("driver_id", "day", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    slot: Mapped[str] = mapped_column(String(10))
    source: Mapped[str] = mapped_column(String(10), default="sms")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    driver: Mapped[Driver] = relationship()
