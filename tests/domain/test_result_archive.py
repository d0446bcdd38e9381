"""The result archive: the same folder content always packs to the same bytes (so honest
workers upload the same content id), round trips, and extraction refuses what would escape
the destination, links and archives over the limits, writing nothing."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from veritask.domain.cid import cid_of
from veritask.domain.digest import computed_digest, folder_digest
from veritask.domain.result_archive import (
    pack_result,
    parse_result_pointer,
    result_pointer,
    unpack_and_digest,
    unpack_result,
)
from veritask.errors import InvalidInput

LIMIT = 1 << 20


def _make(root: Path, files: dict[str, bytes], *, reverse: bool = False) -> Path:
    root.mkdir()
    for name in sorted(files, reverse=reverse):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])
    return root


FILES = {
    "computed.json": b'{"deterministic-output-path": "/iexec_out/result.txt"}',
    "result.txt": b"Hello, World!\n",
    "sub/deeper/data.bin": bytes(range(256)),
    "sub/\u00e9t\u00e9.txt": b"summer",
}


def test_pack_result__same_content_other_order_and_times__same_bytes(tmp_path: Path) -> None:
    first = _make(tmp_path / "a", FILES)
    second = _make(tmp_path / "b", FILES, reverse=True)
    os.utime(second / "result.txt", (1, 1))

    assert pack_result(first) == pack_result(second)


def test_pack_result__content_changes__bytes_change(tmp_path: Path) -> None:
    first = _make(tmp_path / "a", FILES)
    second = _make(tmp_path / "b", {**FILES, "result.txt": b"Hello, Mars!\n"})
    assert pack_result(first) != pack_result(second)


def test_unpack_result__round_trip__same_folder_digest(tmp_path: Path) -> None:
    source = _make(tmp_path / "out", {**FILES, "empty/.keep": b""})
    (source / "empty" / ".keep").unlink()

    written = unpack_result(pack_result(source), tmp_path / "back", max_bytes=LIMIT)

    assert len(written) == len(FILES)
    assert folder_digest(tmp_path / "back") == folder_digest(source)


def test_unpack_and_digest__the_digest_of_the_packed_result(tmp_path: Path) -> None:
    """What the requester's client and the scheduler check an archive against."""
    source = _make(tmp_path / "out", FILES)
    files, digest = unpack_and_digest(pack_result(source), tmp_path / "back", max_bytes=LIMIT)
    assert digest == computed_digest(source)
    assert len(files) == len(FILES)
    bare = pack_result(_make(tmp_path / "bare", {"a": b"1"}))  # no computed.json
    with pytest.raises(InvalidInput, match=r"computed\.json"):
        unpack_and_digest(bare, tmp_path / "bare back", max_bytes=LIMIT)


def test_pack_result__symlink__left_out(tmp_path: Path) -> None:
    source = _make(tmp_path / "out", FILES)
    plain = pack_result(source)
    (source / "link").symlink_to("/etc/passwd")
    assert pack_result(source) == plain


def test_result_pointer__compact_json_and_parsed_back() -> None:
    cid = cid_of(b"result")
    pointer = result_pointer(cid)
    assert pointer == f'{{"storage":"ipfs","location":"/ipfs/{cid}"}}'
    assert parse_result_pointer(pointer.encode()) == cid


@pytest.mark.parametrize(
    ("results", "message"),
    [
        (b"\xff", "not JSON"),
        (b'{"storage":"ipfs"}', "names no /ipfs/<CID> location"),
        (b'{"storage":"s3","location":"/ipfs/x"}', "names no /ipfs/<CID> location"),
        (b'{"storage":"ipfs","location":"/ipfs/QmNotRaw"}', "CID"),
    ],
)
def test_parse_result_pointer__bad_pointer__invalid_input(results: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_result_pointer(results)


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/evil", "a/../../evil", "a\\..\\evil"])
def test_unpack_result__entry_outside__refused_and_nothing_written(
    tmp_path: Path, name: str
) -> None:
    data = _zip({"fine.txt": b"ok", name: b"evil"})
    with pytest.raises(InvalidInput, match="outside the folder"):
        unpack_result(data, tmp_path / "dest", max_bytes=LIMIT)
    assert not (tmp_path / "dest").exists()
    assert not (tmp_path / "evil.txt").exists()


def test_unpack_result__over_limits__refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unpacks to 2000 bytes"):
        unpack_result(_zip({"big": b"x" * 2000}), tmp_path / "d", max_bytes=1000)
    with pytest.raises(InvalidInput, match="holds 3 entries"):
        unpack_result(
            _zip({"a": b"", "b": b"", "c": b""}), tmp_path / "d", max_bytes=9, max_files=2
        )


def test_unpack_result__not_a_zip_or_dest_not_empty__refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not a zip archive"):
        unpack_result(b"plain text", tmp_path / "d", max_bytes=LIMIT)
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("keep me")
    with pytest.raises(InvalidInput, match="is not empty"):
        unpack_result(_zip({"a": b"1"}), full, max_bytes=LIMIT)
    assert (full / "x").read_text() == "keep me"
