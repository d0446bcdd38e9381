"""`UploadLimits`: what the storage lets each signer upload (docs/storage.md, "Upload
limits"): a rate and a quota per signer, a cap shared by every signer not exempt, and a
free disk floor for all. It refuses with `Refusal`; messages name the limit and the
setting, never a path or an address of the host."""

from __future__ import annotations

import math
from collections.abc import Callable

from veritask.errors import Refusal, StorageError

from .blobs import BlobStore
from .ledger import UploadLedger, Usage
from .rates import UploadRate
from .settings import StorageSettings

__all__ = ["UploadLimits"]


class UploadLimits:
    """The limits of `settings` over `ledger`, for uploads into `store`; `free_bytes`
    answers the free bytes of the store's disk (None: the backend's disk is not ours to
    watch, e.g. an IPFS node's)."""

    def __init__(
        self,
        settings: StorageSettings,
        ledger: UploadLedger,
        store: BlobStore,
        free_bytes: Callable[[], int] | None,
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.store = store
        self._free_bytes = free_bytes
        self._exempt = frozenset(settings.exempt_uploaders)
        self.rate = UploadRate(settings.max_uploads_per_window, settings.upload_window_s)

    def is_exempt(self, address: str) -> bool:
        """Whether `address` (lower-case) is held to the disk floor only."""
        return address in self._exempt

    def check_rate(self, address: str, now_s: float) -> None:
        """`too_many_uploads` when `address` has no upload left; takes none. Before the
        signature is checked, so that a flood is refused before its bodies are read, and
        a forged claim of an address cannot use that address's uploads."""
        if not self.is_exempt(address):
            self._refuse_rate(address, self.rate.wait_s(address, now_s))

    def take_upload(self, address: str, now_s: float) -> None:
        """Takes one upload of `address` (whose signature was checked), or refuses."""
        if not self.is_exempt(address):
            self._refuse_rate(address, self.rate.take(address, now_s))

    def _refuse_rate(self, address: str, wait_s: float) -> None:
        if wait_s <= 0:
            return
        settings = self.settings
        raise Refusal(
            "too_many_uploads",
            f"{address} has used the {settings.max_uploads_per_window} uploads per "
            f"{settings.upload_window_s:g} s this storage allows each signer: try again in "
            f"{max(math.ceil(wait_s), 1)} s, or ask its operator to raise "
            "VERITASK_STORAGE_MAX_UPLOADS_PER_WINDOW",
        )

    def store_blob(self, data: bytes, cid: str, uploader: str) -> str:
        """Stores `data` (whose CID is `cid`) for `uploader` once the ledger has room for
        it; what the store answered. Blocking: run it in a thread, where a cancelled
        request cannot stop it between the write and the ledger."""
        size = len(data)
        exempt = self.is_exempt(uploader)

        def check(usage: Usage) -> None:
            self._check_room(uploader, size, exempt, usage)

        charged = self.ledger.reserve(cid, uploader, size, check)
        try:
            stored = self.store.put(data)
        except BaseException:
            if charged:
                self.ledger.release(cid)
            raise
        if stored != cid:  # a broken backend: the caller refuses it
            if charged:
                self.ledger.release(cid)
            return stored
        self.ledger.confirm(cid, uploader, size)
        return stored

    def _check_room(self, uploader: str, size: int, exempt: bool, usage: Usage) -> None:
        settings = self.settings
        if not exempt and usage.uploader_bytes + size > settings.max_bytes_per_uploader:
            raise Refusal(
                "quota_exceeded",
                f"{uploader} stores {usage.uploader_bytes} of its "
                f"{settings.max_bytes_per_uploader} bytes on this storage and this upload "
                f"of {size} bytes would go over: upload less, or ask its operator to raise "
                "VERITASK_STORAGE_MAX_BYTES_PER_UPLOADER",
            )
        if not exempt and usage.shared_bytes + size > settings.max_stored_bytes:
            raise Refusal(
                "storage_full",
                f"this storage holds the {settings.max_stored_bytes} bytes it keeps for "
                "its uploaders: try again later, or ask its operator to raise "
                "VERITASK_STORAGE_MAX_STORED_BYTES",
            )
        if self._free_bytes is None:
            return
        try:
            free = self._free_bytes()
        except OSError as exc:
            raise StorageError(
                f"cannot read the storage disk's free space: {exc.strerror or 'error'}; "
                "try again later",
                code="unavailable",
            ) from exc
        if free - usage.pending_bytes - size < settings.min_free_disk_bytes:
            raise Refusal(
                "storage_full",
                f"this storage keeps {settings.min_free_disk_bytes} bytes of its disk free "
                f"and this upload of {size} bytes would go below: try again later, or ask "
                "its operator to free disk space or lower VERITASK_STORAGE_MIN_FREE_DISK_BYTES",
            )
