"""Alembic migrations of the storage's upload ledger, run by `veritask.serving.migrate` when
the ledger opens."""

from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parent  # the Alembic script location
