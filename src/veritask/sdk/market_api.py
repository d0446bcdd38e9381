"""The market's wire shapes, defined once (as `scheduler_api` does for the scheduler): the
market service builds its answers from these models and `MarketClient` reads them back.
Field order is the JSON's key order (docs/market.md). This module imports no service."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .orders import OrderKind

__all__ = [
    "BookPageJson",
    "MarketDeal",
    "MarketEvent",
    "MarketEventName",
    "OrderDealsJson",
    "OrderJson",
    "OrderStatus",
]

# open: in the book. Every other status is a removal, kept so that `GET /orders/{hash}`
# can say what happened.
OrderStatus = Literal["open", "filled", "cancelled", "owner_changed", "unpublished", "invalid"]
MarketEventName = Literal["published", "updated", "removed"]


class _Wire(BaseModel):
    # Fields a newer market adds are ignored, so that an older client keeps working.
    model_config = ConfigDict(frozen=True, extra="ignore")


class OrderJson(_Wire):
    """One order of the book, open or removed: `GET /orders/{hash}`, a book's `orders`,
    the answer to publish and unpublish. `order` is the signed order file's JSON."""

    order_hash: str
    kind: OrderKind
    status: OrderStatus
    signer: str
    price: int  # nRLC; a request's workerpool max price
    volume: int
    consumed: int
    remaining: int
    published_at: float  # unix seconds
    updated_at: float  # unix seconds
    order: dict[str, Any]


class BookPageJson(_Wire):
    """`GET /books/{kind}`: one page of a book, best first."""

    kind: OrderKind
    orders: list[OrderJson]
    count: int  # orders matching the filters, over all pages
    next: str | None = None  # pass as `after` for the next page


class MarketDeal(_Wire):
    """A deal that used an order, as the market saw it on chain."""

    deal_id: str
    app_hash: str
    dataset_hash: str
    workerpool_hash: str
    request_hash: str
    volume: int
    block_number: int
    log_index: int
    tx_hash: str


class OrderDealsJson(_Wire):
    """`GET /orders/{hash}/deals`."""

    order_hash: str
    deals: list[MarketDeal]


class MarketEvent(_Wire):
    """One change of the book, the `data` of a server-sent event of `GET /orders/stream`
    (its SSE `event` is `event`): an order `published`, `updated` (volume) or `removed`."""

    event: MarketEventName
    order_hash: str
    kind: OrderKind
    status: OrderStatus
    remaining: int
