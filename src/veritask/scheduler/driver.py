"""The scheduler's own transactions and timers: marks silent workers lost, picks uploaders,
checks what they uploaded, finalizes tasks whose result is uploaded and checked (or whose
consensus is a failure record: then with the record, which settles the task as FAILED),
reopens tasks whose winners did not reveal, gives up tasks past their contribution deadline
and claims refunds after the final one.

Decisions are taken under the state lock and marked as sent; transactions go out after the
lock is released, and uploads are checked (downloaded from storage) before it is taken, so
workers are never blocked by the chain or the storage. A refused or failed
transaction is retried after `retry_s`; the events it causes settle the state, so a
restart can at worst resend a transaction the hub then refuses ("task not revealing").
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from veritask.chain.hub import Hub
from veritask.domain.ids import from_hex
from veritask.domain.tasks import CONTRIBUTION_DEADLINE_RATIO, FINAL_DEADLINE_RATIO
from veritask.errors import ChainError

from . import transitions
from .store import ContributionRow, DealRow, TaskRow, TaskState
from .upload_check import UploadCheck, UploadChecker, UploadClaim, UploadVerdict

__all__ = ["Driver", "Intent"]

log = logging.getLogger("veritask.scheduler.driver")
MAX_CLAIM = 128


@dataclass
class Intent:
    kind: str  # finalize | reopen | claim
    deal_id: str
    indices: list[int]
    contributors: list[str] = field(default_factory=list)
    task_ids: list[str] = field(default_factory=list)
    digest: str = ""
    results: str = ""
    callback_data: str = ""
    failure_record: str = ""  # 0x hex: finalize with this record instead of a result


def _sorted_addresses(addresses: list[str]) -> list[str]:
    """Checksummed and sorted by value, as the hub wants contributor lists."""
    return sorted((to_checksum_address(a) for a in addresses), key=lambda a: int(a, 16))


class Driver:
    def __init__(
        self,
        hub: Hub,
        account: LocalAccount,
        sessions: sessionmaker[Session],
        lock: threading.Condition,
        *,
        uploads: UploadChecker,
        lost_after_s: float,
        upload_timeout_s: float,
        claim_failed_tasks: bool = True,
        retry_s: float = 10.0,
        clock: Callable[[], float] = time.time,
        on_transaction: Callable[[str, bool], None] | None = None,
        on_upload_check: Callable[[UploadCheck], None] | None = None,
    ) -> None:
        self.hub = hub
        self.account = account
        self._sessions = sessions
        self._lock = lock
        self._uploads = uploads
        self._lost_after_s = lost_after_s
        self._upload_timeout_s = upload_timeout_s
        self._claim = claim_failed_tasks
        self._retry_s = retry_s
        self._clock = clock
        self._on_transaction = on_transaction
        self._on_upload_check = on_upload_check
        self._storage_retry_at = 0.0  # after the storage did not answer: checks wait
        self.chain_now = 0

    def read_chain_time(self) -> int:
        self.chain_now = self.hub.node.block_time()
        return self.chain_now

    def run_once(self) -> int:
        """One pass; returns the number of transactions sent."""
        chain_now = self.read_chain_time()
        with self._lock, self._sessions.begin() as session:
            claims = transitions.upload_claims(session)
        verdicts = self._check_uploads(claims)
        now = self._clock()
        with self._lock, self._sessions.begin() as session:
            changed = self._apply_verdicts(session, verdicts, now)
            changed |= bool(transitions.mark_lost_workers(session, now - self._lost_after_s, now))
            intents, uploaders = self._revealing(session, chain_now, now)
            changed |= uploaders | self._expire(session, chain_now, now)
            if self._claim:
                intents += self._claims(session, chain_now, now)
            if changed or intents:
                self._lock.notify_all()
        sent = 0
        for intent in intents:
            sent += self._send(intent)
        return sent

    def _check_uploads(self, claims: list[UploadClaim]) -> list[tuple[UploadClaim, UploadVerdict]]:
        """Checks reported uploads, outside the lock. Once the storage does not answer, the
        rest wait `retry_s` (each would wait as long, and finalize, reopen and claim with
        them)."""
        verdicts: list[tuple[UploadClaim, UploadVerdict]] = []
        if self._clock() < self._storage_retry_at:
            return verdicts
        for claim in claims:
            verdict = self._uploads.check(claim)
            if self._on_upload_check:
                self._on_upload_check(verdict.outcome)
            if verdict.outcome is UploadCheck.UNCHECKED:
                log.warning("upload for task 0x%s: %s", claim.task_id.hex(), verdict.reason)
                self._storage_retry_at = self._clock() + self._retry_s
                break
            verdicts.append((claim, verdict))
        return verdicts

    def _apply_verdicts(
        self, session: Session, verdicts: list[tuple[UploadClaim, UploadVerdict]], now: float
    ) -> bool:
        changed = False
        for claim, verdict in verdicts:
            if verdict.outcome is UploadCheck.ACCEPTED:
                changed |= transitions.accept_upload(session, claim, now)
            elif transitions.refuse_upload(session, claim, verdict.reason, now):
                changed = True
                log.warning(
                    "task 0x%s: refused the upload of worker %s: %s",
                    claim.task_id.hex(),
                    claim.uploader,
                    verdict.reason,
                )
        return changed

    def _recent(self, sent_at: float, now: float) -> bool:
        return sent_at > 0 and now - sent_at < self._retry_s

    def _revealing(self, session: Session, chain_now: int, now: float) -> tuple[list[Intent], bool]:
        """Finalize and reopen intents, and whether an uploader was (re)chosen."""
        intents: list[Intent] = []
        uploaders = False
        rows = session.execute(
            select(TaskRow, DealRow)
            .join(DealRow, DealRow.deal_id == TaskRow.deal_id)
            .where(TaskRow.state == TaskState.REVEALING)
        ).all()
        for task, deal in rows:
            contributions = list(
                session.execute(
                    select(ContributionRow).where(ContributionRow.task_id == task.task_id)
                ).scalars()
            )
            winners = [
                c for c in contributions if c.result_hash == task.consensus_hash and not c.rejected
            ]
            revealed = [c for c in winners if c.revealed]
            upload_late = now - task.upload_asked_at > self._upload_timeout_s
            settles = transitions.take_failure_record(session, task, now)
            # An upload waiting for its check is not late: the storage did not answer.
            waiting = task.results or task.reported_results
            if revealed and not waiting and not settles and (not task.uploader or upload_late):
                uploaders |= transitions.choose_uploader(session, task, now)
            window_over = chain_now > task.reveal_deadline
            if (
                (task.results or settles)
                and task.digest
                and (len(revealed) == len(winners) or (window_over and revealed))
                and not self._recent(task.finalize_sent_at, now)
                and chain_now < deal.final_deadline
            ):
                task.finalize_sent_at = now
                intents.append(
                    Intent(
                        "finalize",
                        deal.deal_id,
                        [task.index],
                        _sorted_addresses([c.worker for c in contributions]),
                        [task.task_id],
                        task.digest,
                        task.results,
                        task.callback_data,
                        task.failure_record,
                    )
                )
            elif (
                window_over
                and not revealed
                and chain_now < deal.final_deadline
                and not self._recent(task.reopen_sent_at, now)
            ):
                task.reopen_sent_at = now
                intents.append(
                    Intent(
                        "reopen",
                        deal.deal_id,
                        [task.index],
                        _sorted_addresses([c.worker for c in contributions]),
                        [task.task_id],
                    )
                )
        return intents, uploaders

    def _expire(self, session: Session, chain_now: int, now: float) -> bool:
        """Open tasks past their contribution deadline can no longer complete."""
        rows = session.execute(
            select(TaskRow)
            .join(DealRow, DealRow.deal_id == TaskRow.deal_id)
            .where(
                TaskRow.state.in_(TaskState.OPEN),
                DealRow.start_time + CONTRIBUTION_DEADLINE_RATIO * DealRow.time_ref <= chain_now,
            )
        ).scalars()
        changed = False
        for task in rows:
            transitions.fail_task(session, task, "contribution deadline passed", now)
            changed = True
        return changed

    def _claims(self, session: Session, chain_now: int, now: float) -> list[Intent]:
        rows = session.execute(
            select(TaskRow, DealRow)
            .join(DealRow, DealRow.deal_id == TaskRow.deal_id)
            .where(
                TaskRow.state.not_in(TaskState.FINAL),
                DealRow.start_time + FINAL_DEADLINE_RATIO * DealRow.time_ref <= chain_now,
            )
            .order_by(TaskRow.id)
        ).all()
        by_deal: dict[str, list[TaskRow]] = defaultdict(list)
        for task, deal in rows:
            if not self._recent(task.claim_sent_at, now):
                by_deal[deal.deal_id].append(task)
        intents: list[Intent] = []
        for deal_id, tasks in by_deal.items():
            for start in range(0, len(tasks), MAX_CLAIM):
                chunk = tasks[start : start + MAX_CLAIM]
                contributors: list[str] = []
                for task in chunk:
                    task.claim_sent_at = now
                    if task.state != TaskState.FAILED:
                        task.state = TaskState.FAILED
                        task.failure = task.failure or "not completed before the final deadline"
                    workers = session.execute(
                        select(ContributionRow.worker).where(
                            ContributionRow.task_id == task.task_id
                        )
                    ).scalars()
                    contributors += _sorted_addresses(list(workers))
                intents.append(
                    Intent(
                        "claim",
                        deal_id,
                        [task.index for task in chunk],
                        contributors,
                        [task.task_id for task in chunk],
                    )
                )
        return intents

    def _send(self, intent: Intent) -> int:
        deal_id = from_hex(intent.deal_id)
        try:
            if intent.kind == "finalize" and intent.failure_record:
                self.hub.finalize(
                    self.account,
                    deal_id,
                    intent.indices[0],
                    from_hex(intent.digest),
                    from_hex(intent.failure_record),
                    intent.contributors,
                )
            elif intent.kind == "finalize":
                self.hub.finalize(
                    self.account,
                    deal_id,
                    intent.indices[0],
                    from_hex(intent.digest),
                    intent.results.encode(),
                    intent.contributors,
                    results_callback=bytes.fromhex(intent.callback_data.removeprefix("0x")),
                )
            elif intent.kind == "reopen":
                self.hub.reopen(self.account, deal_id, intent.indices[0], intent.contributors)
            else:
                self.hub.claim(self.account, deal_id, intent.indices, intent.contributors)
        except ChainError as exc:
            log.warning("%s of %s refused: %s", intent.kind, intent.task_ids, exc)
            if self._on_transaction:
                self._on_transaction(intent.kind, False)
            return 0
        log.info("%s sent for %s", intent.kind, intent.task_ids)
        if self._on_transaction:
            self._on_transaction(intent.kind, True)
        return 1
