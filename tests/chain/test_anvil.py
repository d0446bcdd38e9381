"""The local anvil node: free loopback port, answers JSON-RPC, stops cleanly, fails clearly."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import time
from pathlib import Path

import pytest
from web3 import Web3

from veritask.chain.anvil import Anvil, find_anvil
from veritask.errors import ToolError

pytestmark = pytest.mark.anvil

# Every node in this file must answer within this time, or the test fails (not hangs).
STARTUP_S = 5.0


def _web3(node: Anvil) -> Web3:
    return Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 5}))


def _process(node: Anvil) -> subprocess.Popen[bytes]:
    process = node._process
    assert process is not None, "the node has no process"
    return process


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _assert_gone(process: subprocess.Popen[bytes], port: int) -> None:
    assert process.poll() is not None, f"anvil (pid {process.pid}) still runs"
    with pytest.raises(ProcessLookupError):
        os.kill(process.pid, 0)
    assert not _port_open(port), f"port {port} still accepts connections"


def test_find_anvil__default__finds_an_executable_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VERITASK_ANVIL", raising=False)

    binary = find_anvil()

    assert binary.is_file()
    assert os.access(binary, os.X_OK)


def test_anvil__started__answers_on_a_loopback_port() -> None:
    with Anvil(startup_timeout_s=STARTUP_S) as node:
        w3 = _web3(node)

        assert node.running
        assert node.url == f"http://127.0.0.1:{node.port}"
        assert w3.eth.chain_id == 31337
        assert w3.eth.block_number == 0
        assert len(w3.eth.accounts) == 10


def test_anvil__explicit_binary_and_chain_id__are_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VERITASK_ANVIL", str(find_anvil()))

    with Anvil(chain_id=1337, accounts=2, startup_timeout_s=STARTUP_S) as node:
        w3 = _web3(node)

        assert w3.eth.chain_id == 1337
        assert len(w3.eth.accounts) == 2


def test_anvil__two_at_once__listen_on_different_ports() -> None:
    with (
        Anvil(startup_timeout_s=STARTUP_S) as first,
        Anvil(chain_id=1337, startup_timeout_s=STARTUP_S) as second,
    ):
        assert first.port != second.port
        assert _web3(first).eth.chain_id == 31337
        assert _web3(second).eth.chain_id == 1337


def test_anvil__context_exit__stops_the_process_and_closes_the_port() -> None:
    with Anvil(startup_timeout_s=STARTUP_S) as node:
        process, port = _process(node), node.port
        assert _port_open(port)

    assert not node.running
    _assert_gone(process, port)


def test_anvil__stop__stops_the_process_and_closes_the_port() -> None:
    node = Anvil(startup_timeout_s=STARTUP_S).start()
    try:
        process, port = _process(node), node.port
        assert _port_open(port)
    finally:
        node.stop()

    assert not node.running
    _assert_gone(process, port)


def test_anvil__stop_twice_and_after_exit__is_harmless() -> None:
    never_started = Anvil()
    never_started.stop()
    with Anvil(startup_timeout_s=STARTUP_S) as node:
        process, port = _process(node), node.port
        node.stop()
        node.stop()

    node.stop()
    _assert_gone(process, port)


def test_anvil__start_twice__keeps_one_process() -> None:
    with Anvil(startup_timeout_s=STARTUP_S) as node:
        process = _process(node)

        assert node.start() is node
        assert _process(node) is process


def test_anvil__missing_binary__raises_tool_error_saying_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "no-such-anvil"
    monkeypatch.setenv("VERITASK_ANVIL", str(missing))
    node = Anvil(startup_timeout_s=STARTUP_S)

    with pytest.raises(ToolError) as raised:
        node.start()

    message = str(raised.value)
    assert str(missing) in message
    assert "VERITASK_ANVIL" in message
    assert "npm install" in message
    assert not node.running


def test_anvil__binary_not_executable__raises_tool_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "anvil"
    fake.write_text("not a program\n")
    fake.chmod(stat.S_IRUSR | stat.S_IWUSR)
    monkeypatch.setenv("VERITASK_ANVIL", str(fake))
    node = Anvil(startup_timeout_s=STARTUP_S)

    with pytest.raises(ToolError, match="VERITASK_ANVIL"):
        node.start()

    assert not node.running


def test_anvil__port_already_taken__raises_tool_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = int(busy.getsockname()[1])
        node = Anvil(port=port, startup_timeout_s=STARTUP_S)
        started = time.monotonic()

        with pytest.raises(ToolError, match=f"anvil exited at start on port {port}"):
            node.start()

        assert time.monotonic() - started < STARTUP_S
        assert not node.running


def test_anvil__block_time__mines_blocks_without_transactions() -> None:
    with Anvil(block_time_s=1, startup_timeout_s=STARTUP_S) as node:
        w3 = _web3(node)
        first = w3.eth.get_block("latest")
        deadline = time.monotonic() + 4.0
        while w3.eth.block_number < first["number"] + 2 and time.monotonic() < deadline:
            time.sleep(0.1)

        later = w3.eth.get_block("latest")

    assert later["number"] >= first["number"] + 2, "interval mining did not advance in 4 s"
    assert later["timestamp"] > first["timestamp"]
