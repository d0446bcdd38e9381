"""The worker's result handling: digest and callback data from computed.json, the app's
environment and params, and the journal a restarted worker reads (the archive and pointer
are tested with `veritask.domain.result_archive`)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from eth_utils.crypto import keccak

from veritask.domain.failures import FailureKind, FailureRecord, stderr_digest
from veritask.domain.ids import task_id, to_hex
from veritask.errors import InvalidInput
from veritask.sdk.scheduler_api import Assignment, DatasetSpec, WorkKind
from veritask.worker.agent import app_environment, parse_params
from veritask.worker.fetch import input_file_name
from veritask.worker.journal import Entry, Journal
from veritask.worker.results import read_result, run_failure
from veritask.worker.runtimes import Outcome, Status
from veritask.worker.runtimes.logs import StreamTail

DEAL = bytes.fromhex("d0" * 32)
TASK = to_hex(task_id(DEAL, 3))


def _out(tmp_path: Path, computed: dict[str, str], files: dict[str, bytes]) -> Path:
    out = tmp_path / "out"
    out.mkdir()
    for name, data in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    (out / "computed.json").write_text(json.dumps(computed))
    return out


def test_read_result__file__is_its_sha256(tmp_path: Path) -> None:
    out = _out(tmp_path, {"deterministic-output-path": "/iexec_out/r.txt"}, {"r.txt": b"hi"})
    result = read_result(out)
    assert (result.digest, result.callback_data) == (hashlib.sha256(b"hi").digest(), b"")


def test_read_result__callback_data__is_its_keccak(tmp_path: Path) -> None:
    out = _out(tmp_path, {"callback-data": "0x1234"}, {})
    result = read_result(out)
    assert (result.digest, result.callback_data) == (keccak(b"\x12\x34"), b"\x12\x34")


def test_read_result__no_computed_json__raises_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"computed\.json"):
        read_result(tmp_path)


def test_journal__saved_entry__survives_a_new_journal(tmp_path: Path) -> None:
    entry = Entry(TASK, to_hex(DEAL), 3, "0x" + "11" * 32, "", str(tmp_path / "a.zip"))
    Journal(tmp_path).save(entry)
    again = Journal(tmp_path)
    assert again.load(TASK) == entry
    assert again.task_ids() == [TASK]
    again.drop(TASK)
    assert again.load(TASK) is None


def test_parse_params__json_or_plain_args() -> None:
    assert parse_params('{"iexec_args": "a b"}') == {"iexec_args": "a b"}
    assert parse_params("a b") == {"iexec_args": "a b"}
    assert parse_params("") == {}


def test_app_environment__names_every_iexec_variable() -> None:
    work = Assignment(
        kind=WorkKind.COMPUTE,
        task_id=to_hex(task_id(DEAL, 5)),
        deal_id=to_hex(DEAL),
        index=5,
        bot_first=4,
        bot_size=3,
        dataset=DatasetSpec(address="0x" + "ab" * 20, multiaddr="/ipfs/x", checksum="0x00"),
    )
    env = app_environment(work, "0x" + "ab" * 20, [input_file_name("http://a/b")])
    assert env["IEXEC_BOT_TASK_INDEX"] == "1"
    assert env["IEXEC_DATASET_FILENAME"] == "0x" + "ab" * 20
    assert env["IEXEC_INPUT_FILES_NUMBER"] == "1"
    assert env["IEXEC_INPUT_FILE_NAME_1"] == hashlib.sha256(b"http://a/b").hexdigest()
    assert env["IEXEC_IN"] == "/iexec_in"
    assert env["IEXEC_OUT"] == "/iexec_out"


def test_read_result__computed_json_is_a_link__refused_without_reading_it(tmp_path: Path) -> None:
    """Audit L1: the worker must not read a host file an app links to."""
    secret = tmp_path / "secret.json"
    secret.write_text('{"deterministic-output-path": "/iexec_out/x"}')
    out = tmp_path / "out"
    out.mkdir()
    (out / "x").write_bytes(b"x")
    (out / "computed.json").symlink_to(secret)
    with pytest.raises(InvalidInput) as refused:
        read_result(out)
    assert "/iexec_out/computed.json is a symbolic link" in str(refused.value)
    assert str(tmp_path) not in str(refused.value)


def test_read_result__output_path_through_a_linked_folder__refused(tmp_path: Path) -> None:
    """Audit L1: /iexec_out/dir -> a host folder; the output path /iexec_out/dir/file must
    not hash the host's file (a root worker would publish its sha256 on chain)."""
    host = tmp_path / "host"
    host.mkdir()
    (host / "shadow").write_bytes(b"root-only")
    out = _out(tmp_path, {"deterministic-output-path": "/iexec_out/dir/shadow"}, {})
    (out / "dir").symlink_to(host, target_is_directory=True)
    with pytest.raises(InvalidInput) as refused:
        read_result(out)
    assert "/iexec_out/dir is a symbolic link" in str(refused.value)
    assert str(tmp_path) not in str(refused.value)


def test_read_result__relative_link_inside_the_output__refused(tmp_path: Path) -> None:
    out = _out(tmp_path, {"deterministic-output-path": "/iexec_out/result"}, {"real": b"r"})
    (out / "result").mkdir()
    (out / "result" / "up").symlink_to("../../..")
    with pytest.raises(InvalidInput, match=r"/iexec_out/result/up is a symbolic link"):
        read_result(out)


def _outcome(status: Status, exit_code: int | None, stderr_tail: bytes = b"") -> Outcome:
    return Outcome(status, exit_code, "", "", 0.1, stderr_tail=stderr_tail)


def test_run_failure__app_exit__exit_code_and_the_stderr_digest() -> None:
    tail = b"x" * 5000 + b"boom\n"
    record = run_failure(_outcome(Status.FAILED, 1, tail))
    assert record == FailureRecord(FailureKind.APP_EXIT, 1, stderr_digest(tail))
    assert record.stderr_digest == hashlib.sha256(tail[-4096:]).digest()


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (Status.TIMEOUT, FailureKind.TIMEOUT),
        (Status.OUT_OF_MEMORY, FailureKind.LIMIT),
        (Status.OUTPUT_LIMIT, FailureKind.LIMIT),
    ],
)
def test_run_failure__timing_dependent_kinds__carry_zeros(
    status: Status, kind: FailureKind
) -> None:
    assert run_failure(_outcome(status, None, b"partial")) == FailureRecord(kind)


@pytest.mark.parametrize(
    ("status", "exit_code"),
    [(Status.SANDBOX_ERROR, 125), (Status.FAILED, None), (Status.FAILED, -9)],
)
def test_run_failure__maybe_the_workers_fault__no_record(
    status: Status, exit_code: int | None
) -> None:
    assert run_failure(_outcome(status, exit_code)) is None


def test_stream_tail__keeps_the_digest_bytes_whatever_log_bytes_says() -> None:
    tail = StreamTail("stderr", keep=10)
    tail.write(b"a" * 5000)
    tail.write(b"end")
    assert tail.last_bytes() == b"a" * 4093 + b"end"
    assert len(tail.last_bytes()) == 4096
    assert tail.text().endswith("aaaaaaaend")
