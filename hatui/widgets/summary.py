"""The summary line and the persistent banners at the top of the console."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from hatui.viewmodel import Banner, Severity
from hatui.widgets.panel import update_plain


class SummaryBar(Vertical):
    """One summary line (cluster health, nodes, holders, last change) plus banners."""

    DEFAULT_CSS = """
    SummaryBar { height: auto; }
    SummaryBar #summary { height: auto; padding: 0 1; background: $boost; }
    SummaryBar #summary.-warning { color: $warning; }
    SummaryBar #summary.-error { color: $error; }
    SummaryBar #summary.-stale { text-style: italic; }
    SummaryBar .banner { height: auto; padding: 0 1; }
    SummaryBar .banner.-error { background: $error 30%; color: $text; text-style: bold; }
    SummaryBar .banner.-warning { background: $warning 20%; color: $text; }
    SummaryBar .banner.-info { color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._banners: tuple[Banner, ...] = ()
        self._summary = ""

    def compose(self) -> ComposeResult:
        """The summary line; banners are mounted below it as they come and go."""
        yield Static("connecting…", id="summary", markup=False)

    def show(
        self, summary: str, health: Severity, banners: tuple[Banner, ...], stale: str = ""
    ) -> None:
        """Update the summary and the banners; texts are changed in place (a layout only
        when a height changes), widgets come and go only when the number of banners does."""
        line = self.query_one("#summary", Static)
        if summary != self._summary:
            update_plain(line, summary, self._summary)
            self._summary = summary
        line.set_class(health is Severity.WARNING, "-warning")
        line.set_class(health is Severity.ERROR, "-error")
        line.set_class(bool(stale), "-stale")
        if banners == self._banners:
            return
        old, self._banners = self._banners, banners
        shown = list(self.query(".banner").results(Static))
        if len(shown) != len(banners):
            self.query(".banner").remove()
            self.mount_all(
                Static(b.text, classes=f"banner -{b.severity.value}", markup=False) for b in banners
            )
            return
        for widget, before, banner in zip(shown, old, banners, strict=True):
            if before != banner:
                update_plain(widget, banner.text, before.text)
                widget.set_classes(f"banner -{banner.severity.value}")
