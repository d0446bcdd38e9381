"""The storage API at ASGI level (`create_app` on a fixed clock): uploads and their
idempotence, one test per refusal code of the storage, gateway downloads, corruption
detection, health and metrics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from eth_account.signers.local import LocalAccount

from tests.storage.conftest import NOW, account, api_of, signed_headers
from veritask.domain.cid import cid_of
from veritask.errors import StorageError
from veritask.serving import REFUSAL_STATUS
from veritask.storage import FilesystemBlobStore, StorageSettings, create_app

DATA = b"the result of task 0x42\n"
CID = cid_of(DATA)


def assert_refused(response: httpx.Response, code: str) -> None:
    assert response.status_code == REFUSAL_STATUS[code]
    body = response.json()
    assert body["error"] == code
    assert body["message"]
    assert "Traceback" not in body["message"]


def test_upload__signed__stored_and_downloadable(api: httpx.Client, uploader: LocalAccount) -> None:
    response = api.post("/upload", content=DATA, headers=signed_headers(DATA, uploader))
    assert response.status_code == 200
    assert response.json() == {"cid": CID, "size": len(DATA)}
    download = api.get(f"/ipfs/{CID}")
    assert download.status_code == 200
    assert download.content == DATA
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["etag"] == f'"{CID}"'
    assert "immutable" in download.headers["cache-control"]


def test_upload__same_content_twice__idempotent(
    api: httpx.Client, uploader: LocalAccount, store: FilesystemBlobStore
) -> None:
    first = api.post("/upload", content=DATA, headers=signed_headers(DATA, uploader))
    second = api.post("/upload", content=DATA, headers=signed_headers(DATA, account("other")))
    assert first.json() == second.json() == {"cid": CID, "size": len(DATA)}
    blobs = list(store.root.glob("*/*"))  # blobs are in shard folders, the ledger beside them
    assert blobs == [store.path_of(CID)]


def test_upload__empty_body__stored(api: httpx.Client) -> None:
    response = api.post("/upload", content=b"", headers=signed_headers(b"", account("a")))
    assert response.json() == {"cid": cid_of(b""), "size": 0}


@pytest.mark.parametrize(
    "header", ["X-Veritask-Address", "X-Veritask-Timestamp", "X-Veritask-Signature"]
)
def test_upload__header_missing__401_missing_auth(api: httpx.Client, header: str) -> None:
    headers = signed_headers(DATA, account("a"))
    del headers[header]
    response = api.post("/upload", content=DATA, headers=headers)
    assert_refused(response, "missing_auth")
    assert header in response.json()["message"]


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("X-Veritask-Address", "0x1234"),
        ("X-Veritask-Timestamp", "yesterday"),
        ("X-Veritask-Timestamp", "-5"),
        ("X-Veritask-Signature", "0xabcd"),
    ],
)
def test_upload__header_malformed__401_bad_auth(api: httpx.Client, header: str, value: str) -> None:
    headers = {**signed_headers(DATA, account("a")), header: value}
    assert_refused(api.post("/upload", content=DATA, headers=headers), "bad_auth")


@pytest.mark.parametrize("offset_s", [-301, 301, -10_000])
def test_upload__timestamp_over_5_minutes_off__401_stale_timestamp(
    api: httpx.Client, offset_s: int
) -> None:
    headers = signed_headers(DATA, account("a"), timestamp=NOW + offset_s)
    assert_refused(api.post("/upload", content=DATA, headers=headers), "stale_timestamp")


@pytest.mark.parametrize("offset_s", [-300, 300])
def test_upload__timestamp_within_5_minutes__accepted(api: httpx.Client, offset_s: int) -> None:
    headers = signed_headers(DATA, account("a"), timestamp=NOW + offset_s)
    assert api.post("/upload", content=DATA, headers=headers).status_code == 200


def test_upload__signed_by_another_account__401_bad_signature(api: httpx.Client) -> None:
    headers = signed_headers(DATA, account("mallory"))
    headers["X-Veritask-Address"] = account("alice").address
    assert_refused(api.post("/upload", content=DATA, headers=headers), "bad_signature")


def test_upload__signature_over_other_content__401_bad_signature(api: httpx.Client) -> None:
    headers = signed_headers(b"what was signed", account("a"))
    assert_refused(api.post("/upload", content=DATA, headers=headers), "bad_signature")


def test_upload__signature_over_other_timestamp__401_bad_signature(api: httpx.Client) -> None:
    headers = {**signed_headers(DATA, account("a")), "X-Veritask-Timestamp": str(NOW + 1)}
    assert_refused(api.post("/upload", content=DATA, headers=headers), "bad_signature")


def test_upload__unrecoverable_signature__401_bad_signature(api: httpx.Client) -> None:
    headers = {**signed_headers(DATA, account("a")), "X-Veritask-Signature": "0x" + "00" * 65}
    assert_refused(api.post("/upload", content=DATA, headers=headers), "bad_signature")


def test_upload__not_on_allow_list__403_forbidden(tmp_path: Path) -> None:
    allowed = account("allowed")
    settings = StorageSettings(root=tmp_path, allowed_uploaders=(allowed.address,))
    with api_of(create_app(settings, clock=lambda: NOW)) as api:
        refused = api.post("/upload", content=DATA, headers=signed_headers(DATA, account("x")))
        assert_refused(refused, "forbidden")
        accepted = api.post("/upload", content=DATA, headers=signed_headers(DATA, allowed))
        assert accepted.status_code == 200


def test_upload__over_size_limit__413_too_large(api: httpx.Client) -> None:
    data = b"x" * 1025
    assert_refused(
        api.post("/upload", content=data, headers=signed_headers(data, account("a"))), "too_large"
    )
    exact = b"x" * 1024
    assert (
        api.post("/upload", content=exact, headers=signed_headers(exact, account("a"))).status_code
        == 200
    )


def test_upload__over_size_limit_without_content_length__413_too_large(api: httpx.Client) -> None:
    data = b"y" * 2000

    def chunks() -> Iterator[bytes]:
        yield data[:1000]
        yield data[1000:]

    headers = signed_headers(data, account("a"))
    response = api.post("/upload", content=chunks(), headers=headers)
    assert_refused(response, "too_large")


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(
    "cid", ["nope", "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR", CID.upper()]
)
def test_download__bad_cid__400_bad_cid(api: httpx.Client, method: str, cid: str) -> None:
    response = api.request(method, f"/ipfs/{cid}")
    assert response.status_code == 400
    if method == "GET":
        assert_refused(response, "bad_cid")


def test_download__unknown_cid__404_not_found(api: httpx.Client) -> None:
    assert_refused(api.get(f"/ipfs/{cid_of(b'never stored')}"), "not_found")
    assert api.head(f"/ipfs/{cid_of(b'never stored')}").status_code == 404


def test_download__corrupted_blob__500_corrupted_never_served(
    api: httpx.Client, store: FilesystemBlobStore
) -> None:
    api.post("/upload", content=DATA, headers=signed_headers(DATA, account("a")))
    store.path_of(CID).write_bytes(b"CORRUPTED " + DATA)
    response = api.get(f"/ipfs/{CID}")
    assert_refused(response, "corrupted")
    assert b"CORRUPTED" not in response.content
    assert api.head(f"/ipfs/{CID}").status_code == 500
    # uploading the content again repairs the blob
    api.post("/upload", content=DATA, headers=signed_headers(DATA, account("a")))
    assert api.get(f"/ipfs/{CID}").content == DATA


def test_head__stored_blob__size_and_etag_without_body(api: httpx.Client) -> None:
    api.post("/upload", content=DATA, headers=signed_headers(DATA, account("a")))
    response = api.head(f"/ipfs/{CID}")
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(DATA))
    assert response.headers["etag"] == f'"{CID}"'
    assert response.content == b""


def test_download__if_none_match__304(api: httpx.Client) -> None:
    api.post("/upload", content=DATA, headers=signed_headers(DATA, account("a")))
    response = api.get(f"/ipfs/{CID}", headers={"If-None-Match": f'"{CID}"'})
    assert response.status_code == 304
    assert response.content == b""


class BrokenStore:
    """A backend that fails: StorageError `unavailable`, or a bug (RuntimeError)."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def put(self, data: bytes) -> str:
        raise self.error

    def get(self, cid: str) -> bytes:
        raise self.error

    def has(self, cid: str) -> bool:
        raise self.error


def test_backend_down__503_unavailable(settings: StorageSettings) -> None:
    store = BrokenStore(StorageError("the IPFS node does not answer", code="unavailable"))
    with api_of(create_app(settings, store=store, clock=lambda: NOW)) as api:
        assert_refused(api.get(f"/ipfs/{CID}"), "unavailable")
        headers = signed_headers(DATA, account("a"))
        assert_refused(api.post("/upload", content=DATA, headers=headers), "unavailable")


def test_backend_bug__500_internal_without_details(settings: StorageSettings) -> None:
    store = BrokenStore(RuntimeError("secret path /root/.key exploded"))
    app = create_app(settings, store=store, clock=lambda: NOW)
    with api_of(app) as api:
        response = api.get(f"/ipfs/{CID}")
    assert_refused(response, "internal")
    assert "secret" not in response.text


def test_unknown_route_and_method__json_refusals(api: httpx.Client) -> None:
    assert_refused(api.get("/nowhere"), "not_found")
    assert_refused(api.delete(f"/ipfs/{CID}"), "method_not_allowed")
    assert_refused(api.get("/upload"), "method_not_allowed")


def test_health__ok(api: httpx.Client) -> None:
    body = api.get("/health").json()
    assert body["status"] == "ok"
    assert body["backend"] == "filesystem"
    assert body["max_upload_bytes"] == 1024
    assert (body["max_uploads_per_window"], body["upload_window_s"]) == (60, 60)
    assert body["max_bytes_per_uploader"] == 1 << 30


def test_metrics__count_uploads_and_downloads_by_outcome(api: httpx.Client) -> None:
    api.post("/upload", content=DATA, headers=signed_headers(DATA, account("a")))
    api.post("/upload", content=DATA)
    api.get(f"/ipfs/{CID}")
    api.get(f"/ipfs/{cid_of(b'missing')}")
    text = api.get("/metrics").text
    assert 'veritask_storage_uploads_total{outcome="ok"} 1.0' in text
    assert 'veritask_storage_uploads_total{outcome="missing_auth"} 1.0' in text
    assert 'veritask_storage_downloads_total{outcome="ok"} 1.0' in text
    assert 'veritask_storage_downloads_total{outcome="not_found"} 1.0' in text
    assert f"veritask_storage_served_bytes_total {float(len(DATA))}" in text
