"""Acceptance (issue 14): the console as an operator meets it, in a real terminal.

One ``hatui demo`` runs in tmux at 80x24 for the whole module (two real engines); the
tests run in file order and build on each other, as a person at the keyboard would:
the screen fits, following survives a link cut and resizes, STONITH takes the typed
name, killing the attached node follows the survivor without claiming health. Then a
console attached after that failover, at 120x40, shows the log that led to it, and
when that engine dies too, every panel says its data is stale.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hatui.bridge import call_once
from hatui.viewmodel import log_line
from tests.hatui.tmuxlib import Tmux, hatui_command, panel_rows, tmux_available

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not tmux_available(), reason="tmux is not installed"),
]

SMALL = (80, 24)
LARGE = (120, 40)
DEMO = "demo"
LATE = "late"
SCROLLBAR = " ▁▂▃▄▅▆▇█▌▐▏▕"
"""Characters a scrollbar draws in a row's last column."""


class Demo:
    """The demo in tmux and where its engines live."""

    def __init__(self, tmux: Tmux, base: Path) -> None:
        self.tmux = tmux
        self.base = base

    def socket(self, node: str) -> Path:
        (directory,) = self.base.glob("hatui-demo-*")
        return directory / node / "state" / "control.sock"

    def screen(self, session: str = DEMO) -> str:
        return self.tmux.screen(session)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    base = tmp_path_factory.mktemp("acceptance")
    tmux = Tmux("hatui-accept")
    tmux.start(DEMO, hatui_command("demo", env={"TMPDIR": str(base)}), SMALL)
    try:
        tmux.wait(DEMO, "running here (alpha)", timeout=60)
        yield Demo(tmux, base)
    finally:
        tmux.keys(DEMO, "q")
        tmux.wait_gone(DEMO)
        tmux.kill()


def ring(socket: Path) -> list[dict[str, Any]]:
    """The engine's recent log, as ``subscribe`` gives it (this call logs one line)."""
    reply = asyncio.run(call_once(socket, "subscribe"))
    return list(reply["log"])


def newest_line_is_last_on_screen(demo: Demo, session: str, socket: Path) -> None:
    """The last row of the log panel is the newest line of the engine's log (the one
    before our own query's "connection from" line). Retried: the engine may log
    between the screen capture and the query."""
    last_row, newest = "", ""
    for _ in range(20):
        shown = demo.screen(session)
        if "─log ·" not in shown:  # caught in the middle of a redraw
            time.sleep(0.2)
            continue
        rows = [r for r in panel_rows(shown, "─log ·") if r.strip()]
        last_row = rows[-1].strip().rstrip(SCROLLBAR).rstrip() if rows else ""
        records = ring(socket)
        assert str(os.getpid()) in records[-1]["text"]  # our own query's connection line
        newest = log_line(records[-2])[1]
        if last_row and newest.startswith(last_row):
            return
        time.sleep(0.5)
    raise AssertionError(f"last log row {last_row!r} is not the newest line {newest!r}")


def fills(screen: str, width: int) -> bool:
    """The console is drawn at ``width`` columns (its footer ends at the last one)."""
    rows = screen.rstrip("\n").split("\n")
    return "─log ·" in screen and width - 2 <= len(rows[-1]) <= width


def test_80x24_fits_footer_log_and_help(demo: Demo) -> None:
    shown = demo.screen()
    footer = shown.rstrip("\n").split("\n")[-1]
    for key in ("s Standby", "S STONITH", "? Help", "q Quit", "k Kill", "c Cut link"):
        assert key in footer, footer
    assert footer.rstrip().endswith("^p palette")  # nothing cut off, no stray character
    assert len([r for r in panel_rows(shown, "─log ·") if r.strip()]) >= 4
    assert "intervals" in shown and "███" not in shown  # sparklines are not solid blocks
    demo.tmux.keys(DEMO, "?")
    help_screen = demo.tmux.wait(DEMO, "Heartbeat operator console")
    assert "k  demo: kill a node" in help_screen and "c  demo: cut or restore" in help_screen
    demo.tmux.keys(DEMO, "Escape")
    demo.tmux.wait(DEMO, "nodes & links", gone="Heartbeat operator console")


def test_following_survives_a_link_cut_and_resizes(demo: Demo) -> None:
    alpha = demo.socket("alpha")
    newest_line_is_last_on_screen(demo, DEMO, alpha)
    demo.tmux.keys(DEMO, "c")
    demo.tmux.wait(DEMO, "Cut or restore a link")
    demo.tmux.keys(DEMO, "Tab", "Tab", "Enter")  # Cancel, cut lo, [cut lo#2]
    shown = demo.tmux.wait(DEMO, "lo#2 cut (fault injection)")  # the summary grew a line
    assert "cluster OK" not in shown
    assert "log · following" in shown
    newest_line_is_last_on_screen(demo, DEMO, alpha)
    for size in (LARGE, SMALL):
        demo.tmux.resize(DEMO, size)
        demo.tmux.wait(DEMO, lambda s, w=size[0]: fills(s, w))
        newest_line_is_last_on_screen(demo, DEMO, alpha)
    demo.tmux.keys(DEMO, "c")
    demo.tmux.wait(DEMO, "restore lo#2")
    demo.tmux.keys(DEMO, "Tab", "Tab", "Enter")
    demo.tmux.wait(DEMO, "cluster OK", gone="DEGRADED")
    newest_line_is_last_on_screen(demo, DEMO, alpha)


def test_stonith_dialog_takes_the_typed_name(demo: Demo) -> None:
    demo.tmux.keys(DEMO, "S")
    demo.tmux.wait(DEMO, "STONITH: power-reset a node")
    demo.tmux.type(DEMO, "brav")  # no Tab: the name field has the cursor
    demo.tmux.wait(DEMO, lambda s: re.search(r"\bbrav\b", s))
    demo.tmux.keys(DEMO, "Enter")  # a wrong name: cancelled, nothing sent
    demo.tmux.wait(DEMO, "nothing was", gone="power-reset a node")
    demo.tmux.keys(DEMO, "S")
    demo.tmux.wait(DEMO, "STONITH: power-reset a node")
    demo.tmux.type(DEMO, "bravo")
    demo.tmux.keys(DEMO, "Enter")  # the exact name: sent (the demo has no device)
    demo.tmux.wait(DEMO, "no STONITH device configured", gone="power-reset a node")
    assert "stonith brav:" not in demo.screen()


def test_killing_the_attached_node_follows_the_survivor(demo: Demo) -> None:
    demo.tmux.keys(DEMO, "k")
    shown = demo.tmux.wait(DEMO, "Kill or restart a node")
    assert "then restarts" not in shown and "stays down until you restart it" in shown
    demo.tmux.keys(DEMO, "Tab", "Enter")  # Cancel, [kill alpha], kill bravo
    demo.tmux.wait(DEMO, "this node bravo", timeout=30)  # the console follows the survivor
    # bravo's own view: alpha is declared dead after deadtime (1 s), then never OK
    shown = demo.tmux.wait(DEMO, "alpha ✖ dead", timeout=30)
    assert "cluster OK" not in shown
    assert "1/2 nodes up" in shown
    demo.tmux.wait(DEMO, "running here (bravo)", timeout=30)


def test_console_attached_after_the_failover_shows_what_led_to_it(demo: Demo) -> None:
    bravo = demo.socket("bravo")
    demo.tmux.start(LATE, hatui_command("--socket", str(bravo)), LARGE)
    # the engine's recent log is there at once: what happened before we attached
    shown = demo.tmux.wait(LATE, "Taking over resource group demo-db")
    log = "\n".join(panel_rows(shown, "─log ·"))
    assert "Status update for node alpha: status dead" in log
    assert "mach_down takeover complete" in log
    timeline = shown[shown.index("timeline (why)") :]
    assert timeline.index("death") < timeline.index("takeover")  # time order
    newest_line_is_last_on_screen(demo, LATE, bravo)
    # the engine dies too: no panel may claim health, every one shows its age
    pid = asyncio.run(call_once(bravo, "status"))["pid"]
    os.kill(pid, signal.SIGKILL)
    shown = demo.tmux.wait(LATE, "no engine for", timeout=20)
    shown = demo.tmux.wait(LATE, lambda s: s.count("STALE: no engine for") >= 3, timeout=10)
    assert "cluster OK" not in shown and "DEGRADED" not in shown.split("\n")[0]
    assert "? cluster state UNKNOWN (no engine for" in shown
    demo.tmux.keys(LATE, "q")
    assert demo.tmux.wait_gone(LATE)
