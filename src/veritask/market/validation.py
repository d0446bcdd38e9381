"""Checks an order against the chain before it enters the book, as the hub would at match
time (PROTOCOL.md A3): its asset is registered, it is signed by the asset's current owner
(ECDSA, presignature or ERC-1271, like the hub's `_is_signed_by`), volume is left, and the
signer can pay one task (request) or stake for one task (workerpool). Reads nothing but
the `ChainView`, all at one block; raises `Rejection` with the first reason found."""

from __future__ import annotations

from dataclasses import dataclass

from eth_keys.datatypes import Signature
from eth_keys.exceptions import BadSignature
from eth_utils.address import to_checksum_address

from veritask.domain.orders import (
    Order,
    RequestOrder,
    WorkerpoolOrder,
    order_digest,
)
from veritask.errors import ChainError
from veritask.errors import Refusal as Rejection  # renamed: rename the uses once merged
from veritask.sdk.orders import order_kind

from .chain_view import ChainView

__all__ = [
    "MAX_VALUE",
    "SCHEDULER_STAKE_RATIO",
    "CheckedOrder",
    "check_order",
    "is_signed_by",
    "recover_signer",
    "scheduler_stake",
    "task_price_cap",
]

# The hub's constant: a workerpool owner locks 30 % of its price per task at match time.
SCHEDULER_STAKE_RATIO = 30
# Largest price, volume, category or trust the book stores (64-bit signed columns); far
# above any payable amount (the RLC supply is below 2**57 nRLC).
MAX_VALUE = 2**63 - 1
# The upper bound of `s` in a canonical ECDSA signature (secp256k1 order / 2), as the hub.
_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_S_MAX = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0


@dataclass(frozen=True)
class CheckedOrder:
    """An order the chain accepts, and the facts read at `block`."""

    order: Order
    kind: str
    order_hash: bytes
    signer: str
    consumed: int
    block: int

    @property
    def remaining(self) -> int:
        return max(self.order.volume - self.consumed, 0)


def scheduler_stake(workerpool_price: int) -> int:
    """What the workerpool owner locks per task (the hub's rounding)."""
    return workerpool_price * SCHEDULER_STAKE_RATIO // 100


def task_price_cap(order: RequestOrder) -> int:
    """The most one task of a request may cost its requester."""
    return order.appmaxprice + order.datasetmaxprice + order.workerpoolmaxprice


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


def is_signed_by(
    chain: ChainView, signer: str, digest: bytes, signature: bytes, block: int
) -> bool:
    """The hub's `_is_signed_by`: ECDSA, then a presignature, then ERC-1271."""
    if int(signer, 16) == 0:
        return False
    if recover_signer(digest, signature) == signer:
        return True
    if chain.presigned(digest, block) == signer:
        return True
    return chain.is_contract(signer, block) and chain.erc1271_valid(
        signer, digest, signature, block
    )


def _check_bounds(order: Order) -> None:
    values = {"volume": order.volume}
    for name in ("appprice", "datasetprice", "workerpoolprice", "category", "trust"):
        if hasattr(order, name):
            values[name] = int(getattr(order, name))
    if isinstance(order, RequestOrder):
        values["appmaxprice + datasetmaxprice + workerpoolmaxprice"] = task_price_cap(order)
    for name, value in values.items():
        if value > MAX_VALUE:
            raise Rejection(
                "malformed_order",
                f"{name} is {value}, above the market's limit of 2**63 - 1: no such order can "
                "be paid for; use a smaller value",
            )
    if order.volume < 1:
        raise Rejection("malformed_order", "volume is 0: an order must cover at least one task")


def _owner(chain: ChainView, order: Order, kind: str, block: int) -> str:
    if isinstance(order, RequestOrder):
        for asset_kind, address in (("app", order.app), ("dataset", order.dataset)):
            if asset_kind == "dataset" and int(address, 16) == 0:
                continue
            if chain.asset_owner(asset_kind, address, block) is None:
                raise Rejection(
                    "unknown_asset",
                    f"no {asset_kind} is registered at {address} on this hub: check the address "
                    "and the chain",
                )
        return to_checksum_address(order.requester)
    asset = str(getattr(order, kind))
    owner = chain.asset_owner(kind, asset, block)
    if owner is None:
        raise Rejection(
            "unknown_asset",
            f"no {kind} is registered at {asset} on this hub: register it first, or check "
            "the address and the chain",
        )
    return owner


def check_order(order: Order, chain: ChainView, block: int | None = None) -> CheckedOrder:
    """The order with its signer and consumed volume at `block` (default: the head), or
    the `Rejection` that keeps it out of the book."""
    _check_bounds(order)
    kind = order_kind(order)
    try:
        at = chain.head() if block is None else block
        return _check_on_chain(order, kind, chain, at)
    except ChainError as exc:
        raise Rejection(
            "chain_unavailable", f"the market cannot read the chain ({exc}); try again later"
        ) from exc


def _check_on_chain(order: Order, kind: str, chain: ChainView, block: int) -> CheckedOrder:
    owner = _owner(chain, order, kind, block)
    digest = order_digest(order, chain.domain)
    if not is_signed_by(chain, owner, digest, order.sign, block):
        recovered = recover_signer(digest, order.sign)
        whose = "its requester" if kind == "request" else f"the owner of {kind}"
        if recovered is not None:
            raise Rejection(
                "not_owner",
                f"the order is signed by {recovered}, but {whose} is {owner}: sign it with "
                "that wallet (`veritask order sign`)",
            )
        raise Rejection(
            "bad_order_signature",
            f"the signature is not {whose} {owner}'s (not ECDSA of this order, not presigned, "
            "no ERC-1271 approval): sign the order as it is with `veritask order sign`",
        )
    consumed = chain.consumed(digest, block)
    if consumed >= order.volume:
        raise Rejection(
            "order_consumed",
            f"no volume left: {consumed} of {order.volume} used by deals or cancelled on chain; "
            "sign a new order (another salt)",
        )
    if isinstance(order, RequestOrder):
        needed = task_price_cap(order)
        free = chain.free_balance(owner, block)
        if free < needed:
            raise Rejection(
                "insufficient_balance",
                f"the requester {owner} has {free} nRLC free in the hub and one task may cost "
                f"{needed} nRLC: deposit at least {needed - free} nRLC more",
            )
    if isinstance(order, WorkerpoolOrder):
        stake = scheduler_stake(order.workerpoolprice)
        free = chain.free_balance(owner, block)
        if free < stake:
            raise Rejection(
                "insufficient_stake",
                f"the workerpool owner {owner} has {free} nRLC free in the hub and must lock "
                f"{stake} nRLC per task (30 % of the price): deposit at least {stake - free} "
                "nRLC more",
            )
    return CheckedOrder(order, kind, digest, owner, consumed, block)
