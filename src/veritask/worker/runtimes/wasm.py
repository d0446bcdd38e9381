"""The wasmtime runtime: WASI preview1 modules, metered with fuel and a wall clock.

Each run gets its own Engine (a few ms) so that interrupting one run, through the
engine's epoch, never touches another; compiled modules are shared as serialized bytes,
cached by checksum in memory and, when `cache_dir` is given, on disk.
"""

from __future__ import annotations

import threading
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import wasmtime

from veritask.errors import InvalidInput, ToolError
from veritask.files import write_atomically
from veritask.worker.runtimes.base import (
    IEXEC_IN,
    IEXEC_OUT,
    AppRun,
    AppSource,
    Outcome,
    PreparedApp,
    Status,
    directory_bytes,
    output_overflow,
)
from veritask.worker.runtimes.logs import StreamTail

__all__ = ["FUEL_PER_S", "WASM_PAGE_BYTES", "WasmtimeRuntime"]

# Fuel is wasmtime's deterministic instruction budget (about one unit per wasm operator).
# This machine burns 0.7-1.1e9 fuel/s when idle; granting 0.25e9 per second of `time_s`
# makes fuel, not the wall clock, end a runaway app even on a loaded host, so replicas stop
# it at the same instruction and agree on TIMEOUT. The wall clock is the safety net.
FUEL_PER_S = 250_000_000
WASM_PAGE_BYTES = 65536
WATCH_S = 0.05
OUTPUT_WATCH_S = 0.05
PROGRAM_NAME = "app"


_MAX_TABLES = 4
_MAX_TABLE_ELEMENTS = 100_000


def _config() -> wasmtime.Config:
    config = wasmtime.Config()
    config.consume_fuel = True
    config.epoch_interruption = True
    # One memory per module: the memory limit is the app's total (a module with many
    # memories would otherwise get the limit once per memory). WASI commands need one.
    config.wasm_multi_memory = False
    return config


class WasmtimeRuntime:
    """WASI preview1 apps in-process; there is no network API in preview1 at all."""

    name = "wasmtime"

    def __init__(self, *, cache_dir: Path | None = None, fuel_per_s: int = FUEL_PER_S) -> None:
        self.cache_dir = cache_dir
        self.fuel_per_s = fuel_per_s
        self._compiled: dict[bytes, bytes] = {}
        self._lock = threading.Lock()

    def check(self) -> None:
        try:
            wasmtime.Engine(_config())
        except Exception as exc:  # any failure means the native library is unusable
            raise ToolError(
                f"wasmtime does not work here ({exc}); reinstall it: pip install 'wasmtime>=50,<51'"
            ) from exc

    def load(self, app: AppSource) -> PreparedApp:
        if app.kind != "wasm":
            raise InvalidInput(f"wasmtime runs wasm modules, not {app.kind!r} apps")
        if not app.is_content_addressed:
            raise InvalidInput(f"wasm app {app.multiaddr}: give /ipfs/<cid> of the module")
        with self._lock:
            cached = self._compiled.get(app.checksum)
        if cached is None:
            cached = self._read_cache(app.checksum)
        if cached is None:
            module_bytes = app.fetch_bytes()
            try:
                module = wasmtime.Module(wasmtime.Engine(_config()), module_bytes)
            except wasmtime.WasmtimeError as exc:
                raise InvalidInput(f"{app.multiaddr} is not a valid wasm module: {exc}") from exc
            compiled = bytes(module.serialize())
            self._write_cache(app.checksum, compiled)
            cached = compiled
        with self._lock:
            self._compiled[app.checksum] = cached
        return PreparedApp(self.name, "wasm", app.checksum, app.checksum.hex(), handle=cached)

    def _cache_path(self, checksum: bytes) -> Path | None:
        if self.cache_dir is None:
            return None
        # Serialized code is bound to the wasmtime version, so the version is in the name.
        # Deserializing trusts the file: the cache dir must be the worker's own.
        return self.cache_dir / f"{checksum.hex()}-wasmtime{version('wasmtime')}.cwasm"

    def _read_cache(self, checksum: bytes) -> bytes | None:
        path = self._cache_path(checksum)
        if path is None or not path.is_file():
            return None
        data = path.read_bytes()
        try:
            wasmtime.Module.deserialize(wasmtime.Engine(_config()), data)
        except wasmtime.WasmtimeError:
            return None  # stale or corrupt: recompile
        return data

    def _write_cache(self, checksum: bytes, compiled: bytes) -> None:
        path = self._cache_path(checksum)
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, compiled, fsync=False)  # a lost cache entry is recompiled

    def run(self, app: PreparedApp, run: AppRun) -> Outcome:
        if app.runtime != self.name or not isinstance(app.handle, bytes):
            raise InvalidInput(f"app prepared by {app.runtime}, not by {self.name}")
        run.validate()
        limits = run.limits
        # stdout and stderr go into bounded tails in memory, never to disk.
        out, err = StreamTail("stdout", limits.log_bytes), StreamTail("stderr", limits.log_bytes)
        start = time.monotonic()
        engine = wasmtime.Engine(_config())
        store = wasmtime.Store(engine)
        # The limits are the whole app's: one instance, one memory of at most
        # `memory_bytes`, and tables bounded too (their elements are host memory).
        store.set_limits(
            memory_size=limits.memory_bytes,
            memories=1,
            instances=1,
            tables=_MAX_TABLES,
            table_elements=_MAX_TABLE_ELEMENTS,
        )
        store.set_fuel(max(1, int(limits.time_s * self.fuel_per_s)))
        store.set_epoch_deadline(1)
        wasi = wasmtime.WasiConfig()
        wasi.argv = [PROGRAM_NAME, *run.args]
        wasi.env = sorted(run.env.items())
        wasi.stdout_custom = out.write
        wasi.stderr_custom = err.write
        wasi.preopen_dir(str(run.in_dir.resolve()), IEXEC_IN, fs_mutable=False)
        wasi.preopen_dir(str(run.out_dir.resolve()), IEXEC_OUT, fs_mutable=True)
        store.set_wasi(wasi)
        watch = _Watch(engine, run, start)
        watch.start()
        try:
            status, exit_code, detail = self._execute(engine, store, app.handle, run)
        finally:
            watch.stop()
        duration_s = time.monotonic() - start
        stdout, stderr = out.text(), err.text()
        output_bytes = directory_bytes(run.out_dir)
        overflow = output_overflow(run.out_dir, limits)
        if watch.reason == "timeout" and status is Status.TIMEOUT:
            detail = f"interrupted after the {limits.time_s:g} s wall-clock limit"
        if watch.reason == "output" or overflow:
            status = Status.OUTPUT_LIMIT
            detail = (
                overflow or f"/iexec_out holds {output_bytes} bytes > limit {limits.output_bytes}"
            )
        return Outcome(
            status,
            exit_code,
            stdout,
            stderr,
            duration_s,
            detail,
            output_bytes,
            stderr_tail=err.last_bytes(),
        )

    def _execute(
        self, engine: wasmtime.Engine, store: wasmtime.Store, compiled: bytes, run: AppRun
    ) -> tuple[Status, int | None, str]:
        module = wasmtime.Module.deserialize(engine, compiled)
        linker = wasmtime.Linker(engine)
        linker.define_wasi()
        memory: Any = None
        try:
            instance = linker.instantiate(store, module)
            memory = instance.exports(store).get("memory")
            start_func = instance.exports(store).get("_start")
            if not isinstance(start_func, wasmtime.Func):
                return Status.SANDBOX_ERROR, None, "the module exports no _start (WASI command)"
            start_func(store)
        except wasmtime.ExitTrap as exit_trap:
            code = int(exit_trap.code)
            if code == 0:
                return Status.COMPLETED, 0, ""
            if _at_memory_limit(memory, store, run):
                return Status.OUT_OF_MEMORY, code, _memory_detail(run)
            return Status.FAILED, code, f"exit code {code}"
        except wasmtime.Trap as trap:
            if trap.trap_code in (wasmtime.TrapCode.OUT_OF_FUEL, wasmtime.TrapCode.INTERRUPT):
                budget = int(run.limits.time_s * self.fuel_per_s)
                return Status.TIMEOUT, None, f"fuel budget of {budget} spent ({trap.trap_code})"
            if _at_memory_limit(memory, store, run):
                return Status.OUT_OF_MEMORY, None, _memory_detail(run)
            return Status.FAILED, None, f"trap: {trap.message.splitlines()[0]}"
        except wasmtime.WasmtimeError as exc:
            if memory is None and "memory" in str(exc).lower():
                return Status.OUT_OF_MEMORY, None, f"cannot instantiate: {exc}"
            return Status.SANDBOX_ERROR, None, f"wasmtime: {str(exc).splitlines()[0]}"
        return Status.COMPLETED, 0, ""


class _Watch:
    """Interrupts one run (through its own engine's epoch) at the wall-clock limit or as
    soon as /iexec_out outgrows its limit."""

    def __init__(self, engine: wasmtime.Engine, run: AppRun, start: float) -> None:
        self._engine = engine
        self._run = run
        self._deadline = start + run.limits.time_s
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.reason: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def _loop(self) -> None:
        next_output_check = time.monotonic() + OUTPUT_WATCH_S
        while not self._done.wait(WATCH_S):
            now = time.monotonic()
            if now >= self._deadline:
                self.reason = "timeout"
            elif now >= next_output_check:
                next_output_check = now + OUTPUT_WATCH_S
                if output_overflow(self._run.out_dir, self._run.limits):
                    self.reason = "output"
            if self.reason is not None:
                self._engine.increment_epoch()
                return


def _at_memory_limit(memory: Any, store: wasmtime.Store, run: AppRun) -> bool:
    """A failed run whose linear memory cannot grow by one more page hit the limit."""
    if not isinstance(memory, wasmtime.Memory):
        return False
    return (memory.size(store) + 1) * WASM_PAGE_BYTES > run.limits.memory_bytes


def _memory_detail(run: AppRun) -> str:
    return f"linear memory reached the {run.limits.memory_bytes} bytes limit"
