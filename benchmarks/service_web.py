"""Where aidants wait: the need page's candidate search, and the background day plan, on PostGIS.

``python -m benchmarks.service_web [--rounds 3] [--plan-limit S] [--json PATH] [--keep]``

On a territory built from ``../shared/data/osm/addison-county-vt-roads-2020.osm.bz2`` (cached
under ``benchmarks/.cache/`` by ``benchmarks.memory.build_territory``) and a fresh PostGIS
database ``lot_bench_web`` (schema as in ``benchmarks.load_seed``: ``flask db upgrade``, or the
models when the migrations lag behind), it seeds one structure covering every commune, its
coordinator, 200 drivers (150 volunteers with weekly availability grids, 50 commuters with a
regular trip to a town in the morning and one back in the evening) and 100 open needs of one
weekday: homes and destinations on the road graph, appointments from 8:00 to 17:00, returns,
companions and wheelchairs in realistic shares. Then, every series repeated ``--rounds`` times
over the same needs, in this one process:

* ``page``: ``GET /besoins/<id>`` through Flask's test client, signed in as the coordinator:
  the whole request (access check, audit row, the candidate search among the drivers she may
  see, the transit alternative, the template);
* ``engine``: ``app.services.matching.candidates_for_need`` alone for the same needs, each in
  its own application context (a fresh database session, as in a request), to separate the
  engine from the page;
* ``index_build``: what a per-day offer index saves on a view, measured apart: the day's
  offers read (``offers_for_day``) and turned into the engine's offer set (``build_offer_set``);
* ``plan``: ``app.services.matching.plan_day`` for the day, with the arguments the queue's
  task gives it (the coordinator's structures and visible drivers, the configured time limit).

numba is warmed first (``matching.warm_up``) and the first call of each series is reported apart
(``first_call_ms``, with whatever per-process cache the search keeps filled by it) and left out
of the percentiles. Whatever the search caches, this measures it: the first call is the cold one.
Page and engine figures are also split by outcome (needs with candidates, needs without, whose
search explains why nobody can drive them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from benchmarks.load_seed import (
    FIRST_NAMES,
    LAST_NAMES,
    _graph_nodes,
    build_schema,
    create_database,
    drop_database,
    store_territory_records,
)
from benchmarks.memory import SHARED, build_territory

ROOT = Path(__file__).resolve().parent.parent
OSM = SHARED / "osm" / "addison-county-vt-roads-2020.osm.bz2"
DATABASE = "lot_bench_web"
TZ = ZoneInfo("Europe/Paris")
COORDINATOR = ("coordination@bench.test", "la vallee du champlain en octobre")
N_VOLUNTEERS, N_COMMUTERS, N_NEEDS = 150, 50, 100
TARGET_PAGE_P95_MS, TARGET_PLAN_S = 150.0, 10.0


# --- the day ------------------------------------------------------------------------------------

def bench_day(today: date) -> date:
    """The first Tuesday at least two days ahead: a working day with commuters on the road."""
    day = today + timedelta(days=2)
    return day + timedelta(days=(1 - day.weekday()) % 7)


def _local(day: date, minutes: int) -> datetime:
    return datetime.combine(day, datetime.min.time(), TZ) + timedelta(minutes=minutes)


def seed_day(territory_dir: Path, day: date, seed: int = 46) -> dict[str, Any]:
    """Seed the structure, coordinator, drivers and the day's open needs (in an app context)."""
    from app.extensions import db
    from app.models import (
        SLOTS,
        Beneficiary,
        Commune,
        Driver,
        DriverAvailability,
        DriverOffer,
        NeedEvent,
        RideNeed,
        Structure,
        point,
        utcnow,
    )
    from app.services.accounts import create_user

    rng = random.Random(seed)
    now = utcnow()
    communes = list(db.session.execute(db.select(Commune).order_by(Commune.insee)).scalars())
    structure = Structure(name="France Services du comté", kind="france_services", communes=communes)
    db.session.add(structure)
    db.session.flush()
    coordinator = create_user(COORDINATOR[0], "Coordinatrice du banc", COORDINATOR[1], "coordinator", structure)
    db.session.flush()

    node_lat, node_lon = _graph_nodes(territory_dir)
    picks = np.random.default_rng(seed).choice(len(node_lat), size=N_NEEDS + N_VOLUNTEERS + N_COMMUTERS,
                                               replace=False)
    homes = [(float(node_lat[n]), float(node_lon[n])) for n in picks]

    def nearest_commune(lat: float, lon: float) -> Any:
        return min(communes, key=lambda c: (c.lat_lon[0] - lat) ** 2 + ((c.lat_lon[1] - lon) * 0.72) ** 2)

    def nodes_near(lat: float, lon: float, km: float) -> np.ndarray:
        d2 = ((node_lat - lat) * 111.2) ** 2 + ((node_lon - lon) * 111.2 * 0.72) ** 2
        return np.flatnonzero(d2 < km * km)

    # Each commune's "town centre": the graph nodes within 1.5 km of its centre (the doctor,
    # the job centre, the shops); destinations are drawn there.
    centres = {c.insee: nodes_near(*c.lat_lon, 1.5) for c in communes}
    centres = {k: v for k, v in centres.items() if len(v)}
    by_size = sorted(centres, key=lambda k: -len(centres[k]))
    towns = by_size[:4]  # the densest road networks: where the hospital and the jobs are

    def destination_near(lat: float, lon: float) -> tuple[float, float]:
        near = sorted(centres, key=lambda k: _km2(communes_by[k].lat_lon, (lat, lon)))[:5]
        insee = rng.choice(near + towns[:2])
        node = int(rng.choice(list(centres[insee])))
        return float(node_lat[node]), float(node_lon[node])

    communes_by = {c.insee: c for c in communes}
    slots = [(d, s) for d in range(7) for s in SLOTS]
    drivers = []
    for i in range(N_VOLUNTEERS + N_COMMUTERS):
        lat, lon = homes[N_NEEDS + i]
        volunteer = i < N_VOLUNTEERS
        driver = Driver(
            structure_id=structure.id, first_name=rng.choice(FIRST_NAMES), last_name=rng.choice(LAST_NAMES),
            phone_e164=f"+3363{i:07d}", home_commune_insee=nearest_commune(lat, lon).insee,
            home_geom=point(lat, lon), vehicle_seats=rng.choice((2, 3, 3, 4)),
            wheelchair_accessible=rng.random() < 0.08, can_accompany=volunteer or rng.random() < 0.3,
            max_distance_km=rng.choice((20, 30, 30, 40)), max_rides_per_day=rng.choice((1, 2, 2, 3)),
            licence_valid_until=day + timedelta(days=400), insurance_valid_until=day + timedelta(days=400),
            documents_checked_at=now, documents_checked_by_id=coordinator.id)
        if volunteer:
            driver.availability = [DriverAvailability(weekday=d, slot=s)
                                   for d, s in rng.sample(slots, rng.randint(4, 12))]
        drivers.append(driver)
    db.session.add_all(drivers)
    db.session.flush()
    for driver in drivers[N_VOLUNTEERS:]:
        home = driver.home_geom
        work = destination_near(*homes[N_NEEDS + drivers.index(driver)])
        morning = rng.randint(7 * 4, 9 * 4) * 15
        evening = rng.randint(16 * 4 + 2, 18 * 4 + 2) * 15
        for origin, destination, at in ((home, point(*work), morning), (point(*work), home, evening)):
            db.session.add(DriverOffer(
                driver_id=driver.id, kind="regular", origin_label="Domicile", origin_geom=origin,
                destination_label="Travail", destination_geom=destination, weekdays="0,1,2,3,4",
                time_of_day=f"{at // 60:02d}:{at % 60:02d}", flexibility_min=rng.choice((10, 15, 20)),
                seats=rng.choice((1, 2, 3)), max_detour_min=rng.choice((10, 15, 20)),
                valid_from=now - timedelta(days=30), status="active"))
    needs = []
    for i in range(N_NEEDS):
        lat, lon = homes[i]
        commune = nearest_commune(lat, lon)
        person = Beneficiary(
            structure_id=structure.id, first_name=rng.choice(FIRST_NAMES), last_name=rng.choice(LAST_NAMES),
            phone_e164=f"+3364{i:07d}", home_commune_insee=commune.insee, home_geom=point(lat, lon),
            home_address=f"{rng.randint(1, 40)} route de {commune.name}", eligibility_basis="rural_commune",
            consent_sms_at=now, needs_accompaniment=rng.random() < 0.2, needs_wheelchair=rng.random() < 0.04,
            created_by_id=coordinator.id)
        db.session.add(person)
        db.session.flush()
        r = rng.random()
        purpose = "medical" if r < 0.5 else "employment" if r < 0.75 else rng.choice(("administrative", "shopping"))
        appointment = rng.randint(8 * 4, 17 * 4) * 15
        drop_lat, drop_lon = destination_near(lat, lon)
        ret = rng.random()
        need = RideNeed(
            beneficiary_id=person.id, structure_id=structure.id, created_by_id=coordinator.id,
            pickup_label=f"Domicile ({person.home_address})", pickup_geom=person.home_geom,
            dropoff_label="Rendez-vous", dropoff_geom=point(drop_lat, drop_lon), time_mode="arrive_by",
            requested_at=_local(day, appointment), purpose=purpose,
            return_mode="after_wait" if ret < 0.4 else "at_time" if ret < 0.6 else "none",
            return_wait_min=rng.choice((30, 45, 60, 90)) if ret < 0.4 else None,
            return_at=_local(day, min(appointment + rng.randint(8, 16) * 15, 19 * 60)) if 0.4 <= ret < 0.6 else None,
            needs_accompaniment=person.needs_accompaniment, needs_wheelchair=person.needs_wheelchair,
            status="new", created_at=now - timedelta(days=rng.randint(1, 6)))
        db.session.add(need)
        needs.append(need)
    db.session.flush()
    for need in needs:
        db.session.add(NeedEvent(need_id=need.id, at=need.created_at, user_id=coordinator.id,
                                 actor=coordinator.name, to_status="new", note="Besoin enregistré"))
    db.session.commit()
    return {"need_ids": [n.id for n in needs], "coordinator_id": coordinator.id, "communes": len(communes),
            "drivers": len(drivers), "volunteers": N_VOLUNTEERS, "commuters": N_COMMUTERS,
            "regular_trips": 2 * N_COMMUTERS, "needs": len(needs)}


def _km2(a: tuple[float, float], b: tuple[float, float]) -> float:
    return ((a[0] - b[0]) * 111.2) ** 2 + ((a[1] - b[1]) * 111.2 * 0.72) ** 2


# --- the measures -------------------------------------------------------------------------------

def percentiles(ms: list[float]) -> dict[str, float]:
    """p50, p95, max and mean of a series of milliseconds (nearest-rank p95)."""
    ordered = sorted(ms)
    rank95 = max(0, int(np.ceil(0.95 * len(ordered))) - 1)
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[rank95], 1), "max_ms": round(ordered[-1], 1),
            "mean_ms": round(statistics.fmean(ordered), 1)}


class SqlCounter:
    """Statements and their time on the database, while in a ``with`` block (SQLAlchemy events)."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.statements, self.seconds, self._began = engine, 0, 0.0, 0.0

    def _before(self, *_args: Any) -> None:
        self._began = time.perf_counter()

    def _after(self, *_args: Any) -> None:
        self.statements += 1
        self.seconds += time.perf_counter() - self._began

    def __enter__(self) -> SqlCounter:
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *_exc: object) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)


def measure_page(app: Any, need_ids: list[int], rounds: int) -> dict[str, Any]:
    """``GET /besoins/<id>`` as the signed-in coordinator, ``rounds`` times over the needs."""
    from app.extensions import db

    with app.app_context():
        engine = db.engine
    client = app.test_client()
    response = client.post("/connexion", data={"email": COORDINATOR[0], "password": COORDINATOR[1]})
    if response.status_code != 302:
        raise RuntimeError(f"sign-in refused ({response.status_code})")

    def view(need_id: int) -> tuple[float, int]:
        began = time.perf_counter()
        page = client.get(f"/besoins/{need_id}")
        elapsed = (time.perf_counter() - began) * 1000
        if page.status_code != 200:
            raise RuntimeError(f"/besoins/{need_id} answered {page.status_code}")
        return elapsed, page.get_data(as_text=True).count('name="driver_id"')

    first_ms, _ = view(need_ids[0])
    samples, per_round, offered = [], [], []
    with SqlCounter(engine) as sql:
        for _round in range(rounds):
            this_round = []
            for need_id in need_ids:
                ms, candidates = view(need_id)
                this_round.append(ms)
                offered.append(candidates)
            samples += this_round
            per_round.append(percentiles(this_round))
    return {"first_call_ms": round(first_ms, 1), **percentiles(samples), "rounds": per_round,
            "sql_statements_per_view": round(sql.statements / len(samples), 1),
            "sql_ms_per_view": round(sql.seconds * 1000 / len(samples), 1),
            "with_candidates": percentiles([m for m, c in zip(samples, offered, strict=True) if c > 0] or [0.0]),
            "without_candidates": percentiles([m for m, c in zip(samples, offered, strict=True) if c == 0] or [0.0]),
            "needs_with_a_candidate_shown": sum(c > 0 for c in offered[-len(need_ids):]),
            "mean_candidates_shown": round(statistics.fmean(offered), 2)}


def measure_engine(app: Any, need_ids: list[int], coordinator_id: int, rounds: int) -> dict[str, Any]:
    """``candidates_for_need`` alone, as the page calls it, each call in its own app context."""
    from app.extensions import db
    from app.models import RideNeed, User
    from app.services import access
    from app.services.matching import candidates_for_need

    def search(need_id: int) -> tuple[float, int]:
        with app.app_context():
            need = db.session.get(RideNeed, need_id)
            visible = access.driver_filter(db.session.get(User, coordinator_id))
            began = time.perf_counter()
            outcome = candidates_for_need(need, visible_drivers=visible)
            return (time.perf_counter() - began) * 1000, len(outcome.candidates)

    first_ms, _ = search(need_ids[0])
    samples, per_round, found = [], [], []
    for _round in range(rounds):
        this_round = []
        for need_id in need_ids:
            ms, n = search(need_id)
            this_round.append(ms)
            found.append(n)
        samples += this_round
        per_round.append(percentiles(this_round))
    return {"first_call_ms": round(first_ms, 1), **percentiles(samples), "rounds": per_round,
            "with_candidates": percentiles([m for m, n in zip(samples, found, strict=True) if n > 0] or [0.0]),
            "without_candidates": percentiles([m for m, n in zip(samples, found, strict=True) if n == 0] or [0.0]),
            "needs_with_a_candidate": sum(n > 0 for n in found[-len(need_ids):]),
            "mean_candidates": round(statistics.fmean(found), 2)}


def measure_index_build(app: Any, day: date, coordinator_id: int, rounds: int) -> dict[str, Any]:
    """What a per-day offer index saves: the day's offers read from the database and turned into
    the engine's offer set (``offers_for_day`` + ``matching.rides.build_offer_set``)."""
    from app.extensions import db
    from app.models import User
    from app.services import access
    from app.services.matching import get_engine, offers_for_day
    from matching.rides import build_offer_set

    reads, builds = [], []
    for _ in range(rounds * 10 + 1):
        with app.app_context():
            visible = access.driver_filter(db.session.get(User, coordinator_id))
            began = time.perf_counter()
            trips, volunteers, _index = offers_for_day(day, visible_drivers=visible)
            read = time.perf_counter()
            build_offer_set(get_engine(), trips, volunteers)
            reads.append((read - began) * 1000)
            builds.append((time.perf_counter() - read) * 1000)
    return {"offers_for_day": percentiles(reads[1:]), "build_offer_set": percentiles(builds[1:]),
            "trips": len(trips), "volunteers": len(volunteers)}


def measure_plan(app: Any, day: date, coordinator_id: int, rounds: int, limit_s: float | None) -> dict[str, Any]:
    """``plan_day`` as the queue's task runs it, ``rounds`` times (the first one included: no
    cache is shared between a plan and the next, and the solver is warm after the searches)."""
    from app.extensions import db
    from app.models import User
    from app.services import access
    from app.services.matching import plan_day

    runs = []
    for _round in range(rounds):
        with app.app_context():
            limit = float(limit_s if limit_s is not None else app.config.get("PLAN_TIME_LIMIT_S", 5.0))
            user = db.session.get(User, coordinator_id)
            began = time.perf_counter()
            plan = plan_day(day, access.dashboard_structure_ids(user), time_limit_s=limit,
                            visible_drivers=access.driver_filter(user))
            wall = time.perf_counter() - began
            runs.append({"wall_s": round(wall, 2), "solver_s": round(float(plan.seconds), 2),
                         "time_limit_s": limit, "riders_served": len(plan.rides),
                         "unserved": len(plan.unserved), "priority_served": plan.priority_served,
                         "routes": len(plan.routes), "riders_per_drive": round(plan.riders_per_drive, 2),
                         "routes_with_2_plus_riders": sum(r.riders >= 2 for r in plan.routes),
                         "proven_optimal": bool(plan.proven_optimal),
                         "distance_km": round(plan.distance_m / 1000, 1)})
    walls = [r["wall_s"] for r in runs]
    return {"time_limit_s": runs[0]["time_limit_s"], "wall_s_median": round(statistics.median(walls), 2),
            "wall_s_max": max(walls), "runs": runs}


# --- the run ------------------------------------------------------------------------------------

def _machine() -> dict[str, Any]:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "app", "matching"], cwd=ROOT,
                           capture_output=True, text=True)
    return {"cores": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "commit": commit.stdout.strip(), "uncommitted_app_or_engine_changes": bool(dirty.stdout.strip())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--osm", type=Path, default=OSM)
    parser.add_argument("--rounds", type=int, default=3, help="repetitions of every series")
    parser.add_argument("--plan-limit", type=float, help="plan_day's time limit (default: PLAN_TIME_LIMIT_S or 5)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--keep", action="store_true", help=f"keep the database {DATABASE}")
    args = parser.parse_args(argv)
    if not args.osm.exists():
        print(f"{args.osm} is absent: nothing measured", file=sys.stderr)
        return 1
    results: dict[str, Any] = {"benchmark": "service_web", "date": date.today().isoformat(), "machine": _machine()}
    territories, _sqlite, build_s = build_territory(args.osm)
    manifest = json.loads((territories / "current" / "manifest.json").read_text())
    results["territory"] = {"osm": args.osm.name, "build_s": round(build_s, 1),
                            "nodes": manifest.get("graph", {}).get("nodes", manifest.get("nodes"))}
    url = create_database(DATABASE)
    instance = Path(tempfile.mkdtemp(prefix="bench-web-"))
    secret = "bench-web-" + "k" * 32
    env = {**os.environ, "DATABASE_URL": url, "TERRITORY_DIR": str(territories), "SECRET_KEY": secret,
           "SPATIALITE_LIBRARY_PATH": "mod_spatialite"}

    def make_app() -> Any:
        from app import create_app

        # The sign-in limiter and CSRF are the forms' business, not the search's: off, as in tests.
        return create_app({"SQLALCHEMY_DATABASE_URI": url, "TERRITORY_DIR": str(territories),
                           "SECRET_KEY": secret, "ENGINE_WARM_UP": False, "INSTANCE_PATH": str(instance),
                           "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
                           "TASK_QUEUE_IMMEDIATE": True, "TASK_QUEUE_URL": f"sqlite:///{instance / 'tasks.db'}"})

    try:
        results["schema"] = build_schema(url, env, make_app)
        app = make_app()
        day = bench_day(datetime.now(TZ).date())
        with app.app_context():
            store_territory_records(territories)
            seeded = seed_day(territories, day)
        results["data"] = {"day": day.isoformat(), **{k: v for k, v in seeded.items() if k != "need_ids"}}
        from matching import warm_up as warm_up_matching

        with app.app_context():
            from app.services.matching import get_engine

            began = time.perf_counter()
            results["warm_up"] = {"numba_compile_s": round(warm_up_matching(), 2)}
            get_engine()
            results["warm_up"]["engine_ready_s"] = round(time.perf_counter() - began, 2)
        need_ids = seeded["need_ids"]
        results["page"] = measure_page(app, need_ids, args.rounds)
        print(f"page: p50 {results['page']['p50_ms']} ms, p95 {results['page']['p95_ms']} ms", flush=True)
        results["engine"] = measure_engine(app, need_ids, seeded["coordinator_id"], args.rounds)
        print(f"engine: p50 {results['engine']['p50_ms']} ms, p95 {results['engine']['p95_ms']} ms", flush=True)
        results["index_build"] = measure_index_build(app, day, seeded["coordinator_id"], args.rounds)
        results["plan"] = measure_plan(app, day, seeded["coordinator_id"], args.rounds, args.plan_limit)
        print(f"plan: {[(r['wall_s'], r['riders_served']) for r in results['plan']['runs']]} "
              f"(limit {results['plan']['time_limit_s']} s)", flush=True)
        results["targets"] = {
            "page_p95_ms": TARGET_PAGE_P95_MS, "page_p95_met": results["page"]["p95_ms"] < TARGET_PAGE_P95_MS,
            "plan_s": TARGET_PLAN_S, "plan_met": results["plan"]["wall_s_max"] < TARGET_PLAN_S}
        results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()
    finally:
        if not args.keep:
            drop_database(DATABASE)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps(results["targets"]), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
