"""`Veritask.runs` and `Veritask.categories` against anvil: runs from the wallet's own
assets and from other owners' signed orders; every refusal sends nothing (balances, nonce,
consumed volumes unchanged)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak

from tests.devnet import RLC, Devnet, reverted, running_devnet
from veritask.chain.compiler import compile_contract
from veritask.chain.transactions import send
from veritask.domain.ids import task_id
from veritask.domain.orders import AppOrder, DatasetOrder, WorkerpoolOrder
from veritask.domain.signing import sign_order
from veritask.errors import InvalidInput
from veritask.sdk import Profile, RunRequest, Veritask, parse_tag, random_salt

pytestmark = pytest.mark.anvil

REQUESTER: LocalAccount = Account.from_key(keccak(text="veritask sdk run requester"))
DEVELOPER: LocalAccount = Account.from_key(keccak(text="veritask sdk run developer"))
POOL_OWNER: LocalAccount = Account.from_key(keccak(text="veritask sdk run pool owner"))
DATA_OWNER: LocalAccount = Account.from_key(keccak(text="veritask sdk run data owner"))


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with running_devnet() as node:
        for account in (REQUESTER, DEVELOPER, POOL_OWNER, DATA_OWNER):
            node.fund(account.address, tokens_nrlc=100 * RLC)
        node.client.deposit(REQUESTER, 10 * RLC)
        node.client.deposit(POOL_OWNER, 10 * RLC)
        yield node


@pytest.fixture(autouse=True)
def _fresh_chain(devnet: Devnet) -> Iterator[None]:
    with reverted(devnet):
        yield


def _client(devnet: Devnet, account: LocalAccount = REQUESTER) -> Veritask:
    return Veritask(Profile("test", rpc_url=devnet.url, hub=devnet.hub), account)


@pytest.fixture
def market(devnet: Devnet) -> dict[str, object]:
    """An app, a dataset and a workerpool of three other owners, with signed orders."""
    domain = devnet.client.domain
    app = devnet.client.create_app(DEVELOPER, "hello", "DOCKER", b"docker.io/hello", keccak(b"a"))
    dataset = devnet.client.create_dataset(DATA_OWNER, "data", b"ipfs://data", keccak(b"d"))
    pool = devnet.client.create_workerpool(POOL_OWNER, "pool")
    return {
        "app": app,
        "dataset": dataset,
        "workerpool": pool,
        "app_order": sign_order(AppOrder(app, RLC, 5, salt=random_salt()), domain, DEVELOPER.key),
        "dataset_order": sign_order(
            DatasetOrder(dataset, RLC // 2, 5, salt=random_salt()), domain, DATA_OWNER.key
        ),
        "workerpool_order": sign_order(
            WorkerpoolOrder(pool, 2 * RLC, 2, category=1, trust=1, salt=random_salt()),
            domain,
            POOL_OWNER.key,
        ),
    }


def _state(devnet: Devnet, client: Veritask, *orders: object) -> tuple[object, ...]:
    hashes = [client.orders.order_hash(order) for order in orders]  # type: ignore[arg-type]
    consumed = [int(devnet.client.contracts.hub.functions.consumed(h).call()) for h in hashes]
    return (
        devnet.balances(REQUESTER.address),
        devnet.balances(POOL_OWNER.address),
        tuple(consumed),
    )


def test_run__all_assets_owned_by_the_wallet(devnet: Devnet) -> None:
    client = _client(devnet)
    app = client.assets.deploy_app("mine", "docker.io/me/mine:1").address
    client.assets.deploy_workerpool("my pool")
    result = client.runs.run(RunRequest(app=app, volume=3, args="--x 1", input_files=("u",)))
    plan = result.plan
    assert plan.signed_here == ("app", "workerpool")
    assert plan.total_nrlc == 0
    assert result.volume == 3
    assert result.task_ids == tuple(task_id(result.deal_id, i) for i in range(3))
    assert json.loads(plan.request_order.params) == {
        "iexec_args": "--x 1",
        "iexec_input_files": ["u"],
    }
    deal = devnet.client.deal(result.deal_id)
    assert (deal.requester, deal.bot_size) == (REQUESTER.address, 3)


def test_run__orders_of_other_owners(devnet: Devnet, market: dict[str, object]) -> None:
    client = _client(devnet)
    before = devnet.balances(REQUESTER.address)[0]
    result = client.runs.run(
        RunRequest(
            app=str(market["app"]),
            dataset=str(market["dataset"]),
            category=1,
            trust=1,
            volume=3,
            app_order=market["app_order"],  # type: ignore[arg-type]
            dataset_order=market["dataset_order"],  # type: ignore[arg-type]
            workerpool_order=market["workerpool_order"],  # type: ignore[arg-type]
        )
    )
    # The workerpool order has 2 tasks left: the deal takes 2.
    assert result.volume == 2
    assert len(result.task_ids) == 2
    assert result.plan.total_nrlc == 2 * (RLC + RLC // 2 + 2 * RLC)
    assert devnet.balances(REQUESTER.address)[0] == before - result.plan.total_nrlc
    stake = 2 * (2 * RLC * 30 // 100)
    assert devnet.client.account(POOL_OWNER.address) == (10 * RLC - stake, stake)


def _wallet_owned_app(devnet: Devnet, key: LocalAccount) -> str:
    """An app owned by an ERC-1271 contract wallet that vouches for `key`'s signatures."""
    mock = compile_contract("mocks/erc1271_wallet.vy")
    factory = devnet.w3.eth.contract(abi=mock.abi, bytecode=mock.bytecode)
    wallet = str(
        send(devnet.w3, devnet.deployer, factory.constructor(key.address))["contractAddress"]
    )
    fields = (wallet, "walleted", "DOCKER", b"docker.io/walleted", keccak(b"w"), b"")
    send(devnet.w3, devnet.deployer, devnet.client.contracts.apps.functions.create_app(*fields))
    return devnet.client.predict_app(*fields)


def test_run__app_order_of_a_contract_wallet__is_matchable_and_matched(
    devnet: Devnet, market: dict[str, object]
) -> None:
    """An order signed for a contract wallet (ERC-1271) is usable, as the hub and the market
    say: the SDK once called it "mismatch" and `run` skipped it."""
    wallet_key: LocalAccount = Account.from_key(keccak(text="veritask sdk run wallet key"))
    app = _wallet_owned_app(devnet, wallet_key)
    order = sign_order(
        AppOrder(app, RLC, 1, salt=random_salt()), devnet.client.domain, wallet_key.key
    )
    client = _client(devnet)

    status = client.orders.status(order)
    assert (status.signature, status.matchable, status.reason) == ("erc1271", True, "")
    result = client.runs.run(
        RunRequest(
            app=app,
            category=1,
            app_order=order,
            workerpool_order=market["workerpool_order"],  # type: ignore[arg-type]
        )
    )
    assert result.volume == 1
    assert client.orders.status(order).reason.startswith("no volume left: 1 of 1 used")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"workerpool_order": None}, "no workerpool order: pass --workerpool-order FILE"),
        ({"app_order": None}, "no app order: pass --app-order FILE"),
        ({"category": 0}, "category mismatch: the workerpool order is for category 1"),
        ({"category": 9}, "unknown category 9"),
        ({"trust": 2}, "trust mismatch: the workerpool order offers trust up to 1"),
        ({"tag": parse_tag("tee")}, "tag mismatch (matching: tag not offered by workerpool)"),
        ({"max_price_nrlc": RLC}, "price too high: a task costs 3.5 RLC"),
        ({"volume": 4, "category": 1}, "insufficient balance: deposit 4 RLC more"),
        ({"workerpool": "0x" + "11" * 20}, "restricted: the run allows only workerpool"),
    ],
)
def test_run__refusals_send_nothing(
    devnet: Devnet, market: dict[str, object], change: dict[str, object], message: str
) -> None:
    client = _client(devnet)
    orders = (market["app_order"], market["dataset_order"], market["workerpool_order"])
    before = _state(devnet, client, *orders)
    fields: dict[str, object] = {
        "app": market["app"],
        "dataset": market["dataset"],
        "category": 1,
        "trust": 1,
        "volume": 1,
        "app_order": market["app_order"],
        "dataset_order": market["dataset_order"],
        "workerpool_order": market["workerpool_order"],
        **change,
    }
    if change.get("volume") == 4:
        fields["workerpool_order"] = sign_order(
            WorkerpoolOrder(str(market["workerpool"]), 2 * RLC, 9, category=1, trust=1),
            devnet.client.domain,
            POOL_OWNER.key,
        )
    with pytest.raises(InvalidInput) as error:
        client.runs.prepare(RunRequest(**fields))  # type: ignore[arg-type]
    assert str(error.value).startswith(message), str(error.value)
    assert _state(devnet, client, *orders) == before


def test_run__insufficient_balance_names_the_exact_amount(
    devnet: Devnet, market: dict[str, object]
) -> None:
    workerpool_order = sign_order(
        WorkerpoolOrder(str(market["workerpool"]), 2 * RLC, 9, category=1, trust=1),
        devnet.client.domain,
        POOL_OWNER.key,
    )
    request = RunRequest(
        app=str(market["app"]),
        category=1,
        volume=4,  # 4 x (1 + 2) = 12 RLC; the requester has 10
        app_order=market["app_order"],  # type: ignore[arg-type]
        workerpool_order=workerpool_order,
    )
    with pytest.raises(InvalidInput, match=r"deposit 2 RLC more with `veritask account deposit 2`"):
        _client(devnet).runs.prepare(request)


def test_run__scheduler_without_stake(devnet: Devnet, market: dict[str, object]) -> None:
    devnet.client.withdraw(POOL_OWNER, 10 * RLC)
    request = RunRequest(
        app=str(market["app"]),
        category=1,
        app_order=market["app_order"],  # type: ignore[arg-type]
        workerpool_order=market["workerpool_order"],  # type: ignore[arg-type]
    )
    with pytest.raises(InvalidInput, match=r"must lock 0\.6 RLC per task"):
        _client(devnet).runs.prepare(request)


def test_categories__list_show_create(devnet: Devnet) -> None:
    categories = _client(devnet).categories
    names = [(view.name, view.time_ref_s) for view in categories.list()]
    assert names == [("XS", 300), ("S", 1200), ("M", 3600), ("L", 10800), ("XL", 36000)]
    with pytest.raises(InvalidInput, match="only the hub owner"):
        categories.create("XXL", 100_000)
    created = _client(devnet, devnet.deployer).categories.create("XXL", 100_000, '{"a": 1}')
    assert created.category.category_id == 5
    assert categories.show(5).description == '{"a": 1}'
    with pytest.raises(InvalidInput, match="unknown category 6"):
        categories.show(6)


def test_run__a_reused_salt_takes_what_is_left_of_the_request(devnet: Devnet) -> None:
    client = _client(devnet)
    app = client.assets.deploy_app("mine", "docker.io/me/mine:1").address
    client.assets.deploy_workerpool("my pool")
    request = RunRequest(app=app, volume=2, salt=b"\x01" * 32)
    assert client.runs.run(request).volume == 2
    with pytest.raises(InvalidInput, match="no volume left"):
        client.runs.prepare(request)
