"""Structures, users, the territory's places and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import JSON, Boolean, Column, ForeignKey, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ._types import PointColumnType, UtcDateTime, lat_lon, point, utcnow

STRUCTURE_KINDS = ("france_services", "msap", "association", "ccas", "mairie", "udaf", "other")
ROLES = ("admin", "coordinator", "aidant")

structure_communes = Table(
    "structure_communes",
    db.metadata,
    Column("structure_id", ForeignKey("structures.id", ondelete="CASCADE"), primary_key=True),
    Column("commune_insee", ForeignKey("communes.insee", ondelete="CASCADE"), primary_key=True),
)


class Structure(db.Model):
    """An organisation that follows people: France Services counter, CCAS, association…"""

    __tablename__ = "structures"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40), default="other")
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    communes: Mapped[list[Commune]] = relationship(secondary=structure_communes, lazy="selectin")
    users: Mapped[list[User]] = relationship(back_populates="structure")


class User(UserMixin, db.Model):
    """A person who signs in to the web platform (administrator, coordinator, aidant)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(200), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20), default="aidant")
    structure_id: Mapped[int | None] = mapped_column(ForeignKey("structures.id"))
    is_active_account: Mapped[bool] = mapped_column(Boolean, default=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # A temporary password (set by an administrator at creation) must be changed at first
    # sign-in: until then every page leads to the password change page.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Reset link: only the SHA-256 of the token is stored; one link at a time, used once.
    password_reset_token_hash: Mapped[str | None] = mapped_column(String(64))
    password_reset_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    structure: Mapped[Structure | None] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_active_account

    def get_id(self) -> str:  # Flask-Login: what the session cookie keeps
        """The id and the moment (µs) the password last changed: a change or reset ends every
        other session of the account (the user loader refuses a session whose mark is stale)."""
        changed = self.password_changed_at
        mark = round(changed.timestamp() * 1_000_000) if changed else 0
        return f"{self.id}.{mark}"


class Commune(db.Model):
    """A commune of the territory (INSEE code), including old communes merged into a new one."""

    __tablename__ = "communes"

    insee: Mapped[str] = mapped_column(String(5), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    geom = mapped_column(PointColumnType(), nullable=False)
    population: Mapped[int | None] = mapped_column(Integer)
    postcodes: Mapped[str | None] = mapped_column(String(60))
    epci: Mapped[str | None] = mapped_column(String(200))
    # The commune it belongs to since a merger (None when it is itself current).
    merged_into_insee: Mapped[str | None] = mapped_column(String(5))
    territory: Mapped[str] = mapped_column(String(80), index=True)

    @property
    def lat_lon(self) -> tuple[float, float] | None:
        return lat_lon(self.geom)

    @property
    def is_rural_for_tus(self) -> bool:
        """Eligible ground for "transport d'utilité sociale": under 12,000 inhabitants."""
        return self.population is not None and self.population < 12_000


class CommuneAlias(db.Model):
    """A name people still use for a commune: an old commune merged into a new one."""

    __tablename__ = "commune_aliases"
    __table_args__ = (UniqueConstraint("name", "commune_insee"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    commune_insee: Mapped[str] = mapped_column(
        ForeignKey("communes.insee", ondelete="CASCADE"), index=True
    )
    old_insee: Mapped[str | None] = mapped_column(String(5))

    commune: Mapped[Commune] = relationship()


PLACE_KINDS = (
    "commune",
    "town_hall",
    "hospital",
    "doctor",
    "pharmacy",
    "france_services",
    "france_travail",
    "public_services_bus",
    "station",
    "bus_stop",
    "shop",
    "other",
)


class Place(db.Model):
    """A named destination or pick-up point: hospital, pharmacy, station, bus stop…"""

    __tablename__ = "places"

    id: Mapped[int] = mapped_column(primary_key=True)
    territory: Mapped[str] = mapped_column(String(80), index=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(200))
    commune_insee: Mapped[str | None] = mapped_column(ForeignKey("communes.insee"))
    address: Mapped[str | None] = mapped_column(String(300))
    geom = mapped_column(PointColumnType(), nullable=False)
    # Opening hours, timetable of the itinerant bus, source… (free-form, JSON).
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    commune: Mapped[Commune | None] = relationship()

    @property
    def lat_lon(self) -> tuple[float, float] | None:
        return lat_lon(self.geom)


class TransitFeed(db.Model):
    """An imported GTFS feed (one row per import; re-import replaces the stops and routes)."""

    __tablename__ = "transit_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    territory: Mapped[str] = mapped_column(String(80), index=True)
    name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    start_date: Mapped[str | None] = mapped_column(String(8))
    end_date: Mapped[str | None] = mapped_column(String(8))
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    warnings: Mapped[int] = mapped_column(Integer, default=0)


class TransitStop(db.Model):
    """A public-transport stop or station of an imported feed."""

    __tablename__ = "transit_stops"

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(
        ForeignKey("transit_feeds.id", ondelete="CASCADE"), index=True
    )
    stop_id: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    parent_station: Mapped[str | None] = mapped_column(String(120))
    location_type: Mapped[int] = mapped_column(Integer, default=0)
    wheelchair_boarding: Mapped[int | None] = mapped_column(Integer)
    geom = mapped_column(PointColumnType(), nullable=False)

    @property
    def lat_lon(self) -> tuple[float, float] | None:
        return lat_lon(self.geom)


class TransitRoute(db.Model):
    """A line of an imported feed."""

    __tablename__ = "transit_routes"

    id: Mapped[int] = mapped_column(primary_key=True)
    feed_id: Mapped[int] = mapped_column(
        ForeignKey("transit_feeds.id", ondelete="CASCADE"), index=True
    )
    route_id: Mapped[str] = mapped_column(String(120))
    short_name: Mapped[str | None] = mapped_column(String(60))
    long_name: Mapped[str | None] = mapped_column(String(300))
    route_type: Mapped[int] = mapped_column(Integer)
    agency: Mapped[str | None] = mapped_column(String(200))


class AuditLog(db.Model):
    """Who did what to which record, and when (GDPR accountability)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str | None] = mapped_column(String(200))  # "sms:+336…", "system", user name
    action: Mapped[str] = mapped_column(String(60))  # view, create, update, export, erase…
    object_type: Mapped[str] = mapped_column(String(60))
    object_id: Mapped[str | None] = mapped_column(String(60), index=True)
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(64))


__all__ = [
    "AuditLog",
    "Commune",
    "CommuneAlias",
    "PLACE_KINDS",
    "Place",
    "ROLES",
    "STRUCTURE_KINDS",
    "Structure",
    "TransitFeed",
    "TransitRoute",
    "TransitStop",
    "User",
    "point",
]
