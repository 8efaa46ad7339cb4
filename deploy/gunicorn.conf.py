"""gunicorn settings of the production profile; every value can be set from the environment.

Each worker is a process with its own copy of the application; the road graph and its
contraction hierarchy are memory-mapped (TERRITORY_MMAP), so the workers of a machine share one
copy of them. Workers warm the engine (numba kernels from the on-disk cache) before serving.
"""

import os
import time

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
# Seconds an idle kept-alive connection stays open. Behind nginx, its upstream block closes
# idle connections first (keepalive_timeout 4s there); a client talking to gunicorn directly
# (the load benchmark) needs a value above its pause between requests, or it may reuse a
# connection at the instant gunicorn closes it (a reset: benoitc/gunicorn#2676).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Recycle workers now and then (memory fragmentation), at random so they do not all restart together.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
# Behind nginx on the same machine: trust its X-Forwarded-* (the app's PROXY_FIX_HOPS does the rest).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "mobilite-solidaire-web"


def post_fork(server, worker):  # type: ignore[no-untyped-def]
    worker.lot_forked_at = time.monotonic()


def post_worker_init(worker):  # type: ignore[no-untyped-def]
    """Load the territory and compile (or load) the numba kernels before the first request."""
    app = worker.wsgi
    app = getattr(app, "application", app)
    if not app.config.get("ENGINE_WARM_UP", True):
        worker.log.info("worker %s ready in %.2f s (no warm-up)", worker.pid,
                        time.monotonic() - getattr(worker, "lot_forked_at", time.monotonic()))
        return
    from matching import warm_up as warm_up_matching

    with app.app_context():
        from app.errors import TerritoryNotBuilt
        from app.services.matching import get_engine

        warm_up_matching()
        import gtfs_import

        gtfs_import.warm_up()  # the journey search's RAPTOR kernels
        try:
            get_engine()
        except TerritoryNotBuilt as exc:
            worker.log.warning("no territory yet: %s", exc)
    worker.log.info("worker %s ready in %.2f s", worker.pid,
                    time.monotonic() - getattr(worker, "lot_forked_at", time.monotonic()))


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    """Forget a dead worker's Prometheus files (multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
