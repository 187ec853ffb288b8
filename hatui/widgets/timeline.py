"""The event timeline: deaths, takeovers, standbys, fences and operator actions.

Rows are kept in time order whenever they arrive: the engine's history comes with the
subscription, a moment after the console noted "engine connected" itself. They are
drawn as one wrapped text, re-wrapped at the panel's current width on every layout, so
a resize or the wide layout never cuts a reason off; the scrollbar has its own column.
"""

from __future__ import annotations

from bisect import insort

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from hatui.viewmodel import TIMELINE_GLYPHS, Severity, TimelineRow
from hatui.widgets.panel import TailFollower, set_title

KEEP_ROWS = 500
TITLE = "timeline (why)"


class TimelinePanel(TailFollower, VerticalScroll):
    """Low-rate "why did it move" feed, oldest first; follows the newest row."""

    DEFAULT_CSS = """
    TimelinePanel { height: 5; background: $surface; scrollbar-size-vertical: 1; }
    TimelinePanel > Static { padding: 0 1; width: 100%; }
    TimelinePanel.-stale > Static { color: $text-muted; }
    """

    content_sized_by_layout = True

    def __init__(self) -> None:
        super().__init__(id="timeline", can_focus=True)
        self.rows: list[TimelineRow] = []
        self._stale = ""
        set_title(self, TITLE)

    def compose(self) -> ComposeResult:
        """One text holding every row."""
        yield Static(Text(""), id="timeline-rows")

    def add_rows(self, rows: list[TimelineRow]) -> None:
        """Insert rows at their time (equal times keep their arrival order)."""
        for row in rows:
            insort(self.rows, row, key=lambda r: r.at)
        del self.rows[:-KEEP_ROWS]
        self._render_rows()

    def show_stale(self, stale: str) -> None:
        """Say in the title that no new rows can come (the engine is gone)."""
        if stale != self._stale:
            self._stale = stale
            set_title(self, TITLE, stale)

    def _render_rows(self) -> None:
        theme = self.app.current_theme
        style = {Severity.ERROR: f"bold {theme.error}", Severity.WARNING: theme.warning or ""}
        text = Text(no_wrap=False, overflow="fold")
        for number, row in enumerate(self.rows):
            if number:
                text.append("\n")
            text.append(f"{row.time} ")
            glyph = TIMELINE_GLYPHS[row.severity]
            text.append(f"{glyph} {row.kind:<8}", style=style.get(row.severity) or "bold")
            text.append(f" {row.text}")
        self.query_one("#timeline-rows", Static).update(text)
        self.keep_at_end()
