"""Atomic writes: content, modes (kept, umask default, secrets created 0600), and failures
that leave the target as it was and no temporary file behind."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from veritask.files import open_atomically, write_atomically


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def set_umask() -> Iterator[Any]:
    """Sets the process umask for one test (it is process-wide) and restores it after."""
    previous = os.umask(0o022)
    yield os.umask
    os.umask(previous)


def test_write_atomically__bytes_and_text__hold_the_content(tmp_path: Path) -> None:
    write_atomically(tmp_path / "blob", b"\x00\xffbytes")
    write_atomically(tmp_path / "note", "text é")

    assert (tmp_path / "blob").read_bytes() == b"\x00\xffbytes"
    assert (tmp_path / "note").read_bytes() == "text é".encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blob", "note"], "a temp was left"


def test_write_atomically__existing_file__replaced_and_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "order.json"
    target.write_text("old")
    target.chmod(0o640)

    write_atomically(target, "new")

    assert target.read_text() == "new"
    assert _mode(target) == 0o640


def test_write_atomically__new_file__gets_the_umask_default_not_0600(
    tmp_path: Path, set_umask: Any
) -> None:
    set_umask(0o022)
    target = tmp_path / "result.zip"

    write_atomically(target, b"zip")

    assert _mode(target) == 0o644


def test_write_atomically__mode_0600__created_0600_never_visible_wider(
    tmp_path: Path, set_umask: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # umask 0: a 0600 file here comes from the creation flags, not from the umask.
    set_umask(0)
    created: list[int] = []
    real_open = os.open

    def recording_open(path: Any, flags: int, mode: int = 0o777, **kwargs: Any) -> int:
        if flags & os.O_CREAT:
            created.append(mode)
        return real_open(path, flags, mode, **kwargs)

    def no_chmod(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a secret must be created 0600, not chmod'ed after")

    monkeypatch.setattr(os, "open", recording_open)
    monkeypatch.setattr(os, "chmod", no_chmod)
    monkeypatch.setattr(os, "fchmod", no_chmod)
    target = tmp_path / "key"

    with open_atomically(target, mode=0o600) as handle:
        handle.write(b"0x secret")
        handle.flush()
        visible = {p.name: _mode(p) for p in tmp_path.iterdir()}
        assert visible, "the temporary file should exist while writing"
        assert set(visible.values()) == {0o600}, f"visible with a wider mode: {visible}"

    assert created == [0o600]
    assert _mode(target) == 0o600
    assert target.read_bytes() == b"0x secret"


def test_write_atomically__mode_0600_over_a_loose_file__narrows_it(tmp_path: Path) -> None:
    target = tmp_path / "key"
    target.write_text("old key")
    target.chmod(0o644)

    write_atomically(target, "new key", mode=0o600)

    assert _mode(target) == 0o600
    assert target.read_text() == "new key"


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_write_atomically__write_fails__target_untouched_and_temporary_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "journal.json"
    target.write_text("old")

    def fail(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, failing, fail)

    with pytest.raises(OSError, match="No space left"):
        write_atomically(target, "new")

    monkeypatch.undo()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["journal.json"], "a temp was left"


def test_open_atomically__block_raises__new_file_not_created_and_temporary_removed(
    tmp_path: Path,
) -> None:
    target = tmp_path / "download"

    def download() -> None:
        with open_atomically(target) as handle:
            handle.write(b"half of it")
            raise RuntimeError("stream broke")

    with pytest.raises(RuntimeError, match="stream broke"):
        download()

    assert list(tmp_path.iterdir()) == []


def test_open_atomically__while_streaming__readers_see_the_old_content(tmp_path: Path) -> None:
    target = tmp_path / "download"
    target.write_bytes(b"old")

    with open_atomically(target) as handle:
        handle.write(b"new part 1, ")
        handle.flush()
        assert target.read_bytes() == b"old"
        handle.write(b"part 2")

    assert target.read_bytes() == b"new part 1, part 2"


def test_write_atomically__exclusive_and_the_file_exists__refuses_and_leaves_it(
    tmp_path: Path,
) -> None:
    target = tmp_path / "0xWallet.json"
    target.write_text("first keystore")

    with pytest.raises(FileExistsError):
        write_atomically(target, "second keystore", mode=0o600, exclusive=True)

    assert target.read_text() == "first keystore"
    assert [p.name for p in tmp_path.iterdir()] == ["0xWallet.json"], "a temp was left"


def test_write_atomically__exclusive_new_file__created_with_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "0xWallet.json"

    write_atomically(target, "keystore", mode=0o600, exclusive=True)

    assert target.read_text() == "keystore"
    assert _mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["0xWallet.json"], "a temp was left"


def test_write_atomically__missing_folder__raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomically(tmp_path / "no-such-folder" / "file", "data")
