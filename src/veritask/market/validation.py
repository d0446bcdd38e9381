"""Checks an order against the chain before it enters the book, as the hub would at match
time (PROTOCOL.md A3), with the rules the SDK uses too (`veritask.domain.order_rules`): its
asset is registered, it is signed by the asset's current owner (ECDSA, presignature or
ERC-1271), volume is left, and the signer can pay one task (request) or stake for one task
(workerpool). Reads nothing but the `OrderReader`, all at one block; raises `Refusal`
with the first reason found."""

from __future__ import annotations

from dataclasses import dataclass

from veritask.chain.order_facts import OrderReader, order_kind_of, read_order_facts
from veritask.domain.order_rules import order_problems, recover_signer, task_price_cap
from veritask.domain.orders import Order, RequestOrder, order_digest
from veritask.errors import ChainError, Refusal

__all__ = [
    "MAX_VALUE",
    "CheckedOrder",
    "check_order",
    "is_signed_by",
]

# Largest price, volume, category or trust the book stores (64-bit signed columns); far
# above any payable amount (the RLC supply is below 2**57 nRLC).
MAX_VALUE = 2**63 - 1


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


def is_signed_by(
    chain: OrderReader, signer: str, digest: bytes, signature: bytes, block: int
) -> bool:
    """The hub's `_is_signed_by` of any digest: ECDSA, then a presignature, then ERC-1271."""
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
            raise Refusal(
                "malformed_order",
                f"{name} is {value}, above the market's limit of 2**63 - 1: no such order can "
                "be paid for; use a smaller value",
            )
    if order.volume < 1:
        raise Refusal("malformed_order", "volume is 0: an order must cover at least one task")


def check_order(order: Order, chain: OrderReader, block: int | None = None) -> CheckedOrder:
    """The order with its signer and consumed volume at `block` (default: the head), or
    the `Refusal` that keeps it out of the book."""
    _check_bounds(order)
    try:
        at = chain.head() if block is None else block
        facts = read_order_facts(chain, order, at)
    except ChainError as exc:
        raise Refusal(
            "chain_unavailable", f"the market cannot read the chain ({exc}); try again later"
        ) from exc
    problems = order_problems(order, facts)
    if problems:
        raise Refusal(problems[0].code, problems[0].message)
    assert facts.owner is not None  # an order without a signer has a problem
    digest = order_digest(order, chain.domain)
    return CheckedOrder(order, order_kind_of(order), digest, facts.owner, facts.consumed, at)
