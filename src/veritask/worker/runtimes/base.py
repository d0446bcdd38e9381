"""What every app runtime shares: the run request (`AppRun`, `Limits`), what comes back
(`Outcome`, `Status`), where an app comes from (`AppSource`) and the `Runtime` seam.

No sandboxing here: only the types, checksum verification and small file helpers that
the podman, docker and wasmtime runtimes use the same way.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal, Protocol

from veritask.errors import InvalidInput

__all__ = [
    "IEXEC_IN",
    "IEXEC_OUT",
    "AppKind",
    "AppRun",
    "AppSource",
    "Fetch",
    "Limits",
    "Outcome",
    "PreparedApp",
    "Runtime",
    "Status",
    "directory_bytes",
    "directory_usage",
    "output_bytes_over",
    "output_overflow",
    "verify_checksum",
]

IEXEC_IN = "/iexec_in"
IEXEC_OUT = "/iexec_out"

AppKind = Literal["oci", "wasm"]
Fetch = Callable[[str], bytes]
"""Returns the bytes behind a content-addressed multiaddr (`/ipfs/<cid>`)."""


@dataclass(frozen=True)
class Limits:
    """What one app run may use; every limit is enforced by each runtime (docs/runtimes.md)."""

    time_s: float
    memory_bytes: int = 256 * 2**20
    cpus: float = 1.0
    pids: int = 128
    output_bytes: int = 64 * 2**20
    # Files and folders in /iexec_out: empty ones cost an inode each, not a byte. A result
    # archive holds at most MAX_ARCHIVE_FILES anyway.
    output_entries: int = 10_000
    log_bytes: int = 64 * 2**10

    def __post_init__(self) -> None:
        if self.time_s <= 0:
            raise InvalidInput(f"limits: time_s must be > 0, got {self.time_s}")
        if self.memory_bytes < 2**20:
            raise InvalidInput(f"limits: memory_bytes must be ≥ 1 MiB, got {self.memory_bytes}")
        if (
            self.cpus <= 0
            or self.pids < 1
            or self.output_bytes < 0
            or self.output_entries < 1
            or self.log_bytes < 0
        ):
            raise InvalidInput(
                f"limits: cpus, pids, output_bytes, output_entries, log_bytes out of range: {self}"
            )


@dataclass(frozen=True)
class AppRun:
    """One execution: host folders for `/iexec_in` (read-only) and `/iexec_out` (empty)."""

    in_dir: Path
    out_dir: Path
    args: tuple[str, ...]
    env: Mapping[str, str]
    limits: Limits

    def validate(self) -> None:
        """Raise InvalidInput unless both folders exist and `out_dir` is empty."""
        for name, path in (("in_dir", self.in_dir), ("out_dir", self.out_dir)):
            if not path.is_dir():
                raise InvalidInput(f"app run: {name} {path} is not a directory; create it first")
            if "," in str(path) or ":" in str(path):
                raise InvalidInput(f"app run: {name} {path} contains ',' or ':'; use a plain path")
        if any(self.out_dir.iterdir()):
            raise InvalidInput(f"app run: out_dir {self.out_dir} is not empty; give a fresh one")
        for key in self.env:
            if not key or "=" in key or "\0" in key:
                raise InvalidInput(f"app run: bad environment variable name {key!r}")


class Status(StrEnum):
    """How a run ended; only COMPLETED yields a result to contribute."""

    COMPLETED = "completed"
    FAILED = "failed"
    TIMEOUT = "timeout"
    OUT_OF_MEMORY = "out_of_memory"
    OUTPUT_LIMIT = "output_limit"
    SANDBOX_ERROR = "sandbox_error"


@dataclass(frozen=True)
class Outcome:
    """The end of one run. `stdout`/`stderr` are tails of at most `Limits.log_bytes`."""

    status: Status
    exit_code: int | None
    stdout: str
    stderr: str
    duration_s: float
    detail: str = ""
    output_bytes: int = 0
    sandbox_id: str = ""
    """The container name (containers) or "" (wasmtime): for logs and leak checks."""
    stderr_tail: bytes = b""
    """The raw last bytes of stderr (`STDERR_DIGEST_BYTES` at most): a failure record's
    stderr digest is computed over them, never over the decoded, maybe cut `stderr`."""

    def ok(self) -> bool:
        return self.status is Status.COMPLETED


@dataclass(frozen=True)
class AppSource:
    """Where an app comes from, as its on-chain registration says.

    `multiaddr` is an OCI image reference present in local storage (kind "oci"), or
    `/ipfs/<cid>` of an image archive (kind "oci") or of a `.wasm` module (kind "wasm").
    `checksum` is the sha256 the runtime verifies (docs/runtimes.md says which bytes).
    """

    kind: AppKind
    multiaddr: str
    checksum: bytes
    fetch: Fetch | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in ("oci", "wasm"):
            raise InvalidInput(f"app source: kind must be 'oci' or 'wasm', got {self.kind!r}")
        if len(self.checksum) != 32:
            raise InvalidInput(f"app source: checksum must be 32 bytes, got {len(self.checksum)}")
        if not self.multiaddr:
            raise InvalidInput("app source: empty multiaddr; give an image or /ipfs/<cid>")

    @property
    def is_content_addressed(self) -> bool:
        return self.multiaddr.startswith("/ipfs/")

    def fetch_bytes(self) -> bytes:
        """The bytes behind `/ipfs/<cid>`, verified against `checksum`."""
        if self.fetch is None:
            raise InvalidInput(f"app source {self.multiaddr}: no fetch function to download it")
        data = self.fetch(self.multiaddr)
        verify_checksum(data, self.checksum, what=self.multiaddr)
        return data


@dataclass(frozen=True)
class PreparedApp:
    """An app a runtime has verified and made ready to run (image loaded, module compiled).

    `reference` is what the runtime runs: an image ID for containers, the checksum for
    wasm. `handle` holds a runtime-private object (the compiled module).
    """

    runtime: str
    kind: AppKind
    checksum: bytes
    reference: str
    handle: object = field(default=None, compare=False, repr=False)


class Runtime(Protocol):
    """The app runtime seam the worker's main loop drives."""

    name: str

    def check(self) -> None:
        """Raise ToolError, with an install hint, unless this runtime can run apps here."""
        ...

    def load(self, app: AppSource) -> PreparedApp:
        """Verify the checksum and import/compile the app; cached by checksum."""
        ...

    def run(self, app: PreparedApp, run: AppRun) -> Outcome:
        """Run once under `run.limits`; app failures are an Outcome, not an exception."""
        ...


def verify_checksum(data: bytes, expected: bytes, *, what: str) -> None:
    actual = hashlib.sha256(data).digest()
    if actual != expected:
        raise InvalidInput(
            f"app checksum mismatch for {what}: expected 0x{expected.hex()}, got "
            f"0x{actual.hex()} (sha256 of the bytes); fix the app's registered checksum "
            "or its multiaddr"
        )


def directory_usage(root: Path, *, stop_after: int | None = None) -> tuple[int, int]:
    """(apparent size of every file, number of entries) under `root`, symlinks not
    followed (sparse files count at their full size: a result is uploaded at that size).
    Counting stops once `stop_after` entries are seen: a watcher needs no more."""
    total = entries = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in filenames + dirnames:
            entries += 1
            try:
                info = os.lstat(os.path.join(dirpath, name))
            except FileNotFoundError:
                continue
            if not stat.S_ISDIR(info.st_mode):
                total += info.st_size
        if stop_after is not None and entries > stop_after:
            break
    return total, entries


def directory_bytes(root: Path) -> int:
    """Apparent size of every file under `root` (see `directory_usage`)."""
    return directory_usage(root)[0]


def output_bytes_over(size: int, limits: Limits) -> str:
    return f"/iexec_out holds {size} bytes > limit {limits.output_bytes}"


def output_overflow(out_dir: Path, limits: Limits) -> str:
    """Why /iexec_out is over its limits ("" when it is not): bytes, or entries."""
    size, entries = directory_usage(out_dir, stop_after=limits.output_entries)
    if size > limits.output_bytes:
        return output_bytes_over(size, limits)
    if entries > limits.output_entries:
        return f"/iexec_out holds {entries}+ entries > limit {limits.output_entries}"
    return ""
