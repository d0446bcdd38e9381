"""The CLI's global state: the built-in devnet profile takes the service URLs it lacks,
the scheduler's included, from a running `veritask devnet up`."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from veritask.cli.state import CliState
from veritask.devnet.state import STATE_FILE, DevnetState

HUB = "0x63b245F91692f369195636beE9ee44232A96613C"


@pytest.fixture
def running_devnet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A devnet state file of this (live) process, and no project file or VERITASK_*."""
    folder = tmp_path / "devnet"
    folder.mkdir()
    state = DevnetState(
        pid=os.getpid(),
        started_at=0.0,
        services={
            "rpc": "http://127.0.0.1:18545",
            "storage": "http://127.0.0.1:18601",
            "market": "http://127.0.0.1:18602",
            "scheduler": "http://127.0.0.1:18600",
        },
        hub=HUB,
        chain_id=31337,
        workers=1,
        accounts={},
        apps={},
        datasets={},
    )
    (folder / STATE_FILE).write_text(state.to_json())
    for name in list(os.environ):
        if name.startswith("VERITASK_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("VERITASK_DEVNET_DIR", str(folder))
    monkeypatch.chdir(tmp_path)
    return folder


def test_profile__devnet_running__fills_every_service_url(running_devnet: Path) -> None:
    profile = CliState().profile()
    assert (profile.rpc_url, profile.hub) == ("http://127.0.0.1:18545", HUB)
    assert profile.storage_url == "http://127.0.0.1:18601"
    assert profile.market_url == "http://127.0.0.1:18602"
    assert profile.scheduler_url == "http://127.0.0.1:18600"


def test_profile__scheduler_url_flag__wins_over_the_devnet(running_devnet: Path) -> None:
    profile = CliState(scheduler_url="http://127.0.0.1:9").profile()
    assert profile.scheduler_url == "http://127.0.0.1:9"


def test_profile__no_devnet__no_scheduler_url(running_devnet: Path) -> None:
    (running_devnet / STATE_FILE).unlink()
    assert CliState().profile().scheduler_url is None
