"""Security: "storage takes uploads from anyone by default" (docs/security.md). Exploit tests
first: one signer floods uploads or stores past its quota, a flood of throwaway keys fills
the storage, and each is refused on the real HTTP path, by default; the ledger of stored
bytes survives a restart and a crash, and an identical blob is counted once."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from eth_account.signers.local import LocalAccount

from tests.storage.conftest import NOW, TIMEOUT_S, account, api_of, signed_headers
from veritask.domain.cid import cid_of
from veritask.errors import StorageError
from veritask.sdk.storage import StorageClient
from veritask.serving import REFUSAL_STATUS
from veritask.storage import (
    FilesystemBlobStore,
    StorageSettings,
    UploadLedger,
    create_app,
    serve_in_thread,
)

MALLORY = account("mallory")
ALICE = account("alice")
WORKER = account("worker of the workerpool")


class Clock:
    """A clock the test moves by hand (unix seconds), so that no test waits."""

    def __init__(self, now_s: float = NOW) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


def blob(n: int, size: int = 100) -> bytes:
    """A distinct blob of `size` bytes."""
    return f"blob {n} ".encode().ljust(size, b".")


def upload(api: httpx.Client, data: bytes, signer: LocalAccount) -> httpx.Response:
    return api.post("/upload", content=data, headers=signed_headers(data, signer))


def assert_refused(response: httpx.Response, code: str, root: Path) -> str:
    assert response.status_code == REFUSAL_STATUS[code], response.text
    body = response.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == code
    assert str(root) not in body["message"]  # no host path
    assert "127.0.0.1" not in body["message"]  # no internal address
    return str(body["message"])


def blob_names(root: Path) -> list[str]:
    return sorted(path.name for path in root.glob("*/*") if path.name.startswith("bafkrei"))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@contextmanager
def limited(root: Path, clock: Clock, **limits: object) -> Iterator[httpx.Client]:
    """The app on `root` with `limits` over HTTP on loopback, on `clock`."""
    settings = StorageSettings(root=root, **limits)  # type: ignore[arg-type]
    with api_of(create_app(settings, clock=clock)) as api:
        yield api


def test_defaults__one_signer_floods_uploads__refused_429_after_its_burst(
    tmp_path: Path, clock: Clock
) -> None:
    defaults = StorageSettings(root=tmp_path)
    burst = defaults.max_uploads_per_window
    with api_of(create_app(defaults, clock=clock)) as api:
        for n in range(burst):
            assert upload(api, blob(n), MALLORY).status_code == 200
        message = assert_refused(upload(api, blob(burst), MALLORY), "too_many_uploads", tmp_path)
        assert f"{burst} uploads" in message
        assert "VERITASK_STORAGE_MAX_UPLOADS_PER_WINDOW" in message
        assert cid_of(blob(burst)) not in blob_names(tmp_path)
        # the flood starves nobody else
        assert upload(api, blob(0, size=7), ALICE).status_code == 200


def test_rate__refills_with_the_clock__one_upload_per_window_share(
    tmp_path: Path, clock: Clock
) -> None:
    with limited(tmp_path, clock, max_uploads_per_window=3, upload_window_s=30) as api:
        for n in range(3):
            assert upload(api, blob(n), MALLORY).status_code == 200
        message = assert_refused(upload(api, blob(3), MALLORY), "too_many_uploads", tmp_path)
        assert "try again in 10 s" in message
        clock.now_s += 9
        assert_refused(upload(api, blob(3), MALLORY), "too_many_uploads", tmp_path)
        clock.now_s += 1
        assert upload(api, blob(3), MALLORY).status_code == 200
        assert_refused(upload(api, blob(4), MALLORY), "too_many_uploads", tmp_path)


def test_rate__forged_claims_of_an_address__do_not_use_its_uploads(
    tmp_path: Path, clock: Clock
) -> None:
    with limited(tmp_path, clock, max_uploads_per_window=2) as api:
        for n in range(5):
            forged = signed_headers(blob(n), MALLORY)
            forged["X-Veritask-Address"] = ALICE.address
            response = api.post("/upload", content=blob(n), headers=forged)
            assert response.json()["error"] == "bad_signature"
        assert upload(api, blob(10), ALICE).status_code == 200
        assert upload(api, blob(11), ALICE).status_code == 200


def test_one_signer__stores_past_its_quota__refused_413_quota_exceeded(
    tmp_path: Path, clock: Clock
) -> None:
    with limited(tmp_path, clock, max_bytes_per_uploader=250) as api:
        assert upload(api, blob(1), MALLORY).status_code == 200
        assert upload(api, blob(2), MALLORY).status_code == 200
        message = assert_refused(upload(api, blob(3), MALLORY), "quota_exceeded", tmp_path)
        assert "200 of its 250 bytes" in message
        assert "VERITASK_STORAGE_MAX_BYTES_PER_UPLOADER" in message
        assert cid_of(blob(3)) not in blob_names(tmp_path)
        assert upload(api, blob(3), ALICE).status_code == 200  # a quota of its own


def test_same_blob_again__counted_once__whoever_uploads_it(tmp_path: Path, clock: Clock) -> None:
    with limited(tmp_path, clock, max_bytes_per_uploader=200) as api:
        for signer in (MALLORY, MALLORY, ALICE, MALLORY):
            assert upload(api, blob(1), signer).status_code == 200
        assert upload(api, blob(2), MALLORY).status_code == 200
        assert_refused(upload(api, blob(3), MALLORY), "quota_exceeded", tmp_path)
        # ALICE's upload of blob 1 stored nothing new: her quota is whole
        assert upload(api, blob(4), ALICE).status_code == 200
        assert upload(api, blob(5), ALICE).status_code == 200


def test_throwaway_keys__fill_the_shared_cap__refused_507_storage_full(
    tmp_path: Path, clock: Clock
) -> None:
    with limited(tmp_path, clock, max_stored_bytes=250, exempt_uploaders=(WORKER.address,)) as api:
        assert upload(api, blob(1), account("throwaway 1")).status_code == 200
        assert upload(api, blob(2), account("throwaway 2")).status_code == 200
        message = assert_refused(
            upload(api, blob(3), account("throwaway 3")), "storage_full", tmp_path
        )
        assert "VERITASK_STORAGE_MAX_STORED_BYTES" in message
        # the workerpool's worker is exempt: its results still go in
        assert upload(api, blob(4, size=1000), WORKER).status_code == 200


def test_exempt_uploader__no_rate_nor_quota__but_the_disk_floor(
    tmp_path: Path, clock: Clock
) -> None:
    exempt = {"exempt_uploaders": (WORKER.address,), "max_uploads_per_window": 1}
    with limited(tmp_path, clock, max_bytes_per_uploader=100, **exempt) as api:
        for n in range(5):
            assert upload(api, blob(n), WORKER).status_code == 200
    with limited(tmp_path / "full", clock, min_free_disk_bytes=1 << 62, **exempt) as api:
        message = assert_refused(upload(api, blob(9), WORKER), "storage_full", tmp_path)
        assert "VERITASK_STORAGE_MIN_FREE_DISK_BYTES" in message
        assert blob_names(tmp_path / "full") == []


def test_quota__survives_a_restart(tmp_path: Path) -> None:
    settings = StorageSettings(root=tmp_path, max_bytes_per_uploader=200)
    with (
        serve_in_thread(settings, start_timeout_s=TIMEOUT_S) as server,
        StorageClient(server.url, TIMEOUT_S) as client,
    ):
        client.upload(blob(1), MALLORY)
        client.upload(blob(2), MALLORY)
    with (  # the same root, served again
        serve_in_thread(settings, start_timeout_s=TIMEOUT_S) as server,
        StorageClient(server.url, TIMEOUT_S) as client,
    ):
        assert client.upload(blob(1), MALLORY) == cid_of(blob(1))  # stored already: free
        with pytest.raises(StorageError, match="quota") as caught:
            client.upload(blob(3), MALLORY)
        assert caught.value.code == "quota_exceeded"


def test_concurrent_uploads__cannot_race_past_the_quota(tmp_path: Path, clock: Clock) -> None:
    with (
        limited(tmp_path, clock, max_bytes_per_uploader=400) as api,
        ThreadPoolExecutor(max_workers=8) as pool,
    ):
        codes = list(pool.map(lambda n: upload(api, blob(n), MALLORY).status_code, range(8)))
    assert sorted(codes) == [200] * 4 + [413] * 4
    assert len(blob_names(tmp_path)) == 4


def test_crash__after_the_reservation__the_ledger_heals_at_start(
    tmp_path: Path, clock: Clock
) -> None:
    """A crash between reserving an upload's bytes and acknowledging it: the bytes of a
    blob never written are given back, those of a blob written are kept."""
    store = FilesystemBlobStore(tmp_path)
    ledger = UploadLedger(tmp_path / "ledger.db")
    assert ledger.reserve(cid_of(blob(1)), MALLORY.address.lower(), 100) is True
    assert ledger.reserve(cid_of(blob(2)), MALLORY.address.lower(), 100) is True
    store.put(blob(2))  # written, never confirmed: the process died here
    ledger.close()
    with limited(tmp_path, clock, max_bytes_per_uploader=250) as api:
        assert upload(api, blob(3), MALLORY).status_code == 200
        assert_refused(upload(api, blob(4), MALLORY), "quota_exceeded", tmp_path)
        assert upload(api, blob(2), MALLORY).status_code == 200  # already counted


class FailingStore(FilesystemBlobStore):
    """A disk that refuses writes (a full or broken disk): put raises `unavailable`."""

    def put(self, data: bytes) -> str:
        raise StorageError("cannot write blob: no space left on device", code="unavailable")


def test_failed_write__gives_the_reservation_back(tmp_path: Path, clock: Clock) -> None:
    settings = StorageSettings(root=tmp_path, max_bytes_per_uploader=100)
    with api_of(create_app(settings, store=FailingStore(tmp_path), clock=clock)) as api:
        assert upload(api, blob(1), MALLORY).json()["error"] == "unavailable"
    with api_of(create_app(settings, clock=clock)) as api:
        assert upload(api, blob(2), MALLORY).status_code == 200


def test_metrics__stored_bytes_of_the_ledger(tmp_path: Path, clock: Clock) -> None:
    with limited(tmp_path, clock) as api:
        upload(api, blob(1), MALLORY)
        upload(api, blob(1), ALICE)
        assert "veritask_storage_stored_bytes 100.0" in api.get("/metrics").text


def test_defaults__every_limit_on() -> None:
    defaults = StorageSettings()
    assert defaults.max_uploads_per_window == 60
    assert defaults.upload_window_s == 60
    assert defaults.max_bytes_per_uploader == 1 << 30
    assert defaults.max_stored_bytes == 32 << 30
    assert defaults.min_free_disk_bytes == 1 << 30
    assert defaults.exempt_uploaders == ()
