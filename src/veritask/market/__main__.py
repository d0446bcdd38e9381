"""`python -m veritask.market --rpc-url URL --hub ADDRESS [--database-url URL] [--host H]
[--port P]`: serves the market in the foreground and prints its URL. Flags override the
`VERITASK_MARKET_*` environment variables."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from veritask.errors import VeritaskError

from .server import serve
from .settings import MarketSettings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m veritask.market", description="The Veritask market (order book)."
    )
    parser.add_argument("--rpc-url", help="JSON-RPC URL of the node")
    parser.add_argument("--hub", help="the hub's address")
    parser.add_argument("--database-url", help="SQLAlchemy URL (default sqlite file)")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default 8600; 0: any free port)")
    parser.add_argument("--start-block", type=int, help="first block to follow")
    args = parser.parse_args(argv)
    overrides: dict[str, Any] = {
        name: value for name, value in vars(args).items() if value is not None
    }
    try:
        settings = MarketSettings(**overrides)
        serve(settings)
    except ValidationError as exc:
        print(f"error: bad setting: {exc}", file=sys.stderr)
        return 2
    except VeritaskError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
