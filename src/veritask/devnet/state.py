"""Where a devnet keeps its state, and reading it: shared by `veritask devnet` (which
starts and stops it) and the CLI's built-in "devnet" profile (which finds its addresses)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from veritask.errors import InvalidInput

__all__ = ["LOG_FILE", "STATE_FILE", "DevnetState", "alive", "devnet_dir", "read_state"]

STATE_FILE = "state.json"
LOG_FILE = "devnet.log"


def devnet_dir() -> Path:
    """Where the devnet keeps its state, log and data: `$VERITASK_DEVNET_DIR`, else
    `~/.veritask/devnet` (one devnet per machine: its node listens on 127.0.0.1:8545)."""
    given = os.environ.get("VERITASK_DEVNET_DIR")
    return Path(given) if given else Path.home() / ".veritask" / "devnet"


@dataclass(frozen=True)
class DevnetState:
    """What the devnet process wrote once ready."""

    pid: int
    started_at: float
    services: dict[str, str]  # name -> URL (rpc, storage, market, scheduler)
    hub: str
    chain_id: int
    workers: int
    accounts: dict[str, str]  # role -> address
    apps: dict[str, str]  # demo app name -> address
    datasets: dict[str, str]

    @classmethod
    def from_json(cls, text: str) -> DevnetState:
        data = json.loads(text)
        return cls(**data)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, indent=2, sort_keys=True)


def alive(pid: int) -> bool:
    """Whether process `pid` runs (a zombie, exited but not reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def read_state(folder: Path) -> DevnetState | None:
    """The running devnet's state, or None (a state file of a dead process is removed)."""
    path = folder / STATE_FILE
    try:
        state = DevnetState.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"{path} is not a devnet state file ({exc}): remove it") from exc
    if not alive(state.pid):
        path.unlink(missing_ok=True)
        return None
    return state
