"""`veritask.sdk`'s face (as httpx's tests/test_exported_members.py): `__all__` lists every
public name that `veritask/sdk/__init__.py` imports or defines, sorted, and the command
line imports the SDK only through it, never from a `veritask.sdk.<module>`."""

from __future__ import annotations

import ast
import re
import types
from pathlib import Path

import veritask.cli
import veritask.sdk

SDK_INIT = Path(veritask.sdk.__file__)
CLI_DIR = Path(veritask.cli.__file__).parent


def _isort_key(name: str) -> tuple[int, list[int | str]]:
    """The order of ruff's RUF022 (isort-style): SCREAMING_CASE constants, then CamelCase
    classes, then the rest, each in natural order."""
    group = 0 if name.isupper() and len(name) > 1 else 1 if name[0].isupper() else 2
    natural = [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
    return group, natural


def _bound_names(tree: ast.Module) -> set[str]:
    """The names a module's top level imports, assigns or defines."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom | ast.Import):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


def _cli_files() -> list[Path]:
    files = sorted(CLI_DIR.glob("*.py"))
    assert files
    return files


def _sdk_imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) of every import of an SDK module in `path`, at any depth."""
    found: list[tuple[str, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "veritask.sdk" or node.module.startswith("veritask.sdk."):
                found += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [
                (alias.name, "")
                for alias in node.names
                if alias.name == "veritask.sdk" or alias.name.startswith("veritask.sdk.")
            ]
    return found


def test_sdk_all__of_its_init__every_public_name_sorted() -> None:
    tree = ast.parse(SDK_INIT.read_text(encoding="utf-8"))
    public = {name for name in _bound_names(tree) if not name.startswith("_")}
    assert veritask.sdk.__all__ == sorted(public, key=_isort_key)


def test_sdk_all__at_run_time__every_public_attribute_but_modules() -> None:
    attributes = {
        name
        for name, value in vars(veritask.sdk).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(veritask.sdk.__all__) == attributes


def test_cli_imports__of_the_sdk__only_names_of_its_face() -> None:
    exported = set(veritask.sdk.__all__)
    for path in _cli_files():
        for module, name in _sdk_imports(path):
            assert module == "veritask.sdk", f"{path.name} imports {module}: use veritask.sdk"
            assert name in exported, f"{path.name} imports {name}, missing in veritask.sdk.__all__"
