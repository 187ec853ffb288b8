"""Nodes and links with live heartbeat timing."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from hatui.viewmodel import LINK_HEADERS, LinkRow, Severity, link_cells
from hatui.widgets.panel import set_title

TITLE = "nodes & links"


class LinksPanel(DataTable[Text]):
    """Per-link age, interval sparkline, max gap, jitter and margins to warn/dead time.

    Rows are updated in place while the set of links stays the same, so the cursor and
    scroll position survive the 4-per-second refresh of the age column. Every cell is a
    ``Text``: a ``str`` cell would be parsed as markup, and node and link names come
    from the configuration.
    """

    DEFAULT_CSS = """
    LinksPanel { height: auto; max-height: 10; }
    LinksPanel.-stale { color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__(id="links", cursor_type="row", show_cursor=False, cell_padding=1)
        self._keys: list[str] = []
        self._headers: tuple[str, ...] = LINK_HEADERS
        self._stale = ""
        set_title(self, TITLE)

    def on_mount(self) -> None:
        """Create the fixed columns."""
        for header in self._headers:
            self.add_column(header, key=header)

    def _styled(self, cells: tuple[str, ...], severity: Severity) -> list[Text]:
        style = {
            Severity.ERROR: self.app.current_theme.error or "",
            Severity.WARNING: self.app.current_theme.warning or "",
        }.get(severity, "")
        out = [Text(cell) for cell in cells]
        if style:
            out[1].stylize(f"bold {style}")
            out[2].stylize(style)
        return out

    def show_stale(self, stale: str) -> None:
        """Say in the title that these timings are as of the last update (or live)."""
        if stale != self._stale:
            self._stale = stale
            set_title(self, TITLE, stale)

    def first_column(self) -> list[str]:
        """The "node / link" cells as the table holds them now (tests, benchmarks)."""
        return [str(self.get_cell(key, self._headers[0])) for key in self.rows]

    def show(self, rows: tuple[LinkRow, ...], headers: tuple[str, ...] = LINK_HEADERS) -> None:
        """Show the rows, updating cells in place when the link set is unchanged.

        Keys are the engine's names, so a link marked ``cut`` keeps its row (a rebuild
        would lose the cursor).
        """
        if headers != self._headers:  # another kind of cluster: other columns
            self.clear(columns=True)
            self._headers, self._keys = headers, []
            for header in headers:
                self.add_column(header, key=header)
        keys = [f"{r.kind}:{r.node}/{r.link}" for r in rows]
        cells = [self._styled(link_cells(row), row.severity) for row in rows]
        if keys != self._keys:
            self.clear()
            for key, row_cells in zip(keys, cells, strict=True):
                self.add_row(*row_cells, key=key)
            self._keys = keys
            return
        for key, row_cells in zip(keys, cells, strict=True):
            for header, value in zip(self._headers, row_cells, strict=True):
                if self.get_cell(key, header) != value:
                    self.update_cell(key, header, value, update_width=self._widens(header, value))

    def _widens(self, header: str, value: Text) -> bool:
        """True when ``value`` needs a wider column than the column has now.

        Columns only grow while rows are updated in place: letting them shrink (the age
        going from "1.2s" to "87ms") changed the table's width, and so re-laid out the
        whole screen, several times a second; the table also jumped left and right.
        """
        return value.cell_len > self.columns[ColumnKey(header)].content_width
