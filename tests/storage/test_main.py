"""`python -m veritask.storage` (prints its URL, then serves) and `StorageSettings` from
the environment."""

from __future__ import annotations

import os
import select
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from tests.storage.conftest import TIMEOUT_S, account
from veritask.domain.cid import cid_of
from veritask.sdk.storage import StorageClient
from veritask.storage import StorageSettings

START_TIMEOUT_S = 30.0  # a cold interpreter imports fastapi, uvicorn and eth-account


def test_main__port_0__prints_url_then_serves(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "veritask.storage", "--host", "127.0.0.1", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--root", str(tmp_path), "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT_S)
        assert ready, "no URL printed in time"
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{url}/health", timeout=TIMEOUT_S).json()["status"] == "ok"
        with StorageClient(url, TIMEOUT_S) as client:
            assert client.upload(b"x", account("a")) == cid_of(b"x")
        assert any(path.name == cid_of(b"x") for path in tmp_path.rglob("*"))
    finally:
        process.terminate()
        process.wait(TIMEOUT_S)


def test_main__bad_settings__exit_2_with_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "veritask.storage", "--port", "70000", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 2
    assert "invalid storage settings" in result.stderr
    assert "Traceback" not in result.stderr


def test_settings__from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    first, second = account("first").address, account("second").address
    monkeypatch.setenv("VERITASK_STORAGE_ROOT", str(tmp_path))
    monkeypatch.setenv("VERITASK_STORAGE_MAX_UPLOAD_BYTES", "10")
    monkeypatch.setenv("VERITASK_STORAGE_ALLOWED_UPLOADERS", f"{first}, {second}")
    settings = StorageSettings()
    assert settings.root == tmp_path
    assert settings.max_upload_bytes == 10
    assert settings.allowed_uploaders == (first.lower(), second.lower())
    assert settings.max_clock_skew_s == 300


def test_settings__bad_uploader_address__validation_error() -> None:
    with pytest.raises(ValidationError, match="not a 0x address"):
        StorageSettings(allowed_uploaders=("alice",))


def test_settings__default_root__under_home(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VERITASK_STORAGE_ROOT", raising=False)
    assert StorageSettings().root == Path(os.path.expanduser("~")) / ".veritask" / "storage"


def test_settings__limits_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    worker = account("worker").address
    monkeypatch.setenv("VERITASK_STORAGE_MAX_UPLOADS_PER_WINDOW", "5")
    monkeypatch.setenv("VERITASK_STORAGE_UPLOAD_WINDOW_S", "10")
    monkeypatch.setenv("VERITASK_STORAGE_MAX_BYTES_PER_UPLOADER", "1000")
    monkeypatch.setenv("VERITASK_STORAGE_MAX_STORED_BYTES", "5000")
    monkeypatch.setenv("VERITASK_STORAGE_MIN_FREE_DISK_BYTES", "0")
    monkeypatch.setenv("VERITASK_STORAGE_EXEMPT_UPLOADERS", f" {worker} ")
    monkeypatch.setenv("VERITASK_STORAGE_ROOT", "/srv/blobs")
    settings = StorageSettings()
    assert (settings.max_uploads_per_window, settings.upload_window_s) == (5, 10)
    assert (settings.max_bytes_per_uploader, settings.max_stored_bytes) == (1000, 5000)
    assert settings.min_free_disk_bytes == 0
    assert settings.exempt_uploaders == (worker.lower(),)
    assert settings.resolved_ledger_path() == Path("/srv/blobs/ledger.db")
    with pytest.raises(ValidationError, match="exempt_uploaders: 'bob' is not a 0x address"):
        StorageSettings(exempt_uploaders="bob")
