"""Latency of the market with 10 000 orders in the book: publish (HTTP, signature check,
database write) and queries (filtered, sorted pages, one order), p50 and p99.

The chain is an in-memory view answering at once, so the figures are the market's own cost;
against a node each publish adds its chain reads (owner, consumed volume, balance: three to
four `eth_call`s at one block). The server runs on loopback in this process.

    .venv/bin/python benchmarks/market.py --json market.json
    .venv/bin/python benchmarks/market.py --json market-pg.json \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from veritask.domain.orders import (
    AppOrder,
    DatasetOrder,
    Domain,
    Order,
    RequestOrder,
    WorkerpoolOrder,
    order_digest,
)
from veritask.domain.signing import sign_order
from veritask.market import MarketSettings, serve_in_thread
from veritask.market.store import Store
from veritask.market.validation import CheckedOrder
from veritask.sdk import order_to_json

DOMAIN = Domain(31337, to_checksum_address("0x" + "11" * 20))
RLC = 10**9
TEE = (1).to_bytes(32, "big")


@dataclass
class InstantChain:
    """A `ChainView` in memory: every asset is registered to `owner`, every balance is
    plenty, nothing is consumed."""

    owners: dict[str, str] = field(default_factory=dict)
    domain: Domain = DOMAIN

    def head(self) -> int:
        return 1

    def asset_owner(self, kind: str, asset: str, block: int) -> str | None:
        return self.owners.get(asset)

    def consumed(self, order_hash: bytes, block: int) -> int:
        return 0

    def presigned(self, order_hash: bytes, block: int) -> str:
        return "0x" + "00" * 20

    def is_contract(self, address: str, block: int) -> bool:
        return False

    def erc1271_valid(self, signer: str, digest: bytes, signature: bytes, block: int) -> bool:
        return False

    def free_balance(self, address: str, block: int) -> int:
        return 10**18


def _address(text: str) -> str:
    return to_checksum_address(keccak(text=text)[:20])


def _key(name: str) -> LocalAccount:
    account: LocalAccount = Account.from_key(keccak(text=f"market benchmark {name}"))
    return account


OWNER = _key("owner")
APPS = [_address(f"app {i}") for i in range(100)]
DATASETS = [_address(f"dataset {i}") for i in range(20)]
POOLS = [_address(f"pool {i}") for i in range(50)]


def _random_order(rng: random.Random, index: int) -> Order:
    salt = index.to_bytes(32, "big")
    price = rng.randrange(0, 100) * RLC // 10
    roll = rng.random()
    if roll < 0.4:
        return AppOrder(rng.choice(APPS), price, rng.randrange(1, 100), salt=salt)
    if roll < 0.5:
        return DatasetOrder(rng.choice(DATASETS), price, rng.randrange(1, 100), salt=salt)
    if roll < 0.9:
        return WorkerpoolOrder(
            rng.choice(POOLS),
            price,
            rng.randrange(1, 100),
            tag=TEE if rng.random() < 0.3 else bytes(32),
            category=rng.randrange(5),
            trust=rng.randrange(4),
            salt=salt,
        )
    return RequestOrder(
        app=rng.choice(APPS),
        appmaxprice=price,
        requester=OWNER.address,
        volume=1,
        workerpoolmaxprice=price,
        category=rng.randrange(5),
        salt=salt,
    )


def _fill(store: Store, count: int, rng: random.Random) -> None:
    for index in range(count):
        order = _random_order(rng, index)
        digest = order_digest(order, DOMAIN)
        store.insert(
            CheckedOrder(order, _kind(order), digest, OWNER.address, 0, 1), order_to_json(order)
        )


def _kind(order: Order) -> str:
    return {AppOrder: "app", DatasetOrder: "dataset", WorkerpoolOrder: "workerpool"}.get(
        type(order), "request"
    )


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "count": len(ordered),
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 3),
        "max_ms": round(ordered[-1] * 1000, 3),
    }


def _timed(call: Callable[[], httpx.Response], expected: int) -> float:
    start = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - start
    if response.status_code != expected:
        raise SystemExit(f"unexpected answer {response.status_code}: {response.text}")
    return elapsed


def run(database_url: str, orders: int, samples: int) -> dict[str, Any]:
    rng = random.Random(7)
    chain = InstantChain(dict.fromkeys((*APPS, *DATASETS, *POOLS), OWNER.address))
    settings = MarketSettings(
        database_url=database_url, port=0, max_open_orders_per_signer=10**9, follow_chain=False
    )
    server = serve_in_thread(settings, chain=chain)  # type: ignore[arg-type]
    try:
        fill_start = time.perf_counter()
        _fill(server.market.store, orders, rng)
        fill_s = time.perf_counter() - fill_start
        fresh = [
            sign_order(_random_order(rng, orders + i), DOMAIN, OWNER.key) for i in range(samples)
        ]
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for _ in range(10):  # warm-up: connections, caches
                http.get("/books/app", params={"page_size": 20})
            publish = [
                _timed(lambda o=o: http.post("/orders", json=order_to_json(o)), 201) for o in fresh
            ]
            queries: list[tuple[str, dict[str, Any]]] = []
            for _ in range(samples):
                queries.append(
                    (
                        "/books/workerpool",
                        {
                            "category": rng.randrange(5),
                            "min_trust": rng.randrange(3),
                            "min_tag": rng.choice(["none", "tee"]),
                            "page_size": 20,
                        },
                    )
                )
                queries.append(("/books/app", {"asset": rng.choice(APPS), "page_size": 20}))
            query = [_timed(lambda q=q: http.get(q[0], params=q[1]), 200) for q in queries]
            hashes = ["0x" + order_digest(o, DOMAIN).hex() for o in fresh]
            get = [_timed(lambda h=h: http.get(f"/orders/{h}"), 200) for h in hashes]
            total = http.get("/books/workerpool", params={"include_restricted": "true"}).json()
    finally:
        server.stop()
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    return {
        "backend": backend,
        "orders_in_book": orders + samples,
        "fill_s": round(fill_s, 2),
        "publish": _percentiles(publish),
        "query_book": _percentiles(query),
        "get_order": _percentiles(get),
        "workerpool_orders": total["count"],
    }


def _postgres_schema(url: str) -> tuple[str, str]:
    schema = f"market_bench_{uuid.uuid4().hex[:8]}"
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    return schema, f"{url}?options=-csearch_path%3D{schema}"


def _drop_schema(url: str, schema: str) -> None:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    parser.add_argument("--orders", type=int, default=10_000, help="orders in the book")
    parser.add_argument("--samples", type=int, default=500, help="timed requests of each kind")
    parser.add_argument("--database-url", help="default: a SQLite file in a temporary folder")
    args = parser.parse_args()
    if args.database_url and args.database_url.startswith("postgresql"):
        schema, url = _postgres_schema(args.database_url)
        try:
            figures = run(url, args.orders, args.samples)
        finally:
            _drop_schema(args.database_url, schema)
    elif args.database_url:
        figures = run(args.database_url, args.orders, args.samples)
    else:
        with tempfile.TemporaryDirectory() as folder:
            figures = run(f"sqlite:///{folder}/market.db", args.orders, args.samples)
    print(f"market with {figures['orders_in_book']} orders ({figures['backend']}):")
    for name in ("publish", "query_book", "get_order"):
        row = figures[name]
        print(f"  {name:<11} p50 {row['p50_ms']:8.2f} ms   p99 {row['p99_ms']:8.2f} ms")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
