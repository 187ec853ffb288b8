"""Key bindings and a short glossary of what the console shows."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP_TEXT = """\
hatui — Heartbeat operator console                       (Esc / ? / q closes)

Actions (each asks for confirmation; Cancel is focused):
  s  standby: give resources to the peer (all / foreign / local)
  t  takeover: pull all resources to this node
  f  failback: give back the resources whose home is the peer
  S  STONITH: power-reset a node (type its name to confirm)
  M  meatware: confirm a node was power-cycled by hand (only while one waits)
Panels:
  n  nodes & links    l  log    e  timeline (events)
  p  pause / follow the log       /  filter the log
  ctrl+p  command palette (every action is there too)
  ?  this help                     q  quit

States are shown as glyph + word (colour is only a hint):
  ● running/up   ○ stopped   ◐ starting/late   ◑ stopping/standby   ✖ failed/dead

Link columns: age = time since the last heartbeat on that link; intervals = the
last inter-arrival times as a sparkline; max = largest gap seen; jit = jitter;
warn± / dead± = margin left before warntime / deadtime (negative = exceeded).
Tune deadtime to 1.5–2× the worst max gap, warntime to about 2× keepalive.

Banners: DISCONNECTED (no engine socket), STALE (no update for 3× keepalive),
SPLIT BRAIN suspected (a group held by two nodes), no STONITH configured,
ONE-WAY (a peer does not hear us although we hear it), FENCING (a reset in
progress or failed), MEATWARE (a reset waits for you: press M).
Ping nodes have their own rows (reachable / unreachable); they never move
resources by themselves (ipfail does, when configured).
"""


class HelpScreen(ModalScreen[None]):
    """Static help; any of Escape, ? or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [("escape,question_mark,q", "close", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 84; max-width: 100%; height: auto; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        """The help text in a scrollable box."""
        with VerticalScroll():
            yield Static(HELP_TEXT, markup=False)

    def action_close(self) -> None:
        """Back to the console."""
        self.dismiss(None)
