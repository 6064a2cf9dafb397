"""Shape figures of the `timebank` package: module count, longest functions, import cycles between modules, and
imports that run back up a layer (the ledger importing the rest; a domain importing a translator).

Run from a checkout, also on an older commit to compare: `python scripts/shape_figures.py [ROOT]`.
Every import counts, lazy ones (inside functions) included.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

TRANSLATORS = ("timebank.api", "timebank.pages", "timebank.workers")
ENTRY_POINTS = {"timebank", "timebank.__main__", "timebank.wsgi", "timebank.cli", "timebank.ledger_cli",
                "timebank.demo", "timebank.supervisor"}


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(name: str, path: Path, modules: set[str]) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                package = package[: len(package) - node.level + 1]
                base = ".".join(package + ([base] if base else []))
            names = [n for n in (f"{base}.{a.name}" for a in node.names) if n in modules] or [base]
        else:
            continue
        for target in names:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith("timebank"):
                found.add(target)
    return found


def function_lengths(name: str, path: Path) -> list[tuple[int, str]]:
    return [(node.end_lineno - node.lineno + 1, f"{name}.{node.name}")
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for v in graph:
        if v not in index:
            visit(v)
    return found


def in_ledger(name: str) -> bool:
    return name == "timebank.ledger" or name.startswith("timebank.ledger.")


def runs_back_up(importer: str, imported: str) -> bool:
    if in_ledger(importer):
        return not in_ledger(imported) and imported != "timebank.db_base"
    if importer in ENTRY_POINTS or importer.startswith(TRANSLATORS):
        return False
    return imported.startswith(TRANSLATORS) or imported in ENTRY_POINTS


def main(root: Path) -> None:
    paths = {module_name(root, p): p for p in (root / "timebank").rglob("*.py")}
    graph = {name: imports_of(name, path, set(paths)) for name, path in paths.items()}
    lengths = sorted((item for name, path in paths.items() for item in function_lengths(name, path)), reverse=True)
    upward = sorted((a, b) for a, deps in graph.items() for b in deps if runs_back_up(a, b))
    found = cycles(graph)
    print(f"modules: {len(paths)}")
    print("longest functions:", ", ".join(f"{n} ({size} lines)" for size, n in lengths[:5]))
    print(f"module cycles: {len(found)}")
    for component in found:
        print("  cycle:", " <-> ".join(component))
    print(f"imports that run back up a layer: {len(upward)}")
    for a, b in upward:
        print(f"  {a} -> {b}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve())
