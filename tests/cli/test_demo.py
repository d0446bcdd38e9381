"""The demo: a whole devnet, one task from the market's orders to a verified result, and
the addresses asked for funded; a bad address refused before anything starts."""

from __future__ import annotations

import pytest

from veritask.devnet.demo import main

ADDRESS = "0x000000000000000000000000000000000000bEEF"


@pytest.mark.anvil
@pytest.mark.podman
def test_demo__fund_address__runs_a_task_to_its_verified_result(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--fund", ADDRESS, "--args", "demo test", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    for line in (
        "orders picked from the market (app, workerpool)",
        "task status COMPLETED",
        "matches the on-chain result digest",
        "order to verified result: ",
        f"funded {ADDRESS}: 10 ETH for gas, 100 RLC in its wallet",
    ):
        assert line in out
    assert out.rstrip().endswith("result: Hello, demo test!")


def test_demo__fund_not_an_address__exits_1_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--fund", "nope"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("demo: not an Ethereum address in --fund 'nope'")
    assert len(err.splitlines()) == 1
