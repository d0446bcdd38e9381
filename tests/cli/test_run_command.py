"""`veritask run` and `veritask category` end to end against anvil: a run of the wallet's
own assets, a run from other owners' signed order files, refusals and an unconfirmed run
that send nothing, and the category commands."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from tests.cli.conftest import Cli, assert_error
from tests.devnet import RLC, Devnet, reverted
from veritask.domain.ids import task_id
from veritask.domain.orders import AppOrder, WorkerpoolOrder, order_digest
from veritask.domain.signing import sign_order
from veritask.sdk import random_salt, save_order

pytestmark = pytest.mark.anvil

USER: LocalAccount = Account.from_key(keccak(text="veritask cli run test user"))
DEVELOPER: LocalAccount = Account.from_key(keccak(text="veritask cli run developer"))
POOL_OWNER: LocalAccount = Account.from_key(keccak(text="veritask cli run pool owner"))
PASSWORD = {"VERITASK_PASSWORD": "pw"}


@pytest.fixture(autouse=True)
def _fresh_chain(devnet: Devnet) -> Iterator[None]:
    with reverted(devnet):
        yield


@pytest.fixture
def project(cli: Cli, devnet: Devnet) -> Cli:
    init = cli("--profile", "test", "--rpc-url", devnet.url, "--hub", devnet.hub, "init")
    assert init.exit_code == 0, init.output
    cli.import_key("0x" + bytes(USER.key).hex())
    for account in (USER, DEVELOPER, POOL_OWNER):
        devnet.fund(account.address, tokens_nrlc=100 * RLC)
    devnet.client.deposit(USER, 5 * RLC)
    devnet.client.deposit(POOL_OWNER, 10 * RLC)
    return cli


@pytest.fixture
def offers(project: Cli, devnet: Devnet) -> dict[str, object]:
    """An app and a workerpool of other owners, with their signed order files."""
    domain = devnet.client.domain
    app = devnet.client.create_app(DEVELOPER, "hello", "DOCKER", b"docker.io/hello", keccak(b"a"))
    pool = devnet.client.create_workerpool(POOL_OWNER, "pool")
    app_order = sign_order(AppOrder(app, RLC // 2, 10, salt=random_salt()), domain, DEVELOPER.key)
    pool_order = sign_order(
        WorkerpoolOrder(pool, RLC, 10, category=0, trust=1, salt=random_salt()),
        domain,
        POOL_OWNER.key,
    )
    save_order(project.folder / "app.json", app_order)
    save_order(project.folder / "pool.json", pool_order)
    return {"app": app, "workerpool": pool, "app_order": app_order, "pool_order": pool_order}


def _consumed(devnet: Devnet, *orders: object) -> tuple[int, ...]:
    hub = devnet.client.contracts.hub.functions
    return tuple(
        int(hub.consumed(order_digest(order, devnet.client.domain)).call())  # type: ignore[arg-type]
        for order in orders
    )


def _nothing_changes(devnet: Devnet, offers: dict[str, object]) -> tuple[object, ...]:
    return (
        devnet.balances(USER.address),
        devnet.balances(POOL_OWNER.address),
        _consumed(devnet, offers["app_order"], offers["pool_order"]),
    )


def test_run__own_assets(project: Cli, devnet: Devnet) -> None:
    app = devnet.client.create_app(USER, "mine", "DOCKER", b"docker.io/mine", keccak(b"m"))
    devnet.client.create_workerpool(USER, "my pool")
    result = project(
        "run",
        app,
        "--volume",
        "2",
        "--args",
        "hi",
        "--yes",
        "--watch",
        "--timeout",
        "0.3",
        env=PASSWORD,
    )
    assert result.exit_code == 5, result.output  # no worker runs on this devnet
    lines = result.stdout.splitlines()
    deal_line = next(line for line in lines if line.startswith("deal 0x"))
    deal = bytes.fromhex(deal_line.split()[1].removesuffix(":")[2:])
    for index in range(2):
        assert f"task {index} 0x{task_id(deal, index).hex()} waiting for a worker" in lines
        assert any(
            line.startswith(f"task {index} 0x{task_id(deal, index).hex()}: UNSET") for line in lines
        )
    assert "orders signed by the wallet: app, workerpool (price 0)" in lines
    assert lines[-1] == "0 of 2 tasks completed (still running after 0.3 s)"


def test_run__order_files_json(project: Cli, devnet: Devnet, offers: dict[str, object]) -> None:
    app = str(offers["app"])
    result = project(
        "--json", "run", app, "--app-order", "app.json", "--workerpool-order", "pool.json",
        "--trust", "1", "--input-files", "https://x/1", "--input-files", "https://x/2",
        "--volume", "3", "--yes", env=PASSWORD,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["volume"] == 3
    assert len(data["task_ids"]) == 3
    assert data["total_nrlc"] == 3 * (RLC // 2 + RLC)
    assert json.loads(data["params"])["iexec_input_files"] == ["https://x/1", "https://x/2"]
    assert devnet.client.account(USER.address) == (5 * RLC - 9 * RLC // 2, 9 * RLC // 2)
    assert _consumed(devnet, offers["app_order"], offers["pool_order"]) == (3, 3)


def test_run__shows_the_cost_and_asks(
    project: Cli, devnet: Devnet, offers: dict[str, object]
) -> None:
    before = _nothing_changes(devnet, offers)
    args = ("run", str(offers["app"]), "--app-order", "app.json", "--workerpool-order")
    result = project(*args, "pool.json", "--volume", "2", env=PASSWORD, input="n\n")
    assert result.exit_code == 2, result.output
    table = " ".join(result.stdout.split())
    assert f"app │ {offers['app']} │ 0.5 │ 1" in table
    assert f"workerpool │ {offers['workerpool']} │ 1 │ 2" in table
    assert "total │ 2 task(s) │ 1.5 │ 3" in table
    assert "Pay 3 RLC for 2 task(s)? [y/N]" in result.stdout
    assert result.stderr.strip() == "error: not confirmed: nothing sent (answer y, or pass --yes)"
    assert _nothing_changes(devnet, offers) == before
    confirmed = project(*args, "pool.json", env=PASSWORD, input="y\n")
    assert confirmed.exit_code == 0, confirmed.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--workerpool-order", "pool.json", "--volume", "4"),
         "insufficient balance: deposit 1 RLC more with `veritask account deposit 1`"),
        ((), "no workerpool order: pass --workerpool-order FILE (signed by the workerpool owner), "
             "or run a workerpool you own; or set market_url in veritask.toml (or --market-url) "
             "to pick orders from a market"),
        (("--workerpool-order", "pool.json", "--category", "2"),
         "category mismatch: the workerpool order is for category 0"),
        (("--workerpool-order", "pool.json", "--trust", "2"),
         "trust mismatch: the workerpool order offers trust up to 1"),
        (("--workerpool-order", "pool.json", "--tag", "tee"),
         "tag mismatch (matching: tag not offered by workerpool)"),
        (("--workerpool-order", "pool.json", "--max-price", "1"),
         "price too high: a task costs 1.5 RLC"),
        (("--workerpool-order", "app.json"),
         "--workerpool-order app.json: this is an app order, not a workerpool order"),
        (("--workerpool-order", "pool.json", "--json"), "--json needs --yes"),
    ],
)  # fmt: skip
def test_run__refusals_send_nothing(
    project: Cli,
    devnet: Devnet,
    offers: dict[str, object],
    extra: tuple[str, ...],
    message: str,
) -> None:
    before = _nothing_changes(devnet, offers)
    yes = () if "--json" in extra else ("--yes",)
    result = project(
        "run", str(offers["app"]), "--app-order", "app.json", *extra, *yes, env=PASSWORD
    )
    assert_error(result, 2, message)
    assert _nothing_changes(devnet, offers) == before


def test_category_list_show(project: Cli) -> None:
    listed = project("--json", "category", "list")
    assert listed.exit_code == 0, listed.output
    names = [c["name"] for c in json.loads(listed.stdout)["categories"]]
    assert names == ["XS", "S", "M", "L", "XL"]
    table = " ".join(project("category", "show", "2").stdout.split())
    assert "reference time C │ 3600 s" in table
    assert_error(project("category", "show", "7"), 2, "unknown category 7: there are 5")


def test_category_create__owner_only(project: Cli, devnet: Devnet) -> None:
    before = devnet.balances(USER.address)
    refused = project("category", "create", "XXL", "--time-ref", "100000", env=PASSWORD)
    assert_error(refused, 2, f"only the hub owner {devnet.deployer.address} may create a category")
    assert devnet.balances(USER.address) == before
    project.import_key("0x" + bytes(devnet.deployer.key).hex())
    created = project(
        "--wallet", devnet.deployer.address, "category", "create", "XXL",
        "--time-ref", "100000", "--description", '{"size": "xxl"}', env=PASSWORD,
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    assert created.stdout.startswith("created category 5 XXL (C = 100000 s): tx 0x")
    bad = project(
        "--wallet", devnet.deployer.address, "category", "create", "X", "--time-ref", "1",
        "--description", "{oops", env=PASSWORD,
    )  # fmt: skip
    assert_error(bad, 2, "--description is not JSON")
