"""`StorageClient`: the typed HTTP client of the storage service (signed uploads, downloads
checked against their CID). It never trusts a storage: every byte it returns hashed to the
CID asked for. The upload message comes from `veritask.domain.cid`, shared with the service.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

import httpx
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount

from veritask.domain.cid import (
    ADDRESS_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    cid_from_digest,
    cid_of,
    parse_cid,
    upload_message,
)
from veritask.errors import InvalidInput, StorageError
from veritask.files import open_atomically

from .http import read_refusal

__all__ = ["DEFAULT_MAX_DOWNLOAD_BYTES", "DEFAULT_STORAGE_TIMEOUT_S", "StorageClient"]

DEFAULT_STORAGE_TIMEOUT_S = 10.0
DEFAULT_MAX_DOWNLOAD_BYTES = 256 << 20


class StorageClient:
    """A client of one storage service at `base_url` (e.g. http://127.0.0.1:8601);
    `timeout_s` bounds each network wait (connect, each read, each write)."""

    def __init__(
        self,
        base_url: str,
        timeout_s: float = DEFAULT_STORAGE_TIMEOUT_S,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise InvalidInput(f"storage URL {base_url!r} must start with http:// or https://")
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._clock = clock
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout_s, transport=transport)

    def close(self) -> None:
        """Closes the HTTP connections."""
        self._http.close()

    def __enter__(self) -> StorageClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @contextmanager
    def _transport_errors(self) -> Iterator[None]:
        try:
            yield
        except httpx.TimeoutException as exc:
            raise StorageError(
                f"storage at {self.base_url} did not answer within {self.timeout_s:g} s: "
                "is it overloaded? retry, or raise the timeout",
                code="unavailable",
            ) from exc
        except httpx.HTTPError as exc:
            raise StorageError(
                f"storage at {self.base_url} does not answer ({type(exc).__name__}): "
                "is `veritask devnet up` running? check the storage URL",
                code="unavailable",
            ) from exc

    def _refused(self, action: str, response: httpx.Response) -> StorageError:
        refusal = read_refusal(response)
        code = refusal.code
        return StorageError(
            f"storage at {self.base_url} refused {action} (HTTP {refusal.status}"
            f"{', ' + code if code else ''}): {refusal.message}",
            code=code,
        )

    def health(self) -> dict[str, object]:
        """The service's /health answer."""
        with self._transport_errors():
            response = self._http.get("/health")
        if response.status_code != 200:
            raise self._refused("health", response)
        body = response.json()
        if not isinstance(body, dict):
            raise StorageError(f"{self.base_url}/health did not answer a JSON object")
        return body

    def upload(self, data: bytes, signer: LocalAccount) -> str:
        """Stores `data`, signed by `signer` (EIP-191 over `upload_message`); its CID."""
        cid = cid_of(data)
        timestamp = int(self._clock())
        signed = signer.sign_message(encode_defunct(text=upload_message(cid, timestamp)))
        headers = {
            ADDRESS_HEADER: signer.address,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: "0x" + bytes(signed.signature).hex(),
            "Content-Type": "application/octet-stream",
        }
        with self._transport_errors():
            response = self._http.post("/upload", content=data, headers=headers)
        if response.status_code != 200:
            raise self._refused(f"the upload of {cid}", response)
        try:
            stored = response.json().get("cid")
        except (ValueError, AttributeError):
            stored = None
        if stored != cid:
            raise StorageError(
                f"storage at {self.base_url} answered CID {stored!r} for content {cid}: "
                "it is not a Veritask storage, or it is broken",
                code="corrupted",
            )
        return cid

    def upload_file(self, path: Path | str, signer: LocalAccount) -> str:
        """Stores a file's bytes; its CID."""
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise InvalidInput(f"cannot read {path}: {exc.strerror or exc}") from exc
        return self.upload(data, signer)

    def _stream(
        self,
        cid: str,
        max_bytes: int,
        sink: Callable[[bytes], object],
        total_timeout_s: float | None = None,
    ) -> int:
        """Streams `/ipfs/<cid>` into `sink`; the size, once the bytes hashed to `cid`."""
        parse_cid(cid)
        too_large = StorageError(
            f"content {cid} is over max_bytes={max_bytes}: raise max_bytes if you expect it",
            code="too_large",
        )
        # `timeout_s` bounds each wait; this bounds the whole download (a slow trickle).
        deadline = None if total_timeout_s is None else time.monotonic() + total_timeout_s
        digest = hashlib.sha256()
        size = 0
        with self._transport_errors(), self._http.stream("GET", f"/ipfs/{cid}") as response:
            if response.status_code != 200:
                response.read()
                raise self._refused(f"the download of {cid}", response)
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise too_large
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise too_large
                if deadline is not None and time.monotonic() > deadline:
                    raise StorageError(
                        f"storage at {self.base_url} did not send {cid} within "
                        f"{total_timeout_s:g} s: is it overloaded? retry, or raise the timeout",
                        code="unavailable",
                    )
                digest.update(chunk)
                sink(chunk)
        received = cid_from_digest(digest.digest())
        if received != cid:
            raise StorageError(
                f"storage at {self.base_url} served bytes whose CID is {received}, not {cid}: "
                "they were discarded; do not trust this storage, try another one",
                code="corrupted",
            )
        return size

    def download(
        self,
        cid: str,
        max_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES,
        *,
        total_timeout_s: float | None = None,
    ) -> bytes:
        """The content `cid`, at most `max_bytes`, checked against its CID; with
        `total_timeout_s`, StorageError (`unavailable`) when it takes longer."""
        chunks: list[bytes] = []
        self._stream(cid, max_bytes, chunks.append, total_timeout_s)
        return b"".join(chunks)

    def download_to(
        self, cid: str, path: Path | str, max_bytes: int = DEFAULT_MAX_DOWNLOAD_BYTES
    ) -> int:
        """Writes the content `cid` to `path` (atomically, only once verified); its size."""
        target = Path(path)
        try:
            with open_atomically(target) as handle:
                size = self._stream(cid, max_bytes, handle.write)
        except OSError as exc:
            raise InvalidInput(f"cannot write {target}: {exc.strerror or exc}") from exc
        return size
