"""Scheduler scale: `--workers` simulated workers (1 000 by default) against one scheduler
on a devnet (`Stack(workers=0)`), over HTTP as real workers talk to it. Each has its own
key (keccak of "scale worker N") and its own httpx.AsyncClient whose pool holds at most
`--connections` sockets (2: a long poll and a heartbeat may be open at once), all as
asyncio tasks in one process. Not one shared client: httpcore's pool scans its
connections for each connection on every request (O(n^2), 1.0.9), which with 2 000
sockets made the client, not the scheduler, the bottleneck.

The simulated workers run in a child process: the scheduler runs in this one (inside the
Stack), so the client's CPU does not take the scheduler's GIL, and this process's RSS is
the scheduler's (plus the Stack's idle storage service). Phases:

1. join: every worker asks a challenge (timed), the challenges are signed (not timed: the
   client's CPU), then every worker logs in and registers (timed: latency and workers/s).
   RSS is read before and after.
2. idle: each worker long-polls `GET /v1/work?wait_s=` and heartbeats every
   `--heartbeat-s`, both loops started at a random offset (steady state, no herd); after
   one `wait_s` of warm-up, `--idle-s` of samples. With no work every poll should end at
   `wait_s`: the table shows the overshoot (latency - wait_s).
3. work: one deal of `--tasks` trust-1 tasks is matched (the SDK's `Runs.submit` of a run
   prepared before the swarm starts) for a registered app that nobody runs. A worker that
   gets a task reports `started` and then holds it, heartbeating but no longer asking, as a
   worker running a long app does.
   Why hold rather than report a failure: `aborted` makes the scheduler hand the task to
   the next worker, forever (1 000 workers x N tasks of churn), and `fetch_failed` fails
   the task after `worker_failures_to_fail` tries; holding gives each task exactly one
   assignment, so the figure is the time from the match until each task is assigned.

Workers marked lost are counted from the database every second (none should be: they all
heartbeat), and replicates marked lost at the end.

    .venv/bin/python benchmarks/scheduler_scale.py --json scale.json
    .venv/bin/python benchmarks/scheduler_scale.py --workers 200 --idle-s 10   # quick look
    .venv/bin/python benchmarks/scheduler_scale.py --json scale-pg.json \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
        # a fresh database is created on that server and dropped afterwards
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import multiprocessing
import os
import random
import resource
import ssl
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from prepared_runs import prepared_run
from veritask.devnet.stack import Stack
from veritask.scheduler.store import ReplicateRow, WorkerRow
from veritask.sdk.scheduler_api import Registration, login_message
from veritask.sdk.storage import StorageClient

# (kind, started at [unix s], duration [s], outcome: "200", "204" or an error)
Sample = tuple[str, float, float, str]


@dataclass(frozen=True)
class SwarmConfig:
    url: str
    workers: int
    connections: int
    wait_s: float
    heartbeat_s: float
    idle_s: float
    tasks: int
    assign_timeout_s: float
    seed: int = 1


def _account(index: int) -> LocalAccount:
    account: LocalAccount = Account.from_key(keccak(text=f"scale worker {index}"))
    return account


class Swarm:
    """The simulated workers (in the child process): records every request as a Sample."""

    def __init__(self, config: SwarmConfig, conn: Connection) -> None:
        self.config = config
        self.conn = conn
        self.samples: list[Sample] = []
        self.assigned: dict[str, tuple[float, int]] = {}  # task id -> (at, worker)
        self.all_assigned = asyncio.Event()
        self.tokens: list[str] = [""] * config.workers
        self.scheduler_address = ""  # from the first challenge: what logins name
        self.random = random.Random(config.seed)
        limits = httpx.Limits(
            max_connections=config.connections, max_keepalive_connections=config.connections
        )
        timeout = httpx.Timeout(config.wait_s + 30.0, pool=120.0)
        # One TLS context for all (unused on http://): making one per client costs ~25 ms
        # and ~0.4 MB each.
        tls = ssl.create_default_context()
        self.clients = [
            httpx.AsyncClient(base_url=config.url, limits=limits, timeout=timeout, verify=tls)
            for _ in range(config.workers)
        ]

    def mark(self, name: str) -> None:
        self.conn.send(("mark", name, time.time()))

    async def call(
        self, index: int, kind: str, method: str, path: str, **kwargs: Any
    ) -> httpx.Response | None:
        started_at, started = time.time(), time.perf_counter()
        try:
            response = await self.clients[index].request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self.samples.append((kind, started_at, time.perf_counter() - started, repr(exc)[:80]))
            return None
        outcome = str(response.status_code)
        if response.status_code >= 400:
            try:
                outcome += " " + str(response.json().get("error", ""))
            except ValueError:
                outcome += " (not JSON)"
        self.samples.append((kind, started_at, time.perf_counter() - started, outcome))
        return response if response.status_code < 400 else None

    def auth(self, index: int) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[index]}"}

    async def challenge(self, index: int, account: LocalAccount) -> str:
        response = await self.call(
            index, "challenge", "POST", "/v1/workers/challenge", json={"address": account.address}
        )
        if response is None:
            return ""
        self.scheduler_address = str(response.json()["scheduler"])
        return str(response.json()["challenge"])

    async def join(self, index: int, account: LocalAccount, challenge: str, signature: str) -> None:
        body = {"address": account.address, "challenge": challenge, "signature": signature}
        response = await self.call(index, "login", "POST", "/v1/workers/login", json=body)
        if response is None:
            return
        self.tokens[index] = str(response.json()["token"])
        registration = Registration(
            name=f"scale-{index}",
            cpus=2,
            memory_bytes=4 << 30,
            runtimes=("oci", "wasm"),
            max_tasks=1,
        )
        await self.call(
            index,
            "register",
            "POST",
            "/v1/workers/register",
            json=registration.model_dump(mode="json"),
            headers=self.auth(index),
        )

    async def heartbeats(self, index: int) -> None:
        await asyncio.sleep(self.random.uniform(0, self.config.heartbeat_s))
        while True:
            await self.call(
                index, "heartbeat", "POST", "/v1/workers/heartbeat", headers=self.auth(index)
            )
            await asyncio.sleep(self.config.heartbeat_s)

    async def asks(self, index: int) -> None:
        wait_s = self.config.wait_s
        await asyncio.sleep(self.random.uniform(0, wait_s))
        while True:
            response = await self.call(
                index, "ask", "GET", "/v1/work", params={"wait_s": wait_s}, headers=self.auth(index)
            )
            if response is None:
                await asyncio.sleep(1.0)  # as a real worker backs off after an error
                continue
            if response.status_code == 200:
                work = response.json()
                if work["kind"] != "compute":
                    continue
                self.assigned[work["task_id"]] = (time.time(), index)
                if len(self.assigned) >= self.config.tasks:
                    self.all_assigned.set()
                await self.call(
                    index,
                    "report",
                    "POST",
                    f"/v1/tasks/{work['task_id']}/status",
                    json={"status": "started"},
                    headers=self.auth(index),
                )
                return  # holds the task: heartbeats only from now on

    async def run(self) -> dict[str, Any]:
        config = self.config
        accounts = [_account(i) for i in range(config.workers)]
        self.mark("join")
        challenges = await asyncio.gather(*(self.challenge(i, a) for i, a in enumerate(accounts)))
        self.mark("challenged")
        signatures = [
            "0x"
            + bytes(
                account.sign_message(
                    encode_defunct(
                        text=login_message(
                            account.address,
                            challenge,
                            domain=httpx.URL(config.url).netloc.decode("ascii"),
                            scheduler=self.scheduler_address,
                        )
                    )
                ).signature
            ).hex()
            for account, challenge in zip(accounts, challenges, strict=True)
        ]
        self.mark("signed")
        await asyncio.gather(
            *(
                self.join(i, a, c, s)
                for i, (a, c, s) in enumerate(zip(accounts, challenges, signatures, strict=True))
                if c
            )
        )
        self.mark("registered")
        joined = [i for i, token in enumerate(self.tokens) if token]
        loops = [asyncio.create_task(self.heartbeats(i)) for i in joined]
        loops += [asyncio.create_task(self.asks(i)) for i in joined]
        await asyncio.sleep(config.wait_s)
        self.mark("idle")
        await asyncio.sleep(config.idle_s)
        self.mark("match")
        # The parent matches the deal and answers; the loops keep running meanwhile.
        await asyncio.get_running_loop().run_in_executor(None, self.conn.recv)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.all_assigned.wait(), config.assign_timeout_s)
        self.mark("assigned")
        await asyncio.sleep(config.wait_s)  # the polls around the assignments end
        self.mark("end")
        for loop in loops:
            loop.cancel()
        await asyncio.gather(*loops, return_exceptions=True)
        for client in self.clients:
            await client.aclose()
        return {"samples": self.samples, "assigned": self.assigned, "joined": len(joined)}


def _swarm_main(config: SwarmConfig, conn: Connection) -> None:
    _raise_open_files()
    result = asyncio.run(Swarm(config, conn).run())
    result["cpu_s"] = _cpu_s()
    conn.send(("done", result))


def _raise_open_files() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _memory_mib() -> dict[str, float]:
    """This process's resident and peak resident memory (the scheduler runs in it)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024  # kB
    return {"rss_mib": round(fields["VmRSS"], 1), "peak_rss_mib": round(fields["VmHWM"], 1)}


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _stats(samples: list[Sample], minus_s: float = 0.0) -> dict[str, Any]:
    """Count, errors (by outcome) and p50/p90/p99/max in ms of the successful ones."""
    good = [(duration - minus_s) * 1000 for _, _, duration, outcome in samples if outcome[0] == "2"]
    errors = Counter(outcome for _, _, _, outcome in samples if outcome[0] != "2")
    figures: dict[str, Any] = {"count": len(samples), "errors": sum(errors.values())}
    if errors:
        figures["error_outcomes"] = dict(errors.most_common(5))
    if good:
        for name, share in (("p50_ms", 0.5), ("p90_ms", 0.9), ("p99_ms", 0.99)):
            figures[name] = round(_percentile(good, share), 1)
        figures["max_ms"] = round(max(good), 1)
    return figures


def _select(
    samples: list[Sample], kind: str, start: float, end: float, outcome: str = ""
) -> list[Sample]:
    """Samples of `kind` that ended within [start, end] (and with `outcome` if given)."""
    return [
        s
        for s in samples
        if s[0] == kind
        and start <= s[1] + s[2] <= end
        and (not outcome or s[3] == outcome or s[3][0] != "2")
    ]


class LostWatch:
    """Counts workers marked lost in the scheduler's database, once a second."""

    def __init__(self, stack: Stack) -> None:
        self._stack = stack
        self._stop = threading.Event()
        self.max_lost = 0
        self._thread = threading.Thread(target=self._watch, name="lost-watch", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            scheduler = self._stack.scheduler
            if scheduler is None:
                return
            with scheduler.sessions() as session:
                lost = session.execute(
                    select(func.count()).select_from(WorkerRow).where(WorkerRow.lost.is_(True))
                ).scalar_one()
            self.max_lost = max(self.max_lost, int(lost))

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@contextmanager
def _database(url: str) -> Iterator[str]:
    """'' for the Stack's own SQLite; else a fresh database on the PostgreSQL server of
    `url`, dropped afterwards."""
    if not url:
        yield ""
        return
    name = f"veritask_scale_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _register_app(stack: Stack) -> str:
    code = b"scheduler scale benchmark: an app nobody runs"
    with StorageClient(stack.storage_url) as storage:
        cid = storage.upload(code, stack.accounts["app developer"])
    return stack.register_app("bench", f"/ipfs/{cid}", hashlib.sha256(code).digest())


def _run(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    """Runs the swarm against the stack's scheduler; marks are (unix s, memory, CPU s)."""
    app = _register_app(stack)
    runs, plan = prepared_run(stack, app, args.tasks)
    stack.admit({_account(index).address: "" for index in range(args.workers)})  # allow-list
    config = SwarmConfig(
        url=stack.scheduler_url,
        workers=args.workers,
        connections=args.connections,
        wait_s=args.wait_s,
        heartbeat_s=args.heartbeat_s,
        idle_s=args.idle_s,
        tasks=args.tasks,
        assign_timeout_s=args.assign_timeout_s,
    )
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    child = context.Process(target=_swarm_main, args=(config, theirs), name="scale-swarm")
    marks: dict[str, dict[str, float]] = {}
    match: dict[str, float] = {}
    watch = LostWatch(stack)
    child.start()
    try:
        while True:
            if not ours.poll(600):
                raise SystemExit("the simulated workers said nothing for 600 s")
            message = ours.recv()
            if message[0] == "done":
                result: dict[str, Any] = message[1]
                break
            name, at = message[1], message[2]
            marks[name] = {"at": at, **_memory_mib(), "cpu_s": _cpu_s()}
            if name == "match":
                match["started_at"] = time.time()
                runs.submit(plan)
                match["matched_at"] = time.time()
                ours.send("matched")
    finally:
        watch.stop()
        child.join(30)
    assert stack.scheduler is not None
    with stack.scheduler.sessions() as session:
        lost_replicates = session.execute(
            select(func.count()).select_from(ReplicateRow).where(ReplicateRow.status == "lost")
        ).scalar_one()
    result.update(
        marks=marks,
        match=match,
        config=asdict(config),
        max_lost_workers=watch.max_lost,
        lost_replicates=int(lost_replicates),
    )
    return result


def _report(result: dict[str, Any], args: argparse.Namespace, database: str) -> dict[str, Any]:
    samples: list[Sample] = result["samples"]
    marks, match, wait_s = result["marks"], result["match"], args.wait_s
    join, challenged = marks["join"]["at"], marks["challenged"]["at"]
    signed, registered = marks["signed"]["at"], marks["registered"]["at"]
    idle, matched_at = marks["idle"]["at"], match["matched_at"]
    assigned_mark, end = marks["assigned"]["at"], marks["end"]["at"]
    assigned: dict[str, tuple[float, int]] = result["assigned"]
    delays = [(at - matched_at) * 1000 for at, _ in assigned.values()]
    join_s = registered - signed
    rows: list[tuple[str, dict[str, Any]]] = [
        ("1 challenge", _stats(_select(samples, "challenge", join, challenged))),
        ("1 login", _stats(_select(samples, "login", signed, registered))),
        ("1 register", _stats(_select(samples, "register", signed, registered))),
        (
            f"2 ask, no work (minus {wait_s:g} s)",
            _stats(_select(samples, "ask", idle, match["started_at"]), minus_s=wait_s),
        ),
        ("2 heartbeat", _stats(_select(samples, "heartbeat", idle, match["started_at"]))),
        (
            "3 ask -> task",
            _stats(_select(samples, "ask", match["started_at"], end, outcome="200")),
        ),
        (
            f"3 ask -> none (minus {wait_s:g} s)",
            _stats(
                [s for s in _select(samples, "ask", match["started_at"], end) if s[3] == "204"],
                minus_s=wait_s,
            ),
        ),
        ("3 report started", _stats(_select(samples, "report", match["started_at"], end))),
        ("3 heartbeat", _stats(_select(samples, "heartbeat", match["started_at"], end))),
        (
            "3 match -> task assigned",
            {
                "count": len(delays),
                "errors": args.tasks - len(delays),
                **(
                    {
                        "p50_ms": round(_percentile(delays, 0.5), 1),
                        "p90_ms": round(_percentile(delays, 0.9), 1),
                        "p99_ms": round(_percentile(delays, 0.99), 1),
                        "max_ms": round(max(delays), 1),
                    }
                    if delays
                    else {}
                ),
            },
        ),
    ]

    def cpu_share(start: str, stop: str) -> float:
        spent = marks[stop]["cpu_s"] - marks[start]["cpu_s"]
        return round(spent / (marks[stop]["at"] - marks[start]["at"]), 2)

    memory = {
        name: {k: mark[k] for k in ("rss_mib", "peak_rss_mib")} for name, mark in marks.items()
    }
    payload = {
        "database": database,
        "workers": args.workers,
        "joined": result["joined"],
        "wait_s": wait_s,
        "heartbeat_s": args.heartbeat_s,
        "lost_after_s": args.lost_after_s,
        "tasks": args.tasks,
        "idle_s": args.idle_s,
        "connections_per_worker": result["config"]["connections"],
        "latency": dict(rows),
        "join_s": round(join_s, 3),
        "join_workers_per_s": round(result["joined"] / join_s, 1),
        "challenges_s": round(challenged - join, 3),
        "signing_s_client": round(signed - challenged, 3),
        "match_s": round(matched_at - match["started_at"], 3),
        "all_assigned_s": round(max(delays) / 1000, 3) if delays else None,
        "assigned_within_timeout": len(delays),
        "assign_waited_s": round(assigned_mark - matched_at, 3),
        "memory_mib": memory,
        "rss_growth_for_workers_mib": round(
            marks["registered"]["rss_mib"] - marks["join"]["rss_mib"], 1
        ),
        "scheduler_cpu_share": {
            "join": cpu_share("join", "registered"),
            "idle": cpu_share("idle", "match"),
            "work": cpu_share("match", "end"),
        },
        "client_cpu_s": round(result["cpu_s"], 1),
        "max_lost_workers": result["max_lost_workers"],
        "lost_replicates": result["lost_replicates"],
        "machine": "2 cores shared by anvil, the scheduler and the simulated workers",
        # Other processes' load skews every figure: compare runs on a quiet machine.
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
    }
    print(
        f"scheduler scale: {args.workers} simulated workers, {database}, wait_s {wait_s:g}, "
        f"heartbeat_s {args.heartbeat_s:g}, {args.tasks} tasks at trust 1"
    )
    print(
        f"{'phase / request':<30}{'count':>7}{'errors':>7}"
        + "".join(f"{name:>10}" for name in ("p50 ms", "p90 ms", "p99 ms", "max ms"))
    )
    for name, figures in rows:
        cells = "".join(
            f"{figures[key]:>10.1f}" if key in figures else f"{'-':>10}"
            for key in ("p50_ms", "p90_ms", "p99_ms", "max_ms")
        )
        print(f"{name:<30}{figures['count']:>7}{figures['errors']:>7}{cells}")
        if figures.get("error_outcomes"):
            print(f"{'':<30}errors: {figures['error_outcomes']}")
    print(
        f"join: {result['joined']} workers logged in and registered in {join_s:.2f} s "
        f"({payload['join_workers_per_s']:.0f}/s); challenges {payload['challenges_s']:.2f} s"
    )
    print(
        f"work: matched in {payload['match_s']:.2f} s; {len(delays)}/{args.tasks} tasks "
        f"assigned, the last {payload['all_assigned_s']} s after the match"
    )
    print(
        f"RSS: {marks['join']['rss_mib']:.1f} MiB before join, "
        f"{marks['registered']['rss_mib']:.1f} after "
        f"({payload['rss_growth_for_workers_mib']:+.1f}), "
        f"{marks['end']['rss_mib']:.1f} at the end, peak {marks['end']['peak_rss_mib']:.1f}"
    )
    shares = payload["scheduler_cpu_share"]
    print(
        f"scheduler process CPU (cores): join {shares['join']}, idle {shares['idle']}, "
        f"work {shares['work']}; client {payload['client_cpu_s']} CPU s"
    )
    print(
        f"lost: at most {payload['max_lost_workers']} workers marked lost, "
        f"{payload['lost_replicates']} replicates lost; "
        f"load average {payload['load_average_1m_at_end']} (2 cores)"
    )
    return payload


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--workers", type=int, default=1_000)
    parser.add_argument("--tasks", type=int, default=200)
    # Defaults as real workers run: the worker's ask_wait_s, the scheduler's heartbeat_s
    # and lost_after_s. (Not a 5 s heartbeat: uvicorn closes a connection idle for 5 s, and
    # a request sent just then fails with "Server disconnected"; httpx does not retry.)
    parser.add_argument("--wait-s", type=float, default=20.0, help="ask-for-work long poll")
    parser.add_argument("--heartbeat-s", type=float, default=10.0)
    parser.add_argument("--lost-after-s", type=float, default=60.0)
    parser.add_argument("--idle-s", type=float, default=40.0, help="phase 2 sampling time")
    parser.add_argument("--assign-timeout-s", type=float, default=60.0)
    parser.add_argument("--connections", type=int, default=2, help="per simulated worker")
    parser.add_argument(
        "--database-url",
        default="",
        help="a PostgreSQL server (postgresql+psycopg://...): a fresh database is made on it",
    )
    args = parser.parse_args()
    _raise_open_files()
    with (
        tempfile.TemporaryDirectory(prefix="veritask-scale-") as scratch,
        _database(args.database_url) as database_url,
    ):
        stack = Stack(
            workers=0,
            work_dir=Path(scratch) / "devnet",
            database_url=database_url,
            heartbeat_s=args.heartbeat_s,
            lost_after_s=args.lost_after_s,
            scheduler_settings={"max_wait_s": max(30.0, args.wait_s)},
        )
        with stack:
            result = _run(stack, args)
    database = "PostgreSQL" if args.database_url else "SQLite"
    payload = _report(result, args, database)
    if args.json:
        args.json.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
