"""Territory build and load: the road graph, communes, places and transit feeds.

A build writes a versioned artefact folder (``manifest.json``, ``graph.npz``, ``places.json``,
``communes.json``, ``gtfs/*.zip``) into a temporary folder next to the active one, stores the
communes, places and stops in the database in one transaction, and only then swaps the
``current`` symlink. A bad source raises :class:`TerritoryBuildError` before anything already
stored is touched.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import tempfile
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import TerritoryBuildError, TerritoryNotBuilt
from .communes import (
    CommuneAlias,
    CommuneRecord,
    is_alias_file,
    read_commune_aliases_csv,
    read_communes_csv,
)

FORMAT_VERSION = 1
CURRENT_LINK = "current"
DEMO_LABEL = "données de démonstration"


@dataclass
class StagedTerritory:
    """A territory built into a temporary folder, not yet stored nor activated."""

    path: Path
    manifest: dict[str, Any]
    communes: list[CommuneRecord]
    places: list[dict[str, Any]]
    feeds: list[Path] = field(default_factory=list)
    aliases: list[CommuneAlias] = field(default_factory=list)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fold(text: str) -> str:
    """Lower-case, accent-free, punctuation-light form of a place name, for matching."""
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    for ch in "-'’.,":
        ascii_text = ascii_text.replace(ch, " ")
    return " ".join(ascii_text.split())


def read_places(
    path: Path, communes: list[CommuneRecord], aliases: Sequence[CommuneAlias] = ()
) -> list[dict[str, Any]]:
    """Read a places file: our JSON list, or the itinerant public-services bus timetable CSV.

    The CSV (``week_parity,weekday,commune,place,start,end``) names communes, old names of
    merged communes included; each row becomes a ``public_services_bus`` place at the commune.
    """
    path = Path(path)
    if not path.is_file():
        raise TerritoryBuildError(f"{path}: places file not found")
    if path.suffix.lower() == ".json":
        try:
            items = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TerritoryBuildError(f"{path}: not valid JSON ({exc})") from exc
        if not isinstance(items, list):
            raise TerritoryBuildError(f"{path}: expected a JSON list of places")
        out = []
        for k, item in enumerate(items):
            try:
                out.append(
                    {
                        "kind": str(item["kind"]),
                        "name": str(item["name"]),
                        "commune_insee": item.get("commune_insee"),
                        "lat": float(item["lat"]),
                        "lon": float(item["lon"]),
                        "details": item.get("details"),
                        "address": item.get("address"),
                    }
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise TerritoryBuildError(f"{path}: place #{k + 1} is incomplete ({exc})") from exc
        return out
    by_insee = {c.insee: c for c in communes}
    by_name = {
        fold(a.name): by_insee[a.commune_insee] for a in aliases if a.commune_insee in by_insee
    }
    by_name.update({fold(c.name): c for c in communes})
    out = []
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        needed = {"week_parity", "weekday", "commune", "place", "start", "end"}
        if not needed <= set(reader.fieldnames or []):
            raise TerritoryBuildError(f"{path}: expected columns {', '.join(sorted(needed))}")
        for line_no, row in enumerate(reader, start=2):
            commune = by_name.get(fold(row["commune"]))
            if commune is None:
                raise TerritoryBuildError(
                    f"{path}: line {line_no}: unknown commune {row['commune']!r}"
                )
            out.append(
                {
                    "kind": "public_services_bus",
                    "name": f"Bus des services publics — {commune.name} ({row['place']})",
                    "commune_insee": commune.insee,
                    "lat": commune.lat,
                    "lon": commune.lon,
                    "address": row["place"],
                    "details": {
                        k: row[k] for k in ("week_parity", "weekday", "start", "end", "place")
                    },
                }
            )
    return out


def stage_territory(
    root: Path,
    *,
    name: str | None = None,
    osm: Path | None = None,
    gtfs: list[Path] | tuple[Path, ...] = (),
    communes: Path | list[Path] | tuple[Path, ...] | None = None,
    places: list[Path] | tuple[Path, ...] = (),
) -> StagedTerritory:
    """Build a territory into a temporary folder under ``root``.

    With no source at all, the demo territory is generated and built through the same path.
    Raises TerritoryBuildError (the temporary folder removed) on any bad source.
    """
    from gtfs_import import BBox, FeedError, read_feed, validate_feed
    from matching.ch import build_ch
    from matching.errors import OSMReadError
    from matching.io import graph_from_osm, save_ch, save_graph

    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
    try:
        is_demo = osm is None and not gtfs and not communes and not places
        if is_demo:
            from data.demo import write_demo_sources

            demo = write_demo_sources(staging / "sources")
            name = name or "demo"
            osm, gtfs, communes, places = (
                demo.osm_path,
                [demo.gtfs_path],
                demo.communes_path,
                [demo.places_path],
            )
        given = [
            osm,
            *gtfs,
            *([communes] if isinstance(communes, str | Path) else communes or ()),
            *places,
        ]
        missing = [str(p) for p in given if p is not None and not Path(p).is_file()]
        if missing:
            raise TerritoryBuildError(f"file(s) not found: {', '.join(missing)}")
        if osm is None:
            raise TerritoryBuildError(
                "a road network is needed: give --osm FILE (.osm or .osm.bz2)"
            )
        commune_files = (
            [Path(communes)]
            if isinstance(communes, str | Path)
            else [Path(c) for c in communes or ()]
        )
        alias_files = [p for p in commune_files if p.is_file() and is_alias_file(p)]
        commune_files = [p for p in commune_files if p not in alias_files]
        if not commune_files:
            raise TerritoryBuildError("the communes are needed: give --communes FILE (CSV)")
        name = name or Path(osm).name.split(".")[0]
        try:
            graph = graph_from_osm(Path(osm))
        except OSMReadError as exc:
            raise TerritoryBuildError(str(exc)) from exc
        save_graph(graph, staging / "graph.npz")
        # The contraction hierarchy is built once here, not at each process start.
        save_ch(build_ch(graph), staging / "ch.npz")
        commune_records = _read_all_communes(commune_files)
        aliases = _aliases(commune_records, alias_files)
        place_records: list[dict[str, Any]] = []
        for p in places:
            place_records.extend(read_places(Path(p), commune_records, aliases))
        feeds_dir = staging / "gtfs"
        feeds_dir.mkdir()
        feed_entries = []
        lats = [c.lat for c in commune_records]
        lons = [c.lon for c in commune_records]
        # The feeds' stops are checked against the territory (30 km beyond its communes
        # reach the stations a rider takes outside it, e.g. Brive or Montauban for the Lot).
        area = BBox(min(lats), min(lons), max(lats), max(lons)).expanded(30) if lats else None
        for k, feed_path in enumerate(gtfs):
            feed_path = Path(feed_path)
            try:
                feed = read_feed(feed_path)
            except FeedError as exc:
                raise TerritoryBuildError(str(exc)) from exc
            problems = validate_feed(feed, area)
            errors = [p for p in problems if p.severity == "error"]
            if errors:
                shown = "; ".join(f"{p.file} {p.row}: {p.message}" for p in errors[:8])
                more = f"; … and {len(errors) - 8} more" if len(errors) > 8 else ""
                raise TerritoryBuildError(
                    f"{feed_path}: {len(errors)} blocking problem(s): {shown}{more}"
                )
            target = feeds_dir / f"{k:02d}-{feed_path.name}"
            shutil.copyfile(feed_path, target)
            feed_entries.append(
                {
                    "file": target.name,
                    "source": str(feed_path),
                    "sha256": _sha256(feed_path),
                    "warnings": sum(1 for p in problems if p.severity == "warning"),
                }
            )
        manifest = {
            "format_version": FORMAT_VERSION,
            "name": name,
            "is_demo": is_demo,
            "label": DEMO_LABEL if is_demo else None,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "sources": {
                "osm": {"path": str(osm), "sha256": _sha256(Path(osm))},
                "communes": [
                    {"path": str(p), "sha256": _sha256(p)} for p in commune_files + alias_files
                ],
                "places": [str(p) for p in places],
            },
            "graph": {"nodes": graph.n_nodes, "edges": graph.n_edges},
            "bbox": [min(lats), min(lons), max(lats), max(lons)],
            "feeds": feed_entries,
            "communes": len(commune_records),
            "commune_aliases": len(aliases),
            "places": len(place_records),
        }
        (staging / "communes.json").write_text(
            json.dumps([asdict(c) for c in commune_records], ensure_ascii=False), encoding="utf-8"
        )
        (staging / "places.json").write_text(
            json.dumps(place_records, ensure_ascii=False), encoding="utf-8"
        )
        (staging / "aliases.json").write_text(
            json.dumps([asdict(a) for a in aliases], ensure_ascii=False), encoding="utf-8"
        )
        (staging / "manifest.json").write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        if is_demo:
            shutil.rmtree(staging / "sources")
        return StagedTerritory(
            staging,
            manifest,
            commune_records,
            place_records,
            [feeds_dir / e["file"] for e in feed_entries],
            aliases,
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _read_all_communes(paths: list[Path]) -> list[CommuneRecord]:
    records: list[CommuneRecord] = []
    seen: set[str] = set()
    for path in paths:
        for rec in read_communes_csv(path):
            if rec.insee in seen:
                raise TerritoryBuildError(
                    f"{path}: INSEE code {rec.insee} already given by another file"
                )
            seen.add(rec.insee)
            records.append(rec)
    return records


def _aliases(records: list[CommuneRecord], alias_files: list[Path]) -> list[CommuneAlias]:
    """Old names of merged communes: from the alias files, and from commune rows that now
    belong to another commune of the territory."""
    known = {r.insee for r in records}
    found = {(a.name, a.commune_insee): a for p in alias_files for a in read_commune_aliases_csv(p)}
    for r in records:
        if r.merged_into_insee:
            found.setdefault(
                (r.name, r.merged_into_insee), CommuneAlias(r.name, r.merged_into_insee, r.insee)
            )
    return [a for a in found.values() if a.commune_insee in known]


def activate_territory(root: Path, staged: StagedTerritory) -> Path:
    """Move a staged build to its final folder and point ``current`` at it, atomically."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    final = root / f"{staged.manifest['name']}-{stamp}-{uuid.uuid4().hex[:6]}"
    staged.path.rename(final)
    staged.path = final
    tmp_link = root / f".{CURRENT_LINK}-{uuid.uuid4().hex[:6]}"
    tmp_link.symlink_to(final.name)
    os.replace(tmp_link, root / CURRENT_LINK)
    return final


def discard_staged(staged: StagedTerritory) -> None:
    """Remove a staged build that will not be activated."""
    shutil.rmtree(staged.path, ignore_errors=True)


def current_territory_path(root: Path) -> Path:
    """Folder of the active territory; TerritoryNotBuilt when there is none."""
    link = Path(root) / CURRENT_LINK
    if not link.exists():
        raise TerritoryNotBuilt(
            f"no territory in {root}: run `flask --app app territory build` (demo territory with no option)"
        )
    return link.resolve()


def read_territory_records(
    path: Path,
) -> tuple[list[CommuneRecord], list[dict[str, Any]], list[CommuneAlias]]:
    """Communes, places and old commune names stored in a territory folder (to re-stage it)."""
    path = Path(path)
    communes = [CommuneRecord(**c) for c in json.loads((path / "communes.json").read_text("utf-8"))]
    places = json.loads((path / "places.json").read_text("utf-8"))
    aliases_file = path / "aliases.json"
    aliases = (
        [CommuneAlias(**a) for a in json.loads(aliases_file.read_text("utf-8"))]
        if aliases_file.exists()  # folders built before the aliases were kept there
        else []
    )
    return communes, places, aliases


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a territory folder, checked for the supported format version."""
    manifest = json.loads((Path(path) / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format_version") != FORMAT_VERSION:
        raise TerritoryNotBuilt(
            f"{path}: territory format {manifest.get('format_version')} is not {FORMAT_VERSION}: rebuild it"
        )
    return manifest


def store_territory(staged: StagedTerritory) -> None:
    """Store communes, places and transit stops/routes of a staged build in one transaction.

    Communes and places are upserted (people's records point at them); the stops and routes
    of the territory's previous feeds are replaced. On any error the transaction is rolled
    back and the database is left as it was.
    """
    from gtfs_import import read_feed, routes_table, stops_table

    from ..extensions import db
    from ..models import Commune, CommuneAlias, Place, TransitFeed, TransitRoute, TransitStop, point

    name = staged.manifest["name"]
    session = db.session
    try:
        existing = {c.insee: c for c in session.query(Commune).all()}
        for rec in staged.communes:
            commune = existing.get(rec.insee) or Commune(insee=rec.insee)
            commune.name = rec.name
            commune.geom = point(rec.lat, rec.lon)
            commune.population = rec.population
            commune.postcodes = rec.postcodes
            commune.epci = rec.epci
            commune.merged_into_insee = rec.merged_into_insee
            commune.territory = name
            session.add(commune)
        session.flush()
        territory_insee = [c.insee for c in staged.communes]
        session.query(CommuneAlias).filter(CommuneAlias.commune_insee.in_(territory_insee)).delete(
            synchronize_session="fetch"
        )
        session.add_all(
            CommuneAlias(name=a.name, commune_insee=a.commune_insee, old_insee=a.old_insee)
            for a in staged.aliases
        )
        valid_insee = set(existing) | set(territory_insee)
        known_places = {(p.kind, p.name): p for p in session.query(Place).filter_by(territory=name)}
        keep: set[int] = set()
        for rec in staged.places:
            place = known_places.get((rec["kind"], rec["name"])) or Place(
                territory=name, kind=rec["kind"], name=rec["name"]
            )
            insee = rec.get("commune_insee")
            place.commune_insee = insee if insee in valid_insee else None
            place.geom = point(rec["lat"], rec["lon"])
            place.address = rec.get("address")
            place.details = rec.get("details")
            session.add(place)
            session.flush()
            keep.add(place.id)
        for place in known_places.values():
            if place.id not in keep:
                session.delete(place)
        old_feeds = [f.id for f in session.query(TransitFeed).filter_by(territory=name)]
        if old_feeds:
            session.query(TransitStop).filter(TransitStop.feed_id.in_(old_feeds)).delete(
                synchronize_session="fetch"
            )
            session.query(TransitRoute).filter(TransitRoute.feed_id.in_(old_feeds)).delete(
                synchronize_session="fetch"
            )
            session.query(TransitFeed).filter(TransitFeed.id.in_(old_feeds)).delete(
                synchronize_session="fetch"
            )
        for entry, feed_path in zip(staged.manifest["feeds"], staged.feeds, strict=True):
            feed = read_feed(feed_path)
            dates = (
                sorted(feed.calendar_dates["date"].astype(str))
                if feed.calendar_dates is not None
                else []
            )
            start = end = None
            if feed.calendar is not None and len(feed.calendar):
                start, end = (
                    str(feed.calendar["start_date"].min()),
                    str(feed.calendar["end_date"].max()),
                )
            elif dates:
                start, end = dates[0], dates[-1]
            row = TransitFeed(
                territory=name,
                name=entry["file"],
                sha256=entry["sha256"],
                start_date=start,
                end_date=end,
                warnings=entry["warnings"],
            )
            session.add(row)
            session.flush()
            stops = stops_table(feed).dropna(subset=["lat", "lon"])
            session.add_all(
                TransitStop(
                    feed_id=row.id,
                    stop_id=s.stop_id,
                    name=s.name or s.stop_id,
                    parent_station=None if _na(s.parent_station) else s.parent_station,
                    location_type=int(s.location_type),
                    wheelchair_boarding=None
                    if _na(s.wheelchair_boarding)
                    else int(s.wheelchair_boarding),
                    geom=point(float(s.lat), float(s.lon)),
                )
                for s in stops.itertuples(index=False)
            )
            session.add_all(
                TransitRoute(
                    feed_id=row.id,
                    route_id=r.route_id,
                    short_name=None if _na(r.short_name) else r.short_name,
                    long_name=None if _na(r.long_name) else r.long_name,
                    route_type=int(r.route_type),
                    agency=None if _na(r.agency_name) else r.agency_name,
                )
                for r in routes_table(feed).itertuples(index=False)
            )
        session.commit()
    except BaseException:
        session.rollback()
        raise


def _na(value: Any) -> bool:
    import pandas as pd

    return value is None or bool(pd.isna(value))


def build_territory(root: Path, **sources: Any) -> Path:
    """Stage, store and activate a territory; return its final folder.

    The order keeps a failure harmless: a bad source fails in staging (nothing touched), a
    database error rolls back and discards the staged folder, and the ``current`` symlink only
    moves once the database holds the new territory.
    """
    staged = stage_territory(Path(root), **sources)
    try:
        store_territory(staged)
    except BaseException:
        discard_staged(staged)
        raise
    return activate_territory(Path(root), staged)
