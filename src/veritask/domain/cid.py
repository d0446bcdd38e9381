"""Content ids as IPFS computes them for one raw block (CIDv1, codec raw, sha2-256, base32),
and the message an uploader signs for the storage service. Pure: no network, no storage.

`cid_of(data)` equals what `ipfs add --cid-version 1 --raw-leaves` prints for a file that
fits one block (kubo's default chunk is 256 KiB; see docs/storage.md for larger content).
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from veritask.errors import InvalidInput

from .digest import file_digest

__all__ = [
    "ADDRESS_HEADER",
    "CID_PREFIX",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "UPLOAD_MESSAGE_HEADER",
    "cid_from_digest",
    "cid_of",
    "cid_of_file",
    "is_cid",
    "parse_cid",
    "upload_message",
]

# version 1 ‖ codec raw (0x55) ‖ multihash sha2-256 (0x12) ‖ digest length 32, all varints < 128
CID_PREFIX = bytes([0x01, 0x55, 0x12, 0x20])
_MULTIBASE_BASE32 = "b"
_CID_TEXT_LENGTH = 59  # "b" + base32 of 36 bytes without padding
UPLOAD_MESSAGE_HEADER = "Veritask storage upload"
# The HTTP headers of a signed request (a storage upload, a scheduler's task logs): the
# signer's 0x address, the unix seconds it signed at, and its 65-byte EIP-191 signature
# (of `upload_message` for an upload) in 0x hex.
ADDRESS_HEADER = "X-Veritask-Address"
TIMESTAMP_HEADER = "X-Veritask-Timestamp"
SIGNATURE_HEADER = "X-Veritask-Signature"


def cid_from_digest(digest: bytes) -> str:
    """The CIDv1 (raw, sha2-256, base32 lower) of content whose sha256 is `digest`."""
    if len(digest) != 32:
        raise InvalidInput(f"a sha256 digest has 32 bytes, got {len(digest)}")
    text = base64.b32encode(CID_PREFIX + digest).decode("ascii").rstrip("=").lower()
    return _MULTIBASE_BASE32 + text


def cid_of(data: bytes) -> str:
    """The content id of `data` as one raw IPFS block: `bafkrei...`."""
    return cid_from_digest(hashlib.sha256(data).digest())


def cid_of_file(path: Path | str) -> str:
    """The content id of a file's bytes, read in 1 MiB blocks (any size)."""
    return cid_from_digest(file_digest(path))


def parse_cid(text: str) -> bytes:
    """The sha256 digest inside a CIDv1 raw sha2-256 base32 string; InvalidInput otherwise.

    Only the canonical spelling is accepted (lower case, no padding), so one content has
    exactly one id and ids can be compared as strings.
    """
    hint = "expected a CIDv1 of a raw sha2-256 block in base32, like bafkrei... (59 chars)"
    if not isinstance(text, str) or not text.startswith(_MULTIBASE_BASE32):
        raise InvalidInput(f"{text!r} is not a content id: {hint}")
    if len(text) != _CID_TEXT_LENGTH or text != text.lower():
        raise InvalidInput(f"{text!r} is not a canonical content id: {hint}")
    body = text[1:].upper()
    try:
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
    except ValueError as exc:
        raise InvalidInput(f"{text!r} is not valid base32: {hint}") from exc
    if raw[: len(CID_PREFIX)] != CID_PREFIX:
        raise InvalidInput(f"{text!r} is not a CIDv1 with codec raw and sha2-256: {hint}")
    digest = raw[len(CID_PREFIX) :]
    if cid_from_digest(digest) != text:  # rejects non-zero padding bits
        raise InvalidInput(f"{text!r} is not a canonical content id: {hint}")
    return digest


def is_cid(text: str) -> bool:
    """Whether `text` is a content id `parse_cid` accepts."""
    try:
        parse_cid(text)
    except InvalidInput:
        return False
    return True


def upload_message(cid: str, timestamp: int) -> str:
    """The text an uploader signs (EIP-191 personal message) to store content `cid`.

    Three lines joined by "\\n", no trailing newline:
    `Veritask storage upload` / `cid: <cid>` / `timestamp: <unix seconds, decimal>`.
    Replaying it within the service's clock window can only store the same content again.
    """
    parse_cid(cid)
    if timestamp < 0:
        raise InvalidInput(f"timestamp {timestamp} is negative: use unix seconds")
    return f"{UPLOAD_MESSAGE_HEADER}\ncid: {cid}\ntimestamp: {timestamp}"
