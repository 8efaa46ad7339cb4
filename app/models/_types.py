"""Column types and helpers shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from geoalchemy2 import Geometry, WKBElement
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import Point
from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

SRID = 4326


def PointColumnType() -> Geometry:  # noqa: N802 - reads like a type at the call site
    """A WGS84 point with a spatial index (PostGIS and SpatiaLite alike)."""
    return Geometry(geometry_type="POINT", srid=SRID, spatial_index=True)


def aware_utc(value: datetime | None) -> datetime | None:
    """Aware UTC datetime (SQLite gives back naive UTC values); None stays None."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """Timezone-aware now, in UTC (columns store UTC)."""
    return datetime.now(UTC)


def point(lat: float, lon: float) -> WKBElement:
    """A geometry value for a point given as latitude, longitude."""
    return from_shape(Point(lon, lat), srid=SRID)


def lat_lon(geom: WKBElement | None) -> tuple[float, float] | None:
    """(lat, lon) of a stored point, or None."""
    if geom is None:
        return None
    shape = to_shape(geom)
    return (shape.y, shape.x)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every back-end.

    PostgreSQL keeps the offset (timestamptz) but SQLite returns naive values: this type
    stores UTC and always hands back an aware UTC datetime, so comparisons never mix the two.
    Naive values given to it are taken as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
