"""Helpers for the task-lifecycle tests (test_tasks*.py): a matched deal with its parties,
workers that are funded and authorized, the lifecycle calls signed the way the protocol
says (PROTOCOL.md A5), account snapshots and the hub's conservation check (A1)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import boa
import pytest
from eth_utils import keccak, to_checksum_address

from tests.orders import make_deal
from tests.support import (
    CONTRACTS,
    RLC,
    ZERO,
    Actor,
    Market,
    Protocol,
    build_market,
    deploy_protocol_boa,
    make_actor,
)
from veritask.domain.ids import task_id as task_id_of
from veritask.domain.signing import sign_hash_eip191
from veritask.domain.tasks import (
    authorization_hash,
    enclave_message,
    result_hash,
    result_seal,
    reward_weight,
    success_payout,
)

TEE_TAG = (1).to_bytes(32, "big")
C = 300  # reference time of category 0, in seconds
CONTRIBUTION_WINDOW = 7 * C
REVEAL_WINDOW = 2 * C
FINAL_WINDOW = 10 * C
WORKER_FUNDS = 2 * RLC  # above the 30 % stake of the default 5 RLC workerpool price
RESULTS = b'{"storage": "ipfs", "location": "/ipfs/bafkreiresult"}'

# Task and contribution statuses (PROTOCOL.md A5).
UNSET, ACTIVE, REVEALING, COMPLETED, FAILED = range(5)
CONTRIBUTED, PROVED = 1, 2

DIGEST = keccak(text="the right result")
WRONG = keccak(text="a wrong result")


def digest_of(text: str) -> bytes:
    return keccak(text=text)


def by_address(actors: list[Actor]) -> list[str]:
    """The addresses of `actors` sorted as finalize, reopen and claim want them."""
    return sorted((a.address for a in actors), key=lambda a: int(a, 16))


def consensus_key(result_hash_: bytes) -> bytes:
    """The task view's `consensus`: the result hash with its low 72 bits cleared."""
    return ((int.from_bytes(result_hash_, "big") >> 72) << 72).to_bytes(32, "big")


def event_names(logs: list[Any]) -> list[str]:
    return [type(log).__name__ for log in logs]


def events_named(logs: list[Any], name: str) -> list[Any]:
    return [log for log in logs if type(log).__name__ == name]


@dataclass
class Job:
    """A matched deal and everyone around it: the tests' handle on one deal."""

    protocol: Protocol
    market: Market
    deal_id: bytes
    workers: list[Actor] = field(default_factory=list)
    # Accounts outside this deal that the conservation check must count too.
    bystanders: list[str] = field(default_factory=list)

    # -- the parties -------------------------------------------------------------------
    @property
    def hub(self) -> Any:
        return self.protocol.hub

    @property
    def actors(self) -> dict[str, Actor]:
        return self.protocol.actors

    @property
    def scheduler(self) -> Actor:
        return self.actors["scheduler"]

    @property
    def requester(self) -> Actor:
        return self.actors["requester"]

    @property
    def deal(self) -> Any:
        return self.hub.deal(self.deal_id)

    @property
    def start(self) -> int:
        return int(self.deal.start_time)

    @property
    def price(self) -> int:
        """What one task costs the requester."""
        deal = self.deal
        return int(deal.app_price + deal.dataset_price + deal.workerpool_price)

    @property
    def stake(self) -> int:
        """A worker's stake per contribution."""
        deal = self.deal
        return int(deal.workerpool_price * deal.worker_stake_ratio // 100)

    @property
    def scheduler_stake(self) -> int:
        return int(self.deal.workerpool_price * 30 // 100)

    def task_id(self, index: int = 0) -> bytes:
        return task_id_of(self.deal_id, index)

    def worker(self, name: str, funds: int = WORKER_FUNDS) -> Actor:
        """A new worker with `funds` deposited in the hub (none when 0)."""
        actor = make_actor(f"worker {name}")
        if funds:
            self.protocol.fund(actor, funds)
        self.workers.append(actor)
        return actor

    def crew(self, count: int, prefix: str = "w") -> list[Actor]:
        return [self.worker(f"{prefix}{i}") for i in range(count)]

    # -- signatures --------------------------------------------------------------------
    def authorize(
        self, worker: Actor, index: int = 0, enclave: str = ZERO, signer: Actor | None = None
    ) -> bytes:
        """The scheduler's (or `signer`'s) EIP-191 authorization of `worker`."""
        message = authorization_hash(worker.address, self.task_id(index), enclave)
        return sign_hash_eip191(message, (signer or self.scheduler).key)

    def enclave_sign(self, enclave: Actor, worker: Actor, digest: bytes, index: int = 0) -> bytes:
        tid = self.task_id(index)
        message = enclave_message(
            result_hash(tid, digest), result_seal(worker.address, tid, digest)
        )
        return sign_hash_eip191(message, enclave.key)

    # -- the lifecycle calls -----------------------------------------------------------
    def contribute(
        self,
        worker: Actor,
        digest: bytes = DIGEST,
        *,
        index: int = 0,
        enclave: Actor | None = None,
        auth: bytes | None = None,
        enclave_sign: bytes | None = None,
        hash_: bytes | None = None,
        seal: bytes | None = None,
    ) -> None:
        tid = self.task_id(index)
        enclave_address = enclave.address if enclave else ZERO
        if auth is None:
            auth = self.authorize(worker, index, enclave_address)
        if enclave_sign is None:
            enclave_sign = self.enclave_sign(enclave, worker, digest, index) if enclave else b""
        with boa.env.prank(worker.address):
            self.hub.contribute(
                self.deal_id,
                index,
                result_hash(tid, digest) if hash_ is None else hash_,
                result_seal(worker.address, tid, digest) if seal is None else seal,
                enclave_address,
                enclave_sign,
                auth,
            )

    def reveal(self, worker: Actor, digest: bytes = DIGEST, *, index: int = 0) -> None:
        with boa.env.prank(worker.address):
            self.hub.reveal(self.deal_id, index, digest)

    def finalize(
        self,
        sender: Actor,
        digest: bytes = DIGEST,
        contributors: list[str] | None = None,
        *,
        index: int = 0,
        results: bytes = RESULTS,
        callback_data: bytes = b"",
        gas: int | None = None,
    ) -> None:
        if contributors is None:
            contributors = by_address(self.workers)
        with boa.env.prank(sender.address):
            self.hub.finalize(
                self.deal_id, index, digest, results, callback_data, contributors, gas=gas
            )

    def contribute_and_finalize(
        self,
        worker: Actor,
        digest: bytes = DIGEST,
        *,
        index: int = 0,
        enclave: Actor | None = None,
        auth: bytes | None = None,
        enclave_sign: bytes | None = None,
        results: bytes = RESULTS,
        callback_data: bytes = b"",
        gas: int | None = None,
    ) -> None:
        enclave_address = enclave.address if enclave else ZERO
        if auth is None:
            auth = self.authorize(worker, index, enclave_address)
        if enclave_sign is None:
            enclave_sign = self.enclave_sign(enclave, worker, digest, index) if enclave else b""
        with boa.env.prank(worker.address):
            self.hub.contribute_and_finalize(
                self.deal_id,
                index,
                digest,
                results,
                callback_data,
                enclave_address,
                enclave_sign,
                auth,
                gas=gas,
            )

    def reopen(self, contributors: list[str] | None = None, *, index: int = 0, sender=None):
        if contributors is None:
            contributors = by_address(self.workers)
        with boa.env.prank((sender or self.actors["stranger"]).address):
            self.hub.reopen(self.deal_id, index, contributors)

    def claim(self, indices: list[int], contributors: list[str] | None = None, sender=None):
        with boa.env.prank((sender or self.actors["stranger"]).address):
            self.hub.claim(self.deal_id, indices, contributors or [])

    # -- time --------------------------------------------------------------------------
    def travel_to(self, offset: int) -> None:
        """Moves the clock to `offset` seconds after the deal's start."""
        now = boa.env.evm.patch.timestamp
        target = self.start + offset
        assert target >= now, "cannot go back in time"
        if target > now:
            boa.env.time_travel(seconds=target - now)

    # -- accounts ----------------------------------------------------------------------
    def parties(self) -> dict[str, str]:
        """Every account a task touches, by name: the four roles and the workers."""
        names = ("requester", "app_owner", "dataset_owner", "scheduler", "stranger", "deployer")
        parties = {name: self.actors[name].address for name in names}
        for worker in self.workers:
            parties[worker.name] = worker.address
        for i, address in enumerate(self.bystanders):
            parties[f"bystander {i}"] = address
        return parties

    def accounts(self) -> dict[str, tuple[int, int, int]]:
        """(free balance, frozen, score) of every party."""
        return {name: account(self.protocol, address) for name, address in self.parties().items()}

    def assert_conserved(self) -> None:
        assert_conserved(self.protocol, self.parties().values())


def account(protocol: Protocol, address: str) -> tuple[int, int, int]:
    hub = protocol.hub
    return (hub.balance_of(address), hub.frozen_of(address), hub.score_of(address))


def assert_conserved(protocol: Protocol, addresses: Any) -> None:
    """The hub holds exactly the sum of its accounts' free and frozen amounts (A1)."""
    unique = {to_checksum_address(a) for a in addresses}
    held = sum(protocol.hub.balance_of(a) + protocol.hub.frozen_of(a) for a in unique)
    assert protocol.token.balanceOf(protocol.hub.address) == held


def changes(
    before: dict[str, tuple[int, int, int]], after: dict[str, tuple[int, int, int]]
) -> dict[str, tuple[int, int, int]]:
    """(Δ balance, Δ frozen, Δ score) of every party whose account changed."""
    delta = {}
    for name, old in before.items():
        new = after[name]
        if new != old:
            delta[name] = tuple(n - o for n, o in zip(new, old, strict=True))
    return delta


_salts = itertools.count(1)


def open_deal(
    protocol: Protocol,
    *,
    base: Job | None = None,
    volume: int = 1,
    trust: int = 1,
    tee: bool = False,
    callback: str = ZERO,
    with_dataset: bool = True,
    app_price: int = 3 * RLC,
    dataset_price: int = 2 * RLC,
    workerpool_price: int = 5 * RLC,
    policy: tuple[int, int] | None = None,
) -> Job:
    """Matches a deal of `volume` tasks (indices 0 … volume − 1) of category 0 and returns
    its handle. A second deal in a test passes `base`, an earlier job, to reuse its assets
    (they can be registered once only) with orders of a new salt."""
    if base is None:
        market = build_market(
            protocol,
            volume=volume,
            trust=trust,
            app_price=app_price,
            dataset_price=dataset_price,
            workerpool_price=workerpool_price,
        )
    else:
        m = base.market
        orders = make_deal(
            app=m.app,
            dataset=m.dataset,
            workerpool=m.workerpool,
            requester=m.request_order.requester,
            app_price_nrlc=app_price,
            dataset_price_nrlc=dataset_price,
            workerpool_price_nrlc=workerpool_price,
            volume=volume,
            trust=trust,
            params=m.request_order.params,
            beneficiary=m.request_order.beneficiary,
            salt=keccak(text=f"deal {next(_salts)}"),
        )
        market = Market(
            protocol=protocol,
            app=m.app,
            dataset=m.dataset,
            workerpool=m.workerpool,
            app_order=orders.app_order,
            dataset_order=orders.dataset_order,
            workerpool_order=orders.workerpool_order,
            request_order=orders.request_order,
            signers=m.signers,
        )
    if policy is not None:
        with boa.env.prank(protocol.actors["scheduler"].address):
            protocol.workerpools.change_policy(market.workerpool, *policy)
    if tee:
        market = replace(
            market,
            app_order=replace(market.app_order, tag=TEE_TAG),
            workerpool_order=replace(market.workerpool_order, tag=TEE_TAG),
        )
    if callback != ZERO:
        market = replace(market, request_order=replace(market.request_order, callback=callback))
    if not with_dataset:
        market = market.without_dataset()
    deal_id = market.match()
    job = Job(protocol, market, deal_id)
    if base is not None:
        job.bystanders = [*base.bystanders, *(w.address for w in base.workers)]
    return job


def deploy_result_store(mode: int = 0) -> Any:
    """A callback target: mode 0 stores the result, 1 reverts, 2 burns all its gas."""
    return boa.load(str(CONTRACTS / "mocks/result_store.vy"), mode)


def train(base: Job, worker: Actor, wins: int) -> Actor:
    """Raises `worker`'s score by `wins` (15 at most): it wins that many two-worker tasks
    with a partner (whose score rises too). Returns the partner. At trust 4 one worker
    of weight 2 or 3 (score < 15) is not enough and two are."""
    assert base.hub.score_of(worker.address) + wins <= 15
    job = open_deal(base.protocol, base=base, volume=wins, trust=4)
    partner = job.worker(f"partner of {worker.name}")
    for index in range(wins):
        job.contribute(worker, index=index)
        job.contribute(partner, index=index)
        job.reveal(worker, index=index)
        job.finalize(partner, contributors=by_address([worker, partner]), index=index)
    base.bystanders.append(partner.address)
    return partner


@pytest.fixture(scope="session", name="broker_session")
def fixture_broker_session(actors: dict[str, Actor]) -> tuple[Protocol, Actor]:
    broker = make_actor("tee broker")
    return deploy_protocol_boa(actors, tee_broker=broker.address), broker


@pytest.fixture(name="broker_protocol")
def fixture_broker_protocol(
    broker_session: tuple[Protocol, Actor],
) -> Iterator[tuple[Protocol, Actor]]:
    """A second hub, deployed with a TEE broker (fixed for its life), and the broker.
    Test modules import both fixture functions to use it."""
    with boa.env.anchor():
        yield broker_session


def expected_success(
    job: Job,
    before: dict[str, tuple[int, int, int]],
    winners: list[Actor],
    losers: list[Actor] = (),
    *,
    contributors: int | None = None,
    one_call: Actor | None = None,
    failed: bool = False,
) -> dict[str, tuple[int, int, int]]:
    """The account changes a completed task must make, from
    veritask.domain.tasks.success_payout: (Δ balance, Δ frozen, Δ score) per party. A
    task settled as `failed` pays the work only: the requester gets the app and dataset
    prices back and their owners get nothing.

    `before` is the parties' accounts before the finalizing call; a winner's reward
    weight follows its score then. `one_call` is the worker of contribute_and_finalize
    (no stake, no contribution)."""
    deal = job.deal
    stake = 0 if one_call else job.stake
    payout = success_payout(
        app_price=0 if failed else deal.app_price,
        dataset_price=0 if failed else deal.dataset_price,
        workerpool_price=deal.workerpool_price,
        worker_stake=stake,
        scheduler_reward_ratio=deal.scheduler_reward_ratio,
        winners={w.name: reward_weight(before[w.name][2]) for w in winners},
        losers=[loser.name for loser in losers],
    )
    delta: dict[str, list[int]] = {name: [0, 0, 0] for name in before}

    def add(name: str, balance: int, frozen: int, score: int = 0) -> None:
        delta[name] = [d + x for d, x in zip(delta[name], (balance, frozen, score), strict=True)]

    add("requester", job.price - deal.workerpool_price if failed else 0, -job.price)
    add("app_owner", payout.app_owner, 0)
    add("dataset_owner", payout.dataset_owner, 0)
    add("scheduler", payout.scheduler + job.scheduler_stake, -job.scheduler_stake)
    replicated = (contributors or len(winners) + len(losers)) > 1
    for winner in winners:
        add(winner.name, payout.workers[winner.name] + stake, -stake, int(replicated))
    for loser in losers:
        score = before[loser.name][2]
        add(loser.name, 0, -payout.seized[loser.name], 2 * score // 3 - score)
    return {name: tuple(d) for name, d in delta.items() if any(d)}
