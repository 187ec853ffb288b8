"""Real programs in a real terminal: a private tmux server for end-to-end tests.

Each ``Tmux`` is its own tmux server (``-L`` with a name unique to this process and
object), so parallel test runs and other people's sessions are never touched, and
``kill`` ends exactly what the test started. Screens are read with ``capture-pane``:
the characters a person would see, at the size the test chose.

Shared by the console acceptance tests and the wizard / ``hatui logs`` ones.
"""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_SERVERS = itertools.count(1)


def tmux_available() -> bool:
    """True when the tmux binary is on PATH."""
    return shutil.which("tmux") is not None


def hatui_command(*args: str, env: Mapping[str, str] | None = None) -> str:
    """A shell command running ``python -m hatui ARGS`` from the repository root."""
    assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
    argv = shlex.join([sys.executable, "-m", "hatui", *args])
    return f"cd {shlex.quote(str(ROOT))} && {assignments} TERM=xterm-256color {argv}".strip()


class Tmux:
    """A private tmux server; sessions are named by the test."""

    def __init__(self, prefix: str = "hatui-e2e") -> None:
        self.server = f"{prefix}-{os.getpid()}-{next(_SERVERS)}"

    def run(self, *args: str) -> str:
        """One tmux command on this server; its stdout ("" on failure).

        The server (started by the first command) gets this process's environment
        without COLUMNS/LINES: pytest sets them, and a program that inherits them keeps
        that size whatever its terminal does (Rich reads them before the tty).
        """
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        result = subprocess.run(
            ["tmux", "-L", self.server, "-f", "/dev/null", *args],
            capture_output=True, text=True, check=False, env=env,
        )  # fmt: skip
        return result.stdout

    def start(self, session: str, command: str, size: tuple[int, int] = (80, 24)) -> None:
        """Run ``command`` (a shell command) in a new detached session of ``size``."""
        width, height = size
        self.run("new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), command)
        self.run("set", "-s", "escape-time", "0")  # Escape alone is Escape, not alt+key

    def screen(self, session: str) -> str:
        """The visible screen of the session, as text."""
        return self.run("capture-pane", "-p", "-t", session)

    def lines(self, session: str) -> list[str]:
        """The visible screen, one string per row."""
        return self.screen(session).split("\n")

    def wait(
        self,
        session: str,
        check: str | Callable[[str], object],
        timeout: float = 30.0,
        gone: str = "",
    ) -> str:
        """Poll the screen until it contains ``check`` (or ``check(screen)`` holds) and
        not ``gone``; the screen then. Fails with the last screen."""
        deadline = time.monotonic() + timeout
        shown = ""
        while time.monotonic() < deadline:
            shown = self.screen(session)
            held = check in shown if isinstance(check, str) else check(shown)
            if held and not (gone and gone in shown):
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{check!r} not on the screen within {timeout} s:\n{shown}")

    def keys(self, session: str, *keys: str) -> None:
        """Press keys (tmux key names: ``Enter``, ``Tab``, ``Escape``, ``q``...)."""
        self.run("send-keys", "-t", session, *keys)

    def type(self, session: str, text: str) -> None:
        """Type ``text`` literally, one character after another."""
        self.run("send-keys", "-t", session, "-l", text)

    def resize(self, session: str, size: tuple[int, int]) -> None:
        """Resize the session's window, as a person resizing the terminal would."""
        width, height = size
        self.run("resize-window", "-t", f"{session}:", "-x", str(width), "-y", str(height))

    def alive(self, session: str) -> bool:
        """True while the session (its program) runs."""
        return session in self.run("list-sessions", "-F", "#{session_name}").split()

    def wait_gone(self, session: str, timeout: float = 15.0) -> bool:
        """Wait for the session's program to exit; True when it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive(session):
            time.sleep(0.2)
        return not self.alive(session)

    def kill(self) -> None:
        """End the server and everything running in it."""
        self.run("kill-server")


def panel_rows(screen: str, title: str, next_titles: tuple[str, ...] = ("─",)) -> list[str]:
    """The rows of the panel whose top border names ``title`` (``─log ·``), up to the
    next border row or the footer; in the wide layout only the left column."""
    rows = screen.split("\n")
    start = next(i for i, row in enumerate(rows) if row.lstrip().startswith(title))
    body = []
    for row in rows[start + 1 :]:
        if row.startswith(next_titles) or row.startswith(("s Standby", " s Standby")):
            break
        body.append(row.split("│")[0].rstrip())
    return body
