"""``hatui logs FILE...``: a virtualised, following viewer for Heartbeat logs.

Design borrowed from toolong (not the package: it pins an old Textual): ``LogView`` is a
line-API ``ScrollView`` that renders only the rows on screen, reading each with ``pread``
through the sparse index. Everything heavy (indexing, merging several files by time,
filtering, following) runs in ``hatui.logs.feed`` on a thread worker; searches run on
another. The UI thread only picks up the feed's latest snapshot on a 10 Hz timer, so
50 000 lines/s cost one refresh per tick, and a 1 GB file shows its end at once while
the rest is indexed.

Following works like ``less +F``: the newest line stays on screen; scrolling up (arrows,
PgUp, Home, the mouse wheel) pauses, and the status line says how to resume (End, G or
p). File names, log lines and what is typed in the filter are plain text, never markup.
"""

from __future__ import annotations

import logging
import re
import time
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.events import MouseScrollUp
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Footer, Input, Static
from textual.worker import get_current_worker

from hatui.logs.feed import LogFeed, Snapshot
from hatui.logs.follow import Change
from hatui.logs.merge import Lines, ListLines
from hatui.logs.parse import event_of, level_of, level_rank, parse_filter

logger = logging.getLogger(__name__)

TICK_S = 0.1
SEARCH_SLICE = 2_000
"""Rows read at a time by a search (checked for cancellation between slices)."""


class LogView(ScrollView, can_focus=True):
    """Only the visible rows of ``source`` (or of the filtered subset) are rendered."""

    DEFAULT_CSS = """
    LogView { height: 1fr; background: $surface; }
    """

    class FollowChanged(Message):
        """The view paused or resumed following by itself (a scroll key, the wheel)."""

    def __init__(self, source: Lines, id: str | None = None) -> None:
        """Show ``source``; ``show`` replaces it with each new snapshot."""
        super().__init__(id=id)
        self.source = source
        self.rows = len(source)
        self.shown: array[int] | None = None
        """Line numbers shown when a filter is active (None: every line)."""
        self.shown_rows = 0
        self.search = ""
        self.following = True
        self.cursor = -1
        """Row of the highlighted line (search hit or timeline jump), -1 for none."""
        self._width = 200

    @property
    def row_count(self) -> int:
        """Rows the view holds."""
        return self.shown_rows if self.shown is not None else self.rows

    def line_number(self, row: int) -> int:
        """The source line shown at ``row``."""
        return self.shown[row] if self.shown is not None else row

    def text(self, row: int) -> str | None:
        """The text at ``row``; None when it is gone (a truncation raced the render)."""
        try:
            return self.source.line(self.line_number(row))
        except IndexError:
            return None

    def show(self, snapshot: Snapshot) -> None:
        """Take the feed's latest rows."""
        self.source, self.rows = snapshot.source, snapshot.rows
        self.shown, self.shown_rows = snapshot.shown, snapshot.shown_rows
        self.sync_lines()

    def sync_lines(self) -> None:
        """The rows changed: resize, and stick to the end when following."""
        self.virtual_size = Size(self._width, self.row_count)
        if self.following:
            self.call_after_refresh(self.stick_to_end)
        self.refresh()

    def stick_to_end(self) -> None:
        """Show the newest line, unless following was paused in the meantime (a scroll
        key between a snapshot and this refresh must not be overridden)."""
        if self.following:
            self.scroll_end(animate=False, x_axis=False, immediate=True)

    def _styles(self, text: str) -> Style:
        level = level_of(text)
        if not level:
            return Style()
        rank = level_rank(level)
        theme = self.app.current_theme
        if rank <= 1:
            return Style.parse(f"bold {theme.error}")
        if rank == 2:
            return Style.parse(theme.warning or "yellow")
        if rank == 5:
            return Style(dim=True)
        return Style()

    def render_line(self, y: int) -> Strip:
        """One screen row: the line, coloured by level, search hits highlighted."""
        row = self.scroll_offset.y + y
        text = self.text(row) if 0 <= row < self.row_count else None
        if text is None:
            return Strip.blank(self.size.width)
        text = text.expandtabs(4)
        self._width = max(self._width, len(text) + 1)
        base = self._styles(text)
        if row == self.cursor:
            base += Style(reverse=True)
        segments = self.highlight(text, base)
        strip = Strip(segments).crop(self.scroll_offset.x, self.scroll_offset.x + self.size.width)
        return strip.extend_cell_length(self.size.width)

    def highlight(self, text: str, base: Style) -> list[Segment]:
        """``text`` in ``base`` style, every search hit in the hit style."""
        if not self.search:
            return [Segment(text, base)]
        hit = base + HIT
        segments, pos = [], 0
        for match in re.finditer(re.escape(self.search), text, re.IGNORECASE):
            segments.append(Segment(text[pos : match.start()], base))
            segments.append(Segment(match.group(0), hit))
            pos = match.end()
        segments.append(Segment(text[pos:], base))
        return segments

    def pause_following(self) -> None:
        """Scrolling up stops following (``less +F``); the app says how to resume."""
        if self.following and self.allow_vertical_scroll:
            self.following = False
            self.post_message(self.FollowChanged())

    def action_scroll_up(self) -> None:
        """Up arrow: pause, then scroll."""
        self.pause_following()
        super().action_scroll_up()

    def action_page_up(self) -> None:
        """PgUp: pause, then scroll."""
        self.pause_following()
        super().action_page_up()

    def action_scroll_home(self) -> None:
        """Home: pause at the first line."""
        self.pause_following()
        super().action_scroll_home()

    def action_scroll_end(self) -> None:
        """End: back to the newest line, following again."""
        self.cursor = -1
        if not self.following:
            self.following = True
            self.post_message(self.FollowChanged())
        self.sync_lines()

    def _on_mouse_scroll_up(self, event: MouseScrollUp) -> None:
        self.pause_following()
        super()._on_mouse_scroll_up(event)

    def show_row(self, row: int) -> None:
        """Highlight ``row`` and scroll it into the middle; stops following."""
        self.following = False
        self.cursor = row
        self.scroll_to(y=max(0, row - self.size.height // 2), animate=False, immediate=True)
        self.refresh()


HIT = Style(bgcolor="yellow", color="black", bold=True)
"""How a search hit is painted."""


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
        """Open ``paths`` (indexing starts on mount, in the feed's thread)."""
        super().__init__()
        self.paths = list(paths)
        self.feed = LogFeed(self.paths, follow=watch_files)
        self.watch_files = watch_files
        self.seen = 0
        """Version of the last snapshot shown."""
        self.first_rows_at: float | None = None
        """When rows were first on screen (monotonic)."""
        self.seeks = 0
        """Searches and event jumps finished (found or not)."""
        self.view = LogView(ListLines([]), id="log")

    @property
    def scanned(self) -> bool:
        """Every file is indexed (and merged) and that state is on screen."""
        return self.feed.snapshot.complete and self.seen == self.feed.snapshot.version

    @property
    def changes(self) -> list[Change]:
        """What following has seen so far (rotations, truncations...)."""
        return self.feed.changes

    @property
    def open_seconds(self) -> float | None:
        """Time from opening to fully indexed and merged."""
        done = self.feed.complete_at
        return None if done is None else done - self.feed.opened_at

    def compose(self) -> ComposeResult:
        """Status line, filter, search, the view."""
        yield Static(id="status")
        yield Input(placeholder="filter: level:WARN node:bravo link:eth0 res:IPaddr2 words",
                    id="filter")  # fmt: skip
        yield Input(placeholder="search (/), n/N next/prev hit, e/E next/prev event", id="search")
        yield self.view
        yield Footer(compact=True)

    def on_mount(self) -> None:
        """Start the feed (and the file watcher); apply its snapshots on a timer."""
        self.view.focus()
        self.update_status()
        self.run_feed()
        if self.watch_files:
            self.run_watcher()
        self.set_interval(TICK_S, self.apply_pending)

    def on_unmount(self) -> None:
        """Stop the feed and the watcher threads (the feed closes the files)."""
        self.feed.stop()

    @work(thread=True, exclusive=True, group="feed")
    def run_feed(self) -> None:
        """The feed's loop: indexing, merging, following, filtering."""
        self.feed.run()

    @work(thread=True, exclusive=True, group="watch")
    def run_watcher(self) -> None:
        """watchfiles on the files' directories; wakes the feed."""
        self.feed.watch_files()

    def apply_pending(self) -> None:
        """The 10 Hz tick: show the feed's latest snapshot, if it is new."""
        snapshot = self.feed.snapshot
        view = self.view
        if view.following and view.scroll_offset.y < view.max_scroll_y:
            view.stick_to_end()  # a scroll refused before layout
        if snapshot.version == self.seen:
            return
        top, cursor = view.scroll_offset.y, view.cursor
        for version, remap in snapshot.remaps:
            if version > self.seen:
                top = remap(top)
                cursor = remap(cursor) if cursor >= 0 else cursor
        moved = top != view.scroll_offset.y
        self.seen = snapshot.version
        view.cursor = cursor
        view.show(snapshot)
        if moved and not view.following:
            view.scroll_to(y=top, animate=False, immediate=True)
        if snapshot.rows and self.first_rows_at is None:
            self.first_rows_at = time.monotonic()
        self.update_status()

    def update_status(self, note: str = "") -> None:
        """File, line count, mode, filter, progress."""
        names = ", ".join(p.name for p in self.paths)
        view = self.view
        mode = "following" if view.following else "PAUSED: End, G or p follows"
        total = view.rows
        shown = view.row_count
        count = f"{shown:,}/{total:,} lines" if view.shown is not None else f"{total:,} lines"
        text = f"{names} · {count} · {mode}"
        progress = note or self.feed.snapshot.note
        if progress:
            text += f" · {progress}"
        # The 10 Hz tick can fire once more while the app is closing: no status bar then.
        for status in self.query("#status").results(Static):
            status.update(Content(text))

    # ------------------------------------------------------------------ filter

    @on(Input.Submitted, "#filter")
    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed | Input.Submitted) -> None:
        self.feed.set_filter(parse_filter(event.value))

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

    def action_find(self, direction: int) -> None:
        """Next/previous line holding the search text (searched off the UI thread)."""
        needle = self.view.search.lower()
        if needle:
            self.seek(direction, lambda text: needle in text.lower(), f"no more {needle!r}")

    def action_event(self, direction: int) -> None:
        """Next/previous timeline event: late heartbeat, death, takeover, fence."""
        self.seek(direction, lambda text: event_of(text) is not None, "no more events")

    @work(thread=True, exclusive=True, group="seek")
    def seek(self, direction: int, test: Callable[[str], bool], missing: str) -> None:
        """Scan rows from the cursor (or the screen) and highlight the first match."""
        view = self.view
        source, shown, count = view.source, view.shown, view.row_count
        if view.cursor >= 0:
            row = view.cursor + direction
        else:  # nothing highlighted yet: from the screen's first (or last) row on
            top = view.scroll_offset.y
            row = top if direction > 0 else min(count, top + view.size.height) - 1
        worker = get_current_worker()
        while 0 <= row < count and not worker.is_cancelled:
            stop = max(-1, min(count, row + direction * SEARCH_SLICE))
            rows = range(row, stop, direction)
            for at, text in zip(rows, _texts(source, shown, rows), strict=False):
                if test(text):
                    self.call_from_thread(self._found, at, text)
                    return
            row = stop
        if not worker.is_cancelled:
            self.call_from_thread(self._missing, missing)

    def _missing(self, message: str) -> None:
        self.seeks += 1
        self.notify(message, timeout=2, markup=False)

    def _found(self, row: int, text: str) -> None:
        self.seeks += 1
        self.view.show_row(row)
        kind = event_of(text)
        self.update_status(f"event: {kind}" if kind else "")

    def on_log_view_follow_changed(self, _event: LogView.FollowChanged) -> None:
        """A scroll paused (or End resumed) following: say so on the status line."""
        self.update_status()

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


def _texts(source: Lines, shown: array[int] | None, rows: range) -> list[str]:
    """The texts of ``rows`` (consecutive, either direction), read in one go if possible."""
    if shown is not None:
        return [source.line(shown[row]) for row in rows]
    low, high = min(rows.start, rows.stop - rows.step), max(rows.start, rows.stop - rows.step)
    texts = source.lines(low, high + 1)
    return texts if rows.step > 0 else texts[::-1]


def run_logs(paths: Sequence[Path]) -> int:
    """Entry point of ``hatui logs``; 2 when a file cannot be opened."""
    if not paths:
        paths = [Path("/var/log/ha-log")]
    for path in paths:
        if not path.is_file():
            print(f"hatui logs: cannot open {path}: not a readable file")
            return 2
    try:
        app = LogWatcherApp(paths)
    except OSError as exc:
        print(f"hatui logs: cannot open {exc.filename}: {exc.strerror}")
        return 2
    app.run()
    return 0
