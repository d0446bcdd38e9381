"""What the hub's reads, writes and events return, as typed values: the chain port's
vocabulary. Addresses are checksummed strings, ids and hashes are bytes (docs/architecture.md
"Ids and addresses"); nothing here knows web3."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal, NamedTuple

from veritask.domain.failures import FailureKind, FailureRecord
from veritask.domain.tasks import ContributionStatus, Deadlines, TaskStatus, deadlines

__all__ = [
    "AppFields",
    "AssetKind",
    "Category",
    "Contribution",
    "DatasetFields",
    "Deal",
    "DealCreated",
    "HubAccount",
    "LoggedEvent",
    "MatchResult",
    "Receipt",
    "TaskContributed",
    "TaskFailure",
    "TaskFinalized",
    "TaskState",
    "WorkerpoolFields",
]

AssetKind = Literal["app", "dataset", "workerpool"]


@dataclass(frozen=True)
class LoggedEvent:
    """An event a transaction emitted, decoded: its name, arguments and emitter."""

    name: str
    args: Mapping[str, Any]
    address: str


@dataclass(frozen=True)
class Receipt:
    """A mined transaction and the protocol events it emitted, in log order (decoded on
    first use: most senders never look)."""

    tx_hash: bytes
    block_number: int
    gas_used: int
    contract_address: str | None = None  # set when the transaction created a contract
    decode_events: Callable[[], tuple[LoggedEvent, ...]] = field(
        default=tuple, repr=False, compare=False
    )

    @cached_property
    def events(self) -> tuple[LoggedEvent, ...]:
        return self.decode_events()

    def named(self, name: str) -> list[LoggedEvent]:
        """The emitted events called `name`."""
        return [event for event in self.events if event.name == name]


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

    @property
    def deadlines(self) -> Deadlines:
        return deadlines(self.start_time, self.time_ref)

    @property
    def indices(self) -> range:
        """The task indices of the deal's bag."""
        return range(self.bot_first, self.bot_first + self.bot_size)

    @property
    def task_price(self) -> int:
        """What one task costs its requester, in nRLC."""
        return self.app_price + self.dataset_price + self.workerpool_price


@dataclass(frozen=True)
class MatchResult:
    deal_id: bytes
    volume: int
    receipt: Receipt


@dataclass(frozen=True)
class TaskState:
    """`hub.task(deal_id, index)`: all zero before the task's first contribution."""

    status: TaskStatus
    contributors: int
    winners: int
    round: int
    reveal_deadline: int  # 0 until consensus
    consensus: bytes  # the consensus result hash, low 72 bits cleared; zero before


@dataclass(frozen=True)
class Contribution:
    """`hub.contribution(task_id, worker)`: status UNSET when the worker did not contribute."""

    status: ContributionStatus
    weight: int
    round: int


class HubAccount(NamedTuple):
    """An account in the hub, in nRLC."""

    free: int
    frozen: int


@dataclass(frozen=True)
class Category:
    name: str
    description: str
    time_ref: int  # seconds


@dataclass(frozen=True)
class AppFields:
    name: str
    app_type: str
    multiaddr: bytes
    checksum: bytes
    mrenclave: bytes


@dataclass(frozen=True)
class DatasetFields:
    name: str
    multiaddr: bytes
    checksum: bytes


@dataclass(frozen=True)
class WorkerpoolFields:
    description: str
    worker_stake_ratio: int
    scheduler_reward_ratio: int


@dataclass(frozen=True)
class DealCreated:
    """The `DealCreated` event: what a deal stores nowhere else."""

    deal_id: bytes
    requester: str
    app: str
    dataset: str
    workerpool: str
    beneficiary: str
    tag: bytes
    params: str
    block_number: int


@dataclass(frozen=True)
class TaskContributed:
    task_id: bytes
    worker: str
    result_hash: bytes
    block_number: int


@dataclass(frozen=True)
class TaskFinalized:
    task_id: bytes
    digest: bytes
    results: bytes
    block_number: int


@dataclass(frozen=True)
class TaskFailure:
    """The `TaskFailed` event: the workers agreed on a failure record and the task settled
    at once as FAILED (the requester paid the workerpool price only)."""

    task_id: bytes
    record: FailureRecord
    block_number: int

    @classmethod
    def of(cls, args: Mapping[str, Any], block_number: int) -> TaskFailure:
        """From a decoded `TaskFailed` event's arguments (the hub checked the kind)."""
        record = FailureRecord(
            FailureKind(int(args["kind"])), int(args["exit_code"]), bytes(args["stderr_digest"])
        )
        return cls(bytes(args["task_id"]), record, block_number)
