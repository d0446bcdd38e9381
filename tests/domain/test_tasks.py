"""The task rules of `veritask.domain.tasks` (PROTOCOL.md A5, A6): unit tests of the pure
functions against PoCo's numbers and manually packed bytes, then hypothesis parity tests
that run the same inputs through the hub in titanoboa (consensus, weights, payouts and
scores must be what the Python rules say).

Scores are written straight into the hub's account word (balance low 80 bits, frozen the
next 80, score 16 bits, then the scheduler it was earned with: the tests' one scheduler),
keeping balance and frozen: `hub_contract.eval` compiles
the hub for each call (about a second), too slow for a hypothesis example, so the storage
slot is computed from the compiler's layout and checked once against `eval`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import boa
import pytest
from boa.contracts.base_evm_contract import BoaError
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_keys import keys
from eth_utils import keccak, to_canonical_address, to_checksum_address
from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.support import (
    RLC,
    ZERO,
    Actor,
    Protocol,
    account_slot,
    build_market,
    make_actor,
    set_score,
)
from veritask.domain import tasks as rules
from veritask.domain.ids import task_id
from veritask.domain.signing import sign_hash_eip191

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts"
ACTIVE, REVEALING, COMPLETED, FAILED = 1, 2, 3, 4
SCORE_MAX = 2**16 - 1  # the account word keeps 16 bits of score
SECP256K1_HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0

# Scores around every edge of the weight rule: the floor at 3, a few steps, the cap (771
# gives weight 256, 774 would give 257) and the 16-bit top of the score field.
SCORES = st.one_of(
    st.sampled_from((0, 1, 2, 8, 9, 11, 12, 15, 24, 770, 771, 773, 774, 40_000, SCORE_MAX)),
    st.integers(0, 1_000),
)
ADDRESSES = st.binary(min_size=20, max_size=20)
WORDS = st.binary(min_size=32, max_size=32)


# --- the hub's constants ------------------------------------------------------------------


def _vyper_constants(path: Path) -> dict[str, int]:
    """The integer constants of a Vyper source (`NAME: constant(uint256) = 2**8`)."""
    found = {}
    pattern = re.compile(r"^(\w+): constant\(uint256\) = ([0-9_*]+)$", re.MULTILINE)
    for name, value in pattern.findall(path.read_text()):
        base, _, exponent = value.replace("_", "").partition("**")
        found[name] = int(base) ** int(exponent) if exponent else int(base)
    return found


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("CONTRIBUTION_DEADLINE_RATIO", "hub/tasks.vy"),
        ("REVEAL_DEADLINE_RATIO", "hub/tasks.vy"),
        ("FINAL_DEADLINE_RATIO", "hub/tasks.vy"),
        ("MAX_CONTRIBUTORS", "hub/tasks.vy"),
        ("MAX_WEIGHT", "hub/tasks.vy"),
        ("CALLBACK_GAS", "hub/tasks.vy"),
        ("SCHEDULER_STAKE_RATIO", "hub/matching.vy"),
    ],
)
def test_constants__domain_and_hub__are_equal(name: str, source: str) -> None:
    assert getattr(rules, name) == _vyper_constants(CONTRACTS / source)[name]


def test_constants__pocos_bounds__max_weight_256_and_eight_contributors() -> None:
    assert rules.MAX_WEIGHT == 256
    assert rules.MAX_CONTRIBUTORS == 8


# --- weights --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "weight"),
    [
        (0, 2),
        (1, 2),
        (8, 2),
        (9, 2),
        (11, 2),
        (12, 3),
        (15, 4),
        (300, 99),
        (770, 255),
        (771, 256),
        (773, 256),
        (774, 256),
        (10**6, 256),
        (SCORE_MAX, 256),
    ],
)
def test_worker_weight__score__pocos_weight_capped_at_256(score: int, weight: int) -> None:
    assert rules.worker_weight(score) == weight


@given(score=st.integers(0, SCORE_MAX))
def test_worker_weight__any_score__formula_and_bounds(score: int) -> None:
    weight = rules.worker_weight(score)
    assert weight == min(max(score // 3, 3) - 1, 256)
    assert 2 <= weight <= 256
    assert rules.worker_weight(score + 1) >= weight


@pytest.mark.parametrize(
    ("score", "reward"),
    [(0, 1), (11, 1), (12, 1), (15, 2), (24, 2), (27, 3), (300, 6), (771, 8), (SCORE_MAX, 8)],
)
def test_reward_weight__score__floor_log2_of_the_weight(score: int, reward: int) -> None:
    assert rules.reward_weight(score) == reward


@given(score=st.integers(0, SCORE_MAX))
def test_reward_weight__any_score__power_of_two_brackets_the_weight(score: int) -> None:
    reward = rules.reward_weight(score)
    assert 2**reward <= rules.worker_weight(score) < 2 ** (reward + 1)
    assert 1 <= reward <= 8


# --- consensus ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trust", "needed"),
    [(0, 1), (1, 1), (2, 1), (3, 2), (4, 2), (5, 3), (6, 3), (7, 3), (8, 3), (100, 7), (256, 8)],
)
def test_workers_needed__fresh_workers__pocos_table(trust: int, needed: int) -> None:
    assert rules.workers_needed(trust) == needed


def test_workers_needed__trust_257__needs_more_than_max_contributors() -> None:
    with pytest.raises(ValueError, match="more than 8 workers"):
        rules.workers_needed(257)


@pytest.mark.parametrize(
    ("group", "total", "trust", "reached"),
    [
        (2, 2, 1, True),
        (2, 2, 2, True),  # 4 > 3
        (2, 2, 3, False),  # 6 > 6 fails: equality is not enough
        (4, 4, 3, True),  # 12 > 10
        (4, 6, 3, False),  # another worker of weight 2 disagrees: 12 > 14 fails
        (4, 4, 5, False),  # 20 > 20 fails
        (8, 8, 8, True),  # 64 > 63
        (8, 8, 9, False),  # 72 > 72 fails
    ],
)
def test_consensus_reached__examples__strict_inequality(
    group: int, total: int, trust: int, reached: bool
) -> None:
    assert rules.consensus_reached(group, total, trust) is reached


@given(
    group=st.integers(1, 2**64),
    others=st.integers(0, 2**64),
    trust=st.integers(0, 2**16 - 1),
)
def test_consensus_reached__any_weights__share_of_total_above_trust_ratio(
    group: int, others: int, trust: int
) -> None:
    total = group + others
    t = max(trust, 1)
    expected = Fraction(group, total + 1) > Fraction(t - 1, t)
    assert rules.consensus_reached(group, total, trust) is expected
    if trust <= 1:
        assert rules.consensus_reached(group, total, trust)


# --- money ----------------------------------------------------------------------------------


def test_success_payout__two_winners_one_loser__exact_amounts() -> None:
    payout = rules.success_payout(
        app_price=3 * RLC,
        dataset_price=2 * RLC,
        workerpool_price=5 * RLC,
        worker_stake=3 * RLC // 2,
        scheduler_reward_ratio=1,
        winners={"a": 1, "b": 1},
        losers=["c"],
    )
    # pot 6.5 RLC; 99 % of it, 6.435 RLC, split in two.
    assert payout.workers == {"a": 3_217_500_000, "b": 3_217_500_000}
    assert payout.seized == {"c": 3 * RLC // 2}
    assert payout.scheduler == 65_000_000
    assert (payout.app_owner, payout.dataset_owner) == (3 * RLC, 2 * RLC)


@given(
    app_price=st.integers(0, 2**96 - 1),
    dataset_price=st.integers(0, 2**96 - 1),
    workerpool_price=st.integers(0, 2**96 - 1),
    stake_ratio=st.integers(0, 100),
    ratio=st.integers(0, 100),
    winner_weights=st.lists(st.integers(1, 8), min_size=1, max_size=8),
    loser_count=st.integers(0, 7),
)
def test_success_payout__any_task__pot_split_exactly(
    app_price: int,
    dataset_price: int,
    workerpool_price: int,
    stake_ratio: int,
    ratio: int,
    winner_weights: list[int],
    loser_count: int,
) -> None:
    stake = workerpool_price * stake_ratio // 100
    winners = {f"w{i}": weight for i, weight in enumerate(winner_weights)}
    losers = [f"l{i}" for i in range(loser_count)]
    payout = rules.success_payout(
        app_price=app_price,
        dataset_price=dataset_price,
        workerpool_price=workerpool_price,
        worker_stake=stake,
        scheduler_reward_ratio=ratio,
        winners=winners,
        losers=losers,
    )
    pot = workerpool_price + stake * loser_count
    workers_pot = pot * (100 - ratio) // 100
    total = sum(winner_weights)
    # Everything of the pot is paid, nothing more: the workers' shares and the scheduler.
    assert sum(payout.workers.values()) + payout.scheduler == pot
    assert payout.workers == {w: workers_pot * weight // total for w, weight in winners.items()}
    assert payout.seized == dict.fromkeys(losers, stake)
    # The scheduler keeps its ratio and the rounding dust, less than one unit per winner.
    assert pot - workers_pot <= payout.scheduler < pot - workers_pot + len(winners)
    assert (payout.app_owner, payout.dataset_owner) == (app_price, dataset_price)


# --- commitments and signatures -------------------------------------------------------------


def _hex(raw: bytes) -> str:
    return str(to_checksum_address(raw))


def test_result_hash__fixed_values__keccak_of_64_packed_bytes() -> None:
    task, digest = bytes(range(32)), bytes(range(32, 64))
    packed = bytes(range(64))
    assert rules.result_hash(task, digest) == keccak(packed)


def test_result_seal__fixed_values__keccak_of_84_packed_bytes() -> None:
    worker = "0x" + bytes(range(20)).hex()
    task, digest = b"\x11" * 32, b"\x22" * 32
    packed = bytes(range(20)) + b"\x11" * 32 + b"\x22" * 32
    assert len(packed) == 84
    assert rules.result_seal(worker, task, digest) == keccak(packed)


@given(worker=ADDRESSES, enclave=ADDRESSES, task=WORDS, digest=WORDS)
def test_commitments__any_values__keccak_of_packed_bytes(
    worker: bytes, enclave: bytes, task: bytes, digest: bytes
) -> None:
    # Checksummed and lower-case spellings of an address give the same 20 bytes.
    for spelling in (_hex(worker), "0x" + worker.hex()):
        assert rules.result_hash(task, digest) == keccak(task + digest)
        assert rules.result_seal(spelling, task, digest) == keccak(worker + task + digest)
        assert rules.authorization_hash(spelling, task, _hex(enclave)) == keccak(
            worker + task + enclave
        )
    assert rules.authorization_hash(_hex(worker), task, ZERO) == keccak(worker + task + bytes(20))
    rh, rs = rules.result_hash(task, digest), rules.result_seal(_hex(worker), task, digest)
    assert rules.enclave_message(rh, rs) == keccak(rh + rs)


@given(secret=st.binary(min_size=1, max_size=32), message=WORDS)
def test_sign_hash_eip191__any_hash__personal_message_by_the_key(
    secret: bytes, message: bytes
) -> None:
    key = keccak(secret)
    account = Account.from_key(key)
    signature = sign_hash_eip191(message, key)
    assert len(signature) == 65
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    assert v in (27, 28)
    assert s <= SECP256K1_HALF_N  # the hub refuses a high s
    # What the hub hashes: keccak256("\x19Ethereum Signed Message:\n32" ‖ hash).
    prefixed = keccak(b"\x19Ethereum Signed Message:\n32" + message)
    recovered = keys.Signature(
        r + s.to_bytes(32, "big") + bytes([v - 27])
    ).recover_public_key_from_msg_hash(prefixed)
    assert recovered.to_canonical_address() == to_canonical_address(account.address)
    assert Account.recover_message(encode_defunct(primitive=message), signature=signature) == (
        account.address
    )


# --- parity with the hub ----------------------------------------------------------------------


def _scheduler_bits(protocol: Protocol) -> int:
    """The top 80 bits of an account word whose score was earned with the tests' scheduler."""
    return (int(protocol.actors["scheduler"].address, 16) % 2**80) << 176


def _set_score(protocol: Protocol, account: str, score: int) -> None:
    """Sets the account's score, earned with the tests' scheduler."""
    set_score(protocol, account, score, protocol.actors["scheduler"].address)


def _reason(err: BoaError) -> str:
    found = re.search(r"(tasks|escrow|match): [a-z0-9 ,'-]+", str(err))
    return found.group(0) if found else str(err)


def _contribute(p: Protocol, deal: bytes, index: int, worker: Actor, digest: bytes) -> None:
    tid = task_id(deal, index)
    scheduler = p.actors["scheduler"]
    auth = sign_hash_eip191(rules.authorization_hash(worker.address, tid, ZERO), scheduler.key)
    with boa.env.prank(worker.address):
        p.hub.contribute(
            deal,
            index,
            rules.result_hash(tid, digest),
            rules.result_seal(worker.address, tid, digest),
            ZERO,
            b"",
            auth,
        )


def _sorted(addresses: list[str]) -> list[str]:
    return sorted(addresses, key=lambda a: int(a, 16))


def _account(p: Protocol, address: str) -> tuple[int, int, int]:
    return p.hub.balance_of(address), p.hub.frozen_of(address), p.hub.score_of(address)


def _workers(p: Protocol, count: int, prefix: str) -> list[Actor]:
    workers = [make_actor(f"{prefix} {i}") for i in range(count)]
    for worker in workers:
        p.fund(worker, 100 * RLC)
    return workers


@pytest.fixture(scope="module")
def chain(_session_protocol: Protocol) -> Protocol:
    """The session's hub, module-scoped so that hypothesis tests may use it (each of their
    examples enters its own anchor)."""
    return _session_protocol


@pytest.fixture
def world(chain: Protocol) -> Iterator[Protocol]:
    with boa.env.anchor():
        yield chain


def test_account_slot__set_score__same_word_as_eval(world: Protocol) -> None:
    p = world
    (worker,) = _workers(p, 1, "slot worker")
    _set_score(p, worker.address, 771)
    word = p.hub_contract.eval(f"escrow._accounts[{worker.address}]")
    assert word == boa.env.get_storage(p.hub.address, account_slot(p, worker.address))
    assert word == _scheduler_bits(p) | (771 << 160) | 100 * RLC
    assert _account(p, worker.address) == (100 * RLC, 0, 771)


@pytest.mark.parametrize("trust", [1, 2, 3, 4, 5, 8, 100, 256, 257])
def test_hub__fresh_agreeing_workers__consensus_after_workers_needed(
    world: Protocol, trust: int
) -> None:
    p = world
    deal = build_market(p, trust=trust).match()
    workers = _workers(p, 9, "fresh worker")
    digest = keccak(b"the result")
    needed = rules.workers_needed(trust) if trust <= 256 else None
    for count, worker in enumerate(workers[: rules.MAX_CONTRIBUTORS], start=1):
        _contribute(p, deal, 0, worker, digest)
        assert p.hub.contribution(task_id(deal, 0), worker.address).weight == 2
        status = p.hub.task(deal, 0).status
        if count == needed:
            assert status == REVEALING
            break
        assert status == ACTIVE
    else:
        assert needed is None
        with pytest.raises(BoaError) as err:
            _contribute(p, deal, 0, workers[8], digest)
        assert _reason(err.value) == "tasks: too many contributors"


def _groups_reach(weights: dict[int, int], trust: int) -> bool:
    total = sum(weights.values())
    return any(rules.consensus_reached(w, total, trust) for w in weights.values())


CREW = st.lists(st.tuples(SCORES, st.integers(0, 2)), min_size=1, max_size=4)


@settings(max_examples=100, deadline=None)
@given(
    trust=st.integers(1, 8),
    crew=CREW,
    workerpool_price=st.sampled_from((5 * RLC, 3 * RLC + 7)),
    ending=st.sampled_from(("scheduler", "last winner", "a winner late")),
    reveals=st.lists(st.booleans(), min_size=8, max_size=8),
)
def test_hub__random_scores_and_digests__consensus_and_payout_as_the_rules(
    chain: Protocol,
    trust: int,
    crew: list[tuple[int, int]],
    workerpool_price: int,
    ending: str,
    reveals: list[bool],
) -> None:
    p = chain
    with boa.env.anchor():
        _consensus_and_payout(p, trust, crew, workerpool_price, ending, reveals)


def _consensus_and_payout(
    p: Protocol,
    trust: int,
    crew: list[tuple[int, int]],
    workerpool_price: int,
    ending: str,
    reveals: list[bool],
) -> None:
    a = p.actors
    deal = build_market(p, trust=trust, workerpool_price=workerpool_price).match()
    terms = p.hub.deal(deal)
    tid = task_id(deal, 0)
    stake = workerpool_price * terms.worker_stake_ratio // 100
    digests = [keccak(f"result {g}".encode()) for g in range(3)]
    workers = _workers(p, len(crew), "parity worker")
    for worker, (score, _) in zip(workers, crew, strict=True):
        _set_score(p, worker.address, score)
        assert _account(p, worker.address) == (100 * RLC, 0, score)

    # Contributions, one at a time: REVEALING exactly when some group reaches consensus.
    groups: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    contributed: list[int] = []
    consensus_group: int | None = None
    for i, (score, group) in enumerate(crew):
        if consensus_group is not None:
            with pytest.raises(BoaError) as err:
                _contribute(p, deal, 0, workers[i], digests[group])
            assert _reason(err.value) == "tasks: task not active"
            break
        _contribute(p, deal, 0, workers[i], digests[group])
        contributed.append(i)
        weight = rules.worker_weight(score)
        assert p.hub.contribution(tid, workers[i].address).weight == weight
        groups[group] = groups.get(group, 1) * weight
        members.setdefault(group, []).append(i)
        task = p.hub.task(deal, 0)
        assert task.contributors == len(contributed)
        if _groups_reach(groups, trust):
            assert task.status == REVEALING
            assert rules.consensus_reached(groups[group], sum(groups.values()), trust)
            consensus_group = group
        else:
            assert task.status == ACTIVE
    contributors = _sorted([workers[i].address for i in contributed])
    everyone = [w.address for w in workers] + [
        a[n].address for n in ("scheduler", "requester", "app_owner", "dataset_owner")
    ]
    before = {address: _account(p, address) for address in everyone}
    price = terms.app_price + terms.dataset_price + workerpool_price
    scheduler_stake = workerpool_price * rules.SCHEDULER_STAKE_RATIO // 100
    expected = {address: list(account) for address, account in before.items()}

    def move(address: str, balance: int = 0, frozen: int = 0, score: int | None = None) -> None:
        expected[address][0] += balance
        expected[address][1] += frozen
        if score is not None:
            expected[address][2] = score

    event(f"trust {trust}: {'consensus' if consensus_group is not None else 'no consensus'}")
    if consensus_group is None:
        # No consensus ever: after the final deadline the claim refunds everyone, and the
        # scheduler, whose workers contributed, gets its stake back.
        boa.env.time_travel(seconds=rules.FINAL_DEADLINE_RATIO * terms.time_ref)
        with boa.env.prank(a["stranger"].address):
            p.hub.claim(deal, [0], contributors)
        assert p.hub.task(deal, 0).status == FAILED
        for address in contributors:
            move(address, stake, -stake)
        move(a["requester"].address, price, -price)
        move(a["scheduler"].address, scheduler_stake, -scheduler_stake)
    else:
        winners = [workers[i] for i in members[consensus_group]]
        digest = digests[consensus_group]
        assert p.hub.task(deal, 0).winners == len(winners)
        finalizer = a["scheduler"]
        if ending == "scheduler":
            revealers = winners
        elif ending == "last winner":
            revealers, finalizer = winners[:-1], winners[-1]
        else:
            revealers = [w for w, bit in zip(winners, reveals, strict=False) if bit] or winners[:1]
            finalizer = revealers[-1]  # after the window: the scheduler or a winner (M2)
        for worker in revealers:
            with boa.env.prank(worker.address):
                p.hub.reveal(deal, 0, digest)
        if ending == "a winner late":
            deadline = p.hub.task(deal, 0).reveal_deadline
            boa.env.time_travel(seconds=deadline - boa.env.evm.patch.timestamp + 1)
        with boa.env.prank(finalizer.address):
            p.hub.finalize(deal, 0, digest, b'{"storage": "ipfs"}', b"", contributors)
        finalize_logs = [log for log in p.hub.get_logs() if type(log).__name__ == "TaskFinalize"]
        assert [log.digest for log in finalize_logs] == [digest]
        assert p.hub.task(deal, 0).status == COMPLETED

        paid = {w.address for w in revealers} | ({finalizer.address} & {w.address for w in winners})
        losers = [address for address in contributors if address not in paid]
        scores = {workers[i].address: crew[i][0] for i in contributed}
        payout = rules.success_payout(
            app_price=terms.app_price,
            dataset_price=terms.dataset_price,
            workerpool_price=workerpool_price,
            worker_stake=stake,
            scheduler_reward_ratio=terms.scheduler_reward_ratio,
            winners={w: rules.reward_weight(scores[w]) for w in paid},
            losers=losers,
        )
        replicated = len(contributors) > 1
        event(f"{ending}: {len(paid)} winners, {len(losers)} losers")
        for address in paid:
            bonus = 1 if replicated else 0
            move(
                address,
                stake + payout.workers[address],
                -stake,
                min(scores[address] + bonus, SCORE_MAX),
            )
        for address in losers:
            move(address, 0, -payout.seized[address], scores[address] * 2 // 3)
        move(a["scheduler"].address, payout.scheduler + scheduler_stake, -scheduler_stake)
        move(a["requester"].address, 0, -price)
        move(a["app_owner"].address, payout.app_owner)
        move(a["dataset_owner"].address, payout.dataset_owner)

    for address, account in expected.items():
        assert _account(p, address) == tuple(account), address
    # Every account that holds money in this example is in `expected`: conservation.
    held = sum(balance + frozen for balance, frozen, _ in expected.values())
    assert p.token.balanceOf(p.hub.address) == held
