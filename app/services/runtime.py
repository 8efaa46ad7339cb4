"""The active territory, loaded once per process: road graph, engine, timetable.

Views, the SMS worker and the API reach the engine only through this module, so that the
graph and its contraction hierarchy are loaded once per process and shared.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from .territory import current_territory_path, read_manifest

_lock = threading.Lock()


@dataclass
class LoadedTerritory:
    """The active territory of this process."""

    path: Path
    manifest: dict[str, Any]
    graph: Any  # matching.RoadGraph

    @property
    def name(self) -> str:
        return str(self.manifest["name"])

    @property
    def is_demo(self) -> bool:
        return bool(self.manifest.get("is_demo"))


_TERRITORY_KEY = "lot_territory"


def loaded_territory(app: Flask | None = None) -> LoadedTerritory:
    """The active territory (loaded on first use; reloaded when the ``current`` link moved).

    Raises TerritoryNotBuilt when no territory has been built.
    """
    from matching.io import load_graph

    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    path = current_territory_path(Path(app.config["TERRITORY_DIR"]))
    cached: LoadedTerritory | None = app.extensions.get(_TERRITORY_KEY)
    if cached is not None and cached.path == path:
        return cached
    with _lock:
        cached = app.extensions.get(_TERRITORY_KEY)
        if cached is not None and cached.path == path:
            return cached
        manifest = read_manifest(path)
        # Mapped from the file: every process of the machine shares one copy of the arrays.
        mapped = bool(app.config.get("TERRITORY_MMAP", True))
        loaded = LoadedTerritory(path=path, manifest=manifest,
                                 graph=load_graph(path / "graph.npz", mmap=mapped))
        app.extensions[_TERRITORY_KEY] = loaded
        return loaded
