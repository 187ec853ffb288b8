"""The event timeline: deaths, takeovers, standbys, fences and operator actions."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from hatui.viewmodel import TIMELINE_GLYPHS, Severity, TimelineRow

KEEP_ROWS = 500


class TimelinePanel(RichLog):
    """Low-rate "why did it move" feed; each row is written once."""

    DEFAULT_CSS = """
    TimelinePanel { height: 5; background: $surface; padding: 0 1; overflow-y: auto; }
    """

    def __init__(self) -> None:
        super().__init__(id="timeline", max_lines=KEEP_ROWS, wrap=True, markup=False)
        self.rows: list[TimelineRow] = []
        self.border_title = "timeline (why)"

    def add_rows(self, rows: list[TimelineRow]) -> None:
        """Append rows, colouring by severity (the kind word is always shown too)."""
        theme = self.app.current_theme
        for row in rows:
            self.rows.append(row)
            style = {Severity.ERROR: f"bold {theme.error}", Severity.WARNING: theme.warning}
            text = Text(f"{row.time} ")
            glyph = TIMELINE_GLYPHS[row.severity]
            text.append(f"{glyph} {row.kind:<8}", style=style.get(row.severity) or "bold")
            text.append(f" {row.text}")
            self.write(text)
        del self.rows[:-KEEP_ROWS]
