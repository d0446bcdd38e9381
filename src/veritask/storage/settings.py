"""`StorageSettings`: the storage service's typed settings, from arguments or environment
variables prefixed `VERITASK_STORAGE_` (e.g. `VERITASK_STORAGE_ROOT=/srv/blobs`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = [
    "DEFAULT_MAX_BYTES_PER_UPLOADER",
    "DEFAULT_MAX_STORED_BYTES",
    "DEFAULT_MAX_UPLOADS_PER_WINDOW",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "DEFAULT_MIN_FREE_DISK_BYTES",
    "DEFAULT_UPLOAD_WINDOW_S",
    "LEDGER_FILE",
    "MAX_CLOCK_SKEW_S",
    "StorageSettings",
    "default_root",
]

DEFAULT_MAX_UPLOAD_BYTES = 64 << 20
MAX_CLOCK_SKEW_S = 300
# Upload limits, on by default (docs/storage.md, "Upload limits"): a signer may upload 60
# blobs at once, then one a second; it may keep 1 GiB; signers not exempt share 32 GiB; and
# no upload may leave less than 1 GiB free on the filesystem backend's disk.
DEFAULT_MAX_UPLOADS_PER_WINDOW = 60
DEFAULT_UPLOAD_WINDOW_S = 60.0
DEFAULT_MAX_BYTES_PER_UPLOADER = 1 << 30
DEFAULT_MAX_STORED_BYTES = 32 << 30
DEFAULT_MIN_FREE_DISK_BYTES = 1 << 30
LEDGER_FILE = "ledger.db"  # in `root`: a name no blob shard (two base32 characters) takes
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def default_root() -> Path:
    """`~/.veritask/storage`."""
    return Path.home() / ".veritask" / "storage"


def _addresses(field: str, value: object) -> tuple[str, ...]:
    """Lower-case 0x addresses from a comma-separated string or a collection."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple | set | frozenset):
        raise ValueError(f"{field}: give addresses, comma-separated")
    addresses = tuple(str(item).strip() for item in items if str(item).strip())
    for address in addresses:
        if not _ADDRESS.match(address):
            raise ValueError(f"{field}: {address!r} is not a 0x address")
    return tuple(address.lower() for address in addresses)


class StorageSettings(BaseSettings):
    """Where blobs live, who may upload them and how much."""

    model_config = SettingsConfigDict(env_prefix="VERITASK_STORAGE_", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535, description="0 picks a free port")
    backend: Literal["filesystem", "kubo"] = "filesystem"
    root: Path = Field(
        default_factory=default_root,
        description="filesystem backend folder; the upload ledger lives there for every backend",
    )
    kubo_rpc_url: str = "http://127.0.0.1:5001"
    kubo_timeout_s: float = Field(default=30.0, gt=0)
    max_upload_bytes: int = Field(default=DEFAULT_MAX_UPLOAD_BYTES, ge=0)
    max_clock_skew_s: int = Field(default=MAX_CLOCK_SKEW_S, ge=0)
    # Lower-case addresses allowed to upload; empty means anyone with a valid signature.
    # From the environment: comma-separated (`VERITASK_STORAGE_ALLOWED_UPLOADERS=0xab..,0xcd..`).
    allowed_uploaders: Annotated[tuple[str, ...], NoDecode] = ()

    # Per signer (but exempt ones): uploads at once, refilled at that many per window.
    max_uploads_per_window: int = Field(default=DEFAULT_MAX_UPLOADS_PER_WINDOW, ge=1)
    upload_window_s: float = Field(default=DEFAULT_UPLOAD_WINDOW_S, gt=0)
    # Bytes of the blobs one signer (but exempt ones) first stored.
    max_bytes_per_uploader: int = Field(default=DEFAULT_MAX_BYTES_PER_UPLOADER, ge=0)
    # Bytes all signers but exempt ones store together: a flood of keys stops there.
    max_stored_bytes: int = Field(default=DEFAULT_MAX_STORED_BYTES, ge=0)
    # Free bytes no upload may go below, exempt signers included (filesystem backend).
    min_free_disk_bytes: int = Field(default=DEFAULT_MIN_FREE_DISK_BYTES, ge=0)
    # Lower-case addresses held to none of the limits above but the disk floor, e.g. the
    # workers of the workerpool this storage serves. Comma-separated from the environment.
    exempt_uploaders: Annotated[tuple[str, ...], NoDecode] = ()
    # The upload ledger (SQLite); empty: `<root>/ledger.db`.
    ledger_path: Path | None = None

    @field_validator("allowed_uploaders", "exempt_uploaders", mode="before")
    @classmethod
    def _parse_addresses(cls, value: object, info: ValidationInfo) -> tuple[str, ...]:
        return _addresses(str(info.field_name), value)

    def resolved_ledger_path(self) -> Path:
        """Where the upload ledger is: `ledger_path`, else `<root>/ledger.db`."""
        return self.ledger_path or self.root / LEDGER_FILE
