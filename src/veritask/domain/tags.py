"""Tags: 256-bit sets of requirements (what an order needs) and features (what a
workerpool offers). Bit 0 is TEE; bits 1-3 name the TEE framework (PROTOCOL.md A7)."""

from __future__ import annotations

__all__ = [
    "TAG_TDX",
    "TAG_TEE",
    "TAG_TEE_GRAMINE",
    "TAG_TEE_SCONE",
    "tag_bytes",
    "tag_int",
    "tag_mismatch",
]

TAG_TEE = 0x1
TAG_TEE_SCONE = 0x3
TAG_TEE_GRAMINE = 0x5
TAG_TDX = 0x9


def tag_int(tag: bytes | int) -> int:
    return tag if isinstance(tag, int) else int.from_bytes(tag, "big")


def tag_bytes(tag: bytes | int) -> bytes:
    return tag_int(tag).to_bytes(32, "big")


def tag_mismatch(
    app_tag: bytes | int,
    dataset_tag: bytes | int,
    request_tag: bytes | int,
    workerpool_tag: bytes | int,
) -> str | None:
    """Why these tags cannot be matched (the hub's revert reason), or None if they can.

    The union of the app, dataset and request tags must be offered by the workerpool, and
    its TEE bit must be the app order's: a TEE run needs a TEE app, and a TEE app always
    runs in an enclave.
    """
    union = tag_int(app_tag) | tag_int(dataset_tag) | tag_int(request_tag)
    if union & ~tag_int(workerpool_tag):
        return "matching: tag not offered by workerpool"
    if union & TAG_TEE != tag_int(app_tag) & TAG_TEE:
        return "matching: TEE tag not declared by app"
    return None
