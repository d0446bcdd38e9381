"""Fair settlement and the audit's contract findings (docs/security.md): a task whose
workers agree that it failed settles at once (`finalize` or `contribute_and_finalize`
given the failure record, veritask.domain.failures), the kitty is gone (H1), scores count
with the scheduler they were earned with (H2), and pools owned by a contract wallet
authorize workers through ERC-1271.

Each exploit test states the attack as the audit ran it; it passes because the attack no
longer works."""

from __future__ import annotations

from dataclasses import replace

import boa
import pytest
from eth_utils import keccak

from tests.contracts.lifecycle_support import (
    ACTIVE,
    COMPLETED,
    FAILED,
    FINAL_WINDOW,
    REVEALING,
    Job,
    by_address,
    changes,
    event_names,
    events_named,
    expected_success,
    open_deal,
)
from tests.orders import make_deal
from tests.support import CONTRACTS, RLC, ZERO, Actor, Market, make_actor, set_score
from veritask.domain.failures import FailureKind, FailureRecord, stderr_digest
from veritask.domain.signing import sign_hash_eip191
from veritask.domain.tasks import authorization_hash

APP_EXIT = FailureRecord(FailureKind.APP_EXIT, 1, stderr_digest(b"Traceback: boom\n"))
ERC1271_WALLET = str(CONTRACTS / "mocks/erc1271_wallet.vy")


def _settled_failure(job: Job, record: FailureRecord, index: int = 0) -> None:
    (event,) = events_named(job.hub.get_logs(), "TaskFailed")
    assert event.task_id == job.task_id(index)
    assert (event.kind, event.exit_code, event.stderr_digest) == (
        record.kind,
        record.exit_code,
        record.stderr_digest,
    )
    assert job.hub.task(job.deal_id, index).status == FAILED


# -- errors as results -----------------------------------------------------------------


def test_contribute_and_finalize__failure_record__settles_at_once_and_pays_the_work(
    protocol,
) -> None:
    job = open_deal(protocol, trust=1)
    (worker,) = job.crew(1)
    before = job.accounts()

    job.contribute_and_finalize(worker, APP_EXIT.digest(), results=APP_EXIT.encode())

    assert event_names(job.hub.get_logs()) == ["TaskFailed"]
    _settled_failure(job, APP_EXIT)
    task = job.hub.task(job.deal_id, 0)
    assert (task.contributors, task.winners) == (1, 0)
    expected = expected_success(job, before, [worker], one_call=worker, failed=True)
    assert changes(before, job.accounts()) == expected
    # The requester paid the workerpool price only: app and dataset prices came back.
    assert expected["requester"] == (3 * RLC + 2 * RLC, -job.price, 0)
    assert "app_owner" not in expected
    assert "dataset_owner" not in expected
    # The scheduler kept its stake and took its reward.
    assert expected["scheduler"][1] == -job.scheduler_stake
    job.assert_conserved()

    job.travel_to(FINAL_WINDOW)
    with boa.reverts("tasks: task already final"):
        job.claim([0])


def test_finalize__replicated_failure__consensus_then_settles(protocol) -> None:
    record = FailureRecord(FailureKind.INPUT_UNAVAILABLE, 2)
    job = open_deal(protocol, trust=3)
    first, second = job.crew(2)
    job.contribute(first, record.digest())
    job.contribute(second, record.digest())
    assert job.hub.task(job.deal_id, 0).status == REVEALING
    job.reveal(first, record.digest())
    job.reveal(second, record.digest())
    before = job.accounts()

    job.finalize(job.scheduler, record.digest(), results=record.encode())

    _settled_failure(job, record)
    expected = expected_success(job, before, [first, second], failed=True)
    assert changes(before, job.accounts()) == expected
    job.assert_conserved()


def test_finalize__failure_record_of_another_digest__reverts(protocol) -> None:
    job = open_deal(protocol, trust=1)
    (worker,) = job.crew(1)
    other = FailureRecord(FailureKind.APP_EXIT, 2)
    with boa.reverts("tasks: failure record does not match the digest"):
        job.contribute_and_finalize(worker, APP_EXIT.digest(), results=other.encode())


@pytest.mark.parametrize("kind", [0, 7, 2**255])
def test_contribute_and_finalize__unknown_failure_kind__reverts(protocol, kind: int) -> None:
    job = open_deal(protocol, trust=1)
    (worker,) = job.crew(1)
    record = bytearray(APP_EXIT.encode())
    record[32:64] = kind.to_bytes(32, "big")
    with boa.reverts("tasks: unknown failure kind"):
        job.contribute_and_finalize(worker, keccak(bytes(record)), results=bytes(record))


def test_contribute_and_finalize__exit_code_of_2_32__reverts(protocol) -> None:
    job = open_deal(protocol, trust=1)
    (worker,) = job.crew(1)
    record = bytearray(APP_EXIT.encode())
    record[64:96] = (2**32).to_bytes(32, "big")
    with boa.reverts("tasks: exit code out of range"):
        job.contribute_and_finalize(worker, keccak(bytes(record)), results=bytes(record))


def test_contribute_and_finalize__failure_with_callback_data__reverts(protocol) -> None:
    job = open_deal(protocol, trust=1)
    (worker,) = job.crew(1)
    with boa.reverts("tasks: callback data for a failure"):
        job.contribute_and_finalize(
            worker, APP_EXIT.digest(), results=APP_EXIT.encode(), callback_data=b"\x01"
        )


def test_finalize__replicated_failure_with_callback_data__reverts(protocol) -> None:
    job = open_deal(protocol, trust=1)
    (worker,) = job.crew(1)
    job.contribute(worker, APP_EXIT.digest())
    with boa.reverts("tasks: callback data for a failure"):
        job.finalize(worker, APP_EXIT.digest(), results=APP_EXIT.encode(), callback_data=b"x")
    job.finalize(worker, APP_EXIT.digest(), results=APP_EXIT.encode())
    _settled_failure(job, APP_EXIT)


# -- H1: the kitty drain, and an honest scheduler's stake -------------------------------


def test_h1_exploit__failing_app_on_an_honest_pool__scheduler_keeps_its_stake(protocol) -> None:
    # The audit's chain: the requester matched an honest public workerpool order with an
    # app that always fails; `claim` refunded the requester in full and moved the
    # scheduler's 30 % stake into the kitty, which the requester then drained with
    # zero-priced self-dealt tasks. Now the workers' agreed failure settles the task: the
    # requester pays for the work and the scheduler keeps its stake, so there is nothing
    # for anyone to take.
    job = open_deal(protocol, trust=3)
    first, second = job.crew(2)
    scheduler_before = job.accounts()["scheduler"]
    for worker in (first, second):
        job.contribute(worker, APP_EXIT.digest())
    job.reveal(first, APP_EXIT.digest())
    job.finalize(second, APP_EXIT.digest(), results=APP_EXIT.encode(), index=0)

    balance, frozen, _ = job.accounts()["scheduler"]
    assert frozen == scheduler_before[1] - job.scheduler_stake  # its stake came back
    assert balance > scheduler_before[0] + job.scheduler_stake - 1  # and its reward
    assert not hasattr(job.hub, "kitty")
    job.assert_conserved()


def test_h1_exploit__zero_priced_self_dealt_tasks__pay_their_scheduler_nothing(protocol) -> None:
    # Drain attempt: a deal nobody ran is claimed (its scheduler's stake goes to its
    # requester, not to a pot), then the attacker, owner of app, pool and request, runs
    # zero-priced tasks: a finalize pays its scheduler its price share and nothing more.
    failed = open_deal(protocol, volume=2)
    failed.travel_to(FINAL_WINDOW)
    requester_before = failed.accounts()["requester"]
    failed.claim([0, 1])
    assert failed.accounts()["requester"][0] == (
        requester_before[0] + 2 * failed.price + 2 * failed.scheduler_stake
    )
    job = open_deal(protocol, base=failed, app_price=0, dataset_price=0, workerpool_price=0)
    (worker,) = job.crew(1)
    before = job.accounts()

    job.contribute_and_finalize(worker)

    assert changes(before, job.accounts()) == {}
    job.assert_conserved()


def test_claim__task_with_contributions__scheduler_stake_back(protocol) -> None:
    # No consensus (say a non-deterministic app): the pool worked, it keeps its stake.
    job = open_deal(protocol, trust=3)
    first, second = job.crew(2)
    job.contribute(first)
    job.contribute(second, keccak(text="another result"))
    job.travel_to(FINAL_WINDOW)
    before = job.accounts()

    job.claim([0], by_address([first, second]))

    delta = changes(before, job.accounts())
    assert delta["scheduler"] == (job.scheduler_stake, -job.scheduler_stake, 0)
    assert delta["requester"] == (job.price, -job.price, 0)


# -- H2: scores count with the scheduler they were earned with --------------------------


def _own_pool(base: Job, owner: Actor, *, volume: int, trust: int) -> Job:
    """A deal of zero-priced tasks on `owner`'s own pool, requested by `owner` too (a
    self-dealt deal); its workers are authorized by `owner`."""
    p = base.protocol
    pool = p.workerpools.create_workerpool(owner.address, "attacker pool")
    p.fund(owner, 10 * RLC)
    m = base.market
    orders = make_deal(
        app=m.app,
        dataset=m.dataset,
        workerpool=pool,
        requester=owner.address,
        app_price_nrlc=0,
        dataset_price_nrlc=0,
        workerpool_price_nrlc=0,
        volume=volume,
        trust=trust,
        params=m.request_order.params,
        beneficiary=owner.address,
        salt=keccak(text="self-dealt"),
    )
    market = Market(
        protocol=p,
        app=m.app,
        dataset=m.dataset,
        workerpool=pool,
        app_order=orders.app_order,
        dataset_order=orders.dataset_order,
        workerpool_order=orders.workerpool_order,
        request_order=orders.request_order,
        signers={**m.signers, "workerpool": owner, "request": owner},
    )
    return Job(p, market, market.match())


def test_h2_exploit__score_farmed_in_own_pool__weighs_nothing_in_an_honest_pool(protocol) -> None:
    # The audit: two keys that never held RLC farmed their scores in zero-priced
    # self-dealt tasks, then one of them decided an honest pool's task alone. Here 15 wins
    # (score 15, weight 4) would decide a trust-4 task alone; in the honest pool the
    # farmed worker weighs as a fresh one (2), so a second worker is still needed.
    honest = open_deal(protocol, trust=4)
    attacker = make_actor("attacker")
    farm = _own_pool(honest, attacker, volume=15, trust=4)
    farmer, partner = farm.worker("farmer", funds=0), farm.worker("partner", funds=0)
    for index in range(15):
        for worker in (farmer, partner):
            farm.contribute(
                worker, index=index, auth=farm.authorize(worker, index, signer=attacker)
            )
        farm.reveal(farmer, index=index)
        farm.finalize(partner, contributors=by_address([farmer, partner]), index=index)
    assert protocol.hub.score_of(farmer.address) == 15
    assert protocol.hub.score_in(farmer.address, attacker.address) == 15
    assert protocol.hub.score_in(farmer.address, honest.scheduler.address) == 0
    protocol.fund(farmer, 2 * RLC)

    honest.contribute(farmer, keccak(text="a wrong result"))

    assert honest.hub.contribution(honest.task_id(), farmer.address).weight == 2
    assert honest.hub.task(honest.deal_id, 0).status == ACTIVE


def test_score__earned_with_the_honest_scheduler__decides_alone(protocol) -> None:
    # The same score earned with the pool's own scheduler keeps its weight there.
    from tests.contracts.lifecycle_support import train

    honest = open_deal(protocol, trust=4)
    veteran = honest.worker("veteran")
    train(honest, veteran, 15)
    assert protocol.hub.score_in(veteran.address, honest.scheduler.address) == 15

    honest.contribute(veteran)

    assert honest.hub.task(honest.deal_id, 0).status == REVEALING


def test_finalize__winner_from_another_scheduler__score_starts_over_here(protocol) -> None:
    from tests.contracts.lifecycle_support import train

    honest = open_deal(protocol, trust=4)
    other = make_actor("other scheduler")
    farm = _own_pool(honest, other, volume=2, trust=4)
    worker, partner = farm.worker("mover"), farm.worker("partner")
    for index in range(2):
        for w in (worker, partner):
            farm.contribute(w, index=index, auth=farm.authorize(w, index, signer=other))
        farm.reveal(worker, index=index)
        farm.finalize(partner, contributors=by_address([worker, partner]), index=index)
    assert protocol.hub.score_in(worker.address, other.address) == 2

    train(honest, worker, 1)

    assert protocol.hub.score_in(worker.address, honest.scheduler.address) == 1
    assert protocol.hub.score_in(worker.address, other.address) == 0


# -- ERC-1271: a workerpool owned by a contract wallet --------------------------------


def _wallet_job(protocol) -> tuple[Job, Actor, object]:
    wallet_owner = protocol.actors["stranger"]
    wallet = boa.load(ERC1271_WALLET, wallet_owner.address)
    base = open_deal(protocol)
    pool = protocol.workerpools.create_workerpool(wallet.address, "wallet pool")
    with boa.env.prank(protocol.actors["deployer"].address):
        protocol.token.approve(protocol.hub.address, 100 * RLC)
        protocol.hub.deposit_for(wallet.address, 100 * RLC)
    m = base.market
    market = replace(
        m,
        workerpool=pool,
        workerpool_order=replace(m.workerpool_order, workerpool=pool, salt=keccak(text="w")),
        request_order=replace(m.request_order, workerpool=pool, salt=keccak(text="w")),
        app_order=replace(m.app_order, salt=keccak(text="w")),
        dataset_order=replace(m.dataset_order, salt=keccak(text="w")),
        signers={**m.signers, "workerpool": wallet_owner},
    )
    job = Job(protocol, market, market.match())
    assert job.deal.workerpool_owner == wallet.address
    return job, wallet_owner, wallet


def test_contribute_and_finalize__pool_owned_by_a_wallet__erc1271_authorization(protocol) -> None:
    job, wallet_owner, _ = _wallet_job(protocol)
    (worker,) = job.crew(1)

    job.contribute_and_finalize(worker, auth=job.authorize(worker, signer=wallet_owner))

    assert event_names(job.hub.get_logs()) == ["TaskFinalize"]
    assert job.hub.task(job.deal_id, 0).status == COMPLETED


def test_contribute__pool_owned_by_a_wallet__key_it_does_not_vouch_for__reverts(protocol) -> None:
    job, _, _ = _wallet_job(protocol)
    (worker,) = job.crew(1)
    stranger_auth = job.authorize(worker, signer=protocol.actors["deployer"])
    with boa.reverts("tasks: invalid authorization"):
        job.contribute(worker, auth=stranger_auth)
    # A signature the wallet reverts on (not 65 bytes) is a refusal too.
    with boa.reverts("tasks: invalid authorization"):
        job.contribute(worker, auth=stranger_auth[:64])


def test_contribute__eoa_pool__authorization_by_another_key__reverts(protocol) -> None:
    job = open_deal(protocol)
    (worker,) = job.crew(1)
    message = authorization_hash(worker.address, job.task_id(), ZERO)
    forged = sign_hash_eip191(message, protocol.actors["stranger"].key)
    with boa.reverts("tasks: invalid authorization"):
        job.contribute(worker, auth=forged)


# -- L4: every trust the hub accepts can be reached ------------------------------------


def test_l4__largest_accepted_trust__two_workers_at_the_weight_cap_reach_it(protocol) -> None:
    # The audit worried that trusts no 8 contributions can reach were accepted at match.
    # matchOrders refuses trust >= 2**16 (test_matching), and below that every trust is
    # reachable: consensus needs a group weight >= trust, and two workers at the weight
    # cap (256, score >= 771 with this scheduler) weigh 65 536.
    job = open_deal(protocol, trust=2**16 - 1)
    first, second = job.crew(2)
    for worker in (first, second):
        set_score(protocol, worker.address, 771, job.scheduler.address)
        assert protocol.hub.score_in(worker.address, job.scheduler.address) == 771

    job.contribute(first)
    assert job.hub.task(job.deal_id, 0).status == ACTIVE
    job.contribute(second)

    assert job.hub.task(job.deal_id, 0).status == REVEALING
