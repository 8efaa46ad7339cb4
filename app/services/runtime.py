"""The active territory, loaded once per process: road graph, engine, timetable.

Views, the SMS worker and the API reach the engine only through this module, so that the
graph and its contraction hierarchy are loaded once per process and shared.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app

from .territory import CURRENT_LINK, current_territory_path, read_manifest

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
_LINK_KEY = "lot_territory_link"


def loaded_territory(app: Flask | None = None) -> LoadedTerritory:
    """The active territory (loaded on first use; reloaded when the ``current`` link moved).

    Raises TerritoryNotBuilt when no territory has been built.
    """
    from matching.io import load_graph

    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    # Fast path, taken hundreds of times by one journey search: one readlink of the
    # ``current`` link, compared with the target the loaded territory came from.
    root = str(app.config["TERRITORY_DIR"])
    try:
        target = os.readlink(os.path.join(root, CURRENT_LINK))
    except OSError:
        target = None
    seen = app.extensions.get(_LINK_KEY)  # (root, link target, territory), set as one value
    if seen is not None and target is not None and seen[0] == root and seen[1] == target:
        return seen[2]  # type: ignore[no-any-return]
    path = current_territory_path(Path(root))
    cached: LoadedTerritory | None = app.extensions.get(_TERRITORY_KEY)
    if cached is not None and cached.path == path:
        app.extensions[_LINK_KEY] = (root, target, cached)
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
        app.extensions[_LINK_KEY] = (root, target, loaded)
        return loaded
