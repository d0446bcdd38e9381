"""`Scheduler`: the composition of one scheduler (database, chain follower, driver, HTTP
API) and its two loops, each with a `run_once()` for deterministic tests: the chain loop
(follow events, then drive transactions and timers) and the HTTP server."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from fastapi import FastAPI

from veritask.chain.hub import Hub
from veritask.chain.node import Node
from veritask.errors import InvalidInput, VeritaskError
from veritask.sdk.storage import StorageClient
from veritask.sdk.wallet import load_key_file
from veritask.serving import RunningServer, make_engine, migrate, serve_app_in_thread

from .api import PoolIdentity, create_app
from .chain_sync import ChainSync
from .desk import StateLock, WorkerDesk
from .driver import Driver
from .membership import membership_of
from .metrics import Metrics
from .settings import SchedulerSettings
from .store import MIGRATIONS, make_sessions
from .upload_check import UploadChecker

__all__ = ["Scheduler"]

log = logging.getLogger("veritask.scheduler")


class Scheduler:
    """One scheduler. `start()` serves HTTP and runs the chain loop in threads;
    tests may instead call `run_once()` and use `app` with an HTTP test client."""

    def __init__(
        self,
        settings: SchedulerSettings,
        *,
        account: LocalAccount | None = None,
        hub: Hub | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`hub` is the chain port; without it, the scheduler connects to the node and hub
        of its settings."""
        self.settings = settings
        if account is None:
            if settings.key_file is None:
                raise InvalidInput("scheduler: set key_file (VERITASK_SCHEDULER_KEY_FILE)")
            account = load_key_file(settings.key_file, settings.keystore_password)
        self.account = account
        if not settings.hub or not settings.workerpool:
            raise InvalidInput("scheduler: set hub and workerpool (VERITASK_SCHEDULER_HUB, ...)")
        if hub is None:
            node = Node.at(settings.rpc_url, timeout_s=settings.rpc_timeout_s)
            hub = Hub(node, node.deployment(settings.hub))
        self.hub = hub
        self.workerpool = to_checksum_address(settings.workerpool)
        owner = hub.asset_owner("workerpool", self.workerpool)
        if owner is None:
            raise InvalidInput(
                f"no workerpool is registered at {self.workerpool} on hub "
                f"{hub.deployment.hub}: check VERITASK_SCHEDULER_WORKERPOOL"
            )
        if owner != account.address:
            raise InvalidInput(
                f"workerpool {self.workerpool} is owned by {owner}, not by the scheduler's key "
                f"{account.address}: run the scheduler with the owner's key"
            )
        # Who may work for the pool (security H3): refused at start if it cannot be enforced.
        self.membership = membership_of(
            settings, hub, workerpool=self.workerpool, scheduler=self.account.address
        )
        self.engine = make_engine(settings.resolved_database_url())
        migrate(self.engine, MIGRATIONS)
        self.sessions = make_sessions(self.engine)
        self.lock = StateLock()
        self.metrics = Metrics(self.sessions)
        self.sync = ChainSync(
            hub,
            self.workerpool,
            self.sessions,
            self.lock,
            from_block=settings.from_block,
            confirmations=settings.confirmations,
            max_blocks=settings.max_blocks_per_batch,
            clock=clock,
        )
        # Each wait for the storage is bounded, and so is a whole download.
        self.storage = StorageClient(
            settings.storage_url, timeout_s=min(10.0, settings.result_check_timeout_s)
        )
        self.driver = Driver(
            hub,
            account,
            self.sessions,
            self.lock,
            uploads=UploadChecker(
                self.storage,
                max_bytes=settings.max_result_bytes,
                max_unpacked_bytes=settings.max_result_unpacked_bytes,
                total_timeout_s=settings.result_check_timeout_s,
            ),
            lost_after_s=settings.lost_after_s,
            upload_timeout_s=settings.upload_timeout_s,
            claim_failed_tasks=settings.claim_failed_tasks,
            clock=clock,
            on_transaction=lambda kind, ok: self.metrics.transactions.labels(
                kind, "sent" if ok else "refused"
            ).inc(),
            on_upload_check=lambda outcome: self.metrics.upload_checks.labels(outcome).inc(),
        )
        self.desk = WorkerDesk(
            account,
            self.sessions,
            self.lock,
            token_ttl_s=settings.token_ttl_s,
            max_wait_s=settings.max_wait_s,
            worker_failures_to_fail=settings.worker_failures_to_fail,
            logs_clock_skew_s=settings.logs_clock_skew_s,
            chain_now=lambda: self.driver.chain_now or int(clock()),
            membership=self.membership,
            max_long_polls=settings.max_long_polls,
            heartbeat_interval_s=min(1.0, settings.lost_after_s / 4),
            recheck_s=settings.lost_after_s / 2,
            clock=clock,
            on_assignment=self.metrics.assignments.inc,
        )
        self.app: FastAPI = create_app(
            settings,
            desk=self.desk,
            pool=PoolIdentity(
                workerpool=self.workerpool,
                owner=account.address,
                hub=self.hub.deployment.hub,
                chain_id=self.hub.deployment.chain_id,
            ),
            health=self.health,
            metrics=self.metrics,
        )
        self.last_error = ""
        self._stop = threading.Event()
        self._loop: threading.Thread | None = None
        self._server: RunningServer | None = None
        self.url = ""

    def run_once(self) -> None:
        """Follows the chain until the head, then runs the driver once."""
        while self.sync.run_once():
            pass
        self.driver.run_once()
        self.metrics.head.set(self.sync.head_block)

    def health(self) -> dict[str, Any]:
        self.metrics.refresh()
        error = self.last_error or self.membership.problem
        return {
            "status": "degraded" if error else "ok",
            "workerpool": self.workerpool,
            "block": self.sync.head_block,
            "error": error,
        }

    def _loop_forever(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
                self.last_error = ""
            except VeritaskError as exc:
                self.last_error = str(exc)
                log.warning("chain loop: %s", exc)
            except Exception as exc:  # the loop must survive a bug in one pass, loudly
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("chain loop failed")
            self._stop.wait(self.settings.chain_poll_s)

    def start(self) -> str:
        """Serves the API and runs the chain loop in background threads; returns the URL."""
        self._stop.clear()
        self.desk.closing = False
        self._loop = threading.Thread(
            target=self._loop_forever, name="scheduler-chain", daemon=True
        )
        self._loop.start()
        self._server = serve_app_in_thread(
            self.app, host=self.settings.host, port=self.settings.port, name="veritask-scheduler"
        )
        self.url = self._server.url
        return self.url

    def stop(self) -> None:
        self._stop.set()
        self.desk.closing = True
        with self.lock:
            self.lock.notify_all()
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._loop is not None:
            self._loop.join(30)
            self._loop = None
        self.storage.close()
        self.engine.dispose()
