"""Empty files and folders count against the output limit (audit L2): an app creating
20 000 empty files in /iexec_out under a 1 000-entry limit is stopped with OUTPUT_LIMIT,
well before it exhausts the worker's inodes. Both runtimes."""

from __future__ import annotations

import pytest

from tests.worker.runtimes.conftest import MakeRun
from veritask.worker.apps.build import build_app
from veritask.worker.runtimes import Outcome, PodmanRuntime, Status, WasmtimeRuntime

ENTRIES = 1_000


def _assert_stopped(outcome: Outcome) -> None:
    assert outcome.status is Status.OUTPUT_LIMIT, outcome
    assert f"entries > limit {ENTRIES}" in outcome.detail


def test_wasm__20_000_empty_files__output_limit(make_run: MakeRun) -> None:
    app = build_app("probe-wasm")
    runtime = WasmtimeRuntime()
    prepared = runtime.load(app.archive_source("/ipfs/bafyprobe", lambda _: app.archive))
    _assert_stopped(runtime.run(prepared, make_run("inodes", output_entries=ENTRIES)))


@pytest.mark.podman
def test_podman__20_000_empty_files__output_limit(podman: PodmanRuntime, make_run: MakeRun) -> None:
    app = build_app("probe")
    prepared = podman.load(app.archive_source("/ipfs/bafyprobe", lambda _: app.archive))
    _assert_stopped(podman.run(prepared, make_run("inodes", output_entries=ENTRIES)))
