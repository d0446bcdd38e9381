"""`veritask devnet up|status|fund|down` for real: a background devnet process on a free
node port and a private state folder; the built-in profile finds it, a run through the
market completes and its result is verified; `down` leaves nothing running."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, assert_error
from veritask.devnet.state import alive, read_state

pytestmark = [pytest.mark.anvil, pytest.mark.podman]

PASSWORD = {"VERITASK_PASSWORD": "pw"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def devnet_cli(cli: Cli, tmp_path: Path) -> Iterator[Cli]:
    cli.env["VERITASK_DEVNET_DIR"] = str(tmp_path / "devnet")
    cli.env["COLUMNS"] = "200"
    yield cli
    cli("devnet", "down")


def test_devnet__up_status_fund_run_down(devnet_cli: Cli, tmp_path: Path) -> None:
    port = _free_port()
    up = devnet_cli("devnet", "up", "--workers", "1", "--rpc-port", str(port), "--json")
    assert up.exit_code == 0, up.output
    state = json.loads(up.stdout)
    assert state["services"]["rpc"] == f"http://127.0.0.1:{port}"
    assert set(state["apps"]) == {"hello", "wordcount", "hello-wasm"}

    again = devnet_cli("devnet", "up", "--rpc-port", str(port))
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith(f"a devnet already runs (pid {state['pid']})")

    status = devnet_cli("devnet", "status", "--json")
    assert status.exit_code == 0, status.output
    health = json.loads(status.stdout)["health"]
    assert set(health) == {"rpc", "storage", "market", "scheduler"}
    assert all(value.startswith("ok") for value in health.values())

    created = devnet_cli("wallet", "create", "--json", env=PASSWORD)
    address = json.loads(created.stdout)["address"]
    funded = devnet_cli("devnet", "fund", "--rlc", "5")  # the wallet's address by default
    assert funded.exit_code == 0, funded.output
    assert funded.stdout.startswith(f"funded {address}: 10 ETH for gas, 5 RLC")
    deposit = devnet_cli("account", "deposit", "5", env=PASSWORD)
    assert deposit.exit_code == 0, deposit.output

    run = devnet_cli(
        "run",
        state["apps"]["hello"],
        "--args",
        "devnet",
        "--yes",
        "--watch",
        "--timeout",
        "60",
        env=PASSWORD,
    )
    assert run.exit_code == 0, run.output
    assert "orders from the market" in run.stdout
    assert "matches the task's on-chain result digest" in run.stdout
    assert "  result.txt: Hello, devnet!" in run.stdout

    down = devnet_cli("devnet", "down")
    assert (down.exit_code, down.stdout.strip()) == (0, "devnet stopped")
    assert not alive(state["pid"])
    assert read_state(tmp_path / "devnet") is None
    assert devnet_cli("devnet", "down").stdout.strip() == "no devnet runs"


def test_devnet__status_and_fund_without_a_devnet(devnet_cli: Cli) -> None:
    status = devnet_cli("devnet", "status")
    assert (status.exit_code, status.stdout.strip()) == (
        0,
        "no devnet runs: start one with `veritask devnet up`",
    )
    fund = devnet_cli("devnet", "fund", "0x000000000000000000000000000000000000bEEF")
    assert_error(fund, 2, "no devnet runs: start one with `veritask devnet up`")


def test_devnet__port_in_use__refused_before_starting(devnet_cli: Cli) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = int(busy.getsockname()[1])
        result = devnet_cli("devnet", "up", "--rpc-port", str(port))
    assert_error(result, 2, f"port {port} on 127.0.0.1 is in use")
