"""Deal and task ids, as PoCo derives them (PROTOCOL.md A4)."""

from __future__ import annotations

from eth_utils.crypto import keccak

__all__ = ["deal_id", "task_id", "task_ids"]


def deal_id(request_hash: bytes, request_consumed_before: int) -> bytes:
    """keccak256(requestDigest ‖ uint256 volume of the request used before the match)."""
    return keccak(request_hash + request_consumed_before.to_bytes(32, "big"))


def task_id(deal: bytes, index: int) -> bytes:
    """keccak256(dealId ‖ uint256 index); indices run from the deal's bot_first."""
    return keccak(deal + index.to_bytes(32, "big"))


def task_ids(deal: bytes, bot_first: int, bot_size: int) -> list[bytes]:
    """Every task id of a deal's bag of tasks, in index order."""
    return [task_id(deal, index) for index in range(bot_first, bot_first + bot_size)]
