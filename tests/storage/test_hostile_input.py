"""The storage service against hostile and clumsy clients: every refusal is a 4xx in the
`{"error", "message"}` shape, never a 500 or a traceback, and stores nothing; replayed
upload signatures can only store the same content again; the server survives huge
headers and URLs. Random requests (hypothesis) never get a 5xx."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.storage.conftest import NOW, TIMEOUT_S, account, api_of, signed_headers
from veritask.domain.cid import cid_of
from veritask.storage import FilesystemBlobStore, StorageSettings, create_app

BODY = b"hostile input test"
UPLOADER = account("hostile uploader")


def blobs_in(store: FilesystemBlobStore) -> list[str]:
    # Blobs are in shard folders; the upload ledger beside them.
    return sorted(path.name for path in store.root.glob("*/*"))


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == code
    assert body["message"]
    assert "Traceback" not in response.text


def _with(**changes: str) -> dict[str, str]:
    headers = signed_headers(BODY, UPLOADER)
    headers.update(changes)
    return {name: value for name, value in headers.items() if value != "<drop>"}


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        (_with(**{"X-Veritask-Address": "<drop>"}), 401, "missing_auth"),
        (_with(**{"X-Veritask-Address": ""}), 401, "missing_auth"),
        (_with(**{"X-Veritask-Address": "0x1234"}), 401, "bad_auth"),
        (_with(**{"X-Veritask-Address": "../../etc/passwd"}), 401, "bad_auth"),
        (_with(**{"X-Veritask-Timestamp": "-1"}), 401, "bad_auth"),
        (_with(**{"X-Veritask-Timestamp": "1e9"}), 401, "bad_auth"),
        (_with(**{"X-Veritask-Timestamp": "9" * 400}), 401, "bad_auth"),
        (_with(**{"X-Veritask-Timestamp": str(NOW - 10**6)}), 401, "stale_timestamp"),
        (_with(**{"X-Veritask-Timestamp": str(NOW + 10**6)}), 401, "stale_timestamp"),
        (_with(**{"X-Veritask-Timestamp": "0"}), 401, "stale_timestamp"),
        (_with(**{"X-Veritask-Signature": "0x" + "00" * 65}), 401, "bad_signature"),
        (_with(**{"X-Veritask-Signature": "0x" + "ff" * 65}), 401, "bad_signature"),
        (_with(**{"X-Veritask-Signature": "0x" + "ab" * 64 + "05"}), 401, "bad_signature"),
        (_with(**{"X-Veritask-Signature": "0x" + "ab" * 64}), 401, "bad_auth"),
        (_with(**{"X-Veritask-Signature": "0x" + "zz" * 65}), 401, "bad_auth"),
        (_with(**{"X-Veritask-Signature": "0x" + "a" * 129}), 401, "bad_auth"),
        (_with(**{"X-Veritask-Timestamp": str(NOW + 1)}), 401, "bad_signature"),
        (signed_headers(b"other bytes", UPLOADER), 401, "bad_signature"),
    ],
)
def test_upload__bad_auth_headers__refused_and_nothing_stored(
    settings: StorageSettings,
    store: FilesystemBlobStore,
    headers: dict[str, str],
    status: int,
    code: str,
) -> None:
    with api_of(create_app(settings, store=store, clock=lambda: NOW)) as api:
        assert_refused(api.post("/upload", content=BODY, headers=headers), status, code)
        assert blobs_in(store) == []


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/ipfs/..%2F..%2Fetc%2Fpasswd", 404, "not_found"),
        ("/ipfs/%2e%2e", 400, "bad_cid"),
        ("/ipfs/%C3%A9t%C3%A9", 400, "bad_cid"),
        ("/ipfs/%00", 400, "bad_cid"),
        ("/ipfs/" + "b" * 59, 400, "bad_cid"),
        ("/ipfs/" + cid_of(b"x").upper(), 400, "bad_cid"),
        ("/ipfs/" + cid_of(b"x")[:-1], 400, "bad_cid"),
        ("/ipfs/" + "b" * 5000, 400, "bad_cid"),
        ("/ipfs/" + cid_of(b"never uploaded"), 404, "not_found"),
        ("/ipfs/" + cid_of(b"never uploaded") + "?" + "q=" * 20_000, 404, "not_found"),
    ],
)
def test_download__hostile_paths__refused_in_the_error_shape(
    api: httpx.Client, store: FilesystemBlobStore, path: str, status: int, code: str
) -> None:
    assert_refused(api.get(path), status, code)
    assert blobs_in(store) == []


@pytest.mark.parametrize("length", [b"\xb2", b"\xd9\xa3", b"-1", b"1e3", b"0x10"])
def test_upload__non_ascii_content_length__is_not_a_500(
    settings: StorageSettings, store: FilesystemBlobStore, length: bytes
) -> None:
    """Regression: `"²".isdigit()` is true and `int("²")` raises, which answered 500.
    A real server refuses such a header before the app; the app must not rely on it."""
    app = create_app(settings, store=store, clock=lambda: NOW)
    headers = [(name.encode(), value.encode()) for name, value in _with().items()]

    async def post() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://storage") as http:
            request = http.build_request("POST", "/upload", content=BODY)
            request.headers = httpx.Headers([*headers, (b"content-length", length)])
            return await http.send(request)

    response = asyncio.run(post())
    assert response.status_code < 500, response.text


def test_upload__replayed_signature__stores_only_the_same_content(
    api: httpx.Client, store: FilesystemBlobStore
) -> None:
    headers = signed_headers(BODY, UPLOADER)
    first = api.post("/upload", content=BODY, headers=headers)
    assert first.status_code == 200, first.text
    again = api.post("/upload", content=BODY, headers=headers)
    assert again.json() == first.json()
    assert_refused(api.post("/upload", content=b"evil", headers=headers), 401, "bad_signature")
    assert blobs_in(store) == [cid_of(BODY)]


def test_upload__over_the_limit_streamed_without_length__refused_and_nothing_stored(
    api: httpx.Client, store: FilesystemBlobStore
) -> None:
    data = b"x" * 4096  # the fixture's limit is 1024 bytes

    def chunks() -> object:
        for start in range(0, len(data), 512):
            yield data[start : start + 512]

    response = api.post("/upload", content=chunks(), headers=signed_headers(data, UPLOADER))
    assert_refused(response, 413, "too_large")
    assert blobs_in(store) == []


def test_server__huge_header_and_url__refused_and_still_serving(tmp_path: Path) -> None:
    from veritask.storage import serve_in_thread

    with (
        serve_in_thread(StorageSettings(root=tmp_path / "served")) as server,
        httpx.Client(base_url=server.url, timeout=TIMEOUT_S) as http,
    ):
        for request in (
            lambda: http.get("/health", headers={"X-Junk": "j" * 200_000}),
            lambda: http.get("/ipfs/" + "b" * 60_000),
        ):
            try:
                response = request()
            except httpx.HTTPError:
                continue  # the server may close the connection: that is a refusal too
            assert 400 <= response.status_code < 500
        assert http.get("/health").json()["status"] == "ok"


_HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=140)


def test_random_requests__never_a_5xx(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "random")
    app = create_app(
        StorageSettings(root=tmp_path / "random", max_upload_bytes=1024),
        store=store,
        clock=lambda: NOW,
    )

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        body=st.binary(max_size=2048),
        address=_HEADER_TEXT,
        timestamp=st.one_of(_HEADER_TEXT, st.integers(-(10**12), 10**13).map(str)),
        signature=st.one_of(
            _HEADER_TEXT, st.binary(min_size=65, max_size=65).map(lambda b: "0x" + b.hex())
        ),
        cid=st.text(max_size=80).map(lambda text: quote(text, safe="")),
    )
    def check(body: bytes, address: str, timestamp: str, signature: str, cid: str) -> None:
        headers = [
            (b"x-veritask-address", address.encode("latin-1")),
            (b"x-veritask-timestamp", timestamp.encode("latin-1")),
            (b"x-veritask-signature", signature.encode("latin-1")),
        ]

        async def run() -> list[httpx.Response]:
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://storage") as http:
                upload = http.build_request("POST", "/upload", content=body)
                raw = [*upload.headers.raw, *headers]
                upload.headers = httpx.Headers(raw, encoding="latin-1")
                return [await http.send(upload), await http.get(f"/ipfs/{cid}")]

        for response in asyncio.run(run()):
            assert response.status_code < 500, response.text
            if response.status_code >= 400:
                assert set(response.json()) == {"error", "message"}
        assert blobs_in(store) == []  # no random signature is valid

    check()
