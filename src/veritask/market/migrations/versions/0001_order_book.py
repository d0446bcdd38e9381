"""The order book, the deals of its orders and the follower's cursor.

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

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ADDRESS = sa.String(42)
_HASH = sa.String(66)


def upgrade() -> None:
    op.create_table(
        "market_orders",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("order_hash", _HASH, nullable=False, unique=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("signer", _ADDRESS, nullable=False),
        sa.Column("asset", _ADDRESS, nullable=False),
        sa.Column("dataset", _ADDRESS, nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=False),
        sa.Column("consumed", sa.BigInteger(), nullable=False),
        sa.Column("remaining", sa.BigInteger(), nullable=False),
        sa.Column("tag", _HASH, nullable=False),
        sa.Column("tag_w0", sa.BigInteger(), nullable=False),
        sa.Column("tag_w1", sa.BigInteger(), nullable=False),
        sa.Column("tag_w2", sa.BigInteger(), nullable=False),
        sa.Column("tag_w3", sa.BigInteger(), nullable=False),
        sa.Column("category", sa.BigInteger(), nullable=True),
        sa.Column("trust", sa.BigInteger(), nullable=True),
        sa.Column("app_restrict", _ADDRESS, nullable=False),
        sa.Column("dataset_restrict", _ADDRESS, nullable=False),
        sa.Column("workerpool_restrict", _ADDRESS, nullable=False),
        sa.Column("requester_restrict", _ADDRESS, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("published_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("checked_block", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_market_orders_book", "market_orders", ["kind", "status", "price", "id"])
    op.create_index(
        "ix_market_orders_asset", "market_orders", ["kind", "status", "asset", "price", "id"]
    )
    op.create_index(
        "ix_market_orders_category",
        "market_orders",
        ["kind", "status", "category", "price", "id"],
    )
    op.create_index("ix_market_orders_signer", "market_orders", ["signer", "status"])
    op.create_table(
        "market_deals",
        sa.Column("deal_id", _HASH, primary_key=True),
        sa.Column("app_hash", _HASH, nullable=False),
        sa.Column("dataset_hash", _HASH, nullable=False),
        sa.Column("workerpool_hash", _HASH, nullable=False),
        sa.Column("request_hash", _HASH, nullable=False),
        sa.Column("volume", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("tx_hash", _HASH, nullable=False),
    )
    for column in ("app_hash", "dataset_hash", "workerpool_hash", "request_hash"):
        op.create_index(f"ix_market_deals_{column}", "market_deals", [column])
    op.create_table(
        "market_cursor",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("hub", _ADDRESS, nullable=False),
        sa.Column("next_block", sa.BigInteger(), nullable=False),
        sa.Column("last_block_hash", _HASH, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("market_cursor")
    op.drop_table("market_deals")
    op.drop_table("market_orders")
