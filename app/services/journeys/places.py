"""Public places (town halls, stations, stops, commune centres) that stand for precise points.

A rider is picked up at the nearest public place to her point, never at her door: the exact
meeting point is agreed with the service.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import current_app

from ...errors import TerritoryNotBuilt
from ...extensions import db
from ...models import Commune, Place
from ..runtime import loaded_territory
from .geometry import LatLon, haversine_m
from .types import PlaceRef

PUBLIC_PLACE_KINDS = ("town_hall", "station", "bus_stop", "france_services", "commune")


class PlaceIndex:
    """Nearest public place (town hall, station, bus stop, commune centre) to a point."""

    def __init__(self, places: Sequence[PlaceRef]) -> None:
        self.places = list(places)

    def __call__(self, point: LatLon) -> PlaceRef:
        if not self.places:
            return PlaceRef(
                "Point de rendez-vous à convenir", round(point[0], 2), round(point[1], 2), "area"
            )
        return min(self.places, key=lambda p: haversine_m(point, (p.lat, p.lon)))


def place_index_from_db(territory: str | None = None) -> PlaceIndex:
    """The territory's public places and commune centres, from the database."""
    refs: list[PlaceRef] = []
    q = db.session.query(Place).filter(Place.kind.in_(PUBLIC_PLACE_KINDS))
    if territory:
        q = q.filter(Place.territory == territory)
    for p in q:
        ll = p.lat_lon
        if ll:
            refs.append(PlaceRef(p.name, ll[0], ll[1], p.kind))
    for c in db.session.query(Commune).filter(Commune.merged_into_insee.is_(None)):
        ll = c.lat_lon
        if ll:
            refs.append(PlaceRef(c.name, ll[0], ll[1], "commune"))
    return PlaceIndex(refs)


def cached_place_index(territory: str | None) -> PlaceIndex:
    """The place index, read once per territory build (places only change with a build)."""
    try:
        key: object = loaded_territory().path
    except TerritoryNotBuilt:
        return place_index_from_db(territory)
    cached = current_app.extensions.get("lot_place_index")
    if cached is not None and cached[0] == key:
        return cached[1]  # type: ignore[no-any-return]
    index = place_index_from_db(territory)
    current_app.extensions["lot_place_index"] = (key, index)
    return index
