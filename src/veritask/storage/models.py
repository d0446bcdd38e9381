"""The storage's upload ledger tables (SQLAlchemy Core): who first stored each blob and how
many bytes each signer stores. The Alembic migrations in `migrations/` create them; a test
checks that the migrated schema and these definitions agree."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, MetaData, String, Table

__all__ = ["PENDING", "STORED", "blobs", "metadata", "uploaders"]

metadata = MetaData()

PENDING = "pending"  # bytes reserved; the blob may not be written yet
STORED = "stored"  # the blob was written: its upload was (or could have been) acknowledged

blobs = Table(
    "storage_blobs",
    metadata,
    Column("cid", String(100), primary_key=True),
    Column("uploader", String(42), nullable=False),  # lower-case: the signer charged
    Column("size", BigInteger, nullable=False),
    Column("state", String(8), nullable=False),
    Index("ix_storage_blobs_state", "state"),  # the pending rows a start heals
)

# The sum of `storage_blobs.size` by uploader, kept in the same transactions.
uploaders = Table(
    "storage_uploaders",
    metadata,
    Column("address", String(42), primary_key=True),
    Column("stored_bytes", BigInteger, nullable=False),
)
