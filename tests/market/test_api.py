"""The market over HTTP with the chain faked (test_on_chain.py uses anvil): publish, query
and unpublish, every refusal with its machine-readable reason and nothing stored, book
filters, sorting and pages, and a restart on the same database. Each test runs on SQLite
and on PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.market.fakes import RLC, FakeChain, account, address, signed
from veritask.domain.orders import (
    AppOrder,
    DatasetOrder,
    Order,
    RequestOrder,
    WorkerpoolOrder,
    order_digest,
)
from veritask.domain.tags import TAG_TEE, TAG_TEE_SCONE, tag_bytes
from veritask.market import MarketSettings, create_app
from veritask.sdk import order_to_json
from veritask.sdk.market import sign_unpublish

DEVELOPER = account("developer")
DATA_OWNER = account("data owner")
SCHEDULER = account("scheduler")
REQUESTER = account("requester")
STRANGER = account("stranger")
APP = address("app")
DATASET = address("dataset")
POOL = address("workerpool")


@pytest.fixture
def chain() -> FakeChain:
    fake = FakeChain()
    fake.register("app", APP, DEVELOPER.address)
    fake.register("dataset", DATASET, DATA_OWNER.address)
    fake.register("workerpool", POOL, SCHEDULER.address)
    fake.balances[SCHEDULER.address] = 100 * RLC
    fake.balances[REQUESTER.address] = 100 * RLC
    return fake


def market(database_url: str, chain: FakeChain, **settings: Any) -> TestClient:
    options: dict[str, Any] = {"max_open_orders_per_signer": 5, **settings}
    config = MarketSettings(database_url=database_url, follow_chain=False, **options)
    return TestClient(create_app(config, chain=chain))


@pytest.fixture
def client(database_url: str, chain: FakeChain) -> Iterator[TestClient]:
    with market(database_url, chain) as test_client:
        yield test_client
        test_client.app.state.market.close()  # type: ignore[attr-defined]


def app_order(price: int = RLC, volume: int = 10, salt: int = 1, **fields: Any) -> Order:
    order = AppOrder(APP, price, volume, salt=salt.to_bytes(32, "big"), **fields)
    return signed(order, DEVELOPER)


def pool_order(price: int = RLC, salt: int = 1, **fields: Any) -> Order:
    fields.setdefault("volume", 10)
    order = WorkerpoolOrder(POOL, price, salt=salt.to_bytes(32, "big"), **fields)
    return signed(order, SCHEDULER)


def request_order(max_price: int = RLC, salt: int = 1, **fields: Any) -> Order:
    order = RequestOrder(
        app=APP,
        appmaxprice=RLC,
        requester=REQUESTER.address,
        volume=1,
        workerpoolmaxprice=max_price,
        salt=salt.to_bytes(32, "big"),
        **fields,
    )
    return signed(order, REQUESTER)


def order_hash(order: Order) -> str:
    return "0x" + order_digest(order, FakeChain().domain).hex()


def publish(client: TestClient, order: Order) -> Any:
    return client.post("/orders", json=order_to_json(order))


def book(client: TestClient, kind: str, **params: Any) -> list[str]:
    response = client.get(f"/books/{kind}", params=params)
    assert response.status_code == 200, response.text
    return [item["order_hash"] for item in response.json()["orders"]]


def assert_refused(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == code
    assert body["message"]
    assert "Traceback" not in response.text


def test_publish__signed_app_order__is_in_the_book_and_readable(client: TestClient) -> None:
    order = app_order()
    response = publish(client, order)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["order_hash"] == order_hash(order)
    assert (body["status"], body["remaining"], body["signer"]) == ("open", 10, DEVELOPER.address)
    assert body["order"] == order_to_json(order)
    assert client.get(f"/orders/{order_hash(order)}").json() == body
    assert book(client, "app", asset=APP) == [order_hash(order)]
    assert client.get(f"/orders/{order_hash(order)}/deals").json()["deals"] == []


def test_publish__each_kind__lands_in_its_own_book(client: TestClient) -> None:
    dataset = signed(DatasetOrder(DATASET, RLC, 5, salt=b"\x01" * 32), DATA_OWNER)
    orders = {
        "app": app_order(),
        "dataset": dataset,
        "workerpool": pool_order(),
        "request": request_order(),
    }
    for order in orders.values():
        assert publish(client, order).status_code == 201
    for kind, order in orders.items():
        assert book(client, kind) == [order_hash(order)]


def test_unpublish__signed_by_the_owner__removes_the_order(client: TestClient) -> None:
    order = app_order()
    published_at = publish(client, order).json()["published_at"]
    digest = order_hash(order)
    sign = sign_unpublish(bytes.fromhex(digest[2:]), published_at, DEVELOPER.key)
    response = client.post(f"/orders/{digest}/unpublish", json={"sign": "0x" + sign.hex()})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "unpublished"
    assert book(client, "app") == []
    assert client.get(f"/orders/{digest}").json()["status"] == "unpublished"
    again = client.post(f"/orders/{digest}/unpublish", json={"sign": "0x" + sign.hex()})
    assert_refused(again, 409, "order_not_open")
    assert publish(client, order).status_code == 201  # published again: back in the book
    assert book(client, "app") == [digest]
    replayed = client.post(f"/orders/{digest}/unpublish", json={"sign": "0x" + sign.hex()})
    assert_refused(replayed, 403, "not_owner")  # that signature was for the first publication
    assert book(client, "app") == [digest]


def test_unpublish__by_someone_else__is_refused(client: TestClient) -> None:
    order = app_order()
    published_at = publish(client, order).json()["published_at"]
    digest = order_hash(order)
    sign = sign_unpublish(bytes.fromhex(digest[2:]), published_at, STRANGER.key)
    response = client.post(f"/orders/{digest}/unpublish", json={"sign": "0x" + sign.hex()})
    assert_refused(response, 403, "not_owner")
    assert book(client, "app") == [digest]


def test_unpublish__unknown_order__is_not_found(client: TestClient) -> None:
    digest = "0x" + "ab" * 32
    response = client.post(f"/orders/{digest}/unpublish", json={"sign": "0x00"})
    assert_refused(response, 404, "order_not_found")
    assert_refused(client.get(f"/orders/{digest}"), 404, "order_not_found")
    assert_refused(client.get("/orders/0x1234"), 400, "invalid_query")


def _consumed(order: Order, chain: FakeChain) -> Order:
    chain.consumed_volume[bytes.fromhex(order_hash(order)[2:])] = order.volume
    return order


@pytest.mark.parametrize(
    ("status", "code", "break_it"),
    [
        (422, "bad_order_signature", lambda o, c: replace(o, sign=b"\x01" * 65)),
        (422, "bad_order_signature", lambda o, c: replace(o, sign=b"")),
        (403, "not_owner", lambda o, c: signed(replace(o, sign=b""), STRANGER)),
        (422, "unknown_asset", lambda o, c: signed(replace(o, app=address("nope")), DEVELOPER)),
        (410, "order_consumed", _consumed),
    ],
    ids=["garbage", "unsigned", "stranger", "unregistered", "consumed"],
)
def test_publish__bad_app_order__is_refused_and_stores_nothing(
    client: TestClient, chain: FakeChain, status: int, code: str, break_it: Any
) -> None:
    broken = break_it(app_order(), chain)
    assert_refused(publish(client, broken), status, code)
    assert book(client, "app", include_restricted=True) == []
    assert_refused(client.get(f"/orders/{order_hash(broken)}"), 404, "order_not_found")


def test_publish__request_beyond_the_balance__is_refused(
    client: TestClient, chain: FakeChain
) -> None:
    chain.balances[REQUESTER.address] = 2 * RLC - 1  # one task may cost app 1 + pool 1 RLC
    response = publish(client, request_order(max_price=RLC))
    assert_refused(response, 422, "insufficient_balance")
    assert "deposit at least 0.000000001 RLC more" in response.json()["message"]
    chain.balances[REQUESTER.address] = 2 * RLC
    assert publish(client, request_order(max_price=RLC)).status_code == 201


def test_publish__workerpool_without_stake__is_refused(
    client: TestClient, chain: FakeChain
) -> None:
    chain.balances[SCHEDULER.address] = 3 * RLC - 1  # 30 % of 10 RLC
    assert_refused(publish(client, pool_order(price=10 * RLC)), 422, "insufficient_stake")
    chain.balances[SCHEDULER.address] = 3 * RLC
    assert publish(client, pool_order(price=10 * RLC)).status_code == 201


def test_publish__twice__is_a_duplicate(client: TestClient) -> None:
    order = app_order()
    assert publish(client, order).status_code == 201
    assert_refused(publish(client, order), 409, "duplicate_order")
    assert book(client, "app") == [order_hash(order)]


def test_publish__beyond_the_limit_per_signer__is_refused(client: TestClient) -> None:
    for salt in range(5):
        assert publish(client, app_order(salt=salt)).status_code == 201
    assert_refused(publish(client, app_order(salt=99)), 429, "too_many_orders")
    assert len(book(client, "app")) == 5
    assert publish(client, pool_order()).status_code == 201  # another signer


@pytest.mark.parametrize(
    "body",
    [
        "{not json",
        "[1, 2]",
        json.dumps({"kind": "app"}),
        json.dumps({"kind": "bike"}),
        json.dumps({**order_to_json(AppOrder(APP, 1, 1)), "volume": "ten"}),
        json.dumps({**order_to_json(AppOrder(APP, 1, 1)), "extra": 1}),
        json.dumps({**order_to_json(AppOrder(APP, 2**63, 1))}),
        json.dumps({**order_to_json(AppOrder(APP, 1, 0))}),
    ],
    ids=["not-json", "array", "missing", "kind", "type", "unknown", "too-big", "no-volume"],
)
def test_publish__malformed_body__is_refused(client: TestClient, body: str) -> None:
    response = client.post("/orders", content=body, headers={"content-type": "application/json"})
    assert_refused(response, 422, "malformed_order")
    assert book(client, "app", include_restricted=True) == []


def test_publish__chain_down__is_unavailable_and_stores_nothing(
    client: TestClient, chain: FakeChain
) -> None:
    chain.down = True
    assert_refused(publish(client, app_order()), 503, "chain_unavailable")
    chain.down = False
    assert book(client, "app") == []


def test_publish__presigned_or_erc1271__is_accepted(client: TestClient, chain: FakeChain) -> None:
    presigned = replace(app_order(salt=5), sign=b"")
    chain.presignatures[bytes.fromhex(order_hash(presigned)[2:])] = DEVELOPER.address
    assert publish(client, presigned).status_code == 201
    wallet = address("contract wallet")
    chain.register("workerpool", wallet, wallet)
    chain.balances[wallet] = 10 * RLC
    order = WorkerpoolOrder(wallet, RLC, 3, salt=b"\x02" * 32, sign=b"\x05" * 70)
    chain.wallets[wallet] = {bytes.fromhex(order_hash(order)[2:])}
    assert publish(client, order).status_code == 201
    chain.wallets[wallet] = set()
    assert_refused(publish(client, replace(order, salt=b"\x03" * 32)), 422, "bad_order_signature")


def test_book__sorted_by_price_then_age__in_pages(client: TestClient) -> None:
    prices = [3, 1, 2, 1, 3]
    orders = [app_order(price=price * RLC, salt=salt) for salt, price in enumerate(prices)]
    for order in orders:
        publish(client, order)
    expected = [order_hash(orders[i]) for i in (1, 3, 2, 0, 4)]
    seen: list[str] = []
    after = None
    for _ in range(3):
        params: dict[str, Any] = {"page_size": 2}
        if after:
            params["after"] = after
        page = client.get("/books/app", params=params).json()
        assert page["count"] == 5
        seen += [item["order_hash"] for item in page["orders"]]
        after = page["next"]
    assert seen == expected
    assert after is None
    assert_refused(client.get("/books/app", params={"after": "x"}), 400, "invalid_query")
    assert_refused(client.get("/books/app", params={"page_size": 5000}), 400, "invalid_query")
    assert_refused(client.get("/books/bike"), 400, "invalid_query")
    assert_refused(client.get("/books/app", params={"page_size": "many"}), 400, "invalid_query")


def test_book__requests__highest_bid_first(client: TestClient) -> None:
    low, high = request_order(max_price=RLC, salt=1), request_order(max_price=2 * RLC, salt=2)
    publish(client, low)
    publish(client, high)
    assert book(client, "request") == [order_hash(high), order_hash(low)]
    assert book(client, "request", app=APP, requester=REQUESTER.address) == [
        order_hash(high),
        order_hash(low),
    ]
    assert book(client, "request", requester=STRANGER.address) == []


def test_book__workerpool_filters__category_trust_tag_volume(client: TestClient) -> None:
    plain = pool_order(salt=1, category=0, trust=1)
    tee = pool_order(salt=2, category=0, trust=3, tag=tag_bytes(TAG_TEE_SCONE))
    other = pool_order(salt=3, category=2, trust=0, volume=1)
    for order in (plain, tee, other):
        publish(client, order)
    h = {name: order_hash(o) for name, o in (("plain", plain), ("tee", tee), ("other", other))}
    assert book(client, "workerpool", category=0) == [h["plain"], h["tee"]]
    assert book(client, "workerpool", min_trust=2) == [h["tee"]]
    assert book(client, "workerpool", min_trust=1, max_trust=1) == [h["plain"]]
    assert book(client, "workerpool", min_tag="tee") == [h["tee"]]
    assert book(client, "workerpool", tag="scone") == [h["tee"]]
    assert book(client, "workerpool", max_tag="none") == [h["plain"], h["other"]]
    assert book(client, "workerpool", max_tag="0x" + "f" * 64) == list(h.values())
    assert book(client, "workerpool", min_volume=2) == [h["plain"], h["tee"]]
    assert book(client, "workerpool", asset=POOL, signer=SCHEDULER.address) == list(h.values())
    assert_refused(
        client.get("/books/workerpool", params={"min_tag": "gold"}), 400, "invalid_query"
    )


def test_book__high_tag_bits__filter_exactly(client: TestClient) -> None:
    high = 1 << 255 | 1 << 64 | TAG_TEE
    wide = pool_order(salt=1, tag=tag_bytes(high))
    publish(client, wide)
    assert book(client, "workerpool", min_tag=f"0x{1 << 255:064x}") == [order_hash(wide)]
    assert book(client, "workerpool", max_tag=f"0x{high ^ TAG_TEE:064x}") == []
    assert book(client, "workerpool", max_tag=f"0x{high:064x}") == [order_hash(wide)]


def test_book__restricted_orders__only_for_their_counterpart(client: TestClient) -> None:
    public = app_order(salt=1)
    private = app_order(salt=2, requesterrestrict=REQUESTER.address)
    publish(client, public)
    publish(client, private)
    assert book(client, "app") == [order_hash(public)]
    assert book(client, "app", requester=REQUESTER.address) == [
        order_hash(public),
        order_hash(private),
    ]
    assert book(client, "app", requester=STRANGER.address) == [order_hash(public)]
    assert book(client, "app", include_restricted=True) == [
        order_hash(public),
        order_hash(private),
    ]
    assert_refused(client.get("/books/app", params={"requester": "0x12"}), 400, "invalid_query")


def test_restart__same_database__keeps_the_book(database_url: str, chain: FakeChain) -> None:
    order = app_order()
    with market(database_url, chain) as first:
        publish(first, order)
        first.app.state.market.close()  # type: ignore[attr-defined]
    with market(database_url, chain) as second:
        assert book(second, "app") == [order_hash(order)]
        assert_refused(publish(second, order), 409, "duplicate_order")
        second.app.state.market.close()  # type: ignore[attr-defined]


def test_unknown_route__answers_in_the_error_format(client: TestClient) -> None:
    assert_refused(client.get("/nowhere"), 404, "not_found")
    assert client.get("/health").json()["status"] == "ok"
    assert "market_orders_published" in client.get("/metrics").text
