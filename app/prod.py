"""``make prod``: the production profile on one machine (gunicorn + a separate queue worker).

``python -m app.prod`` reads the same environment variables as the application, refuses to start
on what is not production (SQLite, no SECRET_KEY, a task queue or rate limiter outside Redis),
migrates the database, makes sure a territory is built, then runs:

- gunicorn serving :mod:`app.wsgi` (``deploy/gunicorn.conf.py``: WEB_CONCURRENCY workers);
- the huey consumer as its own process (SMS outbox, reminders, sweeps, retention purge), started
  again if it dies, as systemd would (``deploy/systemd/``); ``WORKER_PROCESSES`` of them, at a
  lower CPU priority (``WORKER_NICE``).

SIGTERM or SIGINT stops both. On a real server, install the systemd units instead.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def check_environment(env: dict[str, str]) -> list[str]:
    """What is wrong with ``env`` for production (empty when it may start)."""
    problems = []
    database = env.get("DATABASE_URL", "")
    if not database.startswith(("postgresql", "postgres")):
        problems.append("DATABASE_URL must name PostgreSQL + PostGIS (postgresql+psycopg://…), not SQLite")
    if len(env.get("SECRET_KEY", "")) < 32:
        problems.append("SECRET_KEY must be set to a random secret of 32 characters or more")
    if not env.get("TASK_QUEUE_URL", "").startswith(("redis://", "rediss://", "unix://")):
        problems.append("TASK_QUEUE_URL must be redis://… (the queue is shared by every process)")
    if not env.get("RATELIMIT_STORAGE_URI", "").startswith(("redis://", "rediss://")):
        problems.append("RATELIMIT_STORAGE_URI must be redis://… (limits shared by every web worker)")
    return problems


def _run(args: list[str], env: dict[str, str]) -> None:
    subprocess.run(args, cwd=ROOT, env=env, check=True)


def _lower_priority(niceness: int) -> Any:
    """A ``preexec_fn`` that lowers the child's CPU priority (background work yields to the web)."""
    def apply() -> None:
        if niceness > 0:
            os.nice(niceness)
    return apply


class Supervisor:
    """gunicorn and the queue workers, stopped together; a worker restarted when it dies.

    ``WORKER_PROCESSES`` queue worker processes (default 1) consume the same Redis queue; only
    the first runs the periodic tasks. They run at ``WORKER_NICE`` (default 10): under a burst
    of texts the web pages keep the CPU and the texts wait a little longer in the queue
    (nothing is lost: the queue and the outbox hold them).
    """

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.stopping = threading.Event()
        self.gunicorn: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes] | None] = [None] * max(1, int(env.get("WORKER_PROCESSES", "1")))

    def _start_worker(self, k: int) -> subprocess.Popen[bytes]:
        threads = self.env.get("WORKER_THREADS", "2")
        args = [sys.executable, "-m", "app.sms.worker", "--workers", threads]
        if k > 0:
            args.append("--no-periodic")
        return subprocess.Popen(args, cwd=ROOT, env=self.env,
                                preexec_fn=_lower_priority(int(self.env.get("WORKER_NICE", "10"))))

    def _watch_worker(self, k: int) -> None:
        while not self.stopping.is_set():
            process = self.workers[k] = self._start_worker(k)
            print(f"[prod] queue worker {k} started (pid {process.pid})", flush=True)
            code = process.wait()
            if self.stopping.is_set():
                break
            print(f"[prod] queue worker {k} exited with {code}; restarting in 2 s", flush=True)
            self.stopping.wait(2)

    def stop(self, *_args: object) -> None:
        self.stopping.set()
        for process in (self.gunicorn, *self.workers):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        watchers = [threading.Thread(target=self._watch_worker, args=(k,), daemon=True)
                    for k in range(len(self.workers))]
        for watcher in watchers:
            watcher.start()
        self.gunicorn = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"),
             "app.wsgi:application"], cwd=ROOT, env=self.env)
        code = self.gunicorn.wait()
        self.stop()
        for watcher in watchers:
            watcher.join(timeout=40)
        for process in self.workers:
            if process is not None and process.poll() is None:
                process.kill()
        return code if not self.stopping.is_set() or code not in (-15, 0) else 0


def main() -> int:
    env = dict(os.environ)
    problems = check_environment(env)
    if problems:
        print("make prod refuses to start:\n  - " + "\n  - ".join(problems), file=sys.stderr)
        return 2
    # Inbound texts are handled by the queue worker, not in the web request (see app.config).
    env.setdefault("SMS_INBOUND_QUEUED", "1")
    # Prometheus: the web workers' histograms are summed from files in this folder.
    metrics_dir = env.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="lot-metrics-"))
    shutil.rmtree(metrics_dir, ignore_errors=True)
    Path(metrics_dir).mkdir(parents=True, exist_ok=True)
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    _run([*flask, "db", "upgrade"], env)
    _run([*flask, "territory", "ensure"], env)
    started = time.monotonic()
    code = Supervisor(env).run()
    print(f"[prod] stopped after {time.monotonic() - started:.0f} s", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
