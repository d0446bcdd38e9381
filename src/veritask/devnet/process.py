"""`python -m veritask.devnet.process --dir DIR`: the process behind `veritask devnet
up`. Starts a `Stack` (anvil, the contracts, storage, market, scheduler, workers), registers
the demo apps (served from storage as `/ipfs/<cid>`, checksums verified by the workers) and
a demo dataset, publishes their orders and the workerpool's on the market, writes
DIR/state.json once all of it answers, and stops everything on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import cast

from veritask.domain.orders import AppOrder, DatasetOrder
from veritask.domain.signing import sign_order
from veritask.errors import VeritaskError
from veritask.files import write_atomically
from veritask.sdk.market import MarketClient
from veritask.sdk.storage import StorageClient
from veritask.worker.apps.build import build_app

from .stack import DEMO_ACCOUNTS, RLC, Stack
from .state import STATE_FILE, DevnetState

__all__ = [
    "DEMO_APPS",
    "DEVNET_RPC_PORT",
    "devnet_state",
    "main",
    "publish_demo_orders",
    "register_demo_assets",
]

DEVNET_RPC_PORT = 8545  # the built-in "devnet" profile's node
DEMO_APPS = {"hello": "DOCKER", "wordcount": "DOCKER", "hello-wasm": "WASM"}
DEMO_DATASET = b"the quick brown fox\njumps over the lazy dog\n"
DEMO_APP_PRICE_NRLC = RLC // 10
DEMO_DATASET_PRICE_NRLC = RLC // 10
DEMO_ORDER_VOLUME = 100_000


def register_demo_assets(stack: Stack) -> tuple[dict[str, str], dict[str, str]]:
    """Uploads the demo apps and dataset to the stack's storage and registers them: (apps,
    datasets) by name."""
    apps: dict[str, str] = {}
    developer = stack.accounts["app developer"]
    with StorageClient(stack.storage_url) as storage:
        for name, app_type in DEMO_APPS.items():
            built = build_app(name)
            cid = storage.upload(built.archive, developer)
            apps[name] = stack.register_app(
                name, f"/ipfs/{cid}", built.archive_checksum, app_type=app_type
            )
        cid = storage.upload(DEMO_DATASET, stack.accounts["dataset owner"])
    dataset = stack.register_dataset(
        "pangram", f"/ipfs/{cid}", hashlib.sha256(DEMO_DATASET).digest()
    )
    return apps, {"pangram": dataset}


def publish_demo_orders(stack: Stack, apps: dict[str, str], datasets: dict[str, str]) -> None:
    """The demo apps' and dataset's orders and the workerpool's order, on the market."""
    domain = stack.protocol.domain
    developer, owner = stack.accounts["app developer"], stack.accounts["dataset owner"]
    assert stack.workerpool_order is not None
    with MarketClient(stack.market_url) as market:
        for app in apps.values():
            order = AppOrder(app, DEMO_APP_PRICE_NRLC, DEMO_ORDER_VOLUME)
            market.publish(cast(AppOrder, sign_order(order, domain, developer.key)))
        for dataset in datasets.values():
            order_ = DatasetOrder(dataset, DEMO_DATASET_PRICE_NRLC, DEMO_ORDER_VOLUME)
            market.publish(cast(DatasetOrder, sign_order(order_, domain, owner.key)))
        market.publish(stack.workerpool_order)


def devnet_state(stack: Stack, apps: dict[str, str], datasets: dict[str, str]) -> DevnetState:
    return DevnetState(
        pid=os.getpid(),
        started_at=time.time(),
        services={
            "rpc": stack.rpc_url,
            "storage": stack.storage_url,
            "market": stack.market_url,
            "scheduler": stack.scheduler_url,
        },
        hub=stack.hub,
        chain_id=stack.deployment.chain_id,
        workers=len(stack.workers),
        accounts={name: stack.accounts[name].address for name in DEMO_ACCOUNTS},
        apps=apps,
        datasets=datasets,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="veritask-devnet", description=__doc__)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--block-time", type=float, default=None)
    parser.add_argument("--rpc-port", type=int, default=DEVNET_RPC_PORT)
    options = parser.parse_args(argv)
    folder: Path = options.dir
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stack = Stack(
        workers=options.workers,
        work_dir=folder / "data",
        block_time_s=options.block_time,
        anvil_port=options.rpc_port,
        market=True,
    )
    try:
        stack.start()
        apps, datasets = register_demo_assets(stack)
        publish_demo_orders(stack, apps, datasets)
        state = devnet_state(stack, apps, datasets)
        write_atomically(folder / STATE_FILE, state.to_json())
        print(f"devnet ready: {state.services}", flush=True)
        while not stop.wait(0.5):
            pass
    except VeritaskError as exc:
        print(f"devnet: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        (folder / STATE_FILE).unlink(missing_ok=True)
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
