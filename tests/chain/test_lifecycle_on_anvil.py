"""The task lifecycle on a real anvil node through web3.py (PROTOCOL.md A5, A6, B2): the
one-call path of trust-1 deals, commit-reveal consensus with a wrong worker, TEE deals (with
the scheduler's or the TEE broker's authorization), callbacks, claims after the final
deadline, and reverts that carry the contract's reason and send nothing.

Money is checked exactly against the rules of `veritask.domain.tasks`, and after every step
the hub's token holdings must equal the balances plus the frozen amounts of every known
account. One node and one deployment per module; every test runs on an
anvil snapshot that is reverted after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
from eth_abi.abi import encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils.crypto import keccak
from web3 import Web3
from web3.contract import Contract
from web3.types import RPCEndpoint, TxReceipt

from tests.orders import SigningKeys, signed_orders
from veritask.chain.anvil import Anvil
from veritask.chain.compiler import compile_contract
from veritask.chain.deploy import deploy_protocol
from veritask.chain.hub import Hub
from veritask.chain.records import Receipt
from veritask.chain.transactions import send
from veritask.domain.ids import task_id
from veritask.domain.orders import (
    ZERO_ADDRESS,
)
from veritask.domain.signing import sign_hash_eip191
from veritask.domain.tasks import (
    FINAL_DEADLINE_RATIO,
    REVEAL_DEADLINE_RATIO,
    SCHEDULER_STAKE_RATIO,
    authorization_hash,
    consensus_reached,
    enclave_message,
    result_hash,
    result_seal,
    reward_weight,
    success_payout,
    worker_weight,
)
from veritask.errors import ContractRevert

pytestmark = pytest.mark.anvil

RLC = 10**9
DEPOSIT = 1_000 * RLC
WORKER_DEPOSIT = 100 * RLC
APP_PRICE = 3 * RLC
DATASET_PRICE = 2 * RLC
WORKERPOOL_PRICE = 5 * RLC
TASK_PRICE = APP_PRICE + DATASET_PRICE + WORKERPOOL_PRICE
WORKER_STAKE = WORKERPOOL_PRICE * 30 // 100  # the pool's default workerStakeRatioPolicy
SCHEDULER_STAKE = WORKERPOOL_PRICE * SCHEDULER_STAKE_RATIO // 100
SCHEDULER_REWARD_RATIO = 1  # the pool's default schedulerRewardRatioPolicy
CATEGORY = 0  # XS
TIME_REF = 300
TEE_TAG = (1).to_bytes(32, "big")
RESULTS = (
    b'{"storage":"ipfs","location":"/ipfs/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy"}'
)

# Task and contribution statuses (PROTOCOL.md A5).
UNSET, ACTIVE, REVEALING, COMPLETED, FAILED = range(5)
CONTRIBUTED, PROVED = 1, 2

ACTORS = ("deployer", "app_owner", "dataset_owner", "scheduler", "requester", "stranger", "broker")
WORKERS = 5


@dataclass(frozen=True)
class Chain:
    """The deployed protocol: assets registered, requester and scheduler funded, five
    workers with a deposit, and one worker without any (for stake-free paths)."""

    w3: Web3
    client: Hub
    actors: dict[str, LocalAccount]
    workers: tuple[LocalAccount, ...]
    unfunded_worker: LocalAccount
    app: str
    tee_app: str
    dataset: str
    workerpool: str

    def __getitem__(self, name: str) -> LocalAccount:
        return self.actors[name]

    @property
    def hub(self) -> Contract:
        return self.client.contracts.hub


def _rpc(w3: Web3, method: str, *params: Any) -> Any:
    response = w3.provider.make_request(RPCEndpoint(method), list(params))
    assert "error" not in response, f"{method} failed: {response}"
    return response["result"]


def _key(name: str) -> LocalAccount:
    account: LocalAccount = Account.from_key(keccak(text=f"veritask lifecycle test {name}"))
    return account


def _actor(w3: Web3, name: str) -> LocalAccount:
    account = _key(name)
    _rpc(w3, "anvil_setBalance", account.address, hex(10**20))
    return account


@pytest.fixture(scope="module")
def node() -> Iterator[Anvil]:
    with Anvil(startup_timeout_s=10) as anvil:
        yield anvil


def _build_chain(node: Anvil, *, with_broker: bool) -> Chain:
    w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 10}))
    actors = {name: _actor(w3, name) for name in ACTORS}
    deployer = actors["deployer"]
    broker = actors["broker"].address if with_broker else ZERO_ADDRESS
    client = Hub.over(w3, deploy_protocol(w3, deployer, tee_broker=broker))
    image, owner = keccak(b"image"), actors["app_owner"]
    app = client.create_app(owner, "hello", "DOCKER", b"docker.io/veritask/hello:1", image)
    tee_app = client.create_app(
        owner, "hello-tee", "DOCKER", b"docker.io/veritask/hello-tee:1", image, b"mrenclave"
    )
    dataset = client.create_dataset(
        actors["dataset_owner"], "numbers", b"/ipfs/bafkreinumbers", keccak(b"numbers")
    )
    workerpool = client.create_workerpool(actors["scheduler"], "anvil pool")
    for name in ("requester", "scheduler"):
        client.transfer_tokens(deployer, actors[name].address, DEPOSIT)
        client.deposit(actors[name], DEPOSIT)
    workers = tuple(_actor(w3, f"worker {i}") for i in range(WORKERS))
    for worker in workers:
        client.transfer_tokens(deployer, worker.address, WORKER_DEPOSIT)
        client.deposit(worker, WORKER_DEPOSIT)
    unfunded = _actor(w3, "unfunded worker")
    return Chain(w3, client, actors, workers, unfunded, app, tee_app, dataset, workerpool)


@pytest.fixture(scope="module")
def chain(node: Anvil) -> Chain:
    return _build_chain(node, with_broker=False)


@pytest.fixture(scope="module")
def broker_chain(node: Anvil, chain: Chain) -> Chain:
    """A second hub on the same node, deployed with a TEE broker (fixed for its life)."""
    return _build_chain(node, with_broker=True)


@pytest.fixture(autouse=True)
def _snapshot(chain: Chain) -> Iterator[None]:
    snapshot = _rpc(chain.w3, "evm_snapshot")
    yield
    assert _rpc(chain.w3, "evm_revert", snapshot) is True


# --- helpers -------------------------------------------------------------------------------


def _match(
    chain: Chain,
    name: str,
    *,
    volume: int = 1,
    trust: int = 1,
    tee: bool = False,
    callback: str = ZERO_ADDRESS,
) -> bytes:
    """Matches four freshly signed orders (salted by `name`) and returns the deal id."""
    tag = TEE_TAG if tee else bytes(32)
    orders = signed_orders(
        chain.client.domain,
        SigningKeys(
            app=chain["app_owner"].key,
            dataset=chain["dataset_owner"].key,
            workerpool=chain["scheduler"].key,
            requester=chain["requester"].key,
        ),
        app=chain.tee_app if tee else chain.app,
        dataset=chain.dataset,
        workerpool=chain.workerpool,
        requester=chain["requester"].address,
        app_price_nrlc=APP_PRICE,
        dataset_price_nrlc=DATASET_PRICE,
        workerpool_price_nrlc=WORKERPOOL_PRICE,
        volume=volume,
        trust=trust,
        category=CATEGORY,
        tag=tag,
        app_tag=tag,
        callback=callback,
        params='{"iexec_args":"lifecycle"}',
        salt=keccak(text=name),
    )
    result = chain.client.match_orders(chain["requester"], *orders)
    assert result.volume == volume
    return result.deal_id


def _auth(
    chain: Chain, worker: str, task: bytes, enclave: str = ZERO_ADDRESS, signer: str = "scheduler"
) -> bytes:
    """The EIP-191 authorization of `worker` for `task` (and `enclave`) by `signer`."""
    return sign_hash_eip191(authorization_hash(worker, task, enclave), chain[signer].key)


def _enclave_sign(enclave: LocalAccount, worker: str, task: bytes, digest: bytes) -> bytes:
    message = enclave_message(result_hash(task, digest), result_seal(worker, task, digest))
    return sign_hash_eip191(message, enclave.key)


def _digest(text: str) -> bytes:
    return keccak(text=text)


def _task(chain: Chain, deal: bytes, index: int) -> dict[str, Any]:
    status, contributors, winners, round_, reveal_deadline, consensus = chain.hub.functions.task(
        deal, index
    ).call()
    return {
        "status": status,
        "contributors": contributors,
        "winners": winners,
        "round": round_,
        "reveal_deadline": reveal_deadline,
        "consensus": bytes(consensus),
    }


def _contribution_status(chain: Chain, task: bytes, worker: str) -> int:
    status, _weight, _round = chain.hub.functions.contribution(task, worker).call()
    return int(status)


def _score(chain: Chain, address: str) -> int:
    return int(chain.hub.functions.score_of(address).call())


def _accounts(chain: Chain, *addresses: str) -> dict[str, tuple[int, int]]:
    return {address: chain.client.account(address) for address in addresses}


def _moved(
    before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]
) -> dict[str, tuple[int, int]]:
    """(Δ balance, Δ frozen) per account."""
    return {a: (after[a][0] - before[a][0], after[a][1] - before[a][1]) for a in before}


def _known_accounts(chain: Chain) -> list[str]:
    return [
        *(actor.address for actor in chain.actors.values()),
        *(worker.address for worker in chain.workers),
        chain.unfunded_worker.address,
    ]


def _assert_conserved(chain: Chain) -> None:
    """Tokens held by the hub == Σ (balance + frozen) over every account that holds any."""
    held = int(chain.client.contracts.token.functions.balanceOf(chain.client.deployment.hub).call())
    accounted = sum(sum(chain.client.account(a)) for a in _known_accounts(chain))
    assert held == accounted


def _events(contract: Contract, name: str, receipt: Receipt) -> list[dict[str, Any]]:
    return [dict(event.args) for event in receipt.named(name) if event.address == contract.address]


def _travel(chain: Chain, seconds: int) -> None:
    _rpc(chain.w3, "evm_increaseTime", seconds)
    _rpc(chain.w3, "evm_mine")


def _nothing_sent(chain: Chain, sender: LocalAccount) -> tuple[int, int]:
    return (
        chain.w3.eth.get_transaction_count(sender.address, "pending"),
        chain.w3.eth.block_number,
    )


def _deploy_store(chain: Chain, mode: int) -> Contract:
    """A result store (contracts/mocks/result_store.vy): mode 0 stores, mode 1 reverts."""
    store = compile_contract("mocks/result_store.vy")
    factory = chain.w3.eth.contract(abi=store.abi, bytecode=store.bytecode)
    receipt = send(chain.w3, chain["deployer"], factory.constructor(mode))
    return cast(Contract, chain.w3.eth.contract(address=receipt["contractAddress"], abi=store.abi))


def _one_call(
    chain: Chain,
    worker: LocalAccount,
    deal: bytes,
    index: int,
    digest: bytes,
    *,
    enclave: LocalAccount | None = None,
    signer: str = "scheduler",
    callback_data: bytes = b"",
) -> TxReceipt:
    """A task through `contribute_and_finalize`, authorized by `signer`."""
    task = task_id(deal, index)
    enclave_address = enclave.address if enclave else ZERO_ADDRESS
    enclave_sign = _enclave_sign(enclave, worker.address, task, digest) if enclave else b""
    return chain.client.contribute_and_finalize(
        worker,
        deal,
        index,
        digest,
        RESULTS,
        enclave_address,
        enclave_sign,
        _auth(chain, worker.address, task, enclave_address, signer),
        results_callback=callback_data,
    )


def _contribute(
    chain: Chain, worker: LocalAccount, deal: bytes, index: int, digest: bytes
) -> TxReceipt:
    task = task_id(deal, index)
    return chain.client.contribute(worker, deal, index, digest, _auth(chain, worker.address, task))


def _one_call_payout(worker: str) -> dict[str, int]:
    """The success payout of a trust-1 task (one winner, no loser)."""
    payout = success_payout(
        app_price=APP_PRICE,
        dataset_price=DATASET_PRICE,
        workerpool_price=WORKERPOOL_PRICE,
        worker_stake=WORKER_STAKE,
        scheduler_reward_ratio=SCHEDULER_REWARD_RATIO,
        winners={worker: reward_weight(0)},
        losers=[],
    )
    return {"worker": payout.workers[worker], "scheduler": payout.scheduler}


# --- trust 1: one call ---------------------------------------------------------------------


def test_contribute_and_finalize__trust_1__completes_and_pays_everyone_exactly(
    chain: Chain,
) -> None:
    deal = _match(chain, "trust 1")
    worker, task, digest = chain.workers[0], task_id(deal, 0), _digest("trust 1 result")
    requester, app_owner = chain["requester"].address, chain["app_owner"].address
    dataset_owner, scheduler = chain["dataset_owner"].address, chain["scheduler"].address
    before = _accounts(chain, requester, app_owner, dataset_owner, scheduler, worker.address)
    assert chain.client.deal(deal).time_ref == TIME_REF

    receipt = _one_call(chain, worker, deal, 0, digest)

    payout = _one_call_payout(worker.address)
    assert payout["worker"] == WORKERPOOL_PRICE * (100 - SCHEDULER_REWARD_RATIO) // 100
    after = _accounts(chain, requester, app_owner, dataset_owner, scheduler, worker.address)
    assert _moved(before, after) == {
        requester: (0, -TASK_PRICE),
        app_owner: (APP_PRICE, 0),
        dataset_owner: (DATASET_PRICE, 0),
        scheduler: (SCHEDULER_STAKE + payout["scheduler"], -SCHEDULER_STAKE),
        worker.address: (payout["worker"], 0),
    }
    assert _task(chain, deal, 0) == {
        "status": COMPLETED,
        "contributors": 1,
        "winners": 1,
        "round": 0,
        "reveal_deadline": 0,
        "consensus": bytes(32),
    }
    assert _events(chain.hub, "TaskFinalize", receipt) == [
        {"task_id": task, "digest": digest, "results": RESULTS}
    ]
    assert _events(chain.hub, "TaskContribute", receipt) == []
    assert _score(chain, worker.address) == 0  # one contributor: no reputation change
    assert chain.hub.functions.result_for(task).call() == b""
    _assert_conserved(chain)


def test_contribute_and_finalize__twice__reverts_as_started(chain: Chain) -> None:
    deal = _match(chain, "trust 1 twice")
    _one_call(chain, chain.workers[0], deal, 0, _digest("once"))
    second = chain.workers[1]
    sent_before = _nothing_sent(chain, second)

    with pytest.raises(ContractRevert) as raised:
        _one_call(chain, second, deal, 0, _digest("twice"))

    assert raised.value.reason == "tasks: task already started"
    with pytest.raises(ContractRevert) as raised:
        _contribute(chain, second, deal, 0, _digest("twice"))
    assert raised.value.reason == "tasks: task already completed"
    assert _nothing_sent(chain, second) == sent_before


def test_contribute__trust_1__reaches_consensus_alone_then_finalizes_by_its_reveal(
    chain: Chain,
) -> None:
    deal = _match(chain, "trust 1 commit reveal")
    worker, task, digest = chain.workers[0], task_id(deal, 0), _digest("trust 1 commit")

    receipt = _contribute(chain, worker, deal, 0, digest)

    assert _events(chain.hub, "TaskConsensus", receipt) == [
        {"task_id": task, "result_hash": result_hash(task, digest)}
    ]
    assert _task(chain, deal, 0)["status"] == REVEALING
    assert chain.client.account(worker.address) == (WORKER_DEPOSIT - WORKER_STAKE, WORKER_STAKE)
    with pytest.raises(ContractRevert) as raised:
        _one_call(chain, chain.workers[1], deal, 0, digest)
    assert raised.value.reason == "tasks: task already started"

    chain.client.finalize(worker, deal, 0, digest, RESULTS, [worker.address])

    payout = _one_call_payout(worker.address)
    assert chain.client.account(worker.address) == (WORKER_DEPOSIT + payout["worker"], 0)
    assert _task(chain, deal, 0)["status"] == COMPLETED
    _assert_conserved(chain)


# --- trust 3: commit-reveal consensus with a wrong worker ---------------------------------


@dataclass(frozen=True)
class Replicated:
    deal: bytes
    task: bytes
    digest: bytes
    wrong_digest: bytes
    liar: LocalAccount
    winners: tuple[LocalAccount, ...]
    consensus_receipt: TxReceipt


def _warm_up(chain: Chain, deal: bytes, index: int, crew: tuple[LocalAccount, ...]) -> None:
    """A replicated task the whole crew wins: each member's score grows by one."""
    digest = _digest(f"warm up {index}")
    for worker in crew:
        _contribute(chain, worker, deal, index, digest)
    for worker in crew[:-1]:
        chain.client.reveal(worker, deal, index, digest)
    chain.client.finalize(crew[-1], deal, index, digest, RESULTS, [w.address for w in crew])


def _replicated_with_a_liar(chain: Chain) -> Replicated:
    """Task 2 of a trust-3 deal of three tasks: a worker of score 2 (two replicated wins on
    tasks 0 and 1) commits a wrong result first, then three fresh workers commit the right
    one. Fresh workers weigh 2: after two agreeing workers, 4 × 3 > (1 + 4 + 2) × 2 fails;
    the third one brings 8 × 3 > (1 + 8 + 2) × 2."""
    liar, partner, *crew = chain.workers[:5]
    deal = _match(chain, "trust 3", volume=3, trust=3)
    _warm_up(chain, deal, 0, (liar, partner))
    _warm_up(chain, deal, 1, (liar, partner))
    assert _score(chain, liar.address) == 2
    assert worker_weight(2) == worker_weight(0) == 2
    index, digest, wrong = 2, _digest("the right result"), _digest("a wrong result")

    _contribute(chain, liar, deal, index, wrong)
    for count, worker in enumerate(crew[:2], start=2):
        _contribute(chain, worker, deal, index, digest)
        assert _task(chain, deal, index)["status"] == ACTIVE, f"consensus after {count}"
    assert not consensus_reached(2 * 2, 2 * 2 + 2, 3)
    receipt = _contribute(chain, crew[2], deal, index, digest)
    assert consensus_reached(2 * 2 * 2, 2 * 2 * 2 + 2, 3)
    return Replicated(deal, task_id(deal, index), digest, wrong, liar, tuple(crew), receipt)


def test_contribute__two_agreeing_fresh_workers_at_trust_3__reach_consensus_and_close_the_task(
    chain: Chain,
) -> None:
    deal = _match(chain, "trust 3 two agree", trust=3)
    first, second, late = chain.workers[:3]
    task, digest = task_id(deal, 0), _digest("agreed")

    _contribute(chain, first, deal, 0, digest)
    assert _task(chain, deal, 0)["status"] == ACTIVE
    receipt = _contribute(chain, second, deal, 0, digest)

    block = chain.w3.eth.get_block(receipt.block_number)
    view = _task(chain, deal, 0)
    assert view["status"] == REVEALING
    assert (view["contributors"], view["winners"]) == (2, 2)
    assert view["reveal_deadline"] == block["timestamp"] + REVEAL_DEADLINE_RATIO * TIME_REF
    consensus = result_hash(task, digest)
    assert view["consensus"] == consensus[:23] + bytes(9)  # its low 72 bits are cleared
    assert _events(chain.hub, "TaskConsensus", receipt) == [
        {"task_id": task, "result_hash": consensus}
    ]
    with pytest.raises(ContractRevert) as raised:
        _contribute(chain, late, deal, 0, _digest("too late"))
    assert raised.value.reason == "tasks: task not active"


def test_reveal__wrong_worker__reverts_with_the_reason_of_the_digest_it_reveals(
    chain: Chain,
) -> None:
    run = _replicated_with_a_liar(chain)
    sent_before = _nothing_sent(chain, run.liar)

    # Its own digest matches its commitment, but is not the consensus.
    with pytest.raises(ContractRevert) as own:
        chain.client.reveal(run.liar, run.deal, 2, run.wrong_digest)
    # The consensus digest is not what it committed: the seal binds a digest to its worker.
    with pytest.raises(ContractRevert) as copied:
        chain.client.reveal(run.liar, run.deal, 2, run.digest)

    assert own.value.reason == "tasks: result is not the consensus"
    assert copied.value.reason == "tasks: reveal does not match the contribution"
    assert _nothing_sent(chain, run.liar) == sent_before
    assert _contribution_status(chain, run.task, run.liar.address) == CONTRIBUTED


def test_finalize__trust_3_with_a_wrong_worker__seizes_it_and_pays_the_winners(
    chain: Chain,
) -> None:
    run = _replicated_with_a_liar(chain)
    first, second, last = run.winners
    scheduler = chain["scheduler"].address
    everyone = [run.liar.address, *(w.address for w in run.winners), scheduler]
    everyone += [chain["requester"].address]
    view = _task(chain, run.deal, 2)
    assert (view["status"], view["contributors"], view["winners"]) == (REVEALING, 4, 3)
    assert _events(chain.hub, "TaskConsensus", run.consensus_receipt) == [
        {"task_id": run.task, "result_hash": result_hash(run.task, run.digest)}
    ]
    scores = {address: _score(chain, address) for address in everyone}
    assert scores[run.liar.address] == 2
    before = _accounts(chain, *everyone)

    reveals = [chain.client.reveal(w, run.deal, 2, run.digest) for w in (first, second)]
    receipt = chain.client.finalize(
        last,
        run.deal,
        2,
        run.digest,
        RESULTS,
        [run.liar.address, *(w.address for w in run.winners)],
    )

    for worker, reveal in zip((first, second), reveals, strict=True):
        assert _events(chain.hub, "TaskReveal", reveal) == [
            {"task_id": run.task, "worker": worker.address, "digest": run.digest}
        ]
        assert _contribution_status(chain, run.task, worker.address) == PROVED
    assert _events(chain.hub, "TaskReveal", receipt) == [
        {"task_id": run.task, "worker": last.address, "digest": run.digest}
    ]
    assert _events(chain.hub, "TaskFinalize", receipt) == [
        {"task_id": run.task, "digest": run.digest, "results": RESULTS}
    ]
    payout = success_payout(
        app_price=APP_PRICE,
        dataset_price=DATASET_PRICE,
        workerpool_price=WORKERPOOL_PRICE,
        worker_stake=WORKER_STAKE,
        scheduler_reward_ratio=SCHEDULER_REWARD_RATIO,
        winners={w.address: reward_weight(scores[w.address]) for w in run.winners},
        losers=[run.liar.address],
    )
    moved = _moved(before, _accounts(chain, *everyone))
    assert moved[run.liar.address] == (0, -WORKER_STAKE)  # the stake locked at contribute
    for worker in run.winners:
        assert moved[worker.address] == (
            WORKER_STAKE + payout.workers[worker.address],
            -WORKER_STAKE,
        )
        assert _score(chain, worker.address) == scores[worker.address] + 1
    assert moved[scheduler] == (SCHEDULER_STAKE + payout.scheduler, -SCHEDULER_STAKE)
    assert moved[chain["requester"].address] == (0, -TASK_PRICE)
    assert payout.scheduler == WORKERPOOL_PRICE + WORKER_STAKE - sum(payout.workers.values())
    assert _score(chain, run.liar.address) == 2 * 2 // 3 == 1
    assert _task(chain, run.deal, 2)["status"] == COMPLETED
    _assert_conserved(chain)


def test_finalize__a_stranger_before_the_reveal_deadline__reverts(chain: Chain) -> None:
    run = _replicated_with_a_liar(chain)
    for worker in run.winners:
        chain.client.reveal(worker, run.deal, 2, run.digest)
    contributors = [run.liar.address, *(w.address for w in run.winners)]

    with pytest.raises(ContractRevert) as raised:
        chain.client.finalize(chain["stranger"], run.deal, 2, run.digest, RESULTS, contributors)

    assert raised.value.reason == "tasks: reveal window still open"


def test_finalize__scheduler_before_every_winner_revealed__reverts(chain: Chain) -> None:
    run = _replicated_with_a_liar(chain)
    chain.client.reveal(run.winners[0], run.deal, 2, run.digest)
    contributors = [run.liar.address, *(w.address for w in run.winners)]

    with pytest.raises(ContractRevert) as raised:
        chain.client.finalize(chain["scheduler"], run.deal, 2, run.digest, RESULTS, contributors)

    assert raised.value.reason == "tasks: winners still revealing"


# --- TEE deals -----------------------------------------------------------------------------


def test_contribute_and_finalize__tee_deal_with_an_enclave__completes_without_a_stake(
    chain: Chain,
) -> None:
    deal = _match(chain, "tee", tee=True)
    worker, enclave = chain.unfunded_worker, _key("enclave")
    task, digest = task_id(deal, 0), _digest("tee result")
    assert chain.client.deal(deal).tee
    assert chain.client.account(worker.address) == (0, 0)

    receipt = _one_call(chain, worker, deal, 0, digest, enclave=enclave)

    assert chain.client.account(worker.address) == (_one_call_payout(worker.address)["worker"], 0)
    assert _task(chain, deal, 0)["status"] == COMPLETED
    assert _events(chain.hub, "TaskFinalize", receipt) == [
        {"task_id": task, "digest": digest, "results": RESULTS}
    ]
    _assert_conserved(chain)


def test_contribute_and_finalize__tee_deal_without_an_enclave__reverts(chain: Chain) -> None:
    deal = _match(chain, "tee without enclave", tee=True)

    with pytest.raises(ContractRevert) as raised:
        _one_call(chain, chain.workers[0], deal, 0, _digest("no enclave"))

    assert raised.value.reason == "tasks: enclave required"


def test_contribute_and_finalize__enclave_signature_of_another_key__reverts(
    chain: Chain,
) -> None:
    deal = _match(chain, "tee forged enclave", tee=True)
    worker, enclave, forger = chain.workers[0], _key("enclave"), _key("forger")
    task, digest = task_id(deal, 0), _digest("tee result")

    with pytest.raises(ContractRevert) as raised:
        chain.client.contribute_and_finalize(
            worker,
            deal,
            0,
            digest,
            RESULTS,
            enclave.address,
            _enclave_sign(forger, worker.address, task, digest),
            _auth(chain, worker.address, task, enclave.address),
        )

    assert raised.value.reason == "tasks: invalid enclave signature"


def test_contribute_and_finalize__tee_broker_authorization__completes(
    broker_chain: Chain,
) -> None:
    chain = broker_chain
    assert chain.hub.functions.TEE_BROKER().call() == chain["broker"].address
    deal = _match(chain, "tee broker", tee=True)
    worker, enclave = chain.workers[0], _key("brokered enclave")
    before = chain.client.account(worker.address)

    _one_call(chain, worker, deal, 0, _digest("brokered"), enclave=enclave, signer="broker")

    reward = _one_call_payout(worker.address)["worker"]
    assert chain.client.account(worker.address) == (before[0] + reward, before[1])
    assert _task(chain, deal, 0)["status"] == COMPLETED
    _assert_conserved(chain)


def test_contribute_and_finalize__scheduler_authorization_with_a_broker__reverts(
    broker_chain: Chain,
) -> None:
    # With a broker, only the broker vouches for enclaves: the scheduler cannot make one up.
    chain = broker_chain
    deal = _match(chain, "scheduler enclave", tee=True)

    with pytest.raises(ContractRevert) as raised:
        _one_call(chain, chain.workers[0], deal, 0, _digest("x"), enclave=_key("made up"))

    assert raised.value.reason == "tasks: invalid authorization"


def test_contribute_and_finalize__broker_authorization_without_an_enclave__reverts(
    broker_chain: Chain,
) -> None:
    chain = broker_chain
    deal = _match(chain, "broker without enclave")

    with pytest.raises(ContractRevert) as raised:
        _one_call(chain, chain.workers[0], deal, 0, _digest("x"), signer="broker")

    assert raised.value.reason == "tasks: invalid authorization"


def test_tee_broker__default_deployment__is_unset(chain: Chain) -> None:
    assert chain.hub.functions.TEE_BROKER().call() == ZERO_ADDRESS


# --- callbacks -----------------------------------------------------------------------------

CALLBACK_DATA = encode(["uint256", "uint256"], [123_456_789, 1_700_000_000])


def test_contribute_and_finalize__callback_deal__delivers_the_data_to_the_store(
    chain: Chain,
) -> None:
    store = _deploy_store(chain, 0)
    deal = _match(chain, "callback", callback=store.address)
    task = task_id(deal, 0)
    assert chain.client.deal(deal).callback == store.address

    receipt = _one_call(
        chain, chain.workers[0], deal, 0, keccak(CALLBACK_DATA), callback_data=CALLBACK_DATA
    )

    assert store.functions.results(task).call() == CALLBACK_DATA
    assert store.functions.calls().call() == 1
    assert chain.hub.functions.result_for(task).call() == CALLBACK_DATA
    assert _events(chain.hub, "CallbackFailed", receipt) == []
    assert _task(chain, deal, 0)["status"] == COMPLETED
    _assert_conserved(chain)


def test_finalize__callback_deal_through_commit_reveal__delivers_the_data(chain: Chain) -> None:
    store = _deploy_store(chain, 0)
    deal = _match(chain, "callback trust 3", trust=3, callback=store.address)
    first, last = chain.workers[:2]
    task, digest = task_id(deal, 0), keccak(CALLBACK_DATA)
    for worker in (first, last):
        _contribute(chain, worker, deal, 0, digest)
    chain.client.reveal(first, deal, 0, digest)
    contributors = [first.address, last.address]

    with pytest.raises(ContractRevert) as raised:
        chain.client.finalize(last, deal, 0, digest, RESULTS, contributors)
    assert raised.value.reason == "tasks: callback data does not match the digest"
    chain.client.finalize(
        last, deal, 0, digest, RESULTS, contributors, results_callback=CALLBACK_DATA
    )

    assert store.functions.results(task).call() == CALLBACK_DATA
    assert chain.hub.functions.result_for(task).call() == CALLBACK_DATA
    assert _task(chain, deal, 0)["status"] == COMPLETED
    _assert_conserved(chain)


def test_contribute_and_finalize__reverting_callback__completes_and_logs_the_failure(
    chain: Chain,
) -> None:
    store = _deploy_store(chain, 1)
    deal = _match(chain, "reverting callback", callback=store.address)
    worker, task = chain.workers[0], task_id(deal, 0)
    before = chain.client.account(worker.address)

    receipt = _one_call(chain, worker, deal, 0, keccak(CALLBACK_DATA), callback_data=CALLBACK_DATA)

    assert _events(chain.hub, "CallbackFailed", receipt) == [
        {"task_id": task, "callback": store.address}
    ]
    assert _task(chain, deal, 0)["status"] == COMPLETED
    assert store.functions.results(task).call() == b""
    assert store.functions.calls().call() == 0
    assert chain.hub.functions.result_for(task).call() == CALLBACK_DATA
    reward = _one_call_payout(worker.address)["worker"]
    assert chain.client.account(worker.address) == (before[0] + reward, before[1])
    _assert_conserved(chain)


def test_contribute_and_finalize__callback_data_not_matching_the_digest__reverts(
    chain: Chain,
) -> None:
    store = _deploy_store(chain, 0)
    deal = _match(chain, "callback mismatch", callback=store.address)

    with pytest.raises(ContractRevert) as raised:
        _one_call(chain, chain.workers[0], deal, 0, _digest("other"), callback_data=CALLBACK_DATA)

    assert raised.value.reason == "tasks: callback data does not match the digest"


# --- claim after the final deadline --------------------------------------------------------


def _deal_past_its_final_deadline(chain: Chain) -> tuple[bytes, LocalAccount]:
    """A trust-3 deal of three tasks: task 0 started by one worker, tasks 1 and 2 never."""
    deal = _match(chain, "claim", volume=3, trust=3)
    worker = chain.workers[0]
    _contribute(chain, worker, deal, 0, _digest("alone"))
    assert _task(chain, deal, 0)["status"] == ACTIVE
    with pytest.raises(ContractRevert) as raised:
        chain.client.claim(chain["stranger"], deal, [0, 1, 2], [worker.address])
    assert raised.value.reason == "tasks: final deadline not reached"
    _travel(chain, FINAL_DEADLINE_RATIO * TIME_REF + 1)
    return deal, worker


def test_claim__after_the_final_deadline__refunds_the_requester_with_the_untouched_stakes(
    chain: Chain,
) -> None:
    # Task 0 had a contribution: the scheduler gets its stake back. Nobody touched tasks 1
    # and 2: their scheduler stakes go to the requester.
    deal, worker = _deal_past_its_final_deadline(chain)
    requester, scheduler = chain["requester"].address, chain["scheduler"].address
    watched = (requester, scheduler, worker.address)
    before = _accounts(chain, *watched)
    assert before[worker.address] == (WORKER_DEPOSIT - WORKER_STAKE, WORKER_STAKE)

    receipt = chain.client.claim(chain["stranger"], deal, [0, 1, 2], [worker.address])

    assert _moved(before, _accounts(chain, *watched)) == {
        requester: (3 * TASK_PRICE + 2 * SCHEDULER_STAKE, -3 * TASK_PRICE),
        scheduler: (SCHEDULER_STAKE, -3 * SCHEDULER_STAKE),
        worker.address: (WORKER_STAKE, -WORKER_STAKE),
    }
    assert chain.client.account(requester) == (DEPOSIT + 2 * SCHEDULER_STAKE, 0)
    assert chain.client.account(worker.address) == (WORKER_DEPOSIT, 0)
    assert [_task(chain, deal, i)["status"] for i in range(3)] == [FAILED] * 3
    assert _events(chain.hub, "TaskClaimed", receipt) == [
        {"task_id": task_id(deal, i)} for i in range(3)
    ]
    _assert_conserved(chain)

    stranger = chain["stranger"]
    sent_before = _nothing_sent(chain, stranger)
    with pytest.raises(ContractRevert) as raised:
        send(chain.w3, stranger, chain.hub.functions.claim(deal, [1], []))
    assert raised.value.reason == "tasks: task already final"
    assert _nothing_sent(chain, stranger) == sent_before


def test_claim__wrong_contributor_list__reverts(chain: Chain) -> None:
    deal, worker = _deal_past_its_final_deadline(chain)

    with pytest.raises(ContractRevert) as missing:
        chain.client.claim(chain["stranger"], deal, [0, 1, 2], [])
    with pytest.raises(ContractRevert) as stranger:
        chain.client.claim(chain["stranger"], deal, [0], [chain.workers[1].address])

    assert missing.value.reason == "tasks: wrong contributor count"
    assert stranger.value.reason == "tasks: not a contributor"
    assert chain.client.account(worker.address) == (WORKER_DEPOSIT - WORKER_STAKE, WORKER_STAKE)


def test_contribute_and_finalize__after_a_claim__pays_the_scheduler_its_reward_only(
    chain: Chain,
) -> None:
    # Security H1: no pot of seized stakes pays out to whoever completes the next task.
    deal, worker = _deal_past_its_final_deadline(chain)
    chain.client.claim(chain["stranger"], deal, [0, 1, 2], [worker.address])
    scheduler = chain["scheduler"].address
    next_deal = _match(chain, "after the claim")
    before = chain.client.account(scheduler)

    _one_call(chain, chain.workers[1], next_deal, 0, _digest("paid its price only"))

    reward = _one_call_payout(chain.workers[1].address)["scheduler"]
    assert chain.client.account(scheduler) == (
        before[0] + SCHEDULER_STAKE + reward,
        before[1] - SCHEDULER_STAKE,
    )
    _assert_conserved(chain)


# --- reverts carry the reason and send nothing ---------------------------------------------


def test_contribute__another_workers_authorization__reverts_and_sends_nothing(
    chain: Chain,
) -> None:
    deal = _match(chain, "stolen authorization", trust=3)
    owner_of_auth, thief = chain.workers[:2]
    task, digest = task_id(deal, 0), _digest("stolen")
    call = chain.hub.functions.contribute(
        deal,
        0,
        result_hash(task, digest),
        result_seal(thief.address, task, digest),
        ZERO_ADDRESS,
        b"",
        _auth(chain, owner_of_auth.address, task),
    )
    sent_before = _nothing_sent(chain, thief)
    accounts_before = _accounts(chain, thief.address, owner_of_auth.address)

    with pytest.raises(ContractRevert) as raised:
        send(chain.w3, thief, call)

    assert raised.value.reason == "tasks: invalid authorization"
    assert _nothing_sent(chain, thief) == sent_before
    assert _accounts(chain, thief.address, owner_of_auth.address) == accounts_before
    assert _task(chain, deal, 0)["status"] == UNSET
    assert _contribution_status(chain, task, thief.address) == 0
    _assert_conserved(chain)


def test_contribute__authorization_signed_by_a_stranger__reverts(chain: Chain) -> None:
    deal = _match(chain, "stranger authorization", trust=3)
    worker, task = chain.workers[0], task_id(deal, 0)

    with pytest.raises(ContractRevert) as raised:
        chain.client.contribute(
            worker, deal, 0, _digest("x"), _auth(chain, worker.address, task, signer="stranger")
        )

    assert raised.value.reason == "tasks: invalid authorization"


def test_contribute__worker_without_a_deposit__reverts_for_its_stake(chain: Chain) -> None:
    deal = _match(chain, "no stake", trust=3)

    with pytest.raises(ContractRevert) as raised:
        _contribute(chain, chain.unfunded_worker, deal, 0, _digest("x"))

    assert raised.value.reason == "tasks: worker balance too low for the stake"


def test_contribute__index_outside_the_deal__reverts(chain: Chain) -> None:
    deal = _match(chain, "outside", trust=3)

    with pytest.raises(ContractRevert) as raised:
        _contribute(chain, chain.workers[0], deal, 1, _digest("x"))

    assert raised.value.reason == "tasks: index out of the deal"


def test_contribute_and_finalize__trust_3_deal__reverts(chain: Chain) -> None:
    deal = _match(chain, "one call at trust 3", trust=3)

    with pytest.raises(ContractRevert) as raised:
        _one_call(chain, chain.workers[0], deal, 0, _digest("x"))

    assert raised.value.reason == "tasks: one-call path needs trust 1"


def test_contribute__after_the_contribution_deadline__reverts(chain: Chain) -> None:
    deal = _match(chain, "late", trust=3)
    _travel(chain, 7 * TIME_REF)

    with pytest.raises(ContractRevert) as raised:
        _contribute(chain, chain.workers[0], deal, 0, _digest("x"))

    assert raised.value.reason == "tasks: contribution deadline passed"
