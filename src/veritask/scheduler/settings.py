"""`SchedulerSettings`: typed settings from arguments or `VERITASK_SCHEDULER_*` variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from veritask.domain.amounts import NRLC_PER_RLC

__all__ = ["SchedulerSettings", "default_data_dir"]


def default_data_dir() -> Path:
    return Path.home() / ".veritask" / "scheduler"


class SchedulerSettings(BaseSettings):
    """Everything a scheduler needs; durations in seconds."""

    model_config = SettingsConfigDict(env_prefix="VERITASK_SCHEDULER_", frozen=True)

    rpc_url: str = "http://127.0.0.1:8545"
    hub: str = Field(default="", description="the hub's address")
    workerpool: str = Field(default="", description="the workerpool this scheduler runs")
    # The workerpool owner's key: a file holding a 0x hex private key, or a V3 keystore
    # whose password is in VERITASK_SCHEDULER_KEYSTORE_PASSWORD.
    key_file: Path | None = None
    keystore_password: str = ""
    database_url: str = Field(default="", description="SQLAlchemy URL; empty: SQLite in data_dir")
    data_dir: Path = Field(default_factory=default_data_dir)
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535, description="0 picks a free port")
    from_block: int = Field(default=0, ge=0, description="first block to follow on a new DB")
    confirmations: int = Field(default=0, ge=0)
    max_blocks_per_batch: int = Field(default=2_000, ge=1)
    chain_poll_s: float = Field(default=1.0, gt=0)
    rpc_timeout_s: float = Field(default=10.0, gt=0)
    heartbeat_s: float = Field(default=10.0, gt=0, description="what workers are told to use")
    lost_after_s: float = Field(default=60.0, gt=0, description="silence that makes a worker lost")
    token_ttl_s: float = Field(default=3_600.0, gt=0)
    max_wait_s: float = Field(default=30.0, ge=0, description="longest ask-for-work long poll")
    # Long polls waiting in a server thread at once (the others wait on the event loop); the
    # server has 40 threads, which logins, reports and heartbeats need too.
    max_long_polls: int = Field(default=16, ge=1, le=32)
    # Largest request body: a status report with 64 Ki characters of stdout and of stderr
    # fits, even JSON-escaped as surrogate pairs (12 bytes a character).
    max_body_bytes: int = Field(default=2 << 20, ge=4096)
    upload_timeout_s: float = Field(default=120.0, gt=0)
    # Where the scheduler reads uploaded results to check them before it finalizes (security
    # M2): the storage service the pool's workers upload to.
    storage_url: str = "http://127.0.0.1:8601"
    # Bounds of one check: the archive (the storage's default upload limit), what it
    # unpacks to (the requester's default download limit), and the whole download.
    max_result_bytes: int = Field(default=64 << 20, ge=1)
    max_result_unpacked_bytes: int = Field(default=256 << 20, ge=1)
    result_check_timeout_s: float = Field(default=30.0, gt=0)
    # Ignored since errors are results (a failed app is settled on chain by consensus on
    # its failure record); kept so that configurations that set it still load.
    app_failures_to_fail: int = Field(default=1, ge=1)
    # Worker-side failures (fetch, sandbox, chain) after which a task is given up.
    worker_failures_to_fail: int = Field(default=3, ge=1)
    claim_failed_tasks: bool = Field(default=True, description="claim refunds after deadlines")
    logs_clock_skew_s: int = Field(default=300, ge=0)
    # Who may work for the pool (security H3, docs/scheduler.md "Membership"). An
    # allow-list by default: a new pool hands its replicates to no stranger. "open" admits
    # any key that reaches the floors below, read on the chain.
    membership: Literal["allow-list", "open"] = "allow-list"
    # Worker addresses, one a line, each with an optional operator label; re-read when it
    # changes. Required for an allow-list; in an open pool it only names operators.
    members_file: Path | None = None
    # Floors of an open pool (0: not checked; not both). A key must keep this much free in
    # the hub, so a thousand throwaway keys tie up a thousand times as much.
    min_free_balance_nrlc: int = Field(default=100 * NRLC_PER_RLC, ge=0)
    min_score: int = Field(default=0, ge=0)
    # How long an open pool's admission holds before the chain is read again.
    membership_recheck_s: float = Field(default=60.0, gt=0)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.data_dir / 'scheduler.db'}"
