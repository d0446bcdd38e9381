"""Atomic file writes, for every layer: a reader sees the old file or the new one, never a
part of it, and a failed write leaves the target as it was and no temporary file behind.
It raises OSError as is: each caller turns it into its own VeritaskError.

Modes: a replaced file keeps its mode (narrowed to `mode` when one is given, so an old
loose mode never widens a secret); a new file gets `mode`, or 0666 like open(2) does, and
the umask applies (0644 under the usual 022). The temporary file is created with that
mode, so a secret (`mode=0o600`) is never visible with a wider one, even for an instant.
"""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

__all__ = ["open_atomically", "write_atomically"]

# What open(2) and Path.write_bytes create a file with, before the umask.
_NEW_FILE_MODE = 0o666
# Random temporary names collide only by accident; a few tries make that harmless.
_NAME_TRIES = 16


@contextmanager
def open_atomically(
    path: str | os.PathLike[str],
    *,
    mode: int | None = None,
    fsync: bool = True,
    exclusive: bool = False,
) -> Iterator[BinaryIO]:
    """A binary handle on a temporary file next to `path`, which becomes `path` when the
    block ends without an exception (and is removed when it raises). `fsync` makes the
    content and the rename durable before returning; `exclusive` refuses to replace an
    existing `path` (FileExistsError), even one created while writing."""
    target = Path(path)
    create_mode, exact_mode = _modes(target, mode, exclusive=exclusive)
    descriptor, temporary = _create_temporary(target, create_mode)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            if exact_mode is not None:
                # Before any byte is written; the umask may have narrowed the creation mode.
                os.fchmod(handle.fileno(), exact_mode)
            yield handle
            handle.flush()
            if fsync:
                os.fsync(handle.fileno())
        if exclusive:
            # link() fails if the target exists: a concurrent writer cannot be overwritten.
            os.link(temporary, target)
            temporary.unlink()
        else:
            os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    if fsync:
        _fsync_folder(target.parent)


def write_atomically(
    path: str | os.PathLike[str],
    data: bytes | str,
    *,
    mode: int | None = None,
    fsync: bool = True,
    exclusive: bool = False,
) -> None:
    """Writes `data` (str is encoded as UTF-8) to `path` atomically; see `open_atomically`."""
    content = data.encode() if isinstance(data, str) else data
    with open_atomically(path, mode=mode, fsync=fsync, exclusive=exclusive) as handle:
        handle.write(content)


def _modes(target: Path, mode: int | None, *, exclusive: bool) -> tuple[int, int | None]:
    """The mode to create the temporary file with, and the exact mode to set on it when it
    replaces an existing file (None: leave the creation mode, umask applied)."""
    new_mode = _NEW_FILE_MODE if mode is None else mode
    if exclusive:
        return new_mode, None
    try:
        existing = stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        return new_mode, None
    kept = existing if mode is None else existing & mode
    return kept, kept


def _create_temporary(target: Path, create_mode: int) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(_NAME_TRIES - 1):
        temporary = _temporary_name(target)
        try:
            return os.open(temporary, flags, create_mode), temporary
        except FileExistsError:
            continue
    temporary = _temporary_name(target)
    return os.open(temporary, flags, create_mode), temporary


def _temporary_name(target: Path) -> Path:
    # Hidden and in the target's folder: os.replace is atomic only within one file system.
    return target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")


def _fsync_folder(folder: Path) -> None:
    """Makes a rename in `folder` durable (POSIX: the folder's entry list is its data)."""
    descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
