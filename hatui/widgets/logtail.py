"""The engine's log tail: batched writes, level colouring, filter, follow/pause."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, RichLog

from hatui.viewmodel import log_line, log_matches

KEEP_LINES = 5000


class LogPanel(Vertical):
    """Log lines pushed by the engine; written in one batch per flush, never per line."""

    DEFAULT_CSS = """
    LogPanel { height: 1fr; min-height: 4; }
    LogPanel Input { height: 1; border: none; padding: 0 1; background: $boost; }
    LogPanel RichLog { height: 1fr; background: $surface; padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__(id="log-panel")
        self._lines: deque[tuple[str, str]] = deque(maxlen=KEEP_LINES)
        self._filter = ""
        self.following = True
        self._set_title()

    def compose(self) -> ComposeResult:
        """A filter field above the log."""
        yield Input(placeholder="filter log (/ to focus, Esc to leave)", id="log-filter")
        yield RichLog(id="log", max_lines=KEEP_LINES, wrap=False, markup=False, auto_scroll=True)

    def _set_title(self) -> None:
        mode = "following" if self.following else "PAUSED (p to follow)"
        shown = f" · filter {self._filter!r}" if self._filter else ""
        self.border_title = f"log · {mode}{shown}"

    def _style(self, level: str) -> str:
        theme = self.app.current_theme
        if level.startswith(("ERR", "CRIT", "EMERG", "ALERT")):
            return f"bold {theme.error}"
        if level.startswith("WARN"):
            return theme.warning or ""
        if level.startswith("DEBUG"):
            return "dim"
        return ""

    def _write(self, lines: Iterable[tuple[str, str]]) -> None:
        shown = [(lvl, text) for lvl, text in lines if log_matches(text, self._filter)]
        if not shown:
            return
        batch = Text()
        for index, (level, text) in enumerate(shown):
            if index:
                batch.append("\n")
            batch.append(text, style=self._style(level))
        self.query_one(RichLog).write(batch, scroll_end=self.following)

    def add_records(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Append engine log records (one write for the whole batch)."""
        lines = [log_line(record) for record in records]
        self._lines.extend(lines)
        self._write(lines)

    def add_local(self, level: str, text: str) -> None:
        """Append a line produced by the console itself (e.g. an action result)."""
        self.add_records([{"level": level, "text": text}])

    @property
    def lines(self) -> list[str]:
        """Every kept line, unfiltered (for tests and ``--once``)."""
        return [text for _level, text in self._lines]

    def toggle_follow(self) -> None:
        """Pause or resume following the tail."""
        self.following = not self.following
        log = self.query_one(RichLog)
        log.auto_scroll = self.following
        if self.following:
            log.scroll_end(animate=False)
        self._set_title()

    @on(Input.Changed, "#log-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._filter = event.value.strip()
        self.query_one(RichLog).clear()
        self._write(self._lines)
        self._set_title()
