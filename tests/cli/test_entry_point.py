"""The installed `veritask` console script as a real process: exit codes, one-line errors
on stderr and no traceback (what scripts and CI see)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.conftest import VERITASK_ENV
from tests.devnet import closed_port_url

SCRIPT = Path(sys.executable).parent / "veritask"


def _run(*args: str, cwd: Path, wallet_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in VERITASK_ENV}
    env["VERITASK_WALLET_DIR"] = str(wallet_dir)
    return subprocess.run(
        [str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=30
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    if not SCRIPT.is_file():
        pytest.fail(f"{SCRIPT} is missing: reinstall the project (`./scripts/setup`)")
    return tmp_path


def test_console_script__help__exit_0(folder: Path) -> None:
    result = _run("--help", cwd=folder, wallet_dir=folder / "w")
    assert result.returncode == 0, result.stderr
    for command in ("init", "info", "wallet", "account"):
        assert command in result.stdout


def test_console_script__node_down__exit_3_one_line(folder: Path) -> None:
    url = closed_port_url()
    started = time.monotonic()
    result = _run("--rpc-url", url, "info", cwd=folder, wallet_dir=folder / "w")
    assert time.monotonic() - started < 10  # process start included
    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr == (
        f"error: the chain profile 'devnet' does not answer at {url}: start it with "
        "`./scripts/demo --keep` or check --rpc-url\n"
    )


def test_console_script__bad_amount__exit_2_one_line(folder: Path) -> None:
    result = _run("account", "deposit", "lots", cwd=folder, wallet_dir=folder / "w")
    assert result.returncode == 2
    assert result.stderr.startswith("error: not an amount: 'lots'")
    assert result.stderr.count("\n") == 1


def test_console_script__usage_error__exit_2(folder: Path) -> None:
    result = _run("account", "teleport", cwd=folder, wallet_dir=folder / "w")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
