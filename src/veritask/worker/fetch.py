"""Downloads for a task, each bounded in time and size: content-addressed blobs from
storage (verified against their CID by the client), plain http(s) URLs, the dataset
(verified against its on-chain sha256 checksum) and the input files (PROTOCOL.md A7:
named sha256(url) in /iexec_in). URLs are fetched by `public_http`, which refuses non-public
addresses unless allowed (security H4); `/ipfs/<cid>` comes from the worker's own storage."""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Sequence
from pathlib import Path

from veritask.errors import InvalidInput
from veritask.sdk.storage import StorageClient

from . import public_http
from .public_http import Network, Resolver

__all__ = ["Fetcher", "input_file_name"]


def input_file_name(url: str) -> str:
    """The name of an input file in /iexec_in: the hex sha256 of its URL (as iExec)."""
    return hashlib.sha256(url.encode()).hexdigest()


class Fetcher:
    """`allow`: networks fetched from although not public (a devnet's loopback);
    `resolve` and `verify` are seams for tests (the resolver, the TLS trust)."""

    def __init__(
        self,
        storage: StorageClient,
        *,
        timeout_s: float,
        allow: Sequence[Network] = (),
        resolve: Resolver = public_http.system_resolver,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.storage = storage
        self.timeout_s = timeout_s
        self.allow = tuple(allow)
        self.resolve = resolve
        self.verify = verify

    def fetch(self, multiaddr: str, max_bytes: int, *, what: str = "download") -> bytes:
        """The bytes behind `/ipfs/<cid>` (from storage) or an http(s) URL; `what` names
        it in errors, which never echo a URL (a redirect's could name an internal host)."""
        if multiaddr.startswith("/ipfs/"):
            cid = multiaddr.removeprefix("/ipfs/").strip("/")
            return self.storage.download(cid, max_bytes=max_bytes)
        if multiaddr.startswith(("http://", "https://")):
            return public_http.get(
                multiaddr,
                max_bytes,
                what=what,
                timeout_s=self.timeout_s,
                allow=self.allow,
                resolve=self.resolve,
                verify=self.verify,
            )
        raise InvalidInput(f"{what}: expected /ipfs/<cid> or an http(s) URL")

    def dataset(self, multiaddr: str, checksum: bytes, target: Path, max_bytes: int) -> None:
        """Writes the dataset to `target` after checking its sha256 against `checksum`."""
        data = self.fetch(multiaddr, max_bytes, what="dataset")
        actual = hashlib.sha256(data).digest()
        if actual != checksum:
            raise InvalidInput(
                f"dataset: sha256 0x{actual.hex()} is not the registered checksum "
                f"0x{checksum.hex()}"
            )
        target.write_bytes(data)

    def input_file(self, url: str, position: int, in_dir: Path, max_bytes: int) -> str:
        """Downloads input file `position` (from 1) into `in_dir`; returns its name."""
        name = input_file_name(url)
        data = self.fetch(url, max_bytes, what=f"input file {position}")
        (in_dir / name).write_bytes(data)
        return name

    def inputs(self, urls: list[str], in_dir: Path, max_bytes: int) -> list[str]:
        """Downloads each input file into `in_dir`; returns their names, in order."""
        return [
            self.input_file(url, position, in_dir, max_bytes)
            for position, url in enumerate(urls, start=1)
        ]
