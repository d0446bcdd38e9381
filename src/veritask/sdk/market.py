"""A typed client of a Veritask market (the off-chain order book, `veritask.market`):
publish and unpublish signed orders, read order books with filters, one order, the deals
of an order, and a live stream of book changes (server-sent events).

    market = MarketClient("http://127.0.0.1:8600")
    market.publish(signed_order)
    page = market.book("workerpool", category=0, min_tag=parse_tag("tee"))
    for event in market.stream(timeout_s=30): ...

Refusals raise `MarketRejected` (an `InvalidInput`) carrying the market's machine-readable
`code` (`bad_order_signature`, `not_owner`, ...); a market that does not answer raises
`MarketUnavailable` (both in `veritask.errors`). This module must not import the market service.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from eth_utils.crypto import keccak
from pydantic import BaseModel, ValidationError

from veritask.domain.amounts import format_rlc
from veritask.domain.orders import Order
from veritask.domain.signing import sign_hash_eip191
from veritask.domain.tags import tag_int
from veritask.errors import InvalidInput, MarketRejected, MarketUnavailable

from .http import read_refusal
from .market_api import (
    BookPageJson,
    MarketDeal,
    MarketEvent,
    OrderDealsJson,
    OrderJson,
    OrderStatus,
)
from .orders import TAG_NAMES, OrderKind, order_from_json, order_to_json, parse_tag

__all__ = [
    "CANDIDATES",
    "UNPUBLISH_PREFIX",
    "BookPage",
    "MarketClient",
    "MarketDeal",
    "MarketEvent",
    "MarketOrder",
    "cheapest_order",
    "closest_workerpool_order",
    "sign_unpublish",
    "tag_name",
    "unpublish_hash",
]

# What an owner signs (EIP-191) to take an order out of a market's book.
UNPUBLISH_PREFIX = b"veritask market: unpublish order "
# How many of the best orders a run looks at before giving up on the market (each one is
# checked on chain, since the market may lag the chain by a few blocks).
CANDIDATES = 20


def unpublish_hash(order_hash: bytes, published_at: float) -> bytes:
    """keccak256(UNPUBLISH_PREFIX ‖ order hash ‖ " published at " ‖ repr(published_at)):
    the 32 bytes the owner signs (EIP-191). Binding the publication time makes a signature
    good for one publication only: it cannot take the order out again once republished."""
    if len(order_hash) != 32:
        raise InvalidInput(f"an order hash is 32 bytes, got {len(order_hash)}")
    return keccak(UNPUBLISH_PREFIX + order_hash + b" published at " + repr(published_at).encode())


def sign_unpublish(order_hash: bytes, published_at: float, private_key: bytes | str) -> bytes:
    return sign_hash_eip191(unpublish_hash(order_hash, published_at), private_key)


@dataclass(frozen=True)
class MarketOrder:
    """An order of the market's book, its signed order typed (the wire's `OrderJson`)."""

    order_hash: str
    kind: OrderKind
    status: OrderStatus
    signer: str
    price: int  # nRLC; a request's workerpool max price
    volume: int
    consumed: int
    remaining: int
    published_at: float
    updated_at: float
    order: Order

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MarketOrder:
        return cls.from_wire(_wire(OrderJson, data))

    @classmethod
    def from_wire(cls, wire: OrderJson) -> MarketOrder:
        fields = wire.model_dump(exclude={"order"})
        return cls(**fields, order=order_from_json(wire.order, source="the market's order"))

    def as_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["order"] = order_to_json(self.order)
        return data


@dataclass(frozen=True)
class BookPage:
    """One page of a book (the wire's `BookPageJson`), its orders typed."""

    kind: OrderKind
    orders: tuple[MarketOrder, ...]
    count: int  # orders matching the filters, over all pages
    next: str | None  # pass as `after` for the next page


_Wire = TypeVar("_Wire", bound=BaseModel)


def _wire(model: type[_Wire], data: Any) -> _Wire:
    """The market's answer as its wire model; a malformed one is the market failing."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise MarketUnavailable(
            f"the market answered a malformed {model.__name__}: {exc.error_count()} errors, "
            f"first {exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}",
            code="unavailable",
        ) from exc


def _hash_text(order_hash: bytes | str) -> str:
    if isinstance(order_hash, bytes):
        return "0x" + order_hash.hex()
    return order_hash.lower()


def _tag_text(tag: bytes | int | str | None) -> str | None:
    if isinstance(tag, str):
        tag = parse_tag(tag)
    return None if tag is None else f"0x{tag_int(tag):064x}"


class MarketClient:
    """A client of the market at `url`. `transport` replaces the network (tests)."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._http = httpx.Client(base_url=self.url, timeout=timeout_s, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MarketClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise MarketUnavailable(
                f"the market at {self.url} does not answer ({type(exc).__name__}: {exc}): "
                "check market_url in veritask.toml or --market-url",
                code="unavailable",
            ) from exc
        return self._decode(response)

    def _decode(self, response: httpx.Response) -> Any:
        if response.is_success:
            try:
                return response.json()
            except ValueError:
                pass  # not the market's answer: refused below as unavailable
        refusal = read_refusal(response)
        code, text = refusal.code, refusal.message
        error = f"the market refused: {text} ({code})" if code else f"the market: {text}"
        if 400 <= refusal.status < 500:
            raise MarketRejected(error, code=code, status=refusal.status)
        raise MarketUnavailable(error, code=code or "unavailable", status=refusal.status)

    def publish(self, order: Order) -> MarketOrder:
        """Adds a signed order to the book (the market checks it against the chain)."""
        return MarketOrder.from_json(self._request("POST", "/orders", json=order_to_json(order)))

    def unpublish(self, order_hash: bytes | str, private_key: bytes | str) -> MarketOrder:
        """Takes an order out of the book, signed by its owner's key (nothing on chain:
        the signed order stays valid; cancel it on chain to close it for good)."""
        text = _hash_text(order_hash)
        raw = bytes.fromhex(text[2:]) if text.startswith("0x") else b""
        published_at = self.get(text).published_at  # the publication the signature is for
        sign = sign_unpublish(raw, published_at, private_key)
        data = self._request("POST", f"/orders/{text}/unpublish", json={"sign": "0x" + sign.hex()})
        return MarketOrder.from_json(data)

    def get(self, order_hash: bytes | str) -> MarketOrder:
        return MarketOrder.from_json(self._request("GET", f"/orders/{_hash_text(order_hash)}"))

    def deals(self, order_hash: bytes | str) -> list[MarketDeal]:
        data = self._request("GET", f"/orders/{_hash_text(order_hash)}/deals")
        return list(_wire(OrderDealsJson, data).deals)

    def book(
        self,
        kind: OrderKind,
        *,
        asset: str | None = None,
        signer: str | None = None,
        category: int | None = None,
        min_trust: int | None = None,
        max_trust: int | None = None,
        tag: bytes | int | str | None = None,
        min_tag: bytes | int | str | None = None,
        max_tag: bytes | int | str | None = None,
        min_volume: int | None = None,
        app: str | None = None,
        dataset: str | None = None,
        workerpool: str | None = None,
        requester: str | None = None,
        include_restricted: bool = False,
        page_size: int | None = None,
        after: str | None = None,
    ) -> BookPage:
        """One page of the `kind` order book, best price first (lowest ask; highest
        workerpool max price for requests), then oldest first. Tags are bytes, ints or
        names ("tee"); docs/market.md lists the filters."""
        params: dict[str, Any] = {
            "asset": asset,
            "signer": signer,
            "category": category,
            "min_trust": min_trust,
            "max_trust": max_trust,
            "tag": _tag_text(tag),
            "min_tag": _tag_text(min_tag),
            "max_tag": _tag_text(max_tag),
            "min_volume": min_volume,
            "app": app,
            "dataset": dataset,
            "workerpool": workerpool,
            "requester": requester,
            "include_restricted": "true" if include_restricted else None,
            "page_size": page_size,
            "after": after,
        }
        given = {name: value for name, value in params.items() if value is not None}
        page = _wire(BookPageJson, self._request("GET", f"/books/{kind}", params=given))
        return BookPage(
            kind=page.kind,
            orders=tuple(MarketOrder.from_wire(item) for item in page.orders),
            count=page.count,
            next=page.next,
        )

    def iter_book(self, kind: OrderKind, **filters: Any) -> Iterator[MarketOrder]:
        """Every order of the book, page after page."""
        after: str | None = filters.pop("after", None)
        while True:
            page = self.book(kind, after=after, **filters)
            yield from page.orders
            if page.next is None:
                return
            after = page.next

    def stream(self, *, timeout_s: float | None = None) -> Iterator[MarketEvent]:
        """Book changes as they happen. `timeout_s` bounds the wait for each change (a
        `MarketUnavailable` when it passes); None waits forever. Close the generator to
        disconnect."""
        timeout = httpx.Timeout(self.timeout_s, read=timeout_s)
        try:
            with self._http.stream("GET", "/orders/stream", timeout=timeout) as response:
                if not response.is_success:
                    response.read()
                    self._decode(response)
                event_name = ""
                for line in response.iter_lines():
                    if line.startswith("event:"):
                        event_name = line.removeprefix("event:").strip()
                    elif line.startswith("data:") and event_name:
                        data = json.loads(line.removeprefix("data:"))
                        yield _wire(MarketEvent, data)
                        event_name = ""
        except httpx.HTTPError as exc:
            raise MarketUnavailable(
                f"the market's stream at {self.url} stopped ({type(exc).__name__}: {exc})",
                code="unavailable",
            ) from exc


def tag_name(tag: bytes | int) -> str:
    """A tag as `veritask` spells it: none, tee, scone, gramine, tdx, or 0x hex."""
    value = tag_int(tag)
    for name, bits in TAG_NAMES.items():
        if bits == value:
            return name
    return f"0x{value:064x}"


def cheapest_order(
    market: MarketClient,
    kind: OrderKind,
    usable: Callable[[Order], bool],
    **filters: Any,
) -> Order | None:
    """The best-priced order of the book that passes `filters` and `usable`, among the
    first `CANDIDATES`; None when there is none."""
    page = market.book(kind, page_size=CANDIDATES, **filters)
    for item in page.orders:
        if usable(item.order):
            return item.order
    return None


def closest_workerpool_order(market: MarketClient, category: int, **filters: Any) -> str:
    """What the market offers nearest to a run it cannot serve: the cheapest workerpool
    order of the same category, else of any category (restrictions still apply)."""
    extras: tuple[dict[str, Any], ...] = ({"category": category}, {})
    for extra in extras:
        page = market.book("workerpool", page_size=1, **extra, **filters)
        if page.orders:
            item = page.orders[0]
            order = item.order
            return (
                f"workerpool {getattr(order, 'workerpool', '?')} offers category "
                f"{getattr(order, 'category', '?')}, tag {tag_name(order.tag)}, trust "
                f"{getattr(order, 'trust', '?')} at {format_rlc(item.price)} RLC a task "
                f"({item.remaining} left)"
            )
    return "none (the market has no open workerpool order you may use)"
