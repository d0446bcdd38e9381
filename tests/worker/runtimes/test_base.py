"""Runtime-independent parts: limits and sources validated at the edge, log tails,
output sizes, the registry, and the Docker runtime's honest refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from veritask.errors import InvalidInput, ToolError
from veritask.worker.runtimes import (
    AppSource,
    DockerRuntime,
    Limits,
    WasmtimeRuntime,
    runtime_for,
    select_runtime,
)
from veritask.worker.runtimes.base import directory_bytes
from veritask.worker.runtimes.logs import StreamTail


@pytest.mark.parametrize(
    "kwargs", [{"time_s": 0}, {"time_s": 1, "memory_bytes": 10}, {"time_s": 1, "pids": 0}]
)
def test_limits__out_of_range__invalid_input(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidInput, match="limits"):
        Limits(**kwargs)  # type: ignore[arg-type]


def test_app_source__short_checksum__invalid_input() -> None:
    with pytest.raises(InvalidInput, match="32 bytes"):
        AppSource("oci", "localhost/veritask/hello:1", b"\x01" * 20)


def test_app_source__unknown_kind__invalid_input() -> None:
    with pytest.raises(InvalidInput, match="kind"):
        AppSource("vm", "x", b"\0" * 32)  # type: ignore[arg-type]


def test_app_source__ipfs_without_fetch__invalid_input() -> None:
    with pytest.raises(InvalidInput, match="no fetch"):
        AppSource("wasm", "/ipfs/bafyx", b"\0" * 32).fetch_bytes()


def test_stream_tail__long_stream__keeps_the_end_and_says_what_was_cut() -> None:
    tail = StreamTail("stdout", 5)
    for chunk in (b"a" * 10, b"bb", b"END"):
        tail.write(chunk)
    assert tail.total == 15
    assert tail.text() == "[veritask: stdout was 15 bytes; only its last 5 are kept]\nbbEND"


def test_stream_tail__short_stream__kept_whole_without_a_note() -> None:
    tail = StreamTail("stderr", 64)
    tail.write("é!".encode())
    assert tail.text() == "é!"
    assert StreamTail("stdout", 0).text() == ""


def test_directory_bytes__nested_and_sparse__apparent_sizes(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"x" * 10)
    with (tmp_path / "sparse").open("wb") as handle:
        handle.truncate(2**30)
    (tmp_path / "link").symlink_to("/bin/busybox")
    assert directory_bytes(tmp_path) == 10 + 2**30 + len("/bin/busybox")


def test_docker__no_engine__refuses_with_podman_hint(tmp_path: Path) -> None:
    runtime = DockerRuntime(socket_path=str(tmp_path / "docker.sock"))
    with pytest.raises(ToolError, match=r"no Docker engine: .*use podman"):
        runtime.check()


def test_select_runtime__wasm__wasmtime() -> None:
    assert isinstance(select_runtime("wasm"), WasmtimeRuntime)


def test_select_runtime__unknown_kind__invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unknown app kind"):
        select_runtime("vm")


def test_runtime_for__unknown_name__invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unknown runtime"):
        runtime_for("lxc")
