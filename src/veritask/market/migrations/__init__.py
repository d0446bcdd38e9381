"""Alembic migrations of the market's database, run by `veritask.market.database.migrate`."""
