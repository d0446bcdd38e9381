"""Alembic migrations of the market's database, run at startup by `veritask.serving.migrate`."""

from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parent  # the Alembic script location
