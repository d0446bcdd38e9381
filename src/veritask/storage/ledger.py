"""`UploadLedger`: who first stored each blob and how many bytes each signer stores, in a
SQLite file next to the blobs, so that quotas survive a restart. It counts; the limits are
`limits.py`'s. One storage process per ledger: the totals it checks are cached in memory.

An upload reserves its bytes (a `pending` row) before the blob is written and confirms them
(`stored`) after, so a crash can only leave a reservation behind, never an acknowledged
blob without its row; `heal` settles those at the next start by asking the store.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Row, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from veritask.errors import StorageError
from veritask.serving import make_engine, migrate

from .migrations import MIGRATIONS
from .models import PENDING, STORED, blobs, uploaders

__all__ = ["UploadLedger", "Usage"]

logger = logging.getLogger("veritask.storage")


@dataclass(frozen=True)
class Usage:
    """What is stored when an upload asks for room, reservations included: by its
    `uploader`, by every uploader not exempt together (`shared_bytes`), and the bytes
    reserved by this process but not written yet (`pending_bytes`: not on the disk yet)."""

    uploader_bytes: int
    shared_bytes: int
    pending_bytes: int


class UploadLedger:
    """The ledger in the SQLite file `path` (created, migrated). Bytes of the `exempt`
    addresses (lower-case) are not in `shared_bytes`. Every method may raise StorageError
    `unavailable` when the file cannot be read or written."""

    def __init__(self, path: Path, *, exempt: Collection[str] = ()) -> None:
        self._exempt = frozenset(exempt)
        self._lock = threading.Lock()  # one reservation at a time: no race past a limit
        self._pending: dict[str, int] = {}  # cid -> bytes reserved by this process
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._engine = make_engine(f"sqlite:///{path}")
            migrate(self._engine, MIGRATIONS)
            with self._engine.connect() as connection:
                totals = connection.execute(select(uploaders)).all()
        except (OSError, SQLAlchemyError) as exc:
            raise StorageError(
                f"cannot open the upload ledger {path}: {exc}; choose a writable --root",
                code="unavailable",
            ) from exc
        self._total: int = sum(int(row.stored_bytes) for row in totals)
        self._shared: int = sum(
            int(row.stored_bytes) for row in totals if row.address not in self._exempt
        )

    def close(self) -> None:
        """Closes the database connections."""
        self._engine.dispose()

    @property
    def total_bytes(self) -> int:
        """Bytes of every blob in the ledger, reservations included."""
        return self._total

    def stored_bytes(self, uploader: str) -> int:
        """Bytes charged to `uploader` (lower-case), reservations included."""
        with self._transaction() as connection:
            return _stored_bytes(connection, uploader)

    def reserve(
        self, cid: str, uploader: str, size: int, check: Callable[[Usage], None] | None = None
    ) -> bool:
        """Charges `size` bytes of blob `cid` to `uploader` unless the ledger holds `cid`
        already (then nothing: an identical blob is counted once, to its first uploader);
        whether it charged. `check` sees the usage first and raises to refuse."""
        with self._lock:
            with self._transaction() as connection:
                if connection.execute(select(blobs.c.cid).where(blobs.c.cid == cid)).first():
                    return False
                if check is not None:
                    pending = sum(self._pending.values())
                    check(Usage(_stored_bytes(connection, uploader), self._shared, pending))
                connection.execute(
                    insert(blobs).values(cid=cid, uploader=uploader, size=size, state=PENDING)
                )
                _add(connection, uploader, size)
            self._pending[cid] = size
            self._count(uploader, size)
        return True

    def confirm(self, cid: str, uploader: str, size: int) -> None:
        """Blob `cid` is written: its reservation is kept. Without one (a concurrent upload
        of the same content gave its own back), it is charged to `uploader` now: the bytes
        are on the disk."""
        with self._lock:
            with self._transaction() as connection:
                row = connection.execute(select(blobs.c.state).where(blobs.c.cid == cid)).first()
                added = row is None
                if row is None:
                    connection.execute(
                        insert(blobs).values(cid=cid, uploader=uploader, size=size, state=STORED)
                    )
                    _add(connection, uploader, size)
                elif row.state == PENDING:
                    connection.execute(update(blobs).where(blobs.c.cid == cid).values(state=STORED))
            self._pending.pop(cid, None)
            if added:
                self._count(uploader, size)

    def release(self, cid: str) -> None:
        """The write of blob `cid` failed: its reservation, if still pending, is given back."""
        with self._lock:
            with self._transaction() as connection:
                row = _pending_row(connection, cid)
                if row is not None:
                    _drop(connection, cid, row.uploader, row.size)
            self._pending.pop(cid, None)
            if row is not None:
                self._count(row.uploader, -row.size)

    def heal(self, has: Callable[[str], bool]) -> int:
        """Settles the reservations a stopped process left: kept when the store `has` the
        blob (written, maybe acknowledged), given back when not; a blob the store cannot
        answer for stays reserved. How many it settled."""
        with self._transaction() as connection:
            rows = connection.execute(select(blobs).where(blobs.c.state == PENDING)).all()
        settled = 0
        for row in rows:
            try:
                present = has(row.cid)
            except StorageError as exc:
                logger.warning("upload ledger: %s stays reserved: %s", row.cid, exc)
                continue
            with self._lock:
                with self._transaction() as connection:
                    if present:
                        connection.execute(
                            update(blobs).where(blobs.c.cid == row.cid).values(state=STORED)
                        )
                    else:
                        _drop(connection, row.cid, row.uploader, row.size)
                if not present:
                    self._count(row.uploader, -row.size)
            settled += 1
        if settled:
            logger.info("upload ledger: settled %d reservations of a stopped process", settled)
        return settled

    def _count(self, uploader: str, size: int) -> None:
        self._total += size
        if uploader not in self._exempt:
            self._shared += size

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        try:
            with self._engine.begin() as connection:
                yield connection
        except SQLAlchemyError as exc:
            logger.error("upload ledger failed: %s", exc)
            raise StorageError(
                "the storage's upload ledger failed: try again later; its operator finds "
                "why in the storage's log",
                code="unavailable",
            ) from exc


def _stored_bytes(connection: Connection, uploader: str) -> int:
    row = connection.execute(
        select(uploaders.c.stored_bytes).where(uploaders.c.address == uploader)
    ).first()
    return int(row.stored_bytes) if row is not None else 0


def _add(connection: Connection, uploader: str, size: int) -> None:
    changed = connection.execute(
        update(uploaders)
        .where(uploaders.c.address == uploader)
        .values(stored_bytes=uploaders.c.stored_bytes + size)
    )
    if changed.rowcount == 0:
        connection.execute(insert(uploaders).values(address=uploader, stored_bytes=size))


def _pending_row(connection: Connection, cid: str) -> Row[Any, Any] | None:
    return connection.execute(
        select(blobs.c.uploader, blobs.c.size).where(blobs.c.cid == cid, blobs.c.state == PENDING)
    ).first()


def _drop(connection: Connection, cid: str, uploader: str, size: int) -> None:
    connection.execute(delete(blobs).where(blobs.c.cid == cid))
    _add(connection, uploader, -size)
