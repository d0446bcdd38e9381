"""What the chosen uploader reported, kept apart from the results the scheduler finalizes
with until the upload is checked (security M2).

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as tasks:
        tasks.add_column(
            sa.Column("reported_results", sa.Text(), nullable=False, server_default="")
        )
        tasks.add_column(
            sa.Column("reported_callback_data", sa.Text(), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("tasks") as tasks:
        tasks.drop_column("reported_callback_data")
        tasks.drop_column("reported_results")
