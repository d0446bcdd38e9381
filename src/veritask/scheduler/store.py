"""The scheduler's state in SQLAlchemy (SQLite by default, PostgreSQL as an option): the
chain cursor, the pool's deals and tasks, replicates (one per worker per task), the
contributions seen on chain, and registered workers. Alembic migrations (`migrations/`)
create and upgrade the schema at startup; nothing here talks to the chain or to HTTP.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from veritask.domain.tasks import deadlines

__all__ = [
    "MIGRATIONS",
    "Base",
    "ContributionRow",
    "CursorRow",
    "DealRow",
    "ReplicateRow",
    "TaskRow",
    "TaskState",
    "WorkerRow",
    "make_sessions",
]


MIGRATIONS = Path(__file__).resolve().parent / "migrations"  # the Alembic script location


class TaskState:
    """The scheduler's task states (strings in the DB)."""

    PENDING = "pending"  # nobody contributed yet
    ACTIVE = "active"  # contributions, no consensus
    REVEALING = "revealing"  # consensus reached: winners reveal, one uploads
    COMPLETED = "completed"  # finalized on chain
    # A failure record settled on chain (TaskFailed): the workers agreed that the app or an
    # input failed; the requester paid the workerpool price only.
    SETTLED_FAILED = "settled_failed"
    FAILED = "failed"  # given up off chain: waits for its final deadline to be claimed
    CLAIMED = "claimed"  # refunded on chain

    OPEN = (PENDING, ACTIVE)
    FINAL = (COMPLETED, SETTLED_FAILED, CLAIMED)


class Base(DeclarativeBase):
    pass


class CursorRow(Base):
    """Where the chain follower stopped: written in the same transaction as the effects of
    the events before it (PROTOCOL.md B5)."""

    __tablename__ = "cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_block: Mapped[int] = mapped_column(BigInteger)
    last_block_hash: Mapped[str | None] = mapped_column(String(66), nullable=True)


class DealRow(Base):
    __tablename__ = "deals"

    deal_id: Mapped[str] = mapped_column(String(66), primary_key=True)
    requester: Mapped[str] = mapped_column(String(42))
    beneficiary: Mapped[str] = mapped_column(String(42))
    app: Mapped[str] = mapped_column(String(42))
    app_kind: Mapped[str] = mapped_column(String(8))
    app_multiaddr: Mapped[str] = mapped_column(Text)
    app_checksum: Mapped[str] = mapped_column(String(66))
    dataset: Mapped[str] = mapped_column(String(42))
    dataset_multiaddr: Mapped[str] = mapped_column(Text)
    dataset_checksum: Mapped[str] = mapped_column(String(66))
    params: Mapped[str] = mapped_column(Text)
    tag: Mapped[str] = mapped_column(String(66))
    callback: Mapped[str] = mapped_column(String(42))
    trust: Mapped[int] = mapped_column(Integer)
    tee: Mapped[bool] = mapped_column(Boolean)
    category: Mapped[int] = mapped_column(Integer)
    time_ref: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[int] = mapped_column(BigInteger)
    bot_first: Mapped[int] = mapped_column(BigInteger)
    bot_size: Mapped[int] = mapped_column(Integer)
    block_number: Mapped[int] = mapped_column(BigInteger)

    @property
    def contribution_deadline(self) -> int:
        return deadlines(self.start_time, self.time_ref).contribution

    @property
    def final_deadline(self) -> int:
        return deadlines(self.start_time, self.time_ref).final


class TaskRow(Base):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_open", "state", "open_slots", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(String(66), unique=True)
    deal_id: Mapped[str] = mapped_column(ForeignKey("deals.deal_id"), index=True)
    index: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    open_slots: Mapped[int] = mapped_column(Integer)  # replicates wanted now
    round: Mapped[int] = mapped_column(Integer, default=0)
    consensus_hash: Mapped[str] = mapped_column(String(66), default="")
    reveal_deadline: Mapped[int] = mapped_column(BigInteger, default=0)
    digest: Mapped[str] = mapped_column(String(66), default="")
    # What `finalize` sends: set only once the upload passed its check (upload_check.py).
    results: Mapped[str] = mapped_column(Text, default="")
    callback_data: Mapped[str] = mapped_column(Text, default="")
    # What the uploader reported, waiting for that check.
    reported_results: Mapped[str] = mapped_column(Text, default="", server_default="")
    reported_callback_data: Mapped[str] = mapped_column(Text, default="", server_default="")
    uploader: Mapped[str] = mapped_column(String(42), default="")
    upload_asked_at: Mapped[float] = mapped_column(Float, default=0.0)
    finalize_sent_at: Mapped[float] = mapped_column(Float, default=0.0)
    reopen_sent_at: Mapped[float] = mapped_column(Float, default=0.0)
    claim_sent_at: Mapped[float] = mapped_column(Float, default=0.0)
    app_failures: Mapped[int] = mapped_column(Integer, default=0)
    worker_failures: Mapped[int] = mapped_column(Integer, default=0)
    failure: Mapped[str] = mapped_column(Text, default="")
    # 0x hex of the failure record finalize sends, once the consensus digest is its keccak
    # (taken from a winner's report), or the one TaskFailed settled.
    failure_record: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[float] = mapped_column(Float, default=0.0)


class ReplicateRow(Base):
    """One worker's share of a task, from assignment to its last report."""

    __tablename__ = "replicates"
    __table_args__ = (
        UniqueConstraint("task_id", "worker", name="uq_replicates_task_worker"),
        Index("ix_replicates_worker_action", "worker", "action"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.task_id"), index=True)
    worker: Mapped[str] = mapped_column(String(42))
    status: Mapped[str] = mapped_column(String(24))
    busy: Mapped[bool] = mapped_column(Boolean)  # holds one of the worker's compute slots
    pending: Mapped[bool] = mapped_column(Boolean)  # may still contribute
    action: Mapped[str] = mapped_column(String(16), default="")  # next order for the worker
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stdout: Mapped[str] = mapped_column(Text, default="")
    stderr: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    failure_record: Mapped[str] = mapped_column(Text, default="")  # 0x hex, as reported
    created_at: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float)


class ContributionRow(Base):
    """A `TaskContribute` event, with what later events said about it."""

    __tablename__ = "contributions"

    task_id: Mapped[str] = mapped_column(String(66), primary_key=True)
    worker: Mapped[str] = mapped_column(String(42), primary_key=True)
    result_hash: Mapped[str] = mapped_column(String(66))
    weight: Mapped[int] = mapped_column(Integer)
    round: Mapped[int] = mapped_column(Integer)
    revealed: Mapped[bool] = mapped_column(Boolean, default=False)
    rejected: Mapped[bool] = mapped_column(Boolean, default=False)


class WorkerRow(Base):
    __tablename__ = "workers"

    address: Mapped[str] = mapped_column(String(42), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    cpus: Mapped[int] = mapped_column(Integer)
    memory_bytes: Mapped[int] = mapped_column(BigInteger)
    runtimes: Mapped[str] = mapped_column(String(64))  # comma-separated
    tee: Mapped[bool] = mapped_column(Boolean)
    max_tasks: Mapped[int] = mapped_column(Integer)
    last_seen_at: Mapped[float] = mapped_column(Float)
    lost: Mapped[bool] = mapped_column(Boolean, default=False)


def make_sessions(engine: Engine) -> sessionmaker:  # type: ignore[type-arg]
    return sessionmaker(engine, expire_on_commit=False)
