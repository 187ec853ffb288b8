"""The console's screen as text, for Pilot tests: what a person would read.

Textual's SVG export has one ``<text>`` element per run of equally styled cells, tagged
with its row (``clip-path="url(#…-line-N)"``) and placed at ``x`` (column × 12.2 px);
putting each run at its column gives the screen's rows as text.
"""

from __future__ import annotations

import html
import re
from typing import Any

from rich.cells import cell_len
from textual.app import App

CELL_PX = 12.2
_TEXT = re.compile(
    r'<text[^>]*\bx="([\d.]+)"[^>]*clip-path="url\(#[^)]*-line-(\d+)\)"[^>]*>(.*?)</text>',
    re.DOTALL,
)


def screen_lines(app: App[Any]) -> list[str]:
    """Every row of the current screen, trailing blanks removed."""
    rows: dict[int, list[tuple[int, str]]] = {}
    for x, line, text in _TEXT.findall(app.export_screenshot()):
        column = round(float(x) / CELL_PX)
        rows.setdefault(int(line), []).append((column, html.unescape(text).replace("\xa0", " ")))
    lines = []
    for number in range(max(rows, default=-1) + 1):
        row = ""
        for column, text in sorted(rows.get(number, [])):
            row = row.ljust(column) if cell_len(row) < column else row
            row += text
        lines.append(row.rstrip())
    return lines


def screen_text(app: App[Any]) -> str:
    """The screen as one string, rows separated by newlines."""
    return "\n".join(screen_lines(app))
