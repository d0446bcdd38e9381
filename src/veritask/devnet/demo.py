"""`python -m veritask.devnet.demo` (what `./scripts/demo` runs): the whole marketplace on
loopback, and one task from order to verified result.

It starts a devnet (anvil, the contracts, storage, market, a scheduler and two workers),
registers and publishes the demo apps, then acts as a requester through the SDK, as a user
would: picks the cheapest orders on the market, matches a deal, follows the task, downloads
the result archive and checks it against the task's on-chain digest, and prints it.

With `--keep` the devnet stays up until Ctrl-C, its node on 127.0.0.1:8545 and its state
where `veritask devnet status` finds it, so the CLI's built-in "devnet" profile reaches it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from veritask.errors import InvalidInput, VeritaskError
from veritask.files import write_atomically
from veritask.sdk import RunRequest, TaskStatus, Veritask, checksum_address, format_rlc
from veritask.sdk.results import Results

from .process import (
    DEVNET_RPC_PORT,
    devnet_state,
    publish_demo_orders,
    register_demo_assets,
)
from .stack import ETH, RLC, Stack
from .state import STATE_FILE, devnet_dir, read_state

_TASK_TIMEOUT_S = 120.0


def _say(started: float, text: str) -> None:
    print(f"[{time.monotonic() - started:6.2f} s] {text}", flush=True)


def _run_task(stack: Stack, app: str, args: str, out: Path, started: float) -> str:
    """Runs `app` as the demo requester through the SDK; the result's text."""
    requester = stack.accounts["requester"]
    profile = stack.profile("demo")
    client = Veritask(profile, requester)
    plan = client.runs.prepare(RunRequest(app=app, args=args))
    _say(
        started,
        f"orders picked from the market ({', '.join(plan.from_market)}): "
        f"{format_rlc(plan.task_price)} RLC a task",
    )
    ordered = time.monotonic()
    run = client.runs.submit(plan)
    _say(started, f"deal 0x{run.deal_id.hex()} matched (gas {run.tx.gas_used:,})")
    _say(started, f"task 0x{run.task_ids[0].hex()}")
    deals = client.deals(from_block=run.tx.block_number)
    last = None
    for view in deals.watch(run.deal_id, poll_s=0.05, timeout_s=_TASK_TIMEOUT_S):
        task = view.tasks[0]
        _say(started, f"task status {task.status_name}: {task.next_step()}")
        last = view
    if last is None or last.tasks[0].status != TaskStatus.COMPLETED:
        raise VeritaskError(f"the task did not complete within {_TASK_TIMEOUT_S:g} s")
    result = Results(client, deals=deals).download(f"0x{run.deal_id.hex()}:0", out)
    elapsed = time.monotonic() - ordered
    _say(started, f"result /ipfs/{result.cid} downloaded into {out}")
    _say(started, f"digest 0x{result.digest.hex()} matches the on-chain result digest")
    _say(started, f"order to verified result: {elapsed:.2f} s")
    text = (out / "result.txt").read_text(encoding="utf-8").strip()
    free, frozen = stack.protocol.account(requester.address)
    _say(started, f"requester balance: {free / RLC:g} RLC free, {frozen / RLC:g} RLC frozen")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="veritask-demo", description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep the devnet up until Ctrl-C")
    parser.add_argument("--args", default="World", help="the hello app's arguments")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--fund",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="give this address 10 ETH for gas and 100 RLC (devnet only; repeatable)",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    try:
        funded = [checksum_address(a, source=f"--fund {a!r}") for a in args.fund]
        if args.keep and read_state(devnet_dir()) is not None:
            raise InvalidInput("a devnet already runs: stop it with `veritask devnet down`")
        with tempfile.TemporaryDirectory(prefix="veritask-demo-") as scratch:
            stack = Stack(
                workers=args.workers,
                work_dir=Path(scratch) / "devnet",
                anvil_port=DEVNET_RPC_PORT if args.keep else None,
                market=True,
            )
            with stack:
                _say(started, f"anvil {stack.rpc_url}, hub {stack.hub}")
                _say(started, f"storage {stack.storage_url}, market {stack.market_url}")
                _say(started, f"scheduler {stack.scheduler_url}, {len(stack.workers)} workers")
                apps, datasets = register_demo_assets(stack)
                publish_demo_orders(stack, apps, datasets)
                for name, address in apps.items():
                    _say(started, f"app {name} {address} published on the market")
                for address in funded:
                    stack.fund(address, tokens_nrlc=100 * RLC, gas_wei=10 * ETH)
                    _say(started, f"funded {address}: 10 ETH for gas, 100 RLC in its wallet")
                text = _run_task(stack, apps["hello"], args.args, Path(scratch) / "result", started)
                print(f"\nresult: {text}", flush=True)
                if args.keep:
                    _keep(stack, apps, datasets, stop, on_signal)
    except VeritaskError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


def _keep(
    stack: Stack,
    apps: dict[str, str],
    datasets: dict[str, str],
    stop: threading.Event,
    on_signal: Callable[[int, FrameType | None], None],
) -> None:
    """Publishes the devnet's state for the CLI and waits for Ctrl-C or SIGTERM."""
    folder = devnet_dir()
    folder.mkdir(parents=True, exist_ok=True)
    write_atomically(folder / STATE_FILE, devnet_state(stack, apps, datasets).to_json())
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print("\nthe devnet runs until Ctrl-C; in another shell: veritask devnet status", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        (folder / STATE_FILE).unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
