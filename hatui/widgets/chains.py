"""Resource groups drawn as ordered chains with per-step state."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Static

from hatui.viewmodel import Chain, ChildRow
from hatui.widgets.panel import set_title

TITLE = "resource groups (start order ▶)"


class ChainPanel(VerticalScroll):
    """One title line (where the group runs in the cluster) and one chain line (this
    node's ``● web running ▶ ○ db stopped``) per group. Everything is plain text.

    A chain line never wraps (it ends in … when too long; its reason is also in the
    timeline), so a long reason does not take the log's lines at 80 columns."""

    DEFAULT_CSS = """
    ChainPanel { height: auto; max-height: 8; }
    ChainPanel.-stale .chain, ChainPanel.-stale .chain-title { color: $text-muted; }
    ChainPanel .chain-title { color: $text-muted; padding: 0 1; }
    ChainPanel .chain { padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    ChainPanel .chain.-error { color: $error; text-style: bold; }
    ChainPanel .chain.-warning { color: $warning; }
    ChainPanel .chain.-ok { color: $success; }
    ChainPanel .child { padding: 0 1; color: $text-muted; }
    ChainPanel .child.-error { color: $error; text-style: bold; }
    """

    def __init__(self) -> None:
        super().__init__(id="chains", can_focus=False)
        self._shown: tuple[tuple[Chain, ...], tuple[ChildRow, ...]] | None = None
        self._stale = ""
        set_title(self, TITLE)

    def show_stale(self, stale: str) -> None:
        """Say in the title that these states are as of the last update (or live)."""
        if stale != self._stale:
            self._stale = stale
            set_title(self, TITLE, stale)

    def show(self, chains: tuple[Chain, ...], children: tuple[ChildRow, ...] = ()) -> None:
        """Replace the chains (and the respawn children below them) when they changed."""
        if (chains, children) == self._shown:
            return
        self._shown = (chains, children)
        self.remove_children()
        widgets: list[Static] = []
        for chain in chains:
            widgets.append(Static(chain.title, classes="chain-title", markup=False))
            text = chain.line or "(no resources)"
            if chain.reason:
                text += f"  — {chain.reason}"
            widgets.append(Static(text, classes=f"chain -{chain.severity.value}", markup=False))
        if not chains:
            none = "no resource groups configured"
            widgets.append(Static(none, classes="chain-title", markup=False))
        widgets += [
            Static(child.line, classes=f"child -{child.severity.value}", markup=False)
            for child in children
        ]
        self.mount_all(widgets)
