"""What the HTTP API does for workers and requesters: login by challenge and signature,
registration, heartbeats, work (long poll), reports, and a task's logs for its requester.

Tokens are HMACs keyed by a secret drawn at start: after a restart every worker gets 401
and logs in again (its registration and replicates are in the database).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from veritask.domain.orders import ZERO_ADDRESS
from veritask.domain.signing import sign_hash_eip191
from veritask.domain.tasks import authorization_hash
from veritask.sdk.scheduler_api import (
    AppSpec,
    Assignment,
    DatasetSpec,
    Registration,
    ReplicateLog,
    StatusReport,
    TaskLogs,
    WorkKind,
    login_message,
    task_logs_message,
)

from . import transitions
from .store import DealRow, ReplicateRow, TaskRow, WorkerRow

__all__ = ["Refused", "WorkerDesk"]

_CHALLENGE_TTL_S = 60.0


class Refused(Exception):
    """A request the API refuses: mapped to an HTTP status and a JSON {code, message}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _recover(message: str, signature: str) -> str:
    try:
        return str(
            Account.recover_message(encode_defunct(text=message), signature=signature)
        ).lower()
    except (ValueError, TypeError) as exc:
        raise Refused(401, "bad_signature", f"signature cannot be verified: {exc}") from exc


class WorkerDesk:
    def __init__(
        self,
        account: LocalAccount,
        sessions: sessionmaker[Session],
        lock: threading.Condition,
        *,
        token_ttl_s: float,
        max_wait_s: float,
        app_failures_to_fail: int,
        worker_failures_to_fail: int,
        logs_clock_skew_s: int,
        chain_now: Callable[[], int],
        clock: Callable[[], float] = time.time,
        on_assignment: Callable[[], None] | None = None,
    ) -> None:
        self.account = account
        self._sessions = sessions
        self._lock = lock
        self._secret = secrets.token_bytes(32)
        self._challenges: dict[str, tuple[str, float]] = {}
        self._token_ttl_s = token_ttl_s
        self._max_wait_s = max_wait_s
        self._app_failures = app_failures_to_fail
        self._worker_failures = worker_failures_to_fail
        self._skew_s = logs_clock_skew_s
        self._chain_now = chain_now
        self._clock = clock
        self._on_assignment = on_assignment
        self.closing = False  # set at shutdown: long polls return at once

    def challenge(self, address: str) -> str:
        if not Web3.is_address(address):
            raise Refused(400, "bad_address", f"{address!r} is not an address")
        value = secrets.token_hex(16)
        with self._lock:
            now = self._clock()
            self._challenges = {a: c for a, c in self._challenges.items() if c[1] > now}
            self._challenges[address.lower()] = (value, now + _CHALLENGE_TTL_S)
        return value

    def login(self, address: str, challenge: str, signature: str) -> str:
        address = address.lower()
        with self._lock:
            expected = self._challenges.pop(address, None)
        if expected is None or expected[0] != challenge or expected[1] < self._clock():
            raise Refused(401, "bad_challenge", "unknown or expired challenge: ask a new one")
        if _recover(login_message(address, challenge), signature) != address:
            raise Refused(401, "bad_signature", "the signature is not the address's")
        expires = int(self._clock() + self._token_ttl_s)
        mac = hmac.new(self._secret, f"{address}.{expires}".encode(), hashlib.sha256).hexdigest()
        return f"{address}.{expires}.{mac}"

    def authenticate(self, token: str) -> str:
        """The worker address a token was issued to; Refused(401) otherwise."""
        parts = token.split(".")
        if len(parts) == 3:
            address, expires, mac = parts
            good = hmac.new(self._secret, f"{address}.{expires}".encode(), hashlib.sha256)
            if (
                hmac.compare_digest(good.hexdigest(), mac)
                and expires.isdigit()
                and int(expires) > self._clock()
            ):
                return address
        raise Refused(401, "bad_token", "missing, invalid or expired token: log in again")

    def register(self, worker: str, registration: Registration) -> None:
        now = self._clock()
        with self._lock, self._sessions.begin() as session:
            row = session.get(WorkerRow, worker)
            if row is None:
                row = WorkerRow(address=worker)
                session.add(row)
            row.name = registration.name
            row.cpus = registration.cpus
            row.memory_bytes = registration.memory_bytes
            row.runtimes = ",".join(registration.runtimes)
            row.tee = registration.tee
            row.max_tasks = registration.max_tasks
            row.last_seen_at = now
            row.lost = False
            transitions.forget_running(session, worker, now)
            self._lock.notify_all()

    def heartbeat(self, worker: str) -> None:
        with self._lock, self._sessions.begin() as session:
            row = self._worker(session, worker)
            row.last_seen_at = self._clock()
            if row.lost:
                row.lost = False

    def _worker(self, session: Session, worker: str) -> WorkerRow:
        row = session.get(WorkerRow, worker)
        if row is None:
            raise Refused(409, "not_registered", "register before asking for work")
        return row

    def next_work(self, worker: str, wait_s: float) -> Assignment | None:
        """The next order or new replicate for `worker`, waiting up to `wait_s` for one."""
        deadline = self._clock() + min(max(wait_s, 0.0), self._max_wait_s)
        with self._lock:
            while True:
                assignment = self._next_work_once(worker)
                remaining = deadline - self._clock()
                if assignment is not None or remaining <= 0 or self.closing:
                    return assignment
                self._lock.wait(min(remaining, 0.5))

    def _next_work_once(self, worker: str) -> Assignment | None:
        now = self._clock()
        with self._sessions.begin() as session:
            row = self._worker(session, worker)
            row.last_seen_at = now
            row.lost = False
            found = transitions.next_action(session, worker)
            if found is not None:
                replicate, task, deal = found
                kind = WorkKind(replicate.action)
                if kind is WorkKind.ABORT:
                    replicate.action = ""
                return self._assignment(kind, task, deal, worker)
            picked = transitions.next_task_for(session, row, self._chain_now(), now)
            if picked is None:
                return None
            if self._on_assignment:
                self._on_assignment()
            return self._assignment(WorkKind.COMPUTE, picked[0], picked[1], worker)

    def _assignment(self, kind: WorkKind, task: TaskRow, deal: DealRow, worker: str) -> Assignment:
        task_bytes = bytes.fromhex(task.task_id[2:])
        authorization = ""
        if kind is WorkKind.COMPUTE:
            message = authorization_hash(worker, task_bytes, ZERO_ADDRESS)
            authorization = "0x" + sign_hash_eip191(message, self.account.key).hex()
        dataset = None
        if int(deal.dataset, 16) != 0:
            dataset = DatasetSpec(
                address=deal.dataset,
                multiaddr=deal.dataset_multiaddr,
                checksum=deal.dataset_checksum,
            )
        return Assignment(
            kind=kind,
            task_id=task.task_id,
            deal_id=deal.deal_id,
            index=task.index,
            one_call=deal.trust == 1,
            authorization=authorization,
            app=AppSpec(
                address=deal.app,
                kind="wasm" if deal.app_kind == "wasm" else "oci",
                multiaddr=deal.app_multiaddr,
                checksum=deal.app_checksum,
            ),
            dataset=dataset,
            params=deal.params,
            bot_first=deal.bot_first,
            bot_size=deal.bot_size,
            callback=deal.callback,
            time_limit_s=float(deal.time_ref),
            contribution_deadline=deal.contribution_deadline,
            reason=task.failure or task.state if kind is WorkKind.ABORT else "",
        )

    def report(self, worker: str, task_id: str, report: StatusReport) -> bool:
        with self._lock, self._sessions.begin() as session:
            row = self._worker(session, worker)
            row.last_seen_at = self._clock()
            accepted = transitions.apply_report(
                session,
                worker,
                task_id.lower(),
                report,
                self._clock(),
                app_failures_to_fail=self._app_failures,
                worker_failures_to_fail=self._worker_failures,
            )
            self._lock.notify_all()
        if not accepted:
            raise Refused(404, "unknown_replicate", f"no replicate of task {task_id} for you")
        return True

    def task_logs(self, task_id: str, address: str, timestamp: int, signature: str) -> TaskLogs:
        task_id = task_id.lower()
        if abs(self._clock() - timestamp) > self._skew_s:
            raise Refused(401, "stale_request", "timestamp too far from the scheduler's clock")
        signer = _recover(task_logs_message(task_id, timestamp), signature)
        if signer != address.lower():
            raise Refused(401, "bad_signature", "the signature is not the address's")
        with self._sessions() as session:
            row = session.execute(
                select(TaskRow, DealRow)
                .join(DealRow, DealRow.deal_id == TaskRow.deal_id)
                .where(TaskRow.task_id == task_id)
            ).first()
            if row is None:
                raise Refused(404, "unknown_task", f"this scheduler has no task {task_id}")
            task, deal = row[0], row[1]
            if signer not in (deal.requester, deal.beneficiary):
                raise Refused(403, "not_requester", "only the requester may read the logs")
            replicates = session.execute(
                select(ReplicateRow)
                .where(ReplicateRow.task_id == task_id)
                .order_by(ReplicateRow.id)
            ).scalars()
            return TaskLogs(
                task_id=task.task_id,
                deal_id=deal.deal_id,
                index=task.index,
                status=task.state,
                failure=task.failure,
                results=task.results,
                replicates=tuple(
                    ReplicateLog(
                        worker=r.worker,
                        status=r.status,
                        exit_code=r.exit_code,
                        stdout=r.stdout,
                        stderr=r.stderr,
                        detail=r.detail,
                        updated_at=r.updated_at,
                    )
                    for r in replicates
                ),
            )
