"""The people the platform serves: beneficiaries (riders) and volunteer drivers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import PointColumnType, UtcDateTime, lat_lon, utcnow
from .core import Commune, Structure, User

ELIGIBILITY_BASES = ("rural_commune", "social_benefits", "not_eligible", "unknown")
SLOTS = ("morning", "afternoon", "evening")


class Beneficiary(db.Model):
    """A person without a car whom a structure helps to travel."""

    __tablename__ = "beneficiaries"

    id: Mapped[int] = mapped_column(primary_key=True)
    structure_id: Mapped[int] = mapped_column(ForeignKey("structures.id"), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    # Normalised "first last" (no accents, lower case) for searching; set on every save.
    search_key: Mapped[str] = mapped_column(String(250), default="", index=True)
    phone_e164: Mapped[str | None] = mapped_column(String(20), index=True)
    home_commune_insee: Mapped[str | None] = mapped_column(ForeignKey("communes.insee"))
    home_address: Mapped[str | None] = mapped_column(String(300))
    home_geom = mapped_column(PointColumnType(), nullable=True)
    # Needs during the ride.
    needs_accompaniment: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_wheelchair: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_shopping_help: Mapped[bool] = mapped_column(Boolean, default=False)
    no_front_seat: Mapped[bool] = mapped_column(Boolean, default=False)
    # "Transport d'utilité sociale" eligibility.
    eligibility_basis: Mapped[str] = mapped_column(String(30), default="unknown")
    # Receives minimum social benefits (RSA, ASPA, AAH…): the other ground of eligibility.
    receives_social_benefits: Mapped[bool] = mapped_column(Boolean, default=False)
    eligibility_checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Consent, recorded with its date and the user who collected it.
    consent_sms_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    consent_sharing_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    consent_recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sms_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    structure: Mapped[Structure] = relationship()
    home_commune: Mapped[Commune | None] = relationship()
    consent_recorded_by: Mapped[User | None] = relationship(foreign_keys=[consent_recorded_by_id])

    @property
    def home_lat_lon(self) -> tuple[float, float] | None:
        """The precise home point, else the commune's centre."""
        exact = lat_lon(self.home_geom)
        if exact is not None:
            return exact
        return self.home_commune.lat_lon if self.home_commune else None

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Driver(db.Model):
    """A volunteer driver."""

    __tablename__ = "drivers"

    id: Mapped[int] = mapped_column(primary_key=True)
    structure_id: Mapped[int] = mapped_column(ForeignKey("structures.id"), index=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    # Normalised "first last" (no accents, lower case) for searching; set on every save.
    search_key: Mapped[str] = mapped_column(String(250), default="", index=True)
    phone_e164: Mapped[str] = mapped_column(String(20), unique=True)
    home_commune_insee: Mapped[str | None] = mapped_column(ForeignKey("communes.insee"))
    home_address: Mapped[str | None] = mapped_column(String(300))
    home_geom = mapped_column(PointColumnType(), nullable=True)
    vehicle_seats: Mapped[int] = mapped_column(Integer, default=3)
    wheelchair_accessible: Mapped[bool] = mapped_column(Boolean, default=False)
    can_accompany: Mapped[bool] = mapped_column(Boolean, default=True)
    max_distance_km: Mapped[int] = mapped_column(Integer, default=20)
    max_rides_per_day: Mapped[int] = mapped_column(Integer, default=2)
    licence_valid_until: Mapped[date | None] = mapped_column(Date)
    insurance_valid_until: Mapped[date | None] = mapped_column(Date)
    # When and by whom the licence and insurance certificates were seen.
    documents_checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    documents_checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sms_opt_out: Mapped[bool] = mapped_column(Boolean, default=False)
    # The volunteer's consent to the publication of her trips in the open data (generalised
    # and anonymised); none means nothing of hers is published. Who recorded it, and when.
    publish_consent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    publish_consent_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    structure: Mapped[Structure] = relationship()
    home_commune: Mapped[Commune | None] = relationship()
    documents_checked_by: Mapped[User | None] = relationship(foreign_keys=[documents_checked_by_id])
    publish_consent_by: Mapped[User | None] = relationship(foreign_keys=[publish_consent_by_id])
    availability: Mapped[list[DriverAvailability]] = relationship(
        back_populates="driver", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def home_lat_lon(self) -> tuple[float, float] | None:
        exact = lat_lon(self.home_geom)
        if exact is not None:
            return exact
        return self.home_commune.lat_lon if self.home_commune else None

    def is_cleared_on(self, day: date) -> bool:
        """Licence and insurance attested and valid on ``day``, and the driver active."""
        return bool(
            self.active
            and self.licence_valid_until is not None
            and self.insurance_valid_until is not None
            and self.licence_valid_until >= day
            and self.insurance_valid_until >= day
        )


class DriverAvailability(db.Model):
    """One cell of a volunteer's weekly grid: weekday (0 = Monday) × slot."""

    __tablename__ = "driver_availability"
    __table_args__ = (UniqueConstraint("driver_id", "weekday", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    driver_id: Mapped[int] = mapped_column(ForeignKey("drivers.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    slot: Mapped[str] = mapped_column(String(10))

    driver: Mapped[Driver] = relationship(back_populates="availability")


def _set_search_key(_mapper: Any, _connection: Any, person: Beneficiary | Driver) -> None:
    """Keep ``search_key`` in step with the name on every ORM insert and update."""
    from ..services.search import person_search_key

    person.search_key = person_search_key(person.first_name, person.last_name)


for _model in (Beneficiary, Driver):
    event.listen(_model, "before_insert", _set_search_key)
    event.listen(_model, "before_update", _set_search_key)
