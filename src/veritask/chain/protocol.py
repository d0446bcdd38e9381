"""A typed client of the deployed protocol over web3: assets, accounts, orders, deals.

It sends transactions signed by local accounts and returns plain values; reverts surface
as `ContractRevert` carrying the contract's `"module: reason"` string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from veritask.domain.orders import (
    AppOrder,
    DatasetOrder,
    Domain,
    RequestOrder,
    WorkerpoolOrder,
)

from .deploy import Deployment, bind
from .transactions import send

__all__ = ["Deal", "ProtocolClient"]


@dataclass(frozen=True)
class Deal:
    """A deal's settlement terms, as the hub stores them."""

    deal_id: bytes
    app_owner: str
    app_price: int
    dataset_owner: str
    dataset_price: int
    workerpool_owner: str
    workerpool_price: int
    requester: str
    bot_first: int
    bot_size: int
    callback: str
    start_time: int
    category: int
    trust: int
    worker_stake_ratio: int
    scheduler_reward_ratio: int
    tee: bool


@dataclass(frozen=True)
class MatchResult:
    deal_id: bytes
    volume: int
    receipt: TxReceipt


class ProtocolClient:
    def __init__(self, w3: Web3, deployment: Deployment) -> None:
        self.w3 = w3
        self.deployment = deployment
        contracts = bind(w3, deployment)
        self.token: Contract = contracts["token"]
        self.apps: Contract = contracts["app_registry"]
        self.datasets: Contract = contracts["dataset_registry"]
        self.workerpools: Contract = contracts["workerpool_registry"]
        self.hub: Contract = contracts["hub"]

    @property
    def domain(self) -> Domain:
        return Domain(chain_id=self.deployment.chain_id, verifying_contract=self.deployment.hub)

    def create_app(
        self,
        owner: LocalAccount,
        name: str,
        app_type: str,
        multiaddr: bytes,
        checksum: bytes,
        mrenclave: bytes = b"",
    ) -> str:
        args = (owner.address, name, app_type, multiaddr, checksum, mrenclave)
        send(self.w3, owner, self.apps.functions.create_app(*args))
        return str(self.apps.functions.predict_app(*args).call())

    def create_dataset(
        self, owner: LocalAccount, name: str, multiaddr: bytes, checksum: bytes
    ) -> str:
        args = (owner.address, name, multiaddr, checksum)
        send(self.w3, owner, self.datasets.functions.create_dataset(*args))
        return str(self.datasets.functions.predict_dataset(*args).call())

    def create_workerpool(self, owner: LocalAccount, description: str) -> str:
        send(
            self.w3, owner, self.workerpools.functions.create_workerpool(owner.address, description)
        )
        return str(self.workerpools.functions.predict_workerpool(owner.address, description).call())

    def transfer_tokens(self, sender: LocalAccount, to: str, amount: int) -> None:
        send(self.w3, sender, self.token.functions.transfer(to, amount))

    def deposit(self, account: LocalAccount, amount: int) -> TxReceipt:
        """Deposits in one transaction through the token's `approveAndCall`."""
        return send(
            self.w3,
            account,
            self.token.functions.approveAndCall(self.deployment.hub, amount, b""),
        )

    def withdraw(self, account: LocalAccount, amount: int) -> TxReceipt:
        return send(self.w3, account, self.hub.functions.withdraw(amount))

    def account(self, address: str) -> tuple[int, int]:
        """(free balance, frozen) of `address`, in nRLC."""
        return (
            int(self.hub.functions.balance_of(address).call()),
            int(self.hub.functions.frozen_of(address).call()),
        )

    def match_orders(
        self,
        sender: LocalAccount,
        app_order: AppOrder,
        dataset_order: DatasetOrder,
        workerpool_order: WorkerpoolOrder,
        request_order: RequestOrder,
    ) -> MatchResult:
        receipt = send(
            self.w3,
            sender,
            self.hub.functions.matchOrders(
                app_order.as_tuple(),
                dataset_order.as_tuple(),
                workerpool_order.as_tuple(),
                request_order.as_tuple(),
            ),
        )
        (event,) = self.hub.events.OrdersMatched().process_receipt(receipt, errors=DISCARD)
        return MatchResult(
            deal_id=bytes(event["args"]["deal_id"]),
            volume=int(event["args"]["volume"]),
            receipt=receipt,
        )

    def deal(self, deal_id: bytes) -> Deal:
        fields: Any = self.hub.functions.deal(deal_id).call()
        return Deal(deal_id, *fields)
