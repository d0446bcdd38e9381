"""The result archive and pointer: what a worker uploads of a task's /iexec_out, what
`finalize` records of where it is, and what a requester downloads. The archive is a zip
whose bytes depend only on the folder's content (entries sorted by path, fixed timestamps
and modes, no extra fields), so every honest worker of a task uploads the same archive and
so the same content id. Links and special files are left out (the result digest refuses
them). Extraction refuses anything that would land outside the destination, links, and
archives over the given limits. `unpack_and_digest` is the one check of an archive
against a result digest, made by the requester's client and by the scheduler alike.
"""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from pathlib import Path, PurePosixPath

from veritask.errors import InvalidInput

from .cid import parse_cid
from .digest import computed_digest

__all__ = [
    "ARCHIVE_EPOCH",
    "MAX_ARCHIVE_FILES",
    "pack_result",
    "parse_result_pointer",
    "result_pointer",
    "unpack_and_digest",
    "unpack_result",
]

ARCHIVE_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
MAX_ARCHIVE_FILES = 10_000
_FILE_MODE = 0o644
_DIR_MODE = 0o755


def _entries(root: Path) -> list[tuple[str, Path | None]]:
    """(archive name, file path or None for a folder) of every entry under `root`, sorted
    by name; links and special files are skipped."""
    found: list[tuple[str, Path | None]] = []
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        for name in [*dirs, *files]:
            path = here / name
            mode = os.lstat(path).st_mode
            relative = path.relative_to(root).as_posix()
            if stat.S_ISDIR(mode):
                found.append((relative + "/", None))
            elif stat.S_ISREG(mode):
                found.append((relative, path))
    return sorted(found, key=lambda entry: entry[0].encode("utf-8"))


def pack_result(root: Path | str) -> bytes:
    """The deterministic zip of the folder `root` (its content, not the folder itself)."""
    root = Path(root)
    if not root.is_dir():
        raise InvalidInput(f"result folder {root} does not exist")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, path in _entries(root):
            info = zipfile.ZipInfo(name, date_time=ARCHIVE_EPOCH)
            info.create_system = 3  # unix, so that the modes below are read back
            if path is None:
                info.external_attr = (stat.S_IFDIR | _DIR_MODE) << 16
                archive.writestr(info, b"")
            else:
                info.external_attr = (stat.S_IFREG | _FILE_MODE) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes(), compresslevel=6)
    return buffer.getvalue()


def _safe_name(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or "\\" in name or not path.parts:
        raise InvalidInput(f"result archive entry {name!r} would land outside the folder")
    return path


def unpack_result(
    data: bytes, dest: Path | str, *, max_bytes: int, max_files: int = MAX_ARCHIVE_FILES
) -> list[Path]:
    """Extracts the archive `data` into the folder `dest` (created, must be empty) and
    returns the files written. Checks every entry before writing anything."""
    dest = Path(dest)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise InvalidInput(f"the result is not a zip archive: {exc}") from exc
    if len(infos) > max_files:
        raise InvalidInput(f"result archive holds {len(infos)} entries (limit {max_files})")
    total = sum(info.file_size for info in infos)
    if total > max_bytes:
        raise InvalidInput(f"result archive unpacks to {total} bytes (limit {max_bytes})")
    for info in infos:
        _safe_name(info.filename)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise InvalidInput(f"result archive entry {info.filename!r} is a symbolic link")
    if dest.exists() and any(dest.iterdir()):
        raise InvalidInput(f"{dest} is not empty: choose a new folder for the result")
    dest.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for info in infos:
        target = dest.joinpath(*_safe_name(info.filename).parts)
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(info) as source:
            content = source.read(info.file_size + 1)
        if len(content) != info.file_size:
            raise InvalidInput(f"result archive entry {info.filename!r} has a wrong size")
        target.write_bytes(content)
        written.append(target)
    return written


def unpack_and_digest(
    data: bytes, dest: Path | str, *, max_bytes: int, max_files: int = MAX_ARCHIVE_FILES
) -> tuple[list[Path], bytes]:
    """Extracts the archive `data` into `dest` (as `unpack_result`) and computes the result
    digest its computed.json names (docs/digest.md): what a task's digest must be for this
    archive to be its result. InvalidInput when the archive is not a result archive."""
    files = unpack_result(data, dest, max_bytes=max_bytes, max_files=max_files)
    return files, computed_digest(dest)


def result_pointer(cid: str) -> str:
    """What `finalize` records as the task's results (PROTOCOL.md A7), compact JSON:
    `{"storage":"ipfs","location":"/ipfs/<cid>"}`."""
    return json.dumps({"storage": "ipfs", "location": f"/ipfs/{cid}"}, separators=(",", ":"))


def parse_result_pointer(results: bytes) -> str:
    """The content id in a task's `results` bytes; InvalidInput when they name none (a
    callback-only result, or a result of another protocol)."""
    try:
        document = json.loads(results.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"the task's result pointer is not JSON: {results[:80]!r}") from exc
    location = document.get("location") if isinstance(document, dict) else None
    storage = document.get("storage") if isinstance(document, dict) else None
    if storage != "ipfs" or not isinstance(location, str) or not location.startswith("/ipfs/"):
        raise InvalidInput(
            f"the task's result pointer {results[:120]!r} names no /ipfs/<CID> location: "
            "the result was not uploaded to a storage"
        )
    cid = location.removeprefix("/ipfs/")
    parse_cid(cid)
    return cid
