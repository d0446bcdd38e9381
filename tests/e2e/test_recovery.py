"""Recovery end to end: a worker killed mid-task (the task completes on another worker)
and a scheduler restarted mid-deal (every task completes, none is finalized twice)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.e2e.conftest import finalize_events, wait_for, wait_for_logs
from tests.e2e.journeys import run_through_market
from veritask.devnet.stack import Stack
from veritask.domain.ids import task_id
from veritask.scheduler.store import ReplicateRow
from veritask.sdk.scheduler_api import TaskLogs
from veritask.worker.apps.build import DemoApp

pytestmark = [pytest.mark.anvil, pytest.mark.podman]


@pytest.fixture(scope="module")
def stack(hello: DemoApp) -> Iterator[Stack]:
    with Stack(workers=1, market=True) as running:
        yield running


@pytest.fixture(scope="module")
def app(stack: Stack, hello: DemoApp) -> str:
    return stack.register_app("hello", hello.image or "", hello.checksum)


def test_worker_killed_mid_task__another_worker_completes_it(stack: Stack, app: str) -> None:
    (first,) = stack.workers
    deal = run_through_market(stack, app, args="killed")
    task = "0x" + task_id(deal, 0).hex()
    assert stack.scheduler is not None
    deadline = time.monotonic() + 30
    assigned = None
    while assigned is None and time.monotonic() < deadline:
        with stack.scheduler.sessions() as session:
            assigned = session.execute(
                select(ReplicateRow).where(ReplicateRow.task_id == task)
            ).scalar_one_or_none()
        time.sleep(0.005)
    assert assigned is not None
    assert assigned.worker == first.account.address.lower()
    stack.kill_worker(first)
    second = stack.add_worker()

    wait_for(stack, deal, [0], timeout_s=60)

    expected = {
        first.account.address.lower(): "lost",
        second.account.address.lower(): "completed",
    }

    # The worker reports its replicate after the chain has the result: wait for it.
    def statuses(logs: TaskLogs) -> dict[str, str]:
        return {r.worker: r.status for r in logs.replicates}

    logs = wait_for_logs(stack, deal, 0, "completed", until=lambda got: statuses(got) == expected)
    assert statuses(logs) == expected


def test_scheduler_restarted_mid_deal__every_task_completes_once(stack: Stack, app: str) -> None:
    # Trust 2 takes one worker per task through contribute, reveal, upload and the
    # scheduler's finalize: the path a restart could break or repeat.
    deal = run_through_market(stack, app, args="restart", volume=6, trust=2)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not finalize_events(stack, task_id(deal, 0)):
        time.sleep(0.02)
    stack.restart_scheduler()
    wait_for(stack, deal, range(6), timeout_s=120)

    for index in range(6):
        assert len(finalize_events(stack, task_id(deal, index))) == 1
        assert wait_for_logs(stack, deal, index, "completed").status == "completed"
