"""Throughput on a devnet: one deal of `--tasks` trivial tasks at trust 1, one scheduler and
`--workers` worker processes, from the match to the last task completed on chain; then
anvil's own transaction rate, measured on the same node with simple transfers sent as fast
as one client can, to say what share of the chain's capacity the marketplace uses (each
trust-1 task costs one transaction: the worker's contribute_and_finalize).

    .venv/bin/python benchmarks/throughput.py --tasks 1000 --workers 4 --json throughput.json
    .venv/bin/python benchmarks/throughput.py --tasks 200 --app hello   # OCI app in podman
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from pathlib import Path

from eth_account import Account

from prepared_runs import prepared_run
from veritask.devnet.stack import Stack
from veritask.sdk.storage import StorageClient
from veritask.worker.apps.build import build_app

_TIMEOUT_S = 3_600.0


def _register(stack: Stack, name: str) -> str:
    built = build_app(name)
    with StorageClient(stack.storage_url) as storage:
        cid = storage.upload(built.archive, stack.accounts["app developer"])
    app_type = "WASM" if built.kind == "wasm" else "DOCKER"
    return stack.register_app(name, f"/ipfs/{cid}", built.archive_checksum, app_type=app_type)


def _completed(stack: Stack, from_block: int) -> int:
    hub = stack.protocol.contracts.hub
    return len(hub.events.TaskFinalize().get_logs(from_block=from_block))


def _anvil_tx_rate(stack: Stack, transactions: int) -> float:
    """Transfers per second the node mines for one client sending signed transactions
    back to back and waiting for the last receipt."""
    w3 = stack.node.w3
    sender = Account.from_key(hashlib.sha256(b"veritask throughput sender").digest())
    stack.fund(sender.address, gas_wei=10**21)
    nonce = w3.eth.get_transaction_count(sender.address)
    gas_price = w3.eth.gas_price
    signed = [
        sender.sign_transaction(
            {
                "to": sender.address,
                "value": 1,
                "gas": 21_000,
                "gasPrice": gas_price,
                "nonce": nonce + i,
                "chainId": stack.deployment.chain_id,
            }
        ).raw_transaction
        for i in range(transactions)
    ]
    started = time.perf_counter()
    hashes = [w3.eth.send_raw_transaction(raw) for raw in signed]
    w3.eth.wait_for_transaction_receipt(hashes[-1], timeout=600, poll_latency=0.01)
    return transactions / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--tasks", type=int, default=1_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--app", default="hello-wasm", choices=["hello", "hello-wasm"])
    parser.add_argument("--anvil-transactions", type=int, default=1_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="veritask-throughput-") as scratch:
        stack = Stack(workers=args.workers, work_dir=Path(scratch) / "devnet")
        with stack:
            app = _register(stack, args.app)
            runs, plan = prepared_run(stack, app, args.tasks)
            start_block = stack.node.w3.eth.block_number
            started = time.perf_counter()
            deal_id = runs.submit(plan).deal_id
            matched = time.perf_counter()
            done, last_report = 0, started
            while done < args.tasks:
                if time.perf_counter() - started > _TIMEOUT_S:
                    raise SystemExit(f"only {done} of {args.tasks} tasks done in {_TIMEOUT_S} s")
                time.sleep(0.5)
                done = _completed(stack, start_block)
                if time.perf_counter() - last_report >= 10:
                    last_report = time.perf_counter()
                    print(f"  {done}/{args.tasks} tasks after {last_report - started:.0f} s")
            elapsed = time.perf_counter() - started
            blocks = stack.node.w3.eth.block_number - start_block
            anvil_tps = _anvil_tx_rate(stack, args.anvil_transactions)
    tasks_per_s = args.tasks / elapsed
    transactions = args.tasks + 1  # one contribute_and_finalize per task, one matchOrders
    used_tps = transactions / elapsed
    payload = {
        "tasks": args.tasks,
        "workers": args.workers,
        "app": args.app,
        "deal_id": "0x" + deal_id.hex(),
        "elapsed_s": round(elapsed, 2),
        "match_s": round(matched - started, 3),
        "tasks_per_s": round(tasks_per_s, 2),
        "transactions": transactions,
        "blocks": blocks,
        "chain_tx_per_s_used": round(used_tps, 2),
        "anvil_tx_per_s": round(anvil_tps, 1),
        "share_of_anvil_rate": round(used_tps / anvil_tps, 3),
        "mining": "instant",
        "machine": "2 cores shared by anvil, the scheduler and the workers",
    }
    print(f"{args.tasks} tasks at trust 1 ({args.app}), 1 scheduler + {args.workers} workers")
    print(f"{'elapsed':<28}{elapsed:>10.1f} s")
    print(f"{'tasks per second':<28}{tasks_per_s:>10.2f}")
    print(f"{'chain transactions per s':<28}{used_tps:>10.2f}")
    print(f"{'anvil alone, transfers/s':<28}{anvil_tps:>10.1f}")
    print(f"{'share of anvil rate':<28}{used_tps / anvil_tps:>10.1%}")
    if args.json:
        args.json.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
