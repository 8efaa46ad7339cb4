"""``python -m app.sms.worker``: run the SMS queue consumer for an app built from the environment.

Same as ``flask --app app sms worker``; handy where the Flask CLI is not set up (systemd units,
tests that start and kill a real consumer process).
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the SMS task-queue consumer.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-periodic", action="store_true", help="do not run the periodic tasks")
    args = parser.parse_args(argv)
    from app import create_app
    from app.tasks import run_consumer

    # create_app configures the process's logging (LOG_FORMAT, with the request id of each task).
    run_consumer(create_app(), workers=args.workers, periodic=not args.no_periodic)


if __name__ == "__main__":
    main()
