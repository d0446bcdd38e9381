"""The market service's settings: environment variables `VERITASK_MARKET_*` (pydantic-settings),
overridden by the `python -m veritask.market` flags."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_DATABASE_URL", "MarketSettings"]

DEFAULT_DATABASE_URL = "sqlite:///veritask-market.db"


class MarketSettings(BaseSettings):
    """Where the chain and the database are, how to serve, and the book's policies."""

    model_config = SettingsConfigDict(env_prefix="VERITASK_MARKET_", extra="ignore")

    rpc_url: str = "http://127.0.0.1:8545"
    hub: str | None = None  # required to validate orders against the chain
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = Field(default=8600, ge=0, le=65_535)
    # Open orders one signer may have in the book (PoCo's market uses 50).
    max_open_orders_per_signer: int = Field(default=50, ge=1)
    page_size_default: int = Field(default=20, ge=1)
    page_size_max: int = Field(default=1_000, ge=1)
    rpc_timeout_s: float = Field(default=10.0, gt=0)
    # The chain follower: blocks held back from the head, batch size, pause between polls.
    follow_chain: bool = True
    confirmations: int = Field(default=0, ge=0)
    max_blocks: int = Field(default=2_000, ge=1)
    poll_interval_s: float = Field(default=1.0, gt=0)
    # The first block to read when the database has no cursor yet (the hub's deployment).
    start_block: int = Field(default=0, ge=0)
    # Server-sent events: a comment line this often keeps idle connections open.
    stream_keepalive_s: float = Field(default=15.0, gt=0)
    # Live streams served at once; each holds a queue of up to 10 000 changes.
    max_stream_subscribers: int = Field(default=1_000, ge=1)
    # Largest request body: an order file is a few KiB (its `params` included).
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
