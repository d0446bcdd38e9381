"""The demo: deploys on a fresh anvil, matches a first deal, funds the addresses asked for."""

from __future__ import annotations

import pytest

from veritask.cli.demo import main

ADDRESS = "0x000000000000000000000000000000000000bEEF"


def test_demo__fund_address__deploys_matches_and_funds(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--fund", ADDRESS]) == 0
    out = capsys.readouterr().out
    for line in ("hub ", "annex ", "deal ", "waiting for a worker", f"funded       {ADDRESS}"):
        assert line in out


def test_demo__fund_not_an_address__exits_1_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--fund", "nope"]) == 1
    err = capsys.readouterr().err.strip()
    assert err == "demo: --fund 'nope' is not an address (expected 0x and 40 hex digits)"
