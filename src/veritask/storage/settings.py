"""`StorageSettings`: the storage service's typed settings, from arguments or environment
variables prefixed `VERITASK_STORAGE_` (e.g. `VERITASK_STORAGE_ROOT=/srv/blobs`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

__all__ = ["DEFAULT_MAX_UPLOAD_BYTES", "MAX_CLOCK_SKEW_S", "StorageSettings", "default_root"]

DEFAULT_MAX_UPLOAD_BYTES = 64 << 20
MAX_CLOCK_SKEW_S = 300
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def default_root() -> Path:
    """`~/.veritask/storage`."""
    return Path.home() / ".veritask" / "storage"


class StorageSettings(BaseSettings):
    """Where blobs live and who may upload them."""

    model_config = SettingsConfigDict(env_prefix="VERITASK_STORAGE_", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535, description="0 picks a free port")
    backend: Literal["filesystem", "kubo"] = "filesystem"
    root: Path = Field(default_factory=default_root, description="filesystem backend folder")
    kubo_rpc_url: str = "http://127.0.0.1:5001"
    kubo_timeout_s: float = Field(default=30.0, gt=0)
    max_upload_bytes: int = Field(default=DEFAULT_MAX_UPLOAD_BYTES, ge=0)
    max_clock_skew_s: int = Field(default=MAX_CLOCK_SKEW_S, ge=0)
    # Lower-case addresses allowed to upload; empty means anyone with a valid signature.
    # From the environment: comma-separated (`VERITASK_STORAGE_ALLOWED_UPLOADERS=0xab..,0xcd..`).
    allowed_uploaders: Annotated[tuple[str, ...], NoDecode] = ()

    @field_validator("allowed_uploaders", mode="before")
    @classmethod
    def _parse_uploaders(cls, value: object) -> tuple[str, ...]:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list | tuple | set | frozenset):
            raise ValueError("allowed_uploaders: give addresses, comma-separated")
        addresses = tuple(str(item).strip() for item in items if str(item).strip())
        for address in addresses:
            if not _ADDRESS.match(address):
                raise ValueError(f"allowed_uploaders: {address!r} is not a 0x address")
        return tuple(address.lower() for address in addresses)
