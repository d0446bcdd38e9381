"""Trust 3 end to end: a lying worker and an honest one disagree, the scheduler asks for
more workers until consensus, the winners reveal, one uploads, the scheduler finalizes;
the liar loses its stake and a third of its score, the winners are paid. An app that fails
the same way on every worker reaches consensus on its failure record and settles."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import FAILED, failed_events, finalize_events, wait_for, wait_for_logs
from tests.e2e.journeys import run_through_market
from veritask.devnet.stack import Stack
from veritask.domain.failures import FailureKind
from veritask.domain.ids import task_id
from veritask.worker.apps.build import DemoApp, build_app, install_app
from veritask.worker.runtimes import PodmanRuntime

pytestmark = [pytest.mark.anvil, pytest.mark.podman]

LIAR = {"VERITASK_WORKER_FAULT": "wrong_result"}


@pytest.fixture(scope="module")
def stack(hello: DemoApp) -> Iterator[Stack]:
    with Stack(workers=2, worker_env=[LIAR, {}], market=True) as running:
        yield running


def _contributors(stack: Stack, deal: bytes, index: int) -> int:
    fields: Any = stack.protocol.contracts.hub.functions.task(deal, index).call()
    return int(fields[1])


def test_trust_3__a_wrong_worker__is_outvoted_and_slashed(stack: Stack, hello: DemoApp) -> None:
    # With fresh workers (weight 2) at trust 3, two agreeing workers reach consensus; a
    # wrong one among them means two more honest workers are needed (4 in all).
    app = stack.register_app("hello", hello.image or "", hello.checksum)
    liar, honest = (worker.account.address for worker in stack.workers)
    stake = stack.workerpool_price_nrlc * 30 // 100
    before = {address: stack.protocol.account(address) for address in (liar, honest)}

    deal = run_through_market(stack, app, args="trust", trust=3)
    deadline = time.monotonic() + 60
    while _contributors(stack, deal, 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _contributors(stack, deal, 0) == 2
    assert stack.protocol.account(liar)[1] == before[liar][1] + stake
    late = [stack.add_worker({}), stack.add_worker({})]
    wait_for(stack, deal, [0], timeout_s=90)

    task = task_id(deal, 0)
    assert len(finalize_events(stack, task)) == 1
    assert _contributors(stack, deal, 0) == 4
    assert stack.protocol.account(liar) == (before[liar][0] - stake, before[liar][1])
    assert int(stack.protocol.contracts.hub.functions.score_of(liar).call()) == 0
    winners = [honest, *(worker.account.address for worker in late)]
    for address in winners:
        assert int(stack.protocol.contracts.hub.functions.score_of(address).call()) == 1
    assert stack.protocol.account(honest)[0] > before[honest][0]
    # The scheduler learns of the finalize from the chain, a poll after it happened.
    logs = wait_for_logs(stack, deal, 0, "completed")
    assert logs.status == "completed"
    statuses = {replicate.worker: replicate.status for replicate in logs.replicates}
    assert statuses[liar.lower()] == "contributed"
    assert sorted(statuses[a.lower()] for a in winners).count("revealed") >= 2


def test_trust_3__an_app_that_fails_deterministically__settles_on_the_agreed_failure(
    stack: Stack,
) -> None:
    """Both workers commit the same failure record (the liar's fault only touches
    results), which reaches consensus; they reveal it, the scheduler finalizes with the
    record from a winner's report (nothing is uploaded) and the task settles FAILED."""
    probe = build_app("probe")
    install_app(probe, PodmanRuntime())
    app = stack.register_app("probe", probe.image or "", probe.checksum)
    owner = stack.accounts["workerpool owner"].address
    owner_before = stack.protocol.account(owner)

    deal = run_through_market(stack, app, args="exit3", trust=3)
    wait_for(stack, deal, [0], timeout_s=90, status=FAILED)

    task = task_id(deal, 0)
    assert finalize_events(stack, task) == []
    (event,) = failed_events(stack, task)
    assert (event["args"]["kind"], event["args"]["exit_code"]) == (FailureKind.APP_EXIT, 3)
    assert _contributors(stack, deal, 0) == 2
    logs = wait_for_logs(stack, deal, 0, "settled_failed")
    assert logs.failure == "the app exited with code 3"
    assert all(replicate.exit_code == 3 for replicate in logs.replicates)
    assert stack.protocol.account(owner)[1] == owner_before[1]  # the stake is back
