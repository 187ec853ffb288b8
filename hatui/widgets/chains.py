"""Resource groups drawn as ordered chains with per-step state."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Static

from hatui.viewmodel import Chain, ChildRow


class ChainPanel(VerticalScroll):
    """One title line and one chain line (``● web running ▶ ○ db stopped``) per group."""

    DEFAULT_CSS = """
    ChainPanel { height: auto; max-height: 8; }
    ChainPanel .chain-title { color: $text-muted; padding: 0 1; }
    ChainPanel .chain { padding: 0 1; }
    ChainPanel .chain.-error { color: $error; text-style: bold; }
    ChainPanel .chain.-warning { color: $warning; }
    ChainPanel .chain.-ok { color: $success; }
    ChainPanel .child { padding: 0 1; color: $text-muted; }
    ChainPanel .child.-error { color: $error; text-style: bold; }
    """

    def __init__(self) -> None:
        super().__init__(id="chains", can_focus=False)
        self._shown: tuple[tuple[Chain, ...], tuple[ChildRow, ...]] | None = None
        self.border_title = "resource groups (start order ▶)"

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
            widgets.append(Static("no resource groups configured", classes="chain-title"))
        widgets += [
            Static(child.line, classes=f"child -{child.severity.value}", markup=False)
            for child in children
        ]
        self.mount_all(widgets)
