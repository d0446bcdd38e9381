"""`WorkerSettings`: typed settings from arguments or `VERITASK_WORKER_*` variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from eth_account.signers.local import LocalAccount
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from veritask.errors import InvalidInput
from veritask.sdk.wallet import load_key_file

from .public_http import Network, parse_networks

__all__ = ["WorkerSettings"]


class WorkerSettings(BaseSettings):
    """Everything a worker needs; durations in seconds, sizes in bytes."""

    model_config = SettingsConfigDict(env_prefix="VERITASK_WORKER_", frozen=True)

    scheduler_url: str = "http://127.0.0.1:8602"
    rpc_url: str = "http://127.0.0.1:8545"
    storage_url: str = "http://127.0.0.1:8601"
    # The worker's wallet: a file holding a 0x hex private key, or a V3 keystore whose
    # password is in VERITASK_WORKER_KEYSTORE_PASSWORD.
    key_file: Path | None = None
    keystore_password: str = ""
    work_dir: Path = Field(default_factory=lambda: Path.home() / ".veritask" / "worker")
    name: str = Field(default_factory=lambda: os.uname().nodename[:64])
    cpus: float = Field(default=1.0, gt=0, description="CPUs an app may use")
    memory_bytes: int = Field(default=512 * 2**20, ge=2**20, description="memory an app may use")
    max_app_time_s: float = Field(
        default=3_600.0, gt=0, description="cap on the category's time limit"
    )
    output_bytes: int = Field(default=64 * 2**20, ge=0, description="cap on /iexec_out")
    output_entries: int = Field(
        default=10_000, ge=1, description="cap on files and folders in /iexec_out"
    )
    log_bytes: int = Field(default=16 * 2**10, ge=0, description="stdout/stderr tails kept")
    fetch_timeout_s: float = Field(default=60.0, gt=0)
    # Networks that input, dataset and app URLs may reach although not public (security
    # H4): empty by default, so loopback, private, link-local (cloud metadata) and the like
    # are refused. A devnet sets its loopback; text is comma-separated ("127.0.0.1/32,::1").
    fetch_allow: Annotated[tuple[Network, ...], NoDecode] = ()
    max_dataset_bytes: int = Field(default=256 * 2**20, ge=0)
    max_input_bytes: int = Field(default=64 * 2**20, ge=0, description="per input file")
    max_app_bytes: int = Field(default=512 * 2**20, ge=0, description="app archive or module")
    heartbeat_s: float = Field(default=0.0, ge=0, description="0: what the scheduler says")
    ask_wait_s: float = Field(default=20.0, ge=0, description="ask-for-work long poll")
    rpc_timeout_s: float = Field(default=30.0, gt=0)
    # Workerpool policies this worker accepts (percentages): a pool could otherwise make
    # workers stake the whole price and keep the whole reward.
    max_worker_stake_ratio: int = Field(default=50, ge=0, le=100)
    max_scheduler_reward_ratio: int = Field(default=50, ge=0, le=100)
    # Fault injection for demos and tests of consensus: "wrong_result" contributes a
    # wrong digest (the worker is then slashed). Never set it on a real worker.
    fault: Literal["", "wrong_result"] = ""

    @field_validator("fetch_allow", mode="before")
    @classmethod
    def _networks_from_text(cls, value: object) -> object:
        return parse_networks(value) if isinstance(value, str) else value

    def account(self) -> LocalAccount:
        if self.key_file is None:
            raise InvalidInput("worker: set key_file (VERITASK_WORKER_KEY_FILE)")
        return load_key_file(self.key_file, self.keystore_password)
