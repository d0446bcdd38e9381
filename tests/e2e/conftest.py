"""End-to-end fixtures: one `Stack` per module (anvil, storage, market, scheduler, workers
as subprocesses, podman), demo apps installed, and helpers that wait for tasks on chain.
Deals are made as a user makes them: `tests/e2e/journeys.py`."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from veritask.devnet.stack import Stack
from veritask.domain.ids import task_id
from veritask.sdk.scheduler_api import SchedulerClient, TaskLogs
from veritask.worker.apps.build import DemoApp, build_app, install_app
from veritask.worker.runtimes import PodmanRuntime

COMPLETED, FAILED = 3, 4


@pytest.fixture(scope="session")
def hello() -> DemoApp:
    app = build_app("hello")
    install_app(app, PodmanRuntime())
    return app


def task_status(stack: Stack, deal: bytes, index: int) -> int:
    fields: Any = stack.protocol.contracts.hub.functions.task(deal, index).call()
    return int(fields[0])


def wait_for(
    stack: Stack,
    deal: bytes,
    indices: range | list[int],
    *,
    timeout_s: float = 60.0,
    status: int = COMPLETED,
) -> None:
    deadline = time.monotonic() + timeout_s
    pending = list(indices)
    while time.monotonic() < deadline:
        pending = [i for i in pending if task_status(stack, deal, i) != status]
        if not pending:
            return
        time.sleep(0.05)
    logs = {i: logs_of(stack, deal, i) for i in pending[:3]}
    raise AssertionError(f"tasks {pending} not in status {status} after {timeout_s} s: {logs}")


def logs_of(stack: Stack, deal: bytes, index: int) -> TaskLogs:
    with SchedulerClient(stack.scheduler_url) as client:
        return client.task_logs("0x" + task_id(deal, index).hex(), stack.accounts["requester"])


def finalize_events(stack: Stack, task: bytes) -> list[Any]:
    return list(
        stack.protocol.contracts.hub.events.TaskFinalize().get_logs(
            from_block=0, argument_filters={"task_id": task}
        )
    )


def failed_events(stack: Stack, task: bytes) -> list[Any]:
    """`TaskFailed` events of `task`: the failure record it settled with."""
    return list(
        stack.protocol.contracts.hub.events.TaskFailed().get_logs(
            from_block=0, argument_filters={"task_id": task}
        )
    )


def wait_for_logs(
    stack: Stack,
    deal: bytes,
    index: int,
    status: str,
    timeout_s: float = 60.0,
    *,
    replicates: str | None = None,
    until: Callable[[TaskLogs], bool] | None = None,
) -> TaskLogs:
    """The task's logs once the scheduler shows `status` (404 while the deal is unknown)
    and, with `replicates`, every replicate in that status, and `until` holds. The
    scheduler learns a task's status from the chain and a replicate's from its worker's
    report: either may come first."""
    from veritask.errors import SchedulerApiError

    deadline = time.monotonic() + timeout_s
    logs: TaskLogs | None = None
    while time.monotonic() < deadline:
        try:
            logs = logs_of(stack, deal, index)
        except SchedulerApiError as exc:
            if exc.status != 404:
                raise
        if (
            logs is not None
            and logs.status == status
            and (replicates is None or all(r.status == replicates for r in logs.replicates))
            and (until is None or until(logs))
        ):
            return logs
        time.sleep(0.05)
    raise AssertionError(f"task {index} not {status} after {timeout_s} s: {logs}")
