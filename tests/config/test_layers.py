"""engine/config only reads and validates files (issue 16 item 4, issue 15).

It imports nothing above it (a reload once ran STONITH plugins through an import of
``engine.stonith`` from here) and nothing that runs programs or threads, and its
modules import each other without a cycle. Every import counts, also those inside
functions ("imported late" is how the old cycle hid).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "engine" / "config"
RUNS_THINGS = {"subprocess", "asyncio", "concurrent", "threading", "multiprocessing", "signal"}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _graph() -> dict[str, set[str]]:
    return {_module(path): _imports(path) for path in sorted(CONFIG.glob("*.py"))}


def test_config_imports_only_itself_and_runs_nothing() -> None:
    bad = {}
    for module, imports in _graph().items():
        upward = {m for m in imports if m.split(".")[0] == "engine" and m != "engine.config"}
        upward = {m for m in upward if not m.startswith("engine.config.")}
        running = {m for m in imports if m.split(".")[0] in RUNS_THINGS}
        if upward | running:
            bad[module] = sorted(upward | running)
    assert bad == {}


def test_config_modules_import_each_other_without_a_cycle() -> None:
    graph = _graph()
    edges = {m: {i for i in imports if i in graph and i != m} for m, imports in graph.items()}
    edges["engine.config"] = set()  # the package re-exports; its modules never import it
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = "open"
        path.append(module)
        for target in sorted(edges.get(module, ())):
            if state.get(target) == "open":
                cycle = [*path[path.index(target) :], target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        path.pop()
        state[module] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module)
