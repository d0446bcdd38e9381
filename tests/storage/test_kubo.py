"""`KuboBlobStore` against a test double of kubo's HTTP RPC (`/api/v0/add`, `/api/v0/cat`)
on 127.0.0.1. No IPFS node runs here; the double is written from kubo's RPC reference:
POST only, `add` takes a multipart file and answers one JSON line per entry, `cat` answers
the bytes or HTTP 500 with `{"Message", "Code", "Type"}`. It computes CIDs with the
`multiformats` package, and gives content over one chunk a dag-pb CID, as kubo does."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from multiformats import CID, multihash

from tests.storage.conftest import TIMEOUT_S, account
from veritask.errors import StorageError
from veritask.sdk.storage import StorageClient
from veritask.storage import KUBO_MAX_BLOB_BYTES, KuboBlobStore, StorageSettings, serve_in_thread

DEFAULT_CHUNK = 256 * 1024


class KuboDouble(BaseHTTPRequestHandler):
    """The two RPC commands the store uses; blobs kept in `server.blobs`."""

    server: KuboServer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, message: str) -> None:
        body = json.dumps({"Message": message, "Code": 0, "Type": "error"}).encode()
        self._answer(500, body, "application/json")

    def do_GET(self) -> None:
        self._answer(405, b"405 - Method Not Allowed", "text/plain")

    def do_POST(self) -> None:
        url = urlparse(self.path)
        params = {key: values[-1] for key, values in parse_qs(url.query).items()}
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.calls.append((url.path, params))
        if url.path == "/api/v0/add":
            self._add(params, body)
        elif url.path == "/api/v0/cat":
            self._cat(params)
        else:
            self._answer(404, b"404 page not found", "text/plain")

    def _add(self, params: dict[str, str], body: bytes) -> None:
        boundary = re.search(r"boundary=(\S+)", self.headers["Content-Type"])
        assert boundary is not None
        part = body.split(b"--" + boundary.group(1).encode())[1]
        data = part.split(b"\r\n\r\n", 1)[1].removesuffix(b"\r\n")
        chunk = int(params.get("chunker", f"size-{DEFAULT_CHUNK}").removeprefix("size-"))
        one_raw_block = (
            params.get("raw-leaves") == "true" and params.get("cid-version") == "1"
        ) and len(data) <= chunk
        codec = "raw" if one_raw_block else "dag-pb"
        cid = str(CID("base32", 1, codec, multihash.digest(data, "sha2-256")))
        self.server.blobs[cid] = data
        line = json.dumps({"Name": "blob", "Hash": cid, "Size": str(len(data))})
        self._answer(200, line.encode() + b"\n", "application/json")

    def _cat(self, params: dict[str, str]) -> None:
        cid = params.get("arg", "")
        if cid not in self.server.blobs:
            self._error(f"block was not found locally (offline): ipld: could not find {cid}")
            return
        data = self.server.blobs[cid]
        if "length" in params:
            data = data[: int(params["length"])]
        self._answer(200, data, "text/plain")


class KuboServer(ThreadingHTTPServer):
    blobs: dict[str, bytes]
    calls: list[tuple[str, dict[str, str]]]


@pytest.fixture
def kubo() -> Iterator[KuboServer]:
    server = KuboServer(("127.0.0.1", 0), KuboDouble)
    server.blobs, server.calls = {}, []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(TIMEOUT_S)


@pytest.fixture
def store(kubo: KuboServer) -> Iterator[KuboBlobStore]:
    blobs = KuboBlobStore(f"http://127.0.0.1:{kubo.server_address[1]}/", timeout_s=TIMEOUT_S)
    yield blobs
    blobs.close()


def test_put_get_has__round_trip_with_raw_cid(store: KuboBlobStore, kubo: KuboServer) -> None:
    cid = store.put(b"hello world\n")
    assert cid == "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
    assert store.get(cid) == b"hello world\n"
    assert store.has(cid)
    add = kubo.calls[0][1]
    assert (add["cid-version"], add["raw-leaves"], add["pin"]) == ("1", "true", "true")
    assert all(params.get("offline") == "true" for path, params in kubo.calls[1:])


def test_put__one_mib__one_raw_block(store: KuboBlobStore) -> None:
    data = b"\x07" * KUBO_MAX_BLOB_BYTES  # over kubo's default 256 KiB chunk
    assert store.get(store.put(data)) == data


def test_put__over_one_block__storage_error_too_large(store: KuboBlobStore) -> None:
    with pytest.raises(StorageError, match="filesystem backend") as caught:
        store.put(b"x" * (KUBO_MAX_BLOB_BYTES + 1))
    assert caught.value.code == "too_large"


def test_get__unknown__not_found_and_has_false(store: KuboBlobStore) -> None:
    cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
    with pytest.raises(StorageError) as caught:
        store.get(cid)
    assert caught.value.code == "not_found"
    assert not store.has(cid)


def test_put__node_answers_another_cid__storage_error(
    store: KuboBlobStore, kubo: KuboServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        KuboDouble,
        "_add",
        lambda self, params, body: self._answer(
            200, b'{"Name":"blob","Hash":"QmOther","Size":"1"}\n', "application/json"
        ),
    )
    with pytest.raises(StorageError, match="raw leaves") as caught:
        store.put(b"x")
    assert caught.value.code == "unavailable"


def test_node_refuses__storage_error_with_its_message(
    store: KuboBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(KuboDouble, "_cat", lambda self, params: self._error("repo is locked"))
    with pytest.raises(StorageError, match="repo is locked") as caught:
        store.get("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
    assert caught.value.code == "unavailable"


def test_node_down__storage_error_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = KuboBlobStore(f"http://127.0.0.1:{port}", timeout_s=TIMEOUT_S)
    with pytest.raises(StorageError, match="ipfs daemon") as caught:
        store.put(b"x")
    assert caught.value.code == "unavailable"


def test_service_with_kubo_backend__client_round_trip(kubo: KuboServer, tmp_path: Path) -> None:
    settings = StorageSettings(
        backend="kubo", kubo_rpc_url=f"http://127.0.0.1:{kubo.server_address[1]}", root=tmp_path
    )
    with (
        serve_in_thread(settings, start_timeout_s=TIMEOUT_S) as server,
        StorageClient(server.url, TIMEOUT_S) as client,
    ):
        cid = client.upload(b"result", account("a"))
        assert client.download(cid) == b"result"
        assert cid in kubo.blobs
        kubo.blobs[cid] = b"tampered"
        with pytest.raises(StorageError) as caught:
            client.download(cid)
        assert caught.value.code == "corrupted"
        too_big = b"x" * (KUBO_MAX_BLOB_BYTES + 1)
        with pytest.raises(StorageError) as caught:
            client.upload(too_big, account("a"))
        assert caught.value.code == "too_large"
    # no blob in the filesystem root: it holds the upload ledger only
    assert list(tmp_path.glob("*/*")) == []
    assert (tmp_path / "ledger.db").is_file()
