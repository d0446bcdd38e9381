"""`Deals.watch` against anvil: the deal at once, then one view per task move, until every
task is completed or past its final deadline, or until the timeout. The chain moves inside
the injected `sleep`, so each poll sees exactly one step."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from eth_utils.crypto import keccak

from tests.deals_on_devnet import FINAL_AFTER_S, RESULTS, DealOnDevnet, make_deal, travel
from tests.devnet import Devnet, demo_account, reverted, running_devnet
from veritask.domain.ids import task_id
from veritask.domain.orders import ZERO_ADDRESS
from veritask.domain.signing import sign_hash_eip191
from veritask.domain.tasks import authorization_hash
from veritask.sdk import Profile, Veritask
from veritask.sdk.deals import Deals

pytestmark = pytest.mark.anvil

REQUESTER = demo_account("sdk watch test requester")


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with running_devnet() as node:
        yield node


@pytest.fixture(autouse=True)
def _fresh_chain(devnet: Devnet) -> Iterator[None]:
    with reverted(devnet):
        yield


@pytest.fixture
def deal(devnet: Devnet) -> DealOnDevnet:
    return make_deal(devnet, REQUESTER)


def _deals(devnet: Devnet) -> Deals:
    return Veritask(Profile("test", rpc_url=devnet.url, hub=devnet.hub)).deals()


def _finish(devnet: Devnet, deal: DealOnDevnet, index: int) -> None:
    task = task_id(deal.deal_id, index)
    authorization = sign_hash_eip191(
        authorization_hash(deal.worker.address, task, ZERO_ADDRESS), deal.scheduler.key
    )
    devnet.client.contribute_and_finalize(
        deal.worker, deal.deal_id, index, deal.digest, RESULTS, ZERO_ADDRESS, b"", authorization
    )


def _steps(*steps: Callable[[], None]) -> Callable[[float], None]:
    """A `sleep` that runs the next step each time it is called (then nothing)."""
    queue = list(steps)

    def sleep(_: float) -> None:
        if queue:
            queue.pop(0)()

    return sleep


def test_watch__tasks_finish__yields_each_move_until_every_task_completed(
    devnet: Devnet, deal: DealOnDevnet
) -> None:
    def reveal_and_finalize() -> None:
        devnet.client.reveal(deal.worker, deal.deal_id, 1, keccak_started())
        devnet.client.finalize(
            deal.scheduler, deal.deal_id, 1, keccak_started(), RESULTS, [deal.worker.address]
        )

    sleep = _steps(
        lambda: None,  # a poll that sees nothing new yields nothing
        lambda: _finish(devnet, deal, 2),
        lambda: _finish(devnet, deal, 3),
        reveal_and_finalize,
    )
    views = list(_deals(devnet).watch(deal.deal_id, poll_s=0, sleep=sleep))

    statuses = [[task.status_name for task in view.tasks] for view in views]
    assert statuses == [
        ["COMPLETED", "REVEALING", "UNSET", "UNSET"],
        ["COMPLETED", "REVEALING", "COMPLETED", "UNSET"],
        ["COMPLETED", "REVEALING", "COMPLETED", "COMPLETED"],
        ["COMPLETED", "COMPLETED", "COMPLETED", "COMPLETED"],
    ]
    assert views[-1].settled


def keccak_started() -> bytes:
    """The digest tests/deals_on_devnet.py committed for task 1."""
    return keccak(text="started")


def test_watch__past_the_final_deadline__ends_settled_without_completing(
    devnet: Devnet, deal: DealOnDevnet
) -> None:
    sleep = _steps(lambda: travel(devnet, FINAL_AFTER_S + 1))
    views = list(_deals(devnet).watch(deal.deal_id, poll_s=0, sleep=sleep))

    assert len(views) == 2
    assert views[-1].settled
    assert [task.claimable for task in views[-1].tasks] == [False, True, True, True]


def test_watch__timeout__stops_unsettled(devnet: Devnet, deal: DealOnDevnet) -> None:
    ticks = iter(range(100))
    views = list(
        _deals(devnet).watch(
            deal.deal_id, poll_s=0, timeout_s=3, sleep=lambda _: None, clock=lambda: next(ticks)
        )
    )
    assert len(views) == 1
    assert not views[-1].settled
