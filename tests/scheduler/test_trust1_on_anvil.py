"""The scheduler with a scripted worker on anvil: login, registration, a trust-1 task
assigned and completed in one call, logs for the requester only."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.devnet import reverted
from tests.scheduler.conftest import Pool, make_scheduler
from veritask.domain.orders import ZERO_ADDRESS
from veritask.errors import SchedulerApiError
from veritask.sdk.scheduler_api import (
    Registration,
    ReplicateStatus,
    SchedulerClient,
    StatusReport,
    WorkKind,
)

pytestmark = pytest.mark.anvil

RESULTS = b'{"storage":"ipfs","location":"/ipfs/bafkreitest"}'


def test_trust_1__scripted_worker__completes_in_one_call(pool: Pool, tmp_path: Path) -> None:
    with reverted(pool.devnet):
        worker = pool.worker("one", deposit=0)
        scheduler = make_scheduler(pool, tmp_path, members=(worker,))
        url = scheduler.start()
        try:
            client = SchedulerClient(url)
            with pytest.raises(SchedulerApiError) as refused:
                client.heartbeat()
            assert refused.value.status == 401
            client.login(worker)
            config = client.register(
                Registration(name="w1", cpus=1, memory_bytes=2**30, runtimes=("oci",))
            )
            assert config.workerpool == pool.workerpool
            assert client.ask_for_work() is None

            deal = pool.match()
            work = client.ask_for_work(wait_s=5)
            assert work is not None
            assert (work.kind, work.one_call, work.index) == (WorkKind.COMPUTE, True, 0)
            assert work.app is not None
            assert work.app.multiaddr == "localhost/veritask/hello:1"
            client.report(work.task_id, StatusReport(status=ReplicateStatus.STARTED))
            digest = b"\x11" * 32
            pool.devnet.client.contribute_and_finalize(
                worker,
                deal,
                0,
                digest,
                RESULTS,
                ZERO_ADDRESS,
                b"",
                bytes.fromhex(work.authorization[2:]),
            )
            client.report(
                work.task_id,
                StatusReport(status=ReplicateStatus.COMPLETED, exit_code=0, stdout="hello\n"),
            )
            scheduler.run_once()
            logs = client.task_logs(work.task_id, pool.requester)
            assert logs.status == "completed"
            assert logs.results == RESULTS.decode()
            assert [(r.status, r.stdout) for r in logs.replicates] == [("completed", "hello\n")]
            with pytest.raises(SchedulerApiError) as forbidden:
                client.task_logs(work.task_id, worker)
            assert forbidden.value.status == 403
            assert client.ask_for_work() is None
            assert "veritask_scheduler_assignments_total 1.0" in client._http.get("/metrics").text
        finally:
            scheduler.stop()
