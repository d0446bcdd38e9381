"""`veritask devnet up|down|status|fund`: the whole marketplace on this machine's loopback
interface, in one background process (`veritask.devnet.process`), with fixed ports so that
the built-in "devnet" profile reaches it with no configuration.

The process writes its state file once every service answers; `up` waits for that file (or
for the process to die, and then prints the end of its log), `down` signals the process
group and waits, `status` asks every service for its health.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer

from veritask.devnet.state import LOG_FILE, STATE_FILE, DevnetState, alive, devnet_dir, read_state
from veritask.errors import InvalidInput, ToolError

from .output import JsonFlag, emit_json, print_table, show
from .state import cli_state

__all__ = ["app"]

app = typer.Typer(
    help="Start, stop and inspect a local marketplace (anvil, contracts, storage, market, "
    "scheduler, workers).",
    no_args_is_help=True,
)

_START_TIMEOUT_S = 300.0  # a first start loads the demo images into podman
_STOP_TIMEOUT_S = 30.0
_HEALTH_TIMEOUT_S = 2.0
_LOG_TAIL_BYTES = 3_000


def _log_tail(folder: Path) -> str:
    try:
        data = (folder / LOG_FILE).read_bytes()[-_LOG_TAIL_BYTES:]
    except FileNotFoundError:
        return "(no log)"
    return data.decode("utf-8", errors="replace")


def _summary(state: DevnetState) -> list[tuple[str, str]]:
    rows = [(name, url) for name, url in sorted(state.services.items())]
    rows += [("hub", state.hub), ("chain id", str(state.chain_id)), ("workers", str(state.workers))]
    rows += [(f"app {name}", address) for name, address in sorted(state.apps.items())]
    rows += [(f"dataset {name}", address) for name, address in sorted(state.datasets.items())]
    rows += [(f"account {role}", address) for role, address in sorted(state.accounts.items())]
    return rows


@app.command()
def up(
    ctx: typer.Context,
    workers: Annotated[int, typer.Option(min=1, max=16, help="Worker processes.")] = 2,
    block_time: Annotated[
        float | None,
        typer.Option(min=0.1, help="Seconds between blocks (default: a block per transaction)."),
    ] = None,
    rpc_port: Annotated[
        int, typer.Option(min=1, max=65_535, help="The node's port on 127.0.0.1.")
    ] = 8545,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for it.")] = (
        _START_TIMEOUT_S
    ),
    json_output: JsonFlag = False,
) -> None:
    """Start a devnet in the background and wait until every service answers."""
    state_flag = cli_state(ctx).as_json(json_output)
    folder = devnet_dir()
    running = read_state(folder)
    if running is None:
        running = _start(
            folder, workers=workers, block_time_s=block_time, rpc_port=rpc_port, timeout_s=timeout
        )
        headline = f"devnet up (pid {running.pid}); stop it with `veritask devnet down`"
    else:
        headline = f"a devnet already runs (pid {running.pid}); `veritask devnet down` stops it"
    if state_flag:
        emit_json({"running": True, **running.__dict__})
        return
    show(headline)
    print_table(_summary(running), ("", "value"))
    show(f"log: {folder / LOG_FILE}")
    hello = running.apps.get("hello")
    show("next: veritask wallet create; veritask devnet fund; veritask account deposit 10")
    if hello:
        show(f"      veritask run {hello} --args World --watch")


def _start(
    folder: Path, *, workers: int, block_time_s: float | None, rpc_port: int, timeout_s: float
) -> DevnetState:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", rpc_port))
        except OSError as exc:
            raise InvalidInput(
                f"port {rpc_port} on 127.0.0.1 is in use ({exc.strerror}): stop what listens "
                "there (another node?), or choose --rpc-port"
            ) from exc
    folder.mkdir(parents=True, exist_ok=True)
    (folder / STATE_FILE).unlink(missing_ok=True)
    command = [sys.executable, "-m", "veritask.devnet.process", "--dir", str(folder)]
    command += ["--workers", str(workers), "--rpc-port", str(rpc_port)]
    if block_time_s is not None:
        command += ["--block-time", str(block_time_s)]
    with (folder / LOG_FILE).open("ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = read_state(folder)
        if state is not None:
            return state
        if process.poll() is not None:
            raise ToolError(
                f"the devnet process exited with code {process.returncode} before it was "
                f"ready; the end of {folder / LOG_FILE}:\n{_log_tail(folder)}"
            )
        time.sleep(0.2)
    _stop_process(process.pid)
    raise ToolError(
        f"the devnet was not ready within {timeout_s:g} s and was stopped; the end of "
        f"{folder / LOG_FILE}:\n{_log_tail(folder)}"
    )


def _stop_process(pid: int) -> bool:
    """SIGTERM to the process group, then SIGKILL after the timeout; whether it ran."""
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + _STOP_TIMEOUT_S
    while time.monotonic() < deadline and alive(pid):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaps it when this process started it
        time.sleep(0.1)
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    return True


@app.command()
def down(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """Stop the devnet and every process it started (its chain and data are discarded)."""
    folder = devnet_dir()
    state = read_state(folder)
    stopped = state is not None and _stop_process(state.pid)
    (folder / STATE_FILE).unlink(missing_ok=True)
    if cli_state(ctx).as_json(json_output):
        emit_json({"stopped": stopped})
        return
    show("devnet stopped" if stopped else "no devnet runs")


def _health(name: str, url: str) -> str:
    try:
        if name == "rpc":
            response = httpx.post(
                url,
                json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []},
                timeout=_HEALTH_TIMEOUT_S,
            )
            block = int(response.json()["result"], 16)
            return f"ok (block {block})"
        response = httpx.get(f"{url}/health", timeout=_HEALTH_TIMEOUT_S)
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        return f"DOWN ({type(exc).__name__})"
    return "ok" if response.status_code == 200 else f"DOWN (HTTP {response.status_code})"


@app.command()
def status(ctx: typer.Context, json_output: JsonFlag = False) -> None:
    """Whether a devnet runs, and the health of each of its services (exit code 6 when a
    service does not answer)."""
    state = read_state(devnet_dir())
    as_json = cli_state(ctx).as_json(json_output)
    if state is None:
        if as_json:
            emit_json({"running": False})
        else:
            show("no devnet runs: start one with `veritask devnet up`")
        return
    health = {name: _health(name, url) for name, url in sorted(state.services.items())}
    healthy = all(value.startswith("ok") for value in health.values())
    if as_json:
        emit_json({"running": True, "healthy": healthy, "health": health, **state.__dict__})
    else:
        show(f"devnet pid {state.pid}, up {time.time() - state.started_at:.0f} s")
        rows = [(name, state.services[name], value) for name, value in health.items()]
        print_table(rows, ("service", "url", "health"))
    if not healthy:
        raise typer.Exit(6)


@app.command()
def fund(
    ctx: typer.Context,
    address: Annotated[
        str | None, typer.Argument(help="The address to fund (default: the wallet's).")
    ] = None,
    rlc: Annotated[int, typer.Option(min=0, help="RLC tokens to give (in its wallet).")] = 100,
    eth: Annotated[int, typer.Option(min=0, help="ETH to give for gas.")] = 10,
    json_output: JsonFlag = False,
) -> None:
    """Give an address gas and RLC tokens on the running devnet (its deployer pays)."""
    from veritask.chain.hub import Hub
    from veritask.chain.node import Node
    from veritask.devnet.stack import fund_account
    from veritask.domain.amounts import NRLC_PER_RLC, WEI_PER_ETH
    from veritask.sdk import checksum_address

    state = read_state(devnet_dir())
    if state is None:
        raise InvalidInput("no devnet runs: start one with `veritask devnet up`")
    if address is None:
        cli = cli_state(ctx)
        address = cli.find_wallet(cli.profile()).address
    target = checksum_address(address, source="the address given")
    node = Node.at(state.services["rpc"], timeout_s=10)
    fund_account(
        Hub(node, node.deployment(state.hub)),
        target,
        tokens_nrlc=rlc * NRLC_PER_RLC,
        gas_wei=eth * WEI_PER_ETH,
    )
    if cli_state(ctx).as_json(json_output):
        emit_json({"address": target, "eth": eth, "rlc": rlc})
        return
    show(f"funded {target}: {eth} ETH for gas, {rlc} RLC in its wallet")
    show(f"deposit them with `veritask account deposit {rlc}`")
