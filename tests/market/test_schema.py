"""The Alembic migrations build exactly the tables `veritask.market.models` describes, and
running them again on a migrated database changes nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from veritask.market.migrations import MIGRATIONS
from veritask.market.models import metadata
from veritask.serving import make_engine, migrate


def test_migrations__match_the_models__and_are_idempotent(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine, MIGRATIONS)
        migrate(engine, MIGRATIONS)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert compare_metadata(context, metadata) == []
            assert context.get_current_revision() == "0001"
    finally:
        engine.dispose()
