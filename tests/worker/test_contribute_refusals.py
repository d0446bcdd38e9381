"""How a worker reports a refused contribution (reliability: stranded tasks). A revert
that says the task moved on without it is ABORTED, which the scheduler does not count
against the task; any other chain error is CHAIN_FAILED."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from veritask.errors import ChainError, ContractRevert, TransactionPending
from veritask.sdk.scheduler_api import ReplicateStatus
from veritask.worker.agent import TASK_MOVED_ON, contribute_failure_status

TASKS_VY = Path(__file__).resolve().parents[2] / "contracts/hub/tasks.vy"


def test_moved_on_reasons__are_reverts_of_the_hub() -> None:
    reasons = set(re.findall(r'"(tasks: [^"]+)"', TASKS_VY.read_text()))
    assert reasons >= TASK_MOVED_ON


@pytest.mark.parametrize("reason", sorted(TASK_MOVED_ON))
def testcontribute_failure_status__task_moved_on__aborted_not_counted(reason: str) -> None:
    assert contribute_failure_status(ContractRevert(reason)) is ReplicateStatus.ABORTED


@pytest.mark.parametrize(
    "error",
    [
        ContractRevert("tasks: invalid authorization"),
        ContractRevert("tasks: worker balance too low for the stake"),
        ChainError("node unreachable"),
        TransactionPending("not mined yet", "0x" + "ab" * 32),
    ],
)
def testcontribute_failure_status__anything_else__chain_failed(error: ChainError) -> None:
    assert contribute_failure_status(error) is ReplicateStatus.CHAIN_FAILED
