"""hatui reaches the engine only through its control client and schema."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import hatui

ALLOWED = {"engine.control.client", "engine.control.schema"}
# the setup wizard validates with the engine's own config loader and signs its live-test
# heartbeats with the engine's protocol code (both pure, I/O-light packages); its probes
# (discovery, the cluster-IP check, the copy command) run through the one program runner
WIZARD_ALLOWED = {"engine.config", "engine.protocol", "engine.process.runner"}
PACKAGE = Path(hatui.__file__).parent


def engine_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "engine"}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "engine":
            found.add(str(node.module))
    return found


def test_source_imports_only_the_control_client_and_schema() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert files
    allowed = ALLOWED | WIZARD_ALLOWED
    bad = {str(f.relative_to(PACKAGE)): engine_imports(f) - allowed for f in files}
    assert {k: v for k, v in bad.items() if v} == {}


def test_loaded_engine_modules_at_run_time() -> None:
    code = (
        "import sys, hatui.app, hatui.demo, hatui.cli; "
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('engine'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    # importing the client loads engine's package __init__ files and what the client needs
    assert loaded >= ALLOWED
    assert not any(
        m.startswith(("engine.core", "engine.shell.daemon", "engine.transport")) for m in loaded
    )
