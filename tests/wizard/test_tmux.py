"""End to end: `hatui setup` in a real terminal (tmux, 80x24) writes accepted files."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.wizard.test_state import check_config

ROOT = Path(__file__).resolve().parents[2]
SERVER = "hatui-wizard-e2e"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


def tmux(*args: str) -> str:
    done = subprocess.run(["tmux", "-L", SERVER, "-f", "/dev/null", *args],
                          capture_output=True, text=True, check=False)  # fmt: skip
    return done.stdout


def wait_screen(text: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = tmux("capture-pane", "-p", "-t", "wiz")
        if text in shown:
            return shown
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared:\n{tmux('capture-pane', '-p', '-t', 'wiz')}")


def keys(*names: str) -> None:
    tmux("send-keys", "-t", "wiz", *names)
    time.sleep(0.3)


def typed(text: str) -> None:
    """Replace the focused input's text."""
    keys("C-u")
    tmux("send-keys", "-t", "wiz", "-l", text)
    time.sleep(0.3)


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Path]:
    etc = tmp_path / "etc"
    command = (f"cd {ROOT} && TERM=xterm-256color {sys.executable} -m hatui setup "
               f"--config-dir {etc}")  # fmt: skip
    tmux("new-session", "-d", "-s", "wiz", "-x", "80", "-y", "24", command)
    tmux("set", "-s", "escape-time", "0")
    try:
        yield etc
    finally:
        tmux("kill-server")


def test_wizard_in_tmux_writes_files_check_config_accepts(session: Path) -> None:
    wait_screen("Step 1/8")
    typed("alpha")
    keys("NPage")
    wait_screen("Step 2/8")
    typed("bravo")
    keys("NPage")
    wait_screen("Step 3/8")
    keys("Tab")  # udpport -> ucast
    typed("lo 127.0.0.299")
    keys("NPage")
    wait_screen("bad IP address [127.0.0.299]")
    typed("lo 127.0.0.2")
    keys("NPage")
    wait_screen("Step 4/8")
    for step in range(5, 9):
        keys("NPage")
        wait_screen(f"Step {step}/8")
    wait_screen("accepted by the engine")
    keys("C-w")
    wait_screen("wrote")
    done = check_config(session)
    assert done.returncode == 0, done.stdout
    keys("C-q")
