"""A typed client of the deployed protocol over web3: assets, accounts, orders, deals.

It sends transactions signed by local accounts and returns plain values; reverts surface
as `ContractRevert` carrying the contract's `"module: reason"` string.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import TxReceipt

from veritask.domain.ids import task_id
from veritask.domain.orders import (
    ZERO_ADDRESS,
    AppOrder,
    DatasetOrder,
    Domain,
    RequestOrder,
    WorkerpoolOrder,
)
from veritask.domain.tasks import result_hash, result_seal

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
    time_ref: int  # the category's reference time C, in seconds (deadlines are multiples)
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

    def contribute(
        self,
        worker: LocalAccount,
        deal_id: bytes,
        index: int,
        digest: bytes,
        authorization: bytes,
        *,
        enclave: str = ZERO_ADDRESS,
        enclave_sign: bytes = b"",
    ) -> TxReceipt:
        """Commits `digest` for task `index`: sends its result hash and the worker's seal."""
        task = task_id(deal_id, index)
        return send(
            self.w3,
            worker,
            self.hub.functions.contribute(
                deal_id,
                index,
                result_hash(task, digest),
                result_seal(worker.address, task, digest),
                enclave,
                enclave_sign,
                authorization,
            ),
        )

    def reveal(self, worker: LocalAccount, deal_id: bytes, index: int, digest: bytes) -> TxReceipt:
        return send(self.w3, worker, self.hub.functions.reveal(deal_id, index, digest))

    def finalize(
        self,
        sender: LocalAccount,
        deal_id: bytes,
        index: int,
        digest: bytes,
        results: bytes,
        contributors: Sequence[str],
        results_callback: bytes = b"",
    ) -> TxReceipt:
        ordered = sorted(contributors, key=lambda a: int(a, 16))
        return send(
            self.w3,
            sender,
            self.hub.functions.finalize(deal_id, index, digest, results, results_callback, ordered),
        )

    def contribute_and_finalize(
        self,
        worker: LocalAccount,
        deal_id: bytes,
        index: int,
        digest: bytes,
        results: bytes,
        enclave: str,
        enclave_sign: bytes,
        authorization: bytes,
        results_callback: bytes = b"",
    ) -> TxReceipt:
        return send(
            self.w3,
            worker,
            self.hub.functions.contribute_and_finalize(
                deal_id,
                index,
                digest,
                results,
                results_callback,
                enclave,
                enclave_sign,
                authorization,
            ),
        )

    def claim(
        self,
        sender: LocalAccount,
        deal_id: bytes,
        indices: Sequence[int],
        contributors: Sequence[str] | None = None,
    ) -> TxReceipt:
        """Fails tasks `indices` of a deal past its final deadline; `contributors` lists, for
        each task in `indices` order, its contributors sorted by address."""
        call = self.hub.functions.claim(deal_id, list(indices), list(contributors or ()))
        return send(self.w3, sender, call)
