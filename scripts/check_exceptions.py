"""Fails when an exception class is defined in src/veritask outside `veritask/errors.py`:
every exception of the package lives in that one module, drawn in its docstring's tree.

An exception class is one whose bases include a builtin exception (`Exception`,
`ValueError`, ...), a class imported from `veritask.errors`, or another exception class
found so far, in any module (so `class X(SomeError)` is caught wherever `SomeError` is
defined). `EXEMPT` lists the private exceptions that stay in their module.
Usage: `python scripts/check_exceptions.py [SRC_DIR]` (default src/veritask).
"""

from __future__ import annotations

import ast
import builtins
import sys
from pathlib import Path

ALLOWED = "errors.py"  # relative to the package root
# Private exceptions that never leave their module, with why they cannot live in errors.py.
EXEMPT: dict[tuple[str, str], str] = {
    ("worker/agent.py", "_Failed"): "a step's failure, raised and caught inside the worker's "
    "Agent; it carries worker types (ReplicateStatus, Outcome) that errors.py must not import",
}
_BUILTIN_EXCEPTIONS = frozenset(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
)


def _base_name(node: ast.expr) -> str:
    """The class name a base expression names: `Name`, `module.Name`, `Name[...]`."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return _base_name(node.value)
    return ""


def _classes(tree: ast.Module) -> list[ast.ClassDef]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.ClassDef)]


def exception_classes(root: Path) -> list[tuple[Path, int, str]]:
    """(file, line, class name) of every exception class defined under `root`."""
    trees = {path: ast.parse(path.read_text(), str(path)) for path in sorted(root.rglob("*.py"))}
    known = set(_BUILTIN_EXCEPTIONS)
    # Exception names defined anywhere, to a fixed point: a class may derive from one that
    # another module (or a later line) defines.
    changed = True
    while changed:
        changed = False
        for tree in trees.values():
            for cls in _classes(tree):
                if cls.name not in known and any(_base_name(b) in known for b in cls.bases):
                    known.add(cls.name)
                    changed = True
    found = []
    for path, tree in trees.items():
        for cls in _classes(tree):
            if any(_base_name(base) in known for base in cls.bases):
                found.append((path, cls.lineno, cls.name))
    return found


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path("src/veritask")
    allowed = root / ALLOWED
    misplaced = [
        (path, line, name)
        for path, line, name in exception_classes(root)
        if path != allowed and (path.relative_to(root).as_posix(), name) not in EXEMPT
    ]
    for path, line, name in misplaced:
        print(f"{path}:{line}: exception class {name} must be defined in {allowed}")
    if misplaced:
        print(f"check_exceptions: {len(misplaced)} exception class(es) outside {allowed}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
