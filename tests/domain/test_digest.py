"""The result digest (`veritask.domain.digest`, docs/digest.md): the vectors of
digest_vectors.json rebuilt on disk and re-encoded by an independent reference encoder
written from the doc, PoCo's file and callback rules, computed.json, refusals, and
properties (creation order is irrelevant; any change of content, name or shape shows)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from eth_utils.crypto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from veritask.domain.digest import (
    TreeEntry,
    callback_digest,
    computed_digest,
    file_digest,
    folder_digest,
    folder_entries,
    result_digest,
    tree_digest,
)
from veritask.errors import InvalidInput

VECTORS = json.loads((Path(__file__).parent / "digest_vectors.json").read_text(encoding="utf-8"))


def build(
    root: Path, files: dict[str, bytes], dirs: list[str], order: list[str] | None = None
) -> Path:
    """Creates `dirs` and `files` under root (files in `order` when given)."""
    for directory in dirs:
        (root / directory).mkdir(parents=True, exist_ok=True)
    for path in order if order is not None else list(files):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(files[path])
    return root


def reference_preimage(files: dict[str, bytes], dirs: list[str]) -> bytes:
    """docs/digest.md, re-implemented without the module: tag, then entries sorted by the
    UTF-8 bytes of their path; file = 01 ‖ u32 len ‖ path ‖ sha256, dir = 02 ‖ u32 len ‖ path."""
    directories: set[str] = set()
    for path in [*files, *dirs]:
        parts = path.split("/")
        end = len(parts) if path in dirs else len(parts) - 1
        directories.update("/".join(parts[:i]) for i in range(1, end + 1))
    entries: list[tuple[bytes, bytes]] = []
    for path in directories:
        name = path.encode()
        entries.append((name, b"\x02" + len(name).to_bytes(4, "big") + name))
    for path, content in files.items():
        name = path.encode()
        body = b"\x01" + len(name).to_bytes(4, "big") + name + hashlib.sha256(content).digest()
        entries.append((name, body))
    return b"veritask.folder\x00" + b"".join(body for _, body in sorted(entries))


@pytest.mark.parametrize("vector", VECTORS["folders"], ids=lambda vector: vector["name"])
def test_folder_digest__vector__matches_json_and_reference_encoder(
    vector: dict[str, Any], tmp_path: Path
) -> None:
    files = {path: text.encode() for path, text in dict(vector["files"]).items()}
    dirs = list(vector["dirs"])
    (tmp_path / "out").mkdir()
    root = build(tmp_path / "out", files, dirs)
    preimage = reference_preimage(files, dirs)
    assert "0x" + preimage.hex() == vector["preimage_hex"]
    assert "0x" + hashlib.sha256(preimage).hexdigest() == vector["digest"]
    assert "0x" + folder_digest(root).hex() == vector["digest"]
    assert result_digest(root) == folder_digest(root)


@pytest.mark.parametrize("vector", VECTORS["files"], ids=lambda vector: vector["name"])
def test_result_digest__file_vector__is_sha256(vector: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "result.bin"
    path.write_bytes(bytes.fromhex(vector["content_hex"][2:]))
    assert "0x" + result_digest(path).hex() == vector["digest"]
    assert file_digest(path) == result_digest(path)


@pytest.mark.parametrize("vector", VECTORS["callbacks"], ids=lambda vector: vector["name"])
def test_callback_digest__vector__is_keccak256(vector: dict[str, str], tmp_path: Path) -> None:
    data = bytes.fromhex(vector["callback_data"][2:])
    assert "0x" + callback_digest(data).hex() == vector["digest"]
    assert callback_digest(data) == keccak(data)
    if data:  # computed.json with callback-data wins over any output path
        (tmp_path / "computed.json").write_text(
            json.dumps(
                {"callback-data": vector["callback_data"], "deterministic-output-path": "/x"}
            )
        )
        assert "0x" + computed_digest(tmp_path).hex() == vector["digest"]


def test_folder_digest__differs_from_every_file_digest(tmp_path: Path) -> None:
    assert folder_digest(tmp_path) != hashlib.sha256(b"").digest()
    assert folder_digest(tmp_path) == hashlib.sha256(b"veritask.folder\x00").digest()


def test_folder_digest__nfd_name__same_as_nfc(tmp_path: Path) -> None:
    nfc, nfd = tmp_path / "nfc", tmp_path / "nfd"
    build(nfc, {unicodedata.normalize("NFC", "café.txt"): b"x"}, [])
    build(nfd, {unicodedata.normalize("NFD", "café.txt"): b"x"}, [])
    assert folder_digest(nfc) == folder_digest(nfd)


def test_folder_digest__names_equal_once_normalized__invalid_input(tmp_path: Path) -> None:
    build(tmp_path, {unicodedata.normalize(form, "é"): b"x" for form in ("NFC", "NFD")}, [])
    with pytest.raises(InvalidInput, match="NFC"):
        folder_digest(tmp_path)


def test_folder_digest__ignores_permissions_and_times(tmp_path: Path) -> None:
    root = build(tmp_path, {"run.sh": b"echo\n", "d/f": b""}, [])
    before = folder_digest(root)
    os.chmod(root / "run.sh", 0o755)
    os.utime(root / "d" / "f", (0, 0))
    assert folder_digest(root) == before


@pytest.mark.parametrize("target", ["file", "dir"])
def test_folder_digest__symlink_inside__invalid_input(tmp_path: Path, target: str) -> None:
    root = build(tmp_path / "out", {"f": b"x"}, ["d"])
    (root / "link").symlink_to(root / ("f" if target == "file" else "d"))
    with pytest.raises(InvalidInput, match="symbolic link"):
        folder_digest(root)


def test_result_digest__symlink_root__invalid_input(tmp_path: Path) -> None:
    (tmp_path / "f").write_bytes(b"x")
    (tmp_path / "link").symlink_to(tmp_path / "f")
    with pytest.raises(InvalidInput, match="symbolic link"):
        result_digest(tmp_path / "link")


def test_folder_digest__fifo__invalid_input(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(InvalidInput, match="not a regular file"):
        folder_digest(tmp_path)


def test_folder_digest__name_not_utf8__invalid_input(tmp_path: Path) -> None:
    with open(os.path.join(os.fsencode(tmp_path), b"bad\xff"), "wb"):
        pass
    with pytest.raises(InvalidInput, match="UTF-8"):
        folder_digest(tmp_path)


def test_result_digest__missing__invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot be read"):
        result_digest(tmp_path / "missing")


@pytest.mark.parametrize(
    ("entries", "why"),
    [
        ([TreeEntry("a"), TreeEntry("a")], "twice"),
        ([TreeEntry("a/b", b"\x00" * 32)], "parent"),
        ([TreeEntry("a", b"\x00" * 32), TreeEntry("a/b", b"\x00" * 32)], "parent"),
        ([TreeEntry("/a")], "relative"),
        ([TreeEntry("a/")], "relative"),
        ([TreeEntry("a//b")], "relative"),
        ([TreeEntry("./a")], "relative"),
        ([TreeEntry("..")], "relative"),
        ([TreeEntry("")], "relative"),
        ([TreeEntry(unicodedata.normalize("NFD", "é"))], "NFC"),
        ([TreeEntry("a", b"\x00")], "32 bytes"),
    ],
)
def test_tree_digest__malformed_entries__invalid_input(entries: list[TreeEntry], why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        tree_digest(entries)


def test_tree_digest__equals_folder_digest_of_the_same_tree(tmp_path: Path) -> None:
    build(tmp_path, {"a/b.txt": b"b", "c": b"c"}, ["e"])
    entries = [
        TreeEntry("c", hashlib.sha256(b"c").digest()),
        TreeEntry("e"),
        TreeEntry("a/b.txt", hashlib.sha256(b"b").digest()),
        TreeEntry("a"),
    ]
    assert folder_entries(tmp_path) == sorted(entries, key=lambda entry: entry.path.encode())
    assert tree_digest(entries) == folder_digest(tmp_path)


@pytest.mark.parametrize(
    ("output", "relative"),
    [("/iexec_out/result.txt", "result.txt"), ("result.txt", "result.txt"), ("/iexec_out/r", "r")],
)
def test_computed_digest__output_path__digest_of_that_path(
    tmp_path: Path, output: str, relative: str
) -> None:
    build(tmp_path, {"result.txt": b"42\n", "r/x": b"x"}, [])
    (tmp_path / "computed.json").write_text(json.dumps({"deterministic-output-path": output}))
    assert computed_digest(tmp_path) == result_digest(tmp_path / relative)


@pytest.mark.parametrize(
    ("document", "why"),
    [
        ("not json", "readable"),
        ("[]", "JSON object"),
        ("{}", "neither"),
        ('{"deterministic-output-path": "/etc/passwd"}', "not under"),
        ('{"deterministic-output-path": "../x"}', "leaves"),
        ('{"deterministic-output-path": "/iexec_out/missing"}', "cannot be read"),
        ('{"callback-data": "0xzz"}', "not hex"),
        ('{"callback-data": 12}', "hex string"),
    ],
)
def test_computed_digest__bad_document__invalid_input(
    tmp_path: Path, document: str, why: str
) -> None:
    (tmp_path / "computed.json").write_text(document)
    with pytest.raises(InvalidInput, match=why):
        computed_digest(tmp_path)


def test_computed_digest__no_computed_json__invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"computed\.json"):
        computed_digest(tmp_path)


_NAMES = st.text(alphabet="abé日-._", min_size=1, max_size=3).filter(lambda n: n not in {".", ".."})
_PATHS = st.lists(_NAMES, min_size=1, max_size=3).map("/".join)


@st.composite
def trees(draw: st.DrawFn) -> tuple[dict[str, bytes], list[str]]:
    """Files (no file is also a directory of another path) and empty directories."""
    files: dict[str, bytes] = {}
    for path in draw(st.lists(_PATHS, min_size=1, max_size=8, unique=True)):
        parents = {"/".join(path.split("/")[:i]) for i in range(1, path.count("/") + 1)}
        if parents & set(files) or any(other.startswith(path + "/") for other in files):
            continue
        files[path] = draw(st.binary(max_size=16))
    taken = {"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 2)}
    dirs = [d for d in draw(st.lists(_NAMES, max_size=2, unique=True)) if d not in taken]
    return files, dirs


def digest_of(files: dict[str, bytes], dirs: list[str], order: list[str] | None = None) -> bytes:
    with tempfile.TemporaryDirectory() as directory:
        return folder_digest(build(Path(directory), files, dirs, order))


@settings(max_examples=40, deadline=None)
@given(trees(), st.randoms(use_true_random=False))
def test_folder_digest__creation_order__irrelevant(
    tree: tuple[dict[str, bytes], list[str]], shuffler: random.Random
) -> None:
    files, dirs = tree
    order = list(files)
    shuffler.shuffle(order)
    digest = digest_of(files, dirs)
    assert digest_of(files, list(reversed(dirs)), order) == digest
    assert "0x" + digest.hex() == "0x" + hashlib.sha256(reference_preimage(files, dirs)).hexdigest()


@settings(max_examples=40, deadline=None)
@given(trees(), st.data())
def test_folder_digest__any_change__changes_the_digest(
    tree: tuple[dict[str, bytes], list[str]], data: st.DataObject
) -> None:
    files, dirs = tree
    digest = digest_of(files, dirs)
    victim = data.draw(st.sampled_from(sorted(files)))
    changed = {**files, victim: files[victim] + b"!"}
    assert digest_of(changed, dirs) != digest
    # "~" is outside the names' alphabet: the new name collides with nothing
    renamed = {(path + "~" if path == victim else path): content for path, content in files.items()}
    assert digest_of(renamed, dirs) != digest
    assert digest_of(files, [*dirs, "zz-new-empty"]) != digest
