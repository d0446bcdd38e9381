"""`Veritask.deals()` against anvil: a deal's terms, events and per-task state, task lookup
by id, and claims (refused before the final deadline, exact refunds after it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from eth_utils.crypto import keccak

from tests.deals_on_devnet import (
    FINAL_AFTER_S,
    PARAMS,
    RESULTS,
    TASK_PRICE,
    TIME_REF,
    VOLUME,
    WORKERPOOL_PRICE,
    DealOnDevnet,
    make_deal,
    travel,
)
from tests.devnet import Devnet, demo_account, reverted, running_devnet
from veritask.domain.ids import task_id
from veritask.errors import InvalidInput
from veritask.sdk import Profile, Veritask
from veritask.sdk.deals import (
    Deals,
    format_duration,
    parse_deal_id,
    parse_task_ref,
)

pytestmark = pytest.mark.anvil

REQUESTER = demo_account("sdk deal test requester")


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


def _deals(devnet: Devnet, *, signer: bool = False) -> Deals:
    profile = Profile("test", rpc_url=devnet.url, hub=devnet.hub)
    return Veritask(profile, REQUESTER if signer else None).deals()


def test_deal__matched_deal__terms_event_and_task_states(
    devnet: Devnet, deal: DealOnDevnet
) -> None:
    view = _deals(devnet).deal(deal.deal_id)

    assert (view.app, view.workerpool) == (deal.app, deal.workerpool)
    assert (view.beneficiary, view.params) == (REQUESTER.address, PARAMS)
    assert (view.terms.bot_first, view.terms.bot_size) == (0, VOLUME)
    assert view.final_deadline == view.terms.start_time + 10 * TIME_REF
    assert view.contribution_deadline == view.terms.start_time + 7 * TIME_REF
    assert [t.status_name for t in view.tasks] == ["COMPLETED", "REVEALING", "UNSET", "UNSET"]
    done, started = view.tasks[0], view.tasks[1]
    assert (done.result_digest, done.results) == (deal.digest, RESULTS)
    assert done.contributors == ()  # the one-call path logs no TaskContribute
    assert [(c.worker, c.status_name) for c in started.contributors] == [
        (deal.worker.address, "CONTRIBUTED")
    ]
    assert started.next_step().startswith("reveal window open until ")
    assert view.tasks[2].next_step().startswith("waiting for a worker")


def test_task__by_task_id__resolves_its_deal_and_index(devnet: Devnet, deal: DealOnDevnet) -> None:
    view = _deals(devnet).task(deal.task_hex(2))
    assert (view.deal_id, view.index, view.task_id) == (deal.deal_id, 2, task_id(deal.deal_id, 2))


def test_deal__unknown_id__invalid_input_naming_the_profile(devnet: Devnet) -> None:
    with pytest.raises(InvalidInput, match=r"^no deal 0x(11){32} on this chain \(profile test\)"):
        _deals(devnet).deal(bytes([0x11]) * 32)


def test_task__unknown_task_id__invalid_input(devnet: Devnet, deal: DealOnDevnet) -> None:
    with pytest.raises(InvalidInput, match="give it as DEAL_ID:INDEX"):
        _deals(devnet).task("0x" + keccak(b"nothing").hex())
    with pytest.raises(InvalidInput, match="has tasks 0 to 3: 4 is not one of them"):
        _deals(devnet).task(f"{deal.deal_hex}:4")


def test_claim__before_the_final_deadline__refused_and_nothing_sent(
    devnet: Devnet, deal: DealOnDevnet
) -> None:
    before = devnet.balances(REQUESTER.address)
    with pytest.raises(
        InvalidInput, match=r"^final deadline not reached: claimable in \d+ min \d+ s, at "
    ):
        _deals(devnet, signer=True).claim(deal.deal_id)
    assert devnet.balances(REQUESTER.address) == before


def test_claim__after_the_final_deadline__refunds_every_unfinished_task(
    devnet: Devnet, deal: DealOnDevnet
) -> None:
    travel(devnet, FINAL_AFTER_S)
    free, frozen = devnet.client.account(REQUESTER.address)
    worker_before = devnet.client.account(deal.worker.address)

    report = _deals(devnet, signer=True).claim(deal.deal_id)

    assert report.indices == (1, 2, 3)
    assert report.refunded_nrlc == 3 * TASK_PRICE
    # Tasks 2 and 3 nobody ran: their scheduler stakes go to the requester too.
    stake = WORKERPOOL_PRICE * 30 // 100
    assert report.compensated_nrlc == 2 * stake
    assert devnet.client.account(REQUESTER.address) == (
        free + 3 * TASK_PRICE + 2 * stake,
        frozen - 3 * TASK_PRICE,
    )
    assert devnet.client.account(deal.worker.address) == (
        worker_before[0] + stake,
        worker_before[1] - stake,
    )
    statuses = [t.status_name for t in _deals(devnet).deal(deal.deal_id).tasks]
    assert statuses == ["COMPLETED", "FAILED", "FAILED", "FAILED"]
    with pytest.raises(InvalidInput, match="nothing to claim: every task of deal"):
        _deals(devnet, signer=True).claim(deal.deal_id)


def test_parse__bad_ids__invalid_input() -> None:
    with pytest.raises(InvalidInput, match="not a deal id"):
        parse_deal_id("0x1234")
    with pytest.raises(InvalidInput, match="not a task index"):
        parse_task_ref("0x" + "ab" * 32 + ":x")
    assert parse_task_ref("0x" + "ab" * 32 + ":7") == (bytes([0xAB]) * 32, 7)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(9, "9 s"), (250, "4 min 10 s"), (7_980, "2 h 13 min"), (90_000, "1 d 1 h"), (-5, "0 s")],
)
def test_format_duration__examples(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text
