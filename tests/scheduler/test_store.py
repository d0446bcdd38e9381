"""The scheduler's state transitions on SQLite and PostgreSQL: migrations, deals and
tasks, assignment by the consensus rule, consensus, reveal, upload and its check, lost
workers, failures. Each PostgreSQL run gets its own fresh database, dropped afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from veritask.domain.failures import FailureKind, FailureRecord, stderr_digest
from veritask.domain.ids import task_id, to_hex
from veritask.domain.tasks import result_hash
from veritask.scheduler import transitions
from veritask.scheduler.store import (
    MIGRATIONS,
    Base,
    ReplicateRow,
    TaskRow,
    TaskState,
    WorkerRow,
    make_sessions,
)
from veritask.sdk.scheduler_api import ReplicateStatus, StatusReport
from veritask.serving import make_engine, migrate

DEAL = bytes.fromhex("d0" * 32)
NOW = 1_000.0
CHAIN_NOW = 1_700_000_000


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    migrate(engine, MIGRATIONS)
    yield make_sessions(engine)
    engine.dispose()


def _deal(trust: int, size: int = 1) -> transitions.DealFacts:
    return transitions.DealFacts(
        deal_id=DEAL,
        requester="0x" + "aa" * 20,
        beneficiary="0x" + "aa" * 20,
        app="0x" + "bb" * 20,
        app_kind="oci",
        app_multiaddr="localhost/veritask/hello:1",
        app_checksum=b"\x01" * 32,
        dataset="0x" + "00" * 20,
        dataset_multiaddr="",
        dataset_checksum=bytes(32),
        params="",
        tag=bytes(32),
        callback="0x" + "00" * 20,
        trust=trust,
        tee=False,
        category=0,
        time_ref=300,
        start_time=CHAIN_NOW,
        bot_first=0,
        bot_size=size,
        block_number=1,
    )


def _worker(session: Session, number: int) -> WorkerRow:
    row = WorkerRow(
        address=f"0x{number:040x}",
        name=f"w{number}",
        cpus=1,
        memory_bytes=2**30,
        runtimes="oci,wasm",
        tee=False,
        max_tasks=1,
        last_seen_at=NOW,
        lost=False,
    )
    session.add(row)
    return row


TASK = "0x" + task_id(DEAL, 0).hex()


def _replicates(session: Session) -> dict[str, tuple[str, str]]:
    rows = session.execute(select(ReplicateRow)).scalars()
    return {row.worker: (row.status, row.action) for row in rows}


def test_migrate__twice__matches_the_models(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine, MIGRATIONS)
    migrate(engine, MIGRATIONS)
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert diff == []


def test_add_deal__twice__records_it_once_with_its_tasks(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        assert transitions.add_deal(session, _deal(1, size=3), NOW)
        assert not transitions.add_deal(session, _deal(1, size=3), NOW)
    with sessions() as session:
        tasks = session.execute(select(TaskRow).order_by(TaskRow.id)).scalars().all()
    assert [(t.index, t.state, t.open_slots) for t in tasks] == [
        (0, TaskState.PENDING, 1),
        (1, TaskState.PENDING, 1),
        (2, TaskState.PENDING, 1),
    ]


def test_assignment__trust_3__two_workers_then_more_only_after_a_disagreement(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        transitions.add_deal(session, _deal(3), NOW)
        workers = [_worker(session, n) for n in range(1, 6)]
        session.flush()
        first = transitions.next_task_for(session, workers[0], CHAIN_NOW, NOW)
        again = transitions.next_task_for(session, workers[0], CHAIN_NOW, NOW)
        second = transitions.next_task_for(session, workers[1], CHAIN_NOW, NOW)
        third = transitions.next_task_for(session, workers[2], CHAIN_NOW, NOW)
        assert first is not None
        assert second is not None
        assert (again, third) == (None, None)

        transitions.apply_contribution(session, TASK, workers[0].address, b"\x0a" * 32, 2, NOW)
        transitions.apply_contribution(session, TASK, workers[1].address, b"\x0b" * 32, 2, NOW)
        task = session.execute(select(TaskRow)).scalar_one()
        assert (task.state, task.open_slots) == (TaskState.ACTIVE, 2)
        assert transitions.next_task_for(session, workers[2], CHAIN_NOW, NOW) is not None
        assert transitions.next_task_for(session, workers[3], CHAIN_NOW, NOW) is not None
        assert transitions.next_task_for(session, workers[4], CHAIN_NOW, NOW) is None


def test_consensus__winners_reveal__one_uploads_and_the_checked_result_is_kept(
    sessions: sessionmaker[Session],
) -> None:
    agreed, other = b"\x0a" * 32, b"\x0b" * 32
    with sessions.begin() as session:
        transitions.add_deal(session, _deal(3), NOW)
        workers = [_worker(session, n) for n in range(1, 4)]
        session.flush()
        for worker, result in zip(workers, (other, agreed, agreed), strict=True):
            transitions.next_task_for(session, worker, CHAIN_NOW, NOW)
            transitions.apply_contribution(session, TASK, worker.address, result, 2, NOW)
        transitions.apply_consensus(session, TASK, agreed, CHAIN_NOW + 600, NOW)
        liar, first, second = (w.address for w in workers)
        assert _replicates(session) == {
            liar: ("contributed", ""),
            first: ("contributed", "reveal"),
            second: ("contributed", "reveal"),
        }
        transitions.apply_reveal(session, TASK, first, b"\xdd" * 32, NOW)
        assert _replicates(session)[first] == ("revealed", "upload")
        assert transitions.next_action(session, first) is not None
        report = StatusReport(status=ReplicateStatus.UPLOADED, results='{"storage":"ipfs"}')
        assert transitions.apply_report(
            session, first, TASK, report, NOW, worker_failures_to_fail=3
        )
        task = session.execute(select(TaskRow)).scalar_one()
        # Reported, not accepted: the driver checks the upload first (test_upload_check.py).
        assert (task.state, task.results, task.reported_results, task.uploader) == (
            TaskState.REVEALING,
            "",
            '{"storage":"ipfs"}',
            first,
        )
        (claim,) = transitions.upload_claims(session)
        assert (claim.uploader, claim.results, claim.consensus_hash) == (
            first,
            '{"storage":"ipfs"}',
            agreed,
        )
        assert transitions.accept_upload(session, claim, NOW)
        assert (task.results, task.reported_results) == ('{"storage":"ipfs"}', "")
        assert transitions.upload_claims(session) == []
        transitions.apply_finalize(session, TASK, b"\xdd" * 32, b"{}", NOW)
        assert task.state == TaskState.COMPLETED
        assert {action for _, action in _replicates(session).values()} == {"abort"}


def test_refused_upload__no_other_winner_revealed__the_next_to_reveal_is_asked(
    sessions: sessionmaker[Session],
) -> None:
    agreed = b"\x0a" * 32
    with sessions.begin() as session:
        transitions.add_deal(session, _deal(3), NOW)
        liar, late = _worker(session, 1), _worker(session, 2)
        session.flush()
        for worker in (liar, late):
            transitions.next_task_for(session, worker, CHAIN_NOW, NOW)
            transitions.apply_contribution(session, TASK, worker.address, agreed, 2, NOW)
        transitions.apply_consensus(session, TASK, agreed, CHAIN_NOW + 600, NOW)
        transitions.apply_reveal(session, TASK, liar.address, b"\xdd" * 32, NOW)
        report = StatusReport(status=ReplicateStatus.UPLOADED, results="bogus")
        transitions.apply_report(
            session,
            liar.address,
            TASK,
            report,
            NOW,
            worker_failures_to_fail=3,
        )
        (claim,) = transitions.upload_claims(session)
        assert transitions.refuse_upload(session, claim, "not an archive", NOW)
        assert not transitions.refuse_upload(session, claim, "twice", NOW)  # settled
        task = session.execute(select(TaskRow)).scalar_one()
        assert (task.uploader, task.results, task.reported_results) == ("", "", "")
        replicate = session.execute(
            select(ReplicateRow).where(ReplicateRow.worker == liar.address)
        ).scalar_one()
        assert (replicate.status, replicate.action, replicate.detail) == (
            "upload_failed",
            "",
            "the scheduler refused this upload: not an archive",
        )
        transitions.apply_reveal(session, TASK, late.address, b"\xdd" * 32, NOW)
        assert (task.uploader, _replicates(session)[late.address]) == (
            late.address,
            ("revealed", "upload"),
        )


def test_lost_worker__its_replicate_is_given_to_another(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        transitions.add_deal(session, _deal(1), NOW)
        gone, spare = _worker(session, 1), _worker(session, 2)
        session.flush()
        assert transitions.next_task_for(session, gone, CHAIN_NOW, NOW) is not None
        assert transitions.next_task_for(session, spare, CHAIN_NOW, NOW) is None
        spare.last_seen_at = NOW + 10
        assert transitions.mark_lost_workers(session, NOW + 5, NOW + 10) == [TASK]
        assert gone.lost
        assert transitions.next_task_for(session, spare, CHAIN_NOW, NOW + 10) is not None
        assert _replicates(session)[gone.address] == ("lost", "")


EXIT_1 = FailureRecord(FailureKind.APP_EXIT, 1, stderr_digest(b"boom"))


def _report(session: Session, worker: str, report: StatusReport) -> bool:
    return transitions.apply_report(session, worker, TASK, report, NOW, worker_failures_to_fail=3)


def test_app_failure__with_a_record__waits_for_the_chain_then_settles_failed(
    sessions: sessionmaker[Session],
) -> None:
    """Errors are results: the report fails nothing; TaskFailed settles the task."""
    with sessions.begin() as session:
        transitions.add_deal(session, _deal(1), NOW)
        worker = _worker(session, 1)
        session.flush()
        transitions.next_task_for(session, worker, CHAIN_NOW, NOW)
        report = StatusReport(
            status=ReplicateStatus.APP_FAILED,
            exit_code=1,
            stderr="boom",
            failure_record=to_hex(EXIT_1.encode()),
        )
        assert _report(session, worker.address, report)
        task = session.execute(select(TaskRow)).scalar_one()
        assert (task.state, task.failure, task.open_slots) == (TaskState.PENDING, "", 0)
        replicate = session.execute(select(ReplicateRow)).scalar_one()
        assert (replicate.status, replicate.exit_code, replicate.stderr, replicate.busy) == (
            "app_failed",
            1,
            "boom",
            False,
        )
        assert replicate.failure_record == to_hex(EXIT_1.encode())

        transitions.apply_failed(session, TASK, EXIT_1, NOW)
        assert (task.state, task.failure) == (
            TaskState.SETTLED_FAILED,
            "the app exited with code 1",
        )
        assert task.failure_record == to_hex(EXIT_1.encode())
        assert _replicates(session) == {worker.address: ("app_failed", "abort")}
        transitions.apply_failed(session, TASK, EXIT_1, NOW + 1)  # replayed: no change
        assert task.updated_at == NOW


def test_app_failure__without_a_record__counts_as_the_workers_failure(
    sessions: sessionmaker[Session],
) -> None:
    """A worker that predates failure records: another worker tries (and commits one)."""
    with sessions.begin() as session:
        transitions.add_deal(session, _deal(1), NOW)
        old, spare = _worker(session, 1), _worker(session, 2)
        session.flush()
        transitions.next_task_for(session, old, CHAIN_NOW, NOW)
        report = StatusReport(status=ReplicateStatus.APP_FAILED, exit_code=3, stderr="boom")
        assert _report(session, old.address, report)
        task = session.execute(select(TaskRow)).scalar_one()
        assert (task.state, task.worker_failures) == (TaskState.PENDING, 1)
        assert transitions.next_task_for(session, spare, CHAIN_NOW, NOW) is not None


def test_worker_failure__gives_the_task_to_another_worker(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        transitions.add_deal(session, _deal(1), NOW)
        broken, spare = _worker(session, 1), _worker(session, 2)
        session.flush()
        transitions.next_task_for(session, broken, CHAIN_NOW, NOW)
        report = StatusReport(status=ReplicateStatus.FETCH_FAILED, detail="storage down")
        transitions.apply_report(
            session,
            broken.address,
            TASK,
            report,
            NOW,
            worker_failures_to_fail=3,
        )
        assert transitions.next_task_for(session, spare, CHAIN_NOW, NOW) is not None
        task = session.execute(select(TaskRow)).scalar_one()
        assert (task.state, task.worker_failures) == (TaskState.PENDING, 1)


def test_reregistration__forgets_what_the_old_process_computed(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        transitions.add_deal(session, _deal(1), NOW)
        worker = _worker(session, 1)
        session.flush()
        transitions.next_task_for(session, worker, CHAIN_NOW, NOW)
        transitions.forget_running(session, worker.address, NOW)
        assert _replicates(session) == {worker.address: ("lost", "")}
        task = session.execute(select(TaskRow)).scalar_one()
        assert task.open_slots == 1


def _commit(session: Session, worker: WorkerRow, record: FailureRecord) -> None:
    """`worker` contributed `record`'s digest on chain and reported it."""
    digest = record.digest()
    transitions.apply_contribution(
        session, TASK, worker.address, result_hash(task_id(DEAL, 0), digest), 2, NOW
    )
    report = StatusReport(
        status=ReplicateStatus.APP_FAILED,
        exit_code=record.exit_code,
        failure_record=to_hex(record.encode()),
    )
    assert _report(session, worker.address, report)


def test_app_failure__trust_3__false_reports_do_not_kill_the_task(
    sessions: sessionmaker[Session],
) -> None:
    """Audit M1: no report fails a task; only consensus on a failure record on chain does.
    A liar's record-less report counts once, as its own failure."""
    with sessions.begin() as session:
        transitions.add_deal(session, _deal(3), NOW)
        liar, honest, third = _worker(session, 1), _worker(session, 2), _worker(session, 3)
        session.flush()
        transitions.next_task_for(session, liar, CHAIN_NOW, NOW)
        transitions.next_task_for(session, honest, CHAIN_NOW, NOW)
        lie = StatusReport(status=ReplicateStatus.APP_FAILED, exit_code=3, stderr="lie")
        _report(session, liar.address, lie)
        _report(session, liar.address, lie)  # the same worker again counts once
        task = session.execute(select(TaskRow)).scalar_one()
        assert (task.state, task.worker_failures) == (TaskState.PENDING, 1)
        assert transitions.next_task_for(session, third, CHAIN_NOW, NOW) is not None
        _commit(session, honest, EXIT_1)  # one record: no consensus yet, nothing settles
        task = session.execute(select(TaskRow)).scalar_one()
        assert task.state == TaskState.ACTIVE
        assert task.failure_record == ""


def test_failure_consensus__winner_reveals__finalized_with_the_record_without_upload(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        transitions.add_deal(session, _deal(3), NOW)
        first, second, liar = (_worker(session, n) for n in range(1, 4))
        session.flush()
        transitions.next_task_for(session, liar, CHAIN_NOW, NOW)
        transitions.next_task_for(session, first, CHAIN_NOW, NOW)
        # A non-winner's record (another exit code) is never taken.
        _commit(session, liar, FailureRecord(FailureKind.APP_EXIT, 2, bytes(32)))
        _commit(session, first, EXIT_1)
        assert transitions.next_task_for(session, second, CHAIN_NOW, NOW) is not None
        _commit(session, second, EXIT_1)
        consensus = result_hash(task_id(DEAL, 0), EXIT_1.digest())
        transitions.apply_consensus(session, TASK, consensus, CHAIN_NOW + 600, NOW)
        assert _replicates(session)[first.address] == ("app_failed", "reveal")
        transitions.apply_reveal(session, TASK, first.address, EXIT_1.digest(), NOW)
        task = session.execute(select(TaskRow)).scalar_one()
        assert (task.state, task.failure_record, task.uploader) == (
            TaskState.REVEALING,
            to_hex(EXIT_1.encode()),
            "",
        )
        assert "upload" not in {action for _, action in _replicates(session).values()}


def test_failure_consensus__record_report_lost__the_uploader_names_the_record(
    sessions: sessionmaker[Session],
) -> None:
    """The scheduler asks a winner to upload; a worker with a failure record answers with
    the record instead of a result pointer, and only a record matching the digest counts."""
    with sessions.begin() as session:
        transitions.add_deal(session, _deal(3), NOW)
        first, second = _worker(session, 1), _worker(session, 2)
        session.flush()
        for worker in (first, second):
            transitions.next_task_for(session, worker, CHAIN_NOW, NOW)
            transitions.apply_contribution(
                session,
                TASK,
                worker.address,
                result_hash(task_id(DEAL, 0), EXIT_1.digest()),
                2,
                NOW,
            )
        consensus = result_hash(task_id(DEAL, 0), EXIT_1.digest())
        transitions.apply_consensus(session, TASK, consensus, CHAIN_NOW + 600, NOW)
        transitions.apply_reveal(session, TASK, first.address, EXIT_1.digest(), NOW)
        assert _replicates(session)[first.address] == ("revealed", "upload")
        forged = FailureRecord(FailureKind.APP_EXIT, 9, bytes(32))
        uploaded = StatusReport(
            status=ReplicateStatus.UPLOADED, failure_record=to_hex(forged.encode())
        )
        assert _report(session, first.address, uploaded)
        task = session.execute(select(TaskRow)).scalar_one()
        assert task.failure_record == ""  # keccak256(record) is not the revealed digest
        uploaded = StatusReport(
            status=ReplicateStatus.UPLOADED, failure_record=to_hex(EXIT_1.encode())
        )
        assert _report(session, first.address, uploaded)
        assert task.failure_record == to_hex(EXIT_1.encode())
        assert task.results == ""


def test_worker_failures__after_contributions__winners_keep_their_results_and_reveal(
    sessions: sessionmaker[Session],
) -> None:
    # Reliability (stranded tasks): failure reports that arrived before the scheduler saw
    # consensus failed the task off chain and aborted the winners, who deleted their
    # journals; the chain then showed the task REVEALING and nobody could reveal. The
    # task may be given up, but a worker that contributed keeps its result until the chain
    # says what became of it, and consensus brings the task back.
    agreed, other = b"\x0a" * 32, b"\x0b" * 32
    with sessions.begin() as session:
        transitions.add_deal(session, _deal(3), NOW)
        first, second, third, fourth = (_worker(session, n) for n in range(1, 5))
        session.flush()
        contributed = StatusReport(status=ReplicateStatus.CONTRIBUTED)
        for worker, result in ((first, other), (second, agreed)):
            transitions.next_task_for(session, worker, CHAIN_NOW, NOW)
            transitions.apply_report(
                session, worker.address, TASK, contributed, NOW, worker_failures_to_fail=1
            )
            transitions.apply_contribution(session, TASK, worker.address, result, 2, NOW)
        # A disagreement: two more workers are asked. The third contributes (its event
        # is not followed yet); the fourth fails, and one failure gives the task up.
        for worker in (third, fourth):
            assert transitions.next_task_for(session, worker, CHAIN_NOW, NOW) is not None
        transitions.apply_report(
            session, third.address, TASK, contributed, NOW, worker_failures_to_fail=1
        )
        failed = StatusReport(status=ReplicateStatus.CHAIN_FAILED, detail="node down")
        transitions.apply_report(
            session, fourth.address, TASK, failed, NOW, worker_failures_to_fail=1
        )
        task = session.execute(select(TaskRow)).scalar_one()
        assert task.state == TaskState.FAILED
        replicates = _replicates(session)
        for worker in (first, second, third):
            assert replicates[worker.address] == ("contributed", ""), worker.address

        transitions.apply_contribution(session, TASK, third.address, agreed, 2, NOW)
        transitions.apply_consensus(session, TASK, agreed, CHAIN_NOW + 600, NOW)

        assert task.state == TaskState.REVEALING
        replicates = _replicates(session)
        assert replicates[second.address] == ("contributed", "reveal")
        assert replicates[third.address] == ("contributed", "reveal")
