"""Storage fixtures: signing accounts, the app on a fake clock and the service as the devnet
starts it (`serve_in_thread`), each over HTTP on a free 127.0.0.1 port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from fastapi import FastAPI

from veritask.domain.cid import cid_of, upload_message
from veritask.sdk.storage import StorageClient
from veritask.storage import (
    FilesystemBlobStore,
    RunningServer,
    StorageSettings,
    create_app,
    serve_app_in_thread,
    serve_in_thread,
)

NOW = 1_800_000_000  # the fake clock of the ASGI-level tests, unix seconds
TIMEOUT_S = 5.0


def account(name: str) -> LocalAccount:
    signer: LocalAccount = Account.from_key(keccak(text=f"veritask storage test {name}"))
    return signer


def signed_headers(
    data: bytes, signer: LocalAccount, timestamp: int = NOW, cid: str | None = None
) -> dict[str, str]:
    """The three upload headers, as the protocol defines them (docs/storage.md)."""
    message = upload_message(cid or cid_of(data), timestamp)
    signature = signer.sign_message(encode_defunct(text=message)).signature
    return {
        "X-Veritask-Address": signer.address,
        "X-Veritask-Timestamp": str(timestamp),
        "X-Veritask-Signature": "0x" + bytes(signature).hex(),
    }


@pytest.fixture
def uploader() -> LocalAccount:
    return account("uploader")


@pytest.fixture
def store(tmp_path: Path) -> FilesystemBlobStore:
    return FilesystemBlobStore(tmp_path / "blobs")


@pytest.fixture
def settings(tmp_path: Path) -> StorageSettings:
    return StorageSettings(root=tmp_path / "blobs", max_upload_bytes=1024)


@contextmanager
def api_of(app: FastAPI) -> Iterator[httpx.Client]:
    """An HTTP client of `app` served on a free loopback port."""
    with (
        serve_app_in_thread(app, start_timeout_s=TIMEOUT_S) as running,
        httpx.Client(base_url=running.url, timeout=TIMEOUT_S) as http,
    ):
        yield http


@pytest.fixture
def api(settings: StorageSettings, store: FilesystemBlobStore) -> Iterator[httpx.Client]:
    """The app over HTTP on 127.0.0.1, its clock fixed at NOW."""
    with api_of(create_app(settings, store=store, clock=lambda: NOW)) as http:
        yield http


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    """The real service on a free loopback port."""
    settings = StorageSettings(root=tmp_path / "served", max_upload_bytes=1 << 20)
    with serve_in_thread(settings, start_timeout_s=TIMEOUT_S) as running:
        yield running


@pytest.fixture
def client(server: RunningServer) -> Iterator[StorageClient]:
    with StorageClient(server.url, timeout_s=TIMEOUT_S) as storage:
        yield storage
