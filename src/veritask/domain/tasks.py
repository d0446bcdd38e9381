"""Task-level rules in pure Python, mirroring the hub: task and contribution statuses,
deadlines, result commitments, worker authorizations, PoCo's consensus weight rule and the
payout arithmetic of a task.

`success_payout`, `reward_weight`, `enclave_message` and `CALLBACK_GAS` are oracles of the
contract: the tests hold the hub to them. `workers_needed` is one too, and
the scheduler uses it to know how many workers must agree that an app failed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from eth_utils.address import to_canonical_address
from eth_utils.crypto import keccak

__all__ = [
    "CALLBACK_GAS",
    "CONTRIBUTION_DEADLINE_RATIO",
    "FINAL_DEADLINE_RATIO",
    "MAX_CONTRIBUTORS",
    "MAX_WEIGHT",
    "REVEAL_DEADLINE_RATIO",
    "SCHEDULER_STAKE_RATIO",
    "ContributionStatus",
    "Deadlines",
    "Payout",
    "TaskStatus",
    "authorization_hash",
    "consensus_reached",
    "deadlines",
    "enclave_message",
    "result_hash",
    "result_seal",
    "reveal_deadline",
    "reward_weight",
    "success_payout",
    "worker_weight",
    "workers_needed",
]

# Deadlines are multiples of the category's reference time C (PoCo's ratios).
CONTRIBUTION_DEADLINE_RATIO = 7
REVEAL_DEADLINE_RATIO = 2
FINAL_DEADLINE_RATIO = 10
# % of the workerpool price its scheduler locks per task when a deal is matched.
SCHEDULER_STAKE_RATIO = 30
MAX_CONTRIBUTORS = 8
MAX_WEIGHT = 2**8
CALLBACK_GAS = 200_000


class TaskStatus(IntEnum):
    """A task's status on the hub (`hub.task(...).status`), PoCo's values."""

    #: no contribution yet
    UNSET = 0
    #: contributions are open, no consensus yet
    ACTIVE = 1
    #: consensus reached: the winners reveal until the reveal deadline
    REVEALING = 2
    #: finalized with its result
    COMPLETED = 3
    #: claimed after the final deadline (refunded), or settled at once because its
    #: workers agreed that it failed (`TaskFailed`, veritask.domain.failures)
    FAILED = 4


class ContributionStatus(IntEnum):
    """A worker's contribution to a task on the hub (`hub.contribution(...).status`)."""

    #: no contribution from this worker
    UNSET = 0
    #: committed, not revealed
    CONTRIBUTED = 1
    #: revealed a result that matches the consensus
    PROVED = 2
    #: contributed a result that lost
    REJECTED = 3


@dataclass(frozen=True)
class Deadlines:
    """A deal's deadlines, unix seconds of chain time: contributions are accepted before
    `contribution`; unfinished tasks may be claimed from `final` on."""

    contribution: int
    final: int


def deadlines(start_time: int, time_ref: int) -> Deadlines:
    """The deadlines of a deal that started at `start_time` in a category of reference
    time `time_ref` (seconds)."""
    return Deadlines(
        contribution=start_time + CONTRIBUTION_DEADLINE_RATIO * time_ref,
        final=start_time + FINAL_DEADLINE_RATIO * time_ref,
    )


def reveal_deadline(consensus_at: int, time_ref: int) -> int:
    """When the reveal window of a task that reached consensus at `consensus_at` closes."""
    return consensus_at + REVEAL_DEADLINE_RATIO * time_ref


def _address(value: str) -> bytes:
    return to_canonical_address(value)


def result_hash(task_id: bytes, digest: bytes) -> bytes:
    """What every honest worker commits: keccak256(task_id ‖ digest)."""
    return keccak(task_id + digest)


def result_seal(worker: str, task_id: bytes, digest: bytes) -> bytes:
    """What binds a result to one worker: keccak256(worker ‖ task_id ‖ digest)."""
    return keccak(_address(worker) + task_id + digest)


def authorization_hash(worker: str, task_id: bytes, enclave: str) -> bytes:
    """What the scheduler (or TEE broker) signs, EIP-191, to let `worker` contribute."""
    return keccak(_address(worker) + task_id + _address(enclave))


def enclave_message(result_hash_: bytes, result_seal_: bytes) -> bytes:
    """What an enclave signs, EIP-191: keccak256(result_hash ‖ result_seal)."""
    return keccak(result_hash_ + result_seal_)


def worker_weight(score: int) -> int:
    """PoCo's weight of a worker: max(⌊score/3⌋, 3) − 1, capped at MAX_WEIGHT."""
    return min(max(score // 3, 3) - 1, MAX_WEIGHT)


def reward_weight(score: int) -> int:
    """A winner's share of the workers' pot is pro rata to ⌊log2(weight)⌋."""
    return worker_weight(score).bit_length() - 1


def consensus_reached(group_weight: int, total_weight: int, trust: int) -> bool:
    """PoCo's rule: group × t > (1 + Σ groups) × (t − 1), t = max(trust, 1).

    `total_weight` is Σ groups, without the 1.
    """
    t = max(trust, 1)
    return group_weight * t > (total_weight + 1) * (t - 1)


def workers_needed(trust: int, weight: int = 2) -> int:
    """How many agreeing workers of equal `weight` reach consensus at `trust`."""
    group = 0
    for count in range(1, MAX_CONTRIBUTORS + 1):
        group = weight if group == 0 else group * weight
        if consensus_reached(group, group, trust):
            return count
    raise ValueError(f"trust {trust} needs more than {MAX_CONTRIBUTORS} workers of weight {weight}")


@dataclass(frozen=True)
class Payout:
    """Where a completed task's money goes, in nRLC."""

    app_owner: int
    dataset_owner: int
    workers: dict[str, int]  # reward per winner (their stake is returned on top)
    seized: dict[str, int]  # stake lost per non-winning contributor
    scheduler: int  # reward, without its stake returned


def success_payout(
    *,
    app_price: int,
    dataset_price: int,
    workerpool_price: int,
    worker_stake: int,
    scheduler_reward_ratio: int,
    winners: dict[str, int],
    losers: list[str],
) -> Payout:
    """The payout of a completed task; `winners` maps each winner to its reward weight.

    The pot is the workerpool price plus the losers' stakes; (100 − ratio) % of it is
    shared by the winners pro rata to their reward weights (rounded down); the scheduler
    takes the rest.
    """
    pot = workerpool_price + worker_stake * len(losers)
    workers_pot = pot * (100 - scheduler_reward_ratio) // 100
    total = sum(winners.values())
    shares = {worker: workers_pot * weight // total for worker, weight in winners.items()}
    return Payout(
        app_owner=app_price,
        dataset_owner=dataset_price,
        workers=shares,
        seized=dict.fromkeys(losers, worker_stake),
        scheduler=pot - sum(shares.values()),
    )
