"""PodmanRuntime against real podman + runc: every Status, the sandbox's walls, checksums,
archive loading and cleanup."""

from __future__ import annotations

import hashlib
import http.server
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.worker.runtimes.conftest import DATASET, TASK_ENV, MakeRun, RunApp
from veritask.errors import InvalidInput
from veritask.worker.apps.build import build_app, busybox_layer, image_archive
from veritask.worker.runtimes import AppSource, PodmanRuntime, Status
from veritask.worker.runtimes.containers import APP_UID

pytestmark = pytest.mark.podman


def test_run__hello_with_args__writes_result_and_computed_json(
    run_oci: RunApp, make_run: MakeRun
) -> None:
    app_run = make_run("Alice", "and Bob")
    outcome = run_oci("hello", app_run)
    assert outcome.ok(), outcome
    assert (outcome.status, outcome.exit_code) == (Status.COMPLETED, 0)
    assert (app_run.out_dir / "result.txt").read_text() == "Hello, Alice and Bob!\n"
    computed = json.loads((app_run.out_dir / "computed.json").read_text())
    assert computed == {"deterministic-output-path": "/iexec_out/result.txt"}
    assert outcome.stdout == "Hello, Alice and Bob!\n"
    assert (app_run.out_dir / "result.txt").stat().st_uid == APP_UID


def test_run__no_args__greets_the_world(run_oci: RunApp, make_run: MakeRun) -> None:
    app_run = make_run()
    assert run_oci("hello", app_run).ok()
    assert (app_run.out_dir / "result.txt").read_text() == "Hello, World!\n"


def test_run__env_and_args__visible_to_the_app_and_nothing_else(
    run_oci: RunApp, make_run: MakeRun
) -> None:
    outcome = run_oci("probe", make_run("env", "two words", "$HOME;x"))
    assert outcome.ok(), outcome
    lines = outcome.stdout.splitlines()
    for key, value in TASK_ENV.items():
        assert f"{key}={value}" in lines
    assert lines[-2:] == ["arg=two words", "arg=$HOME;x"]
    assert not any(line.startswith("VIRTUAL_ENV=") for line in lines)  # no host env leaks


def test_run__dataset_app__counts_the_dataset_file(run_oci: RunApp, make_run: MakeRun) -> None:
    app_run = make_run()
    outcome = run_oci("wordcount", app_run)
    assert outcome.ok(), outcome
    result = json.loads((app_run.out_dir / "result.json").read_text())
    assert result == {"lines": 3, "words": 9, "bytes": len(DATASET)}


def test_run__app_exits_3__failed_with_its_stderr(run_oci: RunApp, make_run: MakeRun) -> None:
    outcome = run_oci("probe", make_run("exit3"))
    assert (outcome.status, outcome.exit_code) == (Status.FAILED, 3)
    assert outcome.stderr == "probe: failing on purpose\n"
    assert not outcome.ok()


def test_run__writes_to_iexec_in__refused(run_oci: RunApp, make_run: MakeRun) -> None:
    app_run = make_run("write-input")
    outcome = run_oci("probe", app_run)
    assert outcome.ok(), outcome
    assert "read-only" in outcome.stdout
    assert sorted(p.name for p in app_run.in_dir.iterdir()) == ["dataset.txt"]


def test_run__sleeps_forever__timeout_and_container_removed(
    run_oci: RunApp, make_run: MakeRun
) -> None:
    outcome = run_oci("probe", make_run("sleep", time_s=1.5))
    assert (outcome.status, outcome.exit_code) == (Status.TIMEOUT, None)
    assert 1.5 <= outcome.duration_s < 5


def test_run__allocates_beyond_memory__out_of_memory(run_oci: RunApp, make_run: MakeRun) -> None:
    outcome = run_oci("probe", make_run("oom", memory_bytes=32 * 2**20))
    assert (outcome.status, outcome.exit_code) == (Status.OUT_OF_MEMORY, 137)
    assert "conmon reported" in outcome.detail


def test_run__floods_many_files__stopped_at_output_limit(
    run_oci: RunApp, make_run: MakeRun
) -> None:
    outcome = run_oci("probe", make_run("flood", output_bytes=2**20))
    assert outcome.status is Status.OUTPUT_LIMIT
    assert outcome.output_bytes > 2**20
    assert outcome.duration_s < 5


def test_run__one_file_beyond_limit__output_limit(run_oci: RunApp, make_run: MakeRun) -> None:
    app_run = make_run("bigfile", output_bytes=2**20)
    outcome = run_oci("probe", app_run)
    assert outcome.status is Status.OUTPUT_LIMIT
    assert (app_run.out_dir / "big.bin").stat().st_size == 2**20 + 1  # cut by RLIMIT_FSIZE


@pytest.fixture
def http_server() -> Iterator[tuple[int, list[str]]]:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], hits
    server.shutdown()
    server.server_close()


def _host_addresses() -> list[str]:
    addresses = ["127.0.0.1"]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # no packet is sent; picks the route's source
            addresses.append(probe.getsockname()[0])
        except OSError:
            pass
    return addresses


def test_run__tries_the_network__no_interface_and_fails_cleanly(
    run_oci: RunApp, make_run: MakeRun, http_server: tuple[int, list[str]]
) -> None:
    port, hits = http_server
    targets = [f"{address}:{port}" for address in _host_addresses()]
    outcome = run_oci("probe", make_run("network", *targets))
    assert (outcome.status, outcome.exit_code) == (Status.FAILED, 4), outcome
    assert outcome.stdout.split() == ["interfaces:", "lo"]
    assert hits == []


def test_run__twice__same_output_bytes(run_oci: RunApp, make_run: MakeRun) -> None:
    digests = []
    for _ in range(2):
        app_run = make_run("Alice")
        assert run_oci("hello", app_run).ok()
        files = sorted(app_run.out_dir.iterdir())
        digests.append([(p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in files])
    assert digests[0] == digests[1]


def test_run__out_dir_not_empty__refused(
    podman: PodmanRuntime, oci_apps: dict[str, AppSource], make_run: MakeRun
) -> None:
    app_run = make_run()
    (app_run.out_dir / "stale").write_text("x")
    with pytest.raises(InvalidInput, match="not empty"):
        podman.run(podman.load(oci_apps["hello"]), app_run)


def test_load__local_image_with_wrong_checksum__refused_with_both_values(
    podman: PodmanRuntime, oci_apps: dict[str, AppSource]
) -> None:
    good = oci_apps["hello"]
    wrong = b"\x11" * 32
    with pytest.raises(InvalidInput, match="checksum mismatch") as caught:
        podman.load(AppSource("oci", good.multiaddr, wrong))
    assert wrong.hex() in str(caught.value)
    assert good.checksum.hex() in str(caught.value)


def test_load__image_not_in_storage__invalid_input(podman: PodmanRuntime) -> None:
    with pytest.raises(InvalidInput, match="not in local podman storage"):
        podman.load(AppSource("oci", f"localhost/veritask/absent-{uuid.uuid4().hex}:1", b"\0" * 32))


def test_load__archive_with_wrong_checksum__refused_before_loading(podman: PodmanRuntime) -> None:
    app = build_app("hello")
    source = AppSource("oci", "/ipfs/bafyhello", b"\x22" * 32, lambda _: app.archive)
    with pytest.raises(InvalidInput, match="checksum mismatch") as caught:
        podman.load(source)
    assert app.archive_checksum.hex() in str(caught.value)


def test_load__archive_from_bytes__loads_and_runs(podman: PodmanRuntime, make_run: MakeRun) -> None:
    # A layer unique to this test makes an image that cannot already be in storage.
    marker = uuid.uuid4().hex
    archive, image_id = image_archive(
        f"localhost/veritask/test-{marker}:1",
        [busybox_layer()],
        ["/bin/sh", "-c", f"echo {marker} > /iexec_out/result.txt"],
    )
    fetched: list[str] = []

    def fetch(multiaddr: str) -> bytes:
        fetched.append(multiaddr)
        return archive

    source = AppSource("oci", f"/ipfs/bafy{marker}", hashlib.sha256(archive).digest(), fetch)
    try:
        prepared = podman.load(source)
        assert prepared.reference == image_id
        assert podman.load(source) is prepared  # cached by checksum: no second fetch
        assert fetched == [source.multiaddr]
        app_run = make_run()
        outcome = podman.run(prepared, app_run)
        assert outcome.ok(), outcome
        assert (app_run.out_dir / "result.txt").read_text() == f"{marker}\n"
    finally:
        podman.command("rmi", "--force", image_id)


def test_load__not_an_image_archive__invalid_input(podman: PodmanRuntime) -> None:
    data = b"not a tarball"
    source = AppSource("oci", "/ipfs/bafyjunk", hashlib.sha256(data).digest(), lambda _: data)
    with pytest.raises(InvalidInput, match="not an image archive"):
        podman.load(source)


def test_install__demo_image__podman_reports_the_built_image_id(
    podman: PodmanRuntime, oci_apps: dict[str, AppSource]
) -> None:
    for name, source in oci_apps.items():
        assert podman.image_id(source.multiaddr) == build_app(name).checksum.hex()


def test_run__trivial_app__overhead_reported(run_oci: RunApp, make_run: MakeRun) -> None:
    durations = []
    for _ in range(3):
        start = time.monotonic()
        assert run_oci("hello", make_run()).ok()
        durations.append(time.monotonic() - start)
    print(f"podman per-run overhead (hello, incl. load + leak check): {min(durations):.3f} s")
    assert min(durations) < 5
