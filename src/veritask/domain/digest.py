"""The result digest of a task (PROTOCOL.md A7, B4): sha256 of a result file, a canonical
recursive digest of a result folder, keccak256 of callback data. Reads files; never
writes, never follows symlinks. The exact byte layout is in docs/digest.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from eth_utils.crypto import keccak

from veritask.errors import InvalidInput

__all__ = [
    "COMPUTED_FILE",
    "ENTRY_DIR",
    "ENTRY_FILE",
    "FOLDER_TAG",
    "IEXEC_OUT",
    "TreeEntry",
    "callback_digest",
    "computed_digest",
    "file_digest",
    "folder_digest",
    "folder_entries",
    "read_computed",
    "result_digest",
    "tree_digest",
]

FOLDER_TAG = b"veritask.folder\x00"
ENTRY_FILE = 0x01
ENTRY_DIR = 0x02
COMPUTED_FILE = "computed.json"
IEXEC_OUT = "/iexec_out"
_READ_BLOCK = 1 << 20
_MAX_COMPUTED_BYTES = 1 << 20  # computed.json is a few lines


@dataclass(frozen=True)
class TreeEntry:
    """One file or directory of a folder: its path relative to the folder (POSIX, NFC,
    no "." or ".." parts) and, for a file, the sha256 of its bytes (None for a directory)."""

    path: str
    content_digest: bytes | None = None

    def encode(self) -> bytes:
        """type (1 byte) ‖ uint32 big-endian length of the UTF-8 path ‖ path [‖ sha256]."""
        path = self.path.encode("utf-8")
        if self.content_digest is None:
            return bytes([ENTRY_DIR]) + len(path).to_bytes(4, "big") + path
        return bytes([ENTRY_FILE]) + len(path).to_bytes(4, "big") + path + self.content_digest


def file_digest(path: Path | str, *, shown_as: str | None = None) -> bytes:
    """sha256 of a file's bytes, read in 1 MiB blocks (PoCo's digest of a single-file
    result; also a dataset's checksum and the digest inside a CID).

    With `shown_as` (the file's name inside a result, such as /iexec_out/a.txt) the file is
    an app's output: it is opened without following a link (an app must not make the
    worker read a host file), and errors name it by `shown_as`, never by its host path."""
    digest = hashlib.sha256()
    flags = os.O_RDONLY | (os.O_NOFOLLOW if shown_as is not None else 0)
    try:
        with os.fdopen(os.open(path, flags), "rb") as handle:
            for block in iter(lambda: handle.read(_READ_BLOCK), b""):
                digest.update(block)
    except OSError as exc:
        raise InvalidInput(f"cannot read {shown_as or path}: {exc.strerror or exc}") from exc
    return digest.digest()


def _read_output_file(path: Path, shown_as: str) -> str:
    """An app's output file as text, without following a link."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        if os.path.islink(path):
            raise InvalidInput(
                f"{shown_as} is a symbolic link: results may hold only files and folders"
            ) from exc
        raise InvalidInput(f"the app wrote no readable {shown_as}: {exc.strerror}") from exc
    with os.fdopen(descriptor, "rb") as handle:
        data = handle.read(_MAX_COMPUTED_BYTES + 1)
    if len(data) > _MAX_COMPUTED_BYTES:
        raise InvalidInput(f"{shown_as} is over {_MAX_COMPUTED_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{shown_as} is not UTF-8 text") from exc


def _check_entry(entry: TreeEntry) -> bytes:
    parts = PurePosixPath(entry.path).parts
    if (
        not entry.path
        or entry.path.startswith("/")
        or "/".join(parts) != entry.path
        or any(part in (".", "..") for part in parts)
    ):
        raise InvalidInput(
            f"folder entry {entry.path!r} is not a relative POSIX path without '.', '..', "
            "empty parts or a trailing '/'"
        )
    if unicodedata.normalize("NFC", entry.path) != entry.path:
        raise InvalidInput(f"folder entry {entry.path!r} is not in Unicode NFC form")
    if entry.content_digest is not None and len(entry.content_digest) != 32:
        raise InvalidInput(f"file {entry.path!r}: a sha256 digest has 32 bytes")
    return entry.path.encode("utf-8")


def tree_digest(entries: Iterable[TreeEntry]) -> bytes:
    """sha256(FOLDER_TAG ‖ encode(e1) ‖ encode(e2) ‖ ...), entries sorted by UTF-8 path bytes.

    The list must hold every file and every directory below the folder (not the folder
    itself), each path once; the order given does not matter.
    """
    keyed: dict[bytes, TreeEntry] = {}
    for entry in entries:
        key = _check_entry(entry)
        if key in keyed:
            raise InvalidInput(f"folder entry {entry.path!r} appears twice")
        keyed[key] = entry
    for key, entry in keyed.items():
        parent = key.rpartition(b"/")[0]
        if parent and (parent not in keyed or keyed[parent].content_digest is not None):
            raise InvalidInput(f"folder entry {entry.path!r} has no directory entry for its parent")
    digest = hashlib.sha256(FOLDER_TAG)
    for key in sorted(keyed):
        digest.update(keyed[key].encode())
    return digest.digest()


def _entry_name(relative: str, where: Path) -> str:
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidInput(
            f"{where} has a name that is not valid UTF-8: rename it, results need portable names"
        ) from exc
    return unicodedata.normalize("NFC", relative)


def folder_entries(root: Path | str, *, shown_as: str | None = None) -> list[TreeEntry]:
    """Every file and directory below `root`, sorted; InvalidInput on a symlink, a special
    file, a name that is not UTF-8, or two names equal once NFC-normalized. With
    `shown_as` (the folder's name inside a result), errors name entries under it, not by
    their host path, and files are read without following links."""
    root = Path(root)

    def shown(path: Path) -> str:
        if shown_as is None:
            return str(path)
        relative = path.relative_to(root).as_posix()
        return f"{shown_as.rstrip('/')}/{relative}" if relative != "." else shown_as

    entries: list[TreeEntry] = []
    pending = [root]
    while pending:
        directory = pending.pop()
        try:
            children = list(os.scandir(directory))
        except OSError as exc:
            raise InvalidInput(f"cannot list {shown(directory)}: {exc.strerror or exc}") from exc
        for child in children:
            path = Path(child.path)
            mode = os.lstat(path).st_mode
            relative = _entry_name(path.relative_to(root).as_posix(), path)
            if stat.S_ISLNK(mode):
                raise InvalidInput(
                    f"{shown(path)} is a symbolic link: results may hold only files and "
                    "folders; copy the target instead"
                )
            if stat.S_ISDIR(mode):
                entries.append(TreeEntry(relative))
                pending.append(path)
            elif stat.S_ISREG(mode):
                digest = file_digest(path, shown_as=shown(path) if shown_as else None)
                entries.append(TreeEntry(relative, digest))
            else:
                raise InvalidInput(
                    f"{shown(path)} is not a regular file or folder (socket, fifo or device)"
                )
    seen: set[str] = set()
    for entry in entries:
        if entry.path in seen:
            raise InvalidInput(
                f"{root} holds two names that are equal in Unicode NFC form ({entry.path!r}): "
                "rename one"
            )
        seen.add(entry.path)
    return sorted(entries, key=lambda entry: entry.path.encode("utf-8"))


def folder_digest(root: Path | str, *, shown_as: str | None = None) -> bytes:
    """The canonical recursive digest of a folder (docs/digest.md)."""
    return tree_digest(folder_entries(root, shown_as=shown_as))


def result_digest(path: Path | str, *, shown_as: str | None = None) -> bytes:
    """The digest of a deterministic result: `file_digest` of a file, `folder_digest` of a
    folder; InvalidInput on a symlink, a special file or a missing path. `shown_as` as for
    `folder_entries`."""
    path = Path(path)
    name = shown_as or str(path)
    try:
        mode = os.lstat(path).st_mode
    except OSError as exc:
        raise InvalidInput(f"result {name} cannot be read: {exc.strerror or exc}") from exc
    if stat.S_ISLNK(mode):
        raise InvalidInput(f"result {name} is a symbolic link: point to the file or folder")
    if stat.S_ISDIR(mode):
        return folder_digest(path, shown_as=shown_as)
    if stat.S_ISREG(mode):
        return file_digest(path, shown_as=shown_as)
    raise InvalidInput(f"result {name} is not a regular file or folder")


def callback_digest(data: bytes) -> bytes:
    """PoCo's digest of a callback-data result: keccak256 of the bytes (the hub checks it)."""
    return keccak(data)


def _callback_bytes(text: object) -> bytes:
    if not isinstance(text, str):
        raise InvalidInput("computed.json: callback-data must be a hex string like 0x1234")
    try:
        return bytes.fromhex(text.removeprefix("0x"))
    except ValueError as exc:
        raise InvalidInput(f"computed.json: callback-data {text!r} is not hex bytes") from exc


def computed_digest(out_dir: Path | str) -> bytes:
    """The digest named by `<out_dir>/computed.json` (PROTOCOL.md A7): `callback_digest` of
    its `callback-data` when present, else `result_digest` of its
    `deterministic-output-path`, an absolute path under /iexec_out mapped to `out_dir`."""
    out_dir = Path(out_dir)
    shown = f"{IEXEC_OUT}/{COMPUTED_FILE}"
    document = read_computed(out_dir)
    if document.get("callback-data"):
        return callback_digest(_callback_bytes(document["callback-data"]))
    output = document.get("deterministic-output-path")
    if not isinstance(output, str) or not output:
        raise InvalidInput(f"{shown} names neither deterministic-output-path nor callback-data")
    inside = PurePosixPath(output)
    if inside.is_absolute():
        if not inside.is_relative_to(IEXEC_OUT):
            raise InvalidInput(f"deterministic-output-path {output!r} is not under {IEXEC_OUT}")
        inside = inside.relative_to(IEXEC_OUT)
    if ".." in inside.parts:
        raise InvalidInput(f"deterministic-output-path {output!r} leaves {IEXEC_OUT}")
    # Every folder on the way is the app's: none may be a link out of the output.
    here = out_dir
    for depth, part in enumerate(inside.parts[:-1], start=1):
        here = here / part
        if os.path.islink(here):
            where = "/".join((IEXEC_OUT, *inside.parts[:depth]))
            raise InvalidInput(
                f"{where} is a symbolic link: results may hold only files and folders"
            )
    target = out_dir.joinpath(*inside.parts)
    return result_digest(
        target, shown_as="/".join((IEXEC_OUT, *inside.parts)) if inside.parts else IEXEC_OUT
    )


def read_computed(out_dir: Path | str) -> dict[str, object]:
    """`<out_dir>/computed.json` as a JSON object, read without following a link."""
    shown = f"{IEXEC_OUT}/{COMPUTED_FILE}"
    text = _read_output_file(Path(out_dir) / COMPUTED_FILE, shown)
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise InvalidInput(f"the app wrote no readable {shown}: not JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise InvalidInput(f"{shown} must hold a JSON object")
    return document
