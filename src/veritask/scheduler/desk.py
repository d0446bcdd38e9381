"""What the HTTP API does for workers and requesters: login by challenge and signature,
registration, heartbeats, work (long poll), reports, and a task's logs for its requester.
Only the members of the pool (`membership`) log in, register and get new replicates.

Tokens are HMACs keyed by a secret drawn at start: after a restart every worker gets 401
and logs in again (its registration and replicates are in the database).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_keys.exceptions import BadSignature
from eth_utils.address import is_address
from eth_utils.exceptions import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from veritask.domain.ids import from_hex, to_hex
from veritask.domain.orders import ZERO_ADDRESS
from veritask.domain.signing import sign_hash_eip191
from veritask.domain.tasks import authorization_hash
from veritask.errors import Refusal
from veritask.sdk.scheduler_api import (
    AppSpec,
    Assignment,
    DatasetSpec,
    Registration,
    ReplicateLog,
    ReplicateStatus,
    StatusReport,
    TaskLogs,
    WorkKind,
    login_message,
    task_logs_message,
)

from . import transitions
from .membership import Member, Membership
from .store import DealRow, ReplicateRow, TaskRow, TaskState, WorkerRow
from .worker_input import check_registration, clean_report

__all__ = ["StateLock", "WorkerDesk"]

_CHALLENGE_TTL_S = 60.0
# Challenges waiting for a login: past this many, the oldest is forgotten (memory is bounded
# whoever asks for challenges, and a worker whose challenge was dropped just asks again).
_MAX_CHALLENGES = 10_000
# How often a long poll without a thread (all `max_long_polls` busy) asks again.
_POLL_S = 0.5


# Progress a worker reports about its own replicate: it frees nothing and gives no one work,
# so it wakes no long poll.
_PROGRESS = (
    ReplicateStatus.STARTED,
    ReplicateStatus.APP_FETCHED,
    ReplicateStatus.DATA_FETCHED,
    ReplicateStatus.COMPUTED,
)


class StateLock(threading.Condition):
    """The scheduler's state lock (reentrant). Every change that may give a worker work
    (chain events, the driver's decisions, registrations, reports) calls `notify_all`;
    `changes` counts those calls, so a long poll that found nothing looks again only once
    it moved: 1 000 idle workers cost no query while nothing happens."""

    def __init__(self) -> None:
        super().__init__(threading.RLock())
        self.changes = 0

    def notify_all(self) -> None:
        self.changes += 1  # the caller holds the lock
        super().notify_all()


def _recover(message: str, signature: str) -> str:
    try:
        return str(
            Account.recover_message(encode_defunct(text=message), signature=signature)
        ).lower()
    except (BadSignature, ValidationError, ValueError, TypeError) as exc:
        raise Refusal(
            "bad_signature",
            "the signature is not 65 bytes of 0x hex that recover to an address: sign the "
            "message with EIP-191 (personal_sign)",
        ) from exc


class WorkerDesk:
    def __init__(
        self,
        account: LocalAccount,
        sessions: sessionmaker[Session],
        lock: StateLock,
        *,
        token_ttl_s: float,
        max_wait_s: float,
        worker_failures_to_fail: int,
        logs_clock_skew_s: int,
        chain_now: Callable[[], int],
        membership: Membership,
        max_long_polls: int = 16,
        heartbeat_interval_s: float = 1.0,
        recheck_s: float = 30.0,
        clock: Callable[[], float] = time.time,
        on_assignment: Callable[[], None] | None = None,
    ) -> None:
        self.account = account
        self._sessions = sessions
        self._lock = lock
        self._secret = secrets.token_bytes(32)
        # challenge -> (address, expires at), oldest first: a worker's challenge stays valid
        # whoever asks for other challenges, for its address or any other.
        self._challenges: dict[str, tuple[str, float]] = {}
        self._token_ttl_s = token_ttl_s
        self._max_wait_s = max_wait_s
        self._worker_failures = worker_failures_to_fail
        self._skew_s = logs_clock_skew_s
        self._chain_now = chain_now
        self._membership = membership
        self._clock = clock
        self._on_assignment = on_assignment
        # A long poll waiting in a thread holds one of the server's worker threads: at most
        # this many do, so that floods of polls never starve logins, reports or heartbeats.
        self._long_polls = threading.BoundedSemaphore(max_long_polls)
        # Heartbeats closer than this to the last one stored are not written again (a flood
        # costs no write); below lost_after_s, so a worker is never lost for it.
        self._heartbeat_interval_s = heartbeat_interval_s
        self._beats: dict[str, float] = {}
        # A long poll looks again this often even when nothing changed: it keeps a polling
        # worker seen (lost_after_s / 2) and bounds the cost of a change that did not notify.
        self._recheck_s = recheck_s
        self.closing = False  # set at shutdown: long polls return at once

    def challenge(self, address: str) -> str:
        if not is_address(address):
            raise Refusal(
                "bad_address", f"{address[:64]!r} is not an address: send your 0x address"
            )
        value = secrets.token_hex(16)
        with self._lock:
            now = self._clock()
            for old, (_, expires) in list(self._challenges.items()):
                if expires > now and len(self._challenges) < _MAX_CHALLENGES:
                    break  # the rest are younger
                del self._challenges[old]
            self._challenges[value] = (address.lower(), now + _CHALLENGE_TTL_S)
        return value

    def login(self, address: str, challenge: str, signature: str, *, domain: str) -> str:
        """A token for `address` when `signature` signs its login to this scheduler, reached
        at `domain` (the request's Host), with a challenge issued to it."""
        address = address.lower()
        with self._lock:
            issued = self._challenges.pop(challenge, None)  # used once, right or wrong
        if issued is None or issued[0] != address or issued[1] < self._clock():
            raise Refusal("bad_challenge", "unknown, used or expired challenge: ask a new one")
        message = login_message(address, challenge, domain=domain, scheduler=self.account.address)
        if _recover(message, signature) != address:
            raise Refusal("bad_signature", "the signature is not the address's: sign with its key")
        # Checked once the key is proven: a stranger's request costs no chain read.
        self._membership.admit(address)
        expires = int(self._clock() + self._token_ttl_s)
        mac = hmac.new(self._secret, f"{address}.{expires}".encode(), hashlib.sha256).hexdigest()
        return f"{address}.{expires}.{mac}"

    def authenticate(self, token: str) -> str:
        """The worker address a token was issued to; Refusal (bad_token) otherwise."""
        parts = token.split(".")
        if len(parts) == 3:
            address, expires, mac = parts
            good = hmac.new(self._secret, f"{address}.{expires}".encode(), hashlib.sha256)
            if (
                mac.isascii()  # compare_digest refuses other text
                and hmac.compare_digest(good.hexdigest(), mac)
                and expires.isdigit()
                and int(expires) > self._clock()
            ):
                return address
        raise Refusal("bad_token", "missing, invalid or expired token: log in again")

    def register(self, worker: str, registration: Registration) -> None:
        check_registration(registration)
        self._membership.admit(worker)
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
        now = self._clock()
        with self._lock:
            last = self._beats.get(worker)
            if last is not None and 0 <= now - last < self._heartbeat_interval_s:
                return
        with self._lock, self._sessions.begin() as session:
            row = self._worker(session, worker)
            row.last_seen_at = now
            if row.lost:
                row.lost = False
            if len(self._beats) >= _MAX_CHALLENGES:  # forget the workers seen long ago
                recent = now - self._heartbeat_interval_s
                self._beats = {w: at for w, at in self._beats.items() if at > recent}
            self._beats[worker] = now

    def _worker(self, session: Session, worker: str) -> WorkerRow:
        row = session.get(WorkerRow, worker)
        if row is None:
            raise Refusal("not_registered", "register before asking for work")
        return row

    async def wait_for_work(self, worker: str, wait_s: float) -> Assignment | None:
        """`next_work` from the event loop: it waits in a thread while one of the
        `max_long_polls` slots is free, else on the loop, waking every 0.5 s and asking
        again if the state changed. Membership is checked first: a worker the pool no
        longer admits still gets the orders about replicates it holds (reveal, upload,
        abort), at once, and otherwise the refusal; never a new replicate."""
        try:
            member = await run_in_threadpool(self._membership.admit, worker)
        except Refusal:
            order = await run_in_threadpool(self._next_order, worker)
            if order is None:
                raise
            return order
        deadline = self._clock() + min(max(wait_s, 0.0), self._max_wait_s)
        checked, checked_at = -1, 0.0
        while True:
            remaining = deadline - self._clock()
            if remaining > 0 and self._long_polls.acquire(blocking=False):
                try:
                    return await run_in_threadpool(self.next_work, member, remaining)
                finally:
                    self._long_polls.release()
            changes = self._lock.changes  # read before asking: a change meanwhile is seen
            if changes != checked or self._clock() - checked_at >= self._recheck_s:
                checked, checked_at = changes, self._clock()
                assignment = await run_in_threadpool(self.next_work, member, 0.0)
                if assignment is not None:
                    return assignment
            remaining = deadline - self._clock()
            if remaining <= 0 or self.closing:
                return None
            await asyncio.sleep(min(remaining, _POLL_S))

    def next_work(self, member: Member, wait_s: float) -> Assignment | None:
        """The next order or new replicate for `member`, waiting up to `wait_s` for one."""
        deadline = self._clock() + min(max(wait_s, 0.0), self._max_wait_s)
        checked, checked_at = -1, 0.0
        with self._lock:
            while True:
                if self._lock.changes != checked or self._clock() - checked_at >= self._recheck_s:
                    checked, checked_at = self._lock.changes, self._clock()
                    assignment = self._next_work_once(member.address, member)
                    if assignment is not None:
                        return assignment
                remaining = deadline - self._clock()
                if remaining <= 0 or self.closing:
                    return None
                self._lock.wait(min(remaining, 0.5))

    def _next_order(self, worker: str) -> Assignment | None:
        """An order waiting for `worker`; None if none or if it never registered."""
        with self._lock:
            try:
                return self._next_work_once(worker, None)
            except Refusal:  # not registered: it holds no replicate
                return None

    def _next_work_once(self, worker: str, member: Member | None) -> Assignment | None:
        """An order waiting for `worker`, else a new replicate if it is a `member`."""
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
            if member is None:
                return None
            picked = transitions.next_task_for(
                session, row, self._chain_now(), now, operator_keys=member.keys
            )
            if picked is None:
                return None
            if self._on_assignment:
                self._on_assignment()
            return self._assignment(WorkKind.COMPUTE, picked[0], picked[1], worker)

    def _assignment(self, kind: WorkKind, task: TaskRow, deal: DealRow, worker: str) -> Assignment:
        task_bytes = from_hex(task.task_id)
        authorization = ""
        if kind is WorkKind.COMPUTE:
            message = authorization_hash(worker, task_bytes, ZERO_ADDRESS)
            authorization = to_hex(sign_hash_eip191(message, self.account.key))
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
        report = clean_report(report)
        with self._lock, self._sessions.begin() as session:
            row = self._worker(session, worker)
            row.last_seen_at = self._clock()
            accepted = transitions.apply_report(
                session,
                worker,
                task_id.lower(),
                report,
                self._clock(),
                worker_failures_to_fail=self._worker_failures,
            )
            if report.status not in _PROGRESS:
                self._lock.notify_all()
        if not accepted:
            raise Refusal(
                "unknown_replicate",
                f"no replicate of task {task_id[:80]} for you: report only the tasks the "
                "scheduler gave you",
            )
        return True

    def task_logs(self, task_id: str, address: str, timestamp: int, signature: str) -> TaskLogs:
        task_id = task_id.lower()
        now = self._clock()
        if not now - self._skew_s <= timestamp <= now + self._skew_s:
            raise Refusal(
                "stale_timestamp",
                f"the timestamp is more than {self._skew_s} s from the scheduler's clock "
                f"({int(now)}): sign again now, and check this machine's clock",
            )
        signer = _recover(task_logs_message(task_id, timestamp), signature)
        if signer != address.lower():
            raise Refusal("bad_signature", "the signature is not the address's: sign with its key")
        with self._sessions() as session:
            row = session.execute(
                select(TaskRow, DealRow)
                .join(DealRow, DealRow.deal_id == TaskRow.deal_id)
                .where(TaskRow.task_id == task_id)
            ).first()
            if row is None:
                raise Refusal("unknown_task", f"this scheduler has no task {task_id[:80]}")
            task, deal = row[0], row[1]
            if signer not in (deal.requester, deal.beneficiary):
                raise Refusal(
                    "not_requester",
                    "only the deal's requester or beneficiary may read the logs: sign with "
                    "that wallet",
                )
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
                failure_record=task.failure_record
                if task.state == TaskState.SETTLED_FAILED
                else "",
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
