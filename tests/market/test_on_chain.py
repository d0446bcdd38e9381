"""The market against a real anvil: orders checked against the chain (owners, ECDSA,
presignatures, ERC-1271, balances, stakes), and the follower keeping the book true to the
chain (matches, cancellations, transfers), idempotent, resumable after a restart and
rebuilt after a chain reset. The book is on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from fastapi.testclient import TestClient

from tests.devnet import RLC, Devnet, reverted, running_devnet
from veritask.chain.compiler import compile_contract
from veritask.chain.transactions import send
from veritask.domain.orders import (
    AppOrder,
    DatasetOrder,
    Order,
    RequestOrder,
    WorkerpoolOrder,
    order_digest,
)
from veritask.domain.signing import sign_order
from veritask.market import Market, MarketSettings, create_app, serve_in_thread
from veritask.sdk import MarketClient, MarketEvent, order_to_json

pytestmark = pytest.mark.anvil


def _account(name: str) -> LocalAccount:
    key: LocalAccount = Account.from_key(keccak(text=f"veritask market chain test {name}"))
    return key


DEVELOPER = _account("developer")
POOL_OWNER = _account("pool owner")
REQUESTER = _account("requester")
STRANGER = _account("stranger")


@pytest.fixture(scope="module")
def _devnet() -> Iterator[Devnet]:
    with running_devnet() as devnet:
        yield devnet


@pytest.fixture
def devnet(_devnet: Devnet) -> Iterator[Devnet]:
    with reverted(_devnet):
        yield _devnet


class Scene:
    """An app and a workerpool of other owners, funded accounts, and a market."""

    def __init__(self, devnet: Devnet, database_url: str) -> None:
        self.devnet = devnet
        self.database_url = database_url
        for account in (DEVELOPER, POOL_OWNER, REQUESTER, STRANGER):
            devnet.fund(account.address, tokens_nrlc=100 * RLC)
        devnet.client.deposit(POOL_OWNER, 10 * RLC)
        devnet.client.deposit(REQUESTER, 10 * RLC)
        self.app = devnet.client.create_app(
            DEVELOPER, "hello", "DOCKER", b"docker.io/hello", keccak(b"hello")
        )
        self.pool = devnet.client.create_workerpool(POOL_OWNER, "market pool")
        self.market = self.open()

    def open(self) -> Market:
        settings = MarketSettings(
            rpc_url=self.devnet.url,
            hub=self.devnet.hub,
            database_url=self.database_url,
            follow_chain=False,
        )
        return Market.open(settings)

    def http(self, market: Market | None = None) -> TestClient:
        target = market or self.market
        return TestClient(create_app(target.settings, market=target))

    def sign(self, order: Order, owner: LocalAccount) -> Order:
        return sign_order(order, self.devnet.client.domain, owner.key)

    def app_order(self, volume: int = 2, salt: bytes = b"\x01" * 32) -> AppOrder:
        order = self.sign(AppOrder(self.app, RLC // 2, volume, salt=salt), DEVELOPER)
        assert isinstance(order, AppOrder)
        return order

    def pool_order(self, volume: int = 5) -> WorkerpoolOrder:
        order = WorkerpoolOrder(self.pool, RLC, volume, category=0, trust=1, salt=b"\x02" * 32)
        signed = self.sign(order, POOL_OWNER)
        assert isinstance(signed, WorkerpoolOrder)
        return signed

    def request_order(self, volume: int = 1, salt: bytes = b"\x03" * 32) -> RequestOrder:
        order = RequestOrder(
            app=self.app,
            appmaxprice=RLC,
            workerpool=self.pool,
            workerpoolmaxprice=RLC,
            requester=REQUESTER.address,
            volume=volume,
            category=0,
            trust=1,
            beneficiary=REQUESTER.address,
            salt=salt,
        )
        signed = self.sign(order, REQUESTER)
        assert isinstance(signed, RequestOrder)
        return signed

    def match(self, app: AppOrder, pool: WorkerpoolOrder, request: RequestOrder) -> bytes:
        result = self.devnet.client.match_orders(REQUESTER, app, DatasetOrder(), pool, request)
        return result.deal_id

    def hash(self, order: Order) -> str:
        return "0x" + order_digest(order, self.devnet.client.domain).hex()

    def record(self, order: Order, market: Market | None = None) -> Any:
        record = (market or self.market).store.get(self.hash(order))
        assert record is not None
        return record

    def follow(self, market: Market | None = None) -> None:
        follower = (market or self.market).follower
        assert follower is not None
        follower.run_until_idle()


@pytest.fixture
def scene(devnet: Devnet, database_url: str) -> Iterator[Scene]:
    built = Scene(devnet, database_url)
    yield built
    built.market.close()


def publish(client: TestClient, order: Order) -> Any:
    return client.post("/orders", json=order_to_json(order))


def error(response: Any) -> str:
    code: str = response.json()["error"]
    return code


def test_publish__orders_checked_on_chain(scene: Scene) -> None:
    client = scene.http()
    assert publish(client, scene.app_order()).status_code == 201
    assert publish(client, scene.pool_order()).status_code == 201
    assert publish(client, scene.request_order()).status_code == 201
    by_stranger = scene.sign(AppOrder(scene.app, 1, 1, salt=b"\x09" * 32), STRANGER)
    assert error(publish(client, by_stranger)) == "not_owner"
    unknown = scene.sign(AppOrder(STRANGER.address, 1, 1), STRANGER)
    assert error(publish(client, unknown)) == "unknown_asset"
    greedy = RequestOrder(
        app=scene.app,
        appmaxprice=20 * RLC,
        requester=REQUESTER.address,
        volume=1,
        salt=b"\x07" * 32,
    )
    assert error(publish(client, scene.sign(greedy, REQUESTER))) == "insufficient_balance"
    pricey = WorkerpoolOrder(scene.pool, 40 * RLC, 1, salt=b"\x08" * 32)
    assert error(publish(client, scene.sign(pricey, POOL_OWNER))) == "insufficient_stake"


def test_publish__presigned_and_erc1271_orders__accepted(scene: Scene) -> None:
    devnet = scene.devnet
    client = scene.http()
    unsigned = AppOrder(scene.app, 1, 3, salt=b"\x05" * 32)
    send(
        devnet.w3,
        DEVELOPER,
        devnet.client.contracts.hub.functions.presign_app_order(unsigned.as_tuple()),
    )
    assert publish(client, unsigned).status_code == 201
    mock = compile_contract("mocks/erc1271_wallet.vy")
    factory = devnet.w3.eth.contract(abi=mock.abi, bytecode=mock.bytecode)
    receipt = send(devnet.w3, devnet.deployer, factory.constructor(STRANGER.address))
    wallet = str(receipt["contractAddress"])
    create = devnet.client.contracts.apps.functions.create_app(
        wallet, "walleted", "DOCKER", b"docker.io/w", keccak(b"w"), b""
    )
    send(devnet.w3, devnet.deployer, create)
    app = str(
        devnet.client.contracts.apps.functions.predict_app(
            wallet, "walleted", "DOCKER", b"docker.io/w", keccak(b"w"), b""
        ).call()
    )
    order = scene.sign(AppOrder(app, 1, 1, salt=b"\x06" * 32), STRANGER)  # the wallet's key
    response = publish(client, order)
    assert response.status_code == 201, response.text
    assert response.json()["signer"] == wallet


def test_follower__match_on_chain__fills_and_updates_orders(scene: Scene) -> None:
    client = scene.http()
    app, pool, request = (
        scene.app_order(volume=1),
        scene.pool_order(volume=5),
        scene.request_order(),
    )
    for order in (app, pool, request):
        assert publish(client, order).status_code == 201
    deal_id = scene.match(app, pool, request)
    scene.follow()
    assert scene.record(app).status == "filled"
    assert scene.record(request).status == "filled"
    assert (scene.record(pool).status, scene.record(pool).remaining) == ("open", 4)
    assert client.get("/books/app").json()["orders"] == []
    assert [o["remaining"] for o in client.get("/books/workerpool").json()["orders"]] == [4]
    deals = client.get(f"/orders/{scene.hash(pool)}/deals").json()["deals"]
    assert [d["deal_id"] for d in deals] == ["0x" + deal_id.hex()]
    assert deals[0]["volume"] == 1
    # Applying the same events again (a cursor moved back) changes nothing.
    with scene.market.store.transaction() as connection:
        scene.market.store.save_cursor(connection, 0, None)
    scene.follow()
    assert scene.record(pool).remaining == 4


def test_follower__order_published_after_its_match__not_counted_twice(scene: Scene) -> None:
    client = scene.http()
    app, pool = scene.app_order(volume=3), scene.pool_order(volume=5)
    scene.match(app, pool, scene.request_order())
    assert publish(client, pool).json()["remaining"] == 4  # read from the chain
    scene.follow()
    assert scene.record(pool).remaining == 4


def test_follower__cancel_and_transfer__remove_orders(scene: Scene) -> None:
    devnet = scene.devnet
    client = scene.http()
    app, pool = scene.app_order(), scene.pool_order()
    publish(client, app)
    publish(client, pool)
    send(
        devnet.w3,
        POOL_OWNER,
        devnet.client.contracts.hub.functions.cancel_workerpool_order(pool.as_tuple()),
    )
    transfer = devnet.client.contracts.apps.functions.transferFrom(
        DEVELOPER.address, STRANGER.address, int(scene.app, 16)
    )
    send(devnet.w3, DEVELOPER, transfer)
    scene.follow()
    assert scene.record(pool).status == "cancelled"
    assert scene.record(app).status == "owner_changed"
    assert client.get("/books/app").json()["count"] == 0
    assert error(publish(client, app)) == "not_owner"  # the former owner's order


def test_restart__resumes_from_the_cursor_without_double_applying(scene: Scene) -> None:
    client = scene.http()
    app, pool = scene.app_order(volume=3), scene.pool_order(volume=5)
    publish(client, app)
    publish(client, pool)
    scene.match(app, pool, scene.request_order(salt=b"\x0a" * 32))
    scene.follow()
    cursor = scene.market.store.cursor()
    scene.market.close()
    scene.market = scene.open()  # a new process on the same database
    assert scene.market.store.cursor() == cursor
    scene.follow()
    assert scene.record(pool).remaining == 4
    scene.match(app, pool, scene.request_order(salt=b"\x0b" * 32))
    scene.follow()
    assert (scene.record(app).remaining, scene.record(pool).remaining) == (1, 3)
    assert len(scene.market.store.deals_of(scene.hash(pool))) == 2


def test_chain_reset__rebuilds_the_book_from_the_chain(scene: Scene) -> None:
    devnet = scene.devnet
    client = scene.http()
    app, pool = scene.app_order(volume=2), scene.pool_order(volume=5)
    publish(client, app)
    publish(client, pool)
    snapshot = devnet.rpc("evm_snapshot")
    scene.match(app, pool, scene.request_order())
    scene.follow()
    assert scene.record(app).remaining == 1
    assert devnet.rpc("evm_revert", snapshot) is True
    for _ in range(3):
        devnet.rpc("evm_mine")
    scene.follow()  # sees the reset, checks the orders again, reads the events again
    assert (scene.record(app).status, scene.record(app).remaining) == ("open", 2)
    assert scene.market.store.deals_of(scene.hash(app)) == []


def test_served__follower_thread__streams_the_removal_of_a_matched_order(
    scene: Scene, tmp_path: Path
) -> None:
    settings = MarketSettings(
        rpc_url=scene.devnet.url,
        hub=scene.devnet.hub,
        database_url=f"sqlite:///{tmp_path / 'served.db'}",
        port=0,
        poll_interval_s=0.05,
    )
    app, pool, request = scene.app_order(volume=1), scene.pool_order(), scene.request_order()
    with serve_in_thread(settings) as server, MarketClient(server.url, timeout_s=5) as market:
        market.publish(app)
        events = market.stream(timeout_s=10)
        seen: list[MarketEvent] = []

        def match_when_subscribed() -> None:
            deadline = time.monotonic() + 5
            while server.market.broadcaster.subscriber_count == 0:
                assert time.monotonic() < deadline
                time.sleep(0.01)
            scene.match(app, pool, request)

        worker = threading.Thread(target=match_when_subscribed)
        worker.start()
        for event in events:
            seen.append(event)
            if event.event == "removed":
                break
        events.close()
        worker.join(10)
        assert (seen[-1].order_hash, seen[-1].status) == (scene.hash(app), "filled")
        assert market.get(scene.hash(app)).status == "filled"
        assert [d.volume for d in market.deals(scene.hash(app))] == [1]
