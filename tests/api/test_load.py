"""A bounded load test on loopback: a real server thread, concurrent clients, no errors allowed.

Latencies (p50/p95 per route) go to ``test-artifacts/api-load-<backend>.json``; the test asserts
only that every request was answered without error, never a timing.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from werkzeug.serving import make_server

from app.extensions import db
from tests.api import seed
from tests.api.seed import CASTELNAU, DAY, MONTBRUN, VALBOURG_GARE, VALBOURG_HOSPITAL, local

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 8
REQUESTS_PER_CLIENT = 24
TIMEOUT_S = 30


def _urls() -> list[str]:
    when = local(DAY, "07:30")
    out = []
    for k in range(6):
        t = when.replace(hour=6 + 2 * k).isoformat()
        out.append(
            f"/api/v1/journeys?from={CASTELNAU[0]},{CASTELNAU[1]}&to={VALBOURG_GARE[0]},{VALBOURG_GARE[1]}"
            f"&datetime={t.replace('+', '%2B')}"
        )
        out.append(
            f"/api/v1/journeys?from={MONTBRUN[0]},{MONTBRUN[1]}&to={VALBOURG_HOSPITAL[0]},"
            f"{VALBOURG_HOSPITAL[1]}&datetime={t.replace('+', '%2B')}&modes=solidarity,combined"
        )
    out.append(
        f"/api/covoiturage/v1/driver_journeys?departureLat={MONTBRUN[0]}&departureLng={MONTBRUN[1]}"
        f"&arrivalLat={VALBOURG_HOSPITAL[0]}&arrivalLng={VALBOURG_HOSPITAL[1]}"
        f"&departureDate={int(local(DAY, '08:05').timestamp())}"
    )
    out.append(
        f"/api/covoiturage/v1/driver_regular_trips?departureLat={MONTBRUN[0]}&departureLng={MONTBRUN[1]}"
        f"&arrivalLat={VALBOURG_HOSPITAL[0]}&arrivalLng={VALBOURG_HOSPITAL[1]}&departureTimeOfDay=07:50:00"
    )
    return out


def test_concurrent_clients_are_all_answered(app):
    d = seed.driver()
    seed.one_off(d, local(DAY, "08:00"))
    seed.regular(d, "0,1,2,3,4", "07:45")
    db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    urls = _urls()
    errors: list[str] = []
    timings: dict[str, list[float]] = {}
    lock = threading.Lock()

    def client(k: int) -> int:
        done = 0
        for i in range(REQUESTS_PER_CLIENT):
            url = urls[(k * 7 + i) % len(urls)]
            start = time.perf_counter()
            try:
                with urllib.request.urlopen(base + url, timeout=TIMEOUT_S) as r:  # noqa: S310 - loopback
                    r.read()
                    status = r.status
            except (urllib.error.URLError, OSError) as exc:
                with lock:
                    errors.append(f"{url}: {exc}")
                continue
            elapsed = time.perf_counter() - start
            with lock:
                if status != 200:
                    errors.append(f"{url}: HTTP {status}")
                timings.setdefault(url.split("?")[0], []).append(elapsed)
            done += 1
        return done

    try:
        client(0)  # warm-up: timetables and engine loaded once, outside the measure
        timings.clear()
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            answered = sum(pool.map(client, range(CLIENTS)))
        wall = time.perf_counter() - started
    finally:
        server.shutdown()
        thread.join(timeout=10)
    assert errors == []
    assert answered == CLIENTS * REQUESTS_PER_CLIENT

    def pct(values: list[float], q: float) -> float:
        values = sorted(values)
        return round(1000 * values[min(len(values) - 1, int(q * len(values)))], 2)

    everything = [t for ts in timings.values() for t in ts]
    report = {
        "backend": app.config["DATABASE_BACKEND"],
        "clients": CLIENTS,
        "requests": answered,
        "wall_s": round(wall, 2),
        "throughput_rps": round(answered / wall, 1),
        "all": {
            "p50_ms": pct(everything, 0.5),
            "p95_ms": pct(everything, 0.95),
            "mean_ms": round(1000 * statistics.fmean(everything), 2),
        },
        "routes": {
            route: {"n": len(ts), "p50_ms": pct(ts, 0.5), "p95_ms": pct(ts, 0.95)}
            for route, ts in sorted(timings.items())
        },
    }
    out = ROOT / "test-artifacts" / f"api-load-{report['backend']}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
