"""`veritask.sdk.storage.StorageClient` against the real service on 127.0.0.1 (as the devnet
starts it), against a storage that lies about content, and against no storage at all."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.storage.conftest import TIMEOUT_S, account
from veritask.domain.cid import cid_of
from veritask.errors import InvalidInput, StorageError
from veritask.sdk.storage import StorageClient
from veritask.storage import RunningServer, StorageSettings, serve_app_in_thread, serve_in_thread

DATA = bytes(range(256)) * 300  # 76.8 kB: streamed in several chunks


def test_upload_download__round_trip(client: StorageClient) -> None:
    cid = client.upload(DATA, account("a"))
    assert cid == cid_of(DATA)
    assert client.download(cid) == DATA


def test_upload__twice__same_cid(client: StorageClient) -> None:
    assert client.upload(b"x", account("a")) == client.upload(b"x", account("b"))


def test_upload_file__reads_the_file(client: StorageClient, tmp_path: Path) -> None:
    (tmp_path / "result.zip").write_bytes(DATA)
    assert client.upload_file(tmp_path / "result.zip", account("a")) == cid_of(DATA)
    with pytest.raises(InvalidInput, match="cannot read"):
        client.upload_file(tmp_path / "missing", account("a"))


def test_download_to__writes_the_verified_file(client: StorageClient, tmp_path: Path) -> None:
    cid = client.upload(DATA, account("a"))
    (tmp_path / "downloads").mkdir()
    assert client.download_to(cid, tmp_path / "downloads" / "out.bin") == len(DATA)
    assert (tmp_path / "downloads" / "out.bin").read_bytes() == DATA
    assert [path.name for path in (tmp_path / "downloads").iterdir()] == ["out.bin"]


def test_download__over_max_bytes__storage_error_too_large(client: StorageClient) -> None:
    cid = client.upload(DATA, account("a"))
    with pytest.raises(StorageError, match="max_bytes") as caught:
        client.download(cid, max_bytes=len(DATA) - 1)
    assert caught.value.code == "too_large"
    assert client.download(cid, max_bytes=len(DATA)) == DATA


def test_download__longer_than_total_timeout__storage_error_unavailable(
    client: StorageClient,
) -> None:
    """`timeout_s` bounds each wait; `total_timeout_s` the whole download, which a storage
    trickling bytes would otherwise stretch without end. A zero bound is always passed."""
    cid = client.upload(DATA, account("a"))
    with pytest.raises(StorageError, match="within 0 s") as caught:
        client.download(cid, total_timeout_s=0)
    assert caught.value.code == "unavailable"
    assert client.download(cid, total_timeout_s=TIMEOUT_S) == DATA


def test_download__unknown_cid__storage_error_not_found(client: StorageClient) -> None:
    with pytest.raises(StorageError, match="not_found") as caught:
        client.download(cid_of(b"never uploaded"))
    assert caught.value.code == "not_found"


def test_download__malformed_cid__invalid_input_before_any_request(
    client: StorageClient,
) -> None:
    with pytest.raises(InvalidInput, match="not a content id"):
        client.download("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR")


def test_upload__not_allowed__storage_error_with_code(tmp_path: Path) -> None:
    settings = StorageSettings(root=tmp_path, allowed_uploaders=(account("ok").address,))
    with (
        serve_in_thread(settings, start_timeout_s=TIMEOUT_S) as server,
        StorageClient(server.url, TIMEOUT_S) as client,
    ):
        with pytest.raises(StorageError, match="may not upload") as caught:
            client.upload(b"x", account("stranger"))
        assert caught.value.code == "forbidden"
        assert client.upload(b"x", account("ok")) == cid_of(b"x")


def test_upload__clock_far_off__storage_error_stale_timestamp(server: RunningServer) -> None:
    with (
        StorageClient(server.url, TIMEOUT_S, clock=lambda: time.time() - 3600) as client,
        pytest.raises(StorageError, match="sign again") as caught,
    ):
        client.upload(b"x", account("a"))
    assert caught.value.code == "stale_timestamp"


def lying_storage(served: bytes) -> Starlette:
    """A storage that answers every download with `served`, whatever the CID."""

    async def download(request: Request) -> Response:
        return Response(served, media_type="application/octet-stream")

    async def upload(request: Request) -> Response:
        return Response('{"cid": "bafkreiother"}', media_type="application/json")

    return Starlette(
        routes=[
            Route("/ipfs/{cid}", download),
            Route("/upload", upload, methods=["POST"]),
        ]
    )


def test_download__storage_serves_other_bytes__storage_error_corrupted(tmp_path: Path) -> None:
    with (
        serve_app_in_thread(lying_storage(b"forged"), start_timeout_s=TIMEOUT_S) as liar,
        StorageClient(liar.url, TIMEOUT_S) as client,
    ):
        with pytest.raises(StorageError, match="do not trust") as caught:
            client.download(cid_of(b"genuine"))
        assert caught.value.code == "corrupted"
        with pytest.raises(StorageError, match="discarded"):
            client.download_to(cid_of(b"genuine"), tmp_path / "out")
        assert list(tmp_path.iterdir()) == []
        with pytest.raises(StorageError, match="answered CID"):
            client.upload(b"genuine", account("a"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_no_storage__storage_error_says_what_to_run() -> None:
    with StorageClient(f"http://127.0.0.1:{free_port()}", TIMEOUT_S) as client:
        with pytest.raises(StorageError, match="veritask devnet up") as caught:
            client.download(cid_of(b"x"))
        assert caught.value.code == "unavailable"
        with pytest.raises(StorageError, match="does not answer"):
            client.upload(b"x", account("a"))


def test_silent_storage__storage_error_after_timeout() -> None:
    with socket.socket() as listener:  # accepts connections, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        started = time.monotonic()
        with (
            StorageClient(url, timeout_s=0.3) as client,
            pytest.raises(StorageError, match=r"within 0\.3 s"),
        ):
            client.health()
        assert time.monotonic() - started < TIMEOUT_S


def test_client__url_without_scheme__invalid_input() -> None:
    with pytest.raises(InvalidInput, match="http://"):
        StorageClient("127.0.0.1:8601")


def test_health__reports_backend(client: StorageClient) -> None:
    assert client.health()["backend"] == "filesystem"


def test_running_server__stop__frees_the_port(tmp_path: Path) -> None:
    server = serve_in_thread(StorageSettings(root=tmp_path), start_timeout_s=TIMEOUT_S)
    assert server.running
    server.stop()
    assert not server.running
    with StorageClient(server.url, TIMEOUT_S) as client, pytest.raises(StorageError):
        client.health()
