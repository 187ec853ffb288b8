"""End to end: `hatui demo` in a real terminal (tmux, 80x24), then quit cleanly."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hatui.tmuxlib import Tmux, hatui_command, tmux_available

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not tmux_available(), reason="tmux is not installed"),
]


def engine_pids(marker: str) -> list[str]:
    out = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True, check=False)
    return out.stdout.split()


@pytest.fixture
def session(tmp_path: Path) -> Iterator[tuple[Tmux, Path]]:
    tmux = Tmux()
    tmux.start("demo", hatui_command("demo", env={"TMPDIR": str(tmp_path)}))
    try:
        yield tmux, tmp_path
    finally:
        tmux.kill()


def test_demo_console_shows_cluster_and_quits_cleanly(session: tuple[Tmux, Path]) -> None:
    tmux, tmp = session
    tmux.wait("demo", "nodes & links")
    shown = tmux.wait("demo", "2/2 nodes up")
    assert "demo-db" in shown
    assert "Standby" in shown  # footer
    marker = f"engine.programs.haengine --config-dir {tmp}/hatui-demo-"
    assert engine_pids(marker), "the demo engines are not running"
    tmux.keys("demo", "?")
    tmux.wait("demo", "Heartbeat operator console")
    tmux.keys("demo", "Escape")
    # help closed: Escape was taken alone, so q is not read as alt+q
    tmux.wait("demo", "nodes & links", gone="Heartbeat operator console")
    tmux.keys("demo", "q")
    assert tmux.wait_gone("demo"), "the demo did not exit on q"
    assert not list(tmp.glob("hatui-demo-*")), "the demo left its directory behind"
    assert engine_pids(marker) == [], "engines were left running"
