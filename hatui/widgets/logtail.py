"""The engine's log tail: batched writes, level colouring, filter, follow/pause.

The filter is the log watcher's (``hatui.logs.parse``): free words, and ``level:WARN``
(that level and worse), ``node:``, ``link:``, ``res:`` fields. Its field is shown only
while it is used (``/``), so a small terminal gives its lines to the log.

"Following" means the newest line is on screen, whatever the layout did (see
``hatui.widgets.panel.TailFollower``); scrolling up pauses, and the title says how to
resume (``p``, or scroll back to the end).

Textual's ``Log`` (not ``RichLog``) holds the lines: it keeps plain strings and renders
only the visible ones, lazily and cached, where ``RichLog`` renders every written line
at once; at 10 000 lines/s that is the difference between a smooth UI and one frozen
for a fifth of a second at every batch (bench/console.py). Level colouring is a Rich
highlighter applied while a visible line is rendered, so it costs nothing for lines
nobody looks at.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from rich.highlighter import Highlighter
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Log

from hatui.logs.parse import LineFilter, parse_filter
from hatui.viewmodel import log_line
from hatui.widgets.panel import FollowChanged, TailFollower, set_title

KEEP_LINES = 5000


def line_level(line: str) -> str:
    """The level word of a ``HH:MM:SS LEVEL text`` line (second word), upper case."""
    parts = line.split(None, 2)
    return parts[1].upper() if len(parts) > 1 else ""


class LevelHighlighter(Highlighter):
    """Colours a whole log line by its level; the level word itself is always shown."""

    def __init__(self, error: str, warning: str) -> None:
        self.styles = {"ERROR": f"bold {error}", "WARN": warning, "DEBUG": "dim"}

    def style_for(self, line: str) -> str:
        """The style of one line ("" for INFO and unknown levels)."""
        level = line_level(line)
        if level.startswith(("ERR", "CRIT", "EMERG", "ALERT")):
            return self.styles["ERROR"]
        if level.startswith("WARN"):
            return self.styles["WARN"]
        return self.styles["DEBUG"] if level.startswith("DEBUG") else ""

    def highlight(self, text: Text) -> None:
        """Stylize ``text`` in place (called by ``Log`` for each rendered line)."""
        style = self.style_for(text.plain)
        if style:
            text.stylize(style)


class FollowingLog(TailFollower, Log):
    """Textual's ``Log`` scrolls to the end after a write only if the view was at the end
    already; once a layout change had moved the end out of view it never came back.
    Here the panel's ``following`` decides, and resizes re-anchor (``TailFollower``)."""


class LogPanel(Vertical):
    """Log lines pushed by the engine; written in one batch per flush, never per line."""

    DEFAULT_CSS = """
    LogPanel { height: 1fr; min-height: 4; }
    LogPanel Input {
        display: none; height: 1; border: none; padding: 0 1; background: $boost;
    }
    LogPanel Input:focus { border: none; background: $boost; }
    LogPanel.-filtering Input { display: block; }
    LogPanel Log {
        height: 1fr; background: $surface; padding: 0 1; overflow-y: auto;
        scrollbar-size-horizontal: 0; scrollbar-size-vertical: 1;
    }
    LogPanel.-stale Log { color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__(id="log-panel")
        self._lines: deque[str] = deque(maxlen=KEEP_LINES)
        self._filter = ""
        self._wanted = LineFilter()
        self._stale = ""

    def compose(self) -> ComposeResult:
        """A filter field (shown while filtering) above the log."""
        hint = "filter: words, level:WARN, node:NAME (Enter/Esc leaves)"
        yield Input(placeholder=hint, id="log-filter")
        log = FollowingLog(id="log", max_lines=KEEP_LINES, auto_scroll=False, highlight=True)
        yield log

    @property
    def following(self) -> bool:
        """True while the newest line is kept on screen."""
        return self.query_one(FollowingLog).following

    def on_mount(self) -> None:
        """Colour by level with the theme's error and warning colours."""
        theme = self.app.current_theme
        log = self.query_one(Log)
        log.highlighter = LevelHighlighter(theme.error or "red", theme.warning or "yellow")
        self._set_title()

    def _set_title(self) -> None:
        mode = "following" if self.following else "PAUSED (p or End: follow)"
        shown = f" · filter {self._filter!r}" if self._filter else " · / filter"
        set_title(self, f"log · {mode}{shown}", self._stale)

    def show_stale(self, stale: str) -> None:
        """Mark the log as the last one received (the engine is gone) or live again."""
        if stale != self._stale:
            self._stale = stale
            self._set_title()

    @on(FollowChanged)
    def _follow_changed(self) -> None:
        self._set_title()

    def _write(self, lines: Iterable[str]) -> None:
        wanted = self._wanted
        if wanted.active:
            shown = [text for text in lines if wanted.matches(text, line_level(text))]
        else:
            shown = list(lines)
        if shown:
            log = self.query_one(FollowingLog)
            log.write_lines(shown, scroll_end=False)
            log.keep_at_end()

    def add_records(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Append engine log records (one write for the whole batch)."""
        lines = [log_line(record)[1] for record in records]
        self._lines.extend(lines)
        self._write(lines[-KEEP_LINES:])

    def add_local(self, level: str, text: str) -> None:
        """Append a line produced by the console itself (e.g. an action result)."""
        self.add_records([{"time": time.time(), "level": level, "text": text}])

    @property
    def lines(self) -> list[str]:
        """Every kept line, unfiltered (for tests and ``--once``)."""
        return list(self._lines)

    @property
    def newest(self) -> str:
        """The newest kept line ("" when none), without copying the whole tail."""
        return self._lines[-1] if self._lines else ""

    def add_marker(self, text: str) -> None:
        """A console line without time or level (``-- recent log of bravo --``)."""
        self._lines.append(text)
        self._write([text])

    def toggle_follow(self) -> None:
        """Pause or resume following the tail."""
        log = self.query_one(FollowingLog)
        log.set_following(not log.following)
        self._set_title()

    def open_filter(self) -> None:
        """Show the filter field and put the cursor in it."""
        self.display = True
        self.add_class("-filtering")
        self.query_one(Input).focus()

    def close_filter(self) -> None:
        """Hide the filter field unless it holds a filter (the title shows it anyway)."""
        self.set_class(bool(self._filter), "-filtering")

    @on(Input.Changed, "#log-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._filter = event.value.strip()
        self._wanted = parse_filter(self._filter)
        self.query_one(Log).clear()
        self._write(self._lines)
        self._set_title()
