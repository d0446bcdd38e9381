"""`Stack`: a whole local marketplace on loopback, for the end-to-end tests, `veritask
devnet up` and `./scripts/demo`: anvil with the protocol deployed, the storage service, the
market (optional), one scheduler (its workerpool registered, a workerpool order signed) and
N workers as subprocesses (`python -m veritask.worker`, so one can be killed), with the
deterministic demo accounts funded. `stop()` leaves nothing running. The pool keeps the
scheduler's default membership, an allow-list (security H3): the stack lists its own
workers in it (`admit`) before starting them.

It composes and registers; it matches no deal: requesters go through the SDK (`Runs`) and
the market, as users do.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, cast

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from sqlalchemy import func, select

from veritask.chain.anvil import Anvil
from veritask.chain.deploy import Deployment
from veritask.chain.hub import Hub
from veritask.chain.node import Node
from veritask.domain.amounts import NRLC_PER_RLC, WEI_PER_ETH
from veritask.domain.orders import WorkerpoolOrder
from veritask.domain.signing import sign_order
from veritask.errors import ToolError
from veritask.files import write_atomically
from veritask.market.server import MarketServer
from veritask.market.server import serve_in_thread as serve_market_in_thread
from veritask.market.settings import MarketSettings
from veritask.scheduler.membership import write_members_file
from veritask.scheduler.service import Scheduler
from veritask.scheduler.settings import SchedulerSettings
from veritask.scheduler.store import WorkerRow
from veritask.sdk import Profile
from veritask.storage.server import RunningServer, serve_in_thread
from veritask.storage.settings import StorageSettings

__all__ = [
    "DEVNET_FETCH_ALLOW",
    "ETH",
    "RLC",
    "Stack",
    "StackWorker",
    "demo_account",
    "fund_account",
]

RLC = NRLC_PER_RLC
ETH = WEI_PER_ETH
# Where a devnet worker may fetch although not public (security H4): this machine only.
DEVNET_FETCH_ALLOW = "127.0.0.1/32,::1/128"
DEMO_ACCOUNTS = ("deployer", "requester", "app developer", "dataset owner", "workerpool owner")


def demo_account(name: str) -> LocalAccount:
    """The demo's deterministic accounts ("deployer", "requester", "worker 0", ...)."""
    account: LocalAccount = Account.from_key(keccak(text=f"veritask devnet {name}"))
    return account


def fund_account(hub: Hub, address: str, *, tokens_nrlc: int = 0, gas_wei: int = 100 * ETH) -> None:
    """Sets `address`'s gas balance to `gas_wei` (anvil's `anvil_setBalance`: a devnet
    only) and sends it `tokens_nrlc` from the demo deployer."""
    hub.node.rpc("anvil_setBalance", address, hex(gas_wei))
    if tokens_nrlc:
        hub.transfer_tokens(demo_account("deployer"), address, tokens_nrlc)


@dataclass
class StackWorker:
    """One worker subprocess and where its key, state and log live."""

    name: str
    account: LocalAccount
    work_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = field(default=None, repr=False)

    @property
    def log_path(self) -> Path:
        return self.work_dir / "worker.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class Stack:
    """The local marketplace. Use as a context manager or call `start()` / `stop()`.

    `worker_env` gives extra `VERITASK_WORKER_*` variables per worker (by position), e.g.
    `{"VERITASK_WORKER_FAULT": "wrong_result"}` for a worker that lies.
    """

    def __init__(
        self,
        *,
        workers: int = 1,
        work_dir: Path | None = None,
        block_time_s: float | None = None,
        database_url: str = "",
        worker_env: Sequence[Mapping[str, str]] = (),
        scheduler_settings: Mapping[str, Any] | None = None,
        worker_deposit_nrlc: int = 100 * RLC,
        requester_deposit_nrlc: int = 10_000 * RLC,
        workerpool_price_nrlc: int = 1 * RLC,
        heartbeat_s: float = 0.5,
        lost_after_s: float = 4.0,
        anvil_port: int | None = None,
        storage_port: int = 0,
        market: bool = False,
        market_port: int = 0,
    ) -> None:
        self._own_dir = work_dir is None
        self.work_dir = work_dir or Path(tempfile.mkdtemp(prefix="veritask-stack-"))
        self.block_time_s = block_time_s
        self._own_database = not database_url
        self.database_url = database_url or f"sqlite:///{self.work_dir / 'scheduler.db'}"
        self.worker_count = workers
        self.worker_env = [dict(env) for env in worker_env]
        self.scheduler_overrides = dict(scheduler_settings or {})
        self.worker_deposit_nrlc = worker_deposit_nrlc
        self.requester_deposit_nrlc = requester_deposit_nrlc
        self.workerpool_price_nrlc = workerpool_price_nrlc
        self.heartbeat_s = heartbeat_s
        self.lost_after_s = lost_after_s
        self.anvil = Anvil(port=anvil_port, block_time_s=block_time_s, startup_timeout_s=15)
        self.accounts: dict[str, LocalAccount] = {
            name: demo_account(name) for name in DEMO_ACCOUNTS
        }
        self.workers: list[StackWorker] = []
        self.scheduler: Scheduler | None = None
        self._storage: RunningServer | None = None
        self._storage_port = storage_port
        self._with_market = market
        self._market_port = market_port
        self.market: MarketServer | None = None
        self._scheduler_port = 0
        self._node: Node | None = None
        self._protocol: Hub | None = None
        self.workerpool = ""
        self.workerpool_order: WorkerpoolOrder | None = None
        # The pool's allow-list (address -> operator label), written to `members_file`.
        self.members: dict[str, str] = {}
        self.members_file = self.work_dir / "members"

    @property
    def rpc_url(self) -> str:
        return self.anvil.url

    @property
    def node(self) -> Node:
        if self._node is None:
            raise ToolError("the stack is not started")
        return self._node

    @property
    def protocol(self) -> Hub:
        if self._protocol is None:
            raise ToolError("the stack is not started")
        return self._protocol

    @property
    def deployment(self) -> Deployment:
        return self.protocol.deployment

    @property
    def hub(self) -> str:
        return self.deployment.hub

    @property
    def storage_url(self) -> str:
        if self._storage is None:
            raise ToolError("the stack is not started")
        return self._storage.url

    @property
    def market_url(self) -> str:
        if self.market is None:
            raise ToolError("the stack runs no market (Stack(market=True) starts one)")
        return self.market.url

    @property
    def scheduler_url(self) -> str:
        if self.scheduler is None:
            raise ToolError("the scheduler is not running")
        return self.scheduler.url

    def profile(self, name: str) -> Profile:
        """A chain profile of this stack: its node, hub and the services it runs."""
        return Profile(
            name,
            rpc_url=self.rpc_url,
            hub=self.hub,
            storage_url=self.storage_url,
            market_url=self.market.url if self.market is not None else None,
            scheduler_url=self.scheduler.url if self.scheduler is not None else None,
        )

    def rpc(self, method: str, *params: Any) -> Any:
        return self.node.rpc(method, *params)

    def fund(self, address: str, *, tokens_nrlc: int = 0, gas_wei: int = 100 * ETH) -> None:
        fund_account(self.protocol, address, tokens_nrlc=tokens_nrlc, gas_wei=gas_wei)

    def start(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _forget_previous_chain(self) -> None:
        """Every start runs a new chain: state kept for an older one would not match it."""
        for suffix in ("", "-wal", "-shm"):
            if self._own_database:
                (self.work_dir / f"scheduler.db{suffix}").unlink(missing_ok=True)
            (self.work_dir / f"market.db{suffix}").unlink(missing_ok=True)
        shutil.rmtree(self.work_dir / "workers", ignore_errors=True)

    def _start(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self._forget_previous_chain()
        self.members = {}
        write_members_file(self.members_file, self.members)
        self.anvil.start()
        self._node = Node.at(self.anvil.url, timeout_s=30)
        deployer = self.accounts["deployer"]
        self.rpc("anvil_setBalance", deployer.address, hex(10**24))
        self._protocol = Hub.deploy(self._node, deployer)
        for name in DEMO_ACCOUNTS[1:]:
            self.fund(self.accounts[name].address, tokens_nrlc=self.requester_deposit_nrlc)
        self.protocol.deposit(self.accounts["requester"], self.requester_deposit_nrlc)
        owner = self.accounts["workerpool owner"]
        self.protocol.deposit(owner, self.requester_deposit_nrlc)
        self.workerpool = self.protocol.create_workerpool(owner, "veritask devnet workerpool")
        self.workerpool_order = cast(
            WorkerpoolOrder,
            sign_order(
                WorkerpoolOrder(
                    self.workerpool, self.workerpool_price_nrlc, 1_000_000, category=0, trust=100
                ),
                self.protocol.domain,
                owner.key,
            ),
        )
        # The workerpool's workers upload every result: exempt from the per-signer upload
        # limits, as a storage serving a workerpool would set it (the other accounts are held
        # to the defaults). Workers added after the start are not exempt.
        workers = tuple(demo_account(f"worker {n}").address for n in range(self.worker_count))
        self._storage = serve_in_thread(
            StorageSettings(
                root=self.work_dir / "storage", port=self._storage_port, exempt_uploaders=workers
            )
        )
        if self._with_market:
            self.market = serve_market_in_thread(
                MarketSettings(
                    rpc_url=self.rpc_url,
                    hub=self.hub,
                    database_url=f"sqlite:///{self.work_dir / 'market.db'}",
                    port=self._market_port,
                    poll_interval_s=0.2,
                )
            )
        self.start_scheduler()
        for _ in range(self.worker_count):
            self.add_worker()
        self.wait_for_workers(self.worker_count)

    def start_scheduler(self) -> str:
        """Starts the scheduler (again, on the same port and database after a stop)."""
        settings: dict[str, Any] = {
            "rpc_url": self.rpc_url,
            "hub": self.hub,
            "workerpool": self.workerpool,
            "database_url": self.database_url,
            "port": self._scheduler_port,
            "chain_poll_s": 0.1,
            "heartbeat_s": self.heartbeat_s,
            "lost_after_s": self.lost_after_s,
            "max_wait_s": 2.0,
            "upload_timeout_s": 30.0,
            "members_file": self.members_file,
            "storage_url": self.storage_url,  # where it checks uploads (security M2)
        }
        settings.update(self.scheduler_overrides)
        self.scheduler = Scheduler(
            SchedulerSettings(**settings), account=self.accounts["workerpool owner"]
        )
        url = self.scheduler.start()
        self._scheduler_port = int(url.rsplit(":", 1)[1])
        return url

    def stop_scheduler(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None

    def restart_scheduler(self) -> str:
        self.stop_scheduler()
        return self.start_scheduler()

    def admit(self, members: Mapping[str, str]) -> None:
        """Adds workers (address -> operator label, "" for none) to the pool's allow-list;
        the scheduler reads the file again at the next login."""
        self.members.update({address.lower(): label for address, label in members.items()})
        write_members_file(self.members_file, self.members)

    def add_worker(self, env: Mapping[str, str] | None = None) -> StackWorker:
        """A new funded worker (with a deposit for its stakes), on the pool's allow-list
        (its own operator), started."""
        position = len(self.workers)
        account = demo_account(f"worker {position}")
        self.admit({account.address: f"worker-{position}"})
        self.fund(account.address, tokens_nrlc=self.worker_deposit_nrlc)
        if self.worker_deposit_nrlc:
            self.protocol.deposit(account, self.worker_deposit_nrlc)
        work_dir = self.work_dir / "workers" / f"worker-{position}"
        work_dir.mkdir(parents=True, exist_ok=True)
        key_file = work_dir / "key"
        write_atomically(key_file, "0x" + bytes(account.key).hex(), mode=0o600)
        extra = dict(env or {})
        if env is None and position < len(self.worker_env):
            extra = self.worker_env[position]
        worker_env = {
            "VERITASK_WORKER_SCHEDULER_URL": self.scheduler_url,
            "VERITASK_WORKER_RPC_URL": self.rpc_url,
            "VERITASK_WORKER_STORAGE_URL": self.storage_url,
            "VERITASK_WORKER_KEY_FILE": str(key_file),
            "VERITASK_WORKER_WORK_DIR": str(work_dir),
            "VERITASK_WORKER_NAME": f"worker-{position}",
            "VERITASK_WORKER_HEARTBEAT_S": str(self.heartbeat_s),
            "VERITASK_WORKER_ASK_WAIT_S": "2",
            # A devnet's input files may be served on this machine: its loopback only (H4).
            "VERITASK_WORKER_FETCH_ALLOW": DEVNET_FETCH_ALLOW,
            **extra,
        }
        worker = StackWorker(f"worker-{position}", account, work_dir, worker_env)
        self.workers.append(worker)
        self.start_worker(worker)
        return worker

    def start_worker(self, worker: StackWorker) -> None:
        if worker.running:
            return
        env = {k: v for k, v in os.environ.items() if not k.startswith("VERITASK_WORKER_")}
        env.update(worker.env)
        worker.log = worker.log_path.open("ab")
        worker.process = subprocess.Popen(
            [sys.executable, "-m", "veritask.worker"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=worker.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill_worker(self, worker: StackWorker) -> None:
        """SIGKILL, as a machine that dies (no goodbye to the scheduler)."""
        self._end(worker, signal.SIGKILL)

    def _end(self, worker: StackWorker, sig: signal.Signals) -> None:
        process, worker.process = worker.process, None
        if process is not None and process.poll() is None:
            # The worker leads its own process group: its app runs go with it.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if worker.log is not None:
            worker.log.close()
            worker.log = None

    def wait_for_workers(self, count: int, timeout_s: float = 60.0) -> None:
        """Until `count` workers are registered and alive."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.alive_workers() >= count:
                return
            for worker in self.workers:
                if worker.process is not None and worker.process.poll() is not None:
                    raise ToolError(
                        f"{worker.name} exited ({worker.process.returncode}): "
                        + worker.log_path.read_text()[-2_000:]
                    )
            time.sleep(0.1)
        raise ToolError(f"{count} workers did not register within {timeout_s:g} s")

    def alive_workers(self) -> int:
        if self.scheduler is None:
            return 0
        with self.scheduler.sessions() as session:
            return int(
                session.execute(
                    select(func.count()).select_from(WorkerRow).where(WorkerRow.lost.is_(False))
                ).scalar_one()
            )

    def advance_time(self, seconds: int) -> None:
        """Moves chain time forward and mines a block (deadlines on a devnet)."""
        self.rpc("evm_increaseTime", seconds)
        self.rpc("evm_mine")

    def register_app(
        self, name: str, multiaddr: str, checksum: bytes, app_type: str = "DOCKER"
    ) -> str:
        return self.protocol.create_app(
            self.accounts["app developer"], name, app_type, multiaddr.encode(), checksum
        )

    def register_dataset(self, name: str, multiaddr: str, checksum: bytes) -> str:
        return self.protocol.create_dataset(
            self.accounts["dataset owner"], name, multiaddr.encode(), checksum
        )

    def stop(self) -> None:
        """Stops workers, scheduler, storage and anvil; removes a work dir it created."""
        for worker in self.workers:
            self._end(worker, signal.SIGTERM)
        self.stop_scheduler()
        if self.market is not None:
            self.market.stop()
            self.market = None
        if self._storage is not None:
            self._storage.stop()
            self._storage = None
        self.anvil.stop()
        if self._own_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
