"""GTFS-Flex v2 for the solidarity service: commune zones, booking rule, trips with time windows.

The solidarity service has no timetable: a rider phones, and a volunteer on call near her
commune drives her. In GTFS-Flex (adopted in the GTFS reference in 2024) that is an on-demand
trip whose ``stop_times`` name zones of ``locations.geojson`` instead of stops, with the hours
the service runs as ``start/end_pickup_drop_off_window`` and ``pickup_type`` /
``drop_off_type`` 2 (phone the agency) pointing at a ``booking_rules.txt`` rule.

Zones are communes, merged as in the rest of the open data: a commune of fewer than
``min_population`` inhabitants is part of the zone of the nearest commune above the threshold
(:func:`~app.services.publication.populous_commune_of`). Their shapes come from real commune
polygons when the territory has them (:func:`read_commune_polygons`, e.g. the IGN BD CARTO
file of the Lot), else from the Voronoi cells of the commune centres clipped to a margin around
the territory (:func:`voronoi_commune_polygons`), which is exactly how the application already
generalises a point to a commune (:func:`~app.services.publication.commune_of`).

A zone is *served* in a weekly window when a volunteer who is on call then (her weekday × slot
grid) lives within her driving distance of the zone's centre, the same rule as the journey
API's ``anyone_near``. Each served zone gets one trip per window and weekday pattern: pickup in
the zone (phone the agency), drop-off anywhere in the service area (the union of every zone):
a volunteer takes the rider from her commune to where she needs to go. The two records may
overlap in space because one only picks up and the other only drops off, which the reference
allows (zone overlap constraint).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .publication import CommunePoint, populous_commune_of

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

    from .journeys import VolunteerView

LatLon = tuple[float, float]
WGS84 = "EPSG:4326"
#: Id of the zone covering the whole service area (where riders are dropped off).
SERVICE_AREA_ID = "zone-territoire"
#: Tolerance of the simplification of zone outlines: a planner needs the commune, not its
#: hedges, and the file stays small (the Lot's 313 communes: about 0.5 MB instead of 6 MB).
SIMPLIFY_M = 60.0
#: Margin around the commune centres when the zones are Voronoi cells (no real polygons).
VORONOI_MARGIN_M = 3000.0
#: Decimal places kept in coordinates (1e-5 degree is about 1 m).
COORD_GRID_DEG = 1e-5
FLEX_BOOKING_RULE_ID = "reservation-solidaire"
#: How long before the ride a booking is taken at the earliest (days) and at the latest.
PRIOR_NOTICE_START_DAY = 14
PRIOR_NOTICE_LAST_DAY = 1
PRIOR_NOTICE_LAST_TIME = "17:00:00"
WEEKDAY_COLUMNS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class FlexZone:
    """A zone of ``locations.geojson``: one commune and the small communes merged into it."""

    location_id: str
    name: str
    communes: tuple[str, ...]
    centre: LatLon
    geometry: BaseGeometry


@dataclass(frozen=True)
class FlexWindow:
    """Hours (seconds from local midnight) when the service runs in a zone on a weekday."""

    weekday: int
    start_s: int
    end_s: int


@dataclass(frozen=True)
class FlexService:
    """What the export needs: the zones, the service area and each zone's weekly windows."""

    zones: Sequence[FlexZone]
    area: FlexZone
    windows: Mapping[str, Sequence[FlexWindow]]


@dataclass(frozen=True)
class FlexTables:
    """The rows the Flex part adds to the feed (``locations`` is the GeoJSON document)."""

    locations: dict[str, Any]
    trips: list[dict[str, Any]]
    stop_times: list[dict[str, Any]]
    calendar: list[dict[str, Any]]
    booking_rule: dict[str, Any]


# -- zone shapes ---------------------------------------------------------------------------


def read_commune_polygons(path: Path, *, table: str | None = None) -> dict[str, BaseGeometry]:
    """Commune polygons of a GeoPackage by INSEE code, in WGS84.

    A GeoPackage is an SQLite database, read here with the standard library rather than GDAL:
    GDAL's own SQLite crashes the process once SpatiaLite is loaded in it (the application's
    development database). The INSEE code is read from ``INSEE_COM`` (IGN BD CARTO / ADMIN
    EXPRESS) or ``insee``; ``table`` defaults to the file's only feature table.
    """
    import sqlite3

    import shapely
    from pyproj import CRS, Transformer

    con = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    try:
        contents = con.execute(
            "SELECT table_name, srs_id FROM gpkg_contents WHERE data_type = 'features'"
        ).fetchall()
        chosen = [c for c in contents if table is None or c[0] == table]
        if len(chosen) != 1:
            raise ValueError(f"{path}: choose one feature table among {[c[0] for c in contents]}")
        name, srs_id = chosen[0]
        (geom_column,) = con.execute(
            "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?", (name,)
        ).fetchone()
        (definition,) = con.execute(
            "SELECT definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?", (srs_id,)
        ).fetchone()
        columns = [row[1] for row in con.execute(f'PRAGMA table_info("{name}")')]
        insee = next((c for c in ("INSEE_COM", "insee", "code_insee") if c in columns), None)
        if insee is None:
            raise ValueError(f"{path}: no INSEE code column (INSEE_COM or insee) in {name}")
        rows = con.execute(f'SELECT "{insee}", "{geom_column}" FROM "{name}"').fetchall()
    finally:
        con.close()
    # The WKT, not the organisation's code: files often carry their own srs_id ("NONE").
    to_wgs84 = Transformer.from_crs(CRS.from_wkt(definition), WGS84, always_xy=True)
    out: dict[str, BaseGeometry] = {}
    for code_insee, blob in rows:
        if blob is None:
            continue
        geometry = shapely.from_wkb(_gpkg_wkb(bytes(blob)))
        out[str(code_insee)] = shapely.transform(
            geometry, lambda xy: _stack(to_wgs84.transform(xy[:, 0], xy[:, 1]))
        )
    return out


def _gpkg_wkb(blob: bytes) -> bytes:
    """The WKB inside a GeoPackage geometry blob (after the 'GP' header and its envelope)."""
    if blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry blob")
    envelope = (blob[3] >> 1) & 0b111
    size = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}[envelope]
    return blob[8 + size :]


def _stack(xy: tuple[Any, Any]) -> Any:
    import numpy as np

    return np.column_stack(xy)


def voronoi_commune_polygons(
    communes: Sequence[CommunePoint], margin_m: float = VORONOI_MARGIN_M
) -> dict[str, BaseGeometry]:
    """Voronoi cells of the commune centres, clipped to their convex hull grown by ``margin_m``.

    The stand-in for commune outlines on a territory without polygons (the demo): a point
    belongs to the cell of the nearest centre, which is how the application generalises points.
    """
    import geopandas as gpd
    import shapely

    if not communes:
        return {}
    points = gpd.GeoSeries([shapely.Point(c.lon, c.lat) for c in communes], crs=WGS84)
    metric = points.estimate_utm_crs()
    projected = points.to_crs(metric)
    hull = shapely.convex_hull(shapely.MultiPoint(list(projected)))
    # A bevelled buffer keeps few vertices (a round one adds dozens per corner) and stays
    # within ``margin_m`` of the hull.
    extent = shapely.buffer(hull, margin_m, join_style="bevel")
    cells = shapely.voronoi_polygons(shapely.MultiPoint(list(projected)), extend_to=extent)
    out: dict[str, BaseGeometry] = {}
    for commune, point in zip(communes, projected, strict=True):
        cell = next(g for g in cells.geoms if g.covers(point))
        clipped = shapely.intersection(cell, extent)
        out[commune.insee] = gpd.GeoSeries([clipped], crs=metric).to_crs(WGS84).iloc[0]
    return out


def commune_zones(
    communes: Sequence[CommunePoint],
    polygons: Mapping[str, BaseGeometry],
    *,
    merged_into: Mapping[str, str] | None = None,
    min_population: int = 0,
    simplify_m: float = SIMPLIFY_M,
) -> tuple[list[FlexZone], FlexZone]:
    """One zone per commune above ``min_population`` (small ones merged in), and the area.

    ``polygons`` may use older INSEE codes than ``communes`` (BD CARTO 2021 against the 2026
    communes): ``merged_into`` maps an old code to its current commune. Polygons of communes
    outside ``communes`` are left out; communes without a polygon have no zone.
    """
    import geopandas as gpd
    import shapely

    by_insee = {c.insee: c for c in communes}
    merged_into = merged_into or {}
    groups: dict[str, list[BaseGeometry]] = defaultdict(list)
    members: dict[str, set[str]] = defaultdict(set)
    for insee, geometry in polygons.items():
        current = by_insee.get(merged_into.get(insee, insee))
        if current is None or geometry is None or geometry.is_empty:
            continue
        target = populous_commune_of(communes, current, min_population)
        if target is None:
            continue
        groups[target.insee].append(geometry)
        members[target.insee].add(current.insee)
    if not groups:
        return [], FlexZone(
            SERVICE_AREA_ID, "Territoire du service", (), (0.0, 0.0), shapely.Polygon()
        )
    order = sorted(groups)
    raw = gpd.GeoSeries([shapely.union_all(groups[k]) for k in order], index=order, crs=WGS84)
    metric = raw.estimate_utm_crs()
    projected = raw.to_crs(metric).make_valid()
    area_geom = shapely.union_all(list(projected))
    shapes = gpd.GeoSeries([*projected, area_geom], crs=metric)
    if simplify_m > 0:
        shapes = shapes.simplify(simplify_m, preserve_topology=True)
    shapes = shapes.to_crs(WGS84)
    zones = []
    for k, geometry in zip(order, shapes.iloc[:-1], strict=True):
        c = by_insee[k]
        zones.append(
            FlexZone(
                f"zone-{k}",
                c.name,
                tuple(sorted(members[k])),
                (c.lat, c.lon),
                _clean(geometry),
            )
        )
    all_members = tuple(sorted(i for m in members.values() for i in m))
    centroid = shapes.iloc[-1].representative_point()
    area = FlexZone(
        SERVICE_AREA_ID,
        "Territoire du service",
        all_members,
        (centroid.y, centroid.x),
        _clean(shapes.iloc[-1]),
    )
    return zones, area


def _clean(geometry: BaseGeometry) -> BaseGeometry:
    """Polygonal part only, on a 1e-5 degree grid (still valid), rings counter-clockwise
    outside and clockwise inside (RFC 7946)."""
    import shapely

    geometry = shapely.set_precision(shapely.make_valid(geometry), COORD_GRID_DEG)
    if geometry.geom_type == "GeometryCollection":
        parts = [g for g in geometry.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        geometry = shapely.union_all(parts)
    return shapely.orient_polygons(geometry, exterior_cw=False)


# -- when each zone is served --------------------------------------------------------------


def served_windows(
    zones: Sequence[FlexZone],
    volunteers: Iterable[VolunteerView],
    slot_hours: Mapping[str, tuple[int, int]],
) -> dict[str, list[FlexWindow]]:
    """For each zone, the weekly windows when a volunteer on call lives within reach of it.

    A volunteer reaches a zone when its centre is within her ``max_distance_m`` of her home
    (the centre of her own commune, never her address). Adjacent slots of a weekday are joined
    (morning 08-12 and afternoon 12-18 give one window 08:00-18:00).
    """
    from .journeys import haversine_m

    volunteers = list(volunteers)
    out: dict[str, list[FlexWindow]] = {}
    for zone in zones:
        cells: set[tuple[int, str]] = set()
        for v in volunteers:
            if haversine_m(v.home, zone.centre) <= v.max_distance_m:
                cells |= {c for c in v.cells if c[1] in slot_hours}
        windows: list[FlexWindow] = []
        for weekday in range(7):
            spans = sorted(slot_hours[s] for w, s in cells if w == weekday)
            for h0, h1 in spans:
                if windows and windows[-1].weekday == weekday and windows[-1].end_s >= h0 * 3600:
                    last = windows[-1]
                    windows[-1] = FlexWindow(weekday, last.start_s, max(last.end_s, h1 * 3600))
                else:
                    windows.append(FlexWindow(weekday, h0 * 3600, h1 * 3600))
        if windows:
            out[zone.location_id] = windows
    return out


# -- the tables ----------------------------------------------------------------------------


def _gtfs_time(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def flex_booking_rule(phone: str, url: str) -> dict[str, Any]:
    """The solidarity service's booking rule: by phone (or SMS) to the operator, from
    ``PRIOR_NOTICE_START_DAY`` days to the day before at 17:00. ``phone_number`` stays in
    international form for machines; messages show it as French riders write it."""
    from .people import format_phone

    spoken = format_phone(phone) or phone
    return {
        "booking_rule_id": FLEX_BOOKING_RULE_ID,
        "booking_type": 2,
        "prior_notice_last_day": PRIOR_NOTICE_LAST_DAY,
        "prior_notice_last_time": PRIOR_NOTICE_LAST_TIME,
        "prior_notice_start_day": PRIOR_NOTICE_START_DAY,
        "prior_notice_start_time": "00:00:00",
        "phone_number": phone,
        "info_url": url,
        "message": (
            f"Transport solidaire : appelez ou envoyez un SMS au {spoken} au plus tard la veille "
            f"avant 17 h (jusqu'à {PRIOR_NOTICE_START_DAY} jours à l'avance). Un conducteur "
            "bénévole vient vous chercher dans votre commune."
        ),
        "pickup_message": (
            f"Réservez au {spoken} la veille avant 17 h : un bénévole vient vous chercher."
        ),
        "drop_off_message": "Le bénévole vous dépose à l'adresse convenue à la réservation.",
    }


def flex_tables(
    service: FlexService,
    *,
    route_id: str,
    start: dt.date,
    end: dt.date,
    phone: str,
    url: str,
) -> FlexTables:
    """Trips, stop times, calendar and ``locations.geojson`` of the on-demand service.

    One ``service_id`` per weekday pattern; one trip per (zone, window, pattern): the rider is
    picked up in the zone and dropped off in the service area, both within the window.
    """
    # (zone, start, end) -> weekdays running that window, then grouped by weekday pattern.
    weekdays: dict[tuple[str, int, int], set[int]] = defaultdict(set)
    for location_id, windows in service.windows.items():
        for w in windows:
            weekdays[(location_id, w.start_s, w.end_s)].add(w.weekday)
    patterns = sorted({tuple(sorted(days)) for days in weekdays.values()})
    service_ids = {p: "solidaire-" + "".join(str(d + 1) for d in p) for p in patterns}
    calendar = [
        {
            "service_id": service_ids[p],
            **{col: int(i in p) for i, col in enumerate(WEEKDAY_COLUMNS)},
            "start_date": start.strftime("%Y%m%d"),
            "end_date": end.strftime("%Y%m%d"),
        }
        for p in patterns
    ]
    names = {z.location_id: z.name for z in service.zones}
    trips: list[dict[str, Any]] = []
    stop_times: list[dict[str, Any]] = []
    for number, ((location_id, start_s, end_s), days) in enumerate(
        sorted(weekdays.items(), key=lambda item: (item[0][0], item[0][1], sorted(item[1]))),
        start=1,
    ):
        trip_id = f"solidaire-{number}"
        trips.append(
            {
                "route_id": route_id,
                "service_id": service_ids[tuple(sorted(days))],
                "trip_id": trip_id,
                "trip_headsign": f"Transport solidaire depuis {names[location_id]}",
                "direction_id": 0,
                "shape_id": None,
            }
        )
        common = {
            "trip_id": trip_id,
            "start_pickup_drop_off_window": _gtfs_time(start_s),
            "end_pickup_drop_off_window": _gtfs_time(end_s),
            "timepoint": 0,
        }
        stop_times.append(
            {
                **common,
                "location_id": location_id,
                "stop_sequence": 1,
                "pickup_type": 2,
                "drop_off_type": 1,
                "pickup_booking_rule_id": FLEX_BOOKING_RULE_ID,
            }
        )
        stop_times.append(
            {
                **common,
                "location_id": service.area.location_id,
                "stop_sequence": 2,
                "pickup_type": 1,
                "drop_off_type": 2,
                "drop_off_booking_rule_id": FLEX_BOOKING_RULE_ID,
            }
        )
    used = {st["location_id"] for st in stop_times}
    features = [
        _feature(
            z,
            "Zone de prise en charge du transport solidaire (commune et communes voisines "
            "de moins de la population minimale publiée).",
        )
        for z in service.zones
        if z.location_id in used
    ]
    if stop_times:
        features.append(_feature(service.area, "Toutes les communes du service : zone de dépose."))
    return FlexTables(
        locations={"type": "FeatureCollection", "features": features},
        trips=trips,
        stop_times=stop_times,
        calendar=calendar,
        booking_rule=flex_booking_rule(phone, url),
    )


def _feature(zone: FlexZone, desc: str) -> dict[str, Any]:
    import shapely

    return {
        "type": "Feature",
        "id": zone.location_id,
        "properties": {"stop_name": zone.name, "stop_desc": desc},
        "geometry": shapely.geometry.mapping(zone.geometry),
    }


# -- from the application ------------------------------------------------------------------


def flex_service_from_app(
    communes: Sequence[CommunePoint], *, min_population: int, polygons_file: str | None
) -> FlexService:
    """The Flex service of the application's territory, volunteers and configuration.

    Zone shapes come from ``polygons_file`` when it is set (and exists), else from the
    Voronoi cells of the commune centres stored in the database (the database keeps only
    centres: see docs/gtfs-flex.md).
    """
    from zoneinfo import ZoneInfo

    from flask import current_app

    from ..extensions import db
    from ..models import Commune
    from .journeys import load_availability

    merged = {
        c.insee: c.merged_into_insee
        for c in db.session.query(Commune).filter(Commune.merged_into_insee.is_not(None))
    }
    if polygons_file and Path(polygons_file).is_file():
        polygons = read_commune_polygons(Path(polygons_file))
    else:
        polygons = voronoi_commune_polygons(communes)
    zones, area = commune_zones(
        communes, polygons, merged_into=merged, min_population=min_population
    )
    availability = load_availability(
        ZoneInfo(str(current_app.config.get("TIMEZONE", "Europe/Paris")))
    )
    windows = served_windows(zones, availability.volunteers, availability.slot_hours)
    return FlexService(zones, area, windows)
