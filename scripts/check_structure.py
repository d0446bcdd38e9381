"""Structural checks that import-linter's contracts do not express, run by scripts/check:

- no import cycle anywhere in `veritask` (lazy and TYPE_CHECKING imports count: a cycle
  that only a deferred import hides is still a cycle);
- only `veritask.chain` touches web3: no `web3` import elsewhere, and no use of the web3
  bindings behind the chain port (`.functions`, `.contracts`, `.w3`) outside it.

Prints each violation with its place and exits 1 when there is one.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "veritask"
# Attributes that only the web3 bindings of `veritask.chain` have.
_WEB3_ATTRIBUTES = {"functions", "contracts", "w3"}


def import_cycles(package: str = "veritask") -> list[list[str]]:
    """The import cycles of `package`: its strongly connected components of more than one
    module (Tarjan's algorithm, iterative)."""
    graph = grimp.build_graph(package, cache_dir=None)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(edges.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    return found


def web3_outside_chain(package: Path = PACKAGE) -> list[str]:
    """Each place of `package` outside its `chain/` that imports web3 or uses a web3
    binding's attribute."""
    problems = []
    chain = package / "chain"
    for path in sorted(package.rglob("*.py")):
        if chain in path.parents:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        where = path.relative_to(package.parent)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            else:
                names = []
            for name in names:
                if name == "web3" or name.startswith("web3."):
                    problems.append(f"{where}:{node.lineno}: imports {name}")
            if isinstance(node, ast.Attribute) and node.attr in _WEB3_ATTRIBUTES:
                problems.append(f"{where}:{node.lineno}: uses .{node.attr} (web3 bindings)")
    return problems


def main() -> int:
    failures = ["import cycle: " + " <-> ".join(component) for component in import_cycles()]
    failures += [f"{p}: only veritask.chain may touch web3" for p in web3_outside_chain()]
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
