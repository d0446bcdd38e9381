"""Every change to the scheduler's state, inside a session the caller opened: chain events
applied idempotently (keyed by deal/task id and worker), replicates assigned to workers,
worker reports, the verdicts of upload checks, lost workers. No I/O besides the database.

Errors are results: a worker whose app failed commits a failure record on chain like a
result, and reports it. The scheduler counts no failure reports: consensus on chain says
whether the task failed, and when the consensus digest is the keccak256 of a record a
winner reported, the task is finalized with that record (no upload) and settles on chain
(`TaskFailed`, state `settled_failed`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from eth_utils.crypto import keccak
from sqlalchemy import exists, func, insert, select, update
from sqlalchemy.orm import Session

from veritask.domain.failures import FailureRecord
from veritask.domain.ids import from_hex, to_hex
from veritask.domain.ids import task_id as compute_task_id
from veritask.domain.tasks import CONTRIBUTION_DEADLINE_RATIO
from veritask.sdk.scheduler_api import ReplicateStatus, StatusReport

from .consensus import replicates_wanted
from .store import ContributionRow, DealRow, ReplicateRow, TaskRow, TaskState, WorkerRow
from .upload_check import UploadClaim

__all__ = [
    "ASSIGNED",
    "LOST",
    "REJECTED",
    "DealFacts",
    "accept_upload",
    "add_deal",
    "apply_claimed",
    "apply_consensus",
    "apply_contribution",
    "apply_failed",
    "apply_finalize",
    "apply_reopen",
    "apply_report",
    "apply_reveal",
    "choose_uploader",
    "fail_task",
    "forget_running",
    "mark_lost_workers",
    "next_action",
    "next_task_for",
    "refresh_slots",
    "refuse_upload",
    "take_failure_record",
    "upload_claims",
]

# Replicate statuses the scheduler sets itself (the others are ReplicateStatus values).
ASSIGNED = "assigned"
LOST = "lost"
REJECTED = "rejected"
_LOG_CHARS = 16_384  # tails kept per stream


@dataclass(frozen=True)
class DealFacts:
    """A deal of this pool, as read from the chain when its SchedulerNotice was seen."""

    deal_id: bytes
    requester: str
    beneficiary: str
    app: str
    app_kind: str
    app_multiaddr: str
    app_checksum: bytes
    dataset: str
    dataset_multiaddr: str
    dataset_checksum: bytes
    params: str
    tag: bytes
    callback: str
    trust: int
    tee: bool
    category: int
    time_ref: int
    start_time: int
    bot_first: int
    bot_size: int
    block_number: int


def add_deal(session: Session, facts: DealFacts, now: float) -> bool:
    """Records a deal and one task per index; False when it was already known."""
    deal_hex = to_hex(facts.deal_id)
    if session.get(DealRow, deal_hex) is not None:
        return False
    session.add(
        DealRow(
            deal_id=deal_hex,
            requester=facts.requester.lower(),
            beneficiary=facts.beneficiary.lower(),
            app=facts.app,
            app_kind=facts.app_kind,
            app_multiaddr=facts.app_multiaddr,
            app_checksum=to_hex(facts.app_checksum),
            dataset=facts.dataset,
            dataset_multiaddr=facts.dataset_multiaddr,
            dataset_checksum=to_hex(facts.dataset_checksum),
            params=facts.params,
            tag=to_hex(facts.tag),
            callback=facts.callback,
            trust=facts.trust,
            tee=facts.tee,
            category=facts.category,
            time_ref=facts.time_ref,
            start_time=facts.start_time,
            bot_first=facts.bot_first,
            bot_size=facts.bot_size,
            block_number=facts.block_number,
        )
    )
    session.flush()
    slots = replicates_wanted(facts.trust, {}, 0)
    session.execute(
        insert(TaskRow),
        [
            {
                "task_id": to_hex(compute_task_id(facts.deal_id, index)),
                "deal_id": deal_hex,
                "index": index,
                "state": TaskState.PENDING,
                "open_slots": slots,
                "round": 0,
                "consensus_hash": "",
                "reveal_deadline": 0,
                "digest": "",
                "results": "",
                "callback_data": "",
                "reported_results": "",
                "reported_callback_data": "",
                "uploader": "",
                "upload_asked_at": 0.0,
                "finalize_sent_at": 0.0,
                "reopen_sent_at": 0.0,
                "claim_sent_at": 0.0,
                "app_failures": 0,
                "worker_failures": 0,
                "failure": "",
                "failure_record": "",
                "updated_at": now,
            }
            for index in range(facts.bot_first, facts.bot_first + facts.bot_size)
        ],
    )
    return True


def _task(session: Session, task_hex: str) -> TaskRow | None:
    return session.execute(select(TaskRow).where(TaskRow.task_id == task_hex)).scalar_one_or_none()


def _replicate(session: Session, task_hex: str, worker: str) -> ReplicateRow | None:
    return session.execute(
        select(ReplicateRow).where(
            ReplicateRow.task_id == task_hex, ReplicateRow.worker == worker.lower()
        )
    ).scalar_one_or_none()


def refresh_slots(session: Session, task: TaskRow, trust: int | None = None) -> None:
    """Recomputes how many replicates the task wants now (0 unless it is open)."""
    if task.state not in TaskState.OPEN:
        task.open_slots = 0
        return
    if trust is None:
        trust = session.execute(
            select(DealRow.trust).where(DealRow.deal_id == task.deal_id)
        ).scalar_one()
    groups: dict[str, list[int]] = defaultdict(list)
    contributed: set[str] = set()
    for row in session.execute(
        select(ContributionRow).where(ContributionRow.task_id == task.task_id)
    ).scalars():
        contributed.add(row.worker)
        if not row.rejected:
            groups[row.result_hash].append(row.weight)
    pending = session.execute(
        select(func.count())
        .select_from(ReplicateRow)
        .where(ReplicateRow.task_id == task.task_id, ReplicateRow.pending.is_(True))
    ).scalar_one()
    task.open_slots = replicates_wanted(trust, groups, int(pending))


def apply_contribution(
    session: Session, task_hex: str, worker: str, result_hash: bytes, weight: int, now: float
) -> None:
    task = _task(session, task_hex)
    if task is None:
        return
    worker = worker.lower()
    if session.get(ContributionRow, (task_hex, worker)) is None:
        session.add(
            ContributionRow(
                task_id=task_hex,
                worker=worker,
                result_hash=to_hex(result_hash),
                weight=weight,
                round=task.round,
                revealed=False,
                rejected=False,
            )
        )
    if task.state == TaskState.PENDING:
        task.state = TaskState.ACTIVE
    replicate = _replicate(session, task_hex, worker)
    if replicate is not None:
        replicate.pending = False
        replicate.busy = False
        if replicate.status in (ASSIGNED, *_COMPUTING):
            replicate.status = ReplicateStatus.CONTRIBUTED.value
        replicate.updated_at = now
    task.updated_at = now
    session.flush()
    refresh_slots(session, task)


_COMPUTING = (
    ReplicateStatus.STARTED.value,
    ReplicateStatus.APP_FETCHED.value,
    ReplicateStatus.DATA_FETCHED.value,
    ReplicateStatus.COMPUTED.value,
)


def apply_consensus(
    session: Session, task_hex: str, result_hash: bytes, reveal_deadline: int, now: float
) -> None:
    task = _task(session, task_hex)
    if task is None or task.state in (*TaskState.FINAL, TaskState.REVEALING):
        return
    task.state = TaskState.REVEALING
    task.consensus_hash = to_hex(result_hash)
    task.reveal_deadline = reveal_deadline
    task.open_slots = 0
    task.updated_at = now
    winners = {
        row.worker
        for row in session.execute(
            select(ContributionRow).where(
                ContributionRow.task_id == task_hex,
                ContributionRow.result_hash == task.consensus_hash,
                ContributionRow.rejected.is_(False),
            )
        ).scalars()
    }
    for replicate in session.execute(
        select(ReplicateRow).where(ReplicateRow.task_id == task_hex)
    ).scalars():
        if replicate.worker in winners:
            if replicate.status != ReplicateStatus.REVEALED.value:
                replicate.action = "reveal"
        elif replicate.pending:
            replicate.pending = False
            replicate.busy = False
            replicate.action = "abort"
        replicate.updated_at = now


def apply_reveal(session: Session, task_hex: str, worker: str, digest: bytes, now: float) -> None:
    task = _task(session, task_hex)
    if task is None:
        return
    worker = worker.lower()
    contribution = session.get(ContributionRow, (task_hex, worker))
    if contribution is not None:
        contribution.revealed = True
    task.digest = to_hex(digest)
    replicate = _replicate(session, task_hex, worker)
    if replicate is not None and replicate.action == "reveal":
        replicate.action = ""
        replicate.status = ReplicateStatus.REVEALED.value
    if (
        task.state == TaskState.REVEALING
        and not take_failure_record(session, task, now)
        and not task.uploader
    ):
        choose_uploader(session, task, now)


def take_failure_record(session: Session, task: TaskRow, now: float) -> bool:
    """Whether the task's revealed digest is a failure record's: then the record, taken
    from a winner's report and checked (keccak256(record) == the digest), is what finalize
    sends, and nobody uploads. False while no winner reported a matching record."""
    if task.failure_record:
        return True
    if task.state != TaskState.REVEALING or not task.digest:
        return False
    digest = from_hex(task.digest)
    rows = session.execute(
        select(ReplicateRow)
        .join(
            ContributionRow,
            (ContributionRow.task_id == ReplicateRow.task_id)
            & (ContributionRow.worker == ReplicateRow.worker),
        )
        .where(
            ReplicateRow.task_id == task.task_id,
            ReplicateRow.failure_record != "",
            ContributionRow.result_hash == task.consensus_hash,
            ContributionRow.rejected.is_(False),
        )
    ).scalars()
    for replicate in rows:
        record = from_hex(replicate.failure_record)
        if keccak(record) == digest and FailureRecord.decode(record) is not None:
            task.failure_record = replicate.failure_record
            task.updated_at = now
            if task.uploader:  # asked before the record was known: no upload is needed
                uploader = _replicate(session, task.task_id, task.uploader)
                if uploader is not None and uploader.action == "upload":
                    uploader.action = ""
            return True
    return False


def choose_uploader(session: Session, task: TaskRow, now: float) -> bool:
    """Asks a revealed winner (not lost, not the one that failed) to upload the result."""
    candidates = session.execute(
        select(ContributionRow.worker)
        .join(WorkerRow, WorkerRow.address == ContributionRow.worker, isouter=True)
        .where(
            ContributionRow.task_id == task.task_id,
            ContributionRow.revealed.is_(True),
            ContributionRow.worker != task.uploader,
            WorkerRow.lost.is_not(True),
        )
        .order_by(ContributionRow.worker)
    ).scalars()
    for worker in candidates:
        replicate = _replicate(session, task.task_id, worker)
        if replicate is None or replicate.status == ReplicateStatus.UPLOAD_FAILED.value:
            continue
        task.uploader = worker
        task.upload_asked_at = now
        task.reported_results = task.reported_callback_data = ""  # the previous uploader's
        replicate.action = "upload"
        replicate.updated_at = now
        return True
    return False


def apply_reopen(session: Session, task_hex: str, now: float) -> None:
    task = _task(session, task_hex)
    if task is None or task.state != TaskState.REVEALING:
        return
    consensus = task.consensus_hash
    session.execute(
        update(ContributionRow)
        .where(ContributionRow.task_id == task_hex, ContributionRow.result_hash == consensus)
        .values(rejected=True)
    )
    losers = select(ContributionRow.worker).where(
        ContributionRow.task_id == task_hex, ContributionRow.result_hash == consensus
    )
    session.execute(
        update(ReplicateRow)
        .where(ReplicateRow.task_id == task_hex, ReplicateRow.worker.in_(losers))
        .values(status=REJECTED, action="abort", pending=False, busy=False, updated_at=now)
    )
    task.state = TaskState.ACTIVE
    task.round += 1
    task.consensus_hash = ""
    task.reveal_deadline = 0
    task.digest = ""
    task.results = ""
    task.callback_data = ""
    task.reported_results = task.reported_callback_data = ""
    task.uploader = ""
    task.failure_record = ""
    task.finalize_sent_at = 0.0
    task.reopen_sent_at = 0.0
    task.updated_at = now
    session.flush()
    refresh_slots(session, task)


# Statuses of a replicate whose worker has a contribution on chain (or may have).
_CONTRIBUTED = (
    ReplicateStatus.CONTRIBUTED.value,
    ReplicateStatus.REVEALED.value,
    ReplicateStatus.UPLOADED.value,
)
_HOLDING = (
    ASSIGNED,
    ReplicateStatus.STARTED.value,
    ReplicateStatus.APP_FETCHED.value,
    ReplicateStatus.DATA_FETCHED.value,
    ReplicateStatus.COMPUTED.value,
    ReplicateStatus.CONTRIBUTED.value,
    ReplicateStatus.REVEALED.value,
    ReplicateStatus.UPLOADED.value,
)


def _close_replicates(
    session: Session, task_hex: str, now: float, *, keep_contributed: bool = False
) -> None:
    """Tells every worker still holding the task (computing it, or keeping a contributed
    result or failure record for it) to drop it; with `keep_contributed`, only those that
    have not contributed."""
    holding = (
        ReplicateRow.status.in_(_HOLDING)
        | (ReplicateRow.action != "")
        | (ReplicateRow.failure_record != "")
    )
    if keep_contributed:
        holding &= ReplicateRow.status.not_in(_CONTRIBUTED) & (ReplicateRow.failure_record == "")
    session.execute(
        update(ReplicateRow)
        .where(ReplicateRow.task_id == task_hex, holding)
        .values(action="abort", pending=False, busy=False, updated_at=now)
    )


def forget_running(session: Session, worker: str, now: float) -> None:
    """A worker (re)registers: whatever it was computing is gone with its old process."""
    rows = list(
        session.execute(
            select(ReplicateRow).where(ReplicateRow.worker == worker, ReplicateRow.busy.is_(True))
        ).scalars()
    )
    for replicate in rows:
        replicate.status = LOST
        replicate.busy = False
        replicate.pending = False
        replicate.updated_at = now
    session.flush()
    for replicate in rows:
        task = _task(session, replicate.task_id)
        if task is not None:
            refresh_slots(session, task)


def apply_finalize(
    session: Session, task_hex: str, digest: bytes, results: bytes, now: float
) -> None:
    task = _task(session, task_hex)
    if task is None or task.state in (TaskState.COMPLETED, TaskState.SETTLED_FAILED):
        return
    task.state = TaskState.COMPLETED
    task.digest = to_hex(digest)
    task.results = results.decode("utf-8", errors="replace")
    task.open_slots = 0
    task.updated_at = now
    _close_replicates(session, task_hex, now)


def apply_failed(session: Session, task_hex: str, record: FailureRecord, now: float) -> None:
    """`TaskFailed`: the task settled on chain with a failure record (errors are results)."""
    task = _task(session, task_hex)
    if task is None or task.state in (TaskState.COMPLETED, TaskState.SETTLED_FAILED):
        return
    task.state = TaskState.SETTLED_FAILED
    task.failure = record.describe()
    task.failure_record = to_hex(record.encode())
    task.digest = to_hex(record.digest())
    task.open_slots = 0
    task.updated_at = now
    _close_replicates(session, task_hex, now)


def apply_claimed(session: Session, task_hex: str, now: float) -> None:
    task = _task(session, task_hex)
    if task is None or task.state == TaskState.CLAIMED:
        return
    task.state = TaskState.CLAIMED
    task.open_slots = 0
    if not task.failure:
        task.failure = "not completed before the final deadline"
    task.updated_at = now
    _close_replicates(session, task_hex, now)


def fail_task(session: Session, task: TaskRow, reason: str, now: float) -> None:
    """Gives a task up off chain; its refund is claimed after the final deadline.

    Workers still computing it are told to drop it; a worker that contributed keeps its
    result (its journal) until the chain says what became of the task: the failure
    reports that gave it up may have raced a consensus the scheduler has not followed
    yet, and `apply_consensus` then brings the task back with its winners."""
    if task.state in (*TaskState.FINAL, TaskState.FAILED):
        return
    task.state = TaskState.FAILED
    task.failure = reason
    task.open_slots = 0
    task.updated_at = now
    _close_replicates(session, task.task_id, now, keep_contributed=True)


def next_action(session: Session, worker: str) -> tuple[ReplicateRow, TaskRow, DealRow] | None:
    """The oldest order waiting for `worker` (reveal, upload, abort)."""
    row = session.execute(
        select(ReplicateRow, TaskRow, DealRow)
        .join(TaskRow, TaskRow.task_id == ReplicateRow.task_id)
        .join(DealRow, DealRow.deal_id == TaskRow.deal_id)
        .where(ReplicateRow.worker == worker, ReplicateRow.action != "")
        .order_by(ReplicateRow.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    return row[0], row[1], row[2]


def next_task_for(
    session: Session,
    worker: WorkerRow,
    chain_now: int,
    now: float,
    *,
    operator_keys: Collection[str] = (),
) -> tuple[TaskRow, DealRow] | None:
    """Assigns the oldest task that wants a replicate and that `worker` can run and that
    neither it nor another key of its operator (`operator_keys`, lower case) has worked
    on: a new replicate, one open slot fewer. None when the worker is full."""
    busy = session.execute(
        select(func.count())
        .select_from(ReplicateRow)
        .where(ReplicateRow.worker == worker.address, ReplicateRow.busy.is_(True))
    ).scalar_one()
    if busy >= worker.max_tasks:
        return None
    # One replicate per operator per task (security H3): a task's replicates must be
    # independent for consensus to mean anything.
    keys = sorted({worker.address, *operator_keys})
    already = exists().where(ReplicateRow.task_id == TaskRow.task_id, ReplicateRow.worker.in_(keys))
    kinds = [kind for kind in worker.runtimes.split(",") if kind]
    query = (
        select(TaskRow, DealRow)
        .join(DealRow, DealRow.deal_id == TaskRow.deal_id)
        .where(
            TaskRow.state.in_(TaskState.OPEN),
            TaskRow.open_slots > 0,
            ~already,
            DealRow.app_kind.in_(kinds),
            DealRow.start_time + CONTRIBUTION_DEADLINE_RATIO * DealRow.time_ref > chain_now,
        )
        .order_by(TaskRow.id)
        .limit(1)
    )
    if not worker.tee:
        query = query.where(DealRow.tee.is_(False))
    row = session.execute(query).first()
    if row is None:
        return None
    task, deal = row[0], row[1]
    session.add(
        ReplicateRow(
            task_id=task.task_id,
            worker=worker.address,
            status=ASSIGNED,
            busy=True,
            pending=True,
            action="",
            exit_code=None,
            stdout="",
            stderr="",
            detail="",
            failure_record="",
            created_at=now,
            updated_at=now,
        )
    )
    task.open_slots -= 1
    task.updated_at = now
    return task, deal


def apply_report(
    session: Session,
    worker: str,
    task_hex: str,
    report: StatusReport,
    now: float,
    *,
    worker_failures_to_fail: int,
) -> bool:
    """Records a worker's report; False when the worker holds no replicate of the task.

    An app-fault report with a failure record says the worker committed that record on
    chain: its replicate waits for the chain like a contributed one, and the record is
    kept for finalize. An app-fault report without a record (a worker that predates
    records) counts as the worker's failure: one false report cannot kill a task (M1), and
    another worker commits a record. Worker-side failures free the slot for another worker,
    up to `worker_failures_to_fail`."""
    replicate = _replicate(session, task_hex, worker)
    task = _task(session, task_hex)
    if replicate is None or task is None:
        return False
    status = report.status
    was_contributed = replicate.status in (
        ReplicateStatus.CONTRIBUTED.value,
        ReplicateStatus.REVEALED.value,
        ReplicateStatus.UPLOADED.value,
    )
    replicate.updated_at = now
    if report.exit_code is not None:
        replicate.exit_code = report.exit_code
    if report.stdout or report.stderr:
        replicate.stdout = report.stdout[-_LOG_CHARS:]
        replicate.stderr = report.stderr[-_LOG_CHARS:]
    if report.detail:
        replicate.detail = report.detail[-_LOG_CHARS:]
    if report.failure_record and (status.app_fault or status in _AFTER_CONTRIBUTION):
        replicate.failure_record = report.failure_record.lower()
    if status.app_fault and report.failure_record:
        # Committed on chain (contributed, or settled at trust 1): the chain's events
        # decide what happens to the task, not this report.
        if replicate.status not in (REJECTED, LOST):
            replicate.status = status.value
        replicate.busy = False
        take_failure_record(session, task, now)
        return True
    if status is ReplicateStatus.UPLOAD_FAILED and was_contributed:
        replicate.status = status.value
        replicate.action = ""
        if task.uploader == replicate.worker and task.state == TaskState.REVEALING:
            choose_uploader(session, task, now)
        return True
    if status.failure:
        if replicate.status not in (REJECTED, LOST):
            replicate.status = status.value
        replicate.action = ""
        if was_contributed or not replicate.pending:
            return True
        replicate.busy = False
        replicate.pending = False
        if status is not ReplicateStatus.ABORTED:
            task.worker_failures += 1
            if task.worker_failures >= worker_failures_to_fail:
                fail_task(session, task, _failure_text(status, report), now)
                return True
        session.flush()
        refresh_slots(session, task)
        return True
    if replicate.status in (REJECTED, LOST) and status not in _AFTER_CONTRIBUTION:
        return True
    if replicate.status not in _ORDER or _ORDER.index(status.value) >= _ORDER.index(
        replicate.status
    ):
        replicate.status = status.value
    if status in (ReplicateStatus.CONTRIBUTED, ReplicateStatus.COMPLETED):
        replicate.busy = False
        if status is ReplicateStatus.COMPLETED:
            # It may arrive after TaskFinalize told the worker to drop the task: no need.
            replicate.pending = False
            replicate.action = ""
    elif status is ReplicateStatus.REVEALED:
        if replicate.action == "reveal":
            replicate.action = ""
        contribution = session.get(ContributionRow, (task_hex, replicate.worker))
        if contribution is not None:
            contribution.revealed = True
        if (
            task.state == TaskState.REVEALING
            and not take_failure_record(session, task, now)
            and not task.uploader
        ):
            choose_uploader(session, task, now)
    elif status is ReplicateStatus.UPLOADED:
        if replicate.action == "upload":
            replicate.action = ""
        # Only the winner asked to upload names the result that `finalize` sends: any
        # other worker holding a replicate (a loser, a rejected one) is not believed. And
        # it is not believed either until the driver checked the upload (accept_upload).
        if (
            task.state == TaskState.REVEALING
            and report.results
            and task.uploader == replicate.worker
            and not task.results
        ):
            task.reported_results = report.results
            task.reported_callback_data = report.callback_data
        elif report.failure_record:
            take_failure_record(session, task, now)
    return True


_ORDER = [
    ASSIGNED,
    *_COMPUTING,
    ReplicateStatus.CONTRIBUTED.value,
    ReplicateStatus.REVEALED.value,
    ReplicateStatus.UPLOADED.value,
    ReplicateStatus.COMPLETED.value,
]
_AFTER_CONTRIBUTION = (
    ReplicateStatus.CONTRIBUTED,
    ReplicateStatus.REVEALED,
    ReplicateStatus.UPLOADED,
    ReplicateStatus.COMPLETED,
)


def _failure_text(status: ReplicateStatus, report: StatusReport) -> str:
    parts = [status.value]
    if report.exit_code is not None:
        parts.append(f"exit code {report.exit_code}")
    if report.detail and report.detail not in parts:  # workers often say "exit code N"
        parts.append(report.detail)
    return ": ".join(parts[:1]) + (" (" + "; ".join(parts[1:]) + ")" if parts[1:] else "")


def upload_claims(session: Session) -> list[UploadClaim]:
    """The uploads reported and not checked yet, oldest task first."""
    rows = session.execute(
        select(TaskRow, DealRow.callback)
        .join(DealRow, DealRow.deal_id == TaskRow.deal_id)
        .where(
            TaskRow.state == TaskState.REVEALING,
            TaskRow.reported_results != "",
            TaskRow.results == "",
        )
        .order_by(TaskRow.id)
    ).all()
    return [
        UploadClaim(
            task_id=from_hex(task.task_id),
            consensus_hash=from_hex(task.consensus_hash),
            callback=callback,
            uploader=task.uploader,
            results=task.reported_results,
            callback_data=task.reported_callback_data,
        )
        for task, callback in rows
    ]


def _claimed(session: Session, claim: UploadClaim) -> TaskRow | None:
    """The task of `claim` when it still waits for that very check (the state lock was
    released while the upload was checked)."""
    task = _task(session, to_hex(claim.task_id))
    if (
        task is None
        or task.state != TaskState.REVEALING
        or task.results
        or task.uploader != claim.uploader
        or task.reported_results != claim.results
        or task.reported_callback_data != claim.callback_data
    ):
        return None
    return task


def accept_upload(session: Session, claim: UploadClaim, now: float) -> bool:
    """The upload passed its check: `finalize` may send its pointer."""
    task = _claimed(session, claim)
    if task is None:
        return False
    task.results, task.callback_data = claim.results, claim.callback_data
    task.reported_results = task.reported_callback_data = ""
    task.updated_at = now
    return True


def refuse_upload(session: Session, claim: UploadClaim, reason: str, now: float) -> bool:
    """The upload failed its check: the uploader's replicate is a failed upload, with the
    reason in the task's logs, and another revealed winner is asked to upload."""
    task = _claimed(session, claim)
    if task is None:
        return False
    task.reported_results = task.reported_callback_data = ""
    task.updated_at = now
    replicate = _replicate(session, task.task_id, claim.uploader)
    if replicate is not None:
        replicate.status = ReplicateStatus.UPLOAD_FAILED.value
        replicate.action = ""
        replicate.detail = f"the scheduler refused this upload: {reason}"
        replicate.updated_at = now
    if not choose_uploader(session, task, now):
        task.uploader = ""  # the next winner to reveal is asked at once
    return True


def mark_lost_workers(session: Session, silent_since: float, now: float) -> list[str]:
    """Workers silent since `silent_since` become lost; their replicates that may still
    contribute are given up, so the tasks want other workers, and a lost uploader is
    replaced. Returns the ids of the tasks that changed."""
    lost = list(
        session.execute(
            select(WorkerRow).where(
                WorkerRow.lost.is_(False), WorkerRow.last_seen_at < silent_since
            )
        ).scalars()
    )
    touched: list[str] = []
    for worker in lost:
        worker.lost = True
        replicates: Iterable[ReplicateRow] = session.execute(
            select(ReplicateRow).where(
                ReplicateRow.worker == worker.address, ReplicateRow.pending.is_(True)
            )
        ).scalars()
        for replicate in list(replicates):
            replicate.status = LOST
            replicate.pending = False
            replicate.busy = False
            replicate.action = ""
            replicate.updated_at = now
            touched.append(replicate.task_id)
    session.flush()
    for task_hex in touched:
        task = _task(session, task_hex)
        if task is not None:
            refresh_slots(session, task)
    for task in session.execute(
        select(TaskRow).where(
            TaskRow.state == TaskState.REVEALING,
            TaskRow.uploader.in_([worker.address for worker in lost]),
            TaskRow.results == "",
            TaskRow.reported_results == "",  # its upload is there to be checked
        )
    ).scalars():
        if choose_uploader(session, task, now):
            touched.append(task.task_id)
    return touched
