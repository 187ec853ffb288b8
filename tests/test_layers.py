"""The layer contract (pyproject.toml ``[tool.importlinter]``, docs/architecture.md "Layers").

One declarative table says which package may import which: engine never imports the
console, Textual or Rich; hatui reaches the engine through the control client (the
wizard: config and protocol); inside the engine the arrows point down (programs, shell,
resources, STONITH/transport/control, process, core, protocol, config, errors); the core
and the protocol do no I/O; config starts nothing; no package's modules import each
other in a cycle. import-linter checks every import (also inside functions and under
TYPE_CHECKING) and every chain of imports, so a late import cannot hide an arrow.

The second test proves the check can fail: it copies the tree, plants one violation of
each kind and expects the contract that forbids it to be reported broken.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "hatui", "lab")
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on ``tree`` (its pyproject.toml, its packages first on the path)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache", "--config", str(tree / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_import_graph_keeps_the_layer_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.fixture(scope="module")
def copied_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packages and pyproject.toml, copied once; each case plants and removes its line."""
    tree = tmp_path_factory.mktemp("layers")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tree)
    return tree


VIOLATIONS = [
    pytest.param(
        "engine/config/model.py",
        "def _late() -> None:\n    import engine.stonith.fencer  # upward, imported late\n",
        "engine layers",
        "engine.config.model -> engine.stonith.fencer",
        id="config-reaches-up-into-stonith",
    ),
    pytest.param(
        "engine/resources/agents.py",
        "def _late() -> None:\n    from engine.resources import native_ip  # the old cycle\n",
        "no import cycles",
        "No cycles are allowed in engine.resources",
        id="agents-native-ip-cycle",
    ),
    pytest.param(
        "engine/core/membership.py",
        "import textual  # the console's toolkit in the engine\n",
        "engine never imports the console",
        "engine.core.membership -> textual",
        id="engine-imports-textual",
    ),
    pytest.param(
        "hatui/app.py",
        "from engine.shell import daemon  # past the control client\n",
        "hatui reaches the engine through the control client",
        "hatui.app -> engine.shell.daemon",
        id="console-imports-the-daemon",
    ),
    pytest.param(
        "engine/core/sequence.py",
        "import asyncio  # I/O in the sans-I/O core\n",
        "sans-I/O",
        "engine.core.sequence -> asyncio",
        id="core-imports-asyncio",
    ),
]


@pytest.mark.parametrize(("path", "line", "contract", "shown"), VIOLATIONS)
def test_a_planted_violation_breaks_its_contract(
    copied_tree: Path, path: str, line: str, contract: str, shown: str
) -> None:
    target = copied_tree / path
    original = target.read_text()
    target.write_text(original + "\n\n" + line)
    try:
        result = lint_imports(copied_tree)
    finally:
        target.write_text(original)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    broken = out[out.index("Broken contracts") :]
    assert contract in broken
    assert shown in broken
