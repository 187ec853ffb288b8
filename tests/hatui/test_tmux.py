"""End to end: `hatui demo` in a real terminal (tmux, 80x24), then quit cleanly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVER = f"hatui-e2e-{os.getpid()}"
"""A private tmux server per test process: parallel runs must not kill each other's."""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def tmux(*args: str) -> str:
    result = subprocess.run(
        ["tmux", "-L", SERVER, "-f", "/dev/null", *args],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return result.stdout


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", "demo")


def wait_screen(text: str, timeout: float = 30.0, gone: str = "") -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = screen()
        if text in shown and not (gone and gone in shown):
            return shown
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared; screen was:\n{screen()}")


def engine_pids(marker: str) -> list[str]:
    out = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True, check=False)
    return out.stdout.split()


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Path]:
    command = f"cd {ROOT} && TMPDIR={tmp_path} TERM=xterm-256color {sys.executable} -m hatui demo"
    tmux("new-session", "-d", "-s", "demo", "-x", "80", "-y", "24", command)
    tmux("set", "-s", "escape-time", "0")
    try:
        yield tmp_path
    finally:
        tmux("kill-server")


def test_demo_console_shows_cluster_and_quits_cleanly(session: Path) -> None:
    wait_screen("nodes & links")
    shown = wait_screen("2/2 nodes up")
    assert "demo-db" in shown
    assert "Standby" in shown  # footer
    marker = f"engine.programs.haengine --config-dir {session}/hatui-demo-"
    assert engine_pids(marker), "the demo engines are not running"
    tmux("send-keys", "-t", "demo", "?")
    wait_screen("Heartbeat operator console")
    tmux("send-keys", "-t", "demo", "Escape")
    wait_screen(
        "nodes & links", gone="Heartbeat operator console"
    )  # help closed: Escape was taken alone, so q is not read as alt+q
    tmux("send-keys", "-t", "demo", "q")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and tmux("list-sessions"):
        time.sleep(0.2)
    assert not tmux("list-sessions"), "the demo did not exit on q"
    assert not list(session.glob("hatui-demo-*")), "the demo left its directory behind"
    assert engine_pids(marker) == [], "engines were left running"
