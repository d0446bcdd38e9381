"""`veritask deal watch` end to end against anvil: a line per task move (or one JSON object
per move with --json), exit code 0 when every task completed and 5 when the watch ends with
tasks failed, claimable or still running."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.cli.conftest import Cli, assert_error
from tests.deals_on_devnet import FINAL_AFTER_S, DealOnDevnet, make_deal, travel
from tests.devnet import Devnet, demo_account, reverted

pytestmark = pytest.mark.anvil

REQUESTER = demo_account("cli watch test requester")


@pytest.fixture(autouse=True)
def _fresh_chain(devnet: Devnet) -> Iterator[None]:
    with reverted(devnet):
        yield


@pytest.fixture
def project(cli: Cli, devnet: Devnet) -> Cli:
    init = cli("--profile", "test", "--rpc-url", devnet.url, "--hub", devnet.hub, "init")
    assert init.exit_code == 0, init.output
    return cli


@pytest.fixture
def deal(devnet: Devnet) -> DealOnDevnet:
    return make_deal(devnet, REQUESTER)


def test_deal_watch__timeout__prints_each_task_and_exits_5(
    project: Cli, deal: DealOnDevnet
) -> None:
    result = project("deal", "watch", deal.deal_hex, "--timeout", "0.2")

    assert result.exit_code == 5, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"task 0 {deal.task_hex(0)}: COMPLETED (0 contributions)")
    assert lines[1].startswith(f"task 1 {deal.task_hex(1)}: REVEALING (1 contribution)")
    assert "waiting for a worker" in lines[2]
    assert lines[-1] == "1 of 4 tasks completed (still running after 0.2 s)"


def test_deal_watch__past_the_final_deadline__ends_settled(
    project: Cli, devnet: Devnet, deal: DealOnDevnet
) -> None:
    travel(devnet, FINAL_AFTER_S + 1)
    result = project("deal", "watch", deal.deal_hex)

    assert result.exit_code == 5, result.output
    assert "claimable now: run `veritask deal claim" in result.stdout
    assert result.stdout.splitlines()[-1] == "1 of 4 tasks completed (settled)"


def test_deal_watch__json__one_object_per_task_then_the_end(
    project: Cli, deal: DealOnDevnet
) -> None:
    result = project("deal", "watch", deal.deal_hex, "--timeout", "0", "--json")

    assert result.exit_code == 5, result.output
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["event"] for o in objects] == ["task"] * 4 + ["end"]
    assert [o["status"] for o in objects[:4]] == ["COMPLETED", "REVEALING", "UNSET", "UNSET"]
    assert objects[-1] == {"event": "end", "completed": 1, "settled": False}


def test_deal_watch__unknown_deal__one_line_error(project: Cli) -> None:
    result = project("deal", "watch", "0x" + "ab" * 32)
    assert_error(result, 2, "no deal 0x" + "ab" * 32)
