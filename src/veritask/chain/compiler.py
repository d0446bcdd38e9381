"""Compiles the Vyper contracts, with an on-disk cache keyed by the sources and compiler.

The cache lives in `$VERITASK_CACHE_DIR` (default `~/.cache/veritask`); a source change, a
compiler upgrade or a settings change gives a new key, so a stale artifact is never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from veritask.errors import ToolError
from veritask.files import write_atomically

__all__ = ["CONTRACTS", "Artifact", "compile_all", "compile_contract", "contracts_root"]

# Deployable contracts: name -> source path under the contracts root.
CONTRACTS: dict[str, str] = {
    "token": "token/rlc.vy",
    "app_registry": "registries/app_registry.vy",
    "dataset_registry": "registries/dataset_registry.vy",
    "workerpool_registry": "registries/workerpool_registry.vy",
    "annex": "hub/annex.vy",
    "hub": "hub/hub.vy",
}
_OPTIMIZE = "gas"


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    runtime: bytes


def contracts_root() -> Path:
    """The Vyper sources: shipped inside the package, or at the top of a checkout."""
    packaged = Path(__file__).resolve().parent.parent / "contracts"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[3] / "contracts"
    if checkout.is_dir():
        return checkout
    raise ToolError("Vyper sources not found: reinstall veritask or run from a checkout")


def _cache_dir() -> Path:
    base = os.environ.get("VERITASK_CACHE_DIR") or Path.home() / ".cache" / "veritask"
    return Path(base) / "contracts"


def _sources_key(root: Path) -> str:
    import vyper

    digest = hashlib.sha256(f"vyper {vyper.__version__} -O {_OPTIMIZE}".encode())
    for path in sorted(root.rglob("*.vy*")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


def _compile(root: Path, name: str) -> Artifact:
    import vyper
    from vyper.compiler.input_bundle import FilesystemInputBundle
    from vyper.compiler.settings import OptimizationLevel, Settings

    path = root / CONTRACTS.get(name, name)
    search_paths = [root, *(Path(p) for p in sys.path if p and Path(p).is_dir())]
    try:
        out = vyper.compile_code(
            path.read_text(),
            contract_path=path,
            output_formats=["abi", "bytecode", "bytecode_runtime"],
            input_bundle=FilesystemInputBundle(search_paths),
            settings=Settings(optimize=OptimizationLevel.from_string(_OPTIMIZE)),
        )
    except vyper.exceptions.VyperException as exc:
        raise ToolError(f"vyper could not compile {path}: {exc}") from exc
    return Artifact(
        name=name,
        abi=out["abi"],
        bytecode=bytes.fromhex(out["bytecode"].removeprefix("0x")),
        runtime=bytes.fromhex(out["bytecode_runtime"].removeprefix("0x")),
    )


def compile_contract(name: str) -> Artifact:
    """One contract of `CONTRACTS`, or a source path under the contracts root such as
    "mocks/result_store.vy", from the cache when the sources have not changed."""
    root = contracts_root()
    if name not in CONTRACTS and not (name.endswith(".vy") and (root / name).is_file()):
        raise ToolError(f"unknown contract {name!r}: expected one of {', '.join(CONTRACTS)}")
    slug = name.removesuffix(".vy").replace("/", "-")
    cache = _cache_dir() / f"{slug}-{_sources_key(root)}.json"
    if cache.is_file():
        data = json.loads(cache.read_text())
        return Artifact(
            name=name,
            abi=data["abi"],
            bytecode=bytes.fromhex(data["bytecode"]),
            runtime=bytes.fromhex(data["runtime"]),
        )
    artifact = _compile(root, name)
    cache.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(
        cache,
        json.dumps(
            {
                "abi": artifact.abi,
                "bytecode": artifact.bytecode.hex(),
                "runtime": artifact.runtime.hex(),
            }
        ),
        fsync=False,  # a lost cache entry is recompiled
    )
    return artifact


def compile_all() -> dict[str, Artifact]:
    return {name: compile_contract(name) for name in CONTRACTS}
