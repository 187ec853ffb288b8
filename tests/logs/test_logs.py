"""Log watcher: index, rotation, truncation, merge order, filters, the viewer."""

from __future__ import annotations

import os
from pathlib import Path

from hatui.logs.follow import Change, Follower
from hatui.logs.index import LineIndex
from hatui.logs.merge import ListLines, MergedLines, merge_order
from hatui.logs.parse import EventKind, parse_filter, parse_line, parse_stamp
from hatui.logs.screen import LogWatcherApp


def line(stamp: str, text: str, level: str = "info", host: str = "alpha") -> str:
    return f"{stamp} {host} heartbeat: [1]: {level}: {text}"


def test_index_reads_lines_lazily_and_skips_a_half_written_line(tmp_path: Path) -> None:
    path = tmp_path / "ha-log"
    path.write_bytes(b"one\ntwo\nthr")
    index = LineIndex(path)
    assert index.scan() == 2
    assert [index.line(0), index.line(1)] == ["one", "two"]
    with path.open("ab") as f:
        f.write(b"ee\nfour\n")
    assert index.catch_up() == 2
    assert index.lines(0, 10) == ["one", "two", "three", "four"]


def test_index_handles_chunk_boundaries(tmp_path: Path, monkeypatch: object) -> None:
    import hatui.logs.index as mod

    monkeypatch.setattr(mod, "CHUNK", 7)  # type: ignore[attr-defined]
    path = tmp_path / "ha-log"
    words = [f"line-{n}" for n in range(50)]
    path.write_text("\n".join(words) + "\n")
    index = LineIndex(path)
    index.scan()
    assert index.lines(0, 100) == words


def test_follow_survives_rotation(tmp_path: Path) -> None:
    path = tmp_path / "ha-log"
    path.write_text("a\nb\n")
    follower = Follower(path)
    follower.poll()
    with path.open("a") as f:
        f.write("c\n")
    os.rename(path, tmp_path / "ha-log.1")
    path.write_text("new-1\n")
    event = follower.poll()
    assert event.change is Change.ROTATED
    assert follower.index.lines(0, 10) == ["new-1"]
    with path.open("a") as f:
        f.write("new-2\n")
    assert follower.poll().added == 1
    assert follower.index.line(1) == "new-2"


def test_follow_survives_truncation(tmp_path: Path) -> None:
    path = tmp_path / "ha-log"
    path.write_text("old line one\nold line two\n")
    follower = Follower(path)
    follower.poll()
    with path.open("r+") as f:
        f.truncate(0)
    with path.open("a") as f:
        f.write("fresh\n")
    event = follower.poll()
    assert event.change is Change.TRUNCATED
    assert follower.index.lines(0, 10) == ["fresh"]


def test_timestamp_forms() -> None:
    a = parse_stamp("Nov 25 13:05:33 alpha heartbeat", 2026)
    b = parse_stamp("Nov 25 13:05:33.250 alpha heartbeat", 2026)
    c = parse_stamp("2026/11/25_13:05:33 heartbeat", 2026)
    assert a is not None and b is not None and c is not None
    assert b - a == 0.25 and c == a
    assert parse_stamp("Traceback (most recent call last):") is None


def test_merge_order_by_time_keeps_continuations_with_their_line() -> None:
    alpha = ListLines([
        line("Nov 25 13:05:30", "alpha first"),
        line("Nov 25 13:05:33.500", "alpha third"),
        "  continuation of third",
    ])  # fmt: skip
    bravo = ListLines([
        line("Nov 25 13:05:31", "bravo second", host="bravo"),
        "2026/11/25_13:05:34 bravo fourth",
    ])  # fmt: skip
    order = merge_order([alpha, bravo], 2026)
    assert [(m.source, m.number) for m in order] == [(0, 0), (1, 0), (0, 1), (0, 2), (1, 1)]
    merged = MergedLines([alpha, bravo], ["a", "b"], 2026)
    assert merged.line(1).startswith("b │") and "bravo second" in merged.line(1)


def test_parse_fields_and_events() -> None:
    info = parse_line(line("Nov 25 13:05:33", "Link bravo:eth0 dead.", "WARN"))
    assert (info.level, info.node, info.link, info.event) == ("WARN", "bravo", "eth0",
                                                              EventKind.DEATH)  # fmt: skip
    assert parse_line(line("Nov 25 1:1:1", "Taking over resource group IPaddr2::10.0.0.1")
                      ).resource == "IPaddr2::10.0.0.1"  # fmt: skip
    assert (
        parse_line("x WARN: Late heartbeat: Node bravo: interval 1200 ms").event is EventKind.LATE
    )
    assert parse_line("x info: Resetting node bravo with [null]").event is EventKind.FENCE


def test_filters() -> None:
    lines = [
        line("Nov 25 13:05:33", "Link bravo:eth0 up."),
        line("Nov 25 13:05:34", "Link charlie:eth1 dead.", "WARN"),
        line("Nov 25 13:05:35", "Return code 1 from /etc/ha.d/resource.d/IPaddr2", "ERROR"),
    ]

    def shown(text: str) -> list[int]:
        wanted = parse_filter(text)
        return [n for n, t in enumerate(lines) if wanted.matches(t)]

    assert shown("") == [0, 1, 2]
    assert shown("level:WARN") == [1, 2]
    assert shown("level:error") == [2]
    assert shown("node:bravo") == [0]
    assert shown("link:eth1") == [1]
    assert shown("res:IPaddr2") == [2]
    assert shown("return code") == [2]


async def test_viewer_follows_filters_and_jumps(tmp_path: Path) -> None:
    path = tmp_path / "ha-log"
    rows = [line(f"Nov 25 13:{n // 60:02d}:{n % 60:02d}", f"Link bravo:eth0 up. {n}")
            for n in range(500)]  # fmt: skip
    rows[100] = line("Nov 25 13:01:40", "node bravo: is dead", "WARN")
    path.write_text("\n".join(rows) + "\n")
    app = LogWatcherApp([path])
    async with app.run_test(size=(100, 24)) as pilot:
        for _ in range(100):
            await pilot.pause(0.02)
            if app.scanned and len(app.view.source) == 500:
                break
        with path.open("a") as f:
            f.write(line("Nov 25 14:00:00", "Resetting node bravo with [null]", "WARN") + "\n")
        for _ in range(150):
            await pilot.pause(0.02)
            if len(app.view.source) == 501:
                break
        assert len(app.view.source) == 501
        for _ in range(50):
            await pilot.pause(0.02)
            if app.view.scroll_offset.y == app.view.max_scroll_y > 470:
                break
        assert app.view.scroll_offset.y == app.view.max_scroll_y > 470  # following the end
        await pilot.press("g")  # not bound: nothing happens
        app.view.scroll_to(y=0, animate=False)
        app.view.following = False
        await pilot.press("e")
        assert app.view.cursor == 100
        await pilot.press("e")
        assert app.view.cursor == 500
        app.query_one("#filter").value = "level:WARN"  # type: ignore[attr-defined]
        for _ in range(100):
            await pilot.pause(0.02)
            if app.view.row_count == 2:
                break
        assert app.view.row_count == 2


def test_benchmark_runs_on_a_small_file() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    argv = [sys.executable, "bench/logwatch.py", "--size", "2000000", "--rate", "20000",
            "--seconds", "1"]  # fmt: skip
    done = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "open:" in done.stdout and "lines/s" in done.stdout
