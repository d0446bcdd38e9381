"""The whole match path on a real anvil node through web3.py: deploy, register, deposit, sign
(65-byte and 64-byte), match, read the deal and its events, revert cleanly, withdraw.

One node and one deployment per module; every test runs on an anvil snapshot that is
reverted after it, so the tests do not depend on each other's order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3
from web3.types import RPCEndpoint

from tests.orders import make_deal
from veritask.chain.anvil import Anvil
from veritask.chain.deploy import deploy_protocol
from veritask.chain.hub import Hub
from veritask.chain.records import Deal, MatchResult
from veritask.chain.transactions import send
from veritask.domain.ids import deal_id
from veritask.domain.orders import (
    ZERO_ADDRESS,
    AppOrder,
    DatasetOrder,
    Order,
    RequestOrder,
    WorkerpoolOrder,
    domain_separator,
    order_digest,
)
from veritask.domain.signing import compact_signature, sign_order
from veritask.errors import ChainError, ContractRevert

pytestmark = pytest.mark.anvil

RLC = 10**9
DEPOSIT = 1_000 * RLC
APP_PRICE = 3 * RLC
DATASET_PRICE = 2 * RLC
WORKERPOOL_PRICE = 5 * RLC
CATEGORY = 2
CATEGORY_TIME_REF = 3_600  # PoCo's M, the reference time a deal of CATEGORY stores
TRUST = 3
PARAMS = '{"iexec_args": "hello anvil"}'
ACTORS = ("deployer", "app_owner", "dataset_owner", "scheduler", "requester", "stranger")

Orders = tuple[AppOrder, DatasetOrder, WorkerpoolOrder, RequestOrder]


@dataclass(frozen=True)
class Chain:
    """The deployed protocol with three registered assets and two funded accounts."""

    w3: Web3
    client: Hub
    actors: dict[str, LocalAccount]
    app: str
    dataset: str
    workerpool: str

    def __getitem__(self, name: str) -> LocalAccount:
        return self.actors[name]


def _rpc(w3: Web3, method: str, *params: Any) -> Any:
    response = w3.provider.make_request(RPCEndpoint(method), list(params))
    assert "error" not in response, f"{method} failed: {response}"
    return response["result"]


def _actor(w3: Web3, name: str) -> LocalAccount:
    account: LocalAccount = Account.from_key(keccak(text=f"veritask chain test {name}"))
    _rpc(w3, "anvil_setBalance", account.address, hex(10**20))
    return account


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    with Anvil(startup_timeout_s=10) as anvil:
        yield anvil


@pytest.fixture(scope="module")
def chain(node: Anvil) -> Chain:
    w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 10}))
    actors = {name: _actor(w3, name) for name in ACTORS}
    deployer = actors["deployer"]
    client = Hub.over(w3, deploy_protocol(w3, deployer))

    app = client.create_app(
        actors["app_owner"], "hello", "DOCKER", b"docker.io/veritask/hello:1", keccak(b"image")
    )
    dataset = client.create_dataset(
        actors["dataset_owner"], "numbers", b"/ipfs/bafkreinumbers", keccak(b"numbers")
    )
    workerpool = client.create_workerpool(actors["scheduler"], "anvil pool")
    for name in ("requester", "scheduler"):
        client.transfer_tokens(deployer, actors[name].address, DEPOSIT)
        client.deposit(actors[name], DEPOSIT)
    return Chain(w3, client, actors, app, dataset, workerpool)


@pytest.fixture(autouse=True)
def _snapshot(chain: Chain) -> Iterator[None]:
    snapshot = _rpc(chain.w3, "evm_snapshot")
    yield
    assert _rpc(chain.w3, "evm_revert", snapshot) is True


def _orders(
    chain: Chain,
    *,
    salt: bytes,
    volume: int = 1,
    request_volume: int | None = None,
    appmaxprice: int = APP_PRICE,
) -> Orders:
    """Four unsigned orders that match (unless a test changes them)."""
    orders = make_deal(
        app=chain.app,
        dataset=chain.dataset,
        workerpool=chain.workerpool,
        requester=chain["requester"].address,
        app_price_nrlc=APP_PRICE,
        dataset_price_nrlc=DATASET_PRICE,
        workerpool_price_nrlc=WORKERPOOL_PRICE,
        volume=volume,
        trust=TRUST,
        category=CATEGORY,
        params=PARAMS,
        salt=salt,
    )
    request = replace(
        orders.request_order,
        appmaxprice=appmaxprice,
        volume=volume if request_volume is None else request_volume,
    )
    return (orders.app_order, orders.dataset_order, orders.workerpool_order, request)


def _sign(chain: Chain, order: Order, signer: str, *, compact: bool = False) -> Any:
    signed = sign_order(order, chain.client.domain, chain[signer].key)
    return signed.with_sign(compact_signature(signed.sign)) if compact else signed


def _sign_all(chain: Chain, orders: Orders, *, compact: bool = False) -> Orders:
    app, dataset, workerpool, request = orders
    return (
        _sign(chain, app, "app_owner", compact=compact),
        _sign(chain, dataset, "dataset_owner", compact=compact),
        _sign(chain, workerpool, "scheduler", compact=compact),
        _sign(chain, request, "requester", compact=compact),
    )


def _digest(chain: Chain, order: Order) -> bytes:
    return order_digest(order, chain.client.domain)


def _consumed(chain: Chain, order: Order) -> int:
    return int(chain.client.contracts.hub.functions.consumed(_digest(chain, order)).call())


def _token_balance(chain: Chain, address: str) -> int:
    return int(chain.client.contracts.token.functions.balanceOf(address).call())


@dataclass(frozen=True)
class Matched:
    orders: Orders
    request_hash: bytes
    result: MatchResult


@pytest.fixture
def matched(chain: Chain) -> Matched:
    """One deal of one task from four 65-byte ECDSA-signed orders."""
    orders = _sign_all(chain, _orders(chain, salt=keccak(text="65-byte")))
    assert all(len(order.sign) == 65 for order in orders)
    result = chain.client.match_orders(chain["requester"], *orders)
    return Matched(orders, _digest(chain, orders[3]), result)


# --- assets and accounts -------------------------------------------------------------------


def test_deploy__hub_is_wired_to_token_and_registries(chain: Chain) -> None:
    hub, deployment = chain.client.contracts.hub, chain.client.deployment

    assert chain.w3.eth.chain_id == deployment.chain_id == 31337
    assert hub.functions.TOKEN().call() == deployment.token
    assert hub.functions.APP_REGISTRY().call() == deployment.app_registry
    assert hub.functions.DATASET_REGISTRY().call() == deployment.dataset_registry
    assert hub.functions.WORKERPOOL_REGISTRY().call() == deployment.workerpool_registry
    assert hub.functions.owner().call() == chain["deployer"].address
    assert hub.functions.category_count().call() == 5
    # The annex, which the hub runs by DELEGATECALL, is a deployed contract of its own.
    assert hub.functions.ANNEX().call() == deployment.annex
    assert deployment.annex not in (deployment.hub, ZERO_ADDRESS)
    assert len(chain.w3.eth.get_code(deployment.annex)) > 0


def test_register__assets__are_owned_by_their_creators(chain: Chain) -> None:
    client = chain.client

    assert (
        client.contracts.apps.functions.asset_owner(chain.app).call() == chain["app_owner"].address
    )
    assert (
        client.contracts.datasets.functions.asset_owner(chain.dataset).call()
        == chain["dataset_owner"].address
    )
    assert (
        client.contracts.workerpools.functions.asset_owner(chain.workerpool).call()
        == chain["scheduler"].address
    )
    assert client.contracts.apps.functions.is_registered(chain.app).call()
    assert not client.contracts.apps.functions.is_registered(chain.dataset).call()


def test_deposit__funded_accounts__hold_free_balances(chain: Chain) -> None:
    client = chain.client

    assert client.account(chain["requester"].address) == (DEPOSIT, 0)
    assert client.account(chain["scheduler"].address) == (DEPOSIT, 0)
    assert client.account(chain["stranger"].address) == (0, 0)
    assert _token_balance(chain, chain["requester"].address) == 0
    assert _token_balance(chain, client.deployment.hub) == 2 * DEPOSIT


def test_deposit__approve_and_call__takes_one_transaction(chain: Chain) -> None:
    client, stranger = chain.client, chain["stranger"]
    client.transfer_tokens(chain["deployer"], stranger.address, 7 * RLC)
    nonce = chain.w3.eth.get_transaction_count(stranger.address)

    receipt = client.deposit(stranger, 7 * RLC)

    assert chain.w3.eth.get_transaction_count(stranger.address) == nonce + 1
    assert client.account(stranger.address) == (7 * RLC, 0)
    assert _token_balance(chain, stranger.address) == 0
    allowance = client.contracts.token.functions.allowance(
        stranger.address, client.deployment.hub
    ).call()
    assert allowance == 0
    (deposit,) = receipt.named("Deposit")
    assert deposit.address == client.deployment.hub
    assert deposit.args["owner"] == stranger.address
    assert deposit.args["account"] == stranger.address
    assert deposit.args["amount"] == 7 * RLC


# --- order identity ------------------------------------------------------------------------


def test_hash_functions__equal_the_python_digests(chain: Chain) -> None:
    hub = chain.client.contracts.hub
    app, dataset, workerpool, request = _sign_all(chain, _orders(chain, salt=keccak(b"hash")))

    assert hub.functions.domain_separator().call() == domain_separator(chain.client.domain)
    assert hub.functions.hash_app_order(app.as_tuple()).call() == _digest(chain, app)
    assert hub.functions.hash_dataset_order(dataset.as_tuple()).call() == _digest(chain, dataset)
    assert hub.functions.hash_workerpool_order(workerpool.as_tuple()).call() == _digest(
        chain, workerpool
    )
    assert hub.functions.hash_request_order(request.as_tuple()).call() == _digest(chain, request)


# --- a match with 65-byte signatures -------------------------------------------------------


def test_match__deal_id__is_keccak_of_request_digest_and_zero(
    chain: Chain, matched: Matched
) -> None:
    assert matched.result.deal_id == deal_id(matched.request_hash, 0)
    assert matched.result.volume == 1
    assert chain.client.contracts.hub.functions.deal_exists(matched.result.deal_id).call()


def test_match__deal__records_the_settlement_terms(chain: Chain, matched: Matched) -> None:
    receipt = matched.result.receipt
    block = chain.w3.eth.get_block(receipt.block_number)

    deal = chain.client.deal(matched.result.deal_id)

    assert deal == Deal(
        deal_id=matched.result.deal_id,
        app_owner=chain["app_owner"].address,
        app_price=APP_PRICE,
        dataset_owner=chain["dataset_owner"].address,
        dataset_price=DATASET_PRICE,
        workerpool_owner=chain["scheduler"].address,
        workerpool_price=WORKERPOOL_PRICE,
        requester=chain["requester"].address,
        bot_first=0,
        bot_size=1,
        callback=ZERO_ADDRESS,
        start_time=block["timestamp"],
        category=CATEGORY,
        time_ref=CATEGORY_TIME_REF,
        trust=TRUST,
        worker_stake_ratio=30,
        scheduler_reward_ratio=1,
        tee=False,
    )


def test_match__receipt__carries_the_three_poco_events(chain: Chain, matched: Matched) -> None:
    receipt = matched.result.receipt
    app, dataset, workerpool, _request = matched.orders
    the_deal = matched.result.deal_id

    (notice,) = receipt.named("SchedulerNotice")
    (orders_matched,) = receipt.named("OrdersMatched")
    (created,) = receipt.named("DealCreated")

    for event in (notice, orders_matched, created):
        assert event.address == chain.client.deployment.hub
    names = [event.name for event in receipt.events]
    assert (
        names.index("SchedulerNotice") < names.index("OrdersMatched") < names.index("DealCreated")
    )
    assert dict(notice.args) == {"workerpool": chain.workerpool, "deal_id": the_deal}
    assert dict(orders_matched.args) == {
        "deal_id": the_deal,
        "app_hash": _digest(chain, app),
        "dataset_hash": _digest(chain, dataset),
        "workerpool_hash": _digest(chain, workerpool),
        "request_hash": matched.request_hash,
        "volume": 1,
    }
    assert dict(created.args) == {
        "deal_id": the_deal,
        "requester": chain["requester"].address,
        "app": chain.app,
        "dataset": chain.dataset,
        "workerpool": chain.workerpool,
        "beneficiary": chain["requester"].address,
        "tag": b"\x00" * 32,
        "params": PARAMS,
    }
    # What DealCreated no longer carries is in the deal (and the volume in OrdersMatched).
    deal = chain.client.deal(the_deal)
    assert (deal.callback, deal.category, deal.trust) == (ZERO_ADDRESS, CATEGORY, TRUST)
    assert (deal.bot_first, deal.bot_size) == (0, 1)


def test_match__locks_payment_and_scheduler_stake(chain: Chain, matched: Matched) -> None:
    client = chain.client
    payment = APP_PRICE + DATASET_PRICE + WORKERPOOL_PRICE
    stake = WORKERPOOL_PRICE * 30 // 100

    assert client.account(chain["requester"].address) == (DEPOSIT - payment, payment)
    assert client.account(chain["scheduler"].address) == (DEPOSIT - stake, stake)
    # Locking moves nothing out of the hub: holdings == balances + frozen.
    assert _token_balance(chain, client.deployment.hub) == 2 * DEPOSIT


def test_match__consumes_the_volume_of_the_four_orders(chain: Chain, matched: Matched) -> None:
    for order in matched.orders:
        assert _consumed(chain, order) == 1, f"{type(order).__name__} not consumed"


def test_match__same_orders_again__reverts_as_consumed(chain: Chain, matched: Matched) -> None:
    with pytest.raises(ContractRevert) as raised:
        chain.client.match_orders(chain["requester"], *matched.orders)

    assert raised.value.reason == "matching: request order consumed"


# --- a match with 64-byte (EIP-2098) signatures --------------------------------------------


def test_match__compact_signatures__match_twice_with_successive_bags(chain: Chain) -> None:
    client, requester = chain.client, chain["requester"]
    app, dataset, workerpool, request = _sign_all(
        chain, _orders(chain, salt=keccak(b"64-byte"), volume=1, request_volume=2), compact=True
    )
    app = _sign(chain, replace(app, volume=2), "app_owner", compact=True)
    dataset = _sign(chain, replace(dataset, volume=2), "dataset_owner", compact=True)
    assert all(len(order.sign) == 64 for order in (app, dataset, workerpool, request))
    request_hash = _digest(chain, request)

    first = client.match_orders(requester, app, dataset, workerpool, request)
    second_pool = _sign(
        chain, replace(workerpool, salt=keccak(b"second")), "scheduler", compact=True
    )
    second = client.match_orders(requester, app, dataset, second_pool, request)

    assert first.deal_id == deal_id(request_hash, 0)
    assert second.deal_id == deal_id(request_hash, 1)
    assert (first.volume, second.volume) == (1, 1)
    assert client.deal(first.deal_id).bot_first == 0
    assert client.deal(second.deal_id).bot_first == 1
    assert client.deal(second.deal_id).bot_size == 1
    assert _consumed(chain, request) == 2
    assert _consumed(chain, app) == 2
    assert _consumed(chain, workerpool) == _consumed(chain, second_pool) == 1
    payment = 2 * (APP_PRICE + DATASET_PRICE + WORKERPOOL_PRICE)
    assert client.account(requester.address) == (DEPOSIT - payment, payment)


# --- reverts -------------------------------------------------------------------------------


def _state(chain: Chain, orders: Orders, sender: LocalAccount) -> dict[str, Any]:
    client = chain.client
    return {
        "requester": client.account(chain["requester"].address),
        "scheduler": client.account(chain["scheduler"].address),
        "hub tokens": _token_balance(chain, client.deployment.hub),
        "consumed": [_consumed(chain, order) for order in orders],
        "nonce": chain.w3.eth.get_transaction_count(sender.address, "pending"),
        "block": chain.w3.eth.block_number,
    }


def test_send__app_price_above_max__reverts_before_sending(chain: Chain) -> None:
    requester = chain["requester"]
    orders = _sign_all(chain, _orders(chain, salt=keccak(b"cheap"), appmaxprice=APP_PRICE - 1))
    call = chain.client.contracts.hub.functions.matchOrders(*(order.as_tuple() for order in orders))
    before = _state(chain, orders, requester)

    with pytest.raises(ContractRevert) as raised:
        send(chain.w3, requester, call)

    assert raised.value.reason == "matching: app price above max"
    assert isinstance(raised.value, ChainError)
    assert _state(chain, orders, requester) == before


def test_match__order_signed_by_a_stranger__reverts(chain: Chain) -> None:
    app, dataset, workerpool, request = _orders(chain, salt=keccak(b"forged"))
    signed = (
        _sign(chain, app, "stranger"),
        *_sign_all(chain, (app, dataset, workerpool, request))[1:],
    )
    before = _state(chain, signed, chain["requester"])

    with pytest.raises(ContractRevert) as raised:
        chain.client.match_orders(chain["requester"], *signed)

    assert raised.value.reason == "matching: invalid app order signature"
    assert _state(chain, signed, chain["requester"]) == before


# --- withdraw ------------------------------------------------------------------------------


def test_withdraw__free_balance__returns_tokens(chain: Chain) -> None:
    client, requester = chain.client, chain["requester"]

    client.withdraw(requester, 100 * RLC)

    assert client.account(requester.address) == (DEPOSIT - 100 * RLC, 0)
    assert _token_balance(chain, requester.address) == 100 * RLC
    assert _token_balance(chain, client.deployment.hub) == 2 * DEPOSIT - 100 * RLC


def test_withdraw__frozen_amount__reverts(chain: Chain, matched: Matched) -> None:
    client, requester = chain.client, chain["requester"]
    free, frozen = client.account(requester.address)

    with pytest.raises(ContractRevert) as raised:
        client.withdraw(requester, free + 1)

    assert raised.value.reason == "escrow: insufficient balance"
    assert client.account(requester.address) == (free, frozen)
    client.withdraw(requester, free)
    assert client.account(requester.address) == (0, frozen)
