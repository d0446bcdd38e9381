"""`veritask result download` end to end: a real storage service on loopback, a task of
tests/deals_on_devnet.py finalized on anvil with a pointer to an uploaded result archive;
the download is unpacked and checked against the on-chain digest (exit 7 when a worker
uploaded something else, the files kept), and refusals change nothing on disk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, assert_error
from tests.deals_on_devnet import DealOnDevnet, make_deal
from tests.devnet import Devnet, closed_port_url, demo_account, reverted
from veritask.domain.digest import computed_digest
from veritask.domain.ids import task_id
from veritask.domain.orders import ZERO_ADDRESS
from veritask.domain.result_archive import pack_result
from veritask.domain.signing import sign_hash_eip191
from veritask.domain.tasks import authorization_hash
from veritask.sdk.storage import StorageClient
from veritask.storage.server import RunningServer, serve_in_thread
from veritask.storage.settings import StorageSettings

pytestmark = pytest.mark.anvil

REQUESTER = demo_account("cli result test requester")
WIDE = {"COLUMNS": "250"}


@pytest.fixture(autouse=True)
def _fresh_chain(devnet: Devnet) -> Iterator[None]:
    with reverted(devnet):
        yield


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[RunningServer]:
    with serve_in_thread(StorageSettings(root=tmp_path / "blobs")) as server:
        yield server


@pytest.fixture
def deal(devnet: Devnet) -> DealOnDevnet:
    return make_deal(devnet, REQUESTER)


@pytest.fixture
def project(cli: Cli, devnet: Devnet, storage: RunningServer) -> Cli:
    init = cli("--profile", "test", "--rpc-url", devnet.url, "--hub", devnet.hub, "init")
    assert init.exit_code == 0, init.output
    cli.env.update(WIDE, VERITASK_STORAGE_URL=storage.url)
    return cli


def _result_folder(root: Path, text: str) -> Path:
    root.mkdir()
    (root / "result.txt").write_text(text)
    (root / "computed.json").write_text(
        json.dumps({"deterministic-output-path": "/iexec_out/result.txt"})
    )
    return root


def _finish(
    devnet: Devnet,
    storage: RunningServer,
    deal: DealOnDevnet,
    index: int,
    digest: bytes,
    archive: bytes,
) -> str:
    """Uploads `archive` as the worker and finalizes task `index` with `digest` and a pointer
    to it, as the worker service does on the one-call path."""
    with StorageClient(storage.url) as client:
        cid = client.upload(archive, deal.worker)
    pointer = json.dumps({"storage": "ipfs", "location": f"/ipfs/{cid}"}, separators=(",", ":"))
    authorization = sign_hash_eip191(
        authorization_hash(deal.worker.address, task_id(deal.deal_id, index), ZERO_ADDRESS),
        deal.scheduler.key,
    )
    devnet.client.contribute_and_finalize(
        deal.worker, deal.deal_id, index, digest, pointer.encode(), ZERO_ADDRESS, b"", authorization
    )
    return cid


def test_result_download__completed_task__unpacked_and_verified(
    project: Cli, devnet: Devnet, storage: RunningServer, deal: DealOnDevnet, tmp_path: Path
) -> None:
    folder = _result_folder(tmp_path / "out", "Hello, World!\n")
    digest = computed_digest(folder)
    cid = _finish(devnet, storage, deal, 2, digest, pack_result(folder))

    result = project("result", "download", f"{deal.deal_hex}:2", "--out", str(tmp_path / "got"))

    assert result.exit_code == 0, result.output
    assert f"result /ipfs/{cid}" in result.stdout
    assert f"digest 0x{digest.hex()} matches the task's on-chain result digest" in result.stdout
    assert "  result.txt: Hello, World!" in result.stdout
    assert (tmp_path / "got" / "result.txt").read_text() == "Hello, World!\n"


def test_result_download__json_and_default_folder(
    project: Cli, devnet: Devnet, storage: RunningServer, deal: DealOnDevnet, tmp_path: Path
) -> None:
    folder = _result_folder(tmp_path / "out", "json")
    _finish(devnet, storage, deal, 2, computed_digest(folder), pack_result(folder))

    result = project("result", "download", deal.task_hex(2), "--json")

    assert result.exit_code == 0, result.output
    fields = json.loads(result.stdout)
    assert fields["verified"] is True
    assert sorted(fields["files"]) == ["computed.json", "result.txt"]
    assert Path(fields["folder"]) == project.folder / f"result-{deal.task_hex(2)}"


def test_result_download__archive_does_not_match_the_digest__exit_7_files_kept(
    project: Cli, devnet: Devnet, storage: RunningServer, deal: DealOnDevnet, tmp_path: Path
) -> None:
    honest = _result_folder(tmp_path / "honest", "the consensus result")
    forged = _result_folder(tmp_path / "forged", "something else")
    _finish(devnet, storage, deal, 3, computed_digest(honest), pack_result(forged))

    result = project("result", "download", f"{deal.deal_hex}:3", "--out", str(tmp_path / "got"))

    assert_error(result, 7, f"the result in {tmp_path / 'got'} hashes to 0x")
    assert "do not trust these files" in result.stderr
    assert (tmp_path / "got" / "result.txt").read_text() == "something else"


def test_result_download__task_not_completed__exit_2_nothing_written(
    project: Cli, deal: DealOnDevnet, tmp_path: Path
) -> None:
    result = project("result", "download", f"{deal.deal_hex}:1", "--out", str(tmp_path / "got"))
    assert_error(result, 2, f"task {deal.task_hex(1)} is REVEALING, not COMPLETED")
    assert not (tmp_path / "got").exists()


def test_result_download__storage_down__exit_6(
    project: Cli, devnet: Devnet, storage: RunningServer, deal: DealOnDevnet, tmp_path: Path
) -> None:
    folder = _result_folder(tmp_path / "out", "unreachable")
    _finish(devnet, storage, deal, 2, computed_digest(folder), pack_result(folder))

    result = project(
        "result", "download", f"{deal.deal_hex}:2", env={"VERITASK_STORAGE_URL": closed_port_url()}
    )
    assert result.exit_code == 6, result.output
    assert result.stderr.startswith("error: ")


def test_result_download__no_storage_url__says_how_to_set_it(
    project: Cli, devnet: Devnet, storage: RunningServer, deal: DealOnDevnet, tmp_path: Path
) -> None:
    folder = _result_folder(tmp_path / "out", "no url")
    _finish(devnet, storage, deal, 2, computed_digest(folder), pack_result(folder))

    result = project("result", "download", f"{deal.deal_hex}:2", env={"VERITASK_STORAGE_URL": None})
    assert_error(result, 2, "profile 'test' has no storage_url")
