"""Every input and output of the engine: OpenStreetMap files and ``.npz`` caches.

This is the only module of :mod:`matching` that touches the file system. OSM files are read
offline with :func:`osmnx.graph_from_xml`; nothing here downloads anything.
"""

from __future__ import annotations

import bz2
import math
import re
import struct
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from matching.ch import CHIndex
from matching.errors import CacheFormatError, OSMReadError
from matching.graph import (
    RoadGraph,
    check_graph,
    graph_from_edges,
    largest_strongly_connected,
)

GRAPH_FORMAT_VERSION = 1
"""Version of the ``.npz`` layout written by :func:`save_graph`; bumped on every change."""

CH_FORMAT_VERSION = 1
"""Version of the ``.npz`` layout written by :func:`save_ch`; bumped on every change."""

# Effective speeds (km/h) by OSM highway class on French roads, used when a way has no
# parseable maxspeed. They are below the legal limits: junctions, bends and villages slow
# cars down (130 km/h motorways average about 110 km/h door to door).
DEFAULT_SPEED_KMH: dict[str, float] = {
    "motorway": 110.0,
    "motorway_link": 60.0,
    "trunk": 100.0,
    "trunk_link": 50.0,
    "primary": 80.0,
    "primary_link": 50.0,
    "secondary": 80.0,
    "secondary_link": 50.0,
    "tertiary": 70.0,
    "tertiary_link": 40.0,
    "unclassified": 50.0,
    "road": 40.0,
    "residential": 30.0,
    "living_street": 20.0,
    "service": 20.0,
}
"""Highway classes of the drive network and their default effective speed (km/h)."""

_EXCLUDED_SERVICE = {"parking", "parking_aisle", "driveway", "private", "emergency_access"}
_NO_ACCESS = {"no", "private"}

# French implicit limits written as maxspeed=FR:* (https://wiki.openstreetmap.org/wiki/Key:maxspeed)
_IMPLICIT_MAXSPEED_KMH = {
    "fr:urban": 50.0,
    "fr:rural": 80.0,
    "fr:zone30": 30.0,
    "fr:zone20": 20.0,
    "fr:walk": 6.0,
    "fr:motorway": 130.0,
    "fr:trunk": 110.0,
    "walk": 6.0,
}
_NUMBER = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(mph|km/h|kmh|kph)?\s*$")


def parse_maxspeed_kmh(value: Any) -> float | None:
    """Parse an OSM ``maxspeed`` value into km/h, or ``None`` when it cannot be used.

    Numbers (``"50"``, ``"30 mph"``), French implicit values (``"FR:rural"``) and lists
    (``"90;30"``, or a Python list after osmnx merged ways: the mean is taken) are
    understood; ``"none"``, ``"signals"`` and garbage give ``None``.
    """
    if value is None:
        return None
    if isinstance(value, list | tuple):
        parts: list[Any] = list(value)
    else:
        parts = str(value).split(";")
    speeds = []
    for part in parts:
        text = str(part).strip().lower()
        if text in _IMPLICIT_MAXSPEED_KMH:
            speeds.append(_IMPLICIT_MAXSPEED_KMH[text])
            continue
        match = _NUMBER.match(text)
        if match:
            speed = float(match.group(1)) * (1.609344 if match.group(2) == "mph" else 1.0)
            if 0 < speed <= 200:
                speeds.append(speed)
    return sum(speeds) / len(speeds) if speeds else None


def effective_speed_kmh(highway: str, maxspeed: Any = None) -> float:
    """Effective driving speed (km/h) of a way from its highway class and ``maxspeed``.

    A posted limit above 90 km/h is not driven at on average: it is scaled by 0.85
    (130 gives about 110). A limit of 90 or less is taken as is, but never above the
    class default plus 20 km/h, to tame mistagged residential streets.
    """
    default = DEFAULT_SPEED_KMH.get(highway, 30.0)
    posted = parse_maxspeed_kmh(maxspeed)
    if posted is None:
        return default
    if posted > 90:
        return 0.85 * posted
    return min(posted, default + 20.0)


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _is_drivable(data: dict[str, Any]) -> bool:
    highway = _first(data.get("highway"))
    if not isinstance(highway, str) or highway not in DEFAULT_SPEED_KMH:
        return False
    if highway == "service" and _first(data.get("service")) in _EXCLUDED_SERVICE:
        return False
    if _first(data.get("access")) in _NO_ACCESS:
        return False
    return bool(_first(data.get("area")) != "yes")


def _check_osm_file(path: Path) -> None:
    """Fail early and clearly on files osmnx would choke on, or silently half-read."""
    if not path.exists():
        raise OSMReadError(f"OSM file {path} does not exist")
    if not path.is_file():
        raise OSMReadError(f"OSM file {path} is not a regular file")
    if path.stat().st_size == 0:
        raise OSMReadError(f"OSM file {path} is empty")
    opener: Any = bz2.open if path.suffix == ".bz2" else open
    try:
        with opener(path, "rb") as stream:
            head = stream.read(4096)
            # Read to the end: a truncated .bz2 only fails at its end, and osmnx would
            # otherwise return the part before the cut without a word.
            while stream.read(1 << 22):
                pass
    except (OSError, EOFError, ValueError) as exc:
        raise OSMReadError(f"OSM file {path} is unreadable or truncated: {exc}") from exc
    if not head.strip():
        raise OSMReadError(f"OSM file {path} is empty")
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if not text.startswith(b"<"):
        raise OSMReadError(f"OSM file {path} is not OSM XML (it does not start with '<')")
    if b"<osm" not in head:
        raise OSMReadError(f"OSM file {path} is not OSM XML (no <osm> root element)")


def graph_from_osm(path: str | Path, *, simplify: bool = True) -> RoadGraph:
    """Read an OSM XML file (``.osm`` or ``.osm.bz2``) into a drivable :class:`RoadGraph`.

    The file is read offline with :func:`osmnx.graph_from_xml` (which keeps every way),
    filtered to the drive network (motorway to residential, living streets, public service
    roads; no footway, track, path, parking aisle or private access), given an effective
    speed per edge (:func:`effective_speed_kmh`), simplified (chains of degree-2 nodes
    merged, times and lengths summed) and reduced to its largest strongly connected
    component.

    Parameters
    ----------
    path : str or Path
        The OSM XML file.
    simplify : bool, default True
        Merge chains of interstitial nodes (:func:`osmnx.simplify_graph`).

    Returns
    -------
    RoadGraph
        Travel times rounded up to whole seconds (at least 1 s per edge).

    Raises
    ------
    OSMReadError
        When the file is missing, empty, truncated, not OSM XML, or holds no drivable road.
    """
    import osmnx as ox  # heavy import, only needed here

    path = Path(path)
    _check_osm_file(path)
    try:
        full = ox.graph_from_xml(path, simplify=False, retain_all=True)
    except ET.ParseError as exc:
        raise OSMReadError(f"OSM file {path} is not valid XML: {exc}") from exc
    except (EOFError, OSError, UnicodeDecodeError) as exc:
        raise OSMReadError(f"OSM file {path} could not be read: {exc}") from exc
    except ox._errors.InsufficientResponseError as exc:
        raise OSMReadError(f"OSM file {path} holds no OSM node or way: {exc}") from exc
    except (KeyError, ValueError) as exc:
        raise OSMReadError(f"OSM file {path} is not usable OSM data: {exc}") from exc

    drive = full.__class__()
    drive.graph.update(full.graph)
    for u, v, key, data in full.edges(keys=True, data=True):
        if _is_drivable(data):
            speed = effective_speed_kmh(_first(data["highway"]), data.get("maxspeed"))
            attrs = dict(data)
            attrs["travel_time"] = float(data["length"]) / (speed / 3.6)
            drive.add_edge(u, v, key, **attrs)
    if drive.number_of_edges() == 0:
        raise OSMReadError(f"OSM file {path} holds no drivable road")
    for node in drive.nodes:
        drive.nodes[node].update(full.nodes[node])
    del full
    if simplify:
        drive = ox.simplify_graph(drive, edge_attr_aggs={"length": sum, "travel_time": sum})
    return _graph_from_networkx(drive)


def _graph_from_networkx(nxg: Any) -> RoadGraph:
    osmids = np.fromiter(nxg.nodes, dtype=np.int64, count=nxg.number_of_nodes())
    index = {int(o): i for i, o in enumerate(osmids)}
    lat = np.array([nxg.nodes[o]["y"] for o in osmids], dtype=np.float64)
    lon = np.array([nxg.nodes[o]["x"] for o in osmids], dtype=np.float64)
    tails, heads, times, lengths = [], [], [], []
    for u, v, data in nxg.edges(data=True):
        tails.append(index[int(u)])
        heads.append(index[int(v)])
        times.append(max(1, math.ceil(float(data["travel_time"]))))
        lengths.append(float(data["length"]))
    g = graph_from_edges(
        osmids.shape[0],
        np.array(tails, dtype=np.int64),
        np.array(heads, dtype=np.int64),
        np.array(times, dtype=np.int64),
        np.array(lengths, dtype=np.float64),
        lat,
        lon,
        osmids,
    )
    return largest_strongly_connected(g)


def _save_npz(path: str | Path, kind: str, version: int, arrays: dict[str, Any]) -> None:
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as stream:
        np.savez(
            stream,
            format_kind=np.array(kind),
            format_version=np.array(version, dtype=np.int64),
            **arrays,
        )
    tmp.replace(path)  # atomic: a reader never sees half a cache


# Arrays smaller than this are read into memory even when mapping: not worth a mapping each.
_MAP_MIN_BYTES = 1 << 16


def _map_npz(path: Path) -> dict[str, np.ndarray[Any, Any]]:
    """The arrays of an uncompressed ``.npz``, memory-mapped copy-on-write from the file.

    Every process that maps the same file shares its pages through the page cache (a road
    graph and its contraction hierarchy are loaded once per machine, not once per web worker).
    Copy-on-write (``mode="c"``) keeps the arrays writable for numba, which compiles one
    signature for them and for in-memory arrays; a write stays private to the process.
    A compressed member cannot be mapped and is read into memory.
    """
    arrays: dict[str, np.ndarray[Any, Any]] = {}
    with zipfile.ZipFile(path) as archive, open(path, "rb") as stream:
        for info in archive.infolist():
            name = info.filename.removesuffix(".npy")
            if info.compress_type != zipfile.ZIP_STORED or info.file_size < _MAP_MIN_BYTES:
                with archive.open(info) as member:
                    arrays[name] = np.lib.format.read_array(member, allow_pickle=False)
                continue
            # The member's data starts after its local file header (30 bytes + name + extra).
            stream.seek(info.header_offset + 26)
            name_len, extra_len = struct.unpack("<HH", stream.read(4))
            stream.seek(info.header_offset + 30 + name_len + extra_len)
            major, _minor = np.lib.format.read_magic(stream)
            read_header = (np.lib.format.read_array_header_1_0 if major == 1
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(stream)
            if dtype.hasobject:
                raise CacheFormatError(f"{path}: member {name} holds Python objects")
            mapped = np.memmap(stream, dtype=dtype, mode="c", offset=stream.tell(), shape=shape,
                               order="F" if fortran else "C")
            arrays[name] = mapped.view(np.ndarray)
    return arrays


def _load_npz(
    path: str | Path, kind: str, version: int, fields: Iterable[str], *, mmap: bool = False
) -> dict[str, np.ndarray[Any, Any]]:
    path = Path(path)
    try:
        if mmap:
            data = _map_npz(path)
            return _checked_npz(path, data, kind, version, fields)
        with np.load(path, allow_pickle=False) as npz:
            return _checked_npz(path, {f: npz[f] for f in npz.files}, kind, version, fields)
    except FileNotFoundError as exc:
        raise CacheFormatError(f"cache file {path} does not exist") from exc
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, struct.error) as exc:
        if isinstance(exc, CacheFormatError):
            raise
        raise CacheFormatError(f"{path} is not a readable .npz cache: {exc}") from exc


def _checked_npz(
    path: Path, data: dict[str, np.ndarray[Any, Any]], kind: str, version: int, fields: Iterable[str]
) -> dict[str, np.ndarray[Any, Any]]:
    """The ``fields`` of a cache after checking its kind and format version."""
    found_kind = str(data["format_kind"]) if "format_kind" in data else None
    found_version = int(data["format_version"]) if "format_version" in data else None
    if found_kind != kind:
        raise CacheFormatError(f"{path} is not a {kind} cache (found {found_kind!r})")
    if found_version != version:
        raise CacheFormatError(
            f"{path} has {kind} format version {found_version}, expected {version}:"
            " rebuild the cache"
        )
    missing = [f for f in fields if f not in data]
    if missing:
        raise CacheFormatError(f"{path} lacks the arrays {missing}")
    return {f: data[f] for f in fields}


def save_graph(g: RoadGraph, path: str | Path) -> None:
    """Write ``g`` to ``path`` (``.npz``, with a format version), atomically."""
    check_graph(g)
    _save_npz(path, "RoadGraph", GRAPH_FORMAT_VERSION, g._asdict())


def load_graph(path: str | Path, *, mmap: bool = False) -> RoadGraph:
    """Read a graph written by :func:`save_graph` and check its invariants.

    With ``mmap`` the arrays are memory-mapped from the file (copy-on-write), so that several
    processes on one machine share one copy of them.

    Raises
    ------
    CacheFormatError
        When the file is missing, unreadable, or of another format version.
    GraphError
        When the arrays break an invariant of :class:`RoadGraph`.
    """
    arrays = _load_npz(path, "RoadGraph", GRAPH_FORMAT_VERSION, RoadGraph._fields, mmap=mmap)
    g = RoadGraph(**arrays)
    check_graph(g)
    return g


def save_ch(ch: CHIndex, path: str | Path) -> None:
    """Write a contraction-hierarchy index to ``path`` (``.npz``), atomically."""
    _save_npz(path, "CHIndex", CH_FORMAT_VERSION, ch._asdict())


def load_ch(path: str | Path, g: RoadGraph | None = None, *, mmap: bool = False) -> CHIndex:
    """Read an index written by :func:`save_ch`; when ``g`` is given, check it fits ``g``.

    ``mmap`` maps the arrays from the file as :func:`load_graph` does.

    Raises
    ------
    CacheFormatError
        When the file is missing, unreadable, or of another format version.
    CHError
        When ``g`` is given and the index breaks an invariant or was built on another graph.
    """
    arrays = _load_npz(path, "CHIndex", CH_FORMAT_VERSION, CHIndex._fields, mmap=mmap)
    ch = CHIndex(**arrays)
    if g is not None:
        from matching.ch import check_ch

        check_ch(ch, g)
    return ch
