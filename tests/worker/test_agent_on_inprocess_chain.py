"""The worker agent's task paths with no node: a real scheduler (its API on loopback, its
chain loop run by hand), real storage, a real wasmtime sandbox, and the protocol on an
in-process EVM.

- Trust 1: the agent asks for work, fetches the app from storage, runs it, uploads its
  result archive and calls `contribute_and_finalize`; the task completes on chain with the
  digest of the archive that storage serves.
- Audit M3: a scheduler that never asks a worker to reveal cannot take its stake: the
  worker reveals on its own once consensus is on chain; and a worker refuses deals whose
  workerpool policies exceed its limits (a stake of the whole price)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.devnet import RLC, Devnet, demo_account, inprocess_chain, reverted
from tests.scheduler.conftest import Pool, make_scheduler
from veritask.domain.digest import computed_digest
from veritask.domain.ids import task_id
from veritask.domain.result_archive import parse_result_pointer, unpack_result
from veritask.domain.tasks import ContributionStatus, TaskStatus
from veritask.scheduler.service import Scheduler
from veritask.sdk.storage import StorageClient
from veritask.serving import RunningServer, serve_app_in_thread
from veritask.storage import StorageSettings, serve_in_thread
from veritask.worker.agent import Agent
from veritask.worker.apps.build import build_app
from veritask.worker.runtimes import WasmtimeRuntime
from veritask.worker.settings import WorkerSettings


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with inprocess_chain() as chain:
        yield chain


@dataclass
class World:
    devnet: Devnet
    pool: Pool
    storage: RunningServer
    scheduler: Scheduler
    agent: Agent


@pytest.fixture
def world(devnet: Devnet, tmp_path: Path) -> Iterator[World]:
    with reverted(devnet):
        owner, developer, requester, worker = (
            demo_account(f"agent test {role}")
            for role in ("pool owner", "developer", "requester", "worker")
        )
        for account in (owner, developer, requester, worker):
            devnet.fund(account.address, tokens_nrlc=100 * RLC)
        for account in (owner, requester, worker):
            devnet.client.deposit(account, 100 * RLC)
        storage = serve_in_thread(StorageSettings(root=tmp_path / "blobs"))
        app = build_app("hello-wasm")
        with StorageClient(storage.url) as client:
            cid = client.upload(app.archive, developer)
        address = devnet.client.create_app(
            developer, "hello", "WASM", f"/ipfs/{cid}".encode(), app.archive_checksum
        )
        workerpool = devnet.client.create_workerpool(owner, "agent tests")
        pool = Pool(devnet, owner, developer, requester, workerpool, address)
        scheduler = make_scheduler(pool, tmp_path, members=(worker,))
        api = serve_app_in_thread(scheduler.app, name="agent-test-scheduler")
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
            yield World(devnet, pool, storage, scheduler, agent)
        finally:
            agent.close()
            api.stop()
            scheduler.engine.dispose()
            storage.stop()


def test_agent__trust_1_wasm_task__computed_uploaded_and_finalized(
    world: World, tmp_path: Path
) -> None:
    hub = world.devnet.client
    deal = world.pool.match()
    world.scheduler.run_once()  # the deal's task is now open to workers

    assert world.agent.run_once() is True
    world.scheduler.run_once()

    assert hub.task(deal, 0).status == TaskStatus.COMPLETED
    (final,) = hub.finalizations_logged([task_id(deal, 0)], from_block=0, to_block=hub.head())
    with StorageClient(world.storage.url) as client:
        archive = client.download(parse_result_pointer(final.results))
    unpack_result(archive, tmp_path / "result", max_bytes=2**20)
    assert computed_digest(tmp_path / "result") == final.digest
    # Pool.match runs the app with iexec_args "hello".
    assert (tmp_path / "result" / "result.txt").read_text() == "Hello, hello!"


def test_agent__consensus_on_chain_but_no_reveal_order__reveals_on_its_own(
    world: World,
) -> None:
    """Audit M3: the scheduler here follows the chain but never hands out REVEAL work."""
    hub, worker = world.devnet.client, world.agent.address
    deal = world.pool.match(trust=2)  # one fresh worker reaches consensus at trust 2
    world.scheduler.run_once()
    assert world.agent.run_once() is True  # computes and contributes
    task = task_id(deal, 0)
    assert hub.task(deal, 0).status == TaskStatus.REVEALING
    assert hub.contribution(task, worker).status == ContributionStatus.CONTRIBUTED

    world.agent.reveal_on_chain_consensus()

    assert hub.contribution(task, worker).status == ContributionStatus.PROVED


def test_agent__pool_stake_ratio_above_its_limit__refuses_to_contribute(world: World) -> None:
    hub, worker = world.devnet.client, world.agent.address
    hub.change_policy(world.pool.owner, world.pool.workerpool, 100, 100)
    before = hub.account(worker)
    deal = world.pool.match(trust=2)
    world.scheduler.run_once()

    assert world.agent.run_once() is True  # the work is taken, then refused

    assert hub.contribution(task_id(deal, 0), worker).status == ContributionStatus.UNSET
    assert hub.account(worker) == before
