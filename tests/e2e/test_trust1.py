"""Trust-1 journeys end to end on a stack of two workers (podman, hello app): one task,
a bag of ten, a dataset, a callback whose result lands in a contract, and apps that fail,
time out, fill their output limit or try the network: each ends with a clear status and
logs, and the requester is charged for results only and refunded for the rest. Every deal
is made as a user makes it: offers on the stack's market, the run through the SDK."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from typing import cast

import pytest
import typer
from eth_abi.abi import encode
from eth_utils.crypto import keccak
from web3.contract import Contract

from tests.e2e.apps import callback_app
from tests.e2e.conftest import (
    FAILED,
    failed_events,
    finalize_events,
    logs_of,
    wait_for,
    wait_for_logs,
)
from tests.e2e.journeys import requester_profile, run_through_market
from veritask.chain.compiler import compile_contract
from veritask.chain.transactions import send
from veritask.cli.watch import WatchEnd, end_of_watch
from veritask.devnet.stack import RLC, Stack
from veritask.domain.cid import cid_of
from veritask.domain.failures import FailureKind, FailureRecord, stderr_digest
from veritask.domain.ids import task_id
from veritask.sdk import SETTLED_FAILURE, Veritask
from veritask.sdk.storage import StorageClient
from veritask.worker.apps.build import DemoApp, build_app, install_app
from veritask.worker.runtimes import PodmanRuntime

pytestmark = [pytest.mark.anvil, pytest.mark.podman]

APP_PRICE = RLC // 2  # refunded to the requester when the task fails
LIMITS = {"VERITASK_WORKER_MAX_APP_TIME_S": "3", "VERITASK_WORKER_OUTPUT_BYTES": str(2 << 20)}


@pytest.fixture(scope="module")
def stack(hello: DemoApp) -> Iterator[Stack]:
    with Stack(workers=2, worker_env=[LIMITS, LIMITS], market=True) as running:
        yield running


@pytest.fixture(scope="module")
def hello_app(stack: Stack, hello: DemoApp) -> str:
    return stack.register_app("hello", hello.image or "", hello.checksum)


@pytest.fixture(scope="module")
def probe_app(stack: Stack) -> str:
    probe = build_app("probe")
    install_app(probe, PodmanRuntime())
    return stack.register_app("probe", probe.image or "", probe.checksum)


@pytest.fixture(scope="module")
def wordcount_app(stack: Stack) -> str:
    wordcount = build_app("wordcount")
    install_app(wordcount, PodmanRuntime())
    return stack.register_app("wordcount", wordcount.image or "", wordcount.checksum)


def _result_archive(stack: Stack, deal: bytes, index: int) -> zipfile.ZipFile:
    (event,) = finalize_events(stack, task_id(deal, index))
    pointer = json.loads(event["args"]["results"])
    assert pointer["storage"] == "ipfs"
    with StorageClient(stack.storage_url) as storage:
        archive = storage.download(pointer["location"].removeprefix("/ipfs/"))
    return zipfile.ZipFile(io.BytesIO(archive))


def test_trust_1__hello__completes_with_the_result_in_storage(stack: Stack, hello_app: str) -> None:
    requester = stack.accounts["requester"].address
    before = stack.protocol.account(requester)
    started = time.monotonic()
    deal = run_through_market(stack, hello_app, args="Veritask")
    wait_for(stack, deal, [0], timeout_s=60)
    elapsed = time.monotonic() - started

    assert _result_archive(stack, deal, 0).read("result.txt") == b"Hello, Veritask!\n"
    logs = wait_for_logs(stack, deal, 0, "completed", replicates="completed")
    assert [(r.status, r.exit_code, r.stdout) for r in logs.replicates] == [
        ("completed", 0, "Hello, Veritask!\n")
    ]
    assert stack.protocol.account(requester) == (before[0] - stack.workerpool_price_nrlc, before[1])
    assert elapsed < 10, f"order to result took {elapsed:.2f} s"


def test_bag_of_10__hello__every_task_completes_once(stack: Stack, hello_app: str) -> None:
    deal = run_through_market(stack, hello_app, args="bag", volume=10)
    wait_for(stack, deal, range(10), timeout_s=90)

    for index in range(10):
        assert len(finalize_events(stack, task_id(deal, index))) == 1
    assert _result_archive(stack, deal, 7).read("result.txt") == b"Hello, bag!\n"
    workers = {logs_of(stack, deal, i).replicates[0].worker for i in range(10)}
    assert workers <= {w.account.address.lower() for w in stack.workers}


def test_dataset__wordcount__reads_the_verified_dataset(stack: Stack, wordcount_app: str) -> None:
    content = b"one two three\nfour five\n"
    with StorageClient(stack.storage_url) as storage:
        cid = storage.upload(content, stack.accounts["dataset owner"])
    assert cid == cid_of(content)
    dataset = stack.register_dataset("words", f"/ipfs/{cid}", hashlib.sha256(content).digest())
    owner = stack.accounts["dataset owner"].address
    before = stack.protocol.account(owner)

    deal = run_through_market(stack, wordcount_app, dataset=dataset, dataset_price_nrlc=RLC)
    wait_for(stack, deal, [0], timeout_s=60)

    result = json.loads(_result_archive(stack, deal, 0).read("result.json"))
    assert result == {"lines": 2, "words": 5, "bytes": len(content)}
    assert stack.protocol.account(owner)[0] == before[0] + RLC


def test_dataset__on_a_loopback_url__fetched_through_the_devnet_allow_list(
    stack: Stack, wordcount_app: str
) -> None:
    content = b"served from this machine\n"

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, *args: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{httpd.server_address[1]}/words"
        dataset = stack.register_dataset("local words", url, hashlib.sha256(content).digest())
        deal = run_through_market(stack, wordcount_app, dataset=dataset)
        wait_for(stack, deal, [0], timeout_s=60)
        httpd.shutdown()

    result = json.loads(_result_archive(stack, deal, 0).read("result.json"))
    assert result == {"lines": 1, "words": 4, "bytes": len(content)}


def test_callback__result_lands_in_the_contract(stack: Stack) -> None:
    app = callback_app()
    app_address = stack.register_app("callback", app.image or "", app.checksum)
    artifact = compile_contract("mocks/result_store.vy")
    factory = stack.node.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    receipt = send(stack.node.w3, stack.accounts["deployer"], factory.constructor(0))
    store = cast(
        Contract, stack.node.w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)
    )
    data = encode(["uint256", "uint256"], [123_456_789, 1_700_000_000])

    deal = run_through_market(stack, app_address, args="0x" + data.hex(), callback=store.address)
    wait_for(stack, deal, [0], timeout_s=60)

    task = task_id(deal, 0)
    assert store.functions.results(task).call() == data
    (event,) = finalize_events(stack, task)
    assert event["args"]["digest"] == keccak(data)


@pytest.mark.parametrize(
    ("mode", "status", "kind", "evidence"),
    [
        ("exit3", "app_failed", FailureKind.APP_EXIT, "probe: failing on purpose"),
        ("sleep", "app_timeout", FailureKind.TIMEOUT, ""),
        ("flood", "app_output_limit", FailureKind.LIMIT, ""),
        (
            "network 1.1.1.1:80 127.0.0.1:22",
            "app_failed",
            FailureKind.APP_EXIT,
            "probe: no network",
        ),
    ],
)
def test_misbehaving_app__settles_at_once_as_failed_with_its_record(
    stack: Stack, probe_app: str, mode: str, status: str, kind: FailureKind, evidence: str
) -> None:
    """Errors are results: the worker commits a failure record in its one call, the task
    settles FAILED at once (no final deadline, no claim), the requester pays the
    workerpool price only and gets the app price back, the scheduler keeps its stake."""
    requester = stack.accounts["requester"].address
    owner = stack.accounts["workerpool owner"].address
    price = stack.workerpool_price_nrlc
    before, owner_before = stack.protocol.account(requester), stack.protocol.account(owner)
    deal = run_through_market(stack, probe_app, args=mode, app_price_nrlc=APP_PRICE)
    wait_for(stack, deal, [0], timeout_s=60, status=FAILED)

    (event,) = failed_events(stack, task_id(deal, 0))
    assert finalize_events(stack, task_id(deal, 0)) == []
    assert event["args"]["kind"] == kind
    logs = wait_for_logs(stack, deal, 0, "settled_failed", replicates=status)
    (replicate,) = logs.replicates
    assert evidence in replicate.stderr
    record = FailureRecord.decode(bytes.fromhex(logs.failure_record.removeprefix("0x")))
    assert record is not None
    assert record.kind == kind
    assert logs.failure == record.describe()
    if kind is FailureKind.APP_EXIT:
        assert event["args"]["exit_code"] == replicate.exit_code != 0
        # sha256 of the end of stderr: short here, so the whole of what the app wrote.
        assert event["args"]["stderr_digest"] == stderr_digest(replicate.stderr.encode())
    else:
        assert (event["args"]["exit_code"], event["args"]["stderr_digest"]) == (0, bytes(32))
    assert stack.protocol.account(requester) == (before[0] - price, before[1])
    reward = price - price * 99 // 100  # the scheduler's share; its stake is back
    assert stack.protocol.account(owner) == (owner_before[0] + reward, owner_before[1])


def test_failing_app__run_watch__ends_at_once_with_the_settled_failure(
    stack: Stack, probe_app: str
) -> None:
    client = Veritask(requester_profile(stack), stack.accounts["requester"])
    deal = run_through_market(stack, probe_app, args="exit3")
    started = time.monotonic()
    views = list(client.deals(from_block=0).watch(deal, poll_s=0.1, timeout_s=60))
    assert time.monotonic() - started < 30  # not the final deadline's 50 minutes
    (task,) = views[-1].tasks
    assert task.failure == FailureRecord(
        FailureKind.APP_EXIT, 3, task.failure.stderr_digest if task.failure else bytes(32)
    )
    assert task.next_step() == SETTLED_FAILURE
    with pytest.raises(typer.Exit) as ended:
        end_of_watch(WatchEnd(views[-1], {}), as_json=True, timeout_s=None)
    assert ended.value.exit_code == 5


def test_input_url_404__settles_as_input_unavailable(stack: Stack, wordcount_app: str) -> None:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(404 if self.path.endswith("/gone") else 200)

        def log_message(self, *args: object) -> None:
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{httpd.server_address[1]}/gone"
        deal = run_through_market(stack, wordcount_app, input_files=(url,))
        wait_for(stack, deal, [0], timeout_s=60, status=FAILED)
        httpd.shutdown()

    (event,) = failed_events(stack, task_id(deal, 0))
    args = event["args"]
    assert (args["kind"], args["exit_code"], args["stderr_digest"]) == (
        FailureKind.INPUT_UNAVAILABLE,
        1,  # input file 1
        bytes(32),
    )
    logs = wait_for_logs(stack, deal, 0, "settled_failed", replicates="input_unavailable")
    assert logs.failure == "input file 1 could not be fetched"


@pytest.mark.parametrize(("name", "app_type"), [("hello-wasm", "WASM"), ("hello", "DOCKER")])
def test_app_from_storage__checksum_verified__runs(stack: Stack, name: str, app_type: str) -> None:
    # A .wasm module or an OCI image archive, stored by content id and fetched by workers.
    app = build_app(name)
    with StorageClient(stack.storage_url) as storage:
        cid = storage.upload(app.archive, stack.accounts["app developer"])
    address = stack.register_app(f"{name} stored", f"/ipfs/{cid}", app.archive_checksum, app_type)

    deal = run_through_market(stack, address, args="stored")
    wait_for(stack, deal, [0], timeout_s=60)

    assert "computed.json" in _result_archive(stack, deal, 0).namelist()
    # The worker reports its replicate after the chain has the result: wait for it.
    logs = wait_for_logs(stack, deal, 0, "completed", replicates="completed")
    assert logs.replicates[0].exit_code == 0
