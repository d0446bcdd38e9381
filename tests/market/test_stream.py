"""The market served on a real loopback port: server-sent events of published, updated and
removed orders, read by a real HTTP client with bounded timeouts; a stopped server ends its
streams; `python -m veritask.market` prints its URL and serves."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.market.fakes import FakeChain, account, address, signed
from veritask.domain.orders import AppOrder
from veritask.errors import MarketUnavailable
from veritask.market import MarketServer, MarketSettings, serve_in_thread
from veritask.sdk import MarketClient

DEVELOPER = account("developer")
APP = address("app")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[MarketServer]:
    chain = FakeChain()
    chain.register("app", APP, DEVELOPER.address)
    settings = MarketSettings(
        database_url=f"sqlite:///{tmp_path / 'market.db'}", port=0, stream_keepalive_s=0.2
    )
    served = serve_in_thread(settings, chain=chain)
    yield served
    served.stop()


def when_subscribed(server: MarketServer, action: Callable[[], object]) -> threading.Thread:
    """Runs `action` in a thread once a stream subscriber is connected."""

    def run() -> None:
        deadline = time.monotonic() + 5
        while server.market.broadcaster.subscriber_count == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        action()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_stream__publish_and_unpublish__are_streamed(server: MarketServer) -> None:
    order = signed(AppOrder(APP, 1, 1, salt=b"\x01" * 32), DEVELOPER)
    with MarketClient(server.url, timeout_s=5) as market:

        def publish_then_unpublish() -> None:
            item = market.publish(order)
            market.unpublish(item.order_hash, DEVELOPER.key)

        events = market.stream(timeout_s=5)
        thread = when_subscribed(server, publish_then_unpublish)
        first, second = next(events), next(events)
        events.close()
        thread.join(5)
    assert (first.event, first.kind, first.remaining) == ("published", "app", 1)
    assert (second.event, second.status) == ("removed", "unpublished")
    assert first.order_hash == second.order_hash


def test_stream__raw_sse_format__event_and_json_data(server: MarketServer) -> None:
    order = signed(AppOrder(APP, 1, 1, salt=b"\x02" * 32), DEVELOPER)
    timeout = httpx.Timeout(5.0)
    with (
        httpx.Client(base_url=server.url, timeout=timeout) as http,
        http.stream("GET", "/orders/stream") as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        thread = when_subscribed(server, lambda: MarketClient(server.url).publish(order))
        lines: list[str] = []
        for line in response.iter_lines():
            lines.append(line)
            if line.startswith("data:"):
                break
        thread.join(5)
    assert "event: published" in lines
    assert '"event": "published"' in lines[-1]


def test_stream__server_stops__stream_ends(tmp_path: Path) -> None:
    settings = MarketSettings(database_url=f"sqlite:///{tmp_path / 'm.db'}", port=0)
    served = serve_in_thread(settings, chain=FakeChain())
    market = MarketClient(served.url, timeout_s=5)
    events = market.stream(timeout_s=5)
    stopper = when_subscribed(served, served.stop)
    with pytest.raises((StopIteration, MarketUnavailable)):
        next(events)
    stopper.join(15)
    assert not stopper.is_alive()
    with pytest.raises(MarketUnavailable):
        market.get("0x" + "00" * 32)


@pytest.mark.anvil
def test_main__prints_its_url_and_serves(tmp_path: Path) -> None:
    from tests.devnet import running_devnet

    with running_devnet() as devnet:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "veritask.market",
                "--rpc-url",
                devnet.url,
                "--hub",
                devnet.hub,
                "--database-url",
                f"sqlite:///{tmp_path / 'main.db'}",
                "--port",
                "0",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line.startswith("market listening on http://127.0.0.1:"), line
            url = line.split()[-1]
            health = httpx.get(f"{url}/health", timeout=5).json()
            assert (health["status"], health["hub"]) == ("ok", devnet.hub)
        finally:
            process.terminate()
            process.wait(10)
