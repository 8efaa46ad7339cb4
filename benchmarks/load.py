"""Load benchmark of the production profile (``make prod``) on PostGIS + Redis, loopback only.

``python -m benchmarks.load --json PATH [--duration S] [--workers 1 2] [--reseed]``
``python -m benchmarks.load --summarise PATH`` (the Markdown tables of a result, as in RESULTS-load.md)

The territory is built once from the Addison County (Vermont) OSM extract and cached under
``benchmarks/.cache/`` (``benchmarks.memory.build_territory``). A PostGIS database is seeded
with a month of data (``benchmarks.load_seed``), then copied (``CREATE DATABASE … TEMPLATE``)
for each configuration, so that every configuration starts from the same state. For each
number of web workers, ``python -m app.prod`` is started as a subprocess (gunicorn with
WEB_CONCURRENCY workers, the huey consumer on Redis, SMS through a fake Twilio served by this
process) and locust, used as a library (gevent, headless, in this process), offers:

- 40 aidants signing in (CSRF token from the form), then searching people (``/personnes?q=``),
  opening need pages (matching candidates computed for open needs) and posting needs;
- open-data clients (each with its own address, as seen behind nginx) on ``/api/v1/journeys``
  and the standard covoiturage ``driver_journeys``;
- bursts of 100 signed inbound SMS in 10 s on ``/sms/inbound`` (a burst every 30 s): drivers
  answering ``OUI <code>`` to the seeded pending proposals, each answer making the queue worker
  send a confirmation to the rider through the fake Twilio.

The seeded database (``lot_load_seed``) and its plan (``benchmarks/.cache/load/``) are kept for the
day and reused by the next run (``--reseed`` seeds again). Importing this module patches the standard
library for gevent (locust): run it as a program, never import it from the test suite.

The run is bounded: ``--duration`` seconds of load per configuration (60 by default), then at
most 90 s waiting for the SMS to drain. Reported per endpoint: p50 / p95 / p99 latency,
throughput, error rate; the SMS end-to-end delay (webhook POST to the confirmation's creation at
the fake Twilio: p50 / p95 / max); and the SMS lost or sent twice (messages at the fake per
phone against the outbox rows, and one confirmation per answered proposal).
"""

from __future__ import annotations

# locust patches the standard library for gevent: import it before anything else.
from locust import HttpUser, between, task  # isort: skip
from locust.env import Environment  # isort: skip

import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import gevent
import numpy as np
import requests

from benchmarks.load_seed import create_database, drop_database
from benchmarks.memory import SHARED, build_territory

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache" / "load"
DEFAULT_OSM = SHARED / "osm" / "addison-county-vt-roads-2020.osm.bz2"
REDIS = os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379")
QUEUE_DB, LIMITS_DB = 12, 13
BURST_SIZE, BURST_SECONDS, BURST_EVERY_S = 100, 10.0, 30.0
# The "quiet phase" leaves out requests overlapping the first START_WAVE_S (40 sign-ins) and each
# burst plus BURST_TAIL_S (its backlog draining).
START_WAVE_S, BURST_TAIL_S = 15.0, 5.0
API_USERS = 10
AIDANT_THINK_S = (5, 15)  # seconds between two actions of an aidant
API_THINK_S = (2, 6)  # seconds between two queries of an open-data client
SECRET = "load-benchmark-" + "s" * 40
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

# Shared between the locust users and the runner of one configuration (reset for each).
PLAN: dict[str, Any] = {}
RUN: dict[str, Any] = {}


# --- the fake provider, timing each message's creation ------------------------------------

def _fake_twilio_class():  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(ROOT))
    from tests.sms.fake_twilio import FakeTwilio

    class TimedFakeTwilio(FakeTwilio):
        """The fake Twilio of the test suite, noting when (wall clock) each message was created."""

        def __init__(self) -> None:
            super().__init__()
            self.created_at: dict[str, float] = {}

        def _create(self, form: dict[str, str]) -> dict[str, Any]:
            message = super()._create(form)
            self.created_at[message["sid"]] = time.time()
            return message

        def reset(self) -> None:
            with self._lock:
                self.created.clear()
                self.posts.clear()
                self.created_at.clear()

    return TimedFakeTwilio


# --- the users ----------------------------------------------------------------------------

def _address(kind: int, n: int) -> str:
    """A client address of its own (behind nginx: X-Forwarded-For, PROXY_FIX_HOPS=1)."""
    return f"10.{kind}.{n // 250}.{n % 250 + 1}"


class Aidant(HttpUser):
    """An aidant at a counter: signs in once, then searches, reads needs, posts needs."""

    fixed_count = 40
    wait_time = between(*AIDANT_THINK_S)

    def on_start(self) -> None:
        k = RUN["aidant_seq"] = RUN.get("aidant_seq", -1) + 1
        self.account = PLAN["aidants"][k % len(PLAN["aidants"])]
        self.mine = PLAN["structures"][str(self.account["structure_id"])]
        self.rng = random.Random(k)
        self.client.headers["X-Forwarded-For"] = _address(1, k)
        page = self.client.get("/connexion", name="GET /connexion")
        with self.client.post("/connexion", name="POST /connexion", allow_redirects=False, catch_response=True,
                              data={"email": self.account["email"], "password": self.account["password"],
                                    "csrf_token": _csrf(page.text)}) as answer:
            if answer.status_code != 302:
                answer.failure(f"sign-in refused ({answer.status_code})")

    @task(3)
    def search_people(self) -> None:
        name = self.rng.choice(self.mine["names"])
        q = name[: self.rng.randint(3, len(name))]
        with self.client.get("/personnes", params={"q": q}, name="GET /personnes?q=", catch_response=True) as page:
            _expect_page(page)

    @task(3)
    def open_need(self) -> None:
        pool_name = "open_needs" if self.rng.random() < 0.7 else "other_needs"
        need_id = self.rng.choice(self.mine[pool_name])
        with self.client.get(f"/besoins/{need_id}", name="GET /besoins/[id]", catch_response=True) as page:
            if _expect_page(page):
                if 'id="candidats"' in page.text:
                    kind = "with_candidates"
                elif "fr-alert--error" in page.text:
                    kind = "engine_error"
                else:
                    kind = "without_candidates"
                RUN["need_pages"][kind] += 1
                RUN["need_pages_by_pool"].setdefault(pool_name, {}).setdefault(kind, 0)
                RUN["need_pages_by_pool"][pool_name][kind] += 1
                if kind != "with_candidates" and pool_name == "open_needs":
                    RUN.setdefault("page_samples", {}).setdefault(kind, page.text)

    @task(1)
    def post_need(self) -> None:
        person = self.rng.choice(self.mine["beneficiaries"])
        with self.client.get(f"/personnes/{person}/besoins/nouveau", catch_response=True,
                             name="GET /personnes/[id]/besoins/nouveau") as form:
            if not _expect_page(form):
                return
        dest = self.rng.choice(PLAN["nearby"][str(person)])
        day = (datetime.now(UTC) + timedelta(days=self.rng.randint(1, 10))).date()
        data = {"csrf_token": _csrf(form.text), "pickup": "home", "dropoff": f"commune:{dest}",
                "time_mode": "arrive_by", "day": day.isoformat(), "at": f"{self.rng.randint(8, 17):02d}:30",
                "return_choice": "none", "purpose": "medical", "passengers": "1", "notes": ""}
        with self.client.post(f"/personnes/{person}/besoins/nouveau", data=data, allow_redirects=False,
                              name="POST /personnes/[id]/besoins/nouveau", catch_response=True) as answer:
            if answer.status_code != 302:
                answer.failure(f"need not posted ({answer.status_code})")


class OpenDataClient(HttpUser):
    """A journey planner or a covoiturage operator querying the open-data APIs."""

    fixed_count = API_USERS
    wait_time = between(*API_THINK_S)

    def on_start(self) -> None:
        k = RUN["api_seq"] = RUN.get("api_seq", -1) + 1
        self.rng = random.Random(1000 + k)
        self.client.headers["X-Forwarded-For"] = _address(2, k)

    def _two_points(self) -> tuple[list[float], list[float]]:
        a, b = self.rng.sample(PLAN["homes"], 2)
        return a, b

    @task(2)
    def journeys(self) -> None:
        a, b = self._two_points()
        when = (datetime.now(UTC) + timedelta(days=self.rng.randint(0, 7), hours=self.rng.randint(0, 10)))
        self.client.get("/api/v1/journeys", name="GET /api/v1/journeys", params={
            "from": f"{a[0]:.5f},{a[1]:.5f}", "to": f"{b[0]:.5f},{b[1]:.5f}",
            "datetime": when.replace(microsecond=0).isoformat(), "arrive_by": self.rng.choice(("true", "false"))})

    @task(1)
    def driver_journeys(self) -> None:
        a = self.rng.choice(PLAN["communes"])
        b = self.rng.choice(PLAN["communes"])
        departure = self.rng.choice(PLAN["offer_departures"])
        self.client.get("/api/covoiturage/v1/driver_journeys", name="GET /api/covoiturage/v1/driver_journeys",
                        params={"departureLat": a["lat"], "departureLng": a["lon"], "arrivalLat": b["lat"],
                                "arrivalLng": b["lon"], "departureDate": departure, "timeDelta": 3600,
                                "departureRadius": 5, "arrivalRadius": 5, "count": 10})


def sms_bursts(base: str, duration: float, record: Any) -> None:
    """Twilio calling the webhook: bursts of 100 drivers' OUI spread over 10 s, one every 30 s
    from the start, as long as a whole burst fits in ``duration``."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(RUN["auth_token"])
    url = RUN["public_base"] + "/sms/inbound"
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=BURST_SIZE)
    session.mount("http://", adapter)
    began = time.monotonic()

    def answer(target: dict[str, Any]) -> None:
        params = {"MessageSid": "SM" + os.urandom(16).hex(), "From": target["driver_phone"],
                  "To": "+33700000000", "Body": f"OUI {target['code']}"}
        target["posted_at"] = time.time()
        sent = time.perf_counter()
        error = None
        try:
            r = session.post(base + "/sms/inbound", data=params, timeout=60,
                             headers={"X-Twilio-Signature": validator.compute_signature(url, params)})
            # make prod queues inbound texts (SMS_INBOUND_QUEUED): the TwiML is empty and the
            # answer reaches the driver from the outbox, checked in check_sms.
            if r.status_code != 200:
                error = f"HTTP {r.status_code}"
            elif "<Response" not in r.text:
                error = "webhook answered without TwiML"
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: {exc}"
        record("POST /sms/inbound", (time.perf_counter() - sent) * 1000, error)
        RUN["answered"].append(target)

    greenlets = []
    for offset in burst_offsets(duration):
        chunk = [RUN["targets"].pop(0) for _ in range(min(BURST_SIZE, len(RUN["targets"])))]
        for i, target in enumerate(chunk):
            gevent.sleep(max(0.0, began + offset + i * BURST_SECONDS / len(chunk) - time.monotonic()))
            greenlets.append(gevent.spawn(answer, target))
    gevent.joinall(greenlets, timeout=120)


def burst_offsets(duration: float) -> list[float]:
    """When each SMS burst starts (seconds from the start of the load)."""
    return [float(t) for t in range(0, int(duration - BURST_SECONDS) + 1, int(BURST_EVERY_S))]


def _expect_page(response: Any) -> bool:
    """A signed-in page: 200, not the sign-in form it redirects to (a failure otherwise)."""
    if response.status_code != 200:
        detail = f": {type(response.error).__name__}: {response.error}"[:200] if getattr(response, "error", None) else ""
        response.failure(f"HTTP {response.status_code}{detail}")
        return False
    if "/connexion" in response.url:
        response.failure("redirected to the sign-in page")
        return False
    return True


def _csrf(html: str) -> str:
    m = CSRF_RE.search(html)
    return m.group(1) if m else ""


# --- one configuration ----------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _redis(db_index: int):  # type: ignore[no-untyped-def]
    import redis

    client = redis.Redis.from_url(f"{REDIS}/{db_index}")
    client.ping()
    return client


def _percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    arr = np.asarray(values, dtype=float)
    return {"p50": round(float(np.percentile(arr, 50)), 1), "p95": round(float(np.percentile(arr, 95)), 1),
            "p99": round(float(np.percentile(arr, 99)), 1), "max": round(float(arr.max()), 1)}


def start_profile(url: str, workers: int, territories: Path, twilio: Any, log_path: Path) -> tuple[Any, str, dict[str, str]]:
    """``python -m app.prod`` with ``workers`` web workers; returns (process, base URL, env) once ready."""
    from tests.sms.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    metrics = Path(tempfile.mkdtemp(prefix="lot-load-metrics-"))
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET,
           "TASK_QUEUE_URL": f"{REDIS}/{QUEUE_DB}", "RATELIMIT_STORAGE_URI": f"{REDIS}/{LIMITS_DB}",
           "SMS_PROVIDER": "twilio", "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
           "TWILIO_FROM_NUMBER": FROM_NUMBER, "TWILIO_API_BASE_URL": twilio.base_url,
           "PUBLIC_BASE_URL": base, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers),
           "ENGINE_WARM_UP": "1", "SMS_QUIET_HOURS": "", "TERRITORY_DIR": str(territories),
           "PROMETHEUS_MULTIPROC_DIR": str(metrics), "GUNICORN_ACCESS_LOG": "", "PROXY_FIX_HOPS": "1",
           # No nginx in front: the simulated browsers hold their connections like browsers hold
           # theirs to nginx (75 s), longer than their pauses between requests.
           "GUNICORN_KEEPALIVE": "75",
           "LOG_LEVEL": "WARNING", "SPATIALITE_LIBRARY_PATH": os.environ.get("SPATIALITE_LIBRARY_PATH", "mod_spatialite")}
    with log_path.open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "app.prod"], cwd=ROOT, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 420
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the production profile stopped:\n" + log_path.read_text()[-3000:])
        try:
            if requests.get(f"{base}/readyz", timeout=5).status_code == 200:
                return process, base, env
        except requests.RequestException:
            pass
        gevent.sleep(1)
    stop_profile(process)
    raise RuntimeError("the production profile was not ready in 420 s:\n" + log_path.read_text()[-3000:])


def stop_profile(process: Any) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def run_locust(base: str, duration: float) -> dict[str, Any]:
    """Offer the load for ``duration`` seconds; raw latencies per endpoint (ms)."""
    began = time.monotonic()
    samples: dict[str, list[float]] = {}
    failures: dict[str, int] = {}
    errors: dict[str, dict[str, int]] = {}

    quiet: dict[str, list[float]] = {}  # requests that overlap neither the sign-in wave nor a burst
    busy = [(0.0, START_WAVE_S)] + [(t, t + BURST_SECONDS + BURST_TAIL_S) for t in burst_offsets(duration)]

    def on_request(request_type: str, name: str, response_time: float, exception: Any = None, **_kw: Any) -> None:
        samples.setdefault(name, []).append(response_time)
        end = time.monotonic() - began
        start = end - response_time / 1000
        if not any(start < b and end > a for a, b in busy):
            quiet.setdefault(name, []).append(response_time)
        if exception is not None:
            failures[name] = failures.get(name, 0) + 1
            text = str(exception)[:160]
            errors.setdefault(name, {})[text] = errors.setdefault(name, {}).get(text, 0) + 1

    def record(name: str, response_time: float, error: str | None) -> None:
        on_request("POST", name, response_time, error)

    # stop_timeout: at the end, each user finishes the task it is doing (no request cut short).
    env = Environment(user_classes=[Aidant, OpenDataClient], host=base, stop_timeout=120)
    env.events.request.add_listener(on_request)
    runner = env.create_local_runner()
    users = Aidant.fixed_count + OpenDataClient.fixed_count
    sms = gevent.spawn(sms_bursts, base, duration, record)
    runner.start(users, spawn_rate=10)
    gevent.spawn_later(duration, runner.quit)
    runner.greenlet.join()
    elapsed = time.monotonic() - began
    sms.join(timeout=150)
    sms_elapsed = time.monotonic() - began
    endpoints = {}
    for name, values in sorted(samples.items()):
        endpoints[name] = {"requests": len(values), "failures": failures.get(name, 0),
                           "error_rate": round(failures.get(name, 0) / len(values), 4),
                           "throughput_rps": round(len(values) / (sms_elapsed if name == "POST /sms/inbound" else elapsed), 2),
                           **_percentiles(values),
                           "errors": errors.get(name, {}),
                           "quiet_phase": {"requests": len(quiet.get(name, [])),
                                           **_percentiles(quiet.get(name, []))}}
    total = sum(len(v) for v in samples.values())
    total_failures = sum(failures.values())
    return {"elapsed_s": round(elapsed, 1), "sms_bursts_done_s": round(sms_elapsed, 1), "endpoints": endpoints,
            "total": {"requests": total, "failures": total_failures,
                      "error_rate": round(total_failures / total, 4) if total else None,
                      "throughput_rps": round(total / max(elapsed, sms_elapsed), 2)}}


def check_sms(url: str, twilio: Any, answered: list[dict[str, Any]], since: datetime,
              drain_s: float = 90) -> dict[str, Any]:
    """Wait for the confirmations; count lost and doubled messages; the end-to-end delays."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    riders = {t["rider_phone"] for t in answered}
    drivers = {t["driver_phone"] for t in answered}
    deadline = time.monotonic() + drain_s
    while time.monotonic() < deadline:
        with twilio._lock:  # noqa: SLF001 - our own fake
            arrived = {m["to"] for m in twilio.created}
        if riders <= arrived and drivers <= arrived:
            break
        time.sleep(1)
    time.sleep(3)  # let the worker record the last sids
    with psycopg.connect(dsn) as conn:
        # Every outbound row went through the provider, answers to texts included (queued
        # inbound); only answers given in a webhook's TwiML (inline mode, no provider sid) did not.
        rows = conn.execute(
            "SELECT phone_e164, kind, status, provider_sid, need_id FROM sms_messages "
            "WHERE direction = 'out' AND created_at >= %s "
            "AND NOT (kind IN ('reply', 'stop_ack') AND status = 'sent' AND provider_sid IS NULL)",
            (since,)).fetchall()
        inbound = conn.execute(
            "SELECT status, count(*) FROM sms_messages WHERE direction = 'in' GROUP BY status").fetchall()
        confirmed = conn.execute(
            "SELECT count(*) FROM ride_needs WHERE id = ANY(%s) AND status = 'confirmed'",
            ([t["need_id"] for t in answered],)).fetchone()[0]
    with twilio._lock:  # noqa: SLF001
        created = list(twilio.created)
        created_at = dict(twilio.created_at)
    fake_by_phone: dict[str, int] = {}
    for m in created:
        fake_by_phone[m["to"]] = fake_by_phone.get(m["to"], 0) + 1
    sids = [m["sid"] for m in created]
    outbox_by_phone: dict[str, int] = {}
    not_sent = [r for r in rows if r[2] not in ("sent", "delivered")]
    for phone, _kind, status, _sid, _need in rows:
        if status in ("sent", "delivered"):
            outbox_by_phone[phone] = outbox_by_phone.get(phone, 0) + 1
    doubled = {p: n - outbox_by_phone.get(p, 0) for p, n in fake_by_phone.items() if n > outbox_by_phone.get(p, 0)}
    lost = {p: n - fake_by_phone.get(p, 0) for p, n in outbox_by_phone.items() if n > fake_by_phone.get(p, 0)}
    confirmations = {r[4]: r for r in rows if r[1] == "confirmation"}
    per_need = {}
    for r in rows:
        if r[1] == "confirmation":
            per_need[r[4]] = per_need.get(r[4], 0) + 1
    delays, missing, twice = [], [], []
    for t in answered:
        row = confirmations.get(t["need_id"])
        if per_need.get(t["need_id"], 0) > 1:
            twice.append(t["need_id"])
        if row is None or row[3] is None or row[3] not in created_at:
            missing.append(t["need_id"])
            continue
        if sids.count(row[3]) != 1:
            twice.append(t["need_id"])
        delays.append((created_at[row[3]] - t["posted_at"]) * 1000)
    # The driver's own answer ("Merci …"): the first message to her number after her OUI.
    reply_delays, replies_missing = [], []
    for t in answered:
        after = [created_at[m["sid"]] for m in created
                 if m["to"] == t["driver_phone"] and created_at.get(m["sid"], 0) >= t["posted_at"]]
        if after:
            reply_delays.append((min(after) - t["posted_at"]) * 1000)
        else:
            replies_missing.append(t["need_id"])
    return {
        "replies_at_fake": len(reply_delays), "replies_missing": replies_missing,
        "reply_delay_ms": {k: v for k, v in _percentiles(reply_delays).items() if k != "p99"},
        "inbound_answered": len(answered), "needs_confirmed": confirmed,
        "inbound_rows": {status: n for status, n in inbound},
        "confirmations_at_fake": len(delays), "confirmations_missing": missing, "confirmations_twice": twice,
        "outbox_rows": len(rows), "outbox_not_sent": [{"phone": r[0], "kind": r[1], "status": r[2]} for r in not_sent],
        "fake_messages": len(created), "lost_by_phone": lost, "doubled_by_phone": doubled,
        "lost": sum(lost.values()) + len(missing) + len(not_sent) + len(replies_missing), "doubled": sum(doubled.values()) + len(twice),
        "delay_ms": {k: v for k, v in _percentiles(delays).items() if k != "p99"},
    }


def _cpu_seconds(process: Any) -> dict[str, float]:
    """CPU seconds used so far by the profile's web workers and queue worker (psutil)."""
    import psutil

    used = {"web_workers": 0.0, "queue_worker": 0.0}
    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return used
    for child in children:
        try:
            cmdline = " ".join(child.cmdline())
            times = child.cpu_times()
            parent = child.parent()
        except psutil.NoSuchProcess:
            continue
        if "app.sms.worker" in cmdline:
            used["queue_worker"] += times.user + times.system
        elif "gunicorn" in cmdline and parent is not None and "gunicorn" in " ".join(parent.cmdline()):
            used["web_workers"] += times.user + times.system
    return used


def server_side_ms(base: str) -> dict[str, dict[str, float]]:
    """Mean time inside the app per endpoint (ms, from /metrics: excludes queueing in gunicorn)."""
    text = requests.get(base + "/metrics", timeout=30).text
    sums: dict[str, list[float]] = {}
    pattern = re.compile(r'^lot_http_request_duration_seconds_(sum|count)\{([^}]*)\} ([0-9.eE+-]+)$')
    for line in text.splitlines():
        m = pattern.match(line)
        if not m:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        key = f"{labels.get('method')} {labels.get('endpoint')}"
        entry = sums.setdefault(key, [0.0, 0.0])
        entry[0 if m.group(1) == "sum" else 1] += float(m.group(3))
    return {k: {"requests": int(c), "mean_ms": round(1000 * t / c, 1)} for k, (t, c) in sorted(sums.items()) if c}


def _other_cpu_seconds() -> dict[str, Any]:
    """CPU seconds used so far by this process (the load generator and the fake Twilio) and by
    each PostgreSQL process of the machine (other databases' included), by pid."""
    import psutil

    mine = psutil.Process().cpu_times()
    postgres: dict[int, float] = {}
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] in ("postgres", "postmaster"):
            try:
                times = proc.cpu_times()
            except psutil.Error:
                continue
            postgres[proc.pid] = times.user + times.system
    return {"load_generator": mine.user + mine.system, "postgres": postgres}


def _cpu_used(before: dict[str, Any], after: dict[str, Any]) -> dict[str, float]:
    """CPU seconds between two readings; a PostgreSQL backend that ended meanwhile is not counted."""
    used = {k: round(after[k] - before[k], 1) for k in before if k != "postgres"}
    used["postgres"] = round(sum(t - before["postgres"].get(pid, 0.0) for pid, t in after["postgres"].items()), 1)
    return used


def _idle_probe(base: str) -> dict[str, float]:
    """Latency (ms, median of 5) of a few pages on the idle server, before the load."""
    probe = {}
    for path in ("/healthz", "/connexion", "/api/v1/openapi.json"):
        times = []
        for _ in range(5):
            began = time.perf_counter()
            requests.get(base + path, timeout=30)
            times.append((time.perf_counter() - began) * 1000)
        probe[path] = round(float(np.median(times)), 1)
    return probe


def run_configuration(workers: int, template: str, territories: Path, twilio: Any, duration: float,
                      log_dir: Path) -> dict[str, Any]:
    name = f"lot_load_w{workers}_{os.getpid()}"
    url = create_database(name, template=template)
    queue, limits = _redis(QUEUE_DB), _redis(LIMITS_DB)
    queue.flushdb()
    limits.flushdb()
    twilio.reset()
    from tests.sms.fake_twilio import AUTH_TOKEN

    log_path = log_dir / f"prod-w{workers}.log"
    started = time.monotonic()
    process, base, _env = start_profile(url, workers, territories, twilio, log_path)
    ready_s = time.monotonic() - started
    RUN.clear()
    RUN.update({"targets": [dict(t) for t in PLAN["sms_targets"]], "answered": [], "auth_token": AUTH_TOKEN,
                "public_base": base, "need_pages": {"with_candidates": 0, "without_candidates": 0, "engine_error": 0},
                "need_pages_by_pool": {}})
    since = datetime.now(UTC)
    try:
        print(f"[load] {workers} web worker(s): ready in {ready_s:.0f} s, {duration:.0f} s of load…", flush=True)
        idle = _idle_probe(base)
        cpu_before = {**_cpu_seconds(process), **_other_cpu_seconds()}
        load_avg_before = os.getloadavg()
        load = run_locust(base, duration)
        cpu_after = {**_cpu_seconds(process), **_other_cpu_seconds()}
        load_avg_after = os.getloadavg()
        inside = server_side_ms(base)
        sms = check_sms(url, twilio, RUN["answered"], since)
        app_errors = [line for line in log_path.read_text(errors="replace").splitlines()
                      if "Traceback" in line or " ERROR " in line or "[ERROR]" in line]
    finally:
        stop_profile(process)
        for kind, html in RUN.get("page_samples", {}).items():
            (log_dir / f"need-page-w{workers}-{kind}.html").write_text(html)
        drop_database(name)
        queue.flushdb()
        limits.flushdb()
    cpu = _cpu_used(cpu_before, cpu_after)
    return {"web_workers": workers, "ready_s": round(ready_s, 1), "idle_latency_ms": idle,
            "machine_load_average": {"before": [round(x, 2) for x in load_avg_before],
                                     "after": [round(x, 2) for x in load_avg_after]},
            "server_cpu_s_during_load": cpu, "server_side_mean_ms": inside,
            "server_cpu_ms_per_request": round(1000 * cpu["web_workers"] / max(load["total"]["requests"], 1), 1),
            **load, "need_pages": RUN["need_pages"], "need_pages_by_pool": RUN["need_pages_by_pool"],
            "sms": sms, "app_error_lines": app_errors[:20], "log": str(log_path)}


# --- the whole benchmark ----------------------------------------------------------------------

SEED_DATABASE = "lot_load_seed"
SEED_PLAN = CACHE / "seed-plan.json"


def _database_exists(name: str) -> bool:
    import psycopg

    from benchmarks.load_seed import admin_url

    with psycopg.connect(admin_url(), autocommit=True, connect_timeout=5) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def prepare_seed(territories: Path, reseed: bool = False) -> tuple[float, bool]:
    """The seeded month as a template database (kept for the day: its dates are relative to
    today); returns (seconds spent seeding, whether today's seed was reused)."""
    if not reseed and SEED_PLAN.exists() and _database_exists(SEED_DATABASE):
        plan = json.loads(SEED_PLAN.read_text())
        if plan.get("seeded_at", "")[:10] == datetime.now(UTC).date().isoformat():
            return 0.0, True
    SEED_PLAN.unlink(missing_ok=True)
    url = create_database(SEED_DATABASE)
    began = time.monotonic()
    try:
        subprocess.run([sys.executable, "-m", "benchmarks.load_seed", "--database-url", url, "--territory-dir",
                        str(territories), "--plan", str(SEED_PLAN)], cwd=ROOT, check=True)
    except BaseException:
        drop_database(SEED_DATABASE)
        raise
    return time.monotonic() - began, False


def offered_load(duration: float) -> dict[str, Any]:
    bursts = len(burst_offsets(duration))
    return {"aidants": Aidant.fixed_count, "aidant_think_time_s": list(AIDANT_THINK_S),
            "aidant_task_weights": {"search people": 3, "open a need page": 3, "post a need (form + POST)": 1},
            "open_data_clients": OpenDataClient.fixed_count, "open_data_think_time_s": list(API_THINK_S),
            "open_data_weights": {"journeys": 2, "driver_journeys": 1},
            "sms_bursts": {"size": BURST_SIZE, "over_s": BURST_SECONDS, "every_s": BURST_EVERY_S,
                           "bursts_per_configuration": bursts}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the results to this JSON file (required for a run)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load per configuration")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="web worker counts to run")
    parser.add_argument("--osm", type=Path, default=DEFAULT_OSM, help="OSM extract of the territory")
    parser.add_argument("--reseed", action="store_true", help="seed again even if today's seed is cached")
    parser.add_argument("--summarise", type=Path, metavar="FILE", help="print the tables of a JSON result; no run")
    args = parser.parse_args(argv)
    if args.summarise:
        print(summarise(json.loads(args.summarise.read_text())))
        return 0
    if args.json is None:
        parser.error("--json PATH is required for a run")
    if args.duration < BURST_SECONDS:
        parser.error(f"--duration must be {BURST_SECONDS:.0f} s or more (one SMS burst)")
    CACHE.mkdir(parents=True, exist_ok=True)
    _redis(QUEUE_DB), _redis(LIMITS_DB)  # fail early without Redis
    began = time.monotonic()
    territories, _db, build_s = build_territory(args.osm)
    run_dir = Path(tempfile.mkdtemp(prefix="lot-load-", dir=CACHE))
    seed_s, reused = prepare_seed(territories, reseed=args.reseed)
    PLAN.clear()
    PLAN.update(json.loads(SEED_PLAN.read_text()))
    results: dict[str, Any] = {
        "command": "python -m benchmarks.load " + " ".join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
        "load_tool": "locust (library, gevent, headless) in the benchmark process",
        "territory": {"osm": args.osm.name, "name": PLAN["territory"], "build_s": round(build_s, 1)},
        "seed": {"schema": PLAN["schema"], "counts": PLAN["counts"], "seconds": round(seed_s, 1),
                 "reused_from_cache": reused},
        "duration_s": args.duration, "offered_load": offered_load(args.duration), "configurations": [],
    }
    with _fake_twilio_class()() as twilio:
        for workers in args.workers:
            result = run_configuration(workers, SEED_DATABASE, territories, twilio, args.duration, run_dir)
            results["configurations"].append(result)
            _print_summary(result)
    results["total_s"] = round(time.monotonic() - began, 1)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(f"[load] results written to {args.json}", flush=True)
    return 0


def summarise(results: dict[str, Any]) -> str:
    """Markdown tables of a run (``--summarise FILE``), for RESULTS-load.md."""
    lines = [f"Run of {results['date']}: `{results['command']}`, {results['duration_s']:.0f} s of load per "
             f"configuration, machine load average at start {results['machine']['load_average_at_start']} "
             f"on {results['machine']['cores']} cores.", ""]
    configs = results["configurations"]
    lines += ["| endpoint | " + " | ".join(f"{c['web_workers']} worker(s): n, req/s, p50 / p95 / p99 (ms), errors"
                                         for c in configs) + " |",
              "|---|" + "---|" * len(configs)]
    names = sorted({n for c in configs for n in c["endpoints"]})
    for name in names:
        cells = []
        for c in configs:
            e = c["endpoints"].get(name)
            cells.append("—" if e is None else f"{e['requests']}, {e['throughput_rps']}, {e['p50']:.0f} / {e['p95']:.0f} / "
                         f"{e['p99']:.0f}, {e['failures']} ({100 * e['error_rate']:.1f} %)")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    cells = [f"{c['total']['requests']}, {c['total']['throughput_rps']}, —, {c['total']['failures']} "
             f"({100 * (c['total']['error_rate'] or 0):.1f} %)" for c in configs]
    lines += ["| **all** | " + " | ".join(cells) + " |", ""]
    lines += ["| | " + " | ".join(f"{c['web_workers']} worker(s)" for c in configs) + " |",
              "|---|" + "---|" * len(configs)]
    rows = [
        ("SMS answers posted / needs confirmed", lambda c: f"{c['sms']['inbound_answered']} / {c['sms']['needs_confirmed']}"),
        ("confirmations at the fake Twilio", lambda c: str(c["sms"]["confirmations_at_fake"])),
        ("SMS lost / sent twice", lambda c: f"{c['sms']['lost']} / {c['sms']['doubled']}"),
        ("SMS end-to-end delay p50 / p95 / max (ms)",
         lambda c: " / ".join(f"{c['sms']['delay_ms'][k]:.0f}" for k in ("p50", "p95", "max"))
         if c["sms"]["delay_ms"]["p50"] is not None else "—"),
        ("driver's answer: at the fake Twilio, delay p50 / p95 / max (ms)",
         lambda c: f"{c['sms'].get('replies_at_fake', '—')}, " + (" / ".join(
             f"{c['sms']['reply_delay_ms'][k]:.0f}" for k in ("p50", "p95", "max"))
             if c["sms"].get("reply_delay_ms", {}).get("p50") is not None else "—")),
        ("need pages with candidates / without / engine error", lambda c: " / ".join(
            str(c["need_pages"][k]) for k in ("with_candidates", "without_candidates", "engine_error"))),
        ("web workers' CPU during the load (s)", lambda c: str(c["server_cpu_s_during_load"]["web_workers"])),
        ("web CPU per request (ms)", lambda c: str(c["server_cpu_ms_per_request"])),
        ("queue worker's CPU (s)", lambda c: str(c["server_cpu_s_during_load"]["queue_worker"])),
        ("PostgreSQL's CPU, all databases, backends alive at the end (s)", lambda c: str(c["server_cpu_s_during_load"].get("postgres", "—"))),
        ("load generator's CPU (s)", lambda c: str(c["server_cpu_s_during_load"].get("load_generator", "—"))),
        ("machine load average before → after", lambda c: f"{c['machine_load_average']['before'][0]} → "
                                                           f"{c['machine_load_average']['after'][0]}"),
        ("idle latency /healthz, /connexion (ms)", lambda c: f"{c['idle_latency_ms']['/healthz']}, "
                                                              f"{c['idle_latency_ms']['/connexion']}"),
        ("ready after start (s)", lambda c: str(c["ready_s"])),
    ]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(c) for c in configs) + " |")
    lines += ["", "Quiet phase only (requests overlapping neither the sign-in wave of the first "
              f"{START_WAVE_S:.0f} s nor an SMS burst and the {BURST_TAIL_S:.0f} s after it):", "",
              "| endpoint | " + " | ".join(f"{c['web_workers']} worker(s): n, p50 / p95 / p99 (ms)" for c in configs) + " |",
              "|---|" + "---|" * len(configs)]
    for name in names:
        cells = []
        for c in configs:
            q = c["endpoints"].get(name, {}).get("quiet_phase")
            cells.append("—" if not q or not q["requests"] else
                         f"{q['requests']}, {q['p50']:.0f} / {q['p95']:.0f} / {q['p99']:.0f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Mean time inside the application per endpoint (ms, from `/metrics`; the rest of the "
              "latency is waiting for a gunicorn thread or for the CPU):", "",
              "| endpoint | " + " | ".join(f"{c['web_workers']} worker(s)" for c in configs) + " |",
              "|---|" + "---|" * len(configs)]
    inside = sorted({n for c in configs for n in c.get("server_side_mean_ms", {})})
    for name in inside:
        cells = [str(c.get("server_side_mean_ms", {}).get(name, {}).get("mean_ms", "—")) for c in configs]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _print_summary(result: dict[str, Any]) -> None:
    print(f"[load] {result['web_workers']} worker(s): {result['total']['requests']} requests, "
          f"{result['total']['throughput_rps']} req/s, error rate {result['total']['error_rate']}", flush=True)
    for name, e in result["endpoints"].items():
        print(f"    {name:<45} n={e['requests']:>5} p50={e['p50']} p95={e['p95']} p99={e['p99']} ms "
              f"err={e['failures']}", flush=True)
    sms = result["sms"]
    print(f"    SMS: {sms['inbound_answered']} answers, {sms['confirmations_at_fake']} confirmations, "
          f"lost {sms['lost']}, doubled {sms['doubled']}, delay {sms['delay_ms']} ms", flush=True)


if __name__ == "__main__":
    threading.current_thread().name = "load"
    sys.exit(main())
