"""Resource groups drawn as ordered chains with per-step state."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Static

from hatui.viewmodel import Chain


class ChainPanel(VerticalScroll):
    """One title line and one chain line (``● web running ▶ ○ db stopped``) per group."""

    DEFAULT_CSS = """
    ChainPanel { height: auto; max-height: 8; }
    ChainPanel .chain-title { color: $text-muted; padding: 0 1; }
    ChainPanel .chain { padding: 0 1; }
    ChainPanel .chain.-error { color: $error; text-style: bold; }
    ChainPanel .chain.-warning { color: $warning; }
    ChainPanel .chain.-ok { color: $success; }
    """

    def __init__(self) -> None:
        super().__init__(id="chains", can_focus=False)
        self._chains: tuple[Chain, ...] | None = None
        self.border_title = "resource groups (start order ▶)"

    def show(self, chains: tuple[Chain, ...]) -> None:
        """Replace the chains when they changed."""
        if chains == self._chains:
            return
        self._chains = chains
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
        self.mount_all(widgets)
