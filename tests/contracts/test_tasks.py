"""The task lifecycle (contracts/hub/tasks.vy, PROTOCOL.md A5, A6): contribute and the
consensus rule, reveal, and the views (task, contribution, result_for, score_of, score_in,
TEE_BROKER; the broker is fixed at deployment, there is no setter). finalize and
contribute_and_finalize are in test_tasks_finalize.py, reopen and claim in
test_tasks_claim.py; the helpers in lifecycle_support.py.

Every test runs on a matched deal of category 0 (C = 300 s) with workers funded in the
hub and authorized by the workerpool owner (the "scheduler"), and checks the state of
every party and the events of the call; each revert reason of tasks.vy has its test
(the last test of this file checks that)."""

from __future__ import annotations

import re
from pathlib import Path

import boa
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.contracts.lifecycle_support import (
    ACTIVE,
    COMPLETED,
    CONTRIBUTED,
    CONTRIBUTION_WINDOW,
    DIGEST,
    PROVED,
    REVEAL_WINDOW,
    REVEALING,
    UNSET,
    WRONG,
    changes,
    consensus_key,
    event_names,
    fixture_broker_protocol,  # noqa: F401 (the fixture broker_protocol)
    fixture_broker_session,  # noqa: F401 (the fixture broker_session)
    open_deal,
    train,
)
from tests.support import CONTRACTS, ZERO, make_actor
from veritask.domain.signing import compact_signature
from veritask.domain.tasks import (
    authorization_hash,
    consensus_reached,
    result_hash,
    workers_needed,
)

HERE = Path(__file__).resolve().parent
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def now() -> int:
    return boa.env.evm.patch.timestamp


# -- contribute: passing ---------------------------------------------------------------


def test_contribute__first_worker_of_trust_3__task_active_and_stake_locked(protocol) -> None:
    job = open_deal(protocol, trust=3)
    (worker,) = job.crew(1)
    before = job.accounts()

    job.contribute(worker)

    logs = job.hub.get_logs()
    assert event_names(logs) == ["TaskContribute"]
    (log,) = logs
    assert log.task_id == job.task_id()
    assert log.worker == worker.address
    assert log.result_hash == result_hash(job.task_id(), DIGEST)
    task = job.hub.task(job.deal_id, 0)
    assert (task.status, task.contributors, task.round, task.consensus) == (
        ACTIVE,
        1,
        0,
        b"\0" * 32,
    )
    assert tuple(job.hub.contribution(job.task_id(), worker.address)) == (CONTRIBUTED, 2, 0)
    assert changes(before, job.accounts()) == {worker.name: (-job.stake, job.stake, 0)}
    job.assert_conserved()


def test_contribute__second_agreeing_worker_at_trust_3__consensus_reached(protocol) -> None:
    job = open_deal(protocol, trust=3)
    first, second = job.crew(2)
    job.contribute(first)
    before = job.accounts()

    job.contribute(second)

    logs = job.hub.get_logs()
    assert event_names(logs) == ["TaskContribute", "TaskConsensus"]
    assert logs[0].worker == second.address
    assert logs[1].task_id == job.task_id()
    assert logs[1].result_hash == result_hash(job.task_id(), DIGEST)
    task = job.hub.task(job.deal_id, 0)
    assert task.status == REVEALING
    assert task.contributors == 2
    assert task.winners == 2
    assert task.round == 0
    assert task.reveal_deadline == now() + REVEAL_WINDOW
    assert task.consensus == consensus_key(result_hash(job.task_id(), DIGEST))
    assert changes(before, job.accounts()) == {second.name: (-job.stake, job.stake, 0)}
    job.assert_conserved()


def test_contribute__trust_1__one_worker_reaches_consensus(protocol) -> None:
    job = open_deal(protocol, trust=1)
    (worker,) = job.crew(1)

    job.contribute(worker)

    assert event_names(job.hub.get_logs()) == ["TaskContribute", "TaskConsensus"]
    task = job.hub.task(job.deal_id, 0)
    assert (task.status, task.contributors, task.winners) == (REVEALING, 1, 1)
    assert task.reveal_deadline == now() + REVEAL_WINDOW
    job.assert_conserved()


def test_contribute__trust_5__needs_three_agreeing_fresh_workers(protocol) -> None:
    assert workers_needed(5) == 3
    job = open_deal(protocol, trust=5)
    workers = job.crew(3)

    job.contribute(workers[0])
    job.contribute(workers[1])
    assert event_names(job.hub.get_logs()) == ["TaskContribute"]
    assert job.hub.task(job.deal_id, 0).status == ACTIVE
    job.contribute(workers[2])

    assert event_names(job.hub.get_logs()) == ["TaskContribute", "TaskConsensus"]
    task = job.hub.task(job.deal_id, 0)
    assert (task.status, task.contributors, task.winners) == (REVEALING, 3, 3)
    job.assert_conserved()


def test_contribute__trust_100__needs_seven_agreeing_fresh_workers(protocol) -> None:
    assert workers_needed(100) == 7
    job = open_deal(protocol, trust=100)
    workers = job.crew(7)
    for worker in workers[:6]:
        job.contribute(worker)
    assert job.hub.task(job.deal_id, 0).status == ACTIVE

    job.contribute(workers[6])

    task = job.hub.task(job.deal_id, 0)
    assert (task.status, task.contributors, task.winners) == (REVEALING, 7, 7)


def test_contribute__one_wrong_worker_at_trust_3__three_right_ones_needed(protocol) -> None:
    # PoCo's rule counts the wrong group in the total: 2 + 4 is not enough at trust 3
    # (4 × 3 > 7 × 2 fails), 2 + 8 is (8 × 3 > 11 × 2).
    job = open_deal(protocol, trust=3)
    wrong, *right = job.crew(4)
    job.contribute(wrong, WRONG)
    job.contribute(right[0])
    job.contribute(right[1])
    assert job.hub.task(job.deal_id, 0).status == ACTIVE

    job.contribute(right[2])

    assert event_names(job.hub.get_logs()) == ["TaskContribute", "TaskConsensus"]
    task = job.hub.task(job.deal_id, 0)
    assert (task.status, task.contributors, task.winners) == (REVEALING, 4, 3)
    assert task.consensus == consensus_key(result_hash(job.task_id(), DIGEST))
    job.assert_conserved()


def test_contribute__experienced_worker__weighs_more(protocol) -> None:
    # Score 15 gives weight 4: alone it outweighs the rest at trust 3 (4 × 3 > 5 × 2).
    job = open_deal(protocol, trust=3)
    veteran = job.worker("veteran")
    train(job, veteran, 15)
    assert job.hub.score_of(veteran.address) == 15

    job.contribute(veteran)

    assert event_names(job.hub.get_logs()) == ["TaskContribute", "TaskConsensus"]
    assert tuple(job.hub.contribution(job.task_id(), veteran.address)) == (CONTRIBUTED, 4, 0)
    assert job.hub.task(job.deal_id, 0).winners == 1
    job.assert_conserved()


def test_contribute__one_second_before_the_deadline__accepted(protocol) -> None:
    job = open_deal(protocol, trust=3)
    (worker,) = job.crew(1)
    job.travel_to(CONTRIBUTION_WINDOW - 1)

    job.contribute(worker)

    assert job.hub.task(job.deal_id, 0).status == ACTIVE


def test_contribute__balance_exactly_the_stake__accepted(protocol) -> None:
    job = open_deal(protocol, trust=3)
    worker = job.worker("exact", funds=job.stake)

    job.contribute(worker)

    assert job.hub.balance_of(worker.address) == 0
    assert job.hub.frozen_of(worker.address) == job.stake
    job.assert_conserved()


def test_contribute__later_task_of_a_volume_deal__uses_its_own_task_id(protocol) -> None:
    job = open_deal(protocol, trust=3, volume=3)
    (worker,) = job.crew(1)

    job.contribute(worker, index=2)

    assert job.hub.get_logs()[0].task_id == job.task_id(2)
    assert job.hub.task(job.deal_id, 2).status == ACTIVE
    assert job.hub.task(job.deal_id, 0).status == UNSET
    assert job.hub.task(job.deal_id, 1).status == UNSET


def test_contribute__tee_deal_with_enclave__accepted(protocol) -> None:
    job = open_deal(protocol, trust=3, tee=True)
    first, second = job.crew(2)
    enclave = make_actor("enclave")
    job.contribute(first, enclave=enclave)
    before = job.accounts()

    job.contribute(second, enclave=enclave)

    assert event_names(job.hub.get_logs()) == ["TaskContribute", "TaskConsensus"]
    assert job.hub.task(job.deal_id, 0).status == REVEALING
    # TEE contributions through `contribute` stake like any other.
    assert changes(before, job.accounts()) == {second.name: (-job.stake, job.stake, 0)}


def test_contribute__tee_broker_authorization__accepted(broker_protocol) -> None:
    protocol, broker = broker_protocol
    job = open_deal(protocol, trust=3, tee=True)
    enclave = make_actor("enclave")
    (worker,) = job.crew(1)

    auth = job.authorize(worker, enclave=enclave.address, signer=broker)
    job.contribute(worker, enclave=enclave, auth=auth)

    assert event_names(job.hub.get_logs()) == ["TaskContribute"]
    assert job.hub.contribution(job.task_id(), worker.address).status == CONTRIBUTED
    job.assert_conserved()


def test_contribute__broker_set_and_no_enclave__scheduler_authorizes(broker_protocol) -> None:
    protocol, _ = broker_protocol
    job = open_deal(protocol, trust=3)
    (worker,) = job.crew(1)

    job.contribute(worker)

    assert job.hub.contribution(job.task_id(), worker.address).status == CONTRIBUTED


def test_contribute__compact_authorization__accepted(protocol) -> None:
    job = open_deal(protocol, trust=3)
    (worker,) = job.crew(1)

    job.contribute(worker, auth=compact_signature(job.authorize(worker)))

    assert job.hub.contribution(job.task_id(), worker.address).status == CONTRIBUTED


def test_contribute__enclave_on_a_standard_deal__accepted(protocol) -> None:
    # An enclave is optional outside TEE deals; when given, its signature is checked.
    job = open_deal(protocol, trust=3)
    (worker,) = job.crew(1)

    job.contribute(worker, enclave=make_actor("enclave"))

    assert job.hub.contribution(job.task_id(), worker.address).status == CONTRIBUTED


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    trust=st.integers(2, 20),
    results=st.lists(st.sampled_from("AAABBC"), min_size=1, max_size=8),
)
def test_contribute__random_sequences__consensus_as_the_python_rule_says(
    protocol, trust, results
) -> None:
    # PoCo's rule on fresh workers (weight 2), replayed in Python after every contribution.
    with boa.env.anchor():
        job = open_deal(protocol, trust=trust)
        groups: dict[str, int] = {}
        members: dict[str, int] = {}
        for i, result in enumerate(results):
            worker = job.worker(f"random {i}")
            job.contribute(worker, keccak(text=result))
            groups[result] = groups.get(result, 1) * 2
            members[result] = members.get(result, 0) + 1
            reached = consensus_reached(groups[result], sum(groups.values()), trust)
            task = job.hub.task(job.deal_id, 0)
            assert task.contributors == i + 1
            if reached:
                assert task.status == REVEALING
                assert task.winners == members[result]
                assert task.consensus == consensus_key(
                    result_hash(job.task_id(), keccak(text=result))
                )
                break
            assert task.status == ACTIVE
        job.assert_conserved()


# -- contribute: reverts ---------------------------------------------------------------


def test_contribute__index_out_of_the_deal__reverts(protocol) -> None:
    job = open_deal(protocol, trust=3, volume=2)
    (worker,) = job.crew(1)
    with boa.reverts("tasks: index out of the deal"):
        job.contribute(worker, index=2)


def test_contribute__unknown_deal__reverts_index_out_of_the_deal(protocol) -> None:
    job = open_deal(protocol, trust=3)
    (worker,) = job.crew(1)
    job.deal_id = keccak(text="no such deal")
    with boa.reverts("tasks: index out of the deal"):
        job.contribute(worker, auth=b"")


def test_contribute__trust_1_task_completed_in_one_call__reverts(protocol) -> None:
    job = open_deal(protocol, trust=1)
    first, second = job.crew(2)
    job.contribute_and_finalize(first)
    with boa.reverts("tasks: task already completed"):
        job.contribute(second)


def test_contribute__task_in_consensus__reverts_not_active(protocol) -> None:
    job = open_deal(protocol, trust=3)
    first, second, late = job.crew(3)
    job.contribute(first)
    job.contribute(second)
    with boa.reverts("tasks: task not active"):
        job.contribute(late)


def test_contribute__at_the_contribution_deadline__reverts(protocol) -> None:
    job = open_deal(protocol, trust=3)
    (worker,) = job.crew(1)
    job.travel_to(CONTRIBUTION_WINDOW)
    with boa.reverts("tasks: contribution deadline passed"):
        job.contribute(worker)


def test_contribute__same_worker_twice__reverts(protocol) -> None:
    job = open_deal(protocol, trust=3)
    worker = job.worker("twice", funds=2 * job.stake)
    job.contribute(worker)
    with boa.reverts("tasks: already contributed"):
        job.contribute(worker, WRONG)


def test_contribute__ninth_contributor__reverts_too_many(protocol) -> None:
    # Eight different results at trust 3: no group ever reaches consensus.
    job = open_deal(protocol, trust=3)
    workers = job.crew(9)
    for i, worker in enumerate(workers[:8]):
        job.contribute(worker, keccak(text=f"result {i}"))
    task = job.hub.task(job.deal_id, 0)
    assert (task.status, task.contributors) == (ACTIVE, 8)
    with boa.reverts("tasks: too many contributors"):
        job.contribute(workers[8])
    job.assert_conserved()


@pytest.mark.parametrize("empty", ["hash", "seal"])
def test_contribute__empty_result__reverts(protocol, empty) -> None:
    job = open_deal(protocol, trust=3)
    (worker,) = job.crew(1)
    zero = b"\0" * 32
    with boa.reverts("tasks: empty result"):
        if empty == "hash":
            job.contribute(worker, hash_=zero)
        else:
            job.contribute(worker, seal=zero)


def test_contribute__tee_deal_without_enclave__reverts(protocol) -> None:
    job = open_deal(protocol, trust=3, tee=True)
    (worker,) = job.crew(1)
    with boa.reverts("tasks: enclave required"):
        job.contribute(worker)


def _high_s(signature: bytes) -> bytes:
    """The malleable twin of a 65-byte signature: same signer, s' = n − s."""
    r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
    return r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - v])


def _authorization(job, worker, other, case: str) -> tuple[bytes, object]:
    """A bad authorization for `worker` and the enclave to contribute with."""
    if case == "wrong signer":
        return job.authorize(worker, signer=job.actors["requester"]), None
    if case == "another worker's":
        return job.authorize(other), None
    if case == "empty":
        return b"", None
    if case == "too short":
        return job.authorize(worker)[:63], None
    if case == "another task's":
        return job.authorize(worker, index=1), None
    if case == "another enclave's":
        enclave = make_actor("enclave")
        return job.authorize(worker, enclave=make_actor("other enclave").address), enclave
    if case == "high s":
        return _high_s(job.authorize(worker)), None
    if case == "compact high s":
        signature = job.authorize(worker)
        r, s, v = signature[:32], int.from_bytes(signature[32:64], "big"), signature[64]
        return r + (((28 - v) << 255) | (SECP256K1_N - s)).to_bytes(32, "big"), None
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "wrong signer",
        "another worker's",
        "empty",
        "too short",
        "another task's",
        "another enclave's",
        "high s",
        "compact high s",
    ],
)
def test_contribute__invalid_authorization__reverts(protocol, case) -> None:
    job = open_deal(protocol, trust=3, volume=2)
    worker, other = job.crew(2)
    auth, enclave = _authorization(job, worker, other, case)
    with boa.reverts("tasks: invalid authorization"):
        job.contribute(worker, auth=auth, enclave=enclave)


def test_contribute__broker_set_and_scheduler_authorizes_an_enclave__reverts(
    broker_protocol,
) -> None:
    # With a TEE broker, only the broker vouches for enclaves, not the scheduler.
    protocol, _ = broker_protocol
    job = open_deal(protocol, trust=3, tee=True)
    (worker,) = job.crew(1)
    enclave = make_actor("enclave")
    with boa.reverts("tasks: invalid authorization"):
        job.contribute(worker, enclave=enclave)


def test_contribute__broker_authorizes_without_enclave__reverts(broker_protocol) -> None:
    protocol, broker = broker_protocol
    job = open_deal(protocol, trust=3)
    (worker,) = job.crew(1)
    with boa.reverts("tasks: invalid authorization"):
        job.contribute(worker, auth=job.authorize(worker, signer=broker))


def test_contribute__high_s_authorization__is_the_schedulers_signature(protocol) -> None:
    # The "high s" case above is a real signature of the scheduler (its malleable twin),
    # refused because s is not canonical, not because it is garbage.
    job = open_deal(protocol, trust=3)
    (worker,) = job.crew(1)
    message = encode_defunct(primitive=authorization_hash(worker.address, job.task_id(), ZERO))
    high = _high_s(job.authorize(worker))
    assert Account.recover_message(message, signature=high) == job.scheduler.address


def test_contribute__enclave_signature_by_another_key__reverts(protocol) -> None:
    job = open_deal(protocol, trust=3, tee=True)
    (worker,) = job.crew(1)
    enclave = make_actor("enclave")
    forged = job.enclave_sign(make_actor("impostor"), worker, DIGEST)
    with boa.reverts("tasks: invalid enclave signature"):
        job.contribute(worker, enclave=enclave, enclave_sign=forged)


def test_contribute__enclave_signature_empty__reverts(protocol) -> None:
    job = open_deal(protocol, trust=3, tee=True)
    (worker,) = job.crew(1)
    with boa.reverts("tasks: invalid enclave signature"):
        job.contribute(worker, enclave=make_actor("enclave"), enclave_sign=b"")


def test_contribute__balance_below_the_stake__reverts(protocol) -> None:
    job = open_deal(protocol, trust=3)
    worker = job.worker("poor", funds=job.stake - 1)
    with boa.reverts("tasks: worker balance too low for the stake"):
        job.contribute(worker)


# -- reveal ----------------------------------------------------------------------------


def _in_consensus(protocol, trust: int = 3, count: int = 2):
    job = open_deal(protocol, trust=trust)
    workers = job.crew(count)
    for worker in workers:
        job.contribute(worker)
    return job, workers


def test_reveal__winner_in_the_window__contribution_proved(protocol) -> None:
    job, (first, second) = _in_consensus(protocol)
    before = job.accounts()

    job.reveal(first)

    logs = job.hub.get_logs()
    assert event_names(logs) == ["TaskReveal"]
    assert (logs[0].task_id, logs[0].worker, logs[0].digest) == (
        job.task_id(),
        first.address,
        DIGEST,
    )
    assert tuple(job.hub.contribution(job.task_id(), first.address)) == (PROVED, 2, 0)
    assert job.hub.contribution(job.task_id(), second.address).status == CONTRIBUTED
    assert job.hub.task(job.deal_id, 0).status == REVEALING
    assert changes(before, job.accounts()) == {}  # money moves at finalize only
    job.assert_conserved()


def test_reveal__at_the_reveal_deadline__accepted(protocol) -> None:
    job, (first, _) = _in_consensus(protocol)
    deadline = job.hub.task(job.deal_id, 0).reveal_deadline
    boa.env.time_travel(seconds=deadline - now())

    job.reveal(first)

    assert job.hub.contribution(job.task_id(), first.address).status == PROVED


def test_reveal__task_still_active__reverts(protocol) -> None:
    job = open_deal(protocol, trust=3)
    (worker,) = job.crew(1)
    job.contribute(worker)
    with boa.reverts("tasks: task not revealing"):
        job.reveal(worker)


def test_reveal__after_the_reveal_deadline__reverts(protocol) -> None:
    job, (first, _) = _in_consensus(protocol)
    boa.env.time_travel(seconds=REVEAL_WINDOW + 1)
    with boa.reverts("tasks: reveal deadline passed"):
        job.reveal(first)


def test_reveal__not_a_contributor__reverts_nothing_to_reveal(protocol) -> None:
    job, _ = _in_consensus(protocol)
    with boa.reverts("tasks: nothing to reveal"):
        job.reveal(protocol.actors["stranger"])


def test_reveal__twice__reverts_nothing_to_reveal(protocol) -> None:
    job, (first, _) = _in_consensus(protocol)
    job.reveal(first)
    with boa.reverts("tasks: nothing to reveal"):
        job.reveal(first)


def test_reveal__digest_not_committed__reverts(protocol) -> None:
    job, (first, _) = _in_consensus(protocol)
    with boa.reverts("tasks: reveal does not match the contribution"):
        job.reveal(first, WRONG)


def test_reveal__loser_reveals_its_own_result__reverts_not_the_consensus(protocol) -> None:
    job = open_deal(protocol, trust=3)
    wrong, *right = job.crew(4)
    job.contribute(wrong, WRONG)
    for worker in right:
        job.contribute(worker)
    with boa.reverts("tasks: result is not the consensus"):
        job.reveal(wrong, WRONG)


# The "contribution rejected" reason needs a reopen: see test_tasks_claim.py.


# -- views -----------------------------------------------------------------------------


def test_task__never_touched__all_zero(protocol) -> None:
    job = open_deal(protocol, trust=3)
    assert tuple(job.hub.task(job.deal_id, 0)) == (UNSET, 0, 0, 0, 0, b"\0" * 32)
    assert tuple(job.hub.task(keccak(text="nothing"), 7)) == (UNSET, 0, 0, 0, 0, b"\0" * 32)


def test_task__completed_in_one_call__completed_with_one_winner(protocol) -> None:
    job = open_deal(protocol, trust=1, volume=2)
    (worker,) = job.crew(1)
    job.contribute_and_finalize(worker, index=1)
    assert tuple(job.hub.task(job.deal_id, 1)) == (COMPLETED, 1, 1, 0, 0, b"\0" * 32)
    assert job.hub.task(job.deal_id, 0).status == UNSET


def test_task__active__no_reveal_deadline_and_no_winners(protocol) -> None:
    job = open_deal(protocol, trust=3)
    (worker,) = job.crew(1)
    job.contribute(worker)
    task = job.hub.task(job.deal_id, 0)
    assert (task.winners, task.reveal_deadline) == (0, 0)


def test_contribution__nobody__all_zero(protocol) -> None:
    job = open_deal(protocol, trust=3)
    stranger = protocol.actors["stranger"]
    assert tuple(job.hub.contribution(job.task_id(), stranger.address)) == (0, 0, 0)


def test_result_for__task_without_callback__empty(protocol) -> None:
    job = open_deal(protocol, trust=1)
    (worker,) = job.crew(1)
    job.contribute_and_finalize(worker)
    assert job.hub.result_for(job.task_id()) == b""
    assert job.hub.result_for(keccak(text="no task")) == b""


def test_score_of__fresh_worker__zero_and_weight_two(protocol) -> None:
    job = open_deal(protocol, trust=3)
    (worker,) = job.crew(1)
    assert job.hub.score_of(worker.address) == 0
    job.contribute(worker)
    assert job.hub.contribution(job.task_id(), worker.address).weight == 2


def test_score_of__after_replicated_wins__one_per_win(protocol) -> None:
    job = open_deal(protocol, trust=3)
    veteran = job.worker("veteran")
    partner = train(job, veteran, 3)
    assert protocol.hub.score_of(veteran.address) == 3
    assert protocol.hub.score_of(partner.address) == 3
    job.assert_conserved()


# -- TEE_BROKER ------------------------------------------------------------------------
# The broker is fixed at deployment (tasks.vy: an owner able to swap it could forge enclave
# tasks); there is no setter.


def test_tee_broker__default_hub__none(protocol) -> None:
    assert protocol.hub.TEE_BROKER() == ZERO
    assert not any(e.get("name") == "set_tee_broker" for e in protocol.hub.abi)


def test_tee_broker__hub_deployed_with_a_broker__reports_it(broker_protocol) -> None:
    protocol, broker = broker_protocol
    assert protocol.hub.TEE_BROKER() == broker.address


# -- every revert reason has a test ----------------------------------------------------

# Reasons no test can reach, with why.
UNREACHABLE = {
    # `round <= 255` after the increment. A reopen needs a consensus, which only a
    # contribution makes, and the reveal window (2C) of that consensus to be over before
    # the final deadline (10C), while contributions end at 7C: consensuses at ~0, 2C, 4C
    # and 6C, so 4 reopens at most (and 8 by the contributor bound), never 256.
    "tasks: too many reopens",
}


def test_every_revert_reason_of_tasks_vy__has_a_test() -> None:
    source = (CONTRACTS / "hub/tasks.vy").read_text()
    reasons = set(re.findall(r'"(tasks: [^"]+)"', source))
    assert len(reasons) > 30
    tests = "".join(path.read_text() for path in sorted(HERE.glob("test_tasks*.py")))
    tests = re.sub(r"boa\.reverts\(\s*", "boa.reverts(", tests)
    missing = {r for r in reasons - UNREACHABLE if f'boa.reverts("{r}")' not in tests}
    assert not missing
    assert reasons >= UNREACHABLE
