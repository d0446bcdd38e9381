"""Security M2, the scheduler's half: it checks an upload before it accepts the pointer and
finalizes with it. A real scheduler (HTTP API on loopback, `run_once()` driven), a real
storage service and the contracts on an in-process chain; the workers are scripted with
the worker's own client, so that one of them can lie. At trust 3 two fresh workers agree,
both reveal, and the first to reveal is asked to upload: the liar. Whatever it reports,
the task must be finalized with the honest winner's pointer, and the liar's report must
show in the task logs."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from sqlalchemy import select

from tests.devnet import Devnet, inprocess_chain, reverted
from tests.scheduler.conftest import Pool, admit, make_scheduler
from veritask.domain.cid import cid_of
from veritask.domain.digest import computed_digest
from veritask.domain.ids import task_id
from veritask.domain.orders import ZERO_ADDRESS
from veritask.domain.result_archive import pack_result, result_pointer
from veritask.domain.tasks import TaskStatus
from veritask.scheduler.service import Scheduler
from veritask.scheduler.store import TaskRow
from veritask.sdk.scheduler_api import (
    Assignment,
    Registration,
    ReplicateStatus,
    SchedulerClient,
    StatusReport,
    WorkKind,
)
from veritask.sdk.storage import StorageClient
from veritask.serving import RunningServer, serve_app_in_thread
from veritask.storage import StorageSettings, serve_in_thread


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with inprocess_chain() as chain:
        yield chain


@pytest.fixture
def closing() -> Iterator[ExitStack]:
    """Closes the test's clients."""
    with ExitStack() as stack:
        yield stack


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[RunningServer]:
    with serve_in_thread(StorageSettings(root=tmp_path / "storage")) as server:
        yield server


def start_scheduler(
    pool: Pool, tmp_path: Path, storage: RunningServer, **settings: object
) -> Iterator[Scheduler]:
    """A scheduler that checks uploads against `storage`, its API on loopback."""
    running = make_scheduler(pool, tmp_path, storage_url=storage.url, **settings)
    server = serve_app_in_thread(running.app, host="127.0.0.1", port=0, name="upload-check")
    running.url = server.url
    try:
        yield running
    finally:
        server.stop()
        running.storage.close()
        running.engine.dispose()


@pytest.fixture
def scheduler(pool: Pool, tmp_path: Path, storage: RunningServer) -> Iterator[Scheduler]:
    with reverted(pool.devnet):
        yield from start_scheduler(pool, tmp_path, storage)


def write_result(folder: Path, content: str, *, callback_data: str = "") -> Path:
    """An app's /iexec_out: one result file named by computed.json (and callback data)."""
    folder.mkdir(parents=True)
    (folder / "result.txt").write_text(content)
    computed: dict[str, str] = {"deterministic-output-path": "/iexec_out/result.txt"}
    if callback_data:
        computed["callback-data"] = callback_data
    (folder / "computed.json").write_text(json.dumps(computed))
    return folder


@dataclass
class ScriptedWorker:
    """A worker played by the test: its wallet and its client of the scheduler."""

    account: LocalAccount
    client: SchedulerClient
    work: Assignment | None = None

    @property
    def address(self) -> str:
        return self.account.address.lower()

    def ask(self) -> Assignment:
        work = self.client.ask_for_work()
        assert work is not None, f"{self.address} got no work"
        self.work = work
        return work

    def report(self, status: ReplicateStatus, **fields: str) -> None:
        assert self.work is not None
        self.client.report(self.work.task_id, StatusReport(status=status, **fields))  # type: ignore[arg-type]


@dataclass
class Round:
    """A trust-3 task at the point where its first revealed winner (`liar`) is asked to
    upload; `honest` revealed after it. Both committed to `digest`, whose archive is
    `archive`."""

    pool: Pool
    scheduler: Scheduler
    storage: StorageClient
    deal: bytes
    liar: ScriptedWorker
    honest: ScriptedWorker
    digest: bytes
    archive: bytes
    callback_data: str = ""

    @property
    def task(self) -> bytes:
        return task_id(self.deal, 0)

    def upload(self, worker: ScriptedWorker, data: bytes) -> str:
        return result_pointer(self.storage.upload(data, worker.account))

    def chain_task(self) -> tuple[int, list[bytes]]:
        """The task's status on chain and the result pointers it was finalized with."""
        hub = self.pool.devnet.client
        finalized = hub.finalizations_logged([self.task], from_block=0, to_block=hub.head())
        return hub.task(self.deal, 0).status, [event.results for event in finalized]

    def lie(self, pointer: str, callback_data: str = "") -> None:
        """The liar reports its upload, and the scheduler checks it."""
        self.liar.report(ReplicateStatus.UPLOADED, results=pointer, callback_data=callback_data)
        self.scheduler.run_once()

    def assert_liar_refused(self, storage_url: str) -> str:
        """The liar's report is a failed upload in the task's logs; its reason."""
        status, detail = self.logs()[self.liar.address]
        assert status == ReplicateStatus.UPLOAD_FAILED.value
        assert detail.startswith("the scheduler refused this upload: ")
        assert storage_url.removeprefix("http://") not in detail  # no internal address
        return detail

    def logs(self) -> dict[str, tuple[str, str]]:
        with SchedulerClient(self.scheduler.url) as client:
            logs = client.task_logs("0x" + self.task.hex(), self.pool.requester)
        return {r.worker: (r.status, r.detail) for r in logs.replicates}


def play_until_upload(
    pool: Pool,
    scheduler: Scheduler,
    storage: RunningServer,
    tmp_path: Path,
    closing: ExitStack,
    *,
    callback: str = ZERO_ADDRESS,
    callback_data: str = "",
) -> Round:
    hub = pool.devnet.client
    workers = []
    for name in ("liar", "honest"):
        account = pool.worker(f"upload check {name}")
        admit(scheduler, account)  # a member of the pool (security H3)
        client = closing.enter_context(SchedulerClient(scheduler.url, timeout_s=10))
        client.login(account)
        client.register(Registration(name=name, cpus=1, memory_bytes=2**30, runtimes=("oci",)))
        workers.append(ScriptedWorker(account, client))
    liar, honest = workers
    deal = pool.match(trust=3, callback=callback)
    scheduler.run_once()
    out = write_result(tmp_path / "iexec_out", "the honest result\n", callback_data=callback_data)
    digest, archive = computed_digest(out), pack_result(out)
    for worker in workers:
        work = worker.ask()
        assert work.kind is WorkKind.COMPUTE
        hub.contribute(worker.account, deal, 0, digest, bytes.fromhex(work.authorization[2:]))
        worker.report(ReplicateStatus.CONTRIBUTED)
    scheduler.run_once()  # consensus: both are told to reveal
    assert liar.ask().kind is WorkKind.REVEAL
    hub.reveal(liar.account, deal, 0, digest)
    liar.report(ReplicateStatus.REVEALED)
    assert liar.ask().kind is WorkKind.UPLOAD
    assert honest.ask().kind is WorkKind.REVEAL
    hub.reveal(honest.account, deal, 0, digest)
    honest.report(ReplicateStatus.REVEALED)
    client = closing.enter_context(StorageClient(storage.url))
    return Round(pool, scheduler, client, deal, liar, honest, digest, archive, callback_data)


def finish_honestly(game: Round) -> str:
    """The honest winner is asked to upload, uploads the real archive; its pointer."""
    assert game.honest.ask().kind is WorkKind.UPLOAD
    pointer = game.upload(game.honest, game.archive)
    game.honest.report(ReplicateStatus.UPLOADED, results=pointer, callback_data=game.callback_data)
    game.scheduler.run_once()  # checks the upload, then finalizes
    return pointer


def other_archive(tmp_path: Path) -> bytes:
    return pack_result(write_result(tmp_path / "other", "a result nobody computed\n"))


# What a lying uploader reports, made from the round: (its pointer, its callback data).
LIES = {
    "a CID the storage does not hold": lambda game, tmp: (
        result_pointer(cid_of(b"never uploaded")),
        "",
    ),
    "a valid archive of another result": lambda game, tmp: (
        game.upload(game.liar, other_archive(tmp)),
        "",
    ),
    "bytes that are no archive": lambda game, tmp: (game.upload(game.liar, b"garbage" * 10), ""),
    "a pointer that is no CID": lambda game, tmp: (
        '{"storage":"ipfs","location":"/ipfs/not-a-cid"}',
        "",
    ),
    "a pointer to another storage": lambda game, tmp: (
        '{"storage":"http","location":"http://10.0.0.7/result.zip"}',
        "",
    ),
    "the right archive with extra fields in the pointer": lambda game, tmp: (
        json.dumps({"storage": "ipfs", "location": "/ipfs/" + cid_of(game.archive), "x": 1}),
        "",
    ),
    "the right archive with callback data the deal has no callback for": lambda game, tmp: (
        game.upload(game.liar, game.archive),
        "0x1234",
    ),
}


@pytest.mark.parametrize("lie", list(LIES))
def test_upload__the_uploader_lies__refused_another_winner_uploads_and_finalizes(
    pool: Pool,
    scheduler: Scheduler,
    storage: RunningServer,
    tmp_path: Path,
    closing: ExitStack,
    lie: str,
) -> None:
    game = play_until_upload(pool, scheduler, storage, tmp_path, closing)
    game.lie(*LIES[lie](game, tmp_path))

    assert game.chain_task() == (TaskStatus.REVEALING, []), "finalized with the liar's pointer"
    honest_pointer = finish_honestly(game)

    assert game.chain_task() == (TaskStatus.COMPLETED, [honest_pointer.encode()])
    game.assert_liar_refused(storage.url)
    assert game.logs()[game.honest.address][0] == ReplicateStatus.UPLOADED.value


def test_upload__honest_uploader__accepted_and_finalized_at_once(
    pool: Pool, scheduler: Scheduler, storage: RunningServer, tmp_path: Path, closing: ExitStack
) -> None:
    game = play_until_upload(pool, scheduler, storage, tmp_path, closing)
    pointer = game.upload(game.liar, game.archive)  # the first uploader is honest this time
    game.lie(pointer)
    assert game.chain_task() == (TaskStatus.COMPLETED, [pointer.encode()])
    scheduler.run_once()  # reads the finalize back from the chain
    drop = game.honest.client.ask_for_work()
    assert drop is not None
    assert drop.kind is WorkKind.ABORT
    with scheduler.sessions() as session:
        task = session.execute(select(TaskRow)).scalar_one()
    assert (task.results, task.reported_results) == (pointer, "")


CALLBACK = to_checksum_address("0x000000000000000000000000000000000000ca11")
CALLBACK_DATA = "0x" + "42" * 40


def test_upload__callback_deal__callback_data_checked_against_the_digest(
    pool: Pool, scheduler: Scheduler, storage: RunningServer, tmp_path: Path, closing: ExitStack
) -> None:
    game = play_until_upload(
        pool, scheduler, storage, tmp_path, closing, callback=CALLBACK, callback_data=CALLBACK_DATA
    )
    game.lie(game.upload(game.liar, game.archive), "0x" + "43" * 40)
    assert game.chain_task() == (TaskStatus.REVEALING, [])
    assert "callback data" in game.assert_liar_refused(storage.url)

    pointer = finish_honestly(game)
    assert game.chain_task() == (TaskStatus.COMPLETED, [pointer.encode()])
    stored = pool.devnet.client.contracts.hub.functions.result_for(game.task).call()
    assert stored == bytes.fromhex(CALLBACK_DATA[2:])


@pytest.fixture
def bounded(pool: Pool, tmp_path: Path, storage: RunningServer) -> Iterator[Scheduler]:
    """A scheduler whose checks download 16 KiB and unpack 1 MiB at most."""
    with reverted(pool.devnet):
        yield from start_scheduler(
            pool, tmp_path, storage, max_result_bytes=16 << 10, max_result_unpacked_bytes=1 << 20
        )


@pytest.mark.parametrize(
    ("lie", "reason"),
    [
        ("an archive over the download bound", "is over 16384 bytes"),
        ("an archive that unpacks over the bound", "unpacks to 2097"),
    ],
)
def test_upload__over_the_check_bounds__refused(
    pool: Pool,
    bounded: Scheduler,
    storage: RunningServer,
    tmp_path: Path,
    closing: ExitStack,
    lie: str,
    reason: str,
) -> None:
    game = play_until_upload(pool, bounded, storage, tmp_path, closing)
    if lie == "an archive over the download bound":
        blob = os.urandom(32 << 10)
    else:  # 2 MiB of zeros deflate to a few KiB
        blob = pack_result(write_result(tmp_path / "bomb", "\0" * (2 << 20)))
        assert len(blob) < 16 << 10
    game.lie(game.upload(game.liar, blob))
    assert game.chain_task() == (TaskStatus.REVEALING, [])
    assert reason in game.assert_liar_refused(storage.url)
    pointer = finish_honestly(game)
    assert game.chain_task() == (TaskStatus.COMPLETED, [pointer.encode()])


def test_upload__storage_down__neither_refused_nor_finalized_until_it_answers(
    pool: Pool, tmp_path: Path, closing: ExitStack
) -> None:
    root = tmp_path / "storage"
    storage = serve_in_thread(StorageSettings(root=root))
    port = int(storage.url.rsplit(":", 1)[1])
    now = [time.time()]  # the scheduler's clock: moved by hand past its retry delay
    with reverted(pool.devnet):
        running = start_scheduler(pool, tmp_path, storage, clock=lambda: now[0])
        scheduler = next(running)
        try:
            game = play_until_upload(pool, scheduler, storage, tmp_path, closing)
            pointer = game.upload(game.liar, game.archive)
            storage.stop()
            game.lie(pointer)  # the check cannot be made: the report waits
            assert game.chain_task() == (TaskStatus.REVEALING, [])
            assert game.logs()[game.liar.address][0] == ReplicateStatus.UPLOADED.value
            assert game.honest.client.ask_for_work() is None  # nobody else is asked
            metrics = scheduler.metrics.registry.get_sample_value(
                "veritask_scheduler_upload_checks_total", {"outcome": "unchecked"}
            )
            assert metrics == 1.0

            storage = serve_in_thread(StorageSettings(root=root, port=port))
            scheduler.run_once()  # within the retry delay: not checked again yet
            assert game.chain_task() == (TaskStatus.REVEALING, [])
            now[0] += 11
            scheduler.run_once()
            assert game.chain_task() == (TaskStatus.COMPLETED, [pointer.encode()])
        finally:
            storage.stop()
            running.close()
