"""The blob store seam of the storage service: `BlobStore` (content-addressed bytes) and
its default, `FilesystemBlobStore`, one file per blob under sharded directories.

Stores keep bytes; they do not judge them. The service recomputes the CID of every blob
it serves, so a store may return corrupted bytes but never gets them served.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Protocol, runtime_checkable

from veritask.domain.cid import cid_of, parse_cid
from veritask.errors import StorageError
from veritask.files import write_atomically

__all__ = ["BlobStore", "FilesystemBlobStore"]

logger = logging.getLogger("veritask.storage")


@runtime_checkable
class BlobStore(Protocol):
    """Content-addressed bytes. `get` raises StorageError with code `not_found` for an
    unknown CID and `unavailable` when the backend does not answer."""

    def put(self, data: bytes) -> str:
        """Stores `data` (idempotent) and returns its CID."""
        ...

    def get(self, cid: str) -> bytes:
        """The bytes stored under `cid`, as stored (the caller verifies them)."""
        ...

    def has(self, cid: str) -> bool:
        """Whether a blob is stored under `cid`."""
        ...


class FilesystemBlobStore:
    """Blobs as files `<root>/<shard>/<cid>`, the shard being the two characters before
    the CID's last one (IPFS flatfs's `next-to-last/2`: base32 CIDs share their prefix).
    Writes go to a temporary file in the shard, fsynced, then renamed over the target,
    so a reader never sees a partial blob, concurrent puts of one content agree, and a
    put of a corrupted blob's content repairs it."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(
                f"cannot create the storage folder {self.root}: {exc.strerror or exc}; "
                "choose a writable --root",
                code="unavailable",
            ) from exc

    def path_of(self, cid: str) -> Path:
        """Where the blob `cid` lives (whether or not it exists)."""
        parse_cid(cid)
        return self.root / cid[-3:-1] / cid

    def put(self, data: bytes) -> str:
        cid = cid_of(data)
        target = self.path_of(cid)
        try:
            target.parent.mkdir(exist_ok=True)
            write_atomically(target, data)
        except OSError as exc:
            raise self._write_error(cid, exc) from exc
        return cid

    def _write_error(self, cid: str, exc: OSError) -> StorageError:
        # The folder goes to the log only: the message reaches the uploader.
        logger.error("cannot write blob %s under %s: %s", cid, self.root, exc)
        return StorageError(
            f"cannot write blob {cid}: {exc.strerror or 'error'}; the storage's operator "
            "checks its disk and its folder's permissions",
            code="unavailable",
        )

    def free_bytes(self) -> int:
        """Free bytes on the disk of the root, for unprivileged users."""
        return shutil.disk_usage(self.root).free

    def get(self, cid: str) -> bytes:
        path = self.path_of(cid)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise StorageError(f"no blob {cid} in this storage", code="not_found") from exc
        except OSError as exc:
            raise StorageError(
                f"cannot read blob {cid}: {exc.strerror or exc}", code="unavailable"
            ) from exc

    def has(self, cid: str) -> bool:
        return self.path_of(cid).is_file()
