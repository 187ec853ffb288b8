"""The log watcher on logs the real programs wrote: Heartbeat 3.0.6 and our engine.

``fixtures/`` holds one captured run (``tests/logs/realcapture.py``: real Heartbeat on
alpha, our engine on bravo, start, standby, stop) in both file formats, syslog form and
classic form (``syslogmsgfmt false``), log and debug files. A namespace test captures
a fresh run and checks the same, so a change in either program's output is caught.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from hatui.logs.merge import Lines, ListLines, MergedLines
from hatui.logs.parse import EventKind, parse_line, parse_stamp
from hatui.logs.screen import LogWatcherApp
from tests.logs.test_logs import until

FIXTURES = Path(__file__).resolve().parent / "fixtures"
YEAR = 2026
UNSTAMPED = ("INFO:", "ERROR:", "WARNING:", "DEBUG:")
"""OCF agents echo the bare message to the debug file on a line of its own."""
MILLIS = re.compile(r"_\d\d:\d\d:\d\d\.\d{3} ")


def fixture(name: str) -> list[str]:
    return (FIXTURES / name).read_text().splitlines()


def assert_every_line_timed(lines: Sequence[str], name: str, year: int | None = YEAR) -> None:
    untimed = [line for line in lines if parse_stamp(line, year) is None]
    assert all(line.startswith(UNSTAMPED) for line in untimed), (name, untimed[:5])
    assert len(untimed) < len(lines) / 10, name


def merged_stamps(merged: MergedLines, year: int | None = YEAR) -> list[float]:
    """Each merged row's time (a line without one has the time of the line before)."""
    stamps, last = [], float("-inf")
    for text in merged.lines(0, len(merged), labelled=False):
        stamp = parse_stamp(text, year)
        last = last if stamp is None else stamp
        stamps.append(last)
    return stamps


def merge(sources: Sequence[Lines], year: int | None = YEAR) -> MergedLines:
    merged = MergedLines(sources, [f"f{n}" for n in range(len(sources))], year)
    merged.extend()
    return merged


def test_every_line_of_the_real_logs_has_its_time() -> None:
    names = sorted(path.name for path in FIXTURES.iterdir())
    assert len(names) == 8  # 2 formats x 2 programs x (log, debug)
    for name in names:
        assert_every_line_timed(fixture(name), name)


def test_classic_lines_give_level_and_events() -> None:
    lines = fixture("classic-heartbeat-alpha-ha-log")
    warn = next(line for line in lines if "Initial dead time [3000 ms]" in line)
    assert warn.startswith("heartbeat[") and parse_line(warn, YEAR).level == "WARN"
    events = {parse_line(line, YEAR).event for line in lines}
    assert EventKind.TAKEOVER in events
    ours = fixture("classic-hatui-bravo-ha-debug")
    assert all(MILLIS.search(line) for line in ours), "our debugfile has millisecond stamps"


@pytest.mark.parametrize("form", ["classic", "syslog"])
def test_two_real_logs_merge_by_time(form: str) -> None:
    alpha = fixture(f"{form}-heartbeat-alpha-ha-log")
    bravo = fixture(f"{form}-hatui-bravo-ha-log")
    merged = merge([ListLines(alpha), ListLines(bravo)])
    assert len(merged) == len(alpha) + len(bravo)
    stamps = merged_stamps(merged)
    assert stamps == sorted(stamps)
    assert merged.runs > 4, "the two nodes' lines interleave, not one file after the other"


def test_the_two_formats_merge_with_each_other() -> None:
    classic = fixture("classic-heartbeat-alpha-ha-debug")
    syslog = fixture("syslog-hatui-bravo-ha-debug")
    stamps = merged_stamps(merge([ListLines(classic), ListLines(syslog)]))
    assert stamps == sorted(stamps)


def classic_line(stamp: str, text: str) -> str:
    return f"heartbeat[4242]: {stamp} info: {text}"


async def test_viewer_merges_classic_logs_follows_appends_and_pauses_on_scroll(
    tmp_path: Path,
) -> None:
    """Appended classic lines reach the tail; Up pauses (said on screen), End resumes."""
    alpha, bravo = tmp_path / "alpha-ha-log", tmp_path / "bravo-ha-log"
    shutil.copy(FIXTURES / "classic-heartbeat-alpha-ha-log", alpha)
    shutil.copy(FIXTURES / "classic-hatui-bravo-ha-log", bravo)
    total = len(alpha.read_text().splitlines()) + len(bravo.read_text().splitlines())
    app = LogWatcherApp([alpha, bravo])
    view = app.view
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.scanned and view.row_count == total, "both files")
        with bravo.open("a") as handle:
            handle.write(classic_line("2026/12/06_23:59:58", "appended to bravo") + "\n")
        with alpha.open("a") as handle:
            handle.write(classic_line("2026/12/06_23:59:59", "appended to alpha") + "\n")
        await until(pilot, lambda: view.row_count == total + 2, "the appended lines")
        last = [view.text(row) or "" for row in (total, total + 1)]
        assert last[0].endswith("appended to bravo") and last[1].endswith("appended to alpha")
        await until(pilot, lambda: view.scroll_offset.y == view.max_scroll_y > 0, "the tail")
        await pilot.press("up")
        await until(pilot, lambda: not view.following, "Up to pause")
        status = str(app.query_one("#status").render())
        assert "PAUSED: End, G or p follows" in status
        top = view.scroll_offset.y
        with alpha.open("a") as handle:
            handle.write(classic_line("2026/12/07_00:00:01", "while paused") + "\n")
        await until(pilot, lambda: view.row_count == total + 3, "the line written while paused")
        await pilot.pause(0.3)
        assert view.scroll_offset.y == top, "a paused view stays where it was scrolled"
        await pilot.press("end")
        await until(pilot, lambda: view.following, "End to follow again")
        await until(pilot, lambda: view.scroll_offset.y == view.max_scroll_y, "the tail again")
        assert "following" in str(app.query_one("#status").render())


@pytest.mark.netns
@pytest.mark.slow
def test_logs_of_a_fresh_real_heartbeat_and_engine_run_parse_and_merge() -> None:
    """Not only the committed capture: both programs' classic logs, written now."""
    from lab import engine_importable, lab_unavailable_reason
    from lab.realhb import realhb_unavailable_reason
    from tests.logs.realcapture import mixed_cluster, run_scenario

    for reason in (lab_unavailable_reason(), realhb_unavailable_reason(), engine_importable()):
        if reason is not None:
            pytest.skip(f"real Heartbeat in the namespace lab unavailable: {reason}")
    with mixed_cluster("classic") as cluster:
        run_scenario(cluster, standby=False)
        logs = {f"{name}-{kind}": lines for name in cluster.names
                for kind, lines in (("log", cluster[name].log_lines()),
                                    ("debug", cluster[name].debug_lines()))}  # fmt: skip
    for name, lines in logs.items():
        assert lines, name
        assert_every_line_timed(lines, name, year=None)
    assert any(line.startswith("heartbeat[") for line in logs["alpha-log"])  # classic form
    merged = merge([ListLines(logs["alpha-log"]), ListLines(logs["bravo-log"])], year=None)
    stamps = merged_stamps(merged, year=None)
    assert stamps == sorted(stamps) and merged.runs > 2
