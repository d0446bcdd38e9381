"""Downloads for a task, each bounded in time and size: content-addressed blobs from
storage (verified against their CID by the client), plain http(s) URLs, the dataset
(verified against its on-chain sha256 checksum) and the input files (PROTOCOL.md A7:
named sha256(url) in /iexec_in)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx

from veritask.errors import InvalidInput, StorageError
from veritask.sdk.storage import StorageClient

__all__ = ["Fetcher", "input_file_name"]


def input_file_name(url: str) -> str:
    """The name of an input file in /iexec_in: the hex sha256 of its URL (as iExec)."""
    return hashlib.sha256(url.encode()).hexdigest()


class Fetcher:
    def __init__(self, storage: StorageClient, *, timeout_s: float) -> None:
        self.storage = storage
        self.timeout_s = timeout_s

    def fetch(self, multiaddr: str, max_bytes: int) -> bytes:
        """The bytes behind `/ipfs/<cid>` (from storage) or an http(s) URL."""
        if multiaddr.startswith("/ipfs/"):
            cid = multiaddr.removeprefix("/ipfs/").strip("/")
            return self.storage.download(cid, max_bytes=max_bytes)
        if multiaddr.startswith(("http://", "https://")):
            return self._http(multiaddr, max_bytes)
        raise InvalidInput(f"cannot fetch {multiaddr!r}: expected /ipfs/<cid> or an http(s) URL")

    def _http(self, url: str, max_bytes: int) -> bytes:
        chunks: list[bytes] = []
        size = 0
        try:
            with httpx.stream("GET", url, timeout=self.timeout_s, follow_redirects=True) as reply:
                if reply.status_code != 200:
                    raise StorageError(f"GET {url} answered {reply.status_code}", code="not_found")
                for chunk in reply.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise StorageError(
                            f"{url} is larger than the {max_bytes}-byte limit", code="too_large"
                        )
                    chunks.append(chunk)
        except httpx.HTTPError as exc:
            raise StorageError(f"GET {url} failed: {exc}", code="unavailable") from exc
        return b"".join(chunks)

    def dataset(self, multiaddr: str, checksum: bytes, target: Path, max_bytes: int) -> None:
        """Writes the dataset to `target` after checking its sha256 against `checksum`."""
        data = self.fetch(multiaddr, max_bytes)
        actual = hashlib.sha256(data).digest()
        if actual != checksum:
            raise InvalidInput(
                f"dataset {multiaddr}: sha256 0x{actual.hex()} is not the registered checksum "
                f"0x{checksum.hex()}"
            )
        target.write_bytes(data)

    def inputs(self, urls: list[str], in_dir: Path, max_bytes: int) -> list[str]:
        """Downloads each input file into `in_dir`; returns their names, in order."""
        names = []
        for url in urls:
            name = input_file_name(url)
            (in_dir / name).write_bytes(self.fetch(url, max_bytes))
            names.append(name)
        return names
