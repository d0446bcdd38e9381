"""Which runtime runs which kind of app, and which runtimes work on this machine."""

from __future__ import annotations

from pathlib import Path

from veritask.errors import InvalidInput, ToolError
from veritask.worker.runtimes.base import AppKind, Runtime
from veritask.worker.runtimes.docker import DockerRuntime
from veritask.worker.runtimes.podman import PodmanRuntime
from veritask.worker.runtimes.wasm import WasmtimeRuntime

__all__ = ["RUNTIMES_BY_KIND", "available_runtimes", "runtime_for", "select_runtime"]

RUNTIMES_BY_KIND: dict[str, tuple[str, ...]] = {
    "oci": ("podman", "docker"),
    "wasm": ("wasmtime",),
}
"""Runtime names per app kind, in order of preference."""


def runtime_for(name: str, *, state_dir: Path | None = None) -> Runtime:
    """A fresh runtime by name ("podman", "docker", "wasmtime"), not yet checked."""
    if name == "podman":
        return PodmanRuntime()
    if name == "docker":
        return DockerRuntime()
    if name == "wasmtime":
        return WasmtimeRuntime(cache_dir=state_dir / "wasm" if state_dir else None)
    raise InvalidInput(f"unknown runtime {name!r}; use podman, docker or wasmtime")


def available_runtimes(*, state_dir: Path | None = None) -> dict[str, Runtime]:
    """Every runtime whose `check()` passes here, by name."""
    found: dict[str, Runtime] = {}
    for names in RUNTIMES_BY_KIND.values():
        for name in names:
            runtime = runtime_for(name, state_dir=state_dir)
            try:
                runtime.check()
            except ToolError:
                continue
            found[name] = runtime
    return found


def select_runtime(kind: AppKind | str, available: dict[str, Runtime] | None = None) -> Runtime:
    """The preferred working runtime for an app kind; ToolError saying why none works."""
    names = RUNTIMES_BY_KIND.get(kind)
    if names is None:
        raise InvalidInput(f"unknown app kind {kind!r}; use 'oci' or 'wasm'")
    problems = []
    for name in names:
        if available is not None:
            if name in available:
                return available[name]
            continue
        runtime = runtime_for(name)
        try:
            runtime.check()
        except ToolError as exc:
            problems.append(str(exc))
            continue
        return runtime
    raise ToolError(f"no runtime for {kind} apps here: {'; '.join(problems) or 'none checked'}")
