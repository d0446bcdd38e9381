"""The market's tables (SQLAlchemy Core). The Alembic migrations in `migrations/` create
them; a test checks that the migrated schema and these definitions agree.

Prices, volumes, categories and trust are 64-bit integers here: the market refuses orders
whose values do not fit (no such order can be paid for: the token supply is below 2**63).
A tag (256 bits) is kept as its 0x hex string for exact filters and as four signed 64-bit
words (`tag_w0` lowest) so that subset and superset filters are SQL bitwise ANDs that both
SQLite and PostgreSQL evaluate on an index-filtered range.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = ["cursor", "deals", "metadata", "orders"]

metadata = MetaData()

_ID = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER keys only

orders = Table(
    "market_orders",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("order_hash", String(66), nullable=False, unique=True),
    Column("kind", String(10), nullable=False),
    Column("status", String(16), nullable=False),  # veritask.sdk.market_api.OrderStatus
    Column("signer", String(42), nullable=False),
    # The app, dataset or workerpool the order sells; the app of a request order.
    Column("asset", String(42), nullable=False),
    Column("dataset", String(42), nullable=False),  # a request's dataset, else zero
    Column("price", BigInteger, nullable=False),  # a request's workerpool max price
    Column("volume", BigInteger, nullable=False),
    Column("consumed", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("tag", String(66), nullable=False),
    Column("tag_w0", BigInteger, nullable=False),
    Column("tag_w1", BigInteger, nullable=False),
    Column("tag_w2", BigInteger, nullable=False),
    Column("tag_w3", BigInteger, nullable=False),
    Column("category", BigInteger, nullable=True),  # workerpool and request orders
    Column("trust", BigInteger, nullable=True),
    # Restrictions, zero address for "anyone"; a request's `workerpool` is its
    # workerpool restriction.
    Column("app_restrict", String(42), nullable=False),
    Column("dataset_restrict", String(42), nullable=False),
    Column("workerpool_restrict", String(42), nullable=False),
    Column("requester_restrict", String(42), nullable=False),
    Column("body", Text, nullable=False),  # the order file's JSON, signature included
    Column("published_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    # Chain facts (owner, consumed volume) were read at this block: events of this block or
    # earlier are already in them and must not be applied again.
    Column("checked_block", BigInteger, nullable=False),
    Index("ix_market_orders_book", "kind", "status", "price", "id"),
    Index("ix_market_orders_asset", "kind", "status", "asset", "price", "id"),
    Index("ix_market_orders_category", "kind", "status", "category", "price", "id"),
    Index("ix_market_orders_signer", "signer", "status"),
)

deals = Table(
    "market_deals",
    metadata,
    Column("deal_id", String(66), primary_key=True),
    Column("app_hash", String(66), nullable=False, index=True),
    Column("dataset_hash", String(66), nullable=False, index=True),
    Column("workerpool_hash", String(66), nullable=False, index=True),
    Column("request_hash", String(66), nullable=False, index=True),
    Column("volume", BigInteger, nullable=False),
    Column("block_number", BigInteger, nullable=False),
    Column("log_index", Integer, nullable=False),
    Column("tx_hash", String(66), nullable=False),
)

# One row: where the follower stopped, and which chain and hub this database belongs to.
cursor = Table(
    "market_cursor",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("chain_id", BigInteger, nullable=False),
    Column("hub", String(42), nullable=False),
    Column("next_block", BigInteger, nullable=False),
    Column("last_block_hash", String(66), nullable=True),
)
