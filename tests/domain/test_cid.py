"""Content ids (`veritask.domain.cid`): known IPFS vectors, parity with the `multiformats`
package and with a by-hand multibase/multihash encoding, and strict parsing."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from multiformats import CID, multihash

from veritask.domain.cid import (
    cid_from_digest,
    cid_of,
    cid_of_file,
    is_cid,
    parse_cid,
    upload_message,
)
from veritask.errors import InvalidInput

# What `ipfs add --cid-version 1 --raw-leaves` prints for these contents (one block each).
EMPTY_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
HELLO_CID = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"


def by_hand(data: bytes) -> str:
    """varint(1) ‖ varint(0x55 raw) ‖ varint(0x12 sha2-256) ‖ varint(32) ‖ digest, base32."""
    raw = b"\x01\x55\x12\x20" + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(raw).decode().rstrip("=").lower()


def with_multiformats(data: bytes) -> str:
    return str(CID("base32", 1, "raw", multihash.digest(data, "sha2-256")))


@pytest.mark.parametrize(("data", "expected"), [(b"", EMPTY_CID), (b"hello world\n", HELLO_CID)])
def test_cid_of__known_content__matches_ipfs_by_hand_and_multiformats(
    data: bytes, expected: str
) -> None:
    assert cid_of(data) == expected
    assert by_hand(data) == expected
    assert with_multiformats(data) == expected


@given(st.binary(max_size=2048))
def test_cid_of__any_bytes__matches_multiformats_and_parses_back(data: bytes) -> None:
    cid = cid_of(data)
    assert cid == with_multiformats(data)
    assert parse_cid(cid) == hashlib.sha256(data).digest()
    decoded = CID.decode(cid)
    assert (decoded.version, decoded.codec.name, decoded.hashfun.name) == (1, "raw", "sha2-256")


def test_cid_of_file__large_file__equals_cid_of_its_bytes(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10_000  # 2.5 MB: several read blocks
    path = tmp_path / "blob"
    path.write_bytes(data)
    assert cid_of_file(path) == cid_of(data)
    assert cid_of_file(str(path)) == cid_of(data)


def test_cid_of_file__missing_file__invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="cannot read"):
        cid_of_file(tmp_path / "nope")


def test_cid_from_digest__wrong_length__invalid_input() -> None:
    with pytest.raises(InvalidInput, match="32 bytes"):
        cid_from_digest(b"\x00" * 31)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "not a content id"),
        ("QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR", "not a content id"),  # CIDv0
        (HELLO_CID.upper(), "not a content id"),  # base32 upper: multibase "B"
        ("B" + HELLO_CID[1:].upper(), "not a content id"),
        (HELLO_CID[:-1], "canonical"),
        (HELLO_CID + "a", "canonical"),
        ("b" + HELLO_CID[1:-1] + "A", "canonical"),
        ("b" + "1" * 58, "base32"),
        # dag-pb (0x70) instead of raw: what `ipfs add` gives without --raw-leaves
        (str(CID("base32", 1, "dag-pb", multihash.digest(b"x", "sha2-256"))), "codec raw"),
        (str(CID("base32", 1, "raw", multihash.digest(b"x", "sha2-512"))), "canonical"),
        (str(CID("base58btc", 1, "raw", multihash.digest(b"x", "sha2-256"))), "not a content id"),
        (HELLO_CID[:-1] + "5", "canonical"),  # non-zero padding bits
    ],
)
def test_parse_cid__not_a_raw_sha256_cidv1__invalid_input(text: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        parse_cid(text)
    assert not is_cid(text)


def test_upload_message__exact_text() -> None:
    assert upload_message(HELLO_CID, 1_700_000_000) == (
        f"Veritask storage upload\ncid: {HELLO_CID}\ntimestamp: 1700000000"
    )


def test_upload_message__bad_cid_or_timestamp__invalid_input() -> None:
    with pytest.raises(InvalidInput):
        upload_message("bafy", 1)
    with pytest.raises(InvalidInput, match="negative"):
        upload_message(HELLO_CID, -1)
