"""`python -m veritask.scheduler`: runs a scheduler from `VERITASK_SCHEDULER_*` settings
(flags override them) until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from veritask.errors import VeritaskError

from .service import Scheduler
from .settings import SchedulerSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m veritask.scheduler")
    parser.add_argument("--rpc-url")
    parser.add_argument("--hub")
    parser.add_argument("--workerpool")
    parser.add_argument("--key-file", type=Path)
    parser.add_argument("--database-url")
    parser.add_argument("--storage-url")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--chain-poll-s", type=float)
    parser.add_argument("--lost-after-s", type=float)
    parser.add_argument("--heartbeat-s", type=float)
    parser.add_argument("--membership", choices=("allow-list", "open"))
    parser.add_argument("--members-file", type=Path)
    parser.add_argument("--min-free-balance-nrlc", type=int)
    parser.add_argument("--min-score", type=int)
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if v is not None}
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        scheduler = Scheduler(SchedulerSettings(**overrides))
        url = scheduler.start()
    except VeritaskError as exc:
        print(f"scheduler: {exc}", file=sys.stderr)
        return 1
    print(f"scheduler: serving {url} for workerpool {scheduler.workerpool}", flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    scheduler.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
