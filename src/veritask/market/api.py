"""The market's HTTP API (FastAPI): publish, unpublish, order books, one order, its deals,
a server-sent-event stream of changes, health and metrics. Every refusal is
`{"error": code, "message": ...}` (`veritask.serving.install_refusals`), with no traceback.

Routes (docs/market.md):
    POST /orders                      publish a signed order            201
    POST /orders/{hash}/unpublish     take it out, signed by the owner  200
    GET  /orders/{hash}               one order, open or removed        200
    GET  /orders/{hash}/deals         the deals that used it            200
    GET  /orders/stream               text/event-stream of changes
    GET  /books/{kind}                one page of a book                200
    GET  /health, /metrics
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from eth_utils.crypto import keccak
from fastapi import Body, FastAPI, Query, Request
from fastapi.responses import PlainTextResponse, StreamingResponse
from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from veritask.chain.order_facts import OrderReader
from veritask.domain.ids import from_hex, to_hex
from veritask.domain.orders import Order, order_digest
from veritask.errors import ChainError, InvalidInput, Refusal
from veritask.sdk.addresses import checksum_address
from veritask.sdk.market import unpublish_hash
from veritask.sdk.market_api import BookPageJson, MarketEvent, OrderDealsJson
from veritask.sdk.orders import ORDER_KINDS, order_from_json, order_to_json, parse_tag
from veritask.serving import BodyLimitMiddleware, BoundedJsonRoute, install_refusals

from .service import Market
from .settings import MarketSettings
from .store import BookQuery, OrderRecord
from .validation import MAX_VALUE, check_order, is_signed_by

__all__ = ["create_app"]

_HASH_DIGITS = 64
# Query numbers are compared with 64-bit columns: larger ones are refused, not overflowed.
_Count = Annotated[int | None, Query(ge=0, le=MAX_VALUE)]


def _order_hash(text: str) -> str:
    value = text.lower()
    digits = value.removeprefix("0x")
    if not value.startswith("0x") or len(digits) != _HASH_DIGITS:
        raise Refusal("invalid_query", f"{text!r} is not an order hash (0x and 64 hex digits)")
    try:
        bytes.fromhex(digits)
    except ValueError:
        raise Refusal("invalid_query", f"{text!r} is not an order hash") from None
    return value


def _address(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        return checksum_address(value, source=name)
    except InvalidInput as exc:
        raise Refusal("invalid_query", str(exc)) from exc


def _tag(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    try:
        return int.from_bytes(parse_tag(value), "big")
    except InvalidInput as exc:
        raise Refusal("invalid_query", f"{name}: {exc}") from exc


def _owner_now(chain: OrderReader, record: OrderRecord, block: int) -> str | None:
    if record.kind == "request":
        return record.signer
    asset = str(record.order[record.kind])
    return chain.asset_owner(record.kind, asset, block)


def create_app(
    settings: MarketSettings,
    *,
    market: Market | None = None,
    chain: OrderReader | None = None,
) -> FastAPI:
    """The market's ASGI app. `market` (or `chain`, for tests without a node) replaces the
    one built from `settings`; the follower thread runs while the app is served."""
    service = market or Market.open(settings, chain=chain)
    metrics = CollectorRegistry()
    published = Counter("market_orders_published", "Orders added to the book", registry=metrics)
    rejected = Counter(
        "market_rejections", "Refused requests by reason", ["reason"], registry=metrics
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        service.start()
        try:
            yield
        finally:
            service.stop()

    app = FastAPI(
        title="Veritask market",
        description="The off-chain order book of a Veritask hub (docs/market.md).",
        lifespan=lifespan,
    )
    app.router.route_class = BoundedJsonRoute
    app.add_middleware(BodyLimitMiddleware, max_bytes=service.settings.max_body_bytes)
    app.state.market = service

    install_refusals(
        app,
        service="market",
        bad_body="malformed_order",
        bad_query="invalid_query",
        too_large_advice="more than any order needs: send the order file's JSON only",
        on_refusal=lambda code: rejected.labels(code).inc(),
    )

    @app.post("/orders", status_code=201)
    def publish(body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        try:
            order: Order = order_from_json(body, source="the order")
        except InvalidInput as exc:
            raise Refusal("malformed_order", str(exc)) from exc
        order_hash = to_hex(order_digest(order, service.chain.domain))
        known = service.store.get(order_hash)
        if known is not None and known.status == "open":
            raise Refusal("duplicate_order", f"order {order_hash} is already in the book")
        checked = check_order(order, service.chain)
        limit = service.settings.max_open_orders_per_signer
        if service.store.count_open(checked.signer) >= limit:
            raise Refusal(
                "too_many_orders",
                f"{checked.signer} has {limit} open orders, the most this market keeps: "
                "unpublish or cancel some first",
            )
        record = service.store.insert(checked, order_to_json(order))
        published.inc()
        service.broadcaster.publish(
            [
                MarketEvent(
                    event="published",
                    order_hash=record.order_hash,
                    kind=record.kind,
                    status="open",
                    remaining=record.remaining,
                )
            ]
        )
        return record.as_json()

    @app.get("/orders/stream")
    async def stream(request: Request) -> StreamingResponse:
        limit = service.settings.max_stream_subscribers
        if service.broadcaster.subscriber_count >= limit:
            raise Refusal(
                "too_many_streams",
                f"this market already serves {limit} live streams: poll /books instead, or "
                "try again later",
            )
        subscription = service.broadcaster.subscribe(asyncio.get_running_loop())
        keepalive_s = service.settings.stream_keepalive_s

        async def events() -> AsyncIterator[str]:
            try:
                yield ": connected\n\n"
                while True:
                    try:
                        change = await asyncio.wait_for(subscription.queue.get(), keepalive_s)
                    except TimeoutError:
                        if await request.is_disconnected():
                            return
                        yield ": keepalive\n\n"
                        continue
                    if change is None:
                        return
                    data = json.dumps(change.model_dump())
                    yield f"event: {change.event}\ndata: {data}\n\n"
            finally:
                service.broadcaster.unsubscribe(subscription)

        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(events(), media_type="text/event-stream", headers=headers)

    @app.get("/orders/{order_hash}")
    def get_order(order_hash: str) -> dict[str, Any]:
        record = service.store.get(_order_hash(order_hash))
        if record is None:
            raise Refusal("order_not_found", f"no order {order_hash} in this market")
        return record.as_json()

    @app.get("/orders/{order_hash}/deals")
    def order_deals(order_hash: str) -> dict[str, Any]:
        value = _order_hash(order_hash)
        found = service.store.deals_of(value)
        if not found and service.store.get(value) is None:
            raise Refusal("order_not_found", f"no order {order_hash} in this market")
        return OrderDealsJson(order_hash=value, deals=found).model_dump()

    @app.post("/orders/{order_hash}/unpublish")
    def unpublish(order_hash: str, sign: Annotated[str, Body(embed=True)]) -> dict[str, Any]:
        value = _order_hash(order_hash)
        record = service.store.get(value)
        if record is None:
            raise Refusal("order_not_found", f"no order {order_hash} in this market")
        if record.status != "open":
            raise Refusal(
                "order_not_open", f"order {value} is not in the book any more ({record.status})"
            )
        try:
            signature = bytes.fromhex(sign.removeprefix("0x"))
        except ValueError:
            raise Refusal("malformed_order", "sign: expected 0x and hex digits") from None
        message = unpublish_hash(from_hex(value), record.published_at)
        personal = keccak(b"\x19Ethereum Signed Message:\n32" + message)
        try:
            block = service.chain.head()
            owner = _owner_now(service.chain, record, block)
            valid = owner is not None and is_signed_by(
                service.chain, owner, personal, signature, block
            )
        except ChainError as exc:
            raise Refusal("chain_unavailable", f"cannot read the chain: {exc}") from exc
        if not valid:
            raise Refusal(
                "not_owner",
                f"the unpublish request is not signed by the order's owner {owner} for its "
                f"publication at {record.published_at!r}: sign keccak256('veritask market: "
                "unpublish order ' ‖ order hash ‖ ' published at ' ‖ published_at) with EIP-191",
            )
        if service.store.remove(value, "unpublished") is None:  # a concurrent request won
            raise Refusal("order_not_open", f"order {value} was just taken out of the book")
        changed = service.store.get(value)
        assert changed is not None
        service.broadcaster.publish(
            [
                MarketEvent(
                    event="removed",
                    order_hash=value,
                    kind=changed.kind,
                    status="unpublished",
                    remaining=changed.remaining,
                )
            ]
        )
        return changed.as_json()

    @app.get("/books/{kind}")
    def book(
        kind: str,
        asset: str | None = None,
        signer: str | None = None,
        category: _Count = None,
        min_trust: _Count = None,
        max_trust: _Count = None,
        tag: str | None = None,
        min_tag: str | None = None,
        max_tag: str | None = None,
        min_volume: Annotated[int, Query(ge=1, le=MAX_VALUE)] = 1,
        app: str | None = None,
        dataset: str | None = None,
        workerpool: str | None = None,
        requester: str | None = None,
        include_restricted: bool = False,
        page_size: Annotated[int | None, Query(ge=1)] = None,
        after: str | None = None,
    ) -> dict[str, Any]:
        if kind not in ORDER_KINDS:
            raise Refusal(
                "invalid_query", f"unknown book {kind!r}: use one of {', '.join(ORDER_KINDS)}"
            )
        size = page_size or service.settings.page_size_default
        if size > service.settings.page_size_max:
            raise Refusal(
                "invalid_query",
                f"page_size {size} is above {service.settings.page_size_max}: follow `next`",
            )
        query = BookQuery(
            kind=kind,
            asset=_address(asset, "asset"),
            signer=_address(signer, "signer"),
            category=category,
            min_trust=min_trust,
            max_trust=max_trust,
            tag=_tag(tag, "tag"),
            min_tag=_tag(min_tag, "min_tag"),
            max_tag=_tag(max_tag, "max_tag"),
            min_volume=min_volume,
            app=_address(app, "app"),
            dataset=_address(dataset, "dataset"),
            workerpool=_address(workerpool, "workerpool"),
            requester=_address(requester, "requester"),
            include_restricted=include_restricted,
            page_size=size,
            after=after,
        )
        page = service.store.book(query)
        wire = {"kind": kind, "orders": [record.wire() for record in page.orders]}
        return BookPageJson.model_validate(
            {**wire, "count": page.count, "next": page.next}
        ).model_dump()

    @app.get("/health")
    def health() -> dict[str, Any]:
        cursor = service.store.cursor()
        domain = service.chain.domain
        return {
            "status": "ok",
            "chain_id": domain.chain_id,
            "hub": domain.verifying_contract,
            "next_block": cursor.next_block if cursor else None,
        }

    @app.get("/metrics")
    def prometheus() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(metrics), media_type=CONTENT_TYPE_LATEST)

    return app
