"""The engine must never pull in Textual or Rich; hatui reaches it only via the client."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def engine_modules() -> list[str]:
    names = []
    for path in sorted((ROOT / "engine").rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__main__":
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(parts))
    return names


def test_engine_never_imports_textual_or_rich() -> None:
    code = (
        "import importlib, sys\n"
        f"for name in {engine_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich', 'hatui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_hatui_uses_only_the_control_client() -> None:
    allowed = (
        "engine.control.client",
        "engine.control.schema",
        "engine",
        "engine.config",  # setup wizard: the same validation as --check-config
        "engine.protocol",  # setup wizard: signed live-test heartbeats
        "engine.process.runner",  # setup wizard: its probes go through the one runner
    )
    offenders = []
    for path in sorted((ROOT / "hatui").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("engine")
            ):
                if node.module not in allowed or (
                    node.module == "engine"
                    and any(alias.name not in ("__version__",) for alias in node.names)
                ):
                    offenders.append(f"{path.relative_to(ROOT)}: from {node.module} import ...")
            elif isinstance(node, ast.Import):
                offenders += [
                    f"{path.relative_to(ROOT)}: import {a.name}"
                    for a in node.names
                    if a.name.startswith("engine") and a.name not in allowed
                ]
    assert offenders == []
