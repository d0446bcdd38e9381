"""`KuboBlobStore`: blobs kept by an IPFS node through kubo's HTTP RPC (`/api/v0/add`,
`/api/v0/cat`), for production. It must not fetch from the network: reads are offline,
so an unknown CID answers at once instead of waiting on the DHT.

Content is added as ONE raw block (`raw-leaves`, a 1 MiB chunk), so kubo's CID is the
storage CID (`cid_of`); larger content would become a dag-pb file with another CID and
is refused with `too_large`.
"""

from __future__ import annotations

import json

import httpx

from veritask.domain.cid import cid_of, parse_cid
from veritask.errors import StorageError

__all__ = ["KUBO_MAX_BLOB_BYTES", "KuboBlobStore"]

# kubo's largest fixed-size chunk; one chunk with raw leaves is one raw block.
KUBO_MAX_BLOB_BYTES = 1 << 20


class KuboBlobStore:
    """A `BlobStore` over kubo's RPC at `rpc_url` (e.g. http://127.0.0.1:5001)."""

    def __init__(
        self,
        rpc_url: str,
        *,
        timeout_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.rpc_url = rpc_url.rstrip("/")
        self._client = httpx.Client(base_url=self.rpc_url, timeout=timeout_s, transport=transport)

    def close(self) -> None:
        """Closes the HTTP connections."""
        self._client.close()

    def _post(
        self,
        command: str,
        params: dict[str, str],
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> httpx.Response:
        try:
            return self._client.post(f"/api/v0/{command}", params=params, files=files)
        except httpx.HTTPError as exc:
            raise StorageError(
                f"the IPFS node at {self.rpc_url} does not answer ({type(exc).__name__}): "
                "start kubo (`ipfs daemon`) or check VERITASK_STORAGE_KUBO_RPC_URL",
                code="unavailable",
            ) from exc

    def put(self, data: bytes) -> str:
        cid = cid_of(data)
        if len(data) > KUBO_MAX_BLOB_BYTES:
            raise StorageError(
                f"{len(data)} bytes is over the {KUBO_MAX_BLOB_BYTES} bytes the IPFS backend "
                "stores as one raw block: split the content or use the filesystem backend",
                code="too_large",
            )
        response = self._post(
            "add",
            params={
                "cid-version": "1",
                "raw-leaves": "true",
                "chunker": f"size-{KUBO_MAX_BLOB_BYTES}",
                "pin": "true",
                "quieter": "true",
            },
            files={"file": ("blob", data, "application/octet-stream")},
        )
        if response.status_code != 200:
            raise self._refused("add", response)
        added = _last_hash(response.text)
        if added != cid:
            raise StorageError(
                f"the IPFS node at {self.rpc_url} stored the content as {added!r}, not as the "
                f"raw block {cid}: check that it is kubo and supports raw leaves",
                code="unavailable",
            )
        return cid

    def get(self, cid: str) -> bytes:
        parse_cid(cid)
        response = self._post("cat", params={"arg": cid, "offline": "true"})
        if response.status_code == 200:
            return response.content
        if _is_not_found(response):
            raise StorageError(f"no blob {cid} on the IPFS node", code="not_found")
        raise self._refused("cat", response)

    def has(self, cid: str) -> bool:
        parse_cid(cid)
        response = self._post("cat", params={"arg": cid, "offline": "true", "length": "1"})
        if response.status_code == 200:
            return True
        if _is_not_found(response):
            return False
        raise self._refused("cat", response)

    def _refused(self, command: str, response: httpx.Response) -> StorageError:
        return StorageError(
            f"the IPFS node at {self.rpc_url} refused {command} (HTTP {response.status_code}): "
            f"{_kubo_message(response)[:200]}",
            code="unavailable",
        )


def _kubo_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text
    return str(body.get("Message", body)) if isinstance(body, dict) else str(body)


def _is_not_found(response: httpx.Response) -> bool:
    return response.status_code in (404, 500) and "not found" in _kubo_message(response).lower()


def _last_hash(text: str) -> str:
    """The `Hash` of the last JSON line of an `add` answer (one object per added entry)."""
    for line in reversed(text.strip().splitlines()):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and isinstance(entry.get("Hash"), str):
            return str(entry["Hash"])
    raise StorageError(
        f"the IPFS node answered add without a Hash: {text[:200]!r}", code="unavailable"
    )
