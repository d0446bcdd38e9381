"""`UploadLedger` on its own: the migrations build its models' tables, it counts each blob
once, its totals are read back after a restart, and the reservations a stopped process left
are settled by what the store holds."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from veritask.domain.cid import cid_of
from veritask.errors import StorageError
from veritask.serving import make_engine, migrate
from veritask.storage import UploadLedger
from veritask.storage.migrations import MIGRATIONS
from veritask.storage.models import metadata

ALICE = "0x" + "a1" * 20
WORKER = "0x" + "b2" * 20
ONE, TWO, THREE = (cid_of(bytes([n])) for n in range(3))


def test_migrations__match_the_models__and_are_idempotent(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'ledger.db'}")
    try:
        migrate(engine, MIGRATIONS)
        migrate(engine, MIGRATIONS)
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert compare_metadata(context, metadata) == []
            assert context.get_current_revision() == "0001"
    finally:
        engine.dispose()


def test_reserve__a_blob_held__charges_nothing(tmp_path: Path) -> None:
    ledger = UploadLedger(tmp_path / "ledger.db")
    assert ledger.reserve(ONE, ALICE, 10) is True
    ledger.confirm(ONE, ALICE, 10)
    assert ledger.reserve(ONE, ALICE, 10) is False
    assert ledger.reserve(ONE, WORKER, 10) is False
    ledger.confirm(ONE, WORKER, 10)
    assert (ledger.stored_bytes(ALICE), ledger.stored_bytes(WORKER)) == (10, 0)
    assert ledger.total_bytes == 10


def test_confirm__after_a_concurrent_release__charges_the_writer(tmp_path: Path) -> None:
    """Two uploads of one content: the first reserved and its write failed; the second,
    not charged, wrote the blob. The bytes are on the disk: the second pays for them."""
    ledger = UploadLedger(tmp_path / "ledger.db")
    assert ledger.reserve(ONE, ALICE, 10) is True
    assert ledger.reserve(ONE, WORKER, 10) is False
    ledger.release(ONE)
    ledger.confirm(ONE, WORKER, 10)
    assert (ledger.stored_bytes(ALICE), ledger.stored_bytes(WORKER)) == (0, 10)


def test_totals__read_back_after_a_restart__exempt_bytes_not_shared(tmp_path: Path) -> None:
    ledger = UploadLedger(tmp_path / "ledger.db")
    for cid, uploader, size in ((ONE, ALICE, 10), (TWO, WORKER, 100)):
        ledger.reserve(cid, uploader, size)
        ledger.confirm(cid, uploader, size)
    ledger.close()
    again = UploadLedger(tmp_path / "ledger.db", exempt=(WORKER,))
    assert again.total_bytes == 110
    assert (again.stored_bytes(ALICE), again.stored_bytes(WORKER)) == (10, 100)
    seen = []
    again.reserve(THREE, ALICE, 1, check=seen.append)
    assert [(usage.uploader_bytes, usage.shared_bytes) for usage in seen] == [(10, 10)]


def test_heal__settles_by_what_the_store_holds__unknown_stays_reserved(tmp_path: Path) -> None:
    ledger = UploadLedger(tmp_path / "ledger.db")
    for cid in (ONE, TWO, THREE):
        ledger.reserve(cid, ALICE, 10)
    ledger.close()  # the process stops with three uploads in flight

    def has(cid: str) -> bool:
        if cid == THREE:
            raise StorageError("the IPFS node does not answer", code="unavailable")
        return cid == ONE

    again = UploadLedger(tmp_path / "ledger.db")
    assert again.heal(has) == 2
    assert again.stored_bytes(ALICE) == 20  # ONE written, THREE unknown: kept
    assert again.heal(lambda cid: False) == 1  # the node answers again
    assert again.stored_bytes(ALICE) == 10
    assert again.reserve(ONE, ALICE, 10) is False
