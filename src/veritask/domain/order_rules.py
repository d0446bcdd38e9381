"""Whether an order can be matched, as the hub would judge it, in one rule set that the
market (to keep an order out of its book) and the SDK (to pick or refuse an order before a
`run`) both use, with the same codes and words. The facts come from the chain at one block
(`veritask.chain.order_facts`); this module only judges them.

A signature is the owner's by ECDSA (65 or EIP-2098 64 bytes, v 27/28, canonical s), by a
presignature on the hub, or by an ERC-1271 contract wallet's approval: the hub's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from eth_keys.datatypes import Signature
from eth_keys.exceptions import BadSignature
from eth_utils.address import to_checksum_address

from .amounts import format_rlc
from .orders import Order, RequestOrder, WorkerpoolOrder
from .tasks import SCHEDULER_STAKE_RATIO

__all__ = [
    "OrderFacts",
    "OrderProblem",
    "SignatureState",
    "order_problems",
    "recover_signer",
    "scheduler_stake",
    "signature_state",
    "task_price_cap",
]

# How an order's signature is its owner's; "unsigned" and "mismatch" are not.
SignatureState = Literal["valid", "presigned", "erc1271", "unsigned", "mismatch"]
# The upper bound of `s` in a canonical ECDSA signature (secp256k1 order / 2), as the hub.
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_S_MAX = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


def recover_signer(digest: bytes, signature: bytes) -> str | None:
    """The address whose key made an ECDSA signature (65 bytes, or 64 bytes EIP-2098) of
    `digest`, with the hub's rules (v is 27 or 28, canonical s); None otherwise."""
    if len(signature) == 65:
        r = int.from_bytes(signature[:32], "big")
        s = int.from_bytes(signature[32:64], "big")
        v = signature[64]
    elif len(signature) == 64:
        r = int.from_bytes(signature[:32], "big")
        vs = int.from_bytes(signature[32:], "big")
        s, v = vs & ((1 << 255) - 1), 27 + (vs >> 255)
    else:
        return None
    if v not in (27, 28) or s > _S_MAX or not 0 < r < _SECP256K1_N or s == 0:
        return None
    try:
        public_key = Signature(vrs=(v - 27, r, s)).recover_public_key_from_msg_hash(digest)
    except (BadSignature, ValueError):
        return None
    return to_checksum_address(public_key.to_canonical_address())


def signature_state(
    owner: str | None,
    signature: bytes,
    recovered: str | None,
    presigner: str,
    erc1271_approved: bool,
) -> SignatureState:
    """The hub's `_is_signed_by` in order: ECDSA, then a presignature, then ERC-1271."""
    if owner is not None and int(owner, 16) != 0:
        if recovered == owner:
            return "valid"
        if presigner == owner:
            return "presigned"
        if erc1271_approved:
            return "erc1271"
    return "unsigned" if not signature else "mismatch"


def scheduler_stake(workerpool_price: int) -> int:
    """What the workerpool owner locks per task (the hub's rounding)."""
    return workerpool_price * SCHEDULER_STAKE_RATIO // 100


def task_price_cap(order: RequestOrder) -> int:
    """The most one task of a request may cost its requester."""
    return order.appmaxprice + order.datasetmaxprice + order.workerpoolmaxprice


@dataclass(frozen=True)
class OrderFacts:
    """What the chain says of an order at one block. `owner` is who must sign it (the
    asset's owner, or the requester of a request); `unregistered` names an asset the order
    needs that is not registered (kind, address), checked first. `free_balance` is the
    signer's free hub balance, read for request and workerpool orders only."""

    kind: str
    owner: str | None
    unregistered: tuple[str, str] | None
    signature: SignatureState
    recovered: str | None
    consumed: int
    free_balance: int | None


@dataclass(frozen=True)
class OrderProblem:
    """Why an order cannot be matched: a machine code (the market's refusal codes) and a
    sentence that says what to do."""

    code: str
    message: str


def order_problems(order: Order, facts: OrderFacts) -> list[OrderProblem]:
    """Every reason the hub would refuse `order` now, most basic first; [] when usable."""
    if facts.unregistered is not None:
        kind, address = facts.unregistered
        remedy = "check" if facts.kind == "request" else "register it first, or check"
        return [
            OrderProblem(
                "unknown_asset",
                f"its {kind} is not registered: no {kind} at {address} on this hub; {remedy} "
                "the address and the chain",
            )
        ]
    owner = facts.owner or ""
    problems: list[OrderProblem] = []
    whose = "its requester" if facts.kind == "request" else f"the owner of {facts.kind}"
    if facts.signature == "unsigned":
        problems.append(
            OrderProblem(
                "bad_order_signature", "it is not signed: sign it with `veritask order sign`"
            )
        )
    elif facts.signature == "mismatch":
        if facts.recovered is not None:
            problems.append(
                OrderProblem(
                    "not_owner",
                    f"the order is signed by {facts.recovered}, but {whose} is {owner}: have "
                    "the owner sign it (`veritask order sign`)",
                )
            )
        else:
            problems.append(
                OrderProblem(
                    "bad_order_signature",
                    f"its signature does not match the order: it is not {whose} {owner}'s "
                    "(not ECDSA of this order, not presigned, no ERC-1271 approval); sign the "
                    "order as it is with `veritask order sign`",
                )
            )
    if facts.consumed >= order.volume:
        problems.append(
            OrderProblem(
                "order_consumed",
                f"no volume left: {facts.consumed} of {order.volume} used by deals or "
                "cancelled on chain; sign a new order (another salt)",
            )
        )
    free = facts.free_balance or 0
    if isinstance(order, RequestOrder) and free < (needed := task_price_cap(order)):
        problems.append(
            OrderProblem(
                "insufficient_balance",
                f"the requester {owner} has {format_rlc(free)} RLC free in the hub and one task "
                f"may cost {format_rlc(needed)} RLC: deposit at least "
                f"{format_rlc(needed - free)} RLC more",
            )
        )
    if isinstance(order, WorkerpoolOrder) and free < (
        stake := scheduler_stake(order.workerpoolprice)
    ):
        problems.append(
            OrderProblem(
                "insufficient_stake",
                f"the workerpool owner {owner} has {format_rlc(free)} RLC free in the hub and "
                f"must lock {format_rlc(stake)} RLC per task ({SCHEDULER_STAKE_RATIO} % of the "
                f"price): deposit at least {format_rlc(stake - free)} RLC more",
            )
        )
    return problems
