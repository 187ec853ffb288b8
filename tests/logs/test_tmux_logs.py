"""`hatui logs` in a real terminal (tmux, 80x24 and 120x40), read from the screen.

Two classic-format logs (real Heartbeat's and our engine's, ``syslogmsgfmt false``) are
merged by time, a line appended while following shows up at the bottom, Up pauses
(the status line says how to resume) and End follows again.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from hatui.logs.parse import parse_stamp
from tests.wizard.terminal import Terminal, python_command

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEPARATOR = " │ "

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
]


@pytest.fixture(params=[(80, 24), (120, 40)], ids=["80x24", "120x40"])
def watcher(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Terminal, Path]]:
    alpha, bravo = tmp_path / "alpha-log", tmp_path / "bravo-log"
    shutil.copy(FIXTURES / "classic-heartbeat-alpha-ha-log", alpha)
    shutil.copy(FIXTURES / "classic-hatui-bravo-ha-log", bravo)
    command = python_command("-m", "hatui", "logs", str(alpha), str(bravo))
    term = Terminal("logs", command, size=request.param)
    try:
        yield term, tmp_path
    finally:
        term.close()


def log_rows(screen: str) -> list[str]:
    """The merged rows on screen (label, separator, line)."""
    return [row for row in screen.splitlines() if SEPARATOR in row]


def test_two_classic_logs_merge_by_time_and_follow_appends(
    watcher: tuple[Terminal, Path],
) -> None:
    term, folder = watcher
    total = sum(len((folder / n).read_text().splitlines()) for n in ("alpha-log", "bravo-log"))
    shown = term.wait_for(f"{total} lines · following")
    rows = log_rows(shown)
    assert len(rows) >= 5, shown
    labels = {row.split(SEPARATOR)[0].strip() for row in rows}
    stamps = [parse_stamp(row.split(SEPARATOR, 1)[1]) for row in rows]
    known = [stamp for stamp in stamps if stamp is not None]
    assert known == sorted(known), shown
    with (folder / "bravo-log").open("a") as handle:
        handle.write("heartbeat[4242]: 2026/12/07_00:00:01 info: appended now\n")
    term.wait_for(f"{total + 1} lines · following")
    shown = term.wait_for("info: appended now")
    assert log_rows(shown)[-1].rstrip().endswith("info: appended now"), shown
    assert labels <= {"alpha-log", "bravo-log"}
    term.keys("Up")
    term.wait_for("PAUSED: End, G or p follows")
    term.keys("End")
    term.wait_for("· following")
    term.keys("q")
