"""The stack itself: a scheduler on PostgreSQL completes a task for the stack's own
workers, the only keys on its allow-list (a stranger is refused), and `stop()` leaves no
process and no listening port behind."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from eth_account import Account

from tests.e2e.conftest import wait_for
from tests.e2e.journeys import run_through_market
from tests.postgres import fresh_database
from veritask.devnet.stack import Stack
from veritask.errors import SchedulerApiError
from veritask.sdk.scheduler_api import SchedulerClient
from veritask.worker.apps.build import DemoApp

pytestmark = [pytest.mark.anvil, pytest.mark.podman, pytest.mark.postgres]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    with fresh_database("veritask_stack") as url:
        yield url


def _listening(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((parts.hostname or "", parts.port or 0)) == 0


def test_stack__scheduler_on_postgres__completes_a_task_and_stops_cleanly(
    hello: DemoApp, postgres_url: str
) -> None:
    stack = Stack(workers=1, database_url=postgres_url, market=True)
    stack.start()
    try:
        app = stack.register_app("hello", hello.image or "", hello.checksum)
        deal = run_through_market(stack, app, args="postgres")
        wait_for(stack, deal, [0], timeout_s=60)
        with SchedulerClient(stack.scheduler_url) as client:
            with pytest.raises(SchedulerApiError) as refused:
                client.login(Account.create())
            assert refused.value.code == "not_a_member"
        urls = [stack.rpc_url, stack.storage_url, stack.market_url, stack.scheduler_url]
        processes = [worker.process for worker in stack.workers]
    finally:
        stack.stop()

    assert all(process is not None and process.poll() is not None for process in processes)
    assert not stack.anvil.running
    assert [url for url in urls if _listening(url)] == []
    assert not stack.work_dir.exists()
