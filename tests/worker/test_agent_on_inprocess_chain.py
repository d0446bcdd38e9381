"""The worker agent's whole trust-1 path with no node: a real scheduler (its API on
loopback, its chain loop run by hand), real storage, a real wasmtime sandbox, and the
protocol on an in-process EVM. The agent asks for work, fetches the app from storage, runs
it, uploads its result archive and calls `contribute_and_finalize`; the task completes on
chain with the digest of the archive that storage serves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.devnet import RLC, Devnet, demo_account, inprocess_chain
from tests.scheduler.conftest import Pool, make_scheduler
from veritask.domain.digest import computed_digest
from veritask.domain.ids import task_id
from veritask.domain.result_archive import parse_result_pointer, unpack_result
from veritask.domain.tasks import TaskStatus
from veritask.sdk.storage import StorageClient
from veritask.serving import serve_app_in_thread
from veritask.storage import StorageSettings, serve_in_thread
from veritask.worker.agent import Agent
from veritask.worker.apps.build import build_app
from veritask.worker.runtimes import WasmtimeRuntime
from veritask.worker.settings import WorkerSettings


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with inprocess_chain() as chain:
        yield chain


def test_agent__trust_1_wasm_task__computed_uploaded_and_finalized(
    devnet: Devnet, tmp_path: Path
) -> None:
    owner, developer, requester = (
        demo_account(f"agent test {role}") for role in ("pool owner", "developer", "requester")
    )
    for account in (owner, developer, requester):
        devnet.fund(account.address, tokens_nrlc=100 * RLC)
    devnet.client.deposit(owner, 100 * RLC)
    devnet.client.deposit(requester, 100 * RLC)
    storage = serve_in_thread(StorageSettings(root=tmp_path / "blobs"))
    try:
        app = build_app("hello-wasm")
        with StorageClient(storage.url) as client:
            cid = client.upload(app.archive, developer)
        address = devnet.client.create_app(
            developer, "hello", "WASM", f"/ipfs/{cid}".encode(), app.archive_checksum
        )
        pool = Pool(
            devnet,
            owner,
            developer,
            requester,
            devnet.client.create_workerpool(owner, "agent tests"),
            address,
        )
        scheduler = make_scheduler(pool, tmp_path)
        api = serve_app_in_thread(scheduler.app, name="agent-test-scheduler")
        worker = demo_account("agent test worker")
        devnet.fund(worker.address)
        agent = Agent(
            WorkerSettings(
                scheduler_url=api.url,
                storage_url=storage.url,
                work_dir=tmp_path / "worker",
                ask_wait_s=0,
            ),
            account=worker,
            runtimes={"wasmtime": WasmtimeRuntime()},
            hub=devnet.client,
        )
        try:
            agent.connect()
            deal = pool.match()
            scheduler.run_once()  # the deal's task is now open to workers

            assert agent.run_once() is True
            scheduler.run_once()

            task = devnet.client.task(deal, 0)
            assert task.status == TaskStatus.COMPLETED
            (final,) = devnet.client.finalizations_logged(
                [task_id(deal, 0)], from_block=0, to_block=devnet.client.head()
            )
            with StorageClient(storage.url) as client:
                archive = client.download(parse_result_pointer(final.results))
            unpack_result(archive, tmp_path / "result", max_bytes=2**20)
            assert computed_digest(tmp_path / "result") == final.digest
            # Pool.match runs the app with iexec_args "hello".
            assert (tmp_path / "result" / "result.txt").read_text() == "Hello, hello!"
        finally:
            agent.close()
            api.stop()
            scheduler.engine.dispose()
    finally:
        storage.stop()
