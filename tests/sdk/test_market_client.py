"""The SDK's market client against a real market on loopback (chain faked): publish, read,
page through and unpublish, refusals as `MarketRejected` with the market's code, and a
market that fails or does not answer as `MarketUnavailable`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.devnet import closed_port_url
from tests.market.fakes import RLC, FakeChain, account, address, signed
from veritask.domain.orders import AppOrder, WorkerpoolOrder
from veritask.errors import InvalidInput, MarketRejected, MarketUnavailable
from veritask.market import MarketServer, MarketSettings, serve_in_thread
from veritask.sdk import MarketClient, parse_tag

DEVELOPER = account("developer")
SCHEDULER = account("scheduler")
APP = address("app")
POOL = address("workerpool")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[MarketServer]:
    chain = FakeChain()
    chain.register("app", APP, DEVELOPER.address)
    chain.register("workerpool", POOL, SCHEDULER.address)
    chain.balances[SCHEDULER.address] = 10 * RLC
    settings = MarketSettings(database_url=f"sqlite:///{tmp_path / 'market.db'}", port=0)
    served = serve_in_thread(settings, chain=chain)
    yield served
    served.stop()


@pytest.fixture
def market(server: MarketServer) -> Iterator[MarketClient]:
    with MarketClient(server.url, timeout_s=5) as client:
        yield client


def test_publish_get_book_unpublish(market: MarketClient) -> None:
    order = signed(AppOrder(APP, RLC, 3, salt=b"\x01" * 32), DEVELOPER)
    published = market.publish(order)
    assert (published.kind, published.status, published.remaining) == ("app", "open", 3)
    assert published.order == order
    assert market.get(published.order_hash) == published
    page = market.book("app", asset=APP)
    assert (page.count, page.next, [o.order_hash for o in page.orders]) == (
        1,
        None,
        [published.order_hash],
    )
    assert market.deals(published.order_hash) == []
    removed = market.unpublish(published.order_hash, DEVELOPER.key)
    assert removed.status == "unpublished"
    assert market.book("app").orders == ()


def test_iter_book__follows_every_page(market: MarketClient) -> None:
    for salt in range(5):
        pool = WorkerpoolOrder(POOL, salt * RLC, 1, salt=bytes([salt]) * 32, tag=parse_tag("tee"))
        market.publish(signed(pool, SCHEDULER))
    prices = [o.price for o in market.iter_book("workerpool", page_size=2, min_tag="tee")]
    assert prices == [0, RLC, 2 * RLC, 3 * RLC, 4 * RLC]
    assert market.book("workerpool", min_tag=parse_tag("tee"), category=1).count == 0


def test_refusal__raises_market_rejected_with_the_code(market: MarketClient) -> None:
    order = signed(AppOrder(APP, 1, 1), account("stranger"))
    with pytest.raises(MarketRejected) as caught:
        market.publish(order)
    assert (caught.value.code, caught.value.status) == ("not_owner", 403)
    assert isinstance(caught.value, InvalidInput)
    assert "the market refused: the order is signed by" in str(caught.value)
    with pytest.raises(MarketRejected, match="order_not_found"):
        market.get("0x" + "00" * 32)


def test_unavailable__no_server_or_server_error() -> None:
    with pytest.raises(MarketUnavailable, match="does not answer"):
        MarketClient(closed_port_url(), timeout_s=2).get("0x" + "00" * 32)

    def failing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>bad gateway</html>")

    client = MarketClient("http://market.test", transport=httpx.MockTransport(failing))
    with pytest.raises(MarketUnavailable, match="HTTP 502"):
        client.book("app")
