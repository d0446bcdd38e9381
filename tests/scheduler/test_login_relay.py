"""A login is bound to the scheduler it was made for (audit L3): a malicious scheduler
that relays a worker's challenge and signed login to an honest scheduler does not get a
token for that worker there. Both schedulers are real servers on loopback; the relay
forwards the worker's requests as they are."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.devnet import Devnet, demo_account, inprocess_chain
from tests.scheduler.conftest import Pool, make_scheduler
from veritask.errors import SchedulerApiError
from veritask.sdk.scheduler_api import SchedulerClient
from veritask.serving import RunningServer, serve_app_in_thread

# Both are members of the honest pool: the relay is refused for its signature alone.
RELAYED, DIRECT = demo_account("relayed worker"), demo_account("direct worker")


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    with inprocess_chain() as chain:
        yield chain


@pytest.fixture
def honest(pool: Pool, tmp_path: Path) -> Iterator[RunningServer]:
    scheduler = make_scheduler(pool, tmp_path, members=(RELAYED, DIRECT))
    server = serve_app_in_thread(scheduler.app, name="honest-scheduler")
    try:
        yield server
    finally:
        server.stop()
        scheduler.engine.dispose()


@pytest.fixture
def relay(honest: RunningServer) -> Iterator[str]:
    """A scheduler that forwards every request to the honest one, body and all."""
    app = FastAPI()
    upstream = httpx.Client(base_url=honest.url, timeout=5)

    @app.post("/v1/workers/{step}")
    async def forward(step: str, request: Request) -> Any:
        answer = upstream.post(f"/v1/workers/{step}", content=await request.body(),
                               headers={"content-type": "application/json"})  # fmt: skip
        if answer.status_code != 200:
            return JSONResponse(answer.json(), status_code=answer.status_code)
        return answer.json()

    server = serve_app_in_thread(app, name="relaying-scheduler")
    try:
        yield server.url
    finally:
        server.stop()
        upstream.close()


def test_login__relayed_to_another_scheduler__refused(relay: str) -> None:
    worker = RELAYED
    with SchedulerClient(relay) as client, pytest.raises(SchedulerApiError) as refused:
        client.login(worker)
    assert refused.value.status == 401
    assert "bad_signature" in str(refused.value) or "signature" in str(refused.value)


def test_login__straight_to_the_scheduler__accepted(honest: RunningServer) -> None:
    with SchedulerClient(honest.url) as client:
        login = client.login(DIRECT)
    assert login.token
