"""Fixtures for the runtime tests: task folders, a run helper that checks nothing leaks,
and the demo apps installed in podman's local storage (idempotent, parallel-safe)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from veritask.errors import ToolError
from veritask.worker.apps.build import build_app, install_app
from veritask.worker.runtimes import AppRun, AppSource, Limits, Outcome, PodmanRuntime

TASK_ENV = {
    "IEXEC_TASK_ID": "0x" + "ab" * 32,
    "IEXEC_IN": "/iexec_in",
    "IEXEC_OUT": "/iexec_out",
    "IEXEC_DATASET_FILENAME": "dataset.txt",
    "IEXEC_BOT_SIZE": "1",
}
DATASET = "the quick brown fox\njumps over\nthe lazy dog\n"

MakeRun = Callable[..., AppRun]


@pytest.fixture
def make_run(tmp_path: Path) -> MakeRun:
    """A fresh in/out folder pair per call; `dataset.txt` in the input folder."""
    counter = iter(range(1000))

    def make(
        *args: str, env: Mapping[str, str] | None = None, time_s: float = 10.0, **limits: int
    ) -> AppRun:
        root = tmp_path / f"run{next(counter)}"
        in_dir, out_dir = root / "in", root / "out"
        in_dir.mkdir(parents=True)
        out_dir.mkdir()
        (in_dir / "dataset.txt").write_text(DATASET)
        return AppRun(
            in_dir, out_dir, args, TASK_ENV if env is None else env, Limits(time_s, **limits)
        )

    return make


@pytest.fixture(scope="session")
def podman() -> PodmanRuntime:
    runtime = PodmanRuntime()
    try:
        runtime.check()
    except ToolError as exc:
        # scripts/setup installs podman: a broken one must fail the suite, not hide the
        # OCI path. VERITASK_ALLOW_NO_PODMAN=1 opts out on machines without it.
        if os.environ.get("VERITASK_ALLOW_NO_PODMAN") != "1":
            raise
        pytest.skip(f"podman unusable here: {exc}")
    return runtime


@pytest.fixture(scope="session")
def oci_apps(podman: PodmanRuntime) -> dict[str, AppSource]:
    return {name: install_app(build_app(name), podman) for name in ("hello", "wordcount", "probe")}


RunApp = Callable[[str, AppRun], Outcome]


@pytest.fixture
def run_oci(podman: PodmanRuntime, oci_apps: dict[str, AppSource]) -> RunApp:
    """Load + run an installed OCI demo app, then check its container is gone."""

    def run(name: str, app_run: AppRun) -> Outcome:
        outcome = podman.run(podman.load(oci_apps[name]), app_run)
        assert outcome.sandbox_id
        assert not podman.container_exists(outcome.sandbox_id), "container left behind"
        return outcome

    return run
