"""What the open data may say of a volunteer: commune-level places, rounded times, unlinkable ids.

The public APIs (``/api/v1/journeys``, the carpooling standard, ``/api/v1/gtfs.zip``) publish
volunteers' trips only with the volunteer's recorded consent (``Driver.publish_consent_at``),
and only in a form that cannot lead back to her home:

* **Places**: a trip is computed and shown as if it started and ended at the centres of its
  communes (:func:`commune_of`), never at the home. Every published time (pickup, the
  driver's departure) is therefore a function of the commune centre: asking from many points
  measures road times from the commune centre, which is public, and not from the home. In the
  GTFS export, communes of fewer than ``OPENDATA_MIN_COMMUNE_POPULATION`` inhabitants are moved
  to the nearest commune above that threshold, in the same intercommunality when it has one
  (:func:`populous_commune_of`); an intercommunality as a whole is not used because the Lot's
  span up to fifty kilometres, too far for a meeting point.
* **Times** are rounded to ``OPENDATA_TIME_ROUNDING_MIN`` minutes (:func:`round_time`).
* **Identifiers**: no stable driver key. A journey's id is a fresh random nonce with an HMAC of
  (nonce, offer, pickup time) under a key derived from ``SECRET_KEY`` and rotated every day
  (:func:`public_journey_id`): two answers never share an id, so a caller cannot link one
  volunteer's trips across queries or days, yet the service can recognise an id it issued that
  day or the day before (:func:`journey_id_matches`, for a booking route to come) without
  storing anything. A driver's public id is random per answer and her alias is the same for all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

LatLon = tuple[float, float]

#: The alias every published volunteer gets (the standard requires one; a first name and an
#: initial would link one volunteer's trips and, in a small commune, name her).
PUBLIC_ALIAS = "Bénévole"
#: Days a journey id stays recognisable (the day it was issued and the next one).
ID_VALID_DAYS = 2


@dataclass(frozen=True)
class CommunePoint:
    """A commune centre standing for every point in it (population and EPCI when known)."""

    insee: str
    name: str
    lat: float
    lon: float
    population: int | None = None
    epci: str | None = None


def _haversine_m(a: LatLon, b: LatLon) -> float:
    from .journeys import haversine_m

    return haversine_m(a, b)


def commune_of(communes: Sequence[CommunePoint], point: LatLon) -> CommunePoint:
    """The commune whose centre is nearest to ``point`` (its Voronoi cell stands for the commune)."""
    if not communes:
        raise ValueError("no commune to generalise a point to: is the territory built?")
    return min(communes, key=lambda c: _haversine_m(point, (c.lat, c.lon)))


def populous_commune_of(
    communes: Sequence[CommunePoint], commune: CommunePoint, min_population: int
) -> CommunePoint | None:
    """``commune`` when it has ``min_population`` inhabitants, else the nearest that has.

    The nearest such commune of the same intercommunality (EPCI) is preferred; without one
    there, the nearest of the territory. None when no commune reaches the threshold (a
    population that is unknown counts as below it): the trip is then not published.
    """
    if min_population <= 0 or (commune.population or 0) >= min_population:
        return commune
    big = [c for c in communes if (c.population or 0) >= min_population]
    if not big:
        return None
    same_epci = [c for c in big if commune.epci and c.epci == commune.epci]
    here = (commune.lat, commune.lon)
    return min(same_epci or big, key=lambda c: _haversine_m(here, (c.lat, c.lon)))


def round_time(when: dt.datetime, step_s: int, *, down: bool = False) -> dt.datetime:
    """``when`` rounded to the nearest multiple of ``step_s`` seconds (the one before with
    ``down``; unchanged if ``step_s`` < 1)."""
    if step_s < 1:
        return when
    ts = when.timestamp()
    rounded = int((ts + (0 if down else step_s / 2)) // step_s * step_s)
    return dt.datetime.fromtimestamp(rounded, when.tzinfo or dt.UTC)


def round_seconds(seconds: int, step_s: int) -> int:
    """A duration or time of day rounded to the nearest multiple of ``step_s`` seconds."""
    if step_s < 1:
        return seconds
    return int((seconds + step_s // 2) // step_s * step_s)


def _day_key(secret: str, day: dt.date) -> bytes:
    return hmac.new(
        secret.encode(), f"open-data-ids:{day.isoformat()}".encode(), hashlib.sha256
    ).digest()


def _mac(key: bytes, nonce: str, offer_id: int, pickup_ts: int) -> str:
    message = f"{nonce}:{offer_id}:{pickup_ts}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:20]


def public_journey_id(
    offer_id: int, pickup_ts: int, *, secret: str, day: dt.date, nonce: str | None = None
) -> str:
    """An id for one published journey that links to nothing else (see the module docstring)."""
    nonce = nonce or secrets.token_hex(8)
    return f"j-{nonce}-{_mac(_day_key(secret, day), nonce, offer_id, pickup_ts)}"


def journey_id_matches(
    public_id: str, offer_id: int, pickup_ts: int, *, secret: str, today: dt.date
) -> bool:
    """Whether ``public_id`` was issued for this offer and pickup time, today or the day before."""
    prefix, _, rest = public_id.partition("-")
    nonce, _, mac = rest.partition("-")
    if prefix != "j" or not nonce or not mac:
        return False
    return any(
        hmac.compare_digest(
            mac, _mac(_day_key(secret, today - dt.timedelta(days=k)), nonce, offer_id, pickup_ts)
        )
        for k in range(ID_VALID_DAYS)
    )


def public_user_id() -> str:
    """A driver's id in one answer: random, so that it links nothing."""
    return "u-" + secrets.token_hex(8)


def communes_from_db() -> list[CommunePoint]:
    """Current communes (not old merged ones) of the database, with their centres."""
    from ..extensions import db
    from ..models import Commune

    out = []
    for c in (
        db.session.query(Commune)
        .filter(Commune.merged_into_insee.is_(None))
        .order_by(Commune.insee)
    ):
        ll = c.lat_lon
        if ll:
            out.append(CommunePoint(c.insee, c.name, ll[0], ll[1], c.population, c.epci))
    return out


def cached_communes() -> list[CommunePoint]:
    """:func:`communes_from_db`, read once per territory build (communes change with a build)."""
    from flask import current_app

    from ..errors import TerritoryNotBuilt
    from .runtime import loaded_territory

    try:
        key: object = loaded_territory().path
    except TerritoryNotBuilt:
        return communes_from_db()
    cached = current_app.extensions.get("lot_public_communes")
    if cached is not None and cached[0] == key:
        return cached[1]  # type: ignore[no-any-return]
    communes = communes_from_db()
    current_app.extensions["lot_public_communes"] = (key, communes)
    return communes


def rounding_step_s() -> int:
    """``OPENDATA_TIME_ROUNDING_MIN`` in seconds (0 turns rounding off)."""
    from flask import current_app

    minutes = int(current_app.config.get("OPENDATA_TIME_ROUNDING_MIN", 5))
    if not 0 <= minutes <= 60:
        raise ValueError(f"OPENDATA_TIME_ROUNDING_MIN must be 0 to 60 minutes, got {minutes}")
    return minutes * 60


def min_commune_population() -> int:
    """``OPENDATA_MIN_COMMUNE_POPULATION`` (0 turns the threshold off)."""
    from flask import current_app

    population = int(current_app.config.get("OPENDATA_MIN_COMMUNE_POPULATION", 1000))
    if population < 0:
        raise ValueError(f"OPENDATA_MIN_COMMUNE_POPULATION must be 0 or more, got {population}")
    return population
