"""The market: an off-chain order book of one hub. Anyone publishes signed orders for free;
the market checks them against the chain, serves filtered books, and drops orders that are
filled, cancelled or whose asset changed owner by following the chain's events.

    from veritask.market import MarketSettings, serve_in_thread
    with serve_in_thread(MarketSettings(rpc_url=..., hub=..., port=0)) as server:
        print(server.url)

It talks to the chain (through `veritask.chain`) and its own database only; never to
another service. docs/market.md describes the API and the rules.
"""

from .api import create_app
from .server import MarketServer, serve, serve_in_thread
from .service import Market
from .settings import MarketSettings

__all__ = [
    "Market",
    "MarketServer",
    "MarketSettings",
    "create_app",
    "serve",
    "serve_in_thread",
]
