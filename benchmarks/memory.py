"""Memory of the web tier: resident and unique memory per gunicorn worker, and start-up time.

``python -m benchmarks.memory [--osm FILE ...] [--workers 1 2 4] --json PATH``

For each real OSM extract (default: Addison County, Vermont, and greater Porto from
``../shared/data/osm/``) a territory is built once (cached under ``benchmarks/.cache/``), then
gunicorn is started from ``deploy/gunicorn.conf.py`` with 1, 2 and 4 workers, each warming the
engine (road graph + contraction hierarchy + numba kernels) before serving, with the territory's
arrays memory-mapped (``TERRITORY_MMAP=1``, the default) and, as the baseline, read into each
process (``TERRITORY_MMAP=0``). Per worker it reads ``/proc/PID/smaps_rollup``: RSS (resident),
PSS (resident with shared pages divided among their users) and USS (private pages: what the
worker alone costs), and the time from fork to ready. Loopback only; every run is bounded in time.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("LOT_SHARED_DATA", ROOT.parent / "shared" / "data"))
CACHE = ROOT / "benchmarks" / ".cache" / "territories"
DEFAULT_OSM = [SHARED / "osm" / "addison-county-vt-roads-2020.osm.bz2",
               SHARED / "osm" / "porto-roads-2015.osm.bz2"]


def _pseudo_communes(osm: Path, out: Path, cells: int = 6) -> None:
    """A communes CSV for an extract without one: the centres of a coarse grid of its nodes."""
    import bz2

    opener = bz2.open if osm.suffix == ".bz2" else open
    lats, lons = [], []
    with opener(osm, "rb") as stream:
        for _event, element in ET.iterparse(stream):
            if element.tag == "node":
                lats.append(float(element.get("lat")))
                lons.append(float(element.get("lon")))
            element.clear()
    lat, lon = np.array(lats), np.array(lons)
    rows = []
    lat_edges = np.quantile(lat, np.linspace(0, 1, cells + 1))
    lon_edges = np.quantile(lon, np.linspace(0, 1, cells + 1))
    for i in range(cells):
        for j in range(cells):
            inside = (lat >= lat_edges[i]) & (lat <= lat_edges[i + 1]) & (lon >= lon_edges[j]) & (lon <= lon_edges[j + 1])
            if inside.any():
                rows.append({"insee": f"{90000 + len(rows):05d}", "nom": f"Secteur {len(rows) + 1}",
                             "lat_centroid": f"{lat[inside].mean():.6f}", "lon_centroid": f"{lon[inside].mean():.6f}"})
    with out.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def build_territory(osm: Path) -> tuple[Path, Path, float]:
    """The cached territory folder and database of ``osm`` (built on first use), build seconds."""
    name = re.sub(r"[^a-z0-9]+", "-", osm.name.split(".")[0].lower()).strip("-")
    folder = CACHE / name
    database = folder / "platform.db"
    if (folder / "territories" / "current").exists():
        return folder / "territories", database, 0.0
    folder.mkdir(parents=True, exist_ok=True)
    communes = folder / "communes.csv"
    _pseudo_communes(osm, communes)
    env = _env(folder / "territories", database)
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    began = time.perf_counter()
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run([*flask, "territory", "build", "--osm", str(osm), "--communes", str(communes), "--name", name],
                   cwd=ROOT, env=env, check=True)
    return folder / "territories", database, time.perf_counter() - began


def _env(territories: Path, database: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "TERRITORY_DIR": str(territories),
            "SECRET_KEY": "benchmark-" + "k" * 32, "SPATIALITE_LIBRARY_PATH": "mod_spatialite",
            "TASK_QUEUE_URL": f"sqlite:///{database.parent / 'tasks.db'}", "GUNICORN_ACCESS_LOG": "", **extra}


def _smaps(pid: int) -> dict[str, int]:
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, value = line.split(":", 1)
        fields[key] = int(value.split()[0])
    return {"rss_mb": round(fields["Rss"] / 1024, 1), "pss_mb": round(fields["Pss"] / 1024, 1),
            "uss_mb": round((fields["Private_Clean"] + fields["Private_Dirty"]) / 1024, 1)}


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(t) for t in text]
    return found


def run_gunicorn(territories: Path, database: Path, workers: int, mmap: bool, timeout_s: float = 600) -> dict[str, Any]:
    """Start gunicorn with ``workers`` warmed workers; measure each; stop it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = _env(territories, database, WEB_CONCURRENCY=str(workers), GUNICORN_BIND=f"127.0.0.1:{port}",
               TERRITORY_MMAP="1" if mmap else "0", ENGINE_WARM_UP="1", GUNICORN_MAX_REQUESTS="0")
    log_path = database.parent / f"gunicorn-{workers}-{int(mmap)}.log"
    began = time.monotonic()
    with log_path.open("wb") as log:
        master = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
                                   "app.wsgi:application"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        ready: dict[int, float] = {}
        while len(ready) < workers:
            if master.poll() is not None or time.monotonic() - began > timeout_s:
                raise RuntimeError("gunicorn did not start:\n" + log_path.read_text()[-2000:])
            for pid, seconds in re.findall(r"worker (\d+) ready in ([\d.]+) s", log_path.read_text()):
                ready[int(pid)] = float(seconds)
            time.sleep(0.5)
        all_ready_s = time.monotonic() - began
        per_worker = [{"pid": pid, "ready_s": ready[pid], **_smaps(pid)} for pid in _children(master.pid) if pid in ready]
        return {"workers": workers, "mmap": mmap, "all_ready_s": round(all_ready_s, 2),
                "master": _smaps(master.pid), "per_worker": per_worker,
                "total_uss_mb": round(sum(w["uss_mb"] for w in per_worker), 1),
                "total_pss_mb": round(sum(w["pss_mb"] for w in per_worker), 1)}
    finally:
        master.send_signal(signal.SIGTERM)
        try:
            master.wait(60)
        except subprocess.TimeoutExpired:
            master.kill()
            master.wait(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--osm", type=Path, action="append", help="OSM extract (repeatable)")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4])
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"machine": {"cores": os.cpu_count()}, "territories": []}
    for osm in args.osm or DEFAULT_OSM:
        if not osm.exists():
            print(f"skipped {osm}: absent", file=sys.stderr)
            continue
        territories, database, build_s = build_territory(osm)
        manifest = json.loads((territories / "current" / "manifest.json").read_text())
        entry: dict[str, Any] = {"osm": osm.name, "build_s": round(build_s, 1),
                                 "nodes": manifest.get("graph", {}).get("nodes", manifest.get("nodes")),
                                 "graph_and_ch_mb": round(sum((territories / "current" / f).stat().st_size
                                                              for f in ("graph.npz", "ch.npz")) / 2**20, 1),
                                 "runs": []}
        for mmap in (True, False):
            for workers in args.workers:
                run = run_gunicorn(territories, database, workers, mmap)
                entry["runs"].append(run)
                print(f"{osm.name}: {workers} worker(s), mmap={mmap}: ready in {run['all_ready_s']} s, "
                      f"per worker RSS {[w['rss_mb'] for w in run['per_worker']]} MB, "
                      f"USS {[w['uss_mb'] for w in run['per_worker']]} MB, total PSS {run['total_pss_mb']} MB",
                      flush=True)
        results["territories"].append(entry)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
