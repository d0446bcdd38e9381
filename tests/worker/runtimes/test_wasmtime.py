"""WasmtimeRuntime with the demo WASI modules: contract, limits, checksums and caching."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.worker.runtimes.conftest import TASK_ENV, MakeRun
from veritask.errors import InvalidInput
from veritask.worker.apps.build import build_app, compile_wat
from veritask.worker.runtimes import AppSource, Outcome, Status, WasmtimeRuntime


def _source(name: str, fetched: list[str] | None = None) -> AppSource:
    app = build_app(name)

    def fetch(multiaddr: str) -> bytes:
        if fetched is not None:
            fetched.append(multiaddr)
        return app.archive

    return app.archive_source(f"/ipfs/bafy{name}", fetch)


def _run(
    runtime: WasmtimeRuntime, name: str, make_run: MakeRun, *args: str, **kw: float
) -> Outcome:
    return runtime.run(runtime.load(_source(name)), make_run(*args, **kw))


@pytest.fixture
def wasm() -> WasmtimeRuntime:
    runtime = WasmtimeRuntime()
    runtime.check()
    return runtime


def test_run__hello_with_args__writes_result_computed_json_and_sees_env(
    wasm: WasmtimeRuntime, make_run: MakeRun
) -> None:
    app_run = make_run("Alice", "and Bob")
    outcome = wasm.run(wasm.load(_source("hello-wasm")), app_run)
    assert outcome.ok(), outcome
    assert (app_run.out_dir / "result.txt").read_text() == "Hello, Alice and Bob!"
    computed = json.loads((app_run.out_dir / "computed.json").read_text())
    assert computed == {"deterministic-output-path": "/iexec_out/result.txt"}
    lines = outcome.stdout.splitlines()
    assert lines[0] == "Hello, Alice and Bob!"
    assert sorted(lines[1:]) == sorted(f"{k}={v}" for k, v in TASK_ENV.items())


def test_run__no_args__greets_the_world(wasm: WasmtimeRuntime, make_run: MakeRun) -> None:
    app_run = make_run()
    assert wasm.run(wasm.load(_source("hello-wasm")), app_run).ok()
    assert (app_run.out_dir / "result.txt").read_text() == "Hello, World!"


def test_run__app_exits_3__failed_with_its_stderr(wasm: WasmtimeRuntime, make_run: MakeRun) -> None:
    outcome = _run(wasm, "probe-wasm", make_run, "exit3")
    assert (outcome.status, outcome.exit_code) == (Status.FAILED, 3)
    assert outcome.stderr == "probe: failing on purpose\n"


def test_run__endless_loop__timeout_by_fuel(make_run: MakeRun) -> None:
    # 2e8 fuel runs out in well under the 2 s wall clock, even on a loaded host.
    runtime = WasmtimeRuntime(fuel_per_s=10**8)
    outcome = _run(runtime, "probe-wasm", make_run, "spin", time_s=2)
    assert (outcome.status, outcome.exit_code) == (Status.TIMEOUT, None)
    assert "fuel budget of 200000000 spent" in outcome.detail
    assert "OUT_OF_FUEL" in outcome.detail
    assert outcome.duration_s < 2


def test_run__endless_loop_with_ample_fuel__timeout_by_wall_clock(make_run: MakeRun) -> None:
    runtime = WasmtimeRuntime(fuel_per_s=10**12)
    outcome = _run(runtime, "probe-wasm", make_run, "spin", time_s=0.5)
    assert outcome.status is Status.TIMEOUT
    assert "wall-clock" in outcome.detail
    assert 0.5 <= outcome.duration_s < 3


def test_run__grows_memory_beyond_limit__out_of_memory(
    wasm: WasmtimeRuntime, make_run: MakeRun
) -> None:
    outcome = _run(wasm, "probe-wasm", make_run, "grow", memory_bytes=8 * 2**20)
    assert outcome.status is Status.OUT_OF_MEMORY


def test_run__floods_output__output_limit(wasm: WasmtimeRuntime, make_run: MakeRun) -> None:
    outcome = _run(wasm, "probe-wasm", make_run, "flood", output_bytes=2**20)
    assert outcome.status is Status.OUTPUT_LIMIT
    assert outcome.output_bytes > 2**20
    assert outcome.duration_s < 3


def test_run__writes_to_iexec_in__refused(wasm: WasmtimeRuntime, make_run: MakeRun) -> None:
    app_run = make_run("write-input")
    outcome = wasm.run(wasm.load(_source("probe-wasm")), app_run)
    assert (outcome.status, outcome.exit_code) == (Status.COMPLETED, 0)  # 0: creation refused
    assert sorted(p.name for p in app_run.in_dir.iterdir()) == ["dataset.txt"]


def test_run__twice__same_output_bytes(wasm: WasmtimeRuntime, make_run: MakeRun) -> None:
    digests = []
    for _ in range(2):
        app_run = make_run("Alice")
        assert wasm.run(wasm.load(_source("hello-wasm")), app_run).ok()
        files = sorted(app_run.out_dir.iterdir())
        digests.append([(p.name, hashlib.sha256(p.read_bytes()).hexdigest()) for p in files])
    assert digests[0] == digests[1]


def test_load__checksum_mismatch__refused_with_both_values(wasm: WasmtimeRuntime) -> None:
    module = build_app("hello-wasm").archive
    with pytest.raises(InvalidInput, match="checksum mismatch") as caught:
        wasm.load(AppSource("wasm", "/ipfs/bafyx", b"\x33" * 32, lambda _: module))
    assert ("33" * 32) in str(caught.value)
    assert hashlib.sha256(module).hexdigest() in str(caught.value)


def test_load__not_a_module__invalid_input(wasm: WasmtimeRuntime) -> None:
    data = b"\0asm junk"
    with pytest.raises(InvalidInput, match="not a valid wasm module"):
        wasm.load(
            AppSource("wasm", "/ipfs/bafyjunk", hashlib.sha256(data).digest(), lambda _: data)
        )


def test_load__oci_app__refused(wasm: WasmtimeRuntime) -> None:
    with pytest.raises(InvalidInput, match="not 'oci'"):
        wasm.load(AppSource("oci", "localhost/veritask/hello:1", b"\0" * 32))


def test_load__same_checksum__fetched_and_compiled_once(tmp_path: Path) -> None:
    fetched: list[str] = []
    first = WasmtimeRuntime(cache_dir=tmp_path)
    first.load(_source("hello-wasm", fetched))
    first.load(_source("hello-wasm", fetched))
    assert len(fetched) == 1
    assert len(list(tmp_path.glob("*.cwasm"))) == 1
    WasmtimeRuntime(cache_dir=tmp_path).load(_source("hello-wasm", fetched))  # from disk
    assert len(fetched) == 1


def test_run__trivial_app__overhead_reported(wasm: WasmtimeRuntime, make_run: MakeRun) -> None:
    prepared = wasm.load(_source("hello-wasm"))
    durations = [wasm.run(prepared, make_run()).duration_s for _ in range(5)]
    print(f"wasmtime per-run overhead (hello-wasm): {min(durations) * 1000:.1f} ms")
    assert min(durations) < 1


def _many_memories(count: int, pages: int) -> bytes:
    """A WASI command with `count` memories, each grown by `pages` 64 KiB pages at start,
    then exiting 0: the audit's M5 module (the limit applied per memory)."""
    memories = "".join(f"(memory $m{i} 1)" for i in range(1, count))
    grows = "".join(f"(drop (memory.grow $m{i} (i32.const {pages})))" for i in range(1, count))
    wat = f"""(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1) {memories}
      (func (export "_start") (drop (memory.grow (i32.const {pages}))) {grows}
        (call $exit (i32.const 0))))"""
    return compile_wat(wat, "many-memories.wat")


def test_load__sixteen_memories_each_at_the_limit__refused_not_16_times_the_limit(
    wasm: WasmtimeRuntime,
) -> None:
    """Audit M5: the memory limit is the app's total, not each memory's."""
    module = _many_memories(16, 255)  # 16 x 16 MiB against a 16 MiB limit
    source = AppSource("wasm", "/ipfs/bafymany", hashlib.sha256(module).digest(), lambda _: module)
    with pytest.raises(InvalidInput, match="multiple memories"):
        wasm.load(source)
