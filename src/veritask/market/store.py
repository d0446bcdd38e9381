"""The order book in a SQL database: orders (open, or removed with the reason), the deals
of their matches, and the follower's cursor. Reads and writes only its tables; knows
nothing of HTTP or the chain beyond the facts it is given.

Pagination is keyset: a page ends with `next`, an opaque `"<price>:<id>"` token; the next
page starts after it, so pages stay consistent while orders come and go and each page
costs one index range scan, however deep.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from veritask.domain.ids import from_hex, to_hex
from veritask.domain.orders import ZERO_ADDRESS
from veritask.domain.tags import tag_int
from veritask.errors import Refusal
from veritask.sdk.market_api import MarketDeal, MarketEvent, OrderJson, OrderStatus
from veritask.sdk.orders import OrderKind

from .models import cursor, deals, orders
from .validation import CheckedOrder

__all__ = [
    "BookPage",
    "BookQuery",
    "Cursor",
    "OrderRecord",
    "Store",
    "tag_words",
]

_WORD = 2**64 - 1


def tag_words(tag: int) -> tuple[int, int, int, int]:
    """The tag as four signed 64-bit integers, lowest word first."""

    def signed(word: int) -> int:
        return word - 2**64 if word >= 2**63 else word

    return (
        signed(tag & _WORD),
        signed((tag >> 64) & _WORD),
        signed((tag >> 128) & _WORD),
        signed((tag >> 192) & _WORD),
    )


_TAG_COLUMNS = (orders.c.tag_w0, orders.c.tag_w1, orders.c.tag_w2, orders.c.tag_w3)


@dataclass(frozen=True)
class OrderRecord:
    """An order as the book keeps it; `order` is the order file's JSON (signed)."""

    order_hash: str
    kind: OrderKind
    status: OrderStatus
    signer: str
    price: int
    volume: int
    consumed: int
    remaining: int
    order: dict[str, Any]
    published_at: float
    updated_at: float
    checked_block: int

    def wire(self) -> OrderJson:
        """The order as the market answers it."""
        return OrderJson(
            order_hash=self.order_hash,
            kind=self.kind,
            status=self.status,
            signer=self.signer,
            price=self.price,
            volume=self.volume,
            consumed=self.consumed,
            remaining=self.remaining,
            published_at=self.published_at,
            updated_at=self.updated_at,
            order=self.order,
        )

    def as_json(self) -> dict[str, Any]:
        return self.wire().model_dump()


@dataclass(frozen=True)
class Cursor:
    chain_id: int
    hub: str
    next_block: int
    last_block_hash: bytes | None


@dataclass(frozen=True)
class BookQuery:
    """Filters of one order book; see docs/market.md for each one's meaning."""

    kind: str
    asset: str | None = None
    signer: str | None = None
    category: int | None = None
    min_trust: int | None = None
    max_trust: int | None = None
    tag: int | None = None
    min_tag: int | None = None
    max_tag: int | None = None
    min_volume: int = 1
    app: str | None = None
    dataset: str | None = None
    workerpool: str | None = None
    requester: str | None = None
    include_restricted: bool = False
    page_size: int = 20
    after: str | None = None

    @property
    def descending(self) -> bool:
        """Request orders are bids: the best pays the most."""
        return self.kind == "request"


@dataclass(frozen=True)
class BookPage:
    orders: list[OrderRecord]
    count: int  # orders matching the filters, on every page
    next: str | None = None  # give it as `after` for the next page
    query: BookQuery | None = field(default=None, compare=False)


def _record(row: Any) -> OrderRecord:
    return OrderRecord(
        order_hash=row.order_hash,
        kind=row.kind,
        status=row.status,
        signer=row.signer,
        price=int(row.price),
        volume=int(row.volume),
        consumed=int(row.consumed),
        remaining=int(row.remaining),
        order=json.loads(row.body),
        published_at=float(row.published_at),
        updated_at=float(row.updated_at),
        checked_block=int(row.checked_block),
    )


def _deal(row: Any) -> MarketDeal:
    return MarketDeal(
        deal_id=row.deal_id,
        app_hash=row.app_hash,
        dataset_hash=row.dataset_hash,
        workerpool_hash=row.workerpool_hash,
        request_hash=row.request_hash,
        volume=int(row.volume),
        block_number=int(row.block_number),
        log_index=int(row.log_index),
        tx_hash=row.tx_hash,
    )


def _columns(checked: CheckedOrder, body: dict[str, Any]) -> dict[str, Any]:
    """The row of a checked order (status open)."""
    order = checked.order
    fields: dict[str, Any] = order.message()
    kind = checked.kind
    tag = tag_int(order.tag)
    words = tag_words(tag)
    values: dict[str, Any] = {
        "order_hash": to_hex(checked.order_hash),
        "kind": kind,
        "status": "open",
        "signer": checked.signer,
        "asset": fields["app"] if kind == "request" else fields[kind],
        "dataset": fields["dataset"] if kind == "request" else ZERO_ADDRESS,
        "volume": order.volume,
        "consumed": checked.consumed,
        "remaining": checked.remaining,
        "tag": f"0x{tag:064x}",
        "tag_w0": words[0],
        "tag_w1": words[1],
        "tag_w2": words[2],
        "tag_w3": words[3],
        "category": fields.get("category"),
        "trust": fields.get("trust"),
        "app_restrict": fields.get("apprestrict", ZERO_ADDRESS),
        "dataset_restrict": fields.get("datasetrestrict", ZERO_ADDRESS),
        "workerpool_restrict": fields.get(
            "workerpool" if kind == "request" else "workerpoolrestrict", ZERO_ADDRESS
        ),
        "requester_restrict": fields.get("requesterrestrict", ZERO_ADDRESS),
        "body": json.dumps(body, separators=(",", ":")),
        "checked_block": checked.block,
    }
    price_field = {
        "app": "appprice",
        "dataset": "datasetprice",
        "workerpool": "workerpoolprice",
        "request": "workerpoolmaxprice",
    }[kind]
    values["price"] = int(fields[price_field])
    return values


class Store:
    """The book's persistence. Every method is one transaction unless it takes a
    `Connection` (the follower's batch transaction)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as connection:
            yield connection

    def insert(self, checked: CheckedOrder, body: dict[str, Any]) -> OrderRecord:
        """Adds a checked order to the book (again, when it was removed before); a
        `duplicate_order` rejection when it is open already."""
        values = _columns(checked, body)
        now = time.time()
        values.update(published_at=now, updated_at=now)
        try:
            with self.transaction() as connection:
                existing = connection.execute(
                    select(orders.c.id, orders.c.status).where(
                        orders.c.order_hash == values["order_hash"]
                    )
                ).first()
                if existing is not None and existing.status == "open":
                    raise Refusal(
                        "duplicate_order",
                        f"order {values['order_hash']} is already in the book: nothing to do",
                    )
                if existing is None:
                    connection.execute(insert(orders).values(**values))
                else:
                    # Only a removed order comes back: of two concurrent publishes, the
                    # second finds it open (its row locked until the first commits).
                    republished = connection.execute(
                        update(orders)
                        .where(orders.c.id == existing.id, orders.c.status != "open")
                        .values(**values)
                    )
                    if republished.rowcount == 0:
                        raise Refusal(
                            "duplicate_order",
                            f"order {values['order_hash']} is already in the book: nothing to do",
                        )
        except IntegrityError as exc:  # a concurrent publish of the same order won
            raise Refusal(
                "duplicate_order",
                f"order {values['order_hash']} is already in the book: nothing to do",
            ) from exc
        record = self.get(values["order_hash"])
        assert record is not None
        return record

    def count_open(self, signer: str) -> int:
        with self.engine.connect() as connection:
            return int(
                connection.execute(
                    select(func.count())
                    .select_from(orders)
                    .where(orders.c.signer == signer, orders.c.status == "open")
                ).scalar_one()
            )

    def get(self, order_hash: str) -> OrderRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(
                select(orders).where(orders.c.order_hash == order_hash.lower())
            ).first()
        return None if row is None else _record(row)

    def remove(self, order_hash: str, status: OrderStatus) -> MarketEvent | None:
        """Takes an open order out of the book; None when it was not open."""
        with self.transaction() as connection:
            return self.set_status(connection, order_hash, status)

    def set_status(
        self, connection: Connection, order_hash: str, status: OrderStatus, **values: Any
    ) -> MarketEvent | None:
        row = connection.execute(
            select(orders.c.kind, orders.c.remaining).where(
                orders.c.order_hash == order_hash, orders.c.status == "open"
            )
        ).first()
        if row is None:
            return None
        # Still open when updated: of two concurrent removals (two unpublish requests, or
        # one and the follower), only the first changes the order and tells subscribers.
        removed = connection.execute(
            update(orders)
            .where(orders.c.order_hash == order_hash, orders.c.status == "open")
            .values(status=status, updated_at=time.time(), **values)
        )
        if removed.rowcount == 0:
            return None
        remaining = int(values.get("remaining", row.remaining))
        return MarketEvent(
            event="removed",
            order_hash=order_hash,
            kind=row.kind,
            status=status,
            remaining=remaining,
        )

    def _filters(self, query: BookQuery) -> list[ColumnElement[bool]]:
        c = orders.c
        conditions: list[ColumnElement[bool]] = [
            c.kind == query.kind,
            c.status == "open",
            c.remaining >= query.min_volume,
        ]
        if query.asset is not None:
            conditions.append(c.asset == query.asset)
        if query.signer is not None:
            conditions.append(c.signer == query.signer)
        if query.category is not None:
            conditions.append(c.category == query.category)
        if query.min_trust is not None:
            conditions.append(c.trust >= query.min_trust)
        if query.max_trust is not None:
            conditions.append(c.trust <= query.max_trust)
        if query.tag is not None:
            conditions.append(c.tag == f"0x{query.tag:064x}")
        if query.min_tag is not None:
            for column, word in zip(_TAG_COLUMNS, tag_words(query.min_tag), strict=True):
                if word:
                    conditions.append(column.op("&")(word) == word)
        if query.max_tag is not None:
            outside = ~query.max_tag & (2**256 - 1)
            for column, word in zip(_TAG_COLUMNS, tag_words(outside), strict=True):
                if word:
                    conditions.append(column.op("&")(word) == 0)
        counterparts = {
            "app": (query.app, c.app_restrict),
            "dataset": (query.dataset, c.dataset_restrict),
            "workerpool": (query.workerpool, c.workerpool_restrict),
            "requester": (query.requester, c.requester_restrict),
        }
        if query.kind == "request":
            # A request names its app, dataset and requester: those are plain filters.
            for name, column in (("app", c.asset), ("dataset", c.dataset), ("requester", c.signer)):
                address = counterparts.pop(name)[0]
                if address is not None:
                    conditions.append(column == address)
        for address, column in counterparts.values():
            if address is not None:
                conditions.append(or_(column == ZERO_ADDRESS, column == address))
            elif not query.include_restricted:
                conditions.append(column == ZERO_ADDRESS)
        return conditions

    def book(self, query: BookQuery) -> BookPage:
        """One page of open orders, best price first then oldest first."""
        c = orders.c
        conditions = self._filters(query)
        page_conditions = list(conditions)
        if query.after is not None:
            price, row_id = _parse_after(query.after)
            better = c.price < price if query.descending else c.price > price
            page_conditions.append(or_(better, and_(c.price == price, c.id > row_id)))
        price_order = c.price.desc() if query.descending else c.price.asc()
        statement = (
            select(orders)
            .where(*page_conditions)
            .order_by(price_order, c.id.asc())
            .limit(query.page_size + 1)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(statement).all()
            count = int(
                connection.execute(
                    select(func.count()).select_from(orders).where(*conditions)
                ).scalar_one()
            )
        more = len(rows) > query.page_size
        rows = rows[: query.page_size]
        next_token = f"{rows[-1].price}:{rows[-1].id}" if more and rows else None
        return BookPage([_record(row) for row in rows], count, next_token, query)

    def deals_of(self, order_hash: str) -> list[MarketDeal]:
        order_hash = order_hash.lower()
        c = deals.c
        statement = (
            select(deals)
            .where(
                or_(
                    c.app_hash == order_hash,
                    c.dataset_hash == order_hash,
                    c.workerpool_hash == order_hash,
                    c.request_hash == order_hash,
                )
            )
            .order_by(c.block_number, c.log_index)
        )
        with self.engine.connect() as connection:
            return [_deal(row) for row in connection.execute(statement)]

    def open_orders(self, connection: Connection) -> list[OrderRecord]:
        rows = connection.execute(select(orders).where(orders.c.status == "open"))
        return [_record(row) for row in rows]

    def cursor(self) -> Cursor | None:
        with self.engine.connect() as connection:
            row = connection.execute(select(cursor).where(cursor.c.id == 1)).first()
        if row is None:
            return None
        last = from_hex(row.last_block_hash) if row.last_block_hash else None
        return Cursor(int(row.chain_id), row.hub, int(row.next_block), last)

    def init_cursor(self, chain_id: int, hub: str, start_block: int) -> Cursor:
        """The stored cursor; created at `start_block` for a new database. A database of
        another chain or hub is refused rather than mixed."""
        existing = self.cursor()
        if existing is None:
            try:
                with self.transaction() as connection:
                    connection.execute(
                        insert(cursor).values(
                            id=1, chain_id=chain_id, hub=hub, next_block=start_block
                        )
                    )
            except IntegrityError:
                pass  # another instance created it first
            existing = self.cursor()
            assert existing is not None
        if existing.chain_id != chain_id or existing.hub.lower() != hub.lower():
            raise ValueError(
                f"this database holds the book of hub {existing.hub} on chain "
                f"{existing.chain_id}, not of hub {hub} on chain {chain_id}: use another "
                "--database-url"
            )
        return existing

    def save_cursor(
        self, connection: Connection, next_block: int, last_block_hash: bytes | None
    ) -> None:
        connection.execute(
            update(cursor)
            .where(cursor.c.id == 1)
            .values(
                next_block=next_block,
                last_block_hash=to_hex(last_block_hash) if last_block_hash else None,
            )
        )

    def add_deal(self, connection: Connection, deal: MarketDeal) -> bool:
        """Records a deal; False when it is known already (the event was applied)."""
        known = connection.execute(
            select(deals.c.deal_id).where(deals.c.deal_id == deal.deal_id)
        ).first()
        if known is not None:
            return False
        connection.execute(insert(deals).values(**deal.model_dump()))
        return True

    def open_order_facts(
        self, connection: Connection, hashes: Sequence[str]
    ) -> dict[str, tuple[OrderKind, int, int, int]]:
        """(kind, volume, consumed, checked_block) of the open orders among `hashes`."""
        rows = connection.execute(
            select(
                orders.c.order_hash,
                orders.c.kind,
                orders.c.volume,
                orders.c.consumed,
                orders.c.checked_block,
            ).where(orders.c.order_hash.in_(list(hashes)), orders.c.status == "open")
        )
        return {
            row.order_hash: (row.kind, int(row.volume), int(row.consumed), int(row.checked_block))
            for row in rows
        }

    def set_consumed(self, connection: Connection, order_hash: str, consumed: int) -> None:
        connection.execute(
            update(orders)
            .where(orders.c.order_hash == order_hash)
            .values(
                consumed=consumed,
                remaining=orders.c.volume - consumed,
                updated_at=time.time(),
            )
        )

    def open_hashes_of_asset(
        self, connection: Connection, kind: str, asset: str
    ) -> list[tuple[str, str, int]]:
        """(order hash, signer, checked block) of the open orders selling `asset`."""
        rows = connection.execute(
            select(orders.c.order_hash, orders.c.signer, orders.c.checked_block).where(
                orders.c.kind == kind, orders.c.asset == asset, orders.c.status == "open"
            )
        )
        return [(row.order_hash, row.signer, int(row.checked_block)) for row in rows]

    def recheck(self, connection: Connection, order_hash: str, consumed: int, block: int) -> None:
        connection.execute(
            update(orders)
            .where(orders.c.order_hash == order_hash)
            .values(
                consumed=consumed,
                remaining=orders.c.volume - consumed,
                checked_block=block,
                updated_at=time.time(),
            )
        )

    def forget_deals(self, connection: Connection) -> None:
        connection.execute(deals.delete())


_INT64 = range(-(2**63), 2**63)


def _parse_after(token: str) -> tuple[int, int]:
    refusal = Refusal(
        "invalid_query", f"bad page token {token[:80]!r}: pass the `next` of the previous page"
    )
    try:
        price, row_id = (int(part) for part in token.split(":"))
    except ValueError:
        raise refusal from None
    if price not in _INT64 or row_id not in _INT64:  # the columns are 64-bit
        raise refusal
    return price, row_id
