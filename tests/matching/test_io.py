"""Tests of OSM reading and of the .npz caches (the only I/O of the engine)."""

from __future__ import annotations

import bz2
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from matching.errors import CacheFormatError, GraphError, OSMReadError
from matching.graph import check_graph
from matching.io import (
    effective_speed_kmh,
    graph_from_osm,
    load_graph,
    parse_maxspeed_kmh,
    save_graph,
)
from tests.conftest import shared_file
from tests.matching.helpers import random_graph, to_networkx

_TINY_OSM = """<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="test">
  <node id="1" lat="44.450" lon="1.440"/>
  <node id="2" lat="44.451" lon="1.441"/>
  <node id="3" lat="44.452" lon="1.443"/>
  <node id="4" lat="44.453" lon="1.444"/>
  <node id="5" lat="44.454" lon="1.446"/>
  <way id="10"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="secondary"/><tag k="maxspeed" v="90"/></way>
  <way id="11"><nd ref="3"/><nd ref="4"/><nd ref="1"/>
    <tag k="highway" v="residential"/><tag k="oneway" v="yes"/></way>
  <way id="12"><nd ref="4"/><nd ref="5"/><tag k="highway" v="footway"/></way>
</osm>
"""


def test_tiny_osm_file_gives_the_drive_network(tmp_path: Path) -> None:
    path = tmp_path / "tiny.osm"
    path.write_text(_TINY_OSM)
    g = graph_from_osm(path, simplify=False)
    check_graph(g)
    # Node 5 hangs on a footway only: it is not part of the drive network.
    assert sorted(g.node_osmid.tolist()) == [1, 2, 3, 4]
    assert g.n_edges == 4 + 2  # secondary both ways (2 x 2), residential one way (2)
    assert g.travel_time_s.min() >= 1


def test_tiny_osm_file_compressed(tmp_path: Path) -> None:
    path = tmp_path / "tiny.osm.bz2"
    path.write_bytes(bz2.compress(_TINY_OSM.encode()))
    g = graph_from_osm(path)
    check_graph(g)
    assert g.n_nodes >= 2


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("empty.osm", b"", "empty"),
        ("blank.osm", b"   \n\n", "empty"),
        ("communes.osm", b"insee,name,lat,lon\n46042,Cahors,44.45,1.44\n", "not OSM XML"),
        ("page.osm", b"<?xml version='1.0'?><html><body>hi</body></html>", "not OSM XML"),
        ("nodata.osm", b"<?xml version='1.0'?><osm version='0.6'></osm>", "no OSM node"),
        ("broken.osm", _TINY_OSM.encode()[:400], "not valid XML"),
        (
            "paths.osm",
            b"<osm version='0.6'><node id='1' lat='44' lon='1'/><node id='2' lat='44.1'"
            b" lon='1'/><way id='3'><nd ref='1'/><nd ref='2'/><tag k='highway' v='path'/>"
            b"</way></osm>",
            "no drivable road",
        ),
    ],
)
def test_bad_osm_files_raise_osm_read_error(
    tmp_path: Path, name: str, content: bytes, problem: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(OSMReadError, match=problem) as info:
        graph_from_osm(path)
    assert name in str(info.value)
    assert isinstance(info.value, ValueError)


def test_missing_osm_file(tmp_path: Path) -> None:
    with pytest.raises(OSMReadError, match="does not exist") as info:
        graph_from_osm(tmp_path / "lot.osm.bz2")
    assert "lot.osm.bz2" in str(info.value)


def test_bz2_that_is_not_bz2(tmp_path: Path) -> None:
    path = tmp_path / "fake.osm.bz2"
    path.write_text(_TINY_OSM)
    with pytest.raises(OSMReadError, match="unreadable or truncated") as info:
        graph_from_osm(path)
    assert "fake.osm.bz2" in str(info.value)


def test_truncated_real_bz2_is_refused(tmp_path: Path) -> None:
    real = shared_file("osm/toulouse-centre.osm.bz2")
    data = real.read_bytes()
    path = tmp_path / "toulouse-cut.osm.bz2"
    path.write_bytes(data[: len(data) // 2])
    # osmnx alone would silently return the first half of the city.
    with pytest.raises(OSMReadError, match="truncated") as info:
        graph_from_osm(path)
    assert "toulouse-cut.osm.bz2" in str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("50", 50.0),
        ("30 mph", 30 * 1.609344),
        ("FR:rural", 80.0),
        ("FR:urban", 50.0),
        ("90;30", 60.0),
        (["70", "90"], 80.0),
        ("none", None),
        ("signals", None),
        ("", None),
        (None, None),
        ("9999", None),
    ],
)
def test_parse_maxspeed(value: object, expected: float | None) -> None:
    result = parse_maxspeed_kmh(value)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected)


def test_effective_speed() -> None:
    assert effective_speed_kmh("motorway") == 110.0
    assert effective_speed_kmh("motorway", "130") == pytest.approx(110.5)
    assert effective_speed_kmh("residential") == 30.0
    assert effective_speed_kmh("residential", "50") == 50.0
    assert effective_speed_kmh("residential", "90") == 50.0  # capped: class default + 20
    assert effective_speed_kmh("primary", "garbage") == 80.0


def test_save_load_graph_roundtrip(tmp_path: Path) -> None:
    g = random_graph(50, 200, seed=3)
    path = tmp_path / "g.npz"
    save_graph(g, path)
    h = load_graph(path)
    for a, b in zip(g, h, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_load_graph_errors(tmp_path: Path) -> None:
    g = random_graph(20, 60, seed=4)
    with pytest.raises(CacheFormatError, match="does not exist"):
        load_graph(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip at all")
    with pytest.raises(CacheFormatError, match="not a readable"):
        load_graph(bad)
    old = tmp_path / "old.npz"
    np.savez(old, format_kind=np.array("RoadGraph"), format_version=np.array(0), **g._asdict())
    with pytest.raises(CacheFormatError, match="format version 0"):
        load_graph(old)
    other = tmp_path / "other.npz"
    np.savez(other, format_kind=np.array("CHIndex"), format_version=np.array(1))
    with pytest.raises(CacheFormatError, match="not a RoadGraph"):
        load_graph(other)
    cut = tmp_path / "cut.npz"
    save_graph(g, cut)
    cut.write_bytes(cut.read_bytes()[:200])
    with pytest.raises(CacheFormatError):
        load_graph(cut)
    broken = tmp_path / "broken.npz"
    arrays = g._asdict()
    arrays["indices"] = arrays["indices"].copy()
    arrays["indices"][0] = 10_000
    np.savez(broken, format_kind=np.array("RoadGraph"), format_version=np.array(1), **arrays)
    with pytest.raises(GraphError):
        load_graph(broken)


@pytest.mark.slow
def test_real_extracts_are_strongly_connected_drive_networks(
    real_graphs: dict[str, object],
) -> None:
    for name, g in real_graphs.items():
        check_graph(g)  # type: ignore[arg-type]
        nxg = to_networkx(g)  # type: ignore[arg-type]
        assert nx.is_strongly_connected(nxg), name
        assert len(set(g.node_osmid.tolist())) == g.n_nodes  # type: ignore[attr-defined]
