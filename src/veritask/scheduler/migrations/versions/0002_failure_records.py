"""Failure records (errors are results): the record a task's consensus settles with, on
tasks, and the record each worker reported, on replicates. The new task state
`settled_failed` fits the state column as it is.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("tasks", "replicates"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("failure_record", sa.Text(), nullable=False, server_default="")
            )


def downgrade() -> None:
    for table in ("replicates", "tasks"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("failure_record")
