"""The event follower on a real anvil: batches in chain order, resumable from a cursor,
bounded ranges, confirmations, and a reset chain detected instead of mixed in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.devnet import RLC, Devnet, demo_account, reverted, running_devnet
from veritask.chain.follower import EventFollower, EventSource
from veritask.errors import ChainError, ChainReset

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def _devnet() -> Iterator[Devnet]:
    with running_devnet() as devnet:
        yield devnet


@pytest.fixture
def devnet(_devnet: Devnet) -> Iterator[Devnet]:
    with reverted(_devnet):
        yield _devnet


def follower(devnet: Devnet, **options: int) -> EventFollower:
    return EventFollower(
        devnet.w3, [EventSource(devnet.hub, devnet.client.contracts.hub.abi)], **options
    )


def deposit(devnet: Devnet, amount: int) -> None:
    account = demo_account("requester")
    devnet.fund(account.address, tokens_nrlc=amount)
    devnet.client.deposit(account, amount)


def test_fetch__after_deposits__decodes_hub_events_in_order(devnet: Devnet) -> None:
    start = devnet.w3.eth.block_number + 1
    deposit(devnet, 5 * RLC)
    deposit(devnet, 7 * RLC)
    batch = follower(devnet).fetch(start)
    amounts = [event.args["amount"] for event in batch.events if event.name == "Deposit"]
    assert amounts == [5 * RLC, 7 * RLC]
    positions = [event.position for event in batch.events]
    assert positions == sorted(positions)
    assert batch.next_block == devnet.w3.eth.block_number + 1
    assert batch.last_block_hash == bytes(devnet.w3.eth.get_block("latest")["hash"])


def test_fetch__from_the_cursor__returns_only_new_events(devnet: Devnet) -> None:
    start = devnet.w3.eth.block_number + 1
    devnet.fund(demo_account("requester").address)
    devnet.freeze(demo_account("requester"), app_price=0, workerpool_price=0)
    first = follower(devnet).fetch(start)
    assert "DealCreated" in {event.name for event in first.events}
    again = follower(devnet).fetch(first.next_block, parent_hash=first.last_block_hash)
    assert again.events == ()
    assert again.empty_range
    deposit(devnet, 3 * RLC)
    later = follower(devnet).fetch(first.next_block, parent_hash=first.last_block_hash)
    assert [e.name for e in later.events] == ["Deposit"]


def test_fetch__max_blocks__bounds_each_batch(devnet: Devnet) -> None:
    start = devnet.w3.eth.block_number + 1
    for _ in range(3):
        devnet.rpc("evm_mine")
    batch = follower(devnet, max_blocks=2).fetch(start)
    assert (batch.from_block, batch.next_block) == (start, start + 2)


def test_fetch__confirmations__hold_back_recent_blocks(devnet: Devnet) -> None:
    head = devnet.w3.eth.block_number
    batch = follower(devnet, confirmations=2).fetch(head)
    assert batch.empty_range
    assert follower(devnet, confirmations=2).head() == head - 2


def test_fetch__parent_hash_changed__raises_chain_reset(devnet: Devnet) -> None:
    start = devnet.w3.eth.block_number + 1
    devnet.rpc("evm_mine")
    batch = follower(devnet).fetch(start)
    with pytest.raises(ChainReset, match="reorganised or reset"):
        follower(devnet).fetch(batch.next_block, parent_hash=b"\x01" * 32)


def test_fetch__node_down__raises_chain_error() -> None:
    from tests.devnet import closed_port_url
    from veritask.chain.node import connect

    w3 = connect(closed_port_url(), timeout_s=2)
    with pytest.raises(ChainError, match="did not answer"):
        EventFollower(w3, []).fetch(0)
