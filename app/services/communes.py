"""Reading a communes CSV (the format of ../shared/data/communes/lot46_communes.csv)."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import TerritoryBuildError

REQUIRED_COLUMNS = ("insee", "nom", "lat_centroid", "lon_centroid")
NUMERIC_COLUMNS = (
    "lat_centroid",
    "lon_centroid",
    "lat_bdcarto_pt",
    "lon_bdcarto_pt",
    "population_cog_2026",
    "population_bdcarto_2021",
)


@dataclass(frozen=True)
class CommuneRecord:
    """One row of a communes file, checked."""

    insee: str
    name: str
    lat: float
    lon: float
    population: int | None
    postcodes: str | None
    epci: str | None
    merged_into_insee: str | None


def _number(value: str | None) -> float | None:
    if value is None or value.strip() == "":
        return None
    return float(value)


def read_communes_csv(path: Path) -> list[CommuneRecord]:
    """Read and check a communes CSV; raise TerritoryBuildError listing every bad row.

    The IGN interior point (``lat_bdcarto_pt``) is preferred to the centroid when present:
    it always lies inside the commune, near where people live.
    """
    path = Path(path)
    if not path.is_file():
        raise TerritoryBuildError(f"{path}: communes file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TerritoryBuildError(f"{path}: not a UTF-8 text file ({exc.reason})") from exc
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise TerritoryBuildError(f"{path}: missing column(s) {', '.join(missing)} in the header")
    records: list[CommuneRecord] = []
    problems: list[str] = []
    seen: set[str] = set()
    for line_no, row in enumerate(reader, start=2):
        insee = (row.get("insee") or "").strip()
        name = (row.get("nom") or "").strip()
        numbers: dict[str, float | None] = {}
        bad = []
        for column in NUMERIC_COLUMNS:
            try:
                numbers[column] = _number(row.get(column))
            except ValueError:
                bad.append(f"{column}={row.get(column)!r}")
        if bad:
            problems.append(f"line {line_no}: not a number: {', '.join(bad)}")
            continue
        # The IGN interior point when present, else the centroid.
        lat = (
            numbers["lat_bdcarto_pt"]
            if numbers["lat_bdcarto_pt"] is not None
            else numbers["lat_centroid"]
        )
        lon = (
            numbers["lon_bdcarto_pt"]
            if numbers["lon_bdcarto_pt"] is not None
            else numbers["lon_centroid"]
        )
        population = numbers["population_cog_2026"]
        if population is None:
            population = numbers["population_bdcarto_2021"]
        if len(insee) != 5 or not insee[:2].isalnum() or not insee[2:].isdigit():
            problems.append(f"line {line_no}: bad INSEE code {insee!r}")
            continue
        if not name:
            problems.append(f"line {line_no}: commune {insee} has no name")
            continue
        if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
            problems.append(f"line {line_no}: commune {insee} has no coordinates")
            continue
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            problems.append(
                f"line {line_no}: commune {insee} has coordinates out of range ({lat}, {lon})"
            )
            continue
        if insee in seen:
            problems.append(f"line {line_no}: INSEE code {insee} appears twice")
            continue
        seen.add(insee)
        current = (row.get("insee_commune_actuelle_2026") or "").strip() or None
        records.append(
            CommuneRecord(
                insee=insee,
                name=name,
                lat=lat,
                lon=lon,
                population=int(population) if population is not None else None,
                postcodes=(row.get("codes_postaux") or "").strip() or None,
                epci=(row.get("epci_nom") or "").strip() or None,
                merged_into_insee=current if current and current != insee else None,
            )
        )
    if problems:
        shown = "; ".join(problems[:10]) + (
            f"; … and {len(problems) - 10} more" if len(problems) > 10 else ""
        )
        raise TerritoryBuildError(f"{path}: {len(problems)} bad row(s): {shown}")
    if not records:
        raise TerritoryBuildError(f"{path}: no commune in the file")
    return records


ALIAS_COLUMNS = ("insee_deleguee", "nom_deleguee", "insee_chef_lieu")


@dataclass(frozen=True)
class CommuneAlias:
    """Another name people use for a commune: an old commune merged into a new one."""

    name: str
    commune_insee: str
    old_insee: str | None


def is_alias_file(path: Path) -> bool:
    """Whether a CSV is a table of old (delegated) communes rather than of communes."""
    with Path(path).open(encoding="utf-8-sig") as f:
        header = f.readline().strip().split(",")
    return all(c in header for c in ALIAS_COLUMNS)


def read_commune_aliases_csv(path: Path) -> list[CommuneAlias]:
    """Read old commune → current commune (lot46_communes_deleguees_2026.csv format)."""
    path = Path(path)
    if not path.is_file():
        raise TerritoryBuildError(f"{path}: communes file not found")
    reader = csv.DictReader(path.read_text(encoding="utf-8-sig").splitlines())
    aliases: list[CommuneAlias] = []
    problems: list[str] = []
    for line_no, row in enumerate(reader, start=2):
        name = (row.get("nom_deleguee") or "").strip()
        target = (row.get("insee_chef_lieu") or "").strip()
        if not name or len(target) != 5:
            problems.append(f"line {line_no}: needs nom_deleguee and a 5-character insee_chef_lieu")
            continue
        aliases.append(
            CommuneAlias(name, target, (row.get("insee_deleguee") or "").strip() or None)
        )
    if problems:
        raise TerritoryBuildError(f"{path}: {len(problems)} bad row(s): {'; '.join(problems[:10])}")
    return aliases
