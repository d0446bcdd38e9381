"""`AsyncVeritask`: the SDK for asyncio programs (a notebook, a bot, a web backend).

Each call runs the synchronous client's method in a worker thread (`asyncio.to_thread`), so
awaiting it never blocks the event loop, and many calls may run at once. Semantics, errors
and return values are the synchronous client's (`veritask.sdk.Veritask`); one client should
not send two transactions at once from the same wallet (their nonces would collide), which
`AsyncVeritask` prevents with a lock around the sending calls.

    client = AsyncVeritask(profile, account)
    result = await client.run(RunRequest(app=APP, args="World"))
    async for view in client.watch(result.deal_id):
        print([task.status_name for task in view.tasks])
    downloaded = await client.download_result(f"0x{result.deal_id.hex()}:0", Path("out"))
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TypeVar

from eth_account.signers.local import LocalAccount

from .client import DEFAULT_TIMEOUT_S, AccountView, ChainInfo, TxSummary, Veritask
from .config import Profile
from .deals import ClaimReport, DealView, TaskView
from .results import DownloadedResult, Results
from .run import RunPlan, RunRequest, RunResult

__all__ = ["AsyncVeritask"]

T = TypeVar("T")
_DONE = object()


class AsyncVeritask:
    """The asyncio face of `Veritask` for one chain profile and wallet."""

    def __init__(self, client: Veritask) -> None:
        self.client = client
        self._sending = asyncio.Lock()

    @classmethod
    async def connect(
        cls,
        profile: Profile,
        account: LocalAccount | None = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> AsyncVeritask:
        """Connects (the node is contacted, as `Veritask(...)` does) without blocking."""
        client = await asyncio.to_thread(Veritask, profile, account, timeout_s=timeout_s)
        return cls(client)

    async def _send(self, call: Callable[[], T]) -> T:
        async with self._sending:
            return await asyncio.to_thread(call)

    async def info(self) -> ChainInfo:
        return await asyncio.to_thread(self.client.info)

    async def account(self, address: str) -> AccountView:
        return await asyncio.to_thread(self.client.account, address)

    async def deposit(self, amount_nrlc: int) -> TxSummary:
        return await self._send(lambda: self.client.deposit(amount_nrlc))

    async def withdraw(self, amount_nrlc: int) -> TxSummary:
        return await self._send(lambda: self.client.withdraw(amount_nrlc))

    async def prepare(self, request: RunRequest) -> RunPlan:
        """Orders gathered and checked (market, files or self-signed); nothing is sent."""
        return await asyncio.to_thread(self.client.runs.prepare, request)

    async def submit(self, plan: RunPlan) -> RunResult:
        return await self._send(lambda: self.client.runs.submit(plan))

    async def run(self, request: RunRequest) -> RunResult:
        """`prepare` then `submit`: the deal and its task ids."""
        return await self.submit(await self.prepare(request))

    async def deal(self, deal_id: bytes, *, from_block: int = 0) -> DealView:
        return await asyncio.to_thread(self.client.deals(from_block=from_block).deal, deal_id)

    async def task(self, ref: str, *, from_block: int = 0) -> TaskView:
        return await asyncio.to_thread(self.client.deals(from_block=from_block).task, ref)

    async def watch(
        self,
        deal_id: bytes,
        *,
        from_block: int = 0,
        poll_s: float = 0.5,
        timeout_s: float | None = None,
    ) -> AsyncIterator[DealView]:
        """`Deals.watch` as an async iterator: the deal now, then at each task move."""
        views = self.client.deals(from_block=from_block).watch(
            deal_id, poll_s=poll_s, timeout_s=timeout_s
        )
        while True:
            view = await asyncio.to_thread(next, views, _DONE)
            if view is _DONE:
                return
            assert isinstance(view, DealView)
            yield view

    async def claim(self, deal_id: bytes) -> ClaimReport:
        return await self._send(lambda: self.client.deals().claim(deal_id))

    async def download_result(self, ref: str, dest: Path) -> DownloadedResult:
        """A completed task's result, unpacked into `dest` and verified (`Results`)."""
        return await asyncio.to_thread(Results(self.client).download, ref, dest)
