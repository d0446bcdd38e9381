"""The upload ledger: the blobs and the bytes each uploader stores.

Revision ID: 0001
Revises:
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
        "storage_blobs",
        sa.Column("cid", sa.String(100), primary_key=True),
        sa.Column("uploader", sa.String(42), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
    )
    op.create_index("ix_storage_blobs_state", "storage_blobs", ["state"])
    op.create_table(
        "storage_uploaders",
        sa.Column("address", sa.String(42), primary_key=True),
        sa.Column("stored_bytes", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("storage_uploaders")
    op.drop_index("ix_storage_blobs_state", table_name="storage_blobs")
    op.drop_table("storage_blobs")
