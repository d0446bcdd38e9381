"""The scheduler's API against hostile and clumsy workers and requesters: every refusal is a
4xx `{"error", "message"}` (FastAPI's own 422/404/405 and 500s used to answer in
another shape, and some inputs answered 500), login challenges cannot be replayed nor
overwritten by someone else, a worker cannot act on another worker's task nor name the
result of a task it was not asked to upload, report values that would break the database or
the `finalize` transaction are refused, floods of long polls and heartbeats do not starve
the API, and deep JSON does not kill the process. SQLite, and PostgreSQL for the text that
only PostgreSQL refuses. Random bodies (hypothesis) never get a 5xx."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.devnet import Devnet, inprocess_chain
from tests.scheduler.conftest import Pool, admit, make_scheduler
from veritask.domain.ids import task_id
from veritask.scheduler import desk as desk_module
from veritask.scheduler import transitions
from veritask.scheduler.service import Scheduler
from veritask.scheduler.store import ReplicateRow, TaskRow, TaskState, WorkerRow
from veritask.sdk.scheduler_api import login_message, task_logs_message
from veritask.serving import serve_app_in_thread


@pytest.fixture(scope="module")
def devnet() -> Iterator[Devnet]:
    """The API's logic needs a chain, not a node: the protocol runs in process."""
    with inprocess_chain() as chain:
        yield chain


DEAL = bytes.fromhex("de" * 32)
TASK = "0x" + task_id(DEAL, 0).hex()
TIMEOUT_S = 10.0


@pytest.fixture
def scheduler(pool: Pool, tmp_path: Path, database_url: str) -> Iterator[Scheduler]:
    running = make_scheduler(pool, tmp_path, database_url=database_url, max_long_polls=2)
    yield running
    running.engine.dispose()


@pytest.fixture
def api(scheduler: Scheduler) -> Iterator[TestClient]:
    with TestClient(scheduler.app, raise_server_exceptions=False) as client:
        yield client


def add_deal(scheduler: Scheduler, requester: str) -> None:
    facts = transitions.DealFacts(
        deal_id=DEAL,
        requester=requester,
        beneficiary=requester,
        app="0x" + "bb" * 20,
        app_kind="oci",
        app_multiaddr="localhost/veritask/hello:1",
        app_checksum=b"\x01" * 32,
        dataset="0x" + "00" * 20,
        dataset_multiaddr="",
        dataset_checksum=bytes(32),
        params="",
        tag=bytes(32),
        callback="0x" + "00" * 20,
        trust=3,
        tee=False,
        category=0,
        time_ref=300,
        start_time=int(time.time()),
        bot_first=0,
        bot_size=1,
        block_number=1,
    )
    with scheduler.sessions.begin() as session:
        transitions.add_deal(session, facts, time.time())


def login(api: TestClient, scheduler: Scheduler, worker: LocalAccount) -> dict[str, str]:
    """Adds `worker` to the pool's allow-list and logs it in: its bearer header."""
    admit(scheduler, worker)
    challenge = api.post("/v1/workers/challenge", json={"address": worker.address}).json()
    message = login_message(
        worker.address,
        challenge["challenge"],
        domain="testserver",
        scheduler=challenge["scheduler"],
    )
    signature = "0x" + bytes(worker.sign_message(encode_defunct(text=message)).signature).hex()
    body = {"address": worker.address, "challenge": challenge["challenge"], "signature": signature}
    token = api.post("/v1/workers/login", json=body).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def registered(api: TestClient, scheduler: Scheduler, name: str) -> dict[str, str]:
    headers = login(api, scheduler, Account.create())
    registration = {"name": name, "cpus": 1, "memory_bytes": 2**30, "runtimes": ["oci"]}
    assert api.post("/v1/workers/register", json=registration, headers=headers).status_code == 200
    return headers


def assert_refused(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == code
    assert body["message"]
    assert "Traceback" not in response.text


def workers_in(scheduler: Scheduler) -> list[WorkerRow]:
    with scheduler.sessions() as session:
        return list(session.execute(select(WorkerRow)).scalars())


def replicates_in(scheduler: Scheduler) -> list[ReplicateRow]:
    with scheduler.sessions() as session:
        return list(session.execute(select(ReplicateRow)).scalars())


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", "/v1/workers/challenge", b"{bad", 400, "bad_request"),
        ("POST", "/v1/workers/challenge", b"[" * 100_000 + b"]" * 100_000, 400, "bad_request"),
        ("POST", "/v1/workers/challenge", b'{"address": 5}', 400, "bad_request"),
        ("POST", "/v1/workers/challenge", b'{"address": "../x"}', 400, "bad_address"),
        ("POST", "/v1/workers/challenge", b'{"address": "0x1", "x": 1}', 400, "bad_request"),
        ("POST", "/v1/workers/challenge", b'"\\ud800"', 400, "bad_request"),
        ("POST", "/v1/workers/challenge", b"\xff\xfe", 400, "bad_request"),
        ("POST", "/v1/workers/challenge", b"x" * (3 << 20), 413, "too_large"),
        ("POST", "/v1/workers/login", b"{}", 400, "bad_request"),
        ("GET", "/v1/tasks/x/logs", b"", 400, "bad_request"),
        ("GET", "/nowhere", b"", 404, "not_found"),
        ("DELETE", "/v1/work", b"", 405, "method_not_allowed"),
        ("POST", "/v1/workers/heartbeat", b"", 401, "bad_token"),
    ],
)
def test_malformed_requests__refused_in_the_error_shape(
    api: TestClient, method: str, path: str, body: bytes, status: int, code: str
) -> None:
    headers = {"content-type": "application/json"}
    assert_refused(api.request(method, path, content=body, headers=headers), status, code)
    assert api.get("/health").status_code == 200


@pytest.mark.parametrize(
    "signature", ["zz", "0x12", "0x" + "00" * 65, "0x" + "ff" * 65, "0x" + "ab" * 64 + "05"]
)
def test_login__bad_signature__401_and_the_challenge_is_used_up(
    api: TestClient, signature: str
) -> None:
    """Regression: signatures eth-keys cannot parse answered 500."""
    worker = Account.create()
    challenge = api.post("/v1/workers/challenge", json={"address": worker.address}).json()
    body = {"address": worker.address, "challenge": challenge["challenge"], "signature": signature}
    assert_refused(api.post("/v1/workers/login", json=body), 401, "bad_signature")
    assert_refused(api.post("/v1/workers/login", json=body), 401, "bad_challenge")


def test_login__replayed_or_raced__refused_and_not_overwritten(
    api: TestClient, scheduler: Scheduler
) -> None:
    worker = Account.create()
    admit(scheduler, worker)
    challenge = api.post("/v1/workers/challenge", json={"address": worker.address}).json()
    # Someone else asks challenges for the worker's address: the worker's stays valid.
    for _ in range(3):
        api.post("/v1/workers/challenge", json={"address": worker.address})
    message = login_message(
        worker.address,
        challenge["challenge"],
        domain="testserver",
        scheduler=challenge["scheduler"],
    )
    signature = "0x" + bytes(worker.sign_message(encode_defunct(text=message)).signature).hex()
    body = {"address": worker.address, "challenge": challenge["challenge"], "signature": signature}
    assert api.post("/v1/workers/login", json=body).status_code == 200
    assert_refused(api.post("/v1/workers/login", json=body), 401, "bad_challenge")
    stranger = {**body, "address": Account.create().address}
    assert_refused(api.post("/v1/workers/login", json=stranger), 401, "bad_challenge")


def test_challenges__flood__memory_bounded(
    api: TestClient, scheduler: Scheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(desk_module, "_MAX_CHALLENGES", 5)
    for _ in range(20):
        api.post("/v1/workers/challenge", json={"address": Account.create().address})
    assert len(scheduler.desk._challenges) <= 5


@pytest.mark.parametrize(
    "token", [b"Bearer a.b.\xe9", b"Bearer \xff", b"Bearer " + b"." * 5000, b"Basic x"]
)
def test_token__hostile__401_not_500(api: TestClient, token: bytes) -> None:
    """Regression: hmac.compare_digest raises TypeError on non-ASCII text (500)."""
    response = api.post("/v1/workers/heartbeat", headers=[(b"authorization", token)])
    assert_refused(response, 401, "bad_token")


@pytest.mark.parametrize(
    "change",
    [
        {"cpus": 2**70},
        {"cpus": 2**40},
        {"cpus": 0},
        {"memory_bytes": 2**64},
        {"memory_bytes": -1},
        {"runtimes": ["oci"] * 100},
        {"runtimes": ["oci,wasm"]},
        {"name": "x\x00y"},
        {"name": "n" * 65},
        {"max_tasks": 10_000},
        {"tee": "maybe"},
    ],
)
def test_register__out_of_range__refused_and_nothing_stored(
    api: TestClient, scheduler: Scheduler, change: dict[str, Any]
) -> None:
    """Regression: values beyond the columns answered 500 (PostgreSQL: also NUL, long)."""
    headers = login(api, scheduler, Account.create())
    body = {"name": "w", "cpus": 1, "memory_bytes": 1, "runtimes": ["oci"], **change}
    assert_refused(api.post("/v1/workers/register", json=body, headers=headers), 400, "bad_request")
    assert workers_in(scheduler) == []


def test_report__another_workers_task__404_and_nothing_changes(
    api: TestClient, scheduler: Scheduler, pool: Pool
) -> None:
    add_deal(scheduler, pool.requester.address)
    owner, intruder = registered(api, scheduler, "owner"), registered(api, scheduler, "intruder")
    work = api.get("/v1/work", headers=owner)
    assert work.status_code == 200, work.text
    assert work.json()["task_id"] == TASK
    before = [(r.worker, r.status, r.stdout) for r in replicates_in(scheduler)]
    for status in ("started", "app_failed", "completed", "uploaded"):
        report = {"status": status, "stdout": "forged", "results": '{"forged": 1}'}
        response = api.post(f"/v1/tasks/{TASK}/status", json=report, headers=intruder)
        assert_refused(response, 404, "unknown_replicate")
    assert [(r.worker, r.status, r.stdout) for r in replicates_in(scheduler)] == before
    with scheduler.sessions() as session:
        task = session.execute(select(TaskRow)).scalar_one()
    assert (task.state, task.results, task.app_failures) == (TaskState.PENDING, "", 0)


def test_report__results_from_a_worker_not_asked_to_upload__ignored(
    api: TestClient, scheduler: Scheduler, pool: Pool
) -> None:
    """Regression: any worker holding a replicate could name the result `finalize` sends."""
    add_deal(scheduler, pool.requester.address)
    first, second = registered(api, scheduler, "first"), registered(api, scheduler, "second")
    assert api.get("/v1/work", headers=first).status_code == 200
    assert api.get("/v1/work", headers=second).status_code == 200
    uploader = next(w.address for w in workers_in(scheduler) if w.name == "first")
    with scheduler.sessions.begin() as session:
        task = session.execute(select(TaskRow)).scalar_one()
        task.state, task.uploader = TaskState.REVEALING, uploader
    forged = {"status": "uploaded", "results": '{"location": "/ipfs/forged"}'}
    assert api.post(f"/v1/tasks/{TASK}/status", json=forged, headers=second).status_code == 200
    with scheduler.sessions() as session:
        assert session.execute(select(TaskRow.results)).scalar_one() == ""
    honest = {"status": "uploaded", "results": '{"location": "/ipfs/honest"}'}
    assert api.post(f"/v1/tasks/{TASK}/status", json=honest, headers=first).status_code == 200
    with scheduler.sessions() as session:
        # Kept to be checked before `finalize` may send it (test_upload_check.py).
        reported = session.execute(select(TaskRow.results, TaskRow.reported_results)).one()
        assert tuple(reported) == ("", honest["results"])


@pytest.mark.parametrize(
    "change",
    [
        {"exit_code": 2**40},
        {"exit_code": -(2**40)},
        {"callback_data": "zz"},
        {"callback_data": "0x123"},
        {"callback_data": "0x" + "00" * 70_000},
        {"results": "r" * 5_000},
        {"results": "a\x00b"},
    ],
)
def test_report__values_finalize_or_the_database_cannot_take__400(
    api: TestClient, scheduler: Scheduler, pool: Pool, change: dict[str, Any]
) -> None:
    """Regression: a bad callback_data crashed every driver pass at `bytes.fromhex`, so no
    finalize, reopen or claim went out; out-of-range exit codes answered 500."""
    add_deal(scheduler, pool.requester.address)
    worker = registered(api, scheduler, "w")
    assert api.get("/v1/work", headers=worker).status_code == 200
    response = api.post(
        f"/v1/tasks/{TASK}/status", json={"status": "uploaded", **change}, headers=worker
    )
    assert_refused(response, 400, "bad_report")
    assert [r.status for r in replicates_in(scheduler)] == ["assigned"]


def test_report__nul_in_app_logs__stored_readably(
    api: TestClient, scheduler: Scheduler, pool: Pool
) -> None:
    """Regression: PostgreSQL refuses NUL in text, which answered 500 and lost the report."""
    add_deal(scheduler, pool.requester.address)
    worker = registered(api, scheduler, "w")
    assert api.get("/v1/work", headers=worker).status_code == 200
    report = {"status": "app_failed", "exit_code": 1, "stdout": "a\x00b", "stderr": "\x00"}
    assert api.post(f"/v1/tasks/{TASK}/status", json=report, headers=worker).status_code == 200
    [replicate] = replicates_in(scheduler)
    assert (replicate.status, replicate.stdout, replicate.stderr) == (
        "app_failed",
        "a\ufffdb",
        "\ufffd",
    )


def _logs_headers(signer: LocalAccount, timestamp: int, task: str = TASK) -> dict[str, str]:
    message = encode_defunct(text=task_logs_message(task, timestamp))
    signature = "0x" + bytes(signer.sign_message(message).signature).hex()
    return {
        "X-Veritask-Address": signer.address,
        "X-Veritask-Timestamp": str(timestamp),
        "X-Veritask-Signature": signature,
    }


def test_task_logs__hostile_requests__refused(
    api: TestClient, scheduler: Scheduler, pool: Pool
) -> None:
    add_deal(scheduler, pool.requester.address)
    now = int(time.time())
    requester, stranger = pool.requester, Account.create()
    assert api.get(f"/v1/tasks/{TASK}/logs", headers=_logs_headers(requester, now)).is_success
    cases = [
        (_logs_headers(requester, now - 10**6), 401, "stale_timestamp"),
        (_logs_headers(requester, now + 10**6), 401, "stale_timestamp"),
        (
            {**_logs_headers(requester, now), "X-Veritask-Timestamp": "9" * 400},
            401,
            "stale_timestamp",
        ),
        ({**_logs_headers(requester, now), "X-Veritask-Timestamp": "-1"}, 401, "stale_timestamp"),
        ({**_logs_headers(requester, now), "X-Veritask-Timestamp": "soon"}, 400, "bad_request"),
        (
            {**_logs_headers(requester, now), "X-Veritask-Signature": "0x" + "ff" * 65},
            401,
            "bad_signature",
        ),
        (
            {**_logs_headers(requester, now), "X-Veritask-Signature": "0x" + "00" * 65},
            401,
            "bad_signature",
        ),
        (
            {**_logs_headers(requester, now), "X-Veritask-Address": stranger.address},
            401,
            "bad_signature",
        ),
        (_logs_headers(requester, now, task="0x" + "00" * 32), 401, "bad_signature"),
        (_logs_headers(stranger, now), 403, "not_requester"),
    ]
    for headers, status, code in cases:
        assert_refused(api.get(f"/v1/tasks/{TASK}/logs", headers=headers), status, code)


def test_heartbeat__flood__one_write(api: TestClient, scheduler: Scheduler) -> None:
    scheduler.desk._heartbeat_interval_s = 60.0  # the whole test is within one interval
    worker = registered(api, scheduler, "w")
    with scheduler.sessions.begin() as session:
        session.execute(select(WorkerRow)).scalar_one().last_seen_at = 0.0
    for _ in range(30):
        assert api.post("/v1/workers/heartbeat", headers=worker).status_code == 200
    [row] = workers_in(scheduler)
    assert row.last_seen_at > 0.0
    first_write = row.last_seen_at
    assert api.post("/v1/workers/heartbeat", headers=worker).status_code == 200
    assert workers_in(scheduler)[0].last_seen_at == first_write  # within the interval


def test_work__flood_of_long_polls__other_calls_still_answer(
    api: TestClient, scheduler: Scheduler
) -> None:
    """Regression: each long poll held one of the server's 40 threads; 45 of them starved
    logins, reports and heartbeats (workers were then marked lost)."""
    worker = registered(api, scheduler, "poller")
    with (
        serve_app_in_thread(scheduler.app) as server,
        httpx.Client(base_url=server.url, timeout=TIMEOUT_S) as http,
    ):
        polls = [
            threading.Thread(
                target=lambda: http.get("/v1/work", params={"wait_s": 3}, headers=worker)
            )
            for _ in range(45)
        ]
        for poll in polls:
            poll.start()
        time.sleep(0.5)
        started = time.monotonic()
        assert http.post("/v1/workers/heartbeat", headers=worker).status_code == 200
        assert http.get("/health").status_code == 200
        assert time.monotonic() - started < 1.5
        for poll in polls:
            poll.join(TIMEOUT_S)


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=10,
)
_REPORT = st.fixed_dictionaries(
    {"status": st.sampled_from(["started", "app_failed", "uploaded", "completed", "x"])},
    optional={
        "exit_code": st.integers(),
        "stdout": st.text(max_size=40),
        "results": st.text(max_size=40),
        "callback_data": st.text(max_size=20),
        "duration_s": st.floats(allow_nan=False, allow_infinity=False),
    },
)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_random_bodies__never_a_5xx(api: TestClient, scheduler: Scheduler, pool: Pool) -> None:
    add_deal(scheduler, pool.requester.address)
    worker = registered(api, scheduler, "w")
    assert api.get("/v1/work", headers=worker).status_code == 200

    @settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        route=st.sampled_from(
            ["/v1/workers/challenge", "/v1/workers/login", "/v1/workers/register", "status"]
        ),
        body=st.one_of(_JSON, _REPORT),
    )
    def check(route: str, body: object) -> None:
        path = f"/v1/tasks/{TASK}/status" if route == "status" else route
        response = api.post(path, json=body, headers=worker)
        assert response.status_code < 500, response.text
        if response.status_code >= 400:
            assert set(response.json()) == {"error", "message"}

    check()
