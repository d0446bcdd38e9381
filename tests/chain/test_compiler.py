"""The Vyper build: the five contracts, their sizes, and the on-disk cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from veritask.chain import compiler
from veritask.chain.compiler import CONTRACTS, Artifact, compile_all, compile_contract
from veritask.errors import ToolError

EIP170_RUNTIME_LIMIT = 24_576
EIP3860_INITCODE_LIMIT = 49_152
EXPECTED = {
    "token",
    "app_registry",
    "dataset_registry",
    "workerpool_registry",
    "lifecycle",
    "hub",
}


def test_compile_all__returns_the_five_contracts() -> None:
    artifacts = compile_all()

    assert set(artifacts) == EXPECTED
    for name, artifact in artifacts.items():
        assert isinstance(artifact, Artifact)
        assert artifact.name == name
        assert artifact.abi, f"{name} has an empty ABI"
        assert artifact.runtime, f"{name} has no runtime code"
        assert len(artifact.bytecode) > len(artifact.runtime), f"{name} has no constructor"


def test_compile_all__hub_abi__has_the_poco_entry_points() -> None:
    hub = compile_all()["hub"]
    functions = {entry["name"] for entry in hub.abi if entry["type"] == "function"}
    events = {entry["name"] for entry in hub.abi if entry["type"] == "event"}

    assert {"matchOrders", "deal", "consumed", "hash_request_order", "receiveApproval"} <= functions
    assert {"SchedulerNotice", "OrdersMatched", "DealCreated"} <= events


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_runtime_bytecode__within_eip170(name: str) -> None:
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
