"""``hatui logs FILE...``: a virtualised, following viewer for Heartbeat logs.

Design borrowed from toolong (not the package: it pins an old Textual): the file is
indexed by offsets in a worker thread, and ``LogView`` is a line-API ``ScrollView`` that
renders only the rows on screen, reading each with ``pread``. Appends are applied in
batches on a 10 Hz timer, so 50 000 lines/s cost one index extension and one refresh per
tick, not one per line. Several files are merged by timestamp into one view.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Footer, Input, Static

from hatui.logs.follow import Change, Follower, FollowEvent, watch
from hatui.logs.index import LineIndex
from hatui.logs.merge import Lines, MergedLines
from hatui.logs.parse import LineFilter, event_of, level_of, parse_filter

logger = logging.getLogger(__name__)

TICK_S = 0.1
FILTER_SLICE = 50_000
"""Lines filtered per step of the filter worker (keeps cancellation responsive)."""


class LogView(ScrollView, can_focus=True):
    """Only the visible rows of ``source`` (or of the filtered subset) are rendered."""

    DEFAULT_CSS = """
    LogView { height: 1fr; background: $surface; }
    """

    def __init__(self, source: Lines, id: str | None = None) -> None:
        """Show ``source``; call ``sync_lines`` after it grows."""
        super().__init__(id=id)
        self.source = source
        self.shown: array[int] | None = None
        """Line numbers shown when a filter is active (None: every line)."""
        self.search = ""
        self.following = True
        self.cursor = -1
        """Row of the highlighted line (search hit or timeline jump), -1 for none."""
        self._width = 200

    @property
    def row_count(self) -> int:
        """Rows the view holds."""
        return len(self.shown) if self.shown is not None else len(self.source)

    def line_number(self, row: int) -> int:
        """The source line shown at ``row``."""
        return self.shown[row] if self.shown is not None else row

    def sync_lines(self) -> None:
        """The source or filter changed: resize, and stick to the end when following."""
        self.virtual_size = Size(self._width, self.row_count)
        if self.following:
            self.scroll_end(animate=False, x_axis=False)
        self.refresh()

    def _styles(self, text: str) -> Style:
        level = level_of(text)
        theme = self.app.current_theme
        if level in ("CRIT", "ERROR", "EMERG", "ALERT"):
            return Style.parse(f"bold {theme.error}")
        if level == "WARN":
            return Style.parse(theme.warning or "yellow")
        if level == "debug":
            return Style(dim=True)
        return Style()

    def render_line(self, y: int) -> Strip:
        """One screen row: the line, coloured by level, search hits highlighted."""
        row = self.scroll_offset.y + y
        if not 0 <= row < self.row_count:
            return Strip.blank(self.size.width)
        text = self.source.line(self.line_number(row)).expandtabs(4)
        self._width = max(self._width, len(text) + 1)
        base = self._styles(text)
        if row == self.cursor:
            base += Style(reverse=True)
        segments = self._highlight(text, base)
        strip = Strip(segments).crop(self.scroll_offset.x, self.scroll_offset.x + self.size.width)
        return strip.extend_cell_length(self.size.width)

    def _highlight(self, text: str, base: Style) -> list[Segment]:
        if not self.search:
            return [Segment(text, base)]
        hit = base + Style(bgcolor="yellow", color="black", bold=True)
        segments, pos = [], 0
        for match in re.finditer(re.escape(self.search), text, re.IGNORECASE):
            segments.append(Segment(text[pos : match.start()], base))
            segments.append(Segment(match.group(0), hit))
            pos = match.end()
        segments.append(Segment(text[pos:], base))
        return segments

    def show_row(self, row: int) -> None:
        """Highlight ``row`` and scroll it into the middle; stops following."""
        self.following = False
        self.cursor = row
        self.scroll_to(y=max(0, row - self.size.height // 2), animate=False)
        self.refresh()


class LogWatcherApp(App[None]):
    """Follow one log, or merge several, with filters, search and event jumps."""

    TITLE = "hatui logs"
    CSS = """
    #status { height: 1; background: $primary; color: $text; padding: 0 1; }
    Input { height: 1; border: none; padding: 0 1; background: $boost; }
    Input:focus { border: none; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "toggle_follow", "Pause/follow"),
        Binding("slash", "focus('search')", "Search"),
        Binding("f", "focus('filter')", "Filter"),
        Binding("n", "find(1)", "Next hit"),
        Binding("N", "find(-1)", "Prev hit", show=False),
        Binding("e", "event(1)", "Next event"),
        Binding("E", "event(-1)", "Prev event", show=False),
        Binding("G", "end", "End", show=False),
        Binding("escape", "leave_input", "Leave", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, paths: Sequence[Path], *, watch_files: bool = True) -> None:
        """Open ``paths`` (indexing starts on mount)."""
        super().__init__()
        self.paths = list(paths)
        self.indexes = [LineIndex(p) for p in self.paths]
        self.followers = [Follower(p, i) for p, i in zip(self.paths, self.indexes, strict=True)]
        self.watch_files = watch_files
        self.filter = LineFilter()
        self._dirty = False
        self._stop = asyncio.Event()
        self._filter_lock = threading.Lock()
        self._filtered_upto = 0
        self.scanned = False
        self.opened_at = time.monotonic()
        self.open_seconds: float | None = None
        self.changes: list[Change] = []
        source: Lines = self.indexes[0] if len(self.paths) == 1 else MergedLines([], [])
        self.view = LogView(source, id="log")

    def compose(self) -> ComposeResult:
        """Status line, filter, search, the view."""
        yield Static(id="status")
        yield Input(placeholder="filter: level:WARN node:bravo link:eth0 res:IPaddr2 words",
                    id="filter")  # fmt: skip
        yield Input(placeholder="search (/), n/N next/prev hit, e/E next/prev event", id="search")
        yield self.view
        yield Footer(compact=True)

    def on_mount(self) -> None:
        """Index in a thread; apply appends on a timer."""
        self.view.focus()
        self.update_status("indexing…")
        self.scan()
        self.set_interval(TICK_S, self.apply_pending)

    def on_unmount(self) -> None:
        """Stop the watchers and close the files."""
        self._stop.set()

    @work(thread=True, exclusive=True, group="scan")
    def scan(self) -> None:
        """Index every file; a merged view is built once all are indexed."""
        for index in self.indexes:
            index.scan(progress=lambda done, total: self._progress(done, total))
        self.call_from_thread(self._scanned)

    def _progress(self, done: int, total: int) -> None:
        self._dirty = True

    def _scanned(self) -> None:
        self.scanned = True
        self.open_seconds = time.monotonic() - self.opened_at
        self.rebuild_source()
        if self.watch_files:
            for follower in self.followers:
                self.follow(follower)

    def rebuild_source(self) -> None:
        """Point the view at the (single or merged) source and re-filter."""
        if len(self.followers) == 1:
            self.view.source = self.followers[0].index
        else:
            labels = [p.name for p in self.paths]
            self.view.source = MergedLines([f.index for f in self.followers], labels)
        self.refilter()

    @work(exclusive=False, group="follow")
    async def follow(self, follower: Follower) -> None:
        """Watch one file until the app closes."""
        await watch(follower, self._followed, self._stop)

    def _followed(self, event: FollowEvent) -> None:
        self.changes.append(event.change)
        if event.change in (Change.ROTATED, Change.TRUNCATED) or len(self.followers) > 1:
            self.rebuild_source()
        elif self.filter.active:
            self._filter_worker()
        self._dirty = True

    def apply_pending(self) -> None:
        """The 10 Hz tick: one refresh for everything that arrived since the last one."""
        if not self._dirty:
            return
        self._dirty = False
        self.view.sync_lines()
        self.update_status()

    def update_status(self, note: str = "") -> None:
        """File, line count, mode, filter."""
        names = ", ".join(p.name for p in self.paths)
        mode = "following" if self.view.following else "PAUSED (p)"
        shown = self.view.row_count
        total = len(self.view.source)
        count = f"{shown:,}/{total:,} lines" if self.view.shown is not None else f"{total:,} lines"
        text = f"{names} · {count} · {mode}"
        if note or not self.scanned:
            text += f" · {note or 'indexing…'}"
        # The 10 Hz tick can fire once more while the app is closing: no status bar then.
        for status in self.query("#status").results(Static):
            status.update(text)

    # ------------------------------------------------------------------ filter

    @on(Input.Submitted, "#filter")
    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed | Input.Submitted) -> None:
        self.filter = parse_filter(event.value)
        self.refilter()

    def refilter(self) -> None:
        """Recompute the visible subset (in a thread for big sources)."""
        if not self.filter.active:
            self.view.shown = None
            self._dirty = True
            return
        self.view.shown = array("Q")
        self._filtered_upto = 0
        self._filter_worker()

    @work(thread=True, exclusive=True, group="filter")
    def _filter_worker(self) -> None:
        self._filter_new()

    def _filter_new(self) -> None:
        """Filter lines added since the last pass and append the matches."""
        with self._filter_lock:
            self._filter_pass()

    def _filter_pass(self) -> None:
        visible = self.view.shown
        if visible is None:
            return
        source, wanted = self.view.source, self.filter
        total = len(source)
        start = self._filtered_upto
        while start < total:
            stop = min(total, start + FILTER_SLICE)
            matches = [n for n in range(start, stop) if wanted.matches(source.line(n))]
            if self.view.shown is not visible or self.filter is not wanted:
                return  # a newer filter replaced this one
            visible.extend(matches)
            start = stop
            self._filtered_upto = start
            self._dirty = True

    # ------------------------------------------------------------------ search / jump

    @on(Input.Submitted, "#search")
    def _search_submitted(self, event: Input.Submitted) -> None:
        self.view.search = event.value
        self.view.focus()
        self.action_find(1)

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        self.view.search = event.value
        self.view.refresh()

    def _scan_rows(self, direction: int, test: object) -> int | None:
        view = self.view
        start = view.cursor if view.cursor >= 0 else view.scroll_offset.y
        row = start + direction
        while 0 <= row < view.row_count:
            if test(view.source.line(view.line_number(row))):  # type: ignore[operator]
                return row
            row += direction
        return None

    def action_find(self, direction: int) -> None:
        """Next/previous line holding the search text."""
        needle = self.view.search.lower()
        if not needle:
            return
        row = self._scan_rows(direction, lambda text: needle in text.lower())
        if row is None:
            self.notify(f"no more {self.view.search!r}", timeout=2)
        else:
            self.view.show_row(row)
        self.update_status()

    def action_event(self, direction: int) -> None:
        """Next/previous timeline event: late heartbeat, death, takeover, fence."""
        row = self._scan_rows(direction, lambda text: event_of(text) is not None)
        if row is None:
            self.notify("no more events", timeout=2)
            return
        self.view.show_row(row)
        kind = event_of(self.view.source.line(self.view.line_number(row)))
        self.update_status(f"event: {kind}")

    def action_toggle_follow(self) -> None:
        """Pause (keep the position) or follow the end again."""
        self.view.following = not self.view.following
        if self.view.following:
            self.view.cursor = -1
        self.view.sync_lines()
        self.update_status()

    def action_end(self) -> None:
        """Jump to the end and follow."""
        self.view.following = True
        self.view.cursor = -1
        self.view.sync_lines()
        self.update_status()

    def action_leave_input(self) -> None:
        """Back from the inputs to the log."""
        self.view.focus()


def run_logs(paths: Sequence[Path]) -> int:
    """Entry point of ``hatui logs``; 2 when a file cannot be opened."""
    if not paths:
        paths = [Path("/var/log/ha-log")]
    for path in paths:
        if not path.is_file():
            print(f"hatui logs: cannot open {path}: not a readable file")
            return 2
    LogWatcherApp(paths).run()
    return 0
