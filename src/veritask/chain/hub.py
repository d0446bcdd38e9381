"""`Hub`: the chain port. Typed reads, writes and event queries of the whole deployed
protocol (hub, annex, registries, token) over one `Node`, under one gas policy and one
error translation. Nothing outside `veritask.chain` touches web3: callers get the values
of `records.py` and the exception tree (`ContractRevert` carries `"module: reason"`).

Reads take an optional `block` so that facts that must agree are read at one block.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractFunction
from web3.exceptions import Web3Exception
from web3.types import BlockIdentifier, TxReceipt

from veritask.domain.failures import FailureRecord
from veritask.domain.ids import task_id
from veritask.domain.orders import (
    ZERO_ADDRESS,
    AppOrder,
    DatasetOrder,
    Domain,
    Order,
    RequestOrder,
    WorkerpoolOrder,
)
from veritask.domain.tasks import ContributionStatus, TaskStatus, result_hash, result_seal
from veritask.errors import ChainError

from .deploy import Deployment, bind, deploy_protocol
from .follower import EventFollower, EventSource, LogDecoder
from .node import Node
from .records import (
    AppFields,
    AssetKind,
    Category,
    Contribution,
    DatasetFields,
    Deal,
    DealCreated,
    HubAccount,
    LoggedEvent,
    MatchResult,
    Receipt,
    TaskContributed,
    TaskFailure,
    TaskFinalized,
    TaskState,
    WorkerpoolFields,
)
from .transactions import DEFAULT_GAS_POLICY, GasPolicy, send

__all__ = ["ERC1271_MAGIC", "Contracts", "Hub"]

ERC1271_MAGIC = bytes.fromhex("1626ba7e")
_ERC1271_ABI: list[dict[str, Any]] = [
    {
        "type": "function",
        "name": "isValidSignature",
        "stateMutability": "view",
        "inputs": [{"name": "hash", "type": "bytes32"}, {"name": "signature", "type": "bytes"}],
        "outputs": [{"name": "", "type": "bytes4"}],
    }
]
# Topics per eth_getLogs filter: nodes limit the size of a request.
_TOPICS_PER_QUERY = 64
_ORDER_KINDS: dict[type[Order], str] = {
    AppOrder: "app",
    DatasetOrder: "dataset",
    WorkerpoolOrder: "workerpool",
    RequestOrder: "request",
}


@dataclass(frozen=True)
class Contracts:
    """The web3 bindings behind a `Hub`: for `veritask.chain` and chain-level tests only."""

    token: Contract
    apps: Contract
    datasets: Contract
    workerpools: Contract
    hub: Contract

    def registry(self, kind: AssetKind) -> Contract:
        return {"app": self.apps, "dataset": self.datasets, "workerpool": self.workerpools}[kind]


def _address(value: Any) -> str:
    return Web3.to_checksum_address(str(value))


def _owner_or_none(value: Any) -> str | None:
    owner = _address(value)
    return None if int(owner, 16) == 0 else owner


class Hub:
    """The deployed protocol of `deployment`, on `node`. Writes are signed by the
    `LocalAccount` each one is given and wait for their receipt."""

    def __init__(
        self, node: Node, deployment: Deployment, *, gas: GasPolicy = DEFAULT_GAS_POLICY
    ) -> None:
        self.node = node
        self.deployment = deployment
        self.gas = gas
        bound = bind(node.w3, deployment)
        self.contracts = Contracts(
            token=bound["token"],
            apps=bound["app_registry"],
            datasets=bound["dataset_registry"],
            workerpools=bound["workerpool_registry"],
            hub=bound["hub"],
        )
        self._logs = LogDecoder(
            node.w3,
            [
                EventSource(address, contract.abi)
                for address, contract in (
                    (deployment.hub, self.contracts.hub),
                    (deployment.token, self.contracts.token),
                    (deployment.app_registry, self.contracts.apps),
                    (deployment.dataset_registry, self.contracts.datasets),
                    (deployment.workerpool_registry, self.contracts.workerpools),
                )
            ],
        )

    @classmethod
    def deploy(cls, node: Node, deployer: LocalAccount, **options: Any) -> Hub:
        """Deploys the whole protocol from `deployer` (see `deploy_protocol`)."""
        with node.errors():
            deployment = deploy_protocol(node.w3, deployer, **options)
        return cls(node, deployment)

    @classmethod
    def over(cls, w3: Web3, deployment: Deployment) -> Hub:
        """A hub over a web3 client, its failures worded by URL (tests, devnet)."""
        return cls(Node(w3), deployment)

    @property
    def domain(self) -> Domain:
        """The EIP-712 domain orders of this hub are signed in."""
        return Domain(chain_id=self.deployment.chain_id, verifying_contract=self.deployment.hub)

    def _read(self, call: ContractFunction, block: BlockIdentifier | None = None) -> Any:
        with self.node.errors():
            return call.call(block_identifier=block if block is not None else "latest")

    def _send(self, sender: LocalAccount, call: ContractFunction) -> Receipt:
        with self.node.errors():
            raw = send(self.node.w3, sender, call, policy=self.gas)
        return self._receipt(raw)

    def _receipt(self, raw: TxReceipt) -> Receipt:
        created = raw.get("contractAddress")
        logs = tuple(raw["logs"])

        def decode() -> tuple[LoggedEvent, ...]:
            decoded = (self._logs.decode(log) for log in logs)
            return tuple(
                LoggedEvent(event.name, event.args, event.address)
                for event in decoded
                if event is not None
            )

        return Receipt(
            tx_hash=bytes(raw["transactionHash"]),
            block_number=int(raw["blockNumber"]),
            gas_used=int(raw["gasUsed"]),
            contract_address=_address(created) if created else None,
            decode_events=decode,
        )

    def head(self) -> int:
        """The latest block number."""
        return self.node.block_number()

    def follower(
        self, *, registries: bool = False, confirmations: int = 0, max_blocks: int = 2_000
    ) -> EventFollower:
        """An event follower of the hub's events (deals, tasks, orders, accounts) and, with
        `registries`, of the asset registries' (transfers)."""
        sources = [EventSource(self.deployment.hub, self.contracts.hub.abi)]
        if registries:
            sources += [
                EventSource(self.deployment.app_registry, self.contracts.apps.abi),
                EventSource(self.deployment.dataset_registry, self.contracts.datasets.abi),
                EventSource(self.deployment.workerpool_registry, self.contracts.workerpools.abi),
            ]
        return EventFollower(
            self.node.w3, sources, confirmations=confirmations, max_blocks=max_blocks
        )

    # Reads: protocol state.

    def owner(self) -> str:
        """The hub owner (who may create categories)."""
        return _address(self._read(self.contracts.hub.functions.owner()))

    def orders_domain_version(self) -> str:
        """The EIP-712 version string of the hub's order domain."""
        return str(self._read(self.contracts.hub.functions.eip712Domain())[2])

    def deal_exists(self, deal_id: bytes, block: BlockIdentifier | None = None) -> bool:
        return bool(self._read(self.contracts.hub.functions.deal_exists(deal_id), block))

    def deal(self, deal_id: bytes, block: BlockIdentifier | None = None) -> Deal:
        """A deal's terms; every field is zero for an unknown deal id."""
        fields: Any = self._read(self.contracts.hub.functions.deal(deal_id), block)
        return Deal(deal_id, *fields)

    def task(self, deal_id: bytes, index: int, block: BlockIdentifier | None = None) -> TaskState:
        status, contributors, winners, round_, reveal_deadline, consensus = self._read(
            self.contracts.hub.functions.task(deal_id, index), block
        )
        return TaskState(
            TaskStatus(int(status)),
            int(contributors),
            int(winners),
            int(round_),
            int(reveal_deadline),
            bytes(consensus),
        )

    def contribution(
        self, task: bytes, worker: str, block: BlockIdentifier | None = None
    ) -> Contribution:
        status, weight, round_ = self._read(
            self.contracts.hub.functions.contribution(task, _address(worker)), block
        )
        return Contribution(ContributionStatus(int(status)), int(weight), int(round_))

    def account(self, address: str, block: BlockIdentifier | None = None) -> HubAccount:
        """(free balance, frozen) of `address` in the hub, in nRLC."""
        functions = self.contracts.hub.functions
        return HubAccount(
            int(self._read(functions.balance_of(_address(address)), block)),
            int(self._read(functions.frozen_of(_address(address)), block)),
        )

    def free_balance(self, address: str, block: BlockIdentifier | None = None) -> int:
        return int(self._read(self.contracts.hub.functions.balance_of(_address(address)), block))

    def score(self, address: str) -> int:
        """A worker's raw reputation score, with whichever scheduler it was last earned."""
        return int(self._read(self.contracts.hub.functions.score_of(_address(address))))

    def score_in(self, address: str, scheduler: str) -> int:
        """A worker's score in the deals of `scheduler` (a workerpool owner): what its
        consensus weight there is computed from; 0 when it was earned with another one."""
        call = self.contracts.hub.functions.score_in(_address(address), _address(scheduler))
        return int(self._read(call))

    def token_balance(self, address: str) -> int:
        """The RLC tokens `address` holds in its wallet, in nRLC."""
        return int(self._read(self.contracts.token.functions.balanceOf(_address(address))))

    def category_count(self) -> int:
        return int(self._read(self.contracts.hub.functions.category_count()))

    def category(self, category_id: int) -> Category:
        name, description, time_ref = self._read(self.contracts.hub.functions.category(category_id))
        return Category(str(name), str(description), int(time_ref))

    # Reads: orders.

    def consumed(self, order_hash: bytes, block: BlockIdentifier | None = None) -> int:
        """The volume of an order used by deals or closed by a cancel."""
        return int(self._read(self.contracts.hub.functions.consumed(order_hash), block))

    def presigned(self, order_hash: bytes, block: BlockIdentifier | None = None) -> str:
        """Who presigned the order (the zero address when nobody did)."""
        signer = self._read(self.contracts.hub.functions.presigned(order_hash), block)
        return _address(signer or ZERO_ADDRESS)

    def is_contract(self, address: str, block: BlockIdentifier | None = None) -> bool:
        return self.node.has_code(address, block)

    def erc1271_valid(
        self, signer: str, digest: bytes, signature: bytes, block: BlockIdentifier | None = None
    ) -> bool:
        """Whether the contract wallet `signer` vouches for `signature` over `digest`."""
        wallet = self.node.w3.eth.contract(
            address=Web3.to_checksum_address(signer), abi=_ERC1271_ABI
        )
        try:
            answer = wallet.functions.isValidSignature(digest, signature).call(
                block_identifier=block if block is not None else "latest"
            )
        except Web3Exception:
            return False  # a reverting wallet vouches for nothing, as in the hub
        except OSError as exc:
            raise ChainError(f"{self.node.url} did not answer: {exc}") from exc
        return bytes(answer)[:4] == ERC1271_MAGIC

    # Reads: assets.

    def asset_owner(
        self, kind: AssetKind, asset: str, block: BlockIdentifier | None = None
    ) -> str | None:
        """The owner of an app, dataset or workerpool; None when it is not registered."""
        registry = self.contracts.registry(kind)
        return _owner_or_none(self._read(registry.functions.asset_owner(_address(asset)), block))

    def app(self, address: str) -> AppFields:
        name, app_type, multiaddr, checksum, mrenclave = self._read(
            self.contracts.apps.functions.apps(_address(address))
        )
        return AppFields(
            str(name), str(app_type), bytes(multiaddr), bytes(checksum), bytes(mrenclave)
        )

    def dataset(self, address: str) -> DatasetFields:
        name, multiaddr, checksum = self._read(
            self.contracts.datasets.functions.datasets(_address(address))
        )
        return DatasetFields(str(name), bytes(multiaddr), bytes(checksum))

    def workerpool(self, address: str) -> WorkerpoolFields:
        description, stake_ratio, reward_ratio = self._read(
            self.contracts.workerpools.functions.workerpools(_address(address))
        )
        return WorkerpoolFields(str(description), int(stake_ratio), int(reward_ratio))

    def owned(self, kind: AssetKind, owner: str) -> list[str]:
        """The addresses of the assets of `kind` that `owner` holds."""
        functions = self.contracts.registry(kind).functions
        count = int(self._read(functions.balanceOf(_address(owner))))
        token_ids = [
            int(self._read(functions.tokenOfOwnerByIndex(_address(owner), i))) for i in range(count)
        ]
        return [Web3.to_checksum_address(t.to_bytes(20, "big")) for t in token_ids]

    def predict_app(
        self,
        owner: str,
        name: str,
        app_type: str,
        multiaddr: bytes,
        checksum: bytes,
        mrenclave: bytes,
    ) -> str:
        """The address the app of these fields has, or will have once registered."""
        call = self.contracts.apps.functions.predict_app(
            _address(owner), name, app_type, multiaddr, checksum, mrenclave
        )
        return _address(self._read(call))

    def predict_dataset(self, owner: str, name: str, multiaddr: bytes, checksum: bytes) -> str:
        call = self.contracts.datasets.functions.predict_dataset(
            _address(owner), name, multiaddr, checksum
        )
        return _address(self._read(call))

    def predict_workerpool(self, owner: str, description: str) -> str:
        call = self.contracts.workerpools.functions.predict_workerpool(_address(owner), description)
        return _address(self._read(call))

    # Events.

    def deals_created(
        self, *, deal_id: bytes | None = None, from_block: int = 0
    ) -> list[DealCreated]:
        """`DealCreated` events since `from_block`, of one deal or of all."""
        filters = {"deal_id": deal_id} if deal_id is not None else None
        with self.node.errors():
            logs = self.contracts.hub.events.DealCreated().get_logs(
                argument_filters=filters, from_block=from_block
            )
        return [
            DealCreated(
                deal_id=bytes(log["args"]["deal_id"]),
                requester=_address(log["args"]["requester"]),
                app=_address(log["args"]["app"]),
                dataset=_address(log["args"]["dataset"]),
                workerpool=_address(log["args"]["workerpool"]),
                beneficiary=_address(log["args"]["beneficiary"]),
                tag=bytes(log["args"]["tag"]),
                params=str(log["args"]["params"]),
                block_number=int(log["blockNumber"]),
            )
            for log in logs
        ]

    def _task_logs(
        self, event: str, task_ids: Sequence[bytes], from_block: int, to_block: int
    ) -> list[Any]:
        found: list[Any] = []
        with self.node.errors():
            for start in range(0, len(task_ids), _TOPICS_PER_QUERY):
                chunk = list(task_ids[start : start + _TOPICS_PER_QUERY])
                found += self.contracts.hub.events[event]().get_logs(
                    argument_filters={"task_id": chunk}, from_block=from_block, to_block=to_block
                )
        return found

    def contributions_logged(
        self, task_ids: Sequence[bytes], *, from_block: int, to_block: int
    ) -> list[TaskContributed]:
        """`TaskContribute` events of these tasks, in chain order."""
        return [
            TaskContributed(
                task_id=bytes(log["args"]["task_id"]),
                worker=_address(log["args"]["worker"]),
                result_hash=bytes(log["args"]["result_hash"]),
                block_number=int(log["blockNumber"]),
            )
            for log in self._task_logs("TaskContribute", task_ids, from_block, to_block)
        ]

    def finalizations_logged(
        self, task_ids: Sequence[bytes], *, from_block: int, to_block: int
    ) -> list[TaskFinalized]:
        """`TaskFinalize` events of these tasks, in chain order."""
        return [
            TaskFinalized(
                task_id=bytes(log["args"]["task_id"]),
                digest=bytes(log["args"]["digest"]),
                results=bytes(log["args"]["results"]),
                block_number=int(log["blockNumber"]),
            )
            for log in self._task_logs("TaskFinalize", task_ids, from_block, to_block)
        ]

    def failures_logged(
        self, task_ids: Sequence[bytes], *, from_block: int, to_block: int
    ) -> list[TaskFailure]:
        """`TaskFailed` events of these tasks (failure records settled), in chain order."""
        return [
            TaskFailure.of(log["args"], int(log["blockNumber"]))
            for log in self._task_logs("TaskFailed", task_ids, from_block, to_block)
        ]

    # Writes: assets and accounts.

    def create_app(
        self,
        owner: LocalAccount,
        name: str,
        app_type: str,
        multiaddr: bytes,
        checksum: bytes,
        mrenclave: bytes = b"",
    ) -> str:
        """Registers an app owned by `owner`; returns its address."""
        fields = (name, app_type, multiaddr, checksum, mrenclave)
        self.register(owner, "app", fields)
        return self.predict_app(owner.address, *fields)

    def create_dataset(
        self, owner: LocalAccount, name: str, multiaddr: bytes, checksum: bytes
    ) -> str:
        self.register(owner, "dataset", (name, multiaddr, checksum))
        return self.predict_dataset(owner.address, name, multiaddr, checksum)

    def create_workerpool(self, owner: LocalAccount, description: str) -> str:
        self.register(owner, "workerpool", (description,))
        return self.predict_workerpool(owner.address, description)

    def register(self, owner: LocalAccount, kind: AssetKind, fields: Sequence[Any]) -> Receipt:
        """Registers an asset of `kind` with its registry fields after the owner (the
        order of `create_app`'s, `create_dataset`'s or `create_workerpool`'s arguments)."""
        functions = self.contracts.registry(kind).functions
        create = getattr(functions, f"create_{kind}")
        return self._send(owner, create(owner.address, *fields))

    def transfer_asset(self, owner: LocalAccount, kind: AssetKind, asset: str, to: str) -> Receipt:
        call = self.contracts.registry(kind).functions.transferFrom(
            owner.address, _address(to), int(asset, 16)
        )
        return self._send(owner, call)

    def change_policy(
        self,
        owner: LocalAccount,
        workerpool: str,
        worker_stake_ratio: int,
        scheduler_reward_ratio: int,
    ) -> Receipt:
        call = self.contracts.workerpools.functions.change_policy(
            _address(workerpool), worker_stake_ratio, scheduler_reward_ratio
        )
        return self._send(owner, call)

    def create_category(
        self, owner: LocalAccount, name: str, description: str, time_ref_s: int
    ) -> Receipt:
        call = self.contracts.hub.functions.create_category(name, description, time_ref_s)
        return self._send(owner, call)

    def transfer_tokens(self, sender: LocalAccount, to: str, amount: int) -> Receipt:
        return self._send(sender, self.contracts.token.functions.transfer(to, amount))

    def deposit(self, account: LocalAccount, amount: int) -> Receipt:
        """Deposits in one transaction through the token's `approveAndCall`."""
        call = self.contracts.token.functions.approveAndCall(self.deployment.hub, amount, b"")
        return self._send(account, call)

    def withdraw(self, account: LocalAccount, amount: int) -> Receipt:
        return self._send(account, self.contracts.hub.functions.withdraw(amount))

    # Writes: orders and deals.

    def cancel_order(self, owner: LocalAccount, order: Order) -> Receipt:
        """Closes an order for good (its whole volume becomes consumed)."""
        kind = _ORDER_KINDS[type(order)]
        call = getattr(self.contracts.hub.functions, f"cancel_{kind}_order")(order.as_tuple())
        return self._send(owner, call)

    def match_orders(
        self,
        sender: LocalAccount,
        app_order: AppOrder,
        dataset_order: DatasetOrder,
        workerpool_order: WorkerpoolOrder,
        request_order: RequestOrder,
    ) -> MatchResult:
        receipt = self._send(
            sender,
            self.contracts.hub.functions.matchOrders(
                app_order.as_tuple(),
                dataset_order.as_tuple(),
                workerpool_order.as_tuple(),
                request_order.as_tuple(),
            ),
        )
        (event,) = receipt.named("OrdersMatched")
        return MatchResult(
            deal_id=bytes(event.args["deal_id"]),
            volume=int(event.args["volume"]),
            receipt=receipt,
        )

    # Writes: the task lifecycle.

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
    ) -> Receipt:
        """Commits `digest` for task `index`: sends its result hash and the worker's seal."""
        task = task_id(deal_id, index)
        call = self.contracts.hub.functions.contribute(
            deal_id,
            index,
            result_hash(task, digest),
            result_seal(worker.address, task, digest),
            enclave,
            enclave_sign,
            authorization,
        )
        return self._send(worker, call)

    def reveal(self, worker: LocalAccount, deal_id: bytes, index: int, digest: bytes) -> Receipt:
        return self._send(worker, self.contracts.hub.functions.reveal(deal_id, index, digest))

    def finalize(
        self,
        sender: LocalAccount,
        deal_id: bytes,
        index: int,
        digest: bytes,
        results: bytes,
        contributors: Sequence[str],
        results_callback: bytes = b"",
    ) -> Receipt:
        call = self.contracts.hub.functions.finalize(
            deal_id, index, digest, results, results_callback, _sorted(contributors)
        )
        return self._send(sender, call)

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
    ) -> Receipt:
        call = self.contracts.hub.functions.contribute_and_finalize(
            deal_id,
            index,
            digest,
            results,
            results_callback,
            enclave,
            enclave_sign,
            authorization,
        )
        return self._send(worker, call)

    def finalize_failure(
        self,
        sender: LocalAccount,
        deal_id: bytes,
        index: int,
        record: FailureRecord,
        contributors: Sequence[str],
    ) -> Receipt:
        """Settles a task whose consensus is `record` (its digest): FAILED, `TaskFailed`."""
        return self.finalize(sender, deal_id, index, record.digest(), record.encode(), contributors)

    def contribute_and_finalize_failure(
        self,
        worker: LocalAccount,
        deal_id: bytes,
        index: int,
        record: FailureRecord,
        authorization: bytes,
        *,
        enclave: str = ZERO_ADDRESS,
        enclave_sign: bytes = b"",
    ) -> Receipt:
        """The one call of a trust-1 task that failed: commits and settles `record`."""
        return self.contribute_and_finalize(
            worker,
            deal_id,
            index,
            record.digest(),
            record.encode(),
            enclave,
            enclave_sign,
            authorization,
        )

    def reopen(
        self, sender: LocalAccount, deal_id: bytes, index: int, contributors: Sequence[str]
    ) -> Receipt:
        """Reopens a task whose winners did not reveal in time."""
        call = self.contracts.hub.functions.reopen(deal_id, index, _sorted(contributors))
        return self._send(sender, call)

    def claim(
        self,
        sender: LocalAccount,
        deal_id: bytes,
        indices: Sequence[int],
        contributors: Sequence[str] | None = None,
    ) -> Receipt:
        """Fails tasks `indices` of a deal past its final deadline; `contributors` lists, for
        each task in `indices` order, its contributors sorted by address."""
        call = self.contracts.hub.functions.claim(
            deal_id, list(indices), [_address(a) for a in contributors or ()]
        )
        return self._send(sender, call)


def _sorted(addresses: Sequence[str]) -> list[str]:
    """Checksummed and sorted by value, as the hub wants contributor lists."""
    return sorted((_address(a) for a in addresses), key=lambda a: int(a, 16))
