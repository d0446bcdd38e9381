"""reopen and claim (contracts/hub/tasks.vy, PROTOCOL.md A5, B2): a consensus nobody
revealed is rejected and the task goes on with other workers; after the final deadline
anyone fails a deal's tasks, started or not, several in one call: the requester is
refunded, the workers get their stakes back, and the scheduler gets its stake back for a
task its workers contributed to, or loses it to the requester for a task nobody touched.
Every scenario ends with the hub's conservation check."""

from __future__ import annotations

from dataclasses import replace

import boa
import pytest
from eth_utils import keccak

from tests.contracts.lifecycle_support import (
    ACTIVE,
    COMPLETED,
    CONTRIBUTED,
    CONTRIBUTION_WINDOW,
    DIGEST,
    FAILED,
    FINAL_WINDOW,
    REVEAL_WINDOW,
    REVEALING,
    UNSET,
    WRONG,
    Job,
    by_address,
    changes,
    consensus_key,
    event_names,
    expected_success,
    open_deal,
)
from tests.support import build_market
from veritask.domain.tasks import result_hash

ZERO32 = b"\0" * 32


def _silent_consensus(protocol, trust: int = 3, count: int = 2, digest: bytes = DIGEST):
    """A task in consensus on `digest` whose winners never reveal, its window over."""
    job = open_deal(protocol, trust=trust)
    workers = job.crew(count)
    for worker in workers:
        job.contribute(worker, digest)
    boa.env.time_travel(seconds=REVEAL_WINDOW + 1)
    return job, workers


# -- reopen ----------------------------------------------------------------------------


def test_reopen__nobody_revealed__consensus_rejected_and_task_active(protocol) -> None:
    job, (first, second) = _silent_consensus(protocol)
    before = job.accounts()

    job.reopen()

    logs = job.hub.get_logs()
    assert event_names(logs) == ["TaskReopen"]
    assert logs[0].task_id == job.task_id()
    task = job.hub.task(job.deal_id, 0)
    assert (task.status, task.contributors, task.round, task.consensus) == (ACTIVE, 2, 1, ZERO32)
    for worker in (first, second):
        assert tuple(job.hub.contribution(job.task_id(), worker.address)) == (CONTRIBUTED, 2, 0)
    assert changes(before, job.accounts()) == {}  # stakes stay locked until the end
    job.assert_conserved()


def test_reopen__new_workers_agree_on_another_result__rejected_ones_lose(protocol) -> None:
    job, rejected = _silent_consensus(protocol)
    job.reopen()
    fresh = job.crew(2, prefix="new")
    for worker in fresh:
        job.contribute(worker, WRONG)

    task = job.hub.task(job.deal_id, 0)
    assert (task.status, task.contributors, task.winners, task.round) == (REVEALING, 4, 2, 1)
    assert task.consensus == consensus_key(result_hash(job.task_id(), WRONG))
    assert job.hub.contribution(job.task_id(), fresh[0].address).round == 1
    with boa.reverts("tasks: result is not the consensus"):
        job.reveal(rejected[0], DIGEST)
    with boa.reverts("tasks: reveal does not match the contribution"):
        job.reveal(rejected[0], WRONG)
    job.reveal(fresh[0], WRONG)
    before = job.accounts()

    job.finalize(fresh[1], WRONG)

    assert event_names(job.hub.get_logs()) == ["TaskReveal", "TaskFinalize"]
    expected = expected_success(job, before, winners=fresh, losers=rejected)
    assert changes(before, job.accounts()) == expected
    assert job.hub.task(job.deal_id, 0).status == COMPLETED
    job.assert_conserved()


def test_reopen__new_workers_agree_on_the_same_result__rejected_ones_cannot_reveal(
    protocol,
) -> None:
    job, rejected = _silent_consensus(protocol)
    job.reopen()
    fresh = job.crew(2, prefix="new")
    for worker in fresh:
        job.contribute(worker)
    assert job.hub.task(job.deal_id, 0).status == REVEALING

    with boa.reverts("tasks: contribution rejected"):
        job.reveal(rejected[0])
    # Nor can a rejected winner reveal through finalize: it is no winner, so it may not
    # finalize in the window either.
    job.reveal(fresh[0])
    job.reveal(fresh[1])
    with boa.reverts("tasks: reveal window still open"):
        job.finalize(rejected[1])
    before = job.accounts()

    job.finalize(job.scheduler)

    expected = expected_success(job, before, winners=fresh, losers=rejected)
    assert changes(before, job.accounts()) == expected
    job.assert_conserved()


def test_reopen__minority_group_kept__reaches_consensus_with_a_new_worker(protocol) -> None:
    # w0 says WRONG, three say DIGEST and never reveal: after the reopen WRONG is the only
    # group left, and one more WRONG makes the consensus (4 × 3 > 5 × 2).
    job = open_deal(protocol, trust=3)
    minority, *silent = job.crew(4)
    job.contribute(minority, WRONG)
    for worker in silent:
        job.contribute(worker)
    boa.env.time_travel(seconds=REVEAL_WINDOW + 1)
    job.reopen()
    newcomer = job.worker("newcomer")

    job.contribute(newcomer, WRONG)

    assert event_names(job.hub.get_logs()) == ["TaskContribute", "TaskConsensus"]
    task = job.hub.task(job.deal_id, 0)
    assert (task.status, task.contributors, task.winners, task.round) == (REVEALING, 5, 2, 1)
    job.reveal(minority, WRONG)  # a round-0 contribution of a group never rejected
    job.reveal(newcomer, WRONG)
    before = job.accounts()
    job.finalize(job.scheduler, WRONG)
    expected = expected_success(job, before, winners=[minority, newcomer], losers=silent)
    assert changes(before, job.accounts()) == expected
    job.assert_conserved()


def test_reopen__consensus_was_the_first_group__other_group_moves_into_the_task(
    protocol,
) -> None:
    # DIGEST is the task word's first group and wins (8 × 3 > 11 × 2); WRONG has a group
    # slot. After the reopen WRONG becomes the first group, its slot emptied: one more
    # WRONG then weighs 4 of a total 4, a consensus.
    job = open_deal(protocol, trust=3)
    first, odd, second, third = job.crew(4)
    job.contribute(first)
    job.contribute(odd, WRONG)
    job.contribute(second)
    assert job.hub.task(job.deal_id, 0).status == ACTIVE
    job.contribute(third)
    assert job.hub.task(job.deal_id, 0).status == REVEALING
    boa.env.time_travel(seconds=REVEAL_WINDOW + 1)
    job.reopen()
    newcomer = job.worker("newcomer")

    job.contribute(newcomer, WRONG)

    task = job.hub.task(job.deal_id, 0)
    assert (task.status, task.contributors, task.winners, task.round) == (REVEALING, 5, 2, 1)
    job.reveal(odd, WRONG)
    job.reveal(newcomer, WRONG)
    with boa.reverts("tasks: result is not the consensus"):
        job.reveal(first)
    before = job.accounts()
    job.finalize(job.scheduler, WRONG)
    expected = expected_success(job, before, winners=[odd, newcomer], losers=[first, second, third])
    assert changes(before, job.accounts()) == expected
    job.assert_conserved()


def test_reopen__twice__second_round_rejected_too(protocol) -> None:
    job, first_round = _silent_consensus(protocol)
    job.reopen()
    second_round = job.crew(2, prefix="second")
    for worker in second_round:
        job.contribute(worker, WRONG)
    boa.env.time_travel(seconds=REVEAL_WINDOW + 1)

    job.reopen()

    task = job.hub.task(job.deal_id, 0)
    assert (task.status, task.contributors, task.round) == (ACTIVE, 4, 2)
    third = job.worker("third")
    job.contribute(third)  # DIGEST again: its group was rejected in round 1, not 2
    assert job.hub.task(job.deal_id, 0).status == ACTIVE
    job.contribute(job.worker("fourth"))
    assert job.hub.task(job.deal_id, 0).status == REVEALING
    with boa.reverts("tasks: contribution rejected"):
        job.reveal(first_round[0])
    with boa.reverts("tasks: result is not the consensus"):
        job.reveal(second_round[0], WRONG)
    job.assert_conserved()


def test_reopen__trust_1__another_worker_takes_over(protocol) -> None:
    job, (silent,) = _silent_consensus(protocol, trust=1, count=1)
    job.reopen()
    taker = job.worker("taker")
    job.contribute(taker)
    assert job.hub.task(job.deal_id, 0).status == REVEALING
    before = job.accounts()

    job.finalize(taker)

    expected = expected_success(job, before, winners=[taker], losers=[silent])
    assert changes(before, job.accounts()) == expected
    assert expected[taker.name][2] == 1  # two contributors: a replicated task
    job.assert_conserved()


def test_reopen__index_out_of_the_deal__reverts(protocol) -> None:
    job, _ = _silent_consensus(protocol)
    with boa.reverts("tasks: index out of the deal"):
        job.reopen(index=1)


def test_reopen__task_active__reverts(protocol) -> None:
    job = open_deal(protocol, trust=3)
    (worker,) = job.crew(1)
    job.contribute(worker)
    with boa.reverts("tasks: task not revealing"):
        job.reopen()


def test_reopen__at_the_reveal_deadline__reverts_window_still_open(protocol) -> None:
    job = open_deal(protocol, trust=3)
    for worker in job.crew(2):
        job.contribute(worker)
    deadline = job.hub.task(job.deal_id, 0).reveal_deadline
    boa.env.time_travel(seconds=deadline - boa.env.evm.patch.timestamp)
    with boa.reverts("tasks: reveal window still open"):
        job.reopen()
    boa.env.time_travel(seconds=1)
    job.reopen()
    assert job.hub.task(job.deal_id, 0).status == ACTIVE


def test_reopen__at_the_final_deadline__reverts(protocol) -> None:
    job, _ = _silent_consensus(protocol)
    job.travel_to(FINAL_WINDOW)
    with boa.reverts("tasks: final deadline passed"):
        job.reopen()


def test_reopen__a_winner_revealed__reverts(protocol) -> None:
    job = open_deal(protocol, trust=3)
    first, second = job.crew(2)
    job.contribute(first)
    job.contribute(second)
    job.reveal(second)
    boa.env.time_travel(seconds=REVEAL_WINDOW + 1)
    with boa.reverts("tasks: a winner revealed"):
        job.reopen()


def test_reopen__contributor_missing__reverts(protocol) -> None:
    job, workers = _silent_consensus(protocol)
    with boa.reverts("tasks: wrong contributor count"):
        job.reopen(by_address(workers)[:1])


def test_reopen__contributors_unsorted__reverts(protocol) -> None:
    job, workers = _silent_consensus(protocol)
    with boa.reverts("tasks: contributors not sorted"):
        job.reopen(by_address(workers)[::-1])


def test_reopen__stranger_listed__reverts(protocol) -> None:
    job, workers = _silent_consensus(protocol)
    listed = by_address([workers[0], protocol.actors["stranger"]])
    with boa.reverts("tasks: not a contributor"):
        job.reopen(listed)


# -- claim -----------------------------------------------------------------------------


def test_claim__after_the_final_deadline__every_kind_of_task_refunded(protocol) -> None:
    # Task 0 never started, 1 active, 2 in consensus with a reveal; 3 is claimed later.
    job = open_deal(protocol, trust=3, volume=4)
    active, winner, silent = job.crew(3)
    job.contribute(active, index=1)
    job.contribute(winner, index=2)
    job.contribute(silent, index=2)
    job.reveal(winner, index=2)
    job.travel_to(FINAL_WINDOW)
    before = job.accounts()

    job.claim([0, 1, 2], [active.address, *by_address([winner, silent])])

    logs = job.hub.get_logs()
    assert event_names(logs) == ["TaskClaimed"] * 3
    assert [log.task_id for log in logs] == [job.task_id(i) for i in range(3)]
    assert [job.hub.task(job.deal_id, i).status for i in range(4)] == [FAILED] * 3 + [UNSET]
    # Task 0, which nobody touched, costs the scheduler its stake, paid to the requester;
    # tasks 1 and 2 had contributions: their stakes come back to the scheduler.
    refund, stakes = 3 * job.price, 3 * job.scheduler_stake
    stake = (job.stake, -job.stake, 0)
    assert changes(before, job.accounts()) == {
        "requester": (refund + job.scheduler_stake, -refund, 0),
        "scheduler": (stakes - job.scheduler_stake, -stakes, 0),
        active.name: stake,
        winner.name: stake,
        silent.name: stake,
    }
    job.assert_conserved()

    job.claim([3])

    assert event_names(job.hub.get_logs()) == ["TaskClaimed"]
    assert job.hub.frozen_of(job.requester.address) == 0
    assert job.hub.frozen_of(job.scheduler.address) == 0
    job.assert_conserved()


def test_claim__exactly_at_the_final_deadline__accepted(protocol) -> None:
    job = open_deal(protocol, trust=3)
    job.travel_to(FINAL_WINDOW - 1)
    with boa.reverts("tasks: final deadline not reached"):
        job.claim([0])
    boa.env.time_travel(seconds=1)
    job.claim([0])
    assert job.hub.task(job.deal_id, 0).status == FAILED


def test_claim__trust_1_task_contributed_but_not_finalized__refunded(protocol) -> None:
    job = open_deal(protocol, trust=1)
    (worker,) = job.crew(1)
    job.contribute(worker)
    job.travel_to(FINAL_WINDOW)
    before = job.accounts()

    job.claim([0], [worker.address])

    assert changes(before, job.accounts()) == {
        "requester": (job.price, -job.price, 0),
        "scheduler": (job.scheduler_stake, -job.scheduler_stake, 0),
        worker.name: (job.stake, -job.stake, 0),
    }
    job.assert_conserved()


def test_claim__reopened_task__every_stake_unlocked(protocol) -> None:
    job, rejected = _silent_consensus(protocol)
    job.reopen()
    fresh = job.worker("fresh")
    job.contribute(fresh, WRONG)
    job.travel_to(FINAL_WINDOW)
    before = job.accounts()

    job.claim([0], by_address([*rejected, fresh]))

    delta = changes(before, job.accounts())
    for worker in (*rejected, fresh):
        assert delta[worker.name] == (job.stake, -job.stake, 0)
    job.assert_conserved()


def test_claim__empty_index_list__changes_nothing(protocol) -> None:
    job = open_deal(protocol, trust=3)
    job.travel_to(FINAL_WINDOW)
    before = job.accounts()
    job.claim([])
    assert job.hub.get_logs() == []
    assert changes(before, job.accounts()) == {}


def test_claim__second_deal_of_a_request__its_own_indices_only(protocol) -> None:
    # A request of volume 3 meets orders of volume 2, then new ones: the second deal's
    # bag is index 2 alone (bot_first = the request volume used before).
    market = build_market(protocol, volume=2)
    market = replace(market, request_order=replace(market.request_order, volume=3))
    first = Job(protocol, market, market.match())
    salt = keccak(text="second orders")
    market = replace(
        market,
        app_order=replace(market.app_order, salt=salt),
        dataset_order=replace(market.dataset_order, salt=salt),
        workerpool_order=replace(market.workerpool_order, salt=salt),
    )
    second = Job(protocol, market, market.match())
    assert (second.deal.bot_first, second.deal.bot_size) == (2, 1)
    (worker,) = second.crew(1)
    second.contribute(worker, index=2)
    second.travel_to(FINAL_WINDOW)
    with boa.reverts("tasks: index out of the deal"):
        second.claim([0])
    before = second.accounts()

    second.claim([2], [worker.address])

    assert second.hub.get_logs()[0].task_id == second.task_id(2)
    assert changes(before, second.accounts()) == {
        "requester": (second.price, -second.price, 0),
        "scheduler": (second.scheduler_stake, -second.scheduler_stake, 0),
        worker.name: (second.stake, -second.stake, 0),
    }
    first.claim([0, 1])
    assert first.hub.frozen_of(first.requester.address) == 0
    second.assert_conserved()


def test_task__claimed_while_active__no_consensus_reported(protocol) -> None:
    job = open_deal(protocol, trust=3)
    (worker,) = job.crew(1)
    job.contribute(worker)
    job.travel_to(FINAL_WINDOW)
    job.claim([0], [worker.address])
    task = job.hub.task(job.deal_id, 0)
    assert task.status == FAILED
    assert task.consensus == ZERO32


def test_claim__unknown_deal__reverts(protocol) -> None:
    job = open_deal(protocol, trust=3)
    job.travel_to(FINAL_WINDOW)
    job.deal_id = keccak(text="no such deal")
    with boa.reverts("tasks: unknown deal"):
        job.claim([0])


def test_claim__before_the_final_deadline__reverts(protocol) -> None:
    job = open_deal(protocol, trust=3)
    job.travel_to(CONTRIBUTION_WINDOW)
    with boa.reverts("tasks: final deadline not reached"):
        job.claim([0])


@pytest.mark.parametrize(
    "history", ["finalized", "completed in one call", "claimed", "listed twice"]
)
def test_claim__task_already_final__reverts(protocol, history) -> None:
    job = open_deal(protocol, trust=1)
    (worker,) = job.crew(1)
    indices = [0]
    if history == "finalized":
        job.contribute(worker)
        job.finalize(worker)
    elif history == "completed in one call":
        job.contribute_and_finalize(worker)
    job.travel_to(FINAL_WINDOW)
    if history == "claimed":
        job.claim([0])
    elif history == "listed twice":
        indices = [0, 0]
    if history == "finalized":
        assert job.hub.task(job.deal_id, 0).status == COMPLETED
    with boa.reverts("tasks: task already final"):
        job.claim(indices)


def test_claim__index_out_of_the_deal__reverts(protocol) -> None:
    job = open_deal(protocol, trust=3, volume=2)
    job.travel_to(FINAL_WINDOW)
    with boa.reverts("tasks: index out of the deal"):
        job.claim([0, 2])


@pytest.mark.parametrize("wrong", ["one missing", "one extra", "none for a started task"])
def test_claim__wrong_contributor_count__reverts(protocol, wrong) -> None:
    job = open_deal(protocol, trust=3, volume=2)
    first, second = job.crew(2)
    job.contribute(first, index=0)
    job.contribute(second, index=0, digest=WRONG)
    job.travel_to(FINAL_WINDOW)
    contributors = by_address([first, second])
    if wrong == "one missing":
        contributors = contributors[:1]
    elif wrong == "one extra":
        contributors = [*contributors, job.actors["stranger"].address]
    else:
        contributors = []
    with boa.reverts("tasks: wrong contributor count"):
        job.claim([0, 1], contributors)


def test_claim__contributors_unsorted__reverts(protocol) -> None:
    job = open_deal(protocol, trust=3)
    first, second = job.crew(2)
    job.contribute(first)
    job.contribute(second, WRONG)
    job.travel_to(FINAL_WINDOW)
    with boa.reverts("tasks: contributors not sorted"):
        job.claim([0], by_address([first, second])[::-1])


def test_claim__stranger_listed__reverts(protocol) -> None:
    job = open_deal(protocol, trust=3)
    (worker,) = job.crew(1)
    job.contribute(worker)
    job.travel_to(FINAL_WINDOW)
    with boa.reverts("tasks: not a contributor"):
        job.claim([0], [job.actors["stranger"].address])


def test_reveal__claimed_task__reverts_not_revealing(protocol) -> None:
    job = open_deal(protocol, trust=3)
    first, second = job.crew(2)
    job.contribute(first)
    job.contribute(second)
    job.travel_to(FINAL_WINDOW)
    job.claim([0], by_address([first, second]))
    with boa.reverts("tasks: task not revealing"):
        job.reveal(first)
    with boa.reverts("tasks: task not revealing"):
        job.finalize(job.scheduler)
