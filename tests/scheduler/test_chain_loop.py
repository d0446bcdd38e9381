"""The scheduler's chain loop (follow events, then drive transactions and timers) on an
in-process chain, one deterministic `run_once()` at a time: no node, and no chain thread
(the worker API is served on loopback; it does not read the chain). A trust-1
task is followed from its deal to its result, and a task nobody completes is claimed, the
requester refunded, once the final deadline has passed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.devnet import Devnet, inprocess_chain, reverted
from tests.scheduler.conftest import APP_PRICE, WORKERPOOL_PRICE, Pool, admit, make_scheduler
from veritask.domain.ids import task_id
from veritask.domain.orders import ZERO_ADDRESS
from veritask.domain.tasks import TaskStatus
from veritask.scheduler.service import Scheduler
from veritask.scheduler.store import TaskRow, TaskState
from veritask.sdk.scheduler_api import (
    Registration,
    ReplicateStatus,
    SchedulerClient,
    StatusReport,
    WorkKind,
)
from veritask.serving import serve_app_in_thread

RESULTS = b'{"storage":"ipfs","location":"/ipfs/bafkreiloop"}'


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with inprocess_chain() as chain:
        yield chain


@pytest.fixture
def scheduler(pool: Pool, tmp_path: Path) -> Iterator[Scheduler]:
    with reverted(pool.devnet):
        running = make_scheduler(pool, tmp_path)
        server = serve_app_in_thread(running.app, host="127.0.0.1", port=0, name="loop-test")
        running.url = server.url
        try:
            yield running
        finally:
            server.stop()
            running.engine.dispose()


@pytest.fixture
def client(scheduler: Scheduler) -> Iterator[SchedulerClient]:
    """A worker's client of the scheduler's API."""
    with SchedulerClient(scheduler.url, timeout_s=10) as worker_client:
        yield worker_client


def _task_state(scheduler: Scheduler, task: bytes) -> str:
    with scheduler.sessions() as session:
        state = session.scalar(select(TaskRow.state).where(TaskRow.task_id == "0x" + task.hex()))
    assert state is not None, "the scheduler does not know the task"
    return state


def test_run_once__trust_1_deal__assigned_then_completed_from_the_chain(
    pool: Pool, scheduler: Scheduler, client: SchedulerClient
) -> None:
    worker = pool.worker("loop one", deposit=0)
    admit(scheduler, worker)
    client.login(worker)
    client.register(Registration(name="w", cpus=1, memory_bytes=2**30, runtimes=("oci",)))
    deal = pool.match()

    scheduler.run_once()
    task = task_id(deal, 0)
    assert _task_state(scheduler, task) == TaskState.PENDING
    work = client.ask_for_work()
    assert work is not None
    assert (work.kind, work.one_call, work.task_id) == (WorkKind.COMPUTE, True, "0x" + task.hex())
    pool.devnet.client.contribute_and_finalize(
        worker, deal, 0, b"\x22" * 32, RESULTS, ZERO_ADDRESS, b"",
        bytes.fromhex(work.authorization[2:]),
    )  # fmt: skip
    client.report(work.task_id, StatusReport(status=ReplicateStatus.COMPLETED, exit_code=0))

    scheduler.run_once()
    assert _task_state(scheduler, task) == TaskState.COMPLETED
    assert client.task_logs(work.task_id, pool.requester).results == RESULTS.decode()


def test_run_once__past_the_final_deadline__claims_and_refunds_the_requester(
    pool: Pool, scheduler: Scheduler
) -> None:
    hub = pool.devnet.client
    before = hub.account(pool.requester.address)
    deal = pool.match()
    scheduler.run_once()
    price = APP_PRICE + WORKERPOOL_PRICE
    assert hub.account(pool.requester.address) == (before.free - price, before.frozen + price)

    terms = hub.deal(deal)
    pool.devnet.rpc("testing_timeTravel", terms.deadlines.final + 1)
    scheduler.run_once()  # gives up the task, then claims it

    assert hub.task(deal, 0).status == TaskStatus.FAILED
    # Nobody contributed: the requester is refunded and gets the scheduler's stake too.
    stake = WORKERPOOL_PRICE * 30 // 100
    assert hub.account(pool.requester.address) == (before.free + stake, before.frozen)
    assert _task_state(scheduler, task_id(deal, 0)) in (TaskState.FAILED, TaskState.CLAIMED)
