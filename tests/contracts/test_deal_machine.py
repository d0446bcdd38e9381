"""Stateful property test of whole deals through the task lifecycle (PROTOCOL.md A5, A6, B2,
B3): a hypothesis state machine matches deals (trust 1-8, volume 1-4, random prices, with
or without a dataset, with an app that works or one that always fails: then the right
digest is a failure record's, veritask.domain.failures) and drives their tasks with a
pool of workers that are honest (the right digest), wrong (a wrong digest, two of them
colluding) or silent (the right digest, never revealed), with starting scores from fresh
to the weight cap: contributions authorized by the workerpool owner, reveals, finalize by
the scheduler, by the last winner revealing in the same call or, after the reveal window,
by the scheduler or a winner (a stranger's attempt reverts), reopen when nobody
revealed, time jumps past the reveal, contribution and final deadlines, claims of several
tasks at once (never-started tasks too) and the one-call path of trust-1 deals.

Two kinds of rules: `progress` takes an open task one natural step further (most of the
time the most advanced one, so that tasks complete), `anything` makes any call on any task
by anyone, or lets time pass (most of those calls revert, so every revert reason is met).

A Python model of every account (balance, frozen, score) and task (status, round,
contributions, rejected groups, consensus) predicts each call: the revert reasons it may
have, or its exact effects, computed with the pure rules of `veritask.domain.tasks`.
After every step the chain must equal the model, and:
- the hub holds exactly the balances and frozen amounts of every account;
- the requester paid the price of each completed task once, the workerpool price of each
  task settled as failed once, got back exactly the price of each claimed task (plus the
  scheduler's stake of each claimed task nobody contributed to), and still has locked the
  price of each open task;
- a task is final (TaskFinalize, TaskFailed or TaskClaimed) at most once;
- a completed task's digest is the one its task went REVEALING on (TaskConsensus), or, on
  the one-call path, the one its only worker sent;
- losers' stakes are seized, winners' returned, scores follow the rule (winners +1 when
  the task had more than one contributor, everyone else ⌊2 × score / 3⌋);
- once every task of every deal is final, nothing is frozen.
Every example ends (teardown) by claiming whatever is still open after the last final
deadline, then checks that last point: every lock has a way out.

Accounts are read from the hub's storage word (cheap) after each step, and through the
views at the end of each example. The protocol is deployed once per session
(tests/conftest.py); the world (assets, funds, workers and their scores) is
built once per test; each example runs in a titanoboa anchor entered in `__init__` and
reverted in `teardown`. 120 examples of up to 50 steps take about a minute. A failure
shrinks for up to five minutes: DEAL_MACHINE_NO_SHRINK=1 reports it unshrunk at once.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boa
import pytest
from boa.contracts.base_evm_contract import BoaError
from eth_utils import keccak
from hypothesis import Phase, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from tests.support import RLC, ZERO, Actor, Market, Protocol, account_slot, make_actor, set_score
from veritask.domain import tasks as rules
from veritask.domain.failures import FailureKind, FailureRecord
from veritask.domain.ids import task_id
from veritask.domain.orders import AppOrder, DatasetOrder, RequestOrder, WorkerpoolOrder
from veritask.domain.signing import sign_hash_eip191

# DEAL_MACHINE_NO_SHRINK=1 skips shrinking, for a quick look at a failure while debugging.
NO_SHRINK = os.environ.get("DEAL_MACHINE_NO_SHRINK") == "1"
UNSET, ACTIVE, REVEALING, COMPLETED, FAILED = range(5)
FINAL = (COMPLETED, FAILED)
SCORE_MAX = 2**16 - 1
MASK_80 = 2**80 - 1
MAX_DEALS = 3

# The worker pool: (kind, starting score). Scores set weights 2 (fresh), 3, 4, 12 and 256
# (capped; that silent worker reaches consensus alone at any trust up to 8).
POOL = (
    ("honest", 0),
    ("honest", 0),
    ("honest", 15),
    ("honest", 40),
    ("wrong", 0),  # the two "wrong" workers collude on one wrong digest
    ("wrong", 12),
    ("lone", 0),  # a wrong digest of its own
    ("silent", 0),
    ("silent", 800),
)
WORKER_FUNDS = 40 * RLC
POOR_WORKER = 8  # funded for one stake of the highest price only
POOR_FUNDS = 2 * RLC
DEPOSITS = {"requester": 100_000 * RLC, "scheduler": 1_000 * RLC}

TRUSTS = st.sampled_from((1, 1, 2, 3, 4, 5, 6, 7, 8))  # trust 1 (one-call path) twice as often
APP_PRICES = st.sampled_from((0, 3 * RLC))
DATASET_PRICES = st.sampled_from((None, 0, 2 * RLC))  # None: a deal without a dataset
WORKERPOOL_PRICES = st.sampled_from((0, 7, 2 * RLC + 1, 5 * RLC))
FAILS = st.sampled_from((False, False, True))  # a third of the deals run an app that fails
PICK = st.integers(0, 2**16)
# Mostly short waits: a deal lives 10 C = 3 000 s, a reveal window is 2 C = 600 s (the
# `progress` rule also jumps past a reveal window or to the final deadline when it must).
WAITS = st.sampled_from((10, 30, 60, 120, 300, 601, 601, 3_001))
# Who ends a task in consensus: the scheduler once all winners revealed, the last winner
# revealing in its finalize call, or (after the reveal window) a stranger.
STYLES = ("scheduler", "last winner", "stranger")
ACTIONS = (
    "contribute",
    "contribute_and_finalize",
    "reveal",
    "reopen",
    "reveal a rejected contribution",
    "finalize by the scheduler",
    "finalize by a stranger",
    "finalize by a worker",
    "claim",
    "wait",
    "wait",
    "wait for a deadline",
    "close the contribution window",
)


# --- the model ------------------------------------------------------------------------------


@dataclass
class Contribution:
    worker: str
    digest: bytes
    round: int
    score: int  # the worker's score when it contributed: its weight and reward weight
    proved: bool = False

    @property
    def weight(self) -> int:
        return rules.worker_weight(self.score)


@dataclass
class DealModel:
    number: int
    id: bytes
    trust: int
    volume: int
    app_price: int
    dataset_price: int
    workerpool_price: int
    start: int
    time_ref: int
    stake: int
    scheduler_stake: int
    reward_ratio: int
    fails: bool = False  # the app always fails: the right digest is a failure record's
    tasks: list[TaskModel] = field(default_factory=list)

    @property
    def price(self) -> int:
        return self.app_price + self.dataset_price + self.workerpool_price

    @property
    def contribution_deadline(self) -> int:
        return self.start + rules.CONTRIBUTION_DEADLINE_RATIO * self.time_ref

    @property
    def final_deadline(self) -> int:
        return self.start + rules.FINAL_DEADLINE_RATIO * self.time_ref

    def __repr__(self) -> str:
        fails = ", failing app" if self.fails else ""
        return f"deal#{self.number}(trust={self.trust}, volume={self.volume}{fails})"


@dataclass
class TaskModel:
    deal: DealModel
    index: int
    id: bytes
    status: int = UNSET
    fast: bool = False  # the trust-1 bit: started, or completed in one call
    one_call_digest: bytes | None = None
    round: int = 0
    contributions: dict[str, Contribution] = field(default_factory=dict)
    # digest -> round: its contributions of earlier rounds are rejected (a reopen).
    rejected: dict[bytes, int] = field(default_factory=dict)
    consensus: bytes | None = None  # the digest, while REVEALING
    winners: int = 0
    reveal_deadline: int = 0
    settled_failure: bool = False  # FAILED by its workers' failure record, not claimed

    def valid(self, c: Contribution) -> bool:
        return c.round >= self.rejected.get(c.digest, 0)

    def group_weights(self) -> dict[bytes, int]:
        weights: dict[bytes, int] = {}
        for c in self.contributions.values():
            if self.valid(c):
                weights[c.digest] = weights.get(c.digest, 1) * c.weight
        return weights

    def sorted_contributors(self) -> list[str]:
        return sorted(self.contributions, key=lambda a: int(a, 16))

    @property
    def final(self) -> bool:
        return self.status in FINAL

    def __repr__(self) -> str:
        return f"{self.deal!r}.task{self.index}"


@dataclass(frozen=True)
class World:
    protocol: Protocol
    actors: dict[str, Actor]
    workers: list[Actor]
    app: str
    dataset: str
    workerpool: str
    accounts: dict[str, tuple[int, int, int]]  # balance, frozen, score at the start


_WORLD: list[World] = []


def _build_world(protocol: Protocol, actors: dict[str, Actor]) -> World:
    a = actors
    app = protocol.apps.create_app(
        a["app_owner"].address, "machine", "DOCKER", b"docker.io/x/m:1", keccak(text="m"), b""
    )
    dataset = protocol.datasets.create_dataset(
        a["dataset_owner"].address, "machine data", b"/ipfs/bafkreimachine", keccak(text="d")
    )
    workerpool = protocol.workerpools.create_workerpool(a["scheduler"].address, "machine pool")
    for name, amount in DEPOSITS.items():
        protocol.fund(a[name], amount)
    workers = []
    for number, (kind, score) in enumerate(POOL):
        worker = make_actor(f"machine worker {number} {kind}")
        protocol.fund(worker, POOR_FUNDS if number == POOR_WORKER else WORKER_FUNDS)
        if score:
            # The score is bits 160-175 of the account word, earned with the scheduler of
            # the top 80 bits (the machine's one scheduler); balance and frozen stay.
            set_score(protocol, worker.address, score, a["scheduler"].address)
        workers.append(worker)
    addresses = [x.address for x in actors.values()] + [w.address for w in workers]
    hub = protocol.hub
    accounts = {x: (hub.balance_of(x), hub.frozen_of(x), hub.score_of(x)) for x in addresses}
    for worker, (_, score) in zip(workers, POOL, strict=True):
        assert accounts[worker.address][2] == score
    for address, (balance, frozen, score) in accounts.items():
        # The account word's layout, which the machine reads directly (see _chain_account).
        word = boa.env.get_storage(hub.address, account_slot(protocol, address))
        assert word & (2**176 - 1) == balance | (frozen << 80) | (score << 160)
    assert protocol.token.balanceOf(hub.address) == sum(b + f for b, f, _ in accounts.values())
    return World(protocol, actors, workers, str(app), str(dataset), str(workerpool), accounts)


@pytest.fixture(autouse=True)
def _world(protocol: Protocol, actors: dict[str, Actor]) -> Iterator[None]:
    _WORLD.append(_build_world(protocol, actors))
    yield
    _WORLD.clear()


def _reason(err: BoaError) -> str:
    found = re.search(r"(tasks|escrow|match): [a-z0-9 ,'-]+", str(err))
    return found.group(0) if found else str(err)


def _attempt(call: Callable[[], Any]) -> str | None:
    """Runs a transaction: None, or its revert reason."""
    try:
        call()
    except BoaError as err:
        return _reason(err)
    return None


def _now() -> int:
    return int(boa.env.evm.patch.timestamp)


def _step(method: Callable[..., None]) -> Callable[..., None]:
    """Marks the machine unhealthy while a rule or an invariant runs, so that after a
    failure the teardown does not pile a second failure on the first one."""

    @functools.wraps(method)
    def wrapper(self: DealMachine, *args: Any, **kwargs: Any) -> None:
        self.healthy = False
        method(self, *args, **kwargs)
        self.healthy = True

    return wrapper


class DealMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world = _WORLD[-1]
        self.p = self.world.protocol
        self.hub = self.p.hub
        self.actors = self.world.actors
        self.workers = self.world.workers
        self.kinds = {w.address: kind for w, (kind, _) in zip(self.workers, POOL, strict=True)}
        self.scheduler = self.actors["scheduler"]
        self.requester = self.actors["requester"]
        self.stranger = self.actors["stranger"]
        self._anchor = boa.env.anchor()
        self._anchor.__enter__()
        self.accounts = {x: list(v) for x, v in self.world.accounts.items()}
        self.slots = {x: account_slot(self.p, x) for x in self.accounts}
        self.requester_deposit = sum(self.world.accounts[self.requester.address][:2])
        self.deals: list[DealModel] = []
        self.finals: set[bytes] = set()  # task ids with a TaskFinalize, TaskFailed or TaskClaimed
        # What the requester paid for tasks (completed: the price; settled as failed: the
        # workerpool price) and what it was given (the stakes of claimed untouched tasks).
        self.requester_paid = 0
        self.requester_compensated = 0
        self.consensus_hashes: dict[bytes, set[bytes]] = {}  # TaskConsensus result hashes
        self.healthy = True

    def teardown(self) -> None:
        try:
            if self.healthy:
                completed = sum(t.status == COMPLETED for t in self._tasks())
                event(f"tasks completed in the example: {completed}")
                self._settle_everything()
        finally:
            self._anchor.__exit__(None, None, None)

    # --- helpers ----------------------------------------------------------------------------

    def _move(self, address: str, balance: int = 0, frozen: int = 0) -> None:
        self.accounts[address][0] += balance
        self.accounts[address][1] += frozen
        assert self.accounts[address][0] >= 0
        assert self.accounts[address][1] >= 0

    def _score(self, address: str) -> int:
        return self.accounts[address][2]

    def _tasks(self) -> list[TaskModel]:
        return [t for d in self.deals for t in d.tasks]

    @staticmethod
    def _record(task: TaskModel) -> FailureRecord:
        """The failure record of a task of a failing app (its stderr differs per task)."""
        return FailureRecord(FailureKind.APP_EXIT, 1 + task.index, keccak(b"stderr" + task.id))

    def _right(self, task: TaskModel) -> bytes:
        if task.deal.fails:
            return self._record(task).digest()
        return keccak(b"right result" + task.id)

    def _results(self, task: TaskModel, digest: bytes) -> bytes:
        """What a finalizer passes as `results`: the failure record for the failure digest."""
        if task.deal.fails and digest == self._right(task):
            return self._record(task).encode()
        return b"results"

    def _digest(self, worker: str, task: TaskModel) -> bytes:
        kind = self.kinds[worker]
        if kind in ("honest", "silent"):
            return self._right(task)
        if kind == "wrong":
            return keccak(b"wrong result" + task.id)
        return keccak(b"lone result" + worker.encode() + task.id)

    def _auth(self, worker: str, task: TaskModel, forged: bool) -> bytes:
        signer = self.stranger if forged else self.scheduler
        return sign_hash_eip191(rules.authorization_hash(worker, task.id, ZERO), signer.key)

    def _logs(self) -> list[Any]:
        return list(self.hub.get_logs())

    def _check_outcome(self, reasons: list[str], reason: str | None, what: str) -> None:
        event(f"{what}: {reason or 'ok'}")
        if reasons:
            assert reason in reasons, f"{what}: got {reason!r}, expected one of {reasons}"
        else:
            assert reason is None, f"{what}: unexpected revert {reason!r}"

    def _record_finals(self, logs: list[Any]) -> None:
        for log in logs:
            name = type(log).__name__
            if name == "TaskConsensus":
                self.consensus_hashes.setdefault(bytes(log.task_id), set()).add(
                    bytes(log.result_hash)
                )
            elif name in ("TaskFinalize", "TaskFailed", "TaskClaimed"):
                tid = bytes(log.task_id)
                assert tid not in self.finals, f"task {tid.hex()} final twice"
                self.finals.add(tid)

    def _pay_success(
        self, task: TaskModel, rewards: dict[str, int], losers: int, failed: bool = False
    ) -> None:
        """The moves that every completed task shares: the requester pays the price, the
        app and dataset owners get theirs, the scheduler gets its stake back and its reward
        (what the workers did not get of the pot). A task settled as `failed` costs the
        requester the workerpool price only: the app and dataset prices come back."""
        d = task.deal
        pot = d.workerpool_price + d.stake * losers
        scheduler_reward = pot - sum(rewards.values())
        if failed:
            self._move(self.requester.address, d.app_price + d.dataset_price, -d.price)
            self.requester_paid += d.workerpool_price
            task.status = FAILED
            task.settled_failure = True
        else:
            self._move(self.requester.address, 0, -d.price)
            self._move(self.actors["app_owner"].address, d.app_price)
            self._move(self.actors["dataset_owner"].address, d.dataset_price)
            self.requester_paid += d.price
            task.status = COMPLETED
        self._move(self.scheduler.address, scheduler_reward + d.scheduler_stake, -d.scheduler_stake)

    # --- deals ----------------------------------------------------------------------------

    def _match(
        self,
        trust: int,
        volume: int,
        app_price: int,
        dataset_price: int | None,
        workerpool_price: int,
        fails: bool = False,
    ) -> None:
        w = self.world
        salt = keccak(f"machine deal {len(self.deals)}".encode())
        market = Market(
            protocol=self.p,
            app=w.app,
            dataset=w.dataset,
            workerpool=w.workerpool,
            app_order=AppOrder(app=w.app, appprice=app_price, volume=volume, salt=salt),
            dataset_order=DatasetOrder(
                dataset=w.dataset, datasetprice=dataset_price or 0, volume=volume, salt=salt
            ),
            workerpool_order=WorkerpoolOrder(
                workerpool=w.workerpool,
                workerpoolprice=workerpool_price,
                volume=volume,
                trust=trust,
                salt=salt,
            ),
            request_order=RequestOrder(
                app=w.app,
                appmaxprice=app_price,
                dataset=w.dataset,
                datasetmaxprice=dataset_price or 0,
                workerpool=w.workerpool,
                workerpoolmaxprice=workerpool_price,
                requester=self.requester.address,
                volume=volume,
                trust=trust,
                beneficiary=self.requester.address,
                params='{"iexec_args": "machine"}',
                salt=salt,
            ),
            signers={
                "app": self.actors["app_owner"],
                "dataset": self.actors["dataset_owner"],
                "workerpool": self.scheduler,
                "request": self.requester,
            },
        )
        if dataset_price is None:
            market = market.without_dataset()
        deal_id = market.match()
        terms = self.hub.deal(deal_id)
        assert (terms.trust, terms.bot_first, terms.bot_size) == (trust, 0, volume)
        assert terms.start_time == _now()
        deal = DealModel(
            number=len(self.deals),
            id=deal_id,
            trust=trust,
            volume=volume,
            app_price=app_price,
            dataset_price=dataset_price or 0,
            workerpool_price=workerpool_price,
            start=_now(),
            time_ref=terms.time_ref,
            stake=workerpool_price * terms.worker_stake_ratio // 100,
            scheduler_stake=workerpool_price * rules.SCHEDULER_STAKE_RATIO // 100,
            reward_ratio=terms.scheduler_reward_ratio,
            fails=fails,
        )
        deal.tasks = [TaskModel(deal, i, task_id(deal_id, i)) for i in range(volume)]
        self.deals.append(deal)
        self._move(self.requester.address, -deal.price * volume, deal.price * volume)
        self._move(
            self.scheduler.address, -deal.scheduler_stake * volume, deal.scheduler_stake * volume
        )

    # --- the calls, each predicted by the model ---------------------------------------------

    def _contribute(self, task: TaskModel, worker: str, forged: bool = False) -> None:
        d = task.deal
        digest = self._digest(worker, task)
        reasons = []
        if task.one_call_digest is not None:
            reasons.append("tasks: task already completed")
        if task.status not in (UNSET, ACTIVE):
            reasons.append("tasks: task not active")
        if _now() >= d.contribution_deadline:
            reasons.append("tasks: contribution deadline passed")
        if worker in task.contributions:
            reasons.append("tasks: already contributed")
        if len(task.contributions) >= rules.MAX_CONTRIBUTORS:
            reasons.append("tasks: too many contributors")
        if forged:
            reasons.append("tasks: invalid authorization")
        if self.accounts[worker][0] < d.stake:
            reasons.append("tasks: worker balance too low for the stake")

        def call() -> None:
            with boa.env.prank(worker):
                self.hub.contribute(
                    d.id,
                    task.index,
                    rules.result_hash(task.id, digest),
                    rules.result_seal(worker, task.id, digest),
                    ZERO,
                    b"",
                    self._auth(worker, task, forged),
                )

        reason = _attempt(call)
        self._check_outcome(reasons, reason, "contribute")
        if reason is not None:
            return
        logs = self._logs()
        self._record_finals(logs)
        self._move(worker, -d.stake, d.stake)
        contribution = Contribution(worker, digest, task.round, self._score(worker))
        task.contributions[worker] = contribution
        if d.trust == 1:
            task.fast = True
        # The hub checks the rule for the contributing group only (as PoCo does).
        groups = task.group_weights()
        reached = rules.consensus_reached(groups[digest], sum(groups.values()), d.trust)
        consensus_logs = [x for x in logs if type(x).__name__ == "TaskConsensus"]
        if reached:
            task.status = REVEALING
            task.consensus = digest
            task.winners = sum(
                1 for c in task.contributions.values() if c.digest == digest and task.valid(c)
            )
            task.reveal_deadline = _now() + rules.REVEAL_DEADLINE_RATIO * d.time_ref
            assert [bytes(x.result_hash) for x in consensus_logs] == [
                rules.result_hash(task.id, digest)
            ]
            event(f"consensus at trust {d.trust} by a {self.kinds[worker]} worker")
        else:
            task.status = ACTIVE
            assert consensus_logs == []
        view = self.hub.contribution(task.id, worker)
        assert (view.status, view.weight, view.round) == (1, contribution.weight, task.round)

    def _reveal(self, task: TaskModel, worker: str, digest: bytes) -> None:
        mine = task.contributions.get(worker)
        reasons = []
        if task.status != REVEALING:
            reasons.append("tasks: task not revealing")
        if _now() > task.reveal_deadline:
            reasons.append("tasks: reveal deadline passed")
        if mine is None or mine.proved:
            reasons.append("tasks: nothing to reveal")
        else:
            if digest != mine.digest:
                reasons.append("tasks: reveal does not match the contribution")
            if digest != task.consensus:
                reasons.append("tasks: result is not the consensus")
            if not task.valid(mine):
                reasons.append("tasks: contribution rejected")

        def call() -> None:
            with boa.env.prank(worker):
                self.hub.reveal(task.deal.id, task.index, digest)

        reason = _attempt(call)
        self._check_outcome(reasons, reason, "reveal")
        if reason is None:
            assert mine is not None
            mine.proved = True
            assert self.hub.contribution(task.id, worker).status == 2

    def _finalize(self, task: TaskModel, sender: str, label: str, flaw: str | None = None) -> None:
        d = task.deal
        digest = task.consensus or self._right(task)
        contributors = task.sorted_contributors()
        if flaw == "digest":
            digest = keccak(b"not the consensus" + digest)
        elif flaw == "contributors":
            contributors = contributors[1:] if contributors else [self.stranger.address]
        now = _now()
        reasons = []
        if task.status != REVEALING:
            reasons.append("tasks: task not revealing")
        if now >= d.final_deadline:
            reasons.append("tasks: final deadline passed")
        if digest != task.consensus:
            reasons.append("tasks: digest is not the consensus")
        if contributors != task.sorted_contributors():
            reasons += [
                "tasks: wrong contributor count",
                "tasks: not a contributor",
                "tasks: contributors not sorted",
            ]
        # A winner that has not revealed may reveal in the call, inside the reveal window.
        own = task.contributions.get(sender)
        own_reveal = (
            own is not None
            and not own.proved
            and own.digest == digest
            and task.valid(own)
            and now <= task.reveal_deadline
        )
        winners = [c.worker for c in task.contributions.values() if c.proved]
        if own_reveal:
            winners.append(sender)
        if not winners:
            reasons.append("tasks: nobody revealed")
        if now <= task.reveal_deadline:
            if sender != self.scheduler.address and not own_reveal:
                reasons.append("tasks: reveal window still open")
            if len(winners) != task.winners:
                reasons.append("tasks: winners still revealing")
        elif sender != self.scheduler.address and not (own is not None and own.proved):
            # Security M2: after the window, only the scheduler or a winner gives the pointer.
            reasons.append("tasks: only the scheduler or a winner may finalize")
        results = self._results(task, digest)
        failed = results != b"results"

        def call() -> None:
            with boa.env.prank(sender):
                self.hub.finalize(d.id, task.index, digest, results, b"", contributors)

        reason = _attempt(call)
        self._check_outcome(reasons, reason, f"finalize by {label}")
        if reason is not None:
            return
        logs = self._logs()
        self._check_final_event(logs, task, digest, failed)
        # The completed digest is the one the task went REVEALING on.
        assert rules.result_hash(task.id, digest) in self.consensus_hashes.get(task.id, set())
        self._record_finals(logs)
        revealed = [str(x.worker) for x in logs if type(x).__name__ == "TaskReveal"]
        assert revealed == ([sender] if own_reveal else [])
        if own is not None and own_reveal:
            own.proved = True
        losers = [x for x in task.sorted_contributors() if x not in winners]
        payout = rules.success_payout(
            app_price=d.app_price,
            dataset_price=d.dataset_price,
            workerpool_price=d.workerpool_price,
            worker_stake=d.stake,
            scheduler_reward_ratio=d.reward_ratio,
            winners={x: rules.reward_weight(task.contributions[x].score) for x in winners},
            losers=losers,
        )
        replicated = len(task.contributions) > 1
        for x in winners:
            # Winners: stake back, a share of the pot, +1 score when the task was replicated.
            self._move(x, d.stake + payout.workers[x], -d.stake)
            if replicated:
                self.accounts[x][2] = min(self.accounts[x][2] + 1, SCORE_MAX)
        for x in losers:
            # Every other contributor: stake seized into the pot, a third of its score lost.
            self._move(x, 0, -payout.seized[x])
            self.accounts[x][2] = self.accounts[x][2] * 2 // 3
        self._pay_success(task, payout.workers, len(losers), failed)
        outcome = "settled as failed" if failed else "completed"
        event(f"{outcome} by {label}: {len(winners)} winners, {len(losers)} losers")

    def _reopen(self, task: TaskModel, flaw: str | None = None) -> None:
        d = task.deal
        contributors = task.sorted_contributors()
        if flaw is not None:
            contributors = contributors[::-1] if len(contributors) > 1 else []
        now = _now()
        reasons = []
        if task.status != REVEALING:
            reasons.append("tasks: task not revealing")
        if now <= task.reveal_deadline:
            reasons.append("tasks: reveal window still open")
        if now >= d.final_deadline:
            reasons.append("tasks: final deadline passed")
        if contributors != task.sorted_contributors():
            reasons += ["tasks: wrong contributor count", "tasks: contributors not sorted"]
        if any(c.proved for c in task.contributions.values()):
            reasons.append("tasks: a winner revealed")

        def call() -> None:
            with boa.env.prank(self.stranger.address):
                self.hub.reopen(d.id, task.index, contributors)

        reason = _attempt(call)
        self._check_outcome(reasons, reason, "reopen")
        if reason is not None:
            return
        assert task.consensus is not None
        task.round += 1
        task.rejected[task.consensus] = task.round
        task.consensus = None
        task.winners = 0
        task.reveal_deadline = 0
        task.status = ACTIVE
        event(f"reopened to round {task.round}")

    def _one_call(self, task: TaskModel, worker: str, forged: bool = False) -> None:
        d = task.deal
        digest = self._digest(worker, task)
        reasons = []
        if d.trust != 1:
            reasons.append("tasks: one-call path needs trust 1")
        if task.fast:
            reasons.append("tasks: task already started")
        if _now() >= d.contribution_deadline:
            reasons.append("tasks: contribution deadline passed")
        if forged:
            reasons.append("tasks: invalid authorization")

        results = self._results(task, digest)
        failed = results != b"results"

        def call() -> None:
            with boa.env.prank(worker):
                self.hub.contribute_and_finalize(
                    d.id,
                    task.index,
                    digest,
                    results,
                    b"",
                    ZERO,
                    b"",
                    self._auth(worker, task, forged),
                )

        reason = _attempt(call)
        self._check_outcome(reasons, reason, "contribute_and_finalize")
        if reason is not None:
            return
        logs = self._logs()
        self._check_final_event(logs, task, digest, failed)
        self._record_finals(logs)
        assert task.status == UNSET
        assert not task.contributions
        task.fast = True
        task.one_call_digest = digest
        reward = d.workerpool_price * (100 - d.reward_ratio) // 100
        self._move(worker, reward)
        self._pay_success(task, {worker: reward}, 0, failed)
        event("settled as failed in one call" if failed else "completed in one call")

    def _check_final_event(
        self, logs: list[Any], task: TaskModel, digest: bytes, failed: bool
    ) -> None:
        """A completed task logs TaskFinalize with its digest; a failed one TaskFailed with
        its record's fields, and no TaskFinalize."""
        finals = [x for x in logs if type(x).__name__ == "TaskFinalize"]
        failures = [x for x in logs if type(x).__name__ == "TaskFailed"]
        if not failed:
            assert [(bytes(x.task_id), bytes(x.digest)) for x in finals] == [(task.id, digest)]
            assert failures == []
            return
        record = self._record(task)
        assert finals == []
        assert [
            (bytes(x.task_id), x.kind, x.exit_code, bytes(x.stderr_digest)) for x in failures
        ] == [(task.id, record.kind, record.exit_code, record.stderr_digest)]

    def _claim(self, deal: DealModel, tasks: list[TaskModel], flaw: str | None = None) -> None:
        contributors = [x for t in tasks for x in t.sorted_contributors()]
        if flaw == "contributors" and contributors:
            contributors = contributors[:-1]
        elif flaw == "contributors":
            contributors = [self.stranger.address]
        reasons = []
        if _now() < deal.final_deadline:
            reasons.append("tasks: final deadline not reached")
        if any(t.final for t in tasks) or len({t.index for t in tasks}) != len(tasks):
            reasons.append("tasks: task already final")
        if flaw == "contributors":
            reasons += ["tasks: wrong contributor count", "tasks: not a contributor"]

        def call() -> None:
            with boa.env.prank(self.stranger.address):
                self.hub.claim(deal.id, [t.index for t in tasks], contributors)

        reason = _attempt(call)
        self._check_outcome(reasons, reason, "claim")
        if reason is not None:
            return
        logs = self._logs()
        claimed = [bytes(x.task_id) for x in logs if type(x).__name__ == "TaskClaimed"]
        assert claimed == [t.id for t in tasks]
        self._record_finals(logs)
        never_started = sum(t.status == UNSET for t in tasks)
        for t in tasks:
            for x in t.contributions:
                self._move(x, deal.stake, -deal.stake)
            t.status = FAILED
        count = len(tasks)
        self._move(self.requester.address, deal.price * count, -deal.price * count)
        # The scheduler's stake of a task nobody contributed to goes to the requester; of
        # the others it comes back.
        lost = deal.scheduler_stake * never_started
        self._move(self.requester.address, lost)
        self.requester_compensated += lost
        self._move(
            self.scheduler.address,
            deal.scheduler_stake * count - lost,
            -deal.scheduler_stake * count,
        )
        event(f"claimed {count} tasks, {never_started} never started")

    def _settle_everything(self) -> None:
        """Claims every task still open after the last final deadline: then nothing may be
        frozen."""
        open_deals = [d for d in self.deals if any(not t.final for t in d.tasks)]
        if open_deals:
            last = max(d.final_deadline for d in open_deals)
            if _now() < last:
                boa.env.time_travel(seconds=last - _now())
            for d in open_deals:
                self._claim(d, [t for t in d.tasks if not t.final])
        self.check_chain_equals_model()
        self._check_views()
        for address, (_, frozen, _) in self.accounts.items():
            assert frozen == 0, f"{address} still has {frozen} frozen"

    # --- rules: the usual path --------------------------------------------------------------

    def _pending_winners(self, task: TaskModel) -> list[str]:
        return [
            c.worker
            for c in task.contributions.values()
            if c.digest == task.consensus and not c.proved and task.valid(c)
        ]

    def _open(self) -> bool:
        return any(not t.final for t in self._tasks())

    @precondition(_open)
    @rule(rank=st.sampled_from((0, 0, 0, 1, 2)), who=PICK, style=st.sampled_from(STYLES))
    @_step
    def progress(self, rank: int, who: int, style: str) -> None:
        self._progress(rank, who, style)

    @precondition(_open)
    @rule(who=PICK, style=st.sampled_from(STYLES))
    @_step
    def progress_the_most_advanced(self, who: int, style: str) -> None:
        """`progress` of the most advanced open task: a second rule, twice as likely."""
        self._progress(0, who, style)

    def _progress(self, rank: int, who: int, style: str) -> None:
        """The next step of an open task, the most advanced one mostly: a new worker
        contributes (or, on a trust-1 task, completes it in one call); a winner reveals;
        the scheduler, the last winner or, after the reveal window, anyone finalizes;
        nobody revealed: the task is reopened; stuck past its deadlines: claimed."""
        tasks = sorted(
            (t for t in self._tasks() if not t.final),
            key=lambda t: (-t.status, -len(t.contributions), t.deal.number, t.index),
        )
        task = tasks[rank % len(tasks)]
        d = task.deal
        now = _now()
        if now >= d.final_deadline:
            self._claim(d, [t for t in d.tasks if not t.final])
        elif task.status in (UNSET, ACTIVE):
            if style == "close the contribution window" and now < d.contribution_deadline:
                # To the contribution deadline: from that second on, nobody may contribute.
                boa.env.time_travel(seconds=d.contribution_deadline - now)
                now = _now()
            if now >= d.contribution_deadline:
                late = self.workers[who % len(self.workers)].address
                if d.trust == 1 and who % 2:
                    self._one_call(task, late)
                else:
                    self._contribute(task, late)
                boa.env.time_travel(seconds=d.final_deadline - now)
                self._claim(d, [t for t in d.tasks if not t.final])
            elif task.status == UNSET and d.trust == 1 and who % 2:
                self._one_call(task, self.workers[who % len(self.workers)].address)
            else:
                fresh = [w.address for w in self.workers if w.address not in task.contributions]
                workers = fresh or [w.address for w in self.workers]
                self._contribute(task, workers[who % len(workers)])
        else:
            pending = self._pending_winners(task)
            talkers = [x for x in pending if self.kinds[x] != "silent"]
            revealed = any(c.proved for c in task.contributions.values())
            # Contributions to this result rejected by an earlier reopen (silent ones too).
            stale = [
                c.worker
                for c in task.contributions.values()
                if c.digest == task.consensus and not task.valid(c)
            ]
            dissenters = [
                c.worker
                for c in task.contributions.values()
                if c.digest != task.consensus and self.kinds[c.worker] != "silent"
            ]
            if now <= task.reveal_deadline:
                if stale and who % 3 == 0:
                    # A rejected worker tries to reveal, alone or in a finalize call.
                    worker = stale[who % len(stale)]
                    if style == "last winner":
                        self._finalize(task, worker, "a rejected worker")
                    else:
                        self._reveal(task, worker, task.consensus or b"")
                elif style == "last winner" and talkers and who % 4 == 3:
                    # A slow winner: past the window, it may not reveal in a finalize call.
                    boa.env.time_travel(seconds=task.reveal_deadline - now + 1)
                    self._finalize(task, talkers[who % len(talkers)], "a late winner")
                elif style == "last winner" and pending == talkers and len(talkers) == 1:
                    # The last winner reveals in its finalize call.
                    self._finalize(task, talkers[0], "the last winner")
                elif style == "scheduler" and talkers and revealed and who % 3 == 0:
                    # An impatient scheduler: some winners have not revealed yet.
                    self._finalize(task, self.scheduler.address, "an impatient scheduler")
                elif style == "stranger" and who % 4 == 2 and dissenters:
                    # A worker of another result tries to reveal it.
                    worker = dissenters[who % len(dissenters)]
                    self._reveal(task, worker, task.contributions[worker].digest)
                elif talkers:
                    if style == "stranger" and who % 4 == 1 and now < task.reveal_deadline:
                        # This winner reveals at the last second of the window.
                        boa.env.time_travel(seconds=task.reveal_deadline - now)
                    self._reveal(task, talkers[who % len(talkers)], task.consensus or b"")
                elif not pending and style == "scheduler":
                    self._finalize(task, self.scheduler.address, "the scheduler")
                elif now < task.reveal_deadline and who % 2 == 0:
                    # Only silent winners left (or nobody to wait for): at the last second
                    # of the window, it is still open.
                    boa.env.time_travel(seconds=task.reveal_deadline - now)
                    self._reopen(task)
                else:
                    boa.env.time_travel(seconds=task.reveal_deadline - now + 1)
            elif style == "last winner" and talkers:
                # A winner too late to reveal tries to reveal in a finalize call.
                self._finalize(task, talkers[who % len(talkers)], "a late winner")
            elif revealed:
                # The scheduler, a winner that revealed or (reverts: M2) a stranger.
                proved = [c.worker for c in task.contributions.values() if c.proved]
                if style == "scheduler":
                    sender, label = self.scheduler.address, "the scheduler"
                elif style == "stranger" and who % 4 == 0:
                    sender, label = self.stranger.address, "a stranger"
                else:
                    sender, label = proved[who % len(proved)], "a winner"
                self._finalize(task, sender, f"{label} after the window")
            else:
                self._reopen(task)

    # --- rules: deals, anything at all (mostly reverts: every reason is reachable) ---------

    @initialize(
        trust=TRUSTS,
        volume=st.integers(1, 4),
        app_price=APP_PRICES,
        dataset_price=DATASET_PRICES,
        workerpool_price=WORKERPOOL_PRICES,
        fails=FAILS,
    )
    @_step
    def first_deal(
        self,
        trust: int,
        volume: int,
        app_price: int,
        dataset_price: int | None,
        workerpool_price: int,
        fails: bool,
    ) -> None:
        self._match(trust, volume, app_price, dataset_price, workerpool_price, fails)

    @precondition(lambda self: len(self.deals) < MAX_DEALS)
    @rule(
        trust=TRUSTS,
        volume=st.integers(1, 4),
        app_price=APP_PRICES,
        dataset_price=DATASET_PRICES,
        workerpool_price=WORKERPOOL_PRICES,
        fails=FAILS,
    )
    @_step
    def match_deal(
        self,
        trust: int,
        volume: int,
        app_price: int,
        dataset_price: int | None,
        workerpool_price: int,
        fails: bool,
    ) -> None:
        self._match(trust, volume, app_price, dataset_price, workerpool_price, fails)

    @precondition(lambda self: self.deals)
    @rule(
        action=st.sampled_from(ACTIONS),
        pick=PICK,
        who=PICK,
        flaw=st.sampled_from((None,) * 6 + ("digest", "contributors")),
        seconds=WAITS,
    )
    @_step
    def anything(self, action: str, pick: int, who: int, flaw: str | None, seconds: int) -> None:
        """Any call on any task by anyone (mostly reverts: every reason is reachable), or
        time passing."""
        if action == "wait":
            boa.env.time_travel(seconds=seconds)
            return
        if action == "close the contribution window":
            # Time runs to the contribution deadline of the most advanced open task, a
            # worker tries to contribute at that very second, and the deal is claimed.
            if self._open():
                self._progress(0, who, action)
            return
        tasks = self._tasks()
        task = tasks[pick % len(tasks)]
        if action == "wait for a deadline":
            # To one second before, at or after one of the task's deadlines.
            deadlines = [task.deal.contribution_deadline, task.deal.final_deadline]
            if task.status == REVEALING:
                deadlines.append(task.reveal_deadline)
            target = deadlines[who % len(deadlines)] + (who // 3) % 3 - 1
            if target > _now():
                boa.env.time_travel(seconds=target - _now())
            return
        worker = self.workers[who % len(self.workers)].address
        if action == "contribute":
            self._contribute(task, worker, forged=flaw is not None)
        elif action == "contribute_and_finalize":
            self._one_call(task, worker, forged=flaw is not None)
        elif action == "reveal":
            digest = self._digest(worker, task)
            if flaw is not None:
                digest = keccak(b"never committed" + digest)
            self._reveal(task, worker, digest)
        elif action == "reopen":
            self._reopen(task, flaw)
        elif action == "reveal a rejected contribution":
            # A contribution of a group rejected by a reopen (any worker, silent too).
            rejected = [c for c in task.contributions.values() if not task.valid(c)]
            pool = rejected or list(task.contributions.values())
            if pool:
                mine = pool[who % len(pool)]
                if flaw is None:
                    self._reveal(task, mine.worker, mine.digest)
                else:
                    self._finalize(task, mine.worker, "a rejected worker")
        elif action == "claim":
            self._claim(task.deal, [task], "contributors" if flaw == "contributors" else None)
        else:
            senders = {
                "finalize by the scheduler": self.scheduler.address,
                "finalize by a stranger": self.stranger.address,
                "finalize by a worker": worker,
            }
            self._finalize(task, senders[action], action.removeprefix("finalize by "), flaw)

    @precondition(lambda self: any(_now() >= d.final_deadline for d in self.deals))
    @rule(
        pick=PICK,
        subset=st.lists(st.integers(0, 3), min_size=1, max_size=4),
        open_only=st.booleans(),
        flaw=st.sampled_from((None,) * 5 + ("contributors", "twice", "a final task")),
    )
    @_step
    def claim(self, pick: int, subset: list[int], open_only: bool, flaw: str | None) -> None:
        """A claim of some tasks of a deal after its final deadline (early claims are
        `anything`'s)."""
        deals = [d for d in self.deals if _now() >= d.final_deadline]
        deal = deals[pick % len(deals)]
        indices = sorted({i % deal.volume for i in subset})
        tasks = [deal.tasks[i] for i in indices]
        if open_only:
            tasks = [t for t in tasks if not t.final] or tasks
        if flaw == "twice":
            tasks = [*tasks, tasks[0]]
        elif flaw == "a final task":
            finals = [t for t in deal.tasks if t.final]
            tasks = [finals[subset[0] % len(finals)]] if finals else tasks
        self._claim(deal, tasks, flaw if flaw == "contributors" else None)

    # --- invariants -------------------------------------------------------------------------

    def _chain_account(self, address: str) -> tuple[int, int, int]:
        """An account as the hub's storage holds it: one word, balance (low 80 bits) |
        frozen (next 80) | score (16) | its scheduler (top 80: the machine has one, so the
        score always counts). Reading the word is ~50 times cheaper than the three views,
        which the teardown checks against it (and the world build)."""
        word = boa.env.get_storage(self.hub.address, self.slots[address])
        return word & MASK_80, (word >> 80) & MASK_80, (word >> 160) & SCORE_MAX

    def _check_views(self) -> None:
        hub = self.hub
        for address in self.accounts:
            views = (hub.balance_of(address), hub.frozen_of(address), hub.score_of(address))
            assert views == self._chain_account(address), address

    @invariant()
    @_step
    def check_chain_equals_model(self) -> None:
        held = 0
        for address, account in self.accounts.items():
            assert self._chain_account(address) == tuple(account), address
            held += account[0] + account[1]
        # A1: the hub's tokens are exactly what its accounts hold.
        assert self.p.token.balanceOf(self.hub.address) == held
        for task in self._tasks():
            view = self.hub.task(task.deal.id, task.index)
            assert view.status == task.status, task
            if task.status in (ACTIVE, REVEALING):
                assert (view.contributors, view.round) == (len(task.contributions), task.round)
            if task.status == REVEALING:
                assert (view.winners, view.reveal_deadline) == (task.winners, task.reveal_deadline)

    @invariant()
    @_step
    def check_requester_pays_once(self) -> None:
        tasks = [t for d in self.deals for t in d.tasks]
        completed = sum(t.deal.price for t in tasks if t.status == COMPLETED)
        settled = sum(t.deal.workerpool_price for t in tasks if t.settled_failure)
        claimed = sum(t.deal.price for t in tasks if t.status == FAILED and not t.settled_failure)
        refunded = claimed + sum(
            t.deal.app_price + t.deal.dataset_price for t in tasks if t.settled_failure
        )
        open_ = sum(t.deal.price for t in tasks if not t.final)
        ordered = sum(d.price * d.volume for d in self.deals)
        balance, frozen, _ = self._chain_account(self.requester.address)
        # Paid exactly once per completed task (the workerpool price for a settled failure),
        # refunded exactly for the claimed ones, given the stakes of untouched ones.
        assert self.requester_paid == completed + settled
        assert (
            self.requester_deposit - balance - frozen
            == completed + settled - self.requester_compensated
        )
        assert frozen == open_
        assert balance == self.requester_deposit - ordered + refunded + self.requester_compensated
        assert self.finals == {t.id for t in self._tasks() if t.final}

    @invariant()
    @_step
    def check_completed_digests(self) -> None:
        for task in self._tasks():
            if task.status == COMPLETED and task.one_call_digest is None:
                assert task.consensus is not None
                assert rules.result_hash(task.id, task.consensus) in self.consensus_hashes[task.id]

    @invariant()
    @_step
    def check_no_lock_once_all_final(self) -> None:
        if all(t.final for t in self._tasks()):
            for address in self.accounts:
                assert self._chain_account(address)[1] == 0, address


TestDealMachine = DealMachine.TestCase
TestDealMachine.settings = settings(
    max_examples=120,
    stateful_step_count=50,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate] if NO_SHRINK else list(Phase),
)
