"""Volunteers and their trips for the API tests (the demo territory's places)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from app.extensions import db
from app.models import Driver, DriverAvailability, DriverOffer, Structure, point

TZ = ZoneInfo("Europe/Paris")
#: Demo villages and town (data/demo.py).
MONTBRUN = (44.444921, 1.534627)  # the village centre and its town hall
#: A volunteer's home in Montbrun-les-Pins, away from the town hall.
MONTBRUN_HOME = (44.447361, 1.538917)
VALBOURG_TOWN_HALL = (44.451250, 1.440500)
VALBOURG_HOSPITAL = (44.455618, 1.445780)
CASTELNAU = (44.273332, 1.350015)
VALBOURG_GARE = (44.448637, 1.443897)
#: A Tuesday on which the demo buses run.
DAY = dt.date(2026, 12, 1)


def local(day: dt.date, hhmm: str) -> dt.datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return dt.datetime.combine(day, dt.time(h, m), tzinfo=TZ)


def structure() -> Structure:
    s = db.session.query(Structure).filter_by(name="Association de test").one_or_none()
    if s is None:
        s = Structure(name="Association de test", kind="association")
        db.session.add(s)
        db.session.flush()
    return s


#: Weekday daytime, as most volunteers give it.
WEEKDAY_DAYTIME = tuple((d, s) for d in range(5) for s in ("morning", "afternoon"))


def driver(
    first: str = "Jeanne",
    last: str = "Martinez",
    phone: str = "+33611223344",
    home: tuple[float, float] = MONTBRUN_HOME,
    cleared: bool = True,
    cells: tuple[tuple[int, str], ...] = WEEKDAY_DAYTIME,
    consent: bool = True,
) -> Driver:
    """A volunteer on call on ``cells`` (weekday × slot), within 20 km of home.

    ``consent``: she agreed to the publication of her trips in the open data.
    """
    today = dt.date.today()
    d = Driver(
        structure_id=structure().id,
        first_name=first,
        last_name=last,
        phone_e164=phone,
        home_address="12 chemin des Truffières",
        home_geom=point(*home),
        licence_valid_until=today + dt.timedelta(days=365 if cleared else -1),
        insurance_valid_until=today + dt.timedelta(days=365),
        max_distance_km=20,
        publish_consent_at=dt.datetime.now(dt.UTC) if consent else None,
    )
    d.availability = [DriverAvailability(weekday=w, slot=slot) for w, slot in cells]
    db.session.add(d)
    db.session.flush()
    return d


def one_off(
    d: Driver,
    earliest: dt.datetime,
    *,
    origin=MONTBRUN_HOME,
    destination=VALBOURG_TOWN_HALL,  # type: ignore[no-untyped-def]
    latest: dt.datetime | None = None,
    status: str = "active",
    seats: int = 2,
    max_detour_min: int = 15,
) -> DriverOffer:
    o = DriverOffer(
        driver_id=d.id,
        kind="one_off",
        origin_label="Domicile",
        origin_geom=point(*origin),
        destination_label="Valbourg",
        destination_geom=point(*destination),
        departure_earliest=earliest,
        departure_latest=latest or earliest + dt.timedelta(minutes=15),
        status=status,
        seats=seats,
        max_detour_min=max_detour_min,
    )
    db.session.add(o)
    db.session.flush()
    return o


def regular(
    d: Driver,
    weekdays: str,
    time_of_day: str,
    *,
    origin=MONTBRUN_HOME,
    destination=VALBOURG_TOWN_HALL,  # type: ignore[no-untyped-def]
    flexibility_min: int = 15,
    valid_until: dt.datetime | None = None,
) -> DriverOffer:
    o = DriverOffer(
        driver_id=d.id,
        kind="regular",
        origin_label="Domicile",
        origin_geom=point(*origin),
        destination_label="Valbourg",
        destination_geom=point(*destination),
        weekdays=weekdays,
        time_of_day=time_of_day,
        flexibility_min=flexibility_min,
        status="active",
        seats=3,
        valid_until=valid_until,
    )
    db.session.add(o)
    db.session.flush()
    return o
