"""`veritask deal show|claim` and `veritask task show|claim` end to end against anvil: a deal
with a completed task, a started one and never-started ones (tests/deals_on_devnet.py),
shown before and after its final deadline; claims refused before it change nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from eth_utils.crypto import keccak

from tests.cli.conftest import Cli, assert_error
from tests.deals_on_devnet import (
    FINAL_AFTER_S,
    RESULTS,
    TASK_PRICE,
    DealOnDevnet,
    make_deal,
    travel,
)
from tests.devnet import Devnet, demo_account, reverted

pytestmark = pytest.mark.anvil

REQUESTER = demo_account("cli deal test requester")
PASSWORD = {"VERITASK_PASSWORD": "pw"}
WIDE = {"COLUMNS": "250"}  # rows of ids and results on one line


@pytest.fixture(autouse=True)
def _fresh_chain(devnet: Devnet) -> Iterator[None]:
    with reverted(devnet):
        yield


@pytest.fixture
def project(cli: Cli, devnet: Devnet) -> Cli:
    """A profile "test" at the devnet and the requester's wallet."""
    init = cli("--profile", "test", "--rpc-url", devnet.url, "--hub", devnet.hub, "init")
    assert init.exit_code == 0, init.output
    cli.import_key("0x" + bytes(REQUESTER.key).hex())
    return cli


@pytest.fixture
def deal(devnet: Devnet) -> DealOnDevnet:
    return make_deal(devnet, REQUESTER)


def _line_with(text: str, *parts: str) -> str:
    lines = [line for line in text.splitlines() if all(part in line for part in parts)]
    assert lines, (parts, text)
    return lines[0]


def test_deal_show__before_the_deadline__terms_deadlines_and_task_table(
    project: Cli, deal: DealOnDevnet
) -> None:
    result = project("deal", "show", deal.deal_hex, env=WIDE)

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"deal {deal.deal_hex}" in out
    assert deal.app in _line_with(out, "app", "(2 RLC)")
    # The deal started within a few seconds of the latest block: 35 and 50 min (7C, 10C).
    assert re.search(r"\(in (34|35) min", _line_with(out, "contributions until"))
    assert re.search(r"\(in (49|50) min", _line_with(out, "final deadline"))
    assert RESULTS.decode() in _line_with(out, deal.task_hex(0), "COMPLETED")
    assert deal.worker.address in _line_with(out, "REVEALING")
    assert len([line for line in out.splitlines() if "UNSET" in line]) == 2


def test_deal_show__json__every_task_with_its_result(project: Cli, deal: DealOnDevnet) -> None:
    result = project("deal", "show", deal.deal_hex, "--json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["volume"], data["task_price_nrlc"], data["app"]) == (4, TASK_PRICE, deal.app)
    assert data["final_deadline"] - data["start_time"] == FINAL_AFTER_S
    tasks = data["tasks"]
    assert [t["status"] for t in tasks] == ["COMPLETED", "REVEALING", "UNSET", "UNSET"]
    assert tasks[0]["results"] == RESULTS.decode()
    assert tasks[0]["result_digest"] == "0x" + deal.digest.hex()
    assert tasks[1]["contributors"] == [{"worker": deal.worker.address, "status": "CONTRIBUTED"}]


def test_task_show__by_deal_index_and_by_task_id__what_happens_next(
    project: Cli, deal: DealOnDevnet
) -> None:
    started = project("task", "show", f"{deal.deal_hex}:1")
    waiting = project("task", "show", deal.task_hex(2))
    done = project("--json", "task", "show", deal.task_hex(0))

    assert started.exit_code == 0, started.output
    assert "reveal window open until" in _line_with(started.stdout, "next")
    assert "CONTRIBUTED" in _line_with(started.stdout, deal.worker.address)
    assert "waiting for a worker" in _line_with(waiting.stdout, "next")
    assert json.loads(done.stdout)["next"] == "completed: the result is final"


def test_deal_claim__before_the_final_deadline__refused_without_a_prompt_nothing_sent(
    project: Cli, devnet: Devnet, deal: DealOnDevnet
) -> None:
    before = devnet.balances(REQUESTER.address)

    result = project("deal", "claim", deal.deal_hex)
    task_result = project("task", "claim", f"{deal.deal_hex}:2", env=PASSWORD)

    for refused in (result, task_result):
        assert_error(refused, 2, "final deadline not reached: claimable in ")
        assert re.search(r"claimable in (49|50) min \d+ s, at 20\d\d-", refused.stderr)
    assert devnet.balances(REQUESTER.address) == before


def test_deal_claim__after_the_final_deadline__refunds_then_refuses_a_second_claim(
    project: Cli, devnet: Devnet, deal: DealOnDevnet
) -> None:
    travel(devnet, FINAL_AFTER_S)
    hint = project("task", "show", f"{deal.deal_hex}:3", env=WIDE)
    assert f"claimable now: run `veritask deal claim {deal.deal_hex}`" in hint.stdout
    free, frozen = devnet.client.account(REQUESTER.address)

    result = project("deal", "claim", deal.deal_hex, env=PASSWORD)

    assert result.exit_code == 0, result.output
    assert f"claimed tasks 1, 2, 3 of deal {deal.deal_hex}" in result.stdout
    assert f"refunded 15 RLC to the requester {REQUESTER.address}" in result.stdout
    # Tasks 2 and 3 nobody ran: the scheduler's stakes of both (0.9 RLC each) go along.
    assert "and 1.8 RLC of the scheduler's stake, for the tasks nobody ran" in result.stdout
    assert devnet.client.account(REQUESTER.address) == (
        free + 3 * TASK_PRICE + 2 * 900_000_000,
        frozen - 3 * TASK_PRICE,
    )
    after = project("--json", "deal", "show", deal.deal_hex)
    statuses = [t["status"] for t in json.loads(after.stdout)["tasks"]]
    assert statuses == ["COMPLETED", "FAILED", "FAILED", "FAILED"]
    before = devnet.balances(REQUESTER.address)
    again = project("deal", "claim", deal.deal_hex, env=PASSWORD)
    assert_error(again, 2, f"nothing to claim: every task of deal {deal.deal_hex} is already")
    assert devnet.balances(REQUESTER.address) == before


def test_task_claim__one_task__refunds_its_price_only(
    project: Cli, devnet: Devnet, deal: DealOnDevnet
) -> None:
    travel(devnet, FINAL_AFTER_S)
    free, _ = devnet.client.account(REQUESTER.address)

    result = project("--json", "task", "claim", f"{deal.deal_hex}:1", env=PASSWORD)

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["indices"], data["refunded_nrlc"], data["refunded_rlc"]) == ([1], TASK_PRICE, "5")
    assert devnet.client.account(REQUESTER.address)[0] == free + TASK_PRICE
    again = project("task", "claim", f"{deal.deal_hex}:1", env=PASSWORD)
    assert_error(again, 2, "nothing to claim for task 1 (FAILED): it is already final")
    completed = project("task", "claim", deal.task_hex(0), env=PASSWORD)
    assert_error(completed, 2, "nothing to claim for task 0 (COMPLETED)")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("deal", "show", "0x1234"), "not a deal id: '0x1234'"),
        (("deal", "show", "0x" + "11" * 32), f"no deal 0x{'11' * 32} on this chain (profile test)"),
        (("deal", "claim", "0x" + "11" * 32), "no deal 0x"),
        (("task", "show", "0x" + keccak(b"x").hex()), "no task 0x"),
        (("task", "show", "0x" + "11" * 32 + ":x"), "not a task index: 'x'"),
        (("task", "claim", "nope"), "not a task: 'nope'"),
    ],
)
def test_deal_and_task__bad_ids__exit_2(
    project: Cli, deal: DealOnDevnet, args: tuple[str, ...], message: str
) -> None:
    assert_error(project(*args), 2, message)


def test_task_show__index_outside_the_bag__exit_2(project: Cli, deal: DealOnDevnet) -> None:
    result = project("task", "show", f"{deal.deal_hex}:9")
    assert_error(result, 2, f"deal {deal.deal_hex} has tasks 0 to 3: 9 is not one of them")
