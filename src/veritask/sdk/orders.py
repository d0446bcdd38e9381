"""Order files and orders on chain (PROTOCOL.md A3): reads and writes order JSON files
(checked field by field), signs orders as their owner, reads their state from the hub
(consumed volume, presignature) and cancels them, through the `Veritask` client's `orders`.

An order file is one JSON object: `"kind"` (app, dataset, workerpool, request), every
EIP-712 field of that order type (prices in nRLC, bytes32 as 0x hex), and `"sign"` (0x hex,
"0x" while unsigned). Nothing here writes a file or sends a transaction it then refuses.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from veritask.chain.order_facts import read_order_facts
from veritask.domain.ids import to_hex
from veritask.domain.order_rules import SignatureState, order_problems
from veritask.domain.orders import (
    AppOrder,
    DatasetOrder,
    Order,
    RequestOrder,
    WorkerpoolOrder,
    order_digest,
)
from veritask.domain.signing import sign_order
from veritask.domain.tags import TAG_TDX, TAG_TEE, TAG_TEE_GRAMINE, TAG_TEE_SCONE, tag_bytes
from veritask.errors import InvalidInput
from veritask.files import write_atomically

from .addresses import checksum_address
from .receipts import TxSummary
from .session import ChainSession

__all__ = [
    "ORDER_KINDS",
    "TAG_NAMES",
    "OrderKind",
    "OrderStatus",
    "Orders",
    "SignatureState",
    "load_order",
    "order_from_json",
    "order_kind",
    "order_to_json",
    "parse_tag",
    "random_salt",
    "save_order",
]

OrderKind = Literal["app", "dataset", "workerpool", "request"]
ORDER_KINDS: tuple[OrderKind, ...] = get_args(OrderKind)
_ORDER_TYPES: dict[OrderKind, type[Order]] = {
    "app": AppOrder,
    "dataset": DatasetOrder,
    "workerpool": WorkerpoolOrder,
    "request": RequestOrder,
}
# The asset whose owner signs each kind of order; a request order is signed by its requester.
_SIGNER_FIELD: dict[OrderKind, str] = {
    "app": "app",
    "dataset": "dataset",
    "workerpool": "workerpool",
    "request": "requester",
}
TAG_NAMES = {
    "none": 0,
    "tee": TAG_TEE,
    "scone": TAG_TEE_SCONE,
    "gramine": TAG_TEE_GRAMINE,
    "tdx": TAG_TDX,
}
_UINT256_MAX = 2**256 - 1


def order_kind(order: Order) -> OrderKind:
    for kind, order_type in _ORDER_TYPES.items():
        if isinstance(order, order_type):
            return kind
    raise TypeError(f"not an order: {order!r}")


def parse_tag(text: str) -> bytes:
    """A tag by name (none, tee, scone, gramine, tdx) or as 0x hex (at most 64 digits)."""
    value = text.strip().lower()
    if value in TAG_NAMES:
        return tag_bytes(TAG_NAMES[value])
    digits = value.removeprefix("0x")
    if value.startswith("0x") and 0 < len(digits) <= 64:
        try:
            return tag_bytes(int(digits, 16))
        except ValueError:
            pass
    raise InvalidInput(
        f"unknown tag {text!r}: use {', '.join(TAG_NAMES)}, or 0x and up to 64 hex digits"
    )


def random_salt() -> bytes:
    """32 random bytes: two orders with the same fields get different identities."""
    return secrets.token_bytes(32)


def _json_value(kind: str, value: Any) -> Any:
    return to_hex(bytes(value)) if kind in ("bytes32", "bytes") else value


def order_to_json(order: Order) -> dict[str, Any]:
    """The order file's object: kind, the EIP-712 fields in order, then sign."""
    data: dict[str, Any] = {"kind": order_kind(order)}
    for name, kind in order.FIELDS:
        data[name] = _json_value(kind, getattr(order, name))
    data["sign"] = to_hex(order.sign)
    return data


def _hex_bytes(value: str, where: str, length: int | None) -> bytes:
    digits = value[2:] if value[:2].lower() == "0x" else None
    expected = f"0x and {length * 2} hex digits" if length else "0x and hex digits"
    try:
        if digits is None:
            raise ValueError(value)
        data = bytes.fromhex(digits)
    except ValueError:
        raise InvalidInput(f"{where}: expected {expected}, got {value!r}") from None
    if length is not None and len(data) != length:
        raise InvalidInput(f"{where}: expected {expected}, got {value!r}")
    return data


def _field_value(kind: str, value: Any, where: str) -> Any:
    if kind == "uint256":
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidInput(f"{where}: expected a whole number, got {json.dumps(value)}")
        if not 0 <= value <= _UINT256_MAX:
            raise InvalidInput(f"{where}: {value} is out of range (0 to 2**256 - 1)")
        return value
    if not isinstance(value, str):
        raise InvalidInput(f"{where}: expected a string, got {json.dumps(value)}")
    if kind == "address":
        return checksum_address(value, source=where)
    if kind == "bytes32":
        return _hex_bytes(value, where, 32)
    if kind == "bytes":
        return _hex_bytes(value, where, None)
    return value  # string


def order_from_json(data: Any, *, source: str = "the order") -> Order:
    """The order an order file's object describes; `InvalidInput` naming the first field
    that is missing, unknown or of the wrong type."""
    if not isinstance(data, dict):
        raise InvalidInput(f"{source}: expected a JSON object, got {type(data).__name__}")
    kind = data.get("kind")
    if kind not in _ORDER_TYPES:
        shown = "missing" if "kind" not in data else f"{json.dumps(kind)} is not a kind"
        raise InvalidInput(f"{source}: field 'kind': {shown}; use one of {', '.join(ORDER_KINDS)}")
    order_type = _ORDER_TYPES[kind]
    schema = (*order_type.FIELDS, ("sign", "bytes"))
    known = {name for name, _ in schema} | {"kind"}
    for name in data:
        if name not in known:
            raise InvalidInput(f"{source}: field {name!r}: unknown in a {kind} order")
    values: dict[str, Any] = {}
    for name, field_kind in schema:
        where = f"{source}: field {name!r}"
        if name not in data:
            raise InvalidInput(f"{where}: missing")
        values[name] = _field_value(field_kind, data[name], where)
    order: Order = order_type(**values)
    return order


def load_order(path: Path) -> Order:
    """The order in an order file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InvalidInput(f"cannot read the order file {path}: {reason or exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{path}: not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    return order_from_json(data, source=str(path))


def save_order(path: Path, order: Order, *, overwrite: bool = False) -> Path:
    """Writes the order file atomically (a reader never sees half a file); refuses to
    replace an existing file unless `overwrite`."""
    if path.exists() and not overwrite:
        raise InvalidInput(f"{path} already exists: choose another file or pass --force")
    text = json.dumps(order_to_json(order), indent=2) + "\n"
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InvalidInput(f"cannot write {path}: no folder {folder}")
    write_atomically(path, text)
    return path


@dataclass(frozen=True)
class OrderStatus:
    """What the hub and the registries say about an order."""

    kind: OrderKind
    order_hash: str  # the EIP-712 digest, its identity on chain
    owner: str | None  # who must sign it now; None when its asset is not registered
    signature: SignatureState
    recovered_signer: str | None  # whose key made `sign`, when it is an ECDSA signature
    volume: int
    consumed: int
    remaining: int
    matchable: bool
    reason: str  # why it is not matchable ("" when it is)


class Orders:
    """Orders of the session's hub, signed and cancelled as its signer."""

    def __init__(self, session: ChainSession) -> None:
        self.session = session

    def owner(self, order: Order) -> str | None:
        """Who signs `order`: its asset's current owner, or the requester of a request."""
        kind = order_kind(order)
        address = checksum_address(str(getattr(order, _SIGNER_FIELD[kind])))
        if kind == "request":
            return address
        return self.session.hub.asset_owner(kind, address)

    def _owned_by_signer(self, order: Order, action: str) -> str:
        sender = self.session.require_signer(action)
        kind = order_kind(order)
        subject = str(getattr(order, _SIGNER_FIELD[kind]))
        owner = self.owner(order)
        if owner is None:
            raise InvalidInput(f"no {kind} is registered at {subject}: cannot {action} its order")
        if owner != sender.address:
            whose = "its requester" if kind == "request" else f"the owner of {kind} {subject}"
            raise InvalidInput(
                f"only {whose}, {owner}, may {action} this {kind} order; "
                f"the wallet is {sender.address}"
            )
        return owner

    def order_hash(self, order: Order) -> bytes:
        return order_digest(order, self.session.hub.domain)

    def sign(self, order: Order) -> Order:
        """The order signed (EIP-712) by the wallet, which must own its asset."""
        self._owned_by_signer(order, "sign")
        signer = self.session.require_signer("sign")
        return sign_order(order, self.session.hub.domain, signer.key)

    def status(self, order: Order) -> OrderStatus:
        """The order as the hub sees it now, judged by the rules the market uses too
        (`veritask.domain.order_rules`): matchable, or the first reason it is not."""
        hub = self.session.hub
        facts = read_order_facts(hub, order, hub.head())
        problems = order_problems(order, facts)
        remaining = max(order.volume - facts.consumed, 0)
        return OrderStatus(
            kind=order_kind(order),
            order_hash=to_hex(self.order_hash(order)),
            owner=facts.owner,
            signature=facts.signature,
            recovered_signer=facts.recovered,
            volume=order.volume,
            consumed=facts.consumed,
            remaining=remaining,
            matchable=not problems,
            reason=problems[0].message if problems else "",
        )

    def cancel(self, order: Order) -> TxSummary:
        """Closes the order on chain for good (its whole volume becomes used); only its
        owner may, and only while some volume is left."""
        self._owned_by_signer(order, "cancel")
        sender = self.session.require_signer("cancel")
        kind = order_kind(order)
        consumed = self.session.hub.consumed(self.order_hash(order))
        if consumed >= order.volume:
            raise InvalidInput(
                f"nothing to cancel: this {kind} order has no volume left "
                f"({consumed} of {order.volume} used or cancelled)"
            )
        return TxSummary.of(self.session.hub.cancel_order(sender, order))
