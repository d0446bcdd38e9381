"""The services' SQL databases: one engine factory (SQLite by default, PostgreSQL in
production) and the programmatic Alembic upgrade each service runs at startup on its own
migrations. It knows no table of any service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import StaticPool

__all__ = ["make_engine", "migrate"]

_MEMORY_URLS = frozenset({"sqlite://", "sqlite:///:memory:"})
_BUSY_TIMEOUT_S = 30  # a writer waits for the lock instead of "database is locked"
_POOL_SIZE = 10  # PostgreSQL connections kept per engine


def make_engine(url: str) -> Engine:
    """An engine for `url`. SQLite is shared between request threads and a service's
    background threads: cross-thread use, a busy timeout, WAL (but in memory), foreign
    keys enforced, and one connection for an in-memory database (each would be its own
    empty database). `postgresql://` uses the psycopg (3) driver."""
    if url.startswith("sqlite"):
        memory = url in _MEMORY_URLS
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": _BUSY_TIMEOUT_S},
            poolclass=StaticPool if memory else None,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, pool_size=_POOL_SIZE)


def migrate(engine: Engine, migrations: Path) -> None:
    """Brings the schema to the newest revision of the Alembic `migrations` directory
    (a no-op when it is there already)."""
    config = Config()
    config.set_main_option("script_location", str(migrations))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
