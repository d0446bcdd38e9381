"""scripts/check_structure.py finds what it must: an import cycle (a lazy import included),
web3 imported or its bindings used outside `chain/`; and the package itself is clean of
web3 outside the chain layer."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check_structure.py"


@pytest.fixture(scope="module")
def checks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_structure", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def package(tmp_path: Path) -> Iterator[Path]:
    root = tmp_path / "planted"
    (root / "chain").mkdir(parents=True)
    for folder in (root, root / "chain"):
        (folder / "__init__.py").write_text("")
    sys.path.insert(0, str(tmp_path))
    yield root
    sys.path.remove(str(tmp_path))
    for name in [m for m in sys.modules if m == "planted" or m.startswith("planted.")]:
        del sys.modules[name]


def test_import_cycles__lazy_import_back__is_a_cycle(checks: ModuleType, package: Path) -> None:
    (package / "a.py").write_text("from planted import b\n")
    (package / "b.py").write_text("def f() -> None:\n    from planted import a  # lazy\n")
    (package / "c.py").write_text("from planted import a\n")

    assert checks.import_cycles("planted") == [["planted.a", "planted.b"]]


def test_import_cycles__layered_package__none(checks: ModuleType, package: Path) -> None:
    (package / "a.py").write_text("from planted import b\n")
    (package / "b.py").write_text("import json\n")

    assert checks.import_cycles("planted") == []


def test_web3_outside_chain__imports_and_bindings__each_reported(
    checks: ModuleType, package: Path
) -> None:
    (package / "chain" / "port.py").write_text("import web3\nx = web3.Web3().eth\n")
    (package / "sdk.py").write_text(
        "from web3.exceptions import Web3Exception\n\ndef f(hub):\n    return hub.contracts\n"
    )

    assert checks.web3_outside_chain(package) == [
        "planted/sdk.py:1: imports web3.exceptions",
        "planted/sdk.py:4: uses .contracts (web3 bindings)",
    ]


def test_web3_outside_chain__veritask__clean(checks: ModuleType) -> None:
    assert checks.web3_outside_chain() == []
