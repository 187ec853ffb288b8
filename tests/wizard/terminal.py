"""A program in a real terminal (its own tmux server), read the way a person reads it.

Shared by the wizard and log-watcher acceptance tests: start a command at a given
size, press keys, wait for text on the screen, and read what stays on the terminal
after the program exits (``remain-on-exit``).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KEY_PAUSE_S = 0.15
SETTLE_S = 1.0
"""How long a key may take to show its effect before the next one is pressed anyway."""
TEXT_FIRST_S = 0.3
"""A key that changes no text (a focus move) is given this long before colours count."""


def python_command(*args: str, prefix: Sequence[str] = ()) -> str:
    """A shell command running ``python -m ...`` from the worktree in a colour terminal."""
    # COLUMNS/LINES (set by the test runner) would override the terminal's own size.
    env = ["-u", "COLUMNS", "-u", "LINES", "TERM=xterm-256color", f"PYTHONPATH={ROOT}"]
    argv = " ".join(shlex.quote(a) for a in [*prefix, "env", *env, sys.executable, *args])
    return f"cd {shlex.quote(str(ROOT))} && exec {argv}"


class Terminal:
    """One tmux session of ``size`` running ``command`` (a shell command line)."""

    def __init__(self, name: str, command: str, size: tuple[int, int] = (80, 24)) -> None:
        """Start it; the server socket is private to this test process."""
        self.server = f"hatui-{name}-{os.getpid()}"
        self.size = size
        width, height = size
        self.tmux("new-session", "-d", "-s", "main", "-x", str(width), "-y", str(height),
                  command)  # fmt: skip
        self.tmux("set", "-s", "escape-time", "0")
        self.tmux("set", "-g", "remain-on-exit", "on")

    def tmux(self, *args: str) -> str:
        """Run one tmux command on this session's server; its stdout."""
        done = subprocess.run(["tmux", "-L", self.server, "-f", "/dev/null", *args],
                              capture_output=True, text=True, check=False, timeout=10)  # fmt: skip
        return done.stdout

    def screen(self, joined: bool = False) -> str:
        """The visible text (``joined``: lines the terminal wrapped are put back together)."""
        return self.tmux("capture-pane", "-p", *(["-J"] if joined else []), "-t", "main")

    def painted(self) -> str:
        """The screen with its colours (a focus move shows only in colour)."""
        return self.tmux("capture-pane", "-p", "-e", "-t", "main")

    def wait_for(self, text: str, timeout: float = 30.0, *, joined: bool = False) -> str:
        """Wait until ``text`` is on screen; the screen then (fails with the screen)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen(joined)
            if text in shown:
                return shown
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared within {timeout} s:\n{self.screen()}")

    def wait_gone(self, text: str, timeout: float = 10.0) -> str:
        """Wait until ``text`` is no longer on screen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if text not in shown:
                return shown
            time.sleep(0.1)
        raise AssertionError(f"{text!r} still on screen after {timeout} s:\n{self.screen()}")

    def keys(self, *names: str) -> list[float | None]:
        """Press keys by tmux name (``Enter``, ``NPage``, ``C-u``, ``Tab``...), each one
        once the screen has shown the last one's effect (or after ``SETTLE_S``).

        Textual runs a bound key (Tab, Ctrl+U...) when the key event has bubbled up to
        the app, but lets a letter be taken by the focused field at once: letters typed
        right after a Tab can land before it, in the old field. A person sees the focus
        move before typing on; so does this. Returns, per key, the seconds until its
        effect showed (None: nothing visible changed within ``SETTLE_S``).
        """
        shown: list[float | None] = []
        for name in names:
            text, colours = self.screen(), self.painted()
            self.tmux("send-keys", "-t", "main", name)
            started = time.monotonic()
            changed = False
            while not changed and time.monotonic() - started < SETTLE_S:
                time.sleep(0.02)
                # The text first; colours (a focus move) only after TEXT_FIRST_S, as a
                # blinking cursor changes them by itself.
                late = time.monotonic() - started > TEXT_FIRST_S
                changed = self.screen() != text or (late and self.painted() != colours)
            shown.append(time.monotonic() - started if changed else None)
            time.sleep(KEY_PAUSE_S)
        return shown

    def type(self, text: str, *, clear: bool = True, seen: bool = True) -> None:
        """Type ``text`` literally (after clearing the focused field with Ctrl+U) and,
        as a person does, look that it is on screen (``seen``) before going on."""
        if clear:
            self.keys("C-u")
        self.tmux("send-keys", "-t", "main", "-l", text)
        time.sleep(KEY_PAUSE_S)
        if seen:
            self.wait_for(text, timeout=10)

    def exited(self) -> bool:
        """The program has ended (the pane stays, showing what it printed)."""
        return self.tmux("display", "-p", "-t", "main", "#{pane_dead}").strip() == "1"

    def wait_exit(self, timeout: float = 20.0) -> str:
        """Wait until the program has ended; what it left on the terminal, lines joined."""
        deadline = time.monotonic() + timeout
        while not self.exited():
            if time.monotonic() > deadline:
                raise AssertionError(f"still running after {timeout} s:\n{self.screen()}")
            time.sleep(0.1)
        return self.screen(joined=True)

    def close(self) -> None:
        """End the session and its server."""
        self.tmux("kill-server")
