"""A seeded month for the load benchmark (``benchmarks/load.py``), on a fresh PostGIS database.

``python -m benchmarks.load_seed --database-url URL --territory-dir DIR --plan PATH``

Builds the schema (``flask db upgrade``; when the migrations lag behind the models, the schema
comes from ``db.create_all()`` and is stamped at the Alembic head so that ``make prod``'s own
upgrade is a no-op), stores the territory's communes and places (built from an OSM extract by
``benchmarks.memory.build_territory``), then seeds with the application's models:

- 4 structures sharing the communes, 10 aidant accounts each (passwords set by the seeder, no
  forced change at first sign-in);
- 500 beneficiaries and 200 volunteers whose homes are nodes of the road graph, volunteers with
  weekly availability grids, valid documents and, for half of them, consent to publication and
  one-off trips (what ``driver_journeys`` serves);
- 3,000 needs over the month (20 days back, 10 ahead) in every status, with their history and
  proposals; 300 of them ``proposed`` with a pending proposal whose code the benchmark's drivers
  answer OUI to, each for a different rider.

It writes a JSON plan (accounts, ids, SMS targets, query points) that the load users read.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PARIS = ZoneInfo("Europe/Paris")
AIDANT_PASSWORD = "le causse est vert en mai"
N_STRUCTURES, AIDANTS_PER_STRUCTURE = 4, 10
N_BENEFICIARIES, N_DRIVERS, N_NEEDS, N_PENDING = 500, 200, 3000, 300
NEARBY = 6  # a need goes to one of the communes nearest to home
FIRST_NAMES = ("Jeanne", "Marie", "Louise", "Paulette", "Odette", "Simone", "Yvette", "Germaine", "Lucienne",
               "Pierre", "Jean", "André", "Marcel", "René", "Roger", "Henri", "Lucien", "Raymond", "Émile",
               "Colette", "Fernand", "Gisèle", "Maurice", "Josette", "Albert", "Hélène", "Gérard", "Nadia")
LAST_NAMES = ("Delmas", "Lafon", "Bessières", "Cayrou", "Vayssière", "Lacoste", "Couderc", "Marty",
              "Fabre", "Lagarrigue", "Bouscarel", "Salgues", "Pélaprat", "Cassagnes", "Calmels", "Rouquié",
              "Vidal", "Laborie", "Souladié", "Gineste", "Fournié", "Cambou", "Pouzergues", "Térrieux",
              "Lavergne", "Bousquet", "Gaillard", "Mourgues", "Clédel", "Austruy", "Périé", "Lapeyre")


# --- the database ------------------------------------------------------------------------------

def admin_url() -> str:
    return os.environ.get("LOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def create_database(name: str, template: str | None = None) -> str:
    """A new database ``name`` (with PostGIS, or a copy of ``template``); its SQLAlchemy URL."""
    import psycopg

    with psycopg.connect(admin_url(), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    target = admin_url().rsplit("/", 1)[0] + f"/{name}"
    if template is None:
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return "postgresql+psycopg://" + target.split("://", 1)[1]


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url(), autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _flask(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flask", "--app", "app", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, check=False)


def missing_columns(app: Any) -> list[str]:
    """Tables or columns of the models that the database lacks."""
    from sqlalchemy import inspect

    from app.extensions import db

    with app.app_context():
        inspector = inspect(db.engine)
        missing = []
        for table in db.metadata.sorted_tables:
            if not inspector.has_table(table.name):
                missing.append(table.name)
                continue
            present = {c["name"] for c in inspector.get_columns(table.name)}
            missing += [f"{table.name}.{c.name}" for c in table.columns if c.name not in present]
        db.engine.dispose()
        return missing


def build_schema(url: str, env: dict[str, str], make_app: Any) -> str:
    """``flask db upgrade``; when it leaves the models' columns missing, ``create_all`` + stamp.

    Returns how the schema was built ("upgrade" or "create_all: …").
    """
    upgrade = _flask(["db", "upgrade"], env)
    if upgrade.returncode == 0 and not (lacking := missing_columns(make_app())):
        return "upgrade"
    why = (f"upgrade failed: {upgrade.stderr.strip().splitlines()[-1:]}" if upgrade.returncode
           else f"migrations lack {len(lacking)} column(s)/table(s), e.g. {lacking[:5]}")
    name = url.rsplit("/", 1)[1]
    create_database(name)
    from app.extensions import db

    app = make_app()
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    stamp = _flask(["db", "stamp", "head"], env)
    if stamp.returncode:
        raise RuntimeError(f"flask db stamp head failed:\n{stamp.stderr[-2000:]}")
    return f"create_all + stamp head ({why})"


def store_territory_records(territory_dir: Path) -> str:
    """Store the communes and places of the active territory folder in the database."""
    from app.services.territory import (
        StagedTerritory,
        current_territory_path,
        read_manifest,
        read_territory_records,
        store_territory,
    )

    path = current_territory_path(territory_dir)
    manifest = read_manifest(path)
    communes, places, aliases = read_territory_records(path)
    feeds = [path / "gtfs" / entry["file"] for entry in manifest.get("feeds", [])]
    store_territory(StagedTerritory(path=path, manifest=manifest, communes=communes, places=places,
                                    feeds=feeds, aliases=aliases))
    return str(manifest["name"])


# --- the month ---------------------------------------------------------------------------------

def _graph_nodes(territory_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    from app.services.territory import current_territory_path

    with np.load(current_territory_path(territory_dir) / "graph.npz") as graph:
        return np.asarray(graph["node_lat"], dtype=float), np.asarray(graph["node_lon"], dtype=float)


def _nearest(communes: list[Any], lat: float, lon: float) -> Any:
    return min(communes, key=lambda c: (c.lat_lon[0] - lat) ** 2 + ((c.lat_lon[1] - lon) * 0.72) ** 2)


def _at(day: date, hour: int, minute: int) -> datetime:
    return datetime.combine(day, time(hour, minute), PARIS).astimezone(UTC)


def seed_month(territory_dir: Path, seed: int = 12) -> dict[str, Any]:
    """Seed the month described in the module docstring (in an app context); return the plan."""
    from app.extensions import db
    from app.models import (
        SLOTS,
        Beneficiary,
        Commune,
        Driver,
        DriverAvailability,
        DriverOffer,
        NeedEvent,
        Proposal,
        RideNeed,
        SmsMessage,
        Structure,
        point,
        utcnow,
    )
    from app.services.accounts import create_user

    rng = random.Random(seed)
    now = utcnow()
    today = datetime.now(PARIS).date()
    communes = list(db.session.execute(db.select(Commune).order_by(Commune.insee)).scalars())
    if len(communes) < N_STRUCTURES:
        raise RuntimeError(f"the territory has {len(communes)} communes: {N_STRUCTURES} needed at least")
    node_lat, node_lon = _graph_nodes(territory_dir)
    nodes = np.random.default_rng(seed).choice(len(node_lat), size=N_BENEFICIARIES + N_DRIVERS, replace=False)
    homes = [(float(node_lat[n]), float(node_lon[n])) for n in nodes]

    # Structures and aidants: the communes dealt out in turn.
    structures = []
    for k in range(N_STRUCTURES):
        covered = [c for i, c in enumerate(communes) if i % N_STRUCTURES == k]
        structures.append(Structure(name=f"France Services n° {k + 1}", kind="france_services",
                                    phone=f"+3356500{k:04d}", communes=covered))
    db.session.add_all(structures)
    db.session.flush()
    structure_of = {c.insee: s for s in structures for c in s.communes}
    aidants: dict[int, list[Any]] = {s.id: [] for s in structures}
    accounts = []
    for s in structures:
        for j in range(AIDANTS_PER_STRUCTURE):
            email = f"aidant{s.id:02d}-{j + 1:02d}@charge.test"
            user = create_user(email, f"Aidant {j + 1} de la structure {s.id}", AIDANT_PASSWORD, "aidant", s)
            aidants[s.id].append(user)
            accounts.append({"email": email, "password": AIDANT_PASSWORD, "structure_id": s.id})
    db.session.flush()

    # People: homes on graph nodes, in the structure of their nearest commune.
    beneficiaries = []
    for i in range(N_BENEFICIARIES):
        lat, lon = homes[i]
        commune = _nearest(communes, lat, lon)
        structure = structure_of[commune.insee]
        beneficiaries.append(Beneficiary(
            structure_id=structure.id, first_name=rng.choice(FIRST_NAMES), last_name=rng.choice(LAST_NAMES),
            phone_e164=f"+3361{i:07d}", home_commune_insee=commune.insee, home_geom=point(lat, lon),
            home_address=f"{rng.randint(1, 40)} route de {commune.name}", eligibility_basis="rural_commune",
            consent_sms_at=now, consent_sharing_at=now if rng.random() < 0.3 else None,
            needs_accompaniment=rng.random() < 0.2, created_by_id=rng.choice(aidants[structure.id]).id))
    drivers = []
    for i in range(N_DRIVERS):
        lat, lon = homes[N_BENEFICIARIES + i]
        commune = _nearest(communes, lat, lon)
        driver = Driver(
            structure_id=structure_of[commune.insee].id, first_name=rng.choice(FIRST_NAMES),
            last_name=rng.choice(LAST_NAMES), phone_e164=f"+3362{i:07d}", home_commune_insee=commune.insee,
            home_geom=point(lat, lon), vehicle_seats=rng.choice((2, 3, 4)), max_distance_km=rng.choice((20, 30, 40)),
            max_rides_per_day=rng.choice((1, 2, 3)), licence_valid_until=today + timedelta(days=400),
            insurance_valid_until=today + timedelta(days=400), documents_checked_at=now,
            publish_consent_at=now if i % 2 == 0 else None)
        cells = rng.sample([(d, s) for d in range(7) for s in SLOTS], rng.randint(4, 12))
        driver.availability = [DriverAvailability(weekday=d, slot=s) for d, s in cells]
        drivers.append(driver)
    db.session.add_all(beneficiaries + drivers)
    db.session.flush()

    # One-off trips of the volunteers who consented to publication (served by driver_journeys).
    offers = []
    for driver in drivers[::2]:
        for _ in range(2):
            day = today + timedelta(days=rng.randint(-5, 10))
            start = _at(day, rng.randint(7, 17), rng.choice((0, 15, 30, 45)))
            dest = rng.choice(communes)
            offers.append(DriverOffer(
                driver_id=driver.id, kind="one_off", origin_label="Domicile", origin_geom=driver.home_geom,
                destination_label=dest.name, destination_geom=dest.geom, departure_earliest=start,
                departure_latest=start + timedelta(minutes=30), seats=2, status="active"))
    db.session.add_all(offers)
    db.session.flush()

    # Destinations: the communes nearest to home (a county-wide trip is often over the 100 km
    # limit of "transport d'utilité sociale", and aidants book the nearby doctor or town hall).
    def _km2(a: Any, b: Any) -> float:
        return (a.lat_lon[0] - b.lat_lon[0]) ** 2 + ((a.lat_lon[1] - b.lat_lon[1]) * 0.72) ** 2

    nearby = {c.insee: sorted((o for o in communes if o.insee != c.insee), key=lambda o: _km2(c, o))[:NEARBY]
              for c in communes}

    # 3,000 needs: 2,000 in the 20 past days, 1,000 in the 10 coming ones.
    future_plan = (["proposed"] * N_PENDING + ["confirmed"] * 250 + ["new"] * 250 + ["searching"] * 150
                   + ["cancelled"] * 50)
    past_plan = ["done"] * 1500 + ["cancelled"] * 250 + ["unserved"] * 250
    assert len(past_plan) + len(future_plan) == N_NEEDS
    rng.shuffle(future_plan)
    pending_riders = rng.sample(range(N_BENEFICIARIES), N_PENDING)
    codes = rng.sample(range(100, 1000), N_PENDING)
    drivers_by_structure = {s.id: [d for d in drivers if d.structure_id == s.id] or drivers for s in structures}
    needs: list[tuple[Any, str, Any]] = []
    pending_k = 0
    for k, status in enumerate(past_plan + future_plan):
        past = k < len(past_plan)
        if status == "proposed":
            person = beneficiaries[pending_riders[pending_k]]
        else:
            person = beneficiaries[rng.randrange(N_BENEFICIARIES)]
        day = today + timedelta(days=rng.randint(-20, -1) if past else rng.randint(1, 10))
        when = _at(day, rng.randint(8, 17), rng.choice((0, 15, 30, 45)))
        dest = rng.choice(nearby[person.home_commune_insee])
        author = rng.choice(aidants[person.structure_id])
        need = RideNeed(
            beneficiary_id=person.id, structure_id=person.structure_id, created_by_id=author.id,
            pickup_label=f"Domicile ({person.home_address})", pickup_geom=person.home_geom,
            dropoff_label=dest.name, dropoff_geom=dest.geom, time_mode="arrive_by", requested_at=when,
            purpose=rng.choice(("medical", "medical", "administrative", "shopping", "employment", "family")),
            status=status, created_at=min(when - timedelta(days=rng.randint(2, 9)), now - timedelta(hours=6)),
            unserved_reason="Aucun bénévole disponible" if status == "unserved" else None)
        db.session.add(need)
        needs.append((need, status, author))
        if status == "proposed":
            pending_k += 1
    db.session.flush()

    sms_targets = []
    pending_codes = iter(codes)
    proposals: list[tuple[Any, str, Any, Any, Any]] = []
    held: dict[int, list[tuple[datetime, datetime]]] = {}  # driver id -> times already given
    for need, status, author in needs:
        db.session.add(NeedEvent(need_id=need.id, at=need.created_at, user_id=author.id, actor=author.name,
                                 to_status="new", note="Besoin enregistré"))
        if status in ("new", "cancelled", "unserved"):
            if status != "new":
                db.session.add(NeedEvent(need_id=need.id, at=need.created_at + timedelta(hours=2),
                                         user_id=author.id, actor=author.name, from_status="new", to_status=status))
            continue
        if status == "searching":
            continue
        # A driver free then, as the platform's booking rules require (a pending or accepted
        # proposal holds the driver's time: from an hour before the pickup to an hour after).
        pickup = need.requested_at - timedelta(minutes=40)
        busy = (pickup - timedelta(hours=1), need.requested_at + timedelta(hours=1))
        pool = drivers_by_structure[need.structure_id]
        free = [d for d in rng.sample(pool, len(pool))
                if all(b[1] <= busy[0] or b[0] >= busy[1] for b in held.get(d.id, []))]
        driver = free[0] if free else rng.choice(pool)
        held.setdefault(driver.id, []).append(busy)
        pending = status == "proposed"
        proposal = Proposal(need_id=need.id, driver_id=driver.id, kind="volunteer",
                            code=str(next(pending_codes)) if pending else str(rng.randint(100, 999)),
                            status="pending" if pending else "accepted", pickup_at=pickup,
                            busy_from=busy[0], busy_until=busy[1],
                            created_by_id=author.id, created_at=need.created_at + timedelta(hours=1),
                            sent_at=need.created_at + timedelta(hours=1),
                            answered_at=None if pending else need.created_at + timedelta(hours=3),
                            answered_via=None if pending else "sms")
        db.session.add(proposal)
        proposals.append((need, status, author, driver, proposal))
    db.session.flush()
    phones = {b.id: b.phone_e164 for b in beneficiaries}
    for need, status, author, driver, proposal in proposals:
        db.session.add(NeedEvent(need_id=need.id, at=proposal.created_at, user_id=author.id, actor=author.name,
                                 from_status="searching", to_status="proposed",
                                 note=f"Trajet proposé (code {proposal.code})", data={"proposal": proposal.id}))
        db.session.add(SmsMessage(direction="out", phone_e164=driver.phone_e164, kind="proposal", status="sent",
                                  body=f"Trajet {proposal.code} : répondez OUI {proposal.code} ou NON {proposal.code}",
                                  provider_sid="SMseed" + secrets.token_hex(13), need_id=need.id,
                                  proposal_id=proposal.id, driver_id=driver.id, created_at=proposal.created_at,
                                  sent_at=proposal.created_at, attempts=1))
        if status == "proposed":
            sms_targets.append({"driver_phone": driver.phone_e164, "code": proposal.code,
                                "rider_phone": phones[need.beneficiary_id], "need_id": need.id,
                                "proposal_id": proposal.id})
        else:
            db.session.add(NeedEvent(need_id=need.id, at=proposal.answered_at, actor=f"{driver.first_name} (SMS)",
                                     from_status="proposed", to_status="confirmed", note="Accepté par SMS"))
            if status == "done":
                db.session.add(NeedEvent(need_id=need.id, at=need.requested_at + timedelta(hours=3),
                                         actor=author.name, from_status="confirmed", to_status="done"))
    db.session.commit()

    by_structure: dict[str, Any] = {}
    open_statuses = ("new", "searching", "proposed")
    for s in structures:
        mine = [b for b in beneficiaries if b.structure_id == s.id]
        by_structure[str(s.id)] = {
            "beneficiaries": [b.id for b in mine],
            "names": sorted({b.last_name for b in mine}),
            "open_needs": [n.id for n, st, _ in needs if n.structure_id == s.id and st in open_statuses],
            "other_needs": [n.id for n, st, _ in needs if n.structure_id == s.id and st not in open_statuses],
            "communes": [c.insee for c in s.communes],
        }
    return {
        "seeded_at": now.isoformat(), "aidants": accounts, "structures": by_structure,
        "sms_targets": sms_targets,
        "communes": [{"insee": c.insee, "lat": c.lat_lon[0], "lon": c.lat_lon[1]} for c in communes],
        "nearby": {str(b.id): [c.insee for c in nearby[b.home_commune_insee]] for b in beneficiaries},
        "homes": [list(h) for h in homes[:N_BENEFICIARIES:5]],
        "offer_departures": sorted(int(o.departure_earliest.timestamp()) for o in offers),
        "counts": {"structures": len(structures), "aidants": len(accounts), "beneficiaries": len(beneficiaries),
                   "drivers": len(drivers), "offers": len(offers), "needs": len(needs),
                   "pending_proposals": len(sms_targets)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="postgresql+psycopg://… of a fresh PostGIS database")
    parser.add_argument("--territory-dir", type=Path, required=True, help="folder holding the territory's 'current'")
    parser.add_argument("--plan", type=Path, required=True, help="where to write the JSON plan")
    args = parser.parse_args(argv)
    env = {**os.environ, "DATABASE_URL": args.database_url, "TERRITORY_DIR": str(args.territory_dir),
           "SECRET_KEY": "load-seed-" + "k" * 32}

    def make_app() -> Any:
        from app import create_app

        return create_app({"SQLALCHEMY_DATABASE_URI": args.database_url, "TERRITORY_DIR": str(args.territory_dir),
                           "SECRET_KEY": env["SECRET_KEY"], "ENGINE_WARM_UP": False,
                           "INSTANCE_PATH": str(args.plan.parent / "seed-instance")})

    schema = build_schema(args.database_url, env, make_app)
    app = make_app()
    with app.app_context():
        territory = store_territory_records(args.territory_dir)
        plan = seed_month(args.territory_dir)
        from app.extensions import db

        db.engine.dispose()
    plan.update({"schema": schema, "territory": territory})
    args.plan.parent.mkdir(parents=True, exist_ok=True)
    args.plan.write_text(json.dumps(plan, indent=1))
    print(f"seeded ({schema}): {plan['counts']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
