"""The layers of the matching package: the routing engine at the bottom, imports pointing down.

The routing engine (graph, CH, snapping, queries) imports none of the matcher, the batch
assignment, the pooled planner or the warm-up: those take an engine as an argument. Imports
are read from the source (ast), those inside functions included, so a lazy import that
would close a circle is caught too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import matching

PACKAGE = Path(matching.__file__).parent

ROUTING = {"graph", "ch", "_ch_build", "dijkstra", "snap", "engine", "io", "_heap"}
"""The routing engine."""
SHARED = {"errors", "model", "reasons"}
"""Plain definitions any layer may use."""
UPPER = {
    "matcher",
    "station_legs",
    "offers",
    "rides",
    "assignment",
    "assignment_solve",
    "assignment_heuristics",
    "_feasibility",
    "day_instance",
    "commitments",
    "pooling",
    "warm",
}
"""Matching and planning, above the engine."""


def _top_modules() -> set[str]:
    names = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    names |= {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    return names


def matching_imports(source: str, package: tuple[str, ...] = ("matching",)) -> set[str]:
    """The ``matching`` modules a source file of ``package`` imports (first component under
    ``matching``), with ``"__init__"`` for the package itself (which imports every layer)."""
    modules = _top_modules()
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "matching":
                    found.add(parts[1] if len(parts) > 1 else "__init__")
            continue
        if not isinstance(node, ast.ImportFrom):
            continue
        parts = node.module.split(".") if node.module else []
        if node.level:  # relative: from the file's package, ``level - 1`` packages up
            parts = [*package[: len(package) - node.level + 1], *parts]
        if not parts or parts[0] != "matching":
            continue
        if len(parts) > 1:
            found.add(parts[1])
            continue
        # "from matching import x": a submodule, or a name from the package's __init__
        for alias in node.names:
            found.add(alias.name if alias.name in modules else "__init__")
    return found


def _imports_of(path: Path) -> set[str]:
    package = ("matching", *path.parent.relative_to(PACKAGE).parts)
    return matching_imports(path.read_text(), package)


def test_every_module_has_a_layer() -> None:
    # A new module must be placed in a layer, or the checks below would miss it.
    assert _top_modules() - ROUTING - SHARED - UPPER == set()
    assert _top_modules() >= ROUTING | SHARED | UPPER


@pytest.mark.parametrize("name", sorted(ROUTING))
def test_the_routing_engine_imports_no_upper_layer(name: str) -> None:
    found = _imports_of(PACKAGE / f"{name}.py")
    assert found & UPPER == set(), f"{name}.py imports {sorted(found & UPPER)}"
    assert "__init__" not in found, f"{name}.py imports the matching package (every layer)"
    assert found <= ROUTING | {"errors"}, f"{name}.py imports {sorted(found - ROUTING)}"


def test_only_the_package_imports_the_warm_up() -> None:
    importers = sorted(
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if p.name != "__init__.py" or p.parent != PACKAGE
        if "warm" in _imports_of(p) and p.stem != "warm"
    )
    assert importers == []


def test_the_reader_sees_imports_inside_functions() -> None:
    # The check must see a lazy import (the circle engine -> rides -> ... -> engine was one).
    source = (
        "import numpy\n"
        "def f():\n"
        "    from matching.rides import match_need\n"
        "    from matching import Engine, graph\n"
        "    from . import warm\n"
        "    from ..ch import Table\n"
        "    import matching.offers\n"
    )
    assert matching_imports(source) == {"rides", "__init__", "graph", "warm", "offers"}
    assert "ch" in matching_imports(source, ("matching", "pooling"))
