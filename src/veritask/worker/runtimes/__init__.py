"""Sandboxed app runtimes of the worker: OCI images through podman (or Docker) and WASI
modules through wasmtime, behind one `Runtime` seam. See docs/runtimes.md."""

from veritask.worker.runtimes.base import (
    AppKind,
    AppRun,
    AppSource,
    Fetch,
    Limits,
    Outcome,
    PreparedApp,
    Runtime,
    Status,
)
from veritask.worker.runtimes.docker import DockerRuntime
from veritask.worker.runtimes.podman import PodmanRuntime
from veritask.worker.runtimes.registry import available_runtimes, runtime_for, select_runtime
from veritask.worker.runtimes.wasm import WasmtimeRuntime

__all__ = [
    "AppKind",
    "AppRun",
    "AppSource",
    "DockerRuntime",
    "Fetch",
    "Limits",
    "Outcome",
    "PodmanRuntime",
    "PreparedApp",
    "Runtime",
    "Status",
    "WasmtimeRuntime",
    "available_runtimes",
    "runtime_for",
    "select_runtime",
]
