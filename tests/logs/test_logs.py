"""Log watcher: index, rotation, truncation, merge order, filters, the viewer."""

from __future__ import annotations

import heapq
import os
import random
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input, Log

import hatui.logs.index as index_module
from hatui.logs.feed import LogFeed
from hatui.logs.follow import Change, Follower
from hatui.logs.index import LineIndex
from hatui.logs.merge import Lines, ListLines, MergedLines
from hatui.logs.parse import EventKind, level_rank, parse_filter, parse_line, parse_stamp
from hatui.logs.screen import HIT, LogWatcherApp
from hatui.widgets.logtail import LogPanel


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


def small_index(mp: pytest.MonkeyPatch, path: Path, text: str, **sizes: int) -> LineIndex:
    """``text`` written to ``path`` and opened with tiny chunk/block/line sizes."""
    for name, value in sizes.items():
        mp.setattr(index_module, name, value)
    path.write_text(text)
    return LineIndex(path)


def test_index_handles_chunk_and_block_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    words = [f"line-{n}" for n in range(50)]
    text = "\n".join(words) + "\n"
    index = small_index(monkeypatch, tmp_path / "ha-log", text, CHUNK=7, BLOCK=16)
    index.scan()
    assert index.lines(0, 100) == words
    assert [index.line(n) for n in (49, 0, 17)] == ["line-49", "line-0", "line-17"]


def test_index_cuts_giant_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "short\n" + "x" * 600 + "\nlast\n"
    sizes = {"CHUNK": 64, "GIANT": 256, "MAX_LINE": 100}
    index = small_index(monkeypatch, tmp_path / "ha-log", text, **sizes)
    index.scan()
    assert index.line(0) == "short" and index.line(len(index) - 1) == "last"
    assert index.line(1) == "x" * 100  # shown cut at MAX_LINE, indexed in GIANT pieces
    assert len(index) == 2 + 3  # 600 bytes + newline = pieces of 256, 256, 89


def test_index_opens_at_the_tail_then_puts_the_head_in_front(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ha-log"
    words = [f"line-{n:04d}" for n in range(2000)]
    index = small_index(monkeypatch, path, "\n".join(words) + "\n", CHUNK=256, BLOCK=64)
    index.start_at_tail(1000)
    tail = len(index)
    assert 80 <= tail <= 100 and not index.complete
    assert index.line(tail - 1) == "line-1999" and index.line(0) == words[2000 - tail]
    with path.open("a") as f:
        f.write("appended\n")
    assert index.catch_up() == 1
    spliced = None
    while spliced is None:
        spliced = index.scan_head(512)
        assert spliced is not None or 0 < index.head_progress() < 1
    assert spliced == 2000 - tail and index.complete
    assert index.lines(0, 5000) == [*words, "appended"]


def test_follow_survives_rotation_and_keeps_the_old_lines(tmp_path: Path) -> None:
    path = tmp_path / "ha-log"
    path.write_text("a\nb\n")
    follower = Follower(path)
    follower.poll()
    with path.open("a") as f:
        f.write("c\n")
    os.rename(path, tmp_path / "ha-log.1")
    path.write_text("new-1\n")
    event = follower.poll()
    assert (event.change, event.added, event.kept) == (Change.ROTATED, 2, 2)
    assert follower.index.lines(0, 10) == ["new-1"]
    assert follower.lines(0, 10) == ["a", "b", "c", "new-1"]
    with path.open("a") as f:
        f.write("new-2\n")
    assert follower.poll().added == 1
    assert follower.index.line(1) == "new-2" and follower.line(4) == "new-2"


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
    assert (event.change, event.kept) == (Change.TRUNCATED, 0)
    assert follower.index.lines(0, 10) == ["fresh"]


def test_timestamp_forms() -> None:
    a = parse_stamp("Nov 25 13:05:33 alpha heartbeat", 2026)
    b = parse_stamp("Nov 25 13:05:33.250 alpha heartbeat", 2026)
    c = parse_stamp("2026/11/25_13:05:33 heartbeat", 2026)
    assert a is not None and b is not None and c is not None
    assert b - a == 0.25 and c == a
    assert parse_stamp("Traceback (most recent call last):") is None


def reference_order(sources: Sequence[Lines], year: int) -> list[tuple[int, int]]:
    """The merge spelled out: every line stamped (continuations inherit), heapq-merged."""

    def stamped(source: int, lines: Lines) -> list[tuple[float, int, int]]:
        last, out = float("-inf"), []
        for number in range(len(lines)):
            stamp = parse_stamp(lines.line(number), year)
            last = stamp if stamp is not None else last
            out.append((last, source, number))
        return out

    merged = heapq.merge(*(stamped(i, lines) for i, lines in enumerate(sources)))
    return [(source, number) for _stamp, source, number in merged]


def merged_refs(merged: MergedLines) -> list[tuple[int, int]]:
    return [merged.where(row) for row in range(len(merged))]


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
    merged = MergedLines([alpha, bravo], ["a", "b"], 2026)
    assert merged.extend() == 0
    assert merged_refs(merged) == [(0, 0), (1, 0), (0, 1), (0, 2), (1, 1)]
    assert merged.line(1).startswith("b │") and "bravo second" in merged.line(1)
    assert merged.lines(3, 5, labelled=False) == ["  continuation of third",
                                                 "2026/11/25_13:05:34 bravo fourth"]  # fmt: skip


class Growing:
    """A source whose lines become visible a few at a time, like a file being written."""

    def __init__(self, lines: list[str]) -> None:
        self.all, self.visible = lines, 0

    def __len__(self) -> int:
        return self.visible

    def line(self, number: int) -> str:
        if not 0 <= number < self.visible:
            raise IndexError(number)
        return self.all[number]

    def lines(self, start: int, stop: int) -> list[str]:
        return self.all[max(start, 0) : min(stop, self.visible)]


def node_log(rng: random.Random, host: str, count: int, burst: int) -> list[str]:
    """``count`` lines in bursts of up to ``burst`` per second, with some continuations."""
    out, second = [], 0
    while len(out) < count:
        second += rng.randint(0, 2)
        for _ in range(rng.randint(1, burst)):
            stamp = f"Nov 25 13:{second // 60 % 60:02d}:{second % 60:02d}"
            out.append(line(stamp, f"{host} {len(out)}", host=host))
            if rng.random() < 0.1:
                out.append(f"  continuation {len(out)}")
    return out[:count]


@pytest.mark.parametrize("burst", [1, 5, 60])
def test_incremental_merge_equals_the_full_merge_at_every_step(burst: int) -> None:
    rng = random.Random(burst)
    sources = [Growing(node_log(rng, host, 600, burst)) for host in ("alpha", "bravo", "charlie")]
    merged = MergedLines(sources, ["a", "b", "c"], 2026)
    previous: list[tuple[int, int]] = []
    while any(s.visible < len(s.all) for s in sources):
        for source in sources:
            source.visible = min(len(source.all), source.visible + rng.randint(0, 40))
        changed = merged.extend()
        now = merged_refs(merged)
        assert now == reference_order(sources, 2026)
        first = changed if changed is not None else len(now)
        assert now[:first] == previous[:first]  # rows before `changed` did not move
        previous = now
    assert merged.runs < len(previous)


def test_merge_drops_a_truncated_file_and_keeps_the_others_in_order() -> None:
    rng = random.Random(7)
    alpha, bravo = (Growing(node_log(rng, h, 400, 3)) for h in ("alpha", "bravo"))
    alpha.visible, bravo.visible = 400, 400
    merged = MergedLines([alpha, bravo], ["a", "b"], 2026)
    merged.extend()
    before = merged_refs(merged)
    first_changed = merged.drop_from(1, 150)  # bravo was truncated after its line 150
    bravo.visible = 150
    after = merged_refs(merged)
    assert after == reference_order([alpha, bravo], 2026)
    assert first_changed == before.index((1, 150))
    assert after[:first_changed] == before[:first_changed]
    assert merged.drop_from(1, 400) is None  # nothing of bravo beyond what is merged


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


def stamped_rows(count: int, host: str = "alpha", start: int = 0, text: str = "up") -> list[str]:
    """``count`` lines, one second apart from second ``start`` (13:00:00 + start)."""
    return [line(f"Nov 25 {13 + n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}",
                 f"Link bravo:eth0 {text}. {n}", host=host)
            for n in range(start, start + count)]  # fmt: skip


def write_lines(path: Path, rows: list[str], mode: str = "a") -> None:
    with path.open(mode) as f:
        f.write("".join(row + "\n" for row in rows))


def run_feed_until_idle(feed: LogFeed) -> None:
    for _ in range(10_000):
        if not feed.step():
            return
    raise AssertionError("the feed never went idle")


@pytest.fixture
def small_slices(monkeypatch: pytest.MonkeyPatch) -> None:
    """An 8 KiB tail first, then the head in 16 KiB slices, merges 500 lines a step."""
    monkeypatch.setattr(index_module, "TAIL", 8 << 10)
    monkeypatch.setattr(index_module, "CHUNK", 4 << 10)
    monkeypatch.setattr("hatui.logs.feed.HEAD_SLICE", 16 << 10)
    monkeypatch.setattr("hatui.logs.feed.MERGE_SLICE", 500)


@pytest.mark.usefixtures("small_slices")
def test_feed_shows_the_end_first_then_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "ha-log"
    rows = stamped_rows(3000)
    write_lines(path, rows, "w")
    feed = LogFeed([path], follow=False)
    feed.open()
    first = feed.snapshot
    assert 0 < first.rows < 200 and first.source.line(first.rows - 1) == rows[-1]
    assert not first.complete and "indexing" in first.note
    run_feed_until_idle(feed)
    last = feed.snapshot
    assert last.complete and last.rows == 3000 and last.source.lines(0, 3000) == rows
    ((_version, remap),) = last.remaps
    assert remap(first.rows - 1) == 2999  # a paused view stays on the line it showed


@pytest.mark.usefixtures("small_slices")
def test_feed_merges_the_ends_first_then_swaps_in_the_full_merge(tmp_path: Path) -> None:
    alpha, bravo = tmp_path / "alpha.log", tmp_path / "bravo.log"
    write_lines(alpha, stamped_rows(3000, "alpha"), "w")
    write_lines(bravo, stamped_rows(1000, "bravo", start=1500), "w")
    feed = LogFeed([alpha, bravo], follow=False)
    feed.open()
    preview = feed.snapshot
    assert not preview.complete and 0 < preview.rows < 400
    run_feed_until_idle(feed)
    done = feed.snapshot
    assert done.complete and done.rows == 4000
    merged = done.source
    assert isinstance(merged, MergedLines)
    assert merged_refs(merged) == reference_order([feed.followers[0], feed.followers[1]], None)
    last_preview_line = preview.source.line(preview.rows - 1)
    ((_version, remap),) = done.remaps
    assert merged.line(remap(preview.rows - 1)) == last_preview_line


async def until(pilot: Pilot[None], test: Callable[[], object], what: str, seconds: float = 10):
    for _ in range(int(seconds / 0.02)):
        if test():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


async def pause_at_top(pilot: Pilot[None], app: LogWatcherApp) -> None:
    app.view.following = False
    await pilot.pause()
    app.view.scroll_to(y=0, animate=False)
    await until(pilot, lambda: app.view.scroll_offset.y == 0, "the view at the top")


def view_texts(app: LogWatcherApp) -> list[str]:
    view = app.view
    return [view.source.line(view.line_number(r)) for r in range(view.row_count)]


async def test_viewer_follows_filters_and_jumps(tmp_path: Path) -> None:
    path = tmp_path / "ha-log"
    rows = [line(f"Nov 25 13:{n // 60:02d}:{n % 60:02d}", f"Link bravo:eth0 up. {n}")
            for n in range(500)]  # fmt: skip
    rows[100] = line("Nov 25 13:01:40", "node bravo: is dead", "WARN")
    path.write_text("\n".join(rows) + "\n")
    app = LogWatcherApp([path])
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: app.scanned and app.view.row_count == 500, "the file")
        with path.open("a") as f:
            f.write(line("Nov 25 14:00:00", "Resetting node bravo with [null]", "WARN") + "\n")
        await until(pilot, lambda: app.view.row_count == 501, "the appended line")
        await until(pilot, lambda: app.view.scroll_offset.y == app.view.max_scroll_y > 470,
                    "the view to follow the end")  # fmt: skip
        await pilot.press("g")  # not bound: nothing happens
        await pause_at_top(pilot, app)
        await pilot.press("e")
        await until(pilot, lambda: app.view.cursor == 100, "the first event")
        await pilot.press("e")
        await until(pilot, lambda: app.view.cursor == 500, "the second event")
        app.query_one("#filter").value = "level:WARN"  # type: ignore[attr-defined]
        await until(pilot, lambda: app.view.row_count == 2, "the filter")
        assert "2/501 lines" in str(app.query_one("#status").render())


async def test_viewer_survives_rotation_and_keeps_the_old_lines(tmp_path: Path) -> None:
    path = tmp_path / "ha-log"
    write_lines(path, stamped_rows(50), "w")
    app = LogWatcherApp([path])
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: app.scanned and app.view.row_count == 50, "the file")
        write_lines(path, stamped_rows(5, start=50))
        os.rename(path, tmp_path / "ha-log.1")
        write_lines(path, stamped_rows(3, start=55, text="after rotation"), "w")
        await until(pilot, lambda: app.view.row_count == 58, "the rotated-in lines")
        assert Change.ROTATED in app.changes
        rotated_in = stamped_rows(3, start=55, text="after rotation")
        assert view_texts(app) == stamped_rows(55) + rotated_in
        write_lines(path, stamped_rows(2, start=58))
        await until(pilot, lambda: app.view.row_count == 60, "lines of the new file")
        await until(pilot, lambda: app.view.scroll_offset.y == app.view.max_scroll_y,
                    "the view to follow the end")  # fmt: skip


async def test_viewer_survives_truncation(tmp_path: Path) -> None:
    path = tmp_path / "ha-log"
    write_lines(path, stamped_rows(80), "w")
    app = LogWatcherApp([path])
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: app.scanned and app.view.row_count == 80, "the file")
        app.query_one("#filter").value = "fresh"  # type: ignore[attr-defined]
        await until(pilot, lambda: app.view.shown is not None, "the filter")
        with path.open("r+") as f:
            f.truncate(0)
        write_lines(path, stamped_rows(4, text="fresh"))
        await until(pilot, lambda: app.view.rows == 4 and app.view.row_count == 4,
                    "the lines written after the truncation")  # fmt: skip
        assert Change.TRUNCATED in app.changes
        assert view_texts(app) == stamped_rows(4, text="fresh")


async def test_search_highlights_every_hit_and_moves_the_cursor(tmp_path: Path) -> None:
    path = tmp_path / "ha-log"
    rows = stamped_rows(200)
    rows[42] = line("Nov 25 13:00:42", "Late heartbeat: node bravo: interval 1500 ms", "WARN")
    write_lines(path, rows, "w")
    app = LogWatcherApp([path])
    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: app.scanned and app.view.row_count == 200, "the file")
        await pause_at_top(pilot, app)
        await pilot.press("slash")
        await pilot.press(*"BRAVO", "enter")
        await until(pilot, lambda: app.view.cursor == 0, "the first hit")  # every row names bravo
        await pilot.press("n")
        await until(pilot, lambda: app.view.cursor == 1, "the next hit")
        app.view.search = "late heartbeat"
        await pilot.press("n")
        await until(pilot, lambda: app.view.cursor == 42, "the late-heartbeat line")
        await pilot.pause()
        strip = app.view.render_line(42 - app.view.scroll_offset.y)
        hits = [seg.text for seg in strip if seg.style and seg.style.bgcolor == HIT.bgcolor]
        assert hits == ["Late heartbeat"]
        plain = app.view.render_line(43 - app.view.scroll_offset.y)
        assert not [seg for seg in plain if seg.style and seg.style.bgcolor == HIT.bgcolor]
        seeks = app.seeks
        await pilot.press("N")  # no earlier late heartbeat: the cursor stays
        await until(pilot, lambda: app.seeks > seeks, "the search backwards")
        assert app.view.cursor == 42


async def test_two_growing_files_merge_in_time_order(tmp_path: Path) -> None:
    alpha, bravo = tmp_path / "alpha.log", tmp_path / "bravo.log"
    write_lines(alpha, stamped_rows(30, "alpha")[::2], "w")  # even seconds
    write_lines(bravo, stamped_rows(30, "bravo")[1::2], "w")  # odd seconds
    app = LogWatcherApp([alpha, bravo])

    def seconds() -> list[str]:
        return [text.split()[4] for text in view_texts(app)]

    async with app.run_test(size=(100, 24)) as pilot:
        await until(pilot, lambda: app.scanned and app.view.row_count == 30, "both files")
        assert [text.split(" │ ")[0] for text in view_texts(app)[:4]] == [
            "alpha.log", "bravo.log", "alpha.log", "bravo.log"]  # fmt: skip
        write_lines(alpha, stamped_rows(10, "alpha", start=30)[::2])  # 30, 32 ... 38
        await until(pilot, lambda: app.view.row_count == 35, "alpha's new lines")
        write_lines(bravo, stamped_rows(10, "bravo", start=30)[1::2])  # 31 ... 39: interleave
        await until(pilot, lambda: app.view.row_count == 40, "bravo's new lines")
        assert seconds() == [f"13:00:{n:02d}" for n in range(40)]
        write_lines(bravo, stamped_rows(1, "bravo", start=40))
        write_lines(alpha, stamped_rows(1, "alpha", start=40))  # same second: alpha first
        await until(pilot, lambda: app.view.row_count == 42, "the last two lines")
        assert [text.split(" │ ")[0] for text in view_texts(app)[-2:]] == ["alpha.log", "bravo.log"]


def test_benchmark_runs_on_a_small_file() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    argv = [sys.executable, "bench/logwatch.py", "--size", "2000000", "--rate", "20000",
            "--seconds", "1"]  # fmt: skip
    done = subprocess.run(argv, cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "open:" in done.stdout and "lines/s" in done.stdout


def test_level_words_rank_in_any_case_and_length() -> None:
    ranks = [level_rank(w) for w in ("EMERG", "crit", "err", "ERROR", "Warning", "notice",
                                     "INFO", "debug", "")]  # fmt: skip
    assert ranks == [0, 0, 1, 1, 2, 3, 4, 5, 5]
    assert parse_filter("level:warning").matches("12:00:00 ERROR x", level="ERROR")
    assert not parse_filter("level:warning").matches("12:00:00 INFO x", level="INFO")


async def test_console_log_panel_filters_by_level_and_words() -> None:
    class Panel(App[None]):
        def compose(self) -> ComposeResult:
            yield LogPanel()

    app = Panel()
    async with app.run_test(size=(100, 20)) as pilot:
        panel = app.query_one(LogPanel)
        panel.add_records([
            {"level": "info", "text": "Link bravo:eth0 up."},
            {"level": "warn", "text": "Late heartbeat: node bravo: interval 1500 ms"},
            {"level": "error", "text": "Return code 1 from IPaddr2"},
            {"level": "debug", "text": "sent keepalive to bravo"},
        ])  # fmt: skip
        shown = app.query_one("#log", Log)
        assert shown.line_count == 4
        app.query_one("#log-filter", Input).value = "level:WARN"
        await pilot.pause()
        assert [line.split()[1] for line in shown.lines] == ["WARN", "ERROR"]
        app.query_one("#log-filter", Input).value = "level:info bravo"
        await pilot.pause()
        assert [line.split()[1] for line in shown.lines] == ["INFO", "WARN"]
        assert len(panel.lines) == 4  # the filter hides, it does not drop
