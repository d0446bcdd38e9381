"""Alembic environment: migrations run programmatically on the connection the storage
passes in `config.attributes["connection"]` (never from an alembic.ini)."""

from __future__ import annotations

from alembic import context

from veritask.storage.models import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
