"""The initial schema: cursor, deals, tasks, replicates, contributions, workers.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cursor",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("next_block", sa.BigInteger(), nullable=False),
        sa.Column("last_block_hash", sa.String(66), nullable=True),
    )
    op.create_table(
        "deals",
        sa.Column("deal_id", sa.String(66), primary_key=True),
        sa.Column("requester", sa.String(42), nullable=False),
        sa.Column("beneficiary", sa.String(42), nullable=False),
        sa.Column("app", sa.String(42), nullable=False),
        sa.Column("app_kind", sa.String(8), nullable=False),
        sa.Column("app_multiaddr", sa.Text(), nullable=False),
        sa.Column("app_checksum", sa.String(66), nullable=False),
        sa.Column("dataset", sa.String(42), nullable=False),
        sa.Column("dataset_multiaddr", sa.Text(), nullable=False),
        sa.Column("dataset_checksum", sa.String(66), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("tag", sa.String(66), nullable=False),
        sa.Column("callback", sa.String(42), nullable=False),
        sa.Column("trust", sa.Integer(), nullable=False),
        sa.Column("tee", sa.Boolean(), nullable=False),
        sa.Column("category", sa.Integer(), nullable=False),
        sa.Column("time_ref", sa.Integer(), nullable=False),
        sa.Column("start_time", sa.BigInteger(), nullable=False),
        sa.Column("bot_first", sa.BigInteger(), nullable=False),
        sa.Column("bot_size", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.String(66), nullable=False, unique=True),
        sa.Column("deal_id", sa.String(66), sa.ForeignKey("deals.deal_id"), nullable=False),
        sa.Column("index", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("open_slots", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("consensus_hash", sa.String(66), nullable=False),
        sa.Column("reveal_deadline", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(66), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("callback_data", sa.Text(), nullable=False),
        sa.Column("uploader", sa.String(42), nullable=False),
        sa.Column("upload_asked_at", sa.Float(), nullable=False),
        sa.Column("finalize_sent_at", sa.Float(), nullable=False),
        sa.Column("reopen_sent_at", sa.Float(), nullable=False),
        sa.Column("claim_sent_at", sa.Float(), nullable=False),
        sa.Column("app_failures", sa.Integer(), nullable=False),
        sa.Column("worker_failures", sa.Integer(), nullable=False),
        sa.Column("failure", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_tasks_deal_id", "tasks", ["deal_id"])
    op.create_index("ix_tasks_open", "tasks", ["state", "open_slots", "id"])
    op.create_table(
        "replicates",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("task_id", sa.String(66), sa.ForeignKey("tasks.task_id"), nullable=False),
        sa.Column("worker", sa.String(42), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("busy", sa.Boolean(), nullable=False),
        sa.Column("pending", sa.Boolean(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("stdout", sa.Text(), nullable=False),
        sa.Column("stderr", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("task_id", "worker", name="uq_replicates_task_worker"),
    )
    op.create_index("ix_replicates_task_id", "replicates", ["task_id"])
    op.create_index("ix_replicates_worker_action", "replicates", ["worker", "action"])
    op.create_table(
        "contributions",
        sa.Column("task_id", sa.String(66), primary_key=True),
        sa.Column("worker", sa.String(42), primary_key=True),
        sa.Column("result_hash", sa.String(66), nullable=False),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("revealed", sa.Boolean(), nullable=False),
        sa.Column("rejected", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "workers",
        sa.Column("address", sa.String(42), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("cpus", sa.Integer(), nullable=False),
        sa.Column("memory_bytes", sa.BigInteger(), nullable=False),
        sa.Column("runtimes", sa.String(64), nullable=False),
        sa.Column("tee", sa.Boolean(), nullable=False),
        sa.Column("max_tasks", sa.Integer(), nullable=False),
        sa.Column("last_seen_at", sa.Float(), nullable=False),
        sa.Column("lost", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    for table in ("workers", "contributions", "replicates", "tasks", "deals", "cursor"):
        op.drop_table(table)
