"""Order-to-result latency on a devnet: a requester runs a trivial app at trust 1 through
the SDK, as `veritask run --watch` does (orders picked from the market, checked, matched),
and the clock stops when the result archive is downloaded and verified against the task's
on-chain digest. Median and p90 over `--runs` runs, after one warm-up run.

    .venv/bin/python benchmarks/latency.py --json latency.json                 # instant mining
    .venv/bin/python benchmarks/latency.py --json latency-1s.json --block-time 1
    .venv/bin/python benchmarks/latency.py --app hello-wasm                     # WASI app
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from veritask.devnet.process import publish_demo_orders, register_demo_assets
from veritask.devnet.stack import Stack
from veritask.sdk import RunRequest, TaskStatus, Veritask
from veritask.sdk.results import Results

TARGET_MEDIAN_S = 2.0


def _one_run(client: Veritask, app: str, out: Path) -> dict[str, float]:
    """Seconds from the request (orders picked and matched) to the verified result, with
    the split: match, execution until the chain says completed, download."""
    started = time.perf_counter()
    run = client.runs.run(RunRequest(app=app, args="bench"))
    matched = time.perf_counter()
    deals = client.deals(from_block=run.tx.block_number)
    last = None
    for view in deals.watch(run.deal_id, poll_s=0.02, timeout_s=60):
        last = view
    if last is None or last.tasks[0].status != TaskStatus.COMPLETED:
        raise RuntimeError(f"task of deal 0x{run.deal_id.hex()} did not complete in 60 s")
    completed = time.perf_counter()
    Results(client, deals=deals).download(f"0x{run.deal_id.hex()}:0", out)
    done = time.perf_counter()
    return {
        "total_s": done - started,
        "match_s": matched - started,
        "execution_s": completed - matched,
        "download_s": done - completed,
    }


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--app", default="hello", choices=["hello", "hello-wasm"])
    parser.add_argument("--block-time", type=float, default=None, help="seconds per block")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="veritask-latency-") as scratch:
        stack = Stack(
            workers=args.workers,
            work_dir=Path(scratch) / "devnet",
            block_time_s=args.block_time,
            market=True,
        )
        with stack:
            apps, datasets = register_demo_assets(stack)
            publish_demo_orders(stack, apps, datasets)
            profile = stack.profile("bench")
            client = Veritask(profile, stack.accounts["requester"])
            _one_run(client, apps[args.app], Path(scratch) / "warm-up")
            runs = [
                _one_run(client, apps[args.app], Path(scratch) / f"run-{i}")
                for i in range(args.runs)
            ]
    totals = [run["total_s"] for run in runs]
    mining = "instant" if args.block_time is None else f"{args.block_time:g} s blocks"
    median_s, p90_s = statistics.median(totals), _percentile(totals, 0.9)
    split = {
        key: statistics.median(run[key] for run in runs)
        for key in ("match_s", "execution_s", "download_s")
    }
    payload = {
        "median_s": round(median_s, 3),
        "p90_s": round(p90_s, 3),
        "mining": mining,
        "app": args.app,
        "runs": args.runs,
        "workers": args.workers,
        "target_median_s": TARGET_MEDIAN_S,
        "split_median_s": {key: round(value, 3) for key, value in split.items()},
        "all_s": [round(value, 3) for value in totals],
    }
    print(f"order to verified result, trust 1, app {args.app}, {mining}, {args.runs} runs")
    print(f"{'':<14}{'median':>10}{'p90':>10}")
    print(f"{'total':<14}{median_s:>9.3f}s{p90_s:>9.3f}s")
    for key, value in split.items():
        print(f"{key.removesuffix('_s'):<14}{value:>9.3f}s")
    if args.block_time is None:
        verdict = "meets" if median_s <= TARGET_MEDIAN_S else "misses"
        print(f"target: median <= {TARGET_MEDIAN_S:g} s with instant mining ({verdict})")
    if args.json:
        args.json.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
