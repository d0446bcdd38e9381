"""`veritask order publish|unpublish`, `veritask orderbook ...` and `veritask run` picking
the market's cheapest compatible orders, against anvil and a market served on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from tests.cli.conftest import Cli, assert_error
from tests.devnet import RLC, Devnet, reverted
from veritask.domain.orders import AppOrder, WorkerpoolOrder
from veritask.domain.signing import sign_order
from veritask.market import MarketServer, MarketSettings, serve_in_thread
from veritask.sdk import save_order

pytestmark = pytest.mark.anvil

USER: LocalAccount = Account.from_key(keccak(text="veritask cli orderbook user"))
DEVELOPER: LocalAccount = Account.from_key(keccak(text="veritask cli orderbook developer"))
POOL_OWNER: LocalAccount = Account.from_key(keccak(text="veritask cli orderbook pool owner"))
PASSWORD = {"VERITASK_PASSWORD": "pw"}


@pytest.fixture(autouse=True)
def _fresh_chain(devnet: Devnet) -> Iterator[None]:
    with reverted(devnet):
        yield


@pytest.fixture
def market(devnet: Devnet, tmp_path: Path) -> Iterator[MarketServer]:
    settings = MarketSettings(
        rpc_url=devnet.url,
        hub=devnet.hub,
        database_url=f"sqlite:///{tmp_path / 'market.db'}",
        port=0,
        follow_chain=False,
    )
    server = serve_in_thread(settings)
    yield server
    server.stop()


@pytest.fixture
def offers(cli: Cli, devnet: Devnet) -> dict[str, str]:
    """A project whose wallet is USER (5 RLC deposited), and an app and a workerpool of
    other owners with their signed order files."""
    init = cli("--profile", "test", "--rpc-url", devnet.url, "--hub", devnet.hub, "init")
    assert init.exit_code == 0, init.output
    cli.import_key("0x" + bytes(USER.key).hex())
    for account in (USER, DEVELOPER, POOL_OWNER):
        devnet.fund(account.address, tokens_nrlc=100 * RLC)
    devnet.client.deposit(USER, 5 * RLC)
    devnet.client.deposit(POOL_OWNER, 10 * RLC)
    domain = devnet.client.domain
    app = devnet.client.create_app(DEVELOPER, "hello", "DOCKER", b"docker.io/hi", keccak(b"h"))
    pool = devnet.client.create_workerpool(POOL_OWNER, "pool")
    cheap = sign_order(AppOrder(app, RLC // 2, 10, salt=b"\x01" * 32), domain, DEVELOPER.key)
    dear = sign_order(AppOrder(app, RLC, 10, salt=b"\x02" * 32), domain, DEVELOPER.key)
    pool_order = WorkerpoolOrder(pool, RLC, 10, category=0, trust=1, salt=b"\x03" * 32)
    save_order(cli.folder / "cheap.json", cheap)
    save_order(cli.folder / "dear.json", dear)
    save_order(cli.folder / "pool.json", sign_order(pool_order, domain, POOL_OWNER.key))
    stranger = sign_order(AppOrder(app, 1, 1), domain, USER.key)
    save_order(cli.folder / "stranger.json", stranger)
    return {"app": app, "workerpool": pool}


def publish(cli: Cli, market: MarketServer, name: str) -> str:
    result = cli("order", "publish", name, "--market-url", market.url, "--json")
    assert result.exit_code == 0, result.output
    order_hash: str = json.loads(result.stdout)["order_hash"]
    return order_hash


def test_publish_then_orderbook__lists_best_price_first(
    cli: Cli, market: MarketServer, offers: dict[str, str]
) -> None:
    dear, cheap = publish(cli, market, "dear.json"), publish(cli, market, "cheap.json")
    listed = cli("orderbook", "app", offers["app"], "--market-url", market.url, "--json")
    assert listed.exit_code == 0, listed.output
    data = json.loads(listed.stdout)
    assert [o["order_hash"] for o in data["orders"]] == [cheap, dear]
    assert (data["count"], data["kind"]) == (2, "app")
    table = cli("orderbook", "app", "--market-url", market.url)
    assert table.exit_code == 0, table.output
    assert "2 of 2 app order(s), best price first" in table.stdout
    assert "0.5" in table.stdout
    shown = cli("orderbook", "show", cheap, "--market-url", market.url, "--json")
    assert json.loads(shown.stdout)["status"] == "open"
    human = cli("order", "publish", "pool.json", "--market-url", market.url)
    assert human.exit_code == 0, human.output
    assert human.stdout.startswith("published workerpool order 0x")
    pools = cli("orderbook", "workerpool", "--category", "0", "--market-url", market.url, "--json")
    assert json.loads(pools.stdout)["count"] == 1
    none = cli("orderbook", "workerpool", "--min-tag", "tee", "--market-url", market.url)
    assert "no open workerpool order matches" in none.stdout


def test_publish__refused__one_error_line(
    cli: Cli, market: MarketServer, offers: dict[str, str]
) -> None:
    result = cli("order", "publish", "stranger.json", "--market-url", market.url)
    assert_error(result, 2, "the market refused: the order is signed by")
    assert "(not_owner)" in result.stderr


def test_orderbook__no_market__says_how_to_set_one(cli: Cli, offers: dict[str, str]) -> None:
    assert_error(cli("orderbook", "app"), 2, "no market: set market_url in veritask.toml")


def test_unpublish__by_the_owner_wallet(
    cli: Cli, market: MarketServer, offers: dict[str, str]
) -> None:
    order_hash = publish(cli, market, "cheap.json")
    cli.import_key("0x" + bytes(DEVELOPER.key).hex())
    args = ("--wallet", DEVELOPER.address, "order", "unpublish", "cheap.json")
    result = cli(*args, "--market-url", market.url, "--json", env=PASSWORD)
    assert result.exit_code == 0, result.output
    assert (json.loads(result.stdout)["order_hash"], json.loads(result.stdout)["status"]) == (
        order_hash,
        "unpublished",
    )
    listed = cli("orderbook", "app", "--market-url", market.url, "--json")
    assert json.loads(listed.stdout)["orders"] == []


def test_run__picks_the_cheapest_market_orders(
    cli: Cli, devnet: Devnet, market: MarketServer, offers: dict[str, str]
) -> None:
    publish(cli, market, "dear.json")
    publish(cli, market, "cheap.json")
    publish(cli, market, "pool.json")
    args = ("run", offers["app"], "--trust", "1", "--market-url", market.url)
    result = cli(*args, "--yes", "--json", env=PASSWORD)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["from_market"] == ["app", "workerpool"]
    assert (data["app_price_nrlc"], data["workerpool_price_nrlc"]) == (RLC // 2, RLC)
    assert data["signed_here"] == []
    follower = market.market.follower
    assert follower is not None
    follower.run_until_idle()
    pools = cli("orderbook", "workerpool", "--market-url", market.url, "--json")
    assert [o["remaining"] for o in json.loads(pools.stdout)["orders"]] == [9]


def test_run__no_compatible_workerpool__names_the_closest(
    cli: Cli, market: MarketServer, offers: dict[str, str]
) -> None:
    publish(cli, market, "cheap.json")
    publish(cli, market, "pool.json")
    result = cli(
        "run", offers["app"], "--trust", "2", "--market-url", market.url, "--yes", env=PASSWORD
    )
    assert_error(
        result,
        2,
        f"no workerpool order matches category 0, tag none, trust 2 on the market at "
        f"{market.url}; closest: workerpool {offers['workerpool']} offers category 0, tag "
        "none, trust 1 at 1 RLC a task (10 left)",
        prompted=True,
    )
