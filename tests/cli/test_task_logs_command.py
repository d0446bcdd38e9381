"""`veritask task logs` and the failure-aware watches end to end, on one real stack per
module (anvil, storage, market, a scheduler, one worker; wasm apps): an app that exits 3
settles at once on chain with its failure record, which ends `run --watch` and `deal
watch` within seconds (exit code 5) with the failure in words and what it cost; a
completed task's logs say `completed`; no scheduler URL, a stranger's wallet and a
scheduler that does not answer are one-line errors."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import cast

import pytest
from eth_account import Account
from eth_utils.crypto import keccak
from typer.testing import Result

from tests.cli.conftest import Cli, assert_error
from tests.e2e.journeys import run_through_market
from veritask.devnet.stack import Stack
from veritask.domain.ids import task_id
from veritask.domain.orders import AppOrder
from veritask.domain.signing import sign_order
from veritask.sdk import SETTLED_FAILURE, MarketClient
from veritask.sdk.storage import StorageClient
from veritask.worker.apps.build import build_app

pytestmark = pytest.mark.anvil

PASSWORD = {"VERITASK_PASSWORD": "pw"}
STRANGER = Account.from_key(keccak(text="veritask task logs stranger"))
WATCH_LIMIT_S = 30.0  # the final deadline is 50 min away: a watch ending sooner did not wait


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with Stack(workers=1, market=True) as running:
        yield running


@pytest.fixture(scope="module")
def apps(stack: Stack) -> dict[str, str]:
    """probe-wasm and hello-wasm from the stack's storage, with free app orders (and the
    workerpool's order) on the market."""
    developer = stack.accounts["app developer"]
    registered: dict[str, str] = {}
    with StorageClient(stack.storage_url) as storage, MarketClient(stack.market_url) as market:
        for name in ("probe-wasm", "hello-wasm"):
            built = build_app(name)
            cid = storage.upload(built.archive, developer)
            app = stack.register_app(name, f"/ipfs/{cid}", built.archive_checksum, "WASM")
            order = sign_order(AppOrder(app, 0, 1_000), stack.protocol.domain, developer.key)
            market.publish(cast(AppOrder, order))
            registered[name] = app
        assert stack.workerpool_order is not None
        market.publish(stack.workerpool_order)
    return registered


@pytest.fixture
def project(cli: Cli, stack: Stack, apps: dict[str, str]) -> Cli:
    """A profile naming every service of the stack; the requester's and a stranger's
    wallets (the requester's by default)."""
    init = cli(
        "--profile",
        "test",
        "--rpc-url",
        stack.rpc_url,
        "--hub",
        stack.hub,
        "--market-url",
        stack.market_url,
        "--storage-url",
        stack.storage_url,
        "--scheduler-url",
        stack.scheduler_url,
        "init",
    )
    assert init.exit_code == 0, init.output
    requester = cli.import_key("0x" + bytes(stack.accounts["requester"].key).hex())
    cli.import_key("0x" + bytes(STRANGER.key).hex())
    with (cli.folder / "veritask.toml").open("a") as file:
        file.write(f'wallet = "{requester}"\n')  # into [profiles.test], the last table
    cli.env["COLUMNS"] = "200"
    return cli


def _run(project: Cli, app: str, *args: str) -> tuple[Result, float]:
    started = time.monotonic()
    result = project("run", app, "--yes", "--watch", "--timeout", "120", *args, env=PASSWORD)
    return result, time.monotonic() - started


def _logs_until(project: Cli, ref: str, status: str) -> dict[str, object]:
    """`task logs --json` once the scheduler reports `status` (it learns deals from the
    chain a moment after they are made)."""
    deadline = time.monotonic() + 60
    data: dict[str, object] = {}
    while time.monotonic() < deadline:
        result = project("task", "logs", ref, "--json", env=PASSWORD)
        if result.exit_code == 0:
            data = json.loads(result.stdout)
            if data["status"] == status:
                return data
        time.sleep(0.2)
    raise AssertionError(f"task {ref} not {status} on the scheduler: {data}")


def _deal(stack: Stack, app: str, args: str) -> str:
    return "0x" + run_through_market(stack, app, args=args, trust=0).hex()


def test_run_watch__app_exits_3__failure_shown_at_once_and_exit_5(
    project: Cli, stack: Stack, apps: dict[str, str]
) -> None:
    result, elapsed_s = _run(project, apps["probe-wasm"], "--args", "exit3")

    assert result.exit_code == 5, result.output
    assert elapsed_s < WATCH_LIMIT_S
    out = result.stdout
    assert f"FAILED: the app exited with code 3 - {SETTLED_FAILURE}" in out
    lines = out.splitlines()
    assert lines[-2] == "0 of 1 tasks completed, 1 failed (settled)"
    assert lines[-1] == f"failed task 0: {SETTLED_FAILURE}"


def test_run_watch__json__failure_in_the_task_object(
    project: Cli, stack: Stack, apps: dict[str, str]
) -> None:
    result, elapsed_s = _run(project, apps["probe-wasm"], "--args", "exit3", "--json")

    assert result.exit_code == 5, result.output
    assert elapsed_s < WATCH_LIMIT_S
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    failed = [o for o in objects if o.get("status") == "FAILED"]
    assert len(failed) == 1, objects
    record = failed[0]["settled_failure"]
    assert (record["kind"], record["exit_code"]) == ("app_exit", 3)
    assert record["description"] == "the app exited with code 3"
    assert failed[0]["next"] == SETTLED_FAILURE
    end = objects[-1]
    assert (end["event"], end["completed"], end["settled"]) == ("end", 0, True)
    assert end["settled_failed"] == [0]


def test_deal_watch__password_given__ends_on_the_scheduler_failure(
    project: Cli, stack: Stack, apps: dict[str, str]
) -> None:
    deal = _deal(stack, apps["probe-wasm"], "exit3")
    started = time.monotonic()
    result = project("deal", "watch", deal, "--timeout", "120", env=PASSWORD)

    assert result.exit_code == 5, result.output
    assert time.monotonic() - started < WATCH_LIMIT_S
    assert "FAILED: the app exited with code 3" in result.stdout
    assert "0 of 1 tasks completed, 1 failed (settled)" in result.stdout


def test_deal_watch__no_password__warns_and_watches_the_chain(
    project: Cli, stack: Stack, apps: dict[str, str]
) -> None:
    deal = _deal(stack, apps["probe-wasm"], "exit3")
    result = project("deal", "watch", deal, "--timeout", "1")

    assert result.exit_code == 5, result.output
    assert "warning: give the password of wallet" in result.stderr
    # The task may settle within the second (the chain alone tells it), or not yet.
    assert result.stdout.splitlines()[-1] in (
        "0 of 1 tasks completed (still running after 1 s)",
        f"failed task 0: {SETTLED_FAILURE}",
    )


def test_task_logs__failed_task__status_exit_code_and_stderr(
    project: Cli, stack: Stack, apps: dict[str, str]
) -> None:
    deal = _deal(stack, apps["probe-wasm"], "exit3")
    data = _logs_until(project, f"{deal}:0", "settled_failed")
    assert data["failure"] == "the app exited with code 3"
    assert cast(str, data["failure_record"]).startswith("0x")
    assert data["scheduler_url"] == stack.scheduler_url
    (replicate,) = cast(list[dict[str, object]], data["replicates"])
    assert (replicate["status"], replicate["exit_code"]) == ("app_failed", 3)
    assert "probe: failing on purpose" in cast(str, replicate["stderr"])

    task = "0x" + task_id(bytes.fromhex(deal[2:]), 0).hex()
    shown = project("task", "logs", task, env=PASSWORD)  # by task id, as a table
    assert shown.exit_code == 0, shown.output
    assert "settled_failed" in shown.stdout
    assert "replicate 0: worker" in shown.stdout
    assert "  exit code: 3" in shown.stdout
    assert "    probe: failing on purpose" in shown.stdout


def test_task_logs__completed_task__completed(
    project: Cli, stack: Stack, apps: dict[str, str]
) -> None:
    deal = _deal(stack, apps["hello-wasm"], "logs")
    data = _logs_until(project, f"{deal}:0", "completed")
    (replicate,) = cast(list[dict[str, object]], data["replicates"])
    assert replicate["exit_code"] == 0
    assert data["results"]


def test_task_logs__no_scheduler_url__says_how_to_set_it(
    project: Cli, stack: Stack, apps: dict[str, str]
) -> None:
    deal = _deal(stack, apps["hello-wasm"], "x")
    requester = stack.accounts["requester"].address
    (project.folder / "veritask.toml").write_text(
        f'default_profile = "bare"\n[profiles.bare]\nrpc_url = "{stack.rpc_url}"\n'
        f'hub = "{stack.hub}"\nwallet = "{requester}"\n'
    )
    result = project("task", "logs", f"{deal}:0", env=PASSWORD)
    assert_error(
        result,
        2,
        "profile 'bare' has no scheduler_url: set scheduler_url in veritask.toml, "
        "VERITASK_SCHEDULER_URL or --scheduler-url",
    )


def test_task_logs__a_strangers_wallet__the_schedulers_refusal(
    project: Cli, stack: Stack, apps: dict[str, str]
) -> None:
    deal = _deal(stack, apps["hello-wasm"], "x")
    _logs_until(project, f"{deal}:0", "completed")
    result = project("--wallet", STRANGER.address, "task", "logs", f"{deal}:0", env=PASSWORD)
    assert_error(
        result,
        2,
        f"the scheduler {stack.scheduler_url} refused the logs of task "
        f"0x{task_id(bytes.fromhex(deal[2:]), 0).hex()} to {STRANGER.address}: "
        "only the ",  # the scheduler's reason follows (its wording is the scheduler's)
    )


def test_task_logs__scheduler_does_not_answer__exit_6(
    project: Cli, stack: Stack, apps: dict[str, str]
) -> None:
    deal = _deal(stack, apps["hello-wasm"], "x")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free again once closed: nothing listens there
    url = f"http://127.0.0.1:{port}"
    result = project("--scheduler-url", url, "task", "logs", f"{deal}:0", env=PASSWORD)
    assert_error(result, 6, f"scheduler {url} did not answer GET")
