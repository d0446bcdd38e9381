"""The Vyper build: the six contracts, their sizes, the hub and annex storage layouts, and
the on-disk cache."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from veritask.chain import compiler
from veritask.chain.compiler import CONTRACTS, Artifact, compile_all, compile_contract
from veritask.chain.deploy import hub_abi
from veritask.errors import ToolError

EIP170_RUNTIME_LIMIT = 24_576
EIP3860_INITCODE_LIMIT = 49_152
EXPECTED = {
    "token",
    "app_registry",
    "dataset_registry",
    "workerpool_registry",
    "annex",
    "hub",
}


def test_compile_all__returns_the_six_contracts() -> None:
    artifacts = compile_all()

    assert set(artifacts) == EXPECTED
    for name, artifact in artifacts.items():
        assert isinstance(artifact, Artifact)
        assert artifact.name == name
        assert artifact.abi, f"{name} has an empty ABI"
        assert artifact.runtime, f"{name} has no runtime code"
        assert len(artifact.bytecode) > len(artifact.runtime), f"{name} has no constructor"


def test_compile_all__hub_abi__has_the_poco_entry_points() -> None:
    abi = hub_abi(compile_all())
    functions = {entry["name"] for entry in abi if entry["type"] == "function"}
    events = {entry["name"] for entry in abi if entry["type"] == "event"}

    assert {"matchOrders", "deal", "consumed", "hash_request_order", "receiveApproval"} <= functions
    assert {"SchedulerNotice", "OrdersMatched", "DealCreated"} <= events


def _layout(name: str) -> dict[str, Any]:
    """vyper's "layout" output of one contract of `CONTRACTS`, compiled as the build does."""
    import vyper
    from vyper.compiler.input_bundle import FilesystemInputBundle

    root = compiler.contracts_root()
    path = root / CONTRACTS[name]
    search_paths = [root, *(Path(p) for p in sys.path if p and Path(p).is_dir())]
    out = vyper.compile_code(
        path.read_text(),
        contract_path=path,
        output_formats=["layout"],
        input_bundle=FilesystemInputBundle(search_paths),
    )
    layout: dict[str, Any] = out["layout"]
    return layout


def _slots(storage: dict[str, Any], prefix: str = "") -> dict[str, tuple[int, int, str]]:
    """Every storage variable of a layout as "module.name" -> (slot, n_slots, type)."""
    found: dict[str, tuple[int, int, str]] = {}
    for key, value in storage.items():
        if "slot" in value:
            found[prefix + key] = (value["slot"], value["n_slots"], value["type"])
        else:
            found |= _slots(value, f"{prefix}{key}.")
    return found


def test_storage_layout__hub_and_annex__identical() -> None:
    # The hub runs the annex with DELEGATECALL on its own storage: a variable at another
    # slot in the annex would read and write the wrong state.
    hub = _layout("hub")["storage_layout"]
    annex = _layout("annex")["storage_layout"]

    assert annex == hub
    slots = _slots(hub)
    # Not vacuous: every module's state is there, and no two variables share a slot.
    for variable in (
        "ownable.owner",
        "escrow._accounts",
        "categories.category_count",
        "orders.consumed",
        "orders.presigned",
        "matching._deals",
    ):
        assert variable in slots, sorted(slots)
    assert any(name.startswith("tasks.") for name in slots)
    used = [slot + i for slot, n_slots, _ in slots.values() for i in range(n_slots)]
    assert len(used) == len(set(used))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_runtime_bytecode__within_eip170(name: str) -> None:
    # The hub and the annex included: the split exists so that each fits.
    size = len(compile_contract(name).runtime)

    assert size <= EIP170_RUNTIME_LIMIT, (
        f"{name} runtime is {size} bytes, above the EIP-170 limit of {EIP170_RUNTIME_LIMIT}"
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_initcode__within_eip3860(name: str) -> None:
    size = len(compile_contract(name).bytecode)

    assert size <= EIP3860_INITCODE_LIMIT, (
        f"{name} initcode is {size} bytes, above the EIP-3860 limit of {EIP3860_INITCODE_LIMIT}"
    )


def test_compile_contract__second_call__reads_the_cache_without_compiling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VERITASK_CACHE_DIR", str(tmp_path))
    calls: list[str] = []
    real_compile = compiler._compile

    def counting(root: Path, name: str) -> Artifact:
        calls.append(name)
        return real_compile(root, name)

    monkeypatch.setattr(compiler, "_compile", counting)
    first = compile_contract("token")

    assert calls == ["token"], "an empty cache must compile"
    cached = list((tmp_path / "contracts").glob("token-*.json"))
    assert len(cached) == 1, f"expected one cache file, found {cached}"
    assert not list((tmp_path / "contracts").glob("*.tmp")), "a temporary file was left"

    def no_compiler(root: Path, name: str) -> Artifact:
        raise AssertionError(f"compiled {name} although it is cached")

    monkeypatch.setattr(compiler, "_compile", no_compiler)
    second = compile_contract("token")

    assert second == first


def test_sources_key__changes_when_a_source_changes(tmp_path: Path) -> None:
    root = tmp_path / "contracts"
    shutil.copytree(compiler.contracts_root(), root)
    before = compiler._sources_key(root)
    assert compiler._sources_key(root) == before

    with (root / CONTRACTS["token"]).open("a") as source:
        source.write("\n# an edit\n")

    assert compiler._sources_key(root) != before


def test_compile_contract__source_does_not_compile__raises_tool_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "contracts"
    shutil.copytree(compiler.contracts_root(), root)
    (root / CONTRACTS["token"]).write_text("# pragma version ~=0.4.3\n\ndef broken(:\n")
    monkeypatch.setattr(compiler, "contracts_root", lambda: root)
    monkeypatch.setenv("VERITASK_CACHE_DIR", str(tmp_path / "cache"))

    with pytest.raises(ToolError, match="vyper could not compile"):
        compile_contract("token")


def test_compile_contract__unknown_name__raises_tool_error() -> None:
    with pytest.raises(ToolError, match="unknown contract 'nope'") as raised:
        compile_contract("nope")

    for name in EXPECTED:
        assert name in str(raised.value)
