"""The asyncio SDK on a whole devnet: run the hello app from the market's orders, watch it
as an async iterator, download and verify its result, while the event loop stays free."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from veritask.devnet.process import publish_demo_orders, register_demo_assets
from veritask.devnet.stack import RLC, Stack
from veritask.errors import InvalidInput
from veritask.sdk import Profile, RunRequest, TaskStatus
from veritask.sdk.aio import AsyncVeritask

pytestmark = [pytest.mark.anvil, pytest.mark.podman]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, dict[str, str]]]:
    with Stack(workers=1, work_dir=tmp_path_factory.mktemp("aio"), market=True) as running:
        apps, datasets = register_demo_assets(running)
        publish_demo_orders(running, apps, datasets)
        yield running, apps


def _profile(stack: Stack) -> Profile:
    return stack.profile("aio")


async def test_async_client__run_watch_download__verified_result(
    stack: tuple[Stack, dict[str, str]], tmp_path: Path
) -> None:
    devnet, apps = stack
    client = await AsyncVeritask.connect(_profile(devnet), devnet.accounts["requester"])
    ticks = 0

    async def ticker() -> None:  # proves the loop is not blocked while the SDK works
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    beat = asyncio.create_task(ticker())
    before = (await client.account(devnet.accounts["requester"].address)).free_nrlc
    result = await client.run(RunRequest(app=apps["hello-wasm"], args="async"))
    views = [view async for view in client.watch(result.deal_id, poll_s=0.05, timeout_s=60)]
    ref = f"0x{result.deal_id.hex()}:0"
    downloaded = await client.download_result(ref, tmp_path / "result")
    beat.cancel()

    assert views[-1].tasks[0].status == TaskStatus.COMPLETED
    assert (tmp_path / "result" / "result.txt").read_text().strip() == "Hello, async!"
    assert downloaded.digest == views[-1].tasks[0].result_digest
    after = (await client.account(devnet.accounts["requester"].address)).free_nrlc
    assert before - after == result.plan.task_price
    assert ticks > 5


async def test_async_client__concurrent_deposits__both_land(
    stack: tuple[Stack, dict[str, str]],
) -> None:
    devnet, _ = stack
    client = await AsyncVeritask.connect(_profile(devnet), devnet.accounts["app developer"])
    address = devnet.accounts["app developer"].address
    before = (await client.account(address)).free_nrlc
    await asyncio.gather(client.deposit(1 * RLC), client.deposit(2 * RLC))
    assert (await client.account(address)).free_nrlc == before + 3 * RLC


async def test_async_client__bad_input__same_errors_as_the_sync_client(
    stack: tuple[Stack, dict[str, str]],
) -> None:
    devnet, _ = stack
    client = await AsyncVeritask.connect(_profile(devnet), devnet.accounts["requester"])
    with pytest.raises(InvalidInput, match="no deal 0x"):
        await client.deal(b"\x01" * 32)
