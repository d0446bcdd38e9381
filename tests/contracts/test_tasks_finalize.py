"""finalize and contribute_and_finalize (contracts/hub/tasks.vy, PROTOCOL.md A5, A6, B2):
who may finalize when, where the money goes (checked against
veritask.domain.tasks.success_payout for every party), scores, callbacks
(receiveResult, failing and gas-burning callees, the gas floor) and the one-call path with
and without an enclave. Every test ends with the hub's conservation check."""

from __future__ import annotations

import boa
import pytest
from eth_utils import keccak, to_canonical_address

from tests.contracts.lifecycle_support import (
    COMPLETED,
    CONTRIBUTED,
    CONTRIBUTION_WINDOW,
    DIGEST,
    FINAL_WINDOW,
    PROVED,
    RESULTS,
    REVEAL_WINDOW,
    REVEALING,
    RLC,
    UNSET,
    WRONG,
    by_address,
    changes,
    deploy_result_store,
    event_names,
    events_named,
    expected_success,
    fixture_broker_protocol,  # noqa: F401 (the fixture broker_protocol)
    fixture_broker_session,  # noqa: F401 (the fixture broker_session)
    open_deal,
    train,
)
from tests.support import make_actor
from veritask.domain.tasks import CALLBACK_GAS

ORACLE_DATA = b'{"price": 42}'


def _agreed(protocol, trust: int = 3, count: int = 2, **deal):
    """A deal whose first task reached consensus on DIGEST with `count` fresh workers."""
    job = open_deal(protocol, trust=trust, **deal)
    workers = job.crew(count)
    for worker in workers:
        job.contribute(worker)
    return job, workers


def _all_revealed(protocol, **deal):
    job, workers = _agreed(protocol, **deal)
    for worker in workers:
        job.reveal(worker)
    return job, workers


# -- finalize: who, when, and the money ------------------------------------------------


def test_finalize__scheduler_after_every_reveal__everyone_paid(protocol) -> None:
    job, (first, second) = _all_revealed(protocol)
    consensus = job.hub.task(job.deal_id, 0).consensus
    before = job.accounts()

    job.finalize(job.scheduler)

    logs = job.hub.get_logs()
    assert event_names(logs) == ["TaskFinalize"]
    assert (logs[0].task_id, logs[0].digest, logs[0].results) == (job.task_id(), DIGEST, RESULTS)
    task = job.hub.task(job.deal_id, 0)
    assert (task.status, task.contributors, task.winners) == (COMPLETED, 2, 2)
    assert task.consensus == consensus
    expected = expected_success(job, before, winners=[first, second])
    assert changes(before, job.accounts()) == expected
    # 5 RLC: 99 % to the two winners, 1 % to the scheduler; each stake (1.5 RLC) back.
    assert expected[first.name] == (1_500_000_000 + 2_475_000_000, -1_500_000_000, 1)
    assert expected["scheduler"] == (1_500_000_000 + 50_000_000, -1_500_000_000, 0)
    assert job.hub.result_for(job.task_id()) == b""
    job.assert_conserved()


def test_finalize__last_winner_reveals_in_its_own_call__paid_as_winner(protocol) -> None:
    job, (first, second) = _agreed(protocol)
    job.reveal(first)
    before = job.accounts()

    job.finalize(second)

    logs = job.hub.get_logs()
    assert event_names(logs) == ["TaskReveal", "TaskFinalize"]
    assert (logs[0].worker, logs[0].digest) == (second.address, DIGEST)
    assert job.hub.contribution(job.task_id(), second.address).status == PROVED
    assert job.hub.task(job.deal_id, 0).status == COMPLETED
    assert changes(before, job.accounts()) == expected_success(job, before, [first, second])
    job.assert_conserved()


def test_finalize__single_winner_trust_1__reveals_and_finalizes_in_one_call(protocol) -> None:
    job, (worker,) = _agreed(protocol, trust=1, count=1)
    before = job.accounts()

    job.finalize(worker)

    assert event_names(job.hub.get_logs()) == ["TaskReveal", "TaskFinalize"]
    assert changes(before, job.accounts()) == expected_success(job, before, [worker])
    job.assert_conserved()


def test_finalize__a_winner_after_the_reveal_window__one_reveal_is_enough(protocol) -> None:
    # PROTOCOL.md B2: nobody waits for a vanished scheduler.
    job, (first, second) = _agreed(protocol)
    job.reveal(first)
    boa.env.time_travel(seconds=REVEAL_WINDOW + 1)
    before = job.accounts()

    job.finalize(first)

    assert event_names(job.hub.get_logs()) == ["TaskFinalize"]
    assert job.hub.task(job.deal_id, 0).status == COMPLETED
    expected = expected_success(job, before, winners=[first], losers=[second])
    assert changes(before, job.accounts()) == expected
    # The silent winner's stake went to the pot: 99 % of 6.5 RLC to the revealer.
    assert expected[first.name][0] == job.stake + 6_500_000_000 * 99 // 100
    assert expected[second.name] == (0, -job.stake, 0)
    job.assert_conserved()


def test_finalize__stranger_after_the_reveal_window__reverts(protocol) -> None:
    # Security M2 (exploit): after the reveal deadline a stranger finalized with a bogus
    # result pointer, and the scheduler's own finalize then reverted. Only the scheduler
    # or a winner that revealed gives the pointer now.
    job, (first, _) = _agreed(protocol)
    job.reveal(first)
    boa.env.time_travel(seconds=REVEAL_WINDOW + 1)

    with boa.reverts("tasks: only the scheduler or a winner may finalize"):
        job.finalize(protocol.actors["stranger"], results=b'{"storage": "bogus"}')
    assert job.hub.task(job.deal_id, 0).status == REVEALING

    job.finalize(job.scheduler)
    assert job.hub.task(job.deal_id, 0).status == COMPLETED
    job.assert_conserved()


def test_finalize__silent_winner_after_the_window__cannot_reveal_in_finalize(protocol) -> None:
    job, (first, second) = _agreed(protocol)
    job.reveal(first)
    boa.env.time_travel(seconds=REVEAL_WINDOW + 1)
    before = job.accounts()

    # Too late to reveal, so not a winner: it may not finalize either.
    with boa.reverts("tasks: only the scheduler or a winner may finalize"):
        job.finalize(second)
    job.finalize(first)

    assert event_names(job.hub.get_logs()) == ["TaskFinalize"]  # no TaskReveal
    assert job.hub.contribution(job.task_id(), second.address).status == CONTRIBUTED
    expected = expected_success(job, before, winners=[first], losers=[second])
    assert changes(before, job.accounts()) == expected
    job.assert_conserved()


def test_finalize__one_wrong_worker__loses_its_stake_and_a_third_of_its_score(protocol) -> None:
    job = open_deal(protocol, trust=3)
    wrong, *right = job.crew(4)
    train(job, wrong, 3)  # score 3, still weight 2
    job.contribute(wrong, WRONG)
    for worker in right:
        job.contribute(worker)
    for worker in right:
        job.reveal(worker)
    before = job.accounts()
    assert before[wrong.name][2] == 3

    job.finalize(job.scheduler)

    expected = expected_success(job, before, winners=right, losers=[wrong])
    assert changes(before, job.accounts()) == expected
    assert expected[wrong.name] == (0, -job.stake, -1)  # score 3 → 2
    assert job.hub.score_of(wrong.address) == 2
    # The pot is 5 + 1.5 RLC: three equal shares of 99 % of it.
    assert expected[right[0].name][0] == job.stake + 6_500_000_000 * 99 // 100 // 3
    assert all(job.hub.score_of(w.address) == 1 for w in right)
    job.assert_conserved()


def test_finalize__winners_of_different_weights__paid_pro_rata_to_log2(protocol) -> None:
    # Score 15: weight 4, reward weight 2; fresh: weight 2, reward weight 1. At trust 5
    # neither is enough alone (4 × 5 > 5 × 4 fails), both are (8 × 5 > 9 × 4).
    job = open_deal(protocol, trust=5)
    veteran, fresh = job.worker("veteran"), job.worker("fresh")
    train(job, veteran, 15)
    job.contribute(veteran)
    assert job.hub.task(job.deal_id, 0).status != REVEALING
    job.contribute(fresh)
    job.reveal(veteran)
    before = job.accounts()

    job.finalize(fresh)

    expected = expected_success(job, before, winners=[veteran, fresh])
    assert changes(before, job.accounts()) == expected
    workers_pot = 5 * RLC * 99 // 100
    assert expected[veteran.name][0] == job.stake + workers_pot * 2 // 3
    assert expected[fresh.name][0] == job.stake + workers_pot * 1 // 3
    assert job.hub.score_of(veteran.address) == 16
    job.assert_conserved()


def test_finalize__single_contributor__no_score_gain(protocol) -> None:
    job = open_deal(protocol, trust=1)
    worker = job.worker("solo")
    train(job, worker, 3)
    job.contribute(worker)
    before = job.accounts()

    job.finalize(worker)

    expected = expected_success(job, before, [worker])
    assert changes(before, job.accounts()) == expected
    assert expected[worker.name][2] == 0
    assert job.hub.score_of(worker.address) == 3
    job.assert_conserved()


def test_finalize__policy_of_the_match__snapshot_applied(protocol) -> None:
    # Worker stake 50 %, scheduler reward 20 %; a policy change after the match is ignored.
    job = open_deal(protocol, trust=3, policy=(50, 20))
    with boa.env.prank(job.scheduler.address):
        protocol.workerpools.change_policy(job.market.workerpool, 10, 90)
    assert job.stake == 5 * RLC // 2
    first, second = job.worker("a", funds=3 * RLC), job.worker("b", funds=3 * RLC)
    for worker in (first, second):
        job.contribute(worker)
    job.reveal(first)
    before = job.accounts()
    assert before[first.name][:2] == (RLC // 2, 5 * RLC // 2)

    job.finalize(second)

    expected = expected_success(job, before, [first, second])
    assert changes(before, job.accounts()) == expected
    assert expected[first.name][0] == job.stake + 2 * RLC  # 80 % of 5 RLC, halved
    assert expected["scheduler"][0] == job.scheduler_stake + RLC
    job.assert_conserved()


def test_finalize__deal_without_dataset__dataset_owner_unpaid(protocol) -> None:
    job, workers = _all_revealed(protocol, with_dataset=False)
    assert job.deal.dataset_price == 0
    before = job.accounts()

    job.finalize(job.scheduler)

    expected = expected_success(job, before, workers)
    assert changes(before, job.accounts()) == expected
    assert "dataset_owner" not in expected
    assert expected["requester"] == (0, -8 * RLC, 0)
    job.assert_conserved()


def test_finalize__free_app_and_dataset__only_workers_and_scheduler_paid(protocol) -> None:
    job, workers = _all_revealed(protocol, app_price=0, dataset_price=0)
    before = job.accounts()

    job.finalize(job.scheduler)

    expected = expected_success(job, before, workers)
    assert changes(before, job.accounts()) == expected
    assert "app_owner" not in expected
    assert "dataset_owner" not in expected
    job.assert_conserved()


def test_finalize__one_task_of_a_bag__others_untouched(protocol) -> None:
    job = open_deal(protocol, trust=1, volume=3)
    (worker,) = job.crew(1)
    job.contribute(worker, index=1)
    before = job.accounts()

    job.finalize(worker, index=1)

    assert job.hub.get_logs()[-1].task_id == job.task_id(1)
    assert job.hub.task(job.deal_id, 1).status == COMPLETED
    assert job.hub.task(job.deal_id, 0).status == UNSET
    assert job.hub.task(job.deal_id, 2).status == UNSET
    assert changes(before, job.accounts()) == expected_success(job, before, [worker])
    assert job.hub.frozen_of(job.requester.address) == 2 * job.price
    job.assert_conserved()


def test_finalize__just_before_the_final_deadline__accepted(protocol) -> None:
    job = open_deal(protocol, trust=3)
    first, second = job.crew(2)
    job.travel_to(CONTRIBUTION_WINDOW - 1)
    job.contribute(first)
    job.contribute(second)
    job.reveal(first)
    job.travel_to(FINAL_WINDOW - 1)  # the reveal window is over too

    job.finalize(job.scheduler)

    assert job.hub.task(job.deal_id, 0).status == COMPLETED
    job.assert_conserved()


# -- finalize: callbacks ---------------------------------------------------------------


def _callback_job(protocol, mode: int):
    store = deploy_result_store(mode)
    job = open_deal(protocol, trust=1, callback=store.address)
    (worker,) = job.crew(1)
    job.contribute(worker, keccak(ORACLE_DATA))
    return job, worker, store


def test_finalize__callback_deal__receive_result_called_with_the_data(protocol) -> None:
    job, worker, store = _callback_job(protocol, mode=0)
    before = job.accounts()

    job.finalize(worker, keccak(ORACLE_DATA), callback_data=ORACLE_DATA)

    assert event_names(job.hub.get_logs()) == ["TaskReveal", "TaskFinalize"]
    assert store.results(job.task_id()) == ORACLE_DATA
    assert store.calls() == 1
    assert job.hub.result_for(job.task_id()) == ORACLE_DATA
    assert changes(before, job.accounts()) == expected_success(job, before, [worker])
    job.assert_conserved()


@pytest.mark.parametrize("mode", [1, 2], ids=["reverting", "gas-burning"])
def test_finalize__failing_callback__task_completed_and_everyone_paid(protocol, mode) -> None:
    job, worker, store = _callback_job(protocol, mode=mode)
    before = job.accounts()

    job.finalize(worker, keccak(ORACLE_DATA), callback_data=ORACLE_DATA)

    logs = job.hub.get_logs()
    assert event_names(logs) == ["TaskReveal", "TaskFinalize", "CallbackFailed"]
    failed = events_named(logs, "CallbackFailed")[0]
    assert (failed.task_id, failed.callback) == (job.task_id(), store.address)
    assert job.hub.task(job.deal_id, 0).status == COMPLETED
    assert store.calls() == 0
    assert job.hub.result_for(job.task_id()) == ORACLE_DATA  # the pull oracle still has it
    assert changes(before, job.accounts()) == expected_success(job, before, [worker])
    job.assert_conserved()


def _lowest_gas(call) -> int:
    """The lowest gas limit with which `call(gas)` succeeds (each try reverted)."""
    low, high = 21_000, 2_000_000
    while high - low > 1:
        middle = (low + high) // 2
        with boa.env.anchor():
            try:
                call(middle)
                ok = True
            except boa.BoaError:
                ok = False
        low, high = (low, middle) if ok else (middle, high)
    return high


def test_finalize__lowest_gas_that_passes__callback_gets_its_whole_allowance(protocol) -> None:
    # A gas-burning callee takes every unit it is given: at the lowest gas limit the hub
    # accepts, it must still be handed CALLBACK_GAS, never less (A5: no starving).
    job, worker, store = _callback_job(protocol, mode=2)

    def finalize(gas: int) -> None:
        job.finalize(worker, keccak(ORACLE_DATA), callback_data=ORACLE_DATA, gas=gas)

    gas = _lowest_gas(finalize)
    with boa.reverts("tasks: not enough gas for the callback"):
        finalize(gas - 1)
    finalize(gas)
    computation = job.hub._computation
    callee_address = to_canonical_address(store.address)
    (callee,) = [c for c in computation.children if c.msg.storage_address == callee_address]
    assert callee.msg.gas == CALLBACK_GAS
    assert event_names(job.hub.get_logs())[-1] == "CallbackFailed"
    assert job.hub.task(job.deal_id, 0).status == COMPLETED


def test_finalize__too_little_gas_for_the_callback__reverts(protocol) -> None:
    job, worker, _ = _callback_job(protocol, mode=0)
    with boa.reverts("tasks: not enough gas for the callback"):
        job.finalize(worker, keccak(ORACLE_DATA), callback_data=ORACLE_DATA, gas=200_000)
    assert job.hub.task(job.deal_id, 0).status == REVEALING


# -- finalize: reverts -----------------------------------------------------------------


def test_finalize__index_out_of_the_deal__reverts(protocol) -> None:
    job, _ = _all_revealed(protocol)
    with boa.reverts("tasks: index out of the deal"):
        job.finalize(job.scheduler, index=1)


def test_finalize__task_still_active__reverts(protocol) -> None:
    job, _ = _agreed(protocol, count=1)
    with boa.reverts("tasks: task not revealing"):
        job.finalize(job.scheduler)


def test_finalize__already_completed__reverts_not_revealing(protocol) -> None:
    job, _ = _all_revealed(protocol)
    job.finalize(job.scheduler)
    with boa.reverts("tasks: task not revealing"):
        job.finalize(job.scheduler)


def test_finalize__at_the_final_deadline__reverts(protocol) -> None:
    job, _ = _all_revealed(protocol)
    job.travel_to(FINAL_WINDOW)
    with boa.reverts("tasks: final deadline passed"):
        job.finalize(job.scheduler)


def test_finalize__digest_not_the_consensus__reverts(protocol) -> None:
    job, _ = _all_revealed(protocol)
    with boa.reverts("tasks: digest is not the consensus"):
        job.finalize(job.scheduler, WRONG)


def test_finalize__callback_data_without_a_callback__reverts(protocol) -> None:
    job, _ = _all_revealed(protocol)
    with boa.reverts("tasks: callback data without a callback"):
        job.finalize(job.scheduler, callback_data=b"\x01")


def test_finalize__callback_data_not_hashing_to_the_digest__reverts(protocol) -> None:
    job, worker, _ = _callback_job(protocol, mode=0)
    with boa.reverts("tasks: callback data does not match the digest"):
        job.finalize(worker, keccak(ORACLE_DATA), callback_data=ORACLE_DATA + b" ")


@pytest.mark.parametrize("wrong", ["one missing", "one extra"])
def test_finalize__wrong_contributor_count__reverts(protocol, wrong) -> None:
    job, workers = _all_revealed(protocol)
    contributors = by_address(workers)
    if wrong == "one missing":
        contributors = contributors[:1]
    else:
        contributors = by_address([*workers, protocol.actors["stranger"]])
    with boa.reverts("tasks: wrong contributor count"):
        job.finalize(job.scheduler, contributors=contributors)


@pytest.mark.parametrize("wrong", ["reversed", "duplicated"])
def test_finalize__contributors_not_sorted__reverts(protocol, wrong) -> None:
    job, workers = _all_revealed(protocol)
    low, high = by_address(workers)
    contributors = [high, low] if wrong == "reversed" else [high, high]
    with boa.reverts("tasks: contributors not sorted"):
        job.finalize(job.scheduler, contributors=contributors)


def test_finalize__stranger_in_the_contributor_list__reverts(protocol) -> None:
    job, workers = _all_revealed(protocol)
    stranger = protocol.actors["stranger"]
    contributors = by_address([workers[0], stranger])
    with boa.reverts("tasks: not a contributor"):
        job.finalize(job.scheduler, contributors=contributors)


@pytest.mark.parametrize("when", ["in the window", "after the window"])
def test_finalize__nobody_revealed__reverts(protocol, when) -> None:
    job, _ = _agreed(protocol)
    if when == "after the window":
        boa.env.time_travel(seconds=REVEAL_WINDOW + 1)
    with boa.reverts("tasks: nobody revealed"):
        job.finalize(job.scheduler)


def test_finalize__stranger_in_the_reveal_window__reverts(protocol) -> None:
    job, _ = _all_revealed(protocol)
    with boa.reverts("tasks: reveal window still open"):
        job.finalize(protocol.actors["stranger"])


def test_finalize__scheduler_while_a_winner_has_not_revealed__reverts(protocol) -> None:
    job, (first, _) = _agreed(protocol)
    job.reveal(first)
    with boa.reverts("tasks: winners still revealing"):
        job.finalize(job.scheduler)


def test_finalize__winner_revealing_in_its_call_while_another_is_silent__reverts(
    protocol,
) -> None:
    job, (_, second, _third) = _agreed(protocol, trust=5, count=3)
    job.reveal(job.workers[0])
    with boa.reverts("tasks: winners still revealing"):
        job.finalize(second)


# -- contribute_and_finalize -----------------------------------------------------------


def test_contribute_and_finalize__trust_1__paid_without_stake(protocol) -> None:
    job = open_deal(protocol, trust=1)
    worker = job.worker("unfunded", funds=0)
    before = job.accounts()

    job.contribute_and_finalize(worker)

    logs = job.hub.get_logs()
    assert event_names(logs) == ["TaskFinalize"]
    assert (logs[0].task_id, logs[0].digest, logs[0].results) == (job.task_id(), DIGEST, RESULTS)
    expected = expected_success(job, before, [worker], one_call=worker)
    assert changes(before, job.accounts()) == expected
    assert expected[worker.name] == (5 * RLC * 99 // 100, 0, 0)
    assert tuple(job.hub.task(job.deal_id, 0))[:3] == (COMPLETED, 1, 1)
    assert tuple(job.hub.contribution(job.task_id(), worker.address)) == (0, 0, 0)
    job.assert_conserved()


def test_contribute_and_finalize__tee_with_enclave__paid(protocol) -> None:
    job = open_deal(protocol, trust=1, tee=True)
    worker = job.worker("tee", funds=0)
    enclave = make_actor("enclave")
    before = job.accounts()

    job.contribute_and_finalize(worker, enclave=enclave)

    assert event_names(job.hub.get_logs()) == ["TaskFinalize"]
    assert job.hub.task(job.deal_id, 0).status == COMPLETED
    expected = expected_success(job, before, [worker], one_call=worker)
    assert changes(before, job.accounts()) == expected
    job.assert_conserved()


def test_contribute_and_finalize__tee_broker_authorization__paid(broker_protocol) -> None:
    protocol, broker = broker_protocol
    job = open_deal(protocol, trust=1, tee=True)
    worker = job.worker("tee", funds=0)
    enclave = make_actor("enclave")
    before = job.accounts()

    auth = job.authorize(worker, enclave=enclave.address, signer=broker)
    job.contribute_and_finalize(worker, enclave=enclave, auth=auth)

    assert event_names(job.hub.get_logs()) == ["TaskFinalize"]
    expected = expected_success(job, before, [worker], one_call=worker)
    assert changes(before, job.accounts()) == expected
    job.assert_conserved()


def test_contribute_and_finalize__callback_deal__result_delivered(protocol) -> None:
    store = deploy_result_store(0)
    job = open_deal(protocol, trust=1, callback=store.address)
    (worker,) = job.crew(1)

    job.contribute_and_finalize(worker, keccak(ORACLE_DATA), callback_data=ORACLE_DATA)

    assert event_names(job.hub.get_logs()) == ["TaskFinalize"]
    assert store.results(job.task_id()) == ORACLE_DATA
    assert job.hub.result_for(job.task_id()) == ORACLE_DATA
    job.assert_conserved()


def test_contribute_and_finalize__reverting_callback__completed_anyway(protocol) -> None:
    store = deploy_result_store(1)
    job = open_deal(protocol, trust=1, callback=store.address)
    (worker,) = job.crew(1)
    before = job.accounts()

    job.contribute_and_finalize(worker, keccak(ORACLE_DATA), callback_data=ORACLE_DATA)

    assert event_names(job.hub.get_logs()) == ["TaskFinalize", "CallbackFailed"]
    assert job.hub.task(job.deal_id, 0).status == COMPLETED
    assert changes(before, job.accounts()) == expected_success(
        job, before, [worker], one_call=worker
    )
    job.assert_conserved()


def test_contribute_and_finalize__one_task_of_a_bag__others_still_open(protocol) -> None:
    job = open_deal(protocol, trust=1, volume=3)
    first, second = job.crew(2)

    job.contribute_and_finalize(first, index=1)

    assert [job.hub.task(job.deal_id, i).status for i in range(3)] == [UNSET, COMPLETED, UNSET]
    job.contribute_and_finalize(second, index=0)
    job.contribute(first, index=2)
    assert [job.hub.task(job.deal_id, i).status for i in range(3)] == [
        COMPLETED,
        COMPLETED,
        REVEALING,
    ]
    job.assert_conserved()


def test_contribute_and_finalize__index_out_of_the_deal__reverts(protocol) -> None:
    job = open_deal(protocol, trust=1)
    (worker,) = job.crew(1)
    with boa.reverts("tasks: index out of the deal"):
        job.contribute_and_finalize(worker, index=1)


def test_contribute_and_finalize__trust_above_1__reverts(protocol) -> None:
    job = open_deal(protocol, trust=2)
    (worker,) = job.crew(1)
    with boa.reverts("tasks: one-call path needs trust 1"):
        job.contribute_and_finalize(worker)


@pytest.mark.parametrize("first_call", ["contribute_and_finalize", "contribute"])
def test_contribute_and_finalize__task_already_started__reverts(protocol, first_call) -> None:
    job = open_deal(protocol, trust=1)
    first, second = job.crew(2)
    getattr(job, first_call)(first)
    with boa.reverts("tasks: task already started"):
        job.contribute_and_finalize(second)


def test_contribute_and_finalize__after_the_contribution_deadline__reverts(protocol) -> None:
    job = open_deal(protocol, trust=1)
    (worker,) = job.crew(1)
    job.travel_to(CONTRIBUTION_WINDOW)
    with boa.reverts("tasks: contribution deadline passed"):
        job.contribute_and_finalize(worker)


def test_contribute_and_finalize__tee_deal_without_enclave__reverts(protocol) -> None:
    job = open_deal(protocol, trust=1, tee=True)
    (worker,) = job.crew(1)
    with boa.reverts("tasks: enclave required"):
        job.contribute_and_finalize(worker)


@pytest.mark.parametrize("signer", ["requester", "worker"])
def test_contribute_and_finalize__not_authorized__reverts(protocol, signer) -> None:
    job = open_deal(protocol, trust=1)
    (worker,) = job.crew(1)
    actor = worker if signer == "worker" else protocol.actors[signer]
    with boa.reverts("tasks: invalid authorization"):
        job.contribute_and_finalize(worker, auth=job.authorize(worker, signer=actor))


def test_contribute_and_finalize__scheduler_vouches_for_an_enclave_under_a_broker__reverts(
    broker_protocol,
) -> None:
    protocol, _ = broker_protocol
    job = open_deal(protocol, trust=1, tee=True)
    (worker,) = job.crew(1)
    with boa.reverts("tasks: invalid authorization"):
        job.contribute_and_finalize(worker, enclave=make_actor("enclave"))


def test_contribute_and_finalize__enclave_signed_another_digest__reverts(protocol) -> None:
    job = open_deal(protocol, trust=1, tee=True)
    (worker,) = job.crew(1)
    enclave = make_actor("enclave")
    signed_wrong = job.enclave_sign(enclave, worker, WRONG)
    with boa.reverts("tasks: invalid enclave signature"):
        job.contribute_and_finalize(worker, enclave=enclave, enclave_sign=signed_wrong)


def test_contribute_and_finalize__callback_data_without_a_callback__reverts(protocol) -> None:
    job = open_deal(protocol, trust=1)
    (worker,) = job.crew(1)
    with boa.reverts("tasks: callback data without a callback"):
        job.contribute_and_finalize(worker, callback_data=b"x")


def test_contribute_and_finalize__callback_data_not_the_digest__reverts(protocol) -> None:
    store = deploy_result_store(0)
    job = open_deal(protocol, trust=1, callback=store.address)
    (worker,) = job.crew(1)
    with boa.reverts("tasks: callback data does not match the digest"):
        job.contribute_and_finalize(worker, DIGEST, callback_data=ORACLE_DATA)


def test_contribute_and_finalize__too_little_gas_for_the_callback__reverts(protocol) -> None:
    store = deploy_result_store(0)
    job = open_deal(protocol, trust=1, callback=store.address)
    (worker,) = job.crew(1)
    with boa.reverts("tasks: not enough gas for the callback"):
        job.contribute_and_finalize(
            worker, keccak(ORACLE_DATA), callback_data=ORACLE_DATA, gas=200_000
        )
