"""Reads what `veritask.domain.order_rules` judges an order by, all at one block: who must
sign it, whether its assets are registered, its signature state (ECDSA, presignature,
ERC-1271), its consumed volume and the signer's free balance. Both the market and the SDK
read through here, so they see an order as the hub does."""

from __future__ import annotations

from typing import Protocol

from eth_utils.address import to_checksum_address

from veritask.domain.order_rules import OrderFacts, recover_signer, signature_state
from veritask.domain.orders import Domain, Order, RequestOrder, WorkerpoolOrder, order_digest

from .records import AssetKind

__all__ = ["OrderReader", "order_kind_of", "read_order_facts"]

_KINDS: dict[str, AssetKind] = {"app": "app", "dataset": "dataset", "workerpool": "workerpool"}


class OrderReader(Protocol):
    """The chain facts an order is judged by; `Hub` is one, the market's tests fake one.
    `block` pins every read."""

    @property
    def domain(self) -> Domain: ...

    def head(self) -> int: ...

    def asset_owner(self, kind: AssetKind, asset: str, block: int) -> str | None: ...

    def consumed(self, order_hash: bytes, block: int) -> int: ...

    def presigned(self, order_hash: bytes, block: int) -> str: ...

    def is_contract(self, address: str, block: int) -> bool: ...

    def erc1271_valid(self, signer: str, digest: bytes, signature: bytes, block: int) -> bool: ...

    def free_balance(self, address: str, block: int) -> int: ...


def order_kind_of(order: Order) -> str:
    return type(order).__name__.removesuffix("Order").lower()


def _signer_and_gap(
    chain: OrderReader, order: Order, kind: str, block: int
) -> tuple[str | None, tuple[str, str] | None]:
    """(who signs the order, the first asset it needs that is not registered)."""
    if isinstance(order, RequestOrder):
        for asset_kind, address in (("app", order.app), ("dataset", order.dataset)):
            if asset_kind == "dataset" and int(address, 16) == 0:
                continue
            if chain.asset_owner(_KINDS[asset_kind], address, block) is None:
                return to_checksum_address(order.requester), (asset_kind, address)
        return to_checksum_address(order.requester), None
    asset = str(getattr(order, kind))
    owner = chain.asset_owner(_KINDS[kind], asset, block)
    return owner, (None if owner is not None else (kind, asset))


def read_order_facts(chain: OrderReader, order: Order, block: int) -> OrderFacts:
    """The facts of `order` at `block`, read in the hub's order (cheap reads first)."""
    kind = order_kind_of(order)
    owner, gap = _signer_and_gap(chain, order, kind, block)
    digest = order_digest(order, chain.domain)
    recovered = recover_signer(digest, order.sign)
    presigner = ""
    approved = False
    if owner is not None and recovered != owner:
        presigner = chain.presigned(digest, block)
        approved = (
            presigner != owner
            and chain.is_contract(owner, block)
            and chain.erc1271_valid(owner, digest, order.sign, block)
        )
    free = (
        chain.free_balance(owner, block)
        if owner is not None and isinstance(order, RequestOrder | WorkerpoolOrder)
        else None
    )
    return OrderFacts(
        kind=kind,
        owner=owner,
        unregistered=gap,
        signature=signature_state(owner, order.sign, recovered, presigner, approved),
        recovered=recovered,
        consumed=chain.consumed(digest, block),
        free_balance=free,
    )
