"""`python -m veritask.worker`: runs a worker from `VERITASK_WORKER_*` settings (flags
override them) until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from pathlib import Path

from veritask.errors import VeritaskError

from .agent import Agent
from .settings import WorkerSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m veritask.worker")
    parser.add_argument("--scheduler-url")
    parser.add_argument("--rpc-url")
    parser.add_argument("--storage-url")
    parser.add_argument("--key-file", type=Path)
    parser.add_argument("--work-dir", type=Path)
    parser.add_argument("--name")
    args = parser.parse_args(argv)
    overrides = {k: v for k, v in vars(args).items() if v is not None}
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        agent = Agent(WorkerSettings(**overrides))
    except VeritaskError as exc:
        print(f"worker: {exc}", file=sys.stderr)
        return 1
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: agent.stop())
    print(f"worker {agent.address}: runtimes {', '.join(agent.kinds()) or 'none'}", flush=True)
    agent.serve()
    agent.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
