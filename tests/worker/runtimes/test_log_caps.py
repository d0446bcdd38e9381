"""An app's stdout and stderr are bounded on the host (audit M6): an app writing 64 MiB on
stdout under a 1 KiB log limit leaves at most the kept tail in the worker, in memory, and
never tens of MiB on the worker's disk; the log says how much was cut. Both runtimes."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.worker.runtimes.conftest import MakeRun
from veritask.worker.apps.build import build_app
from veritask.worker.runtimes import Outcome, PodmanRuntime, Status, WasmtimeRuntime

LOG_BYTES = 1_024
WRITTEN = 64 * 2**20


@pytest.fixture
def disk_peak(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], int]]:
    """The largest number of bytes seen under the temporary folder the runtimes use, sampled
    every 10 ms while the test runs."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            total = 0
            for folder, _dirs, files in os.walk(scratch):
                for name in files:
                    with contextlib.suppress(OSError):  # a file removed meanwhile
                        total += os.lstat(os.path.join(folder, name)).st_size
            peak[0] = max(peak[0], total)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    yield lambda: peak[0]
    done.set()
    watcher.join()


def _assert_capped(outcome: Outcome, peak: int) -> None:
    assert outcome.status is Status.COMPLETED, outcome
    note, _, tail = outcome.stdout.partition("\n")
    assert note.startswith("[veritask: stdout was ")
    assert "only its last 1024 are kept" in note
    assert 0 < len(tail.encode()) <= LOG_BYTES
    assert peak < WRITTEN // 16, f"{peak} bytes of logs reached the worker's disk"


def test_wasm__64_mib_on_stdout__capped_in_memory(
    make_run: MakeRun, disk_peak: Callable[[], int]
) -> None:
    app = build_app("probe-wasm")
    runtime = WasmtimeRuntime()
    prepared = runtime.load(app.archive_source("/ipfs/bafyprobe", lambda _: app.archive))
    outcome = runtime.run(prepared, make_run("chatter", log_bytes=LOG_BYTES))
    _assert_capped(outcome, disk_peak())


@pytest.mark.podman
def test_podman__64_mib_on_stdout__capped_in_memory(
    podman: PodmanRuntime, make_run: MakeRun, disk_peak: Callable[[], int]
) -> None:
    app = build_app("probe")
    prepared = podman.load(app.archive_source("/ipfs/bafyprobe", lambda _: app.archive))
    outcome = podman.run(prepared, make_run("chatter", log_bytes=LOG_BYTES))
    _assert_capped(outcome, disk_peak())
    assert outcome.stderr == "probe: chattered\n"
