"""Test helpers: actors with keys, the protocol in titanoboa, and a market builder that
registers assets, funds accounts and signs the four orders of a match (built by
`tests.orders.make_deal`; matched here with titanoboa's `matchOrders`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boa
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from tests.orders import make_deal
from veritask.chain.deploy import merge_hub_abi
from veritask.domain.ids import deal_id
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

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"
RLC = 10**9  # nRLC per RLC
ZERO = "0x0000000000000000000000000000000000000000"


@dataclass(frozen=True)
class Actor:
    name: str
    account: LocalAccount

    @property
    def address(self) -> str:
        return str(self.account.address)

    @property
    def key(self) -> bytes:
        return bytes(self.account.key)


def make_actor(name: str) -> Actor:
    account = Account.from_key(keccak(text=f"veritask test actor {name}"))
    boa.env.set_balance(account.address, 10**21)
    return Actor(name, account)


@dataclass
class Protocol:
    token: Any
    apps: Any
    datasets: Any
    workerpools: Any
    # The hub's whole interface (its own ABI and the annex functions it runs by
    # DELEGATECALL), bound to the hub's address.
    hub: Any
    actors: dict[str, Actor]
    # The hub as a Vyper contract (for `eval` and source-level traces).
    hub_contract: Any = None

    @property
    def domain(self) -> Domain:
        return Domain(chain_id=boa.env.evm.patch.chain_id, verifying_contract=self.hub.address)

    def fund(self, actor: Actor, amount: int) -> None:
        """Gives `actor` tokens and deposits them into the hub."""
        with boa.env.prank(self.actors["deployer"].address):
            self.token.transfer(actor.address, amount)
        with boa.env.prank(actor.address):
            self.token.approve(self.hub.address, amount)
            self.hub.deposit(amount)

    def sign(self, order: Order, actor: Actor) -> Order:
        return sign_order(order, self.domain, actor.key)

    def digest(self, order: Order) -> bytes:
        return order_digest(order, self.domain)


def deploy_protocol_boa(actors: dict[str, Actor], tee_broker: str = ZERO) -> Protocol:
    """The whole protocol in titanoboa; `tee_broker` is fixed for the hub's life."""
    with boa.env.prank(actors["deployer"].address):
        token = boa.load(str(CONTRACTS / "token/rlc.vy"), 87_000_000 * RLC)
        apps = boa.load(str(CONTRACTS / "registries/app_registry.vy"))
        datasets = boa.load(str(CONTRACTS / "registries/dataset_registry.vy"))
        workerpools = boa.load(str(CONTRACTS / "registries/workerpool_registry.vy"))
        registries = (
            token.address,
            apps.address,
            datasets.address,
            workerpools.address,
            tee_broker,
        )
        annex = boa.load(str(CONTRACTS / "hub/annex.vy"), *registries)
        hub_contract = boa.load(str(CONTRACTS / "hub/hub.vy"), *registries, annex.address)
    merged = merge_hub_abi(hub_contract.abi, annex.abi)
    hub = boa.loads_abi(json.dumps(merged), name="Hub").at(hub_contract.address)
    return Protocol(token, apps, datasets, workerpools, hub, actors, hub_contract)


@dataclass
class Market:
    """Four orders that match, built from registered assets and funded accounts.

    Tests change one field with `replace(...)` and call `match()`; orders are signed by
    their owners at match time unless a test passes its own signature.
    """

    protocol: Protocol
    app: str
    dataset: str
    workerpool: str
    app_order: AppOrder
    dataset_order: DatasetOrder
    workerpool_order: WorkerpoolOrder
    request_order: RequestOrder
    signers: dict[str, Actor] = field(default_factory=dict)

    def signed(self) -> tuple[AppOrder, DatasetOrder, WorkerpoolOrder, RequestOrder]:
        p = self.protocol

        def sign(order: Order, role: str) -> Any:
            return order if order.sign else p.sign(order, self.signers[role])

        dataset_order = self.dataset_order
        if dataset_order.dataset != ZERO:
            dataset_order = sign(dataset_order, "dataset")
        return (
            sign(self.app_order, "app"),
            dataset_order,
            sign(self.workerpool_order, "workerpool"),
            sign(self.request_order, "request"),
        )

    def match(self, sender: Actor | None = None) -> bytes:
        """Matches the orders and returns the deal id (matchOrders returns nothing)."""
        orders = self.signed()
        caller = sender or self.signers["request"]
        request_hash = self.protocol.digest(orders[3])
        used_before = self.protocol.hub.consumed(request_hash)
        with boa.env.prank(caller.address):
            self.protocol.hub.matchOrders(*(o.as_tuple() for o in orders))
        return deal_id(request_hash, used_before)

    def without_dataset(self) -> Market:
        return replace(
            self,
            dataset_order=DatasetOrder(),
            request_order=replace(self.request_order, dataset=ZERO, datasetmaxprice=0),
        )


def build_market(
    protocol: Protocol,
    *,
    app_price: int = 3 * RLC,
    dataset_price: int = 2 * RLC,
    workerpool_price: int = 5 * RLC,
    volume: int = 1,
    trust: int = 1,
    category: int = 0,
    deposit: int = 1_000 * RLC,
) -> Market:
    a = protocol.actors
    app_owner, dataset_owner = a["app_owner"], a["dataset_owner"]
    scheduler, requester = a["scheduler"], a["requester"]
    checksum = keccak(text="app image")
    app = protocol.apps.create_app(
        app_owner.address, "hello", "DOCKER", b"docker.io/veritask/hello:1", checksum, b""
    )
    dataset = protocol.datasets.create_dataset(
        dataset_owner.address, "numbers", b"/ipfs/bafkreidataset", keccak(text="numbers")
    )
    workerpool = protocol.workerpools.create_workerpool(scheduler.address, "test pool")
    protocol.fund(requester, deposit)
    protocol.fund(scheduler, deposit)
    orders = make_deal(
        app=app,
        dataset=dataset,
        workerpool=workerpool,
        requester=requester.address,
        app_price_nrlc=app_price,
        dataset_price_nrlc=dataset_price,
        workerpool_price_nrlc=workerpool_price,
        volume=volume,
        trust=trust,
        category=category,
        params='{"iexec_args": "hello"}',
    )
    return Market(
        protocol=protocol,
        app=app,
        dataset=dataset,
        workerpool=workerpool,
        app_order=orders.app_order,
        dataset_order=orders.dataset_order,
        workerpool_order=orders.workerpool_order,
        request_order=orders.request_order,
        signers={
            "app": app_owner,
            "dataset": dataset_owner,
            "workerpool": scheduler,
            "request": requester,
        },
    )


def account_slot(protocol: Protocol, account: str) -> int:
    """The storage slot of `escrow._accounts[account]` in the hub (Vyper: keccak(slot ‖ key))."""
    layout = protocol.hub_contract.compiler_data.storage_layout["storage_layout"]
    base = layout["escrow"]["_accounts"]["slot"]
    key = bytes(12) + bytes.fromhex(account[2:])
    return int.from_bytes(keccak(base.to_bytes(32, "big") + key), "big")


def set_score(protocol: Protocol, account: str, score: int, scheduler: str) -> None:
    """Writes `account`'s score, earned with `scheduler`, into its account word (bits
    160-175, the scheduler's low 80 bits on top), keeping its balance and frozen amount:
    the hub's own way there is hundreds of replicated wins."""
    slot = account_slot(protocol, account)
    word = boa.env.get_storage(protocol.hub.address, slot)
    tag = int(scheduler, 16) % 2**80
    boa.env.set_storage(protocol.hub.address, slot, (word % 2**160) | (score << 160) | (tag << 176))
