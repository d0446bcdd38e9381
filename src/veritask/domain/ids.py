"""Deal and task ids, as PoCo derives them (PROTOCOL.md A4), and the one way ids, hashes
and addresses change form: bytes inside the code, `0x` hex at the edges (wire, databases,
files, screens); addresses checksummed (docs/architecture.md "Ids and addresses")."""

from __future__ import annotations

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

__all__ = ["deal_id", "from_hex", "same_address", "task_id", "task_ids", "to_hex"]


def to_hex(value: bytes) -> str:
    """`value` as `0x` and lower-case hex digits: how an id leaves the code."""
    return "0x" + value.hex()


def from_hex(text: str) -> bytes:
    """The bytes of `0x`-prefixed hex written by `to_hex` (a database row, a wire model
    already validated); `ValueError` for anything else. Input from a person or a peer is
    checked with a message first (`veritask.sdk.deals.parse_deal_id`, the wire models)."""
    if text[:2] not in ("0x", "0X"):
        raise ValueError(f"not 0x hex: {text[:20]!r}")
    return bytes.fromhex(text[2:])


def same_address(a: str, b: str) -> bool:
    """Whether two addresses are the same, whatever their case."""
    return to_checksum_address(a) == to_checksum_address(b)


def deal_id(request_hash: bytes, request_consumed_before: int) -> bytes:
    """keccak256(requestDigest ‖ uint256 volume of the request used before the match)."""
    return keccak(request_hash + request_consumed_before.to_bytes(32, "big"))


def task_id(deal: bytes, index: int) -> bytes:
    """keccak256(dealId ‖ uint256 index); indices run from the deal's bot_first."""
    return keccak(deal + index.to_bytes(32, "big"))


def task_ids(deal: bytes, bot_first: int, bot_size: int) -> list[bytes]:
    """Every task id of a deal's bag of tasks, in index order."""
    return [task_id(deal, index) for index in range(bot_first, bot_first + bot_size)]
