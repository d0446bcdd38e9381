"""Serving the market: `serve_in_thread` runs it in-process on a loopback port (the devnet,
tests), `serve` runs it in the foreground (`python -m veritask.market`)."""

from __future__ import annotations

from dataclasses import dataclass

from veritask.chain.order_facts import OrderReader
from veritask.serving import (
    RunningServer,
    bind_socket,
    serve_app_in_thread,
    serve_forever,
    socket_url,
)

from .api import create_app
from .follower import EventFeed
from .service import Market
from .settings import MarketSettings

__all__ = ["MarketServer", "serve", "serve_in_thread"]

# Streams end when the market stops; a stuck client is cut after this.
_GRACEFUL_S = 2


@dataclass
class MarketServer:
    """A market served by uvicorn in a thread; `url` is where it answers."""

    url: str
    market: Market
    _server: RunningServer

    def stop(self, timeout_s: float = 10.0) -> None:
        self.market.broadcaster.close()  # ends the streams first: nothing holds shutdown
        self._server.stop(timeout_s)
        self.market.close()

    def __enter__(self) -> MarketServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_in_thread(
    settings: MarketSettings,
    *,
    chain: OrderReader | None = None,
    feed: EventFeed | None = None,
    registries: dict[str, str] | None = None,
    startup_timeout_s: float = 10.0,
) -> MarketServer:
    """Starts the market on `settings.host:settings.port` (port 0: a free one) and returns
    once it answers."""
    market = Market.open(settings, chain=chain, feed=feed, registries=registries)
    app = create_app(settings, market=market)
    try:
        server = serve_app_in_thread(
            app,
            host=settings.host,
            port=settings.port,
            name="veritask-market",
            start_timeout_s=startup_timeout_s,
            graceful_s=_GRACEFUL_S,
        )
    except BaseException:
        market.close()
        raise
    return MarketServer(server.url, market, server)


def serve(settings: MarketSettings, *, announce: bool = True) -> None:
    """Serves in the foreground until interrupted, printing the URL once listening."""
    market = Market.open(settings)
    app = create_app(settings, market=market)
    sock = bind_socket(settings.host, settings.port)
    if announce:
        print(f"market listening on {socket_url(sock)}", flush=True)
    try:
        serve_forever(app, sock, graceful_s=_GRACEFUL_S)
    finally:
        market.close()
