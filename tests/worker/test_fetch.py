"""Task downloads: size limits, dataset checksums, input file names (a local HTTP server,
allowed as a devnet allows its loopback; the refusals of such addresses are in
test_fetch_ssrf.py)."""

from __future__ import annotations

import hashlib
import http.server
import ipaddress
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from veritask.errors import InvalidInput, StorageError
from veritask.sdk.storage import StorageClient
from veritask.worker.fetch import Fetcher, input_file_name

BODY = b"0123456789" * 100


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/missing":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def fetcher() -> Fetcher:
    allow = [ipaddress.ip_network("127.0.0.1/32")]
    return Fetcher(StorageClient("http://127.0.0.1:9"), timeout_s=5, allow=allow)


def test_fetch__within_the_limit__returns_the_bytes(server: str, fetcher: Fetcher) -> None:
    assert fetcher.fetch(f"{server}/data", max_bytes=len(BODY)) == BODY


def test_fetch__over_the_limit__refuses(server: str, fetcher: Fetcher) -> None:
    with pytest.raises(StorageError, match="larger than"):
        fetcher.fetch(f"{server}/data", max_bytes=len(BODY) - 1)


def test_fetch__not_found__raises_storage_error(server: str, fetcher: Fetcher) -> None:
    with pytest.raises(StorageError, match="404"):
        fetcher.fetch(f"{server}/missing", max_bytes=10_000)


def test_fetch__unknown_scheme__raises_invalid_input(fetcher: Fetcher) -> None:
    with pytest.raises(InvalidInput, match="expected"):
        fetcher.fetch("ftp://x/y", max_bytes=10)


def test_dataset__checksum_mismatch__refuses_and_writes_nothing(
    server: str, fetcher: Fetcher, tmp_path: Path
) -> None:
    target = tmp_path / "dataset"
    with pytest.raises(InvalidInput, match="not the registered checksum"):
        fetcher.dataset(f"{server}/data", b"\x00" * 32, target, max_bytes=10_000)
    assert not target.exists()
    fetcher.dataset(f"{server}/data", hashlib.sha256(BODY).digest(), target, max_bytes=10_000)
    assert target.read_bytes() == BODY


def test_inputs__named_after_the_sha256_of_their_url(
    server: str, fetcher: Fetcher, tmp_path: Path
) -> None:
    url = f"{server}/input"
    assert fetcher.inputs([url], tmp_path, max_bytes=10_000) == [input_file_name(url)]
    assert (tmp_path / input_file_name(url)).read_bytes() == BODY
