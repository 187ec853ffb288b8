"""Key bindings and a short glossary of what the console shows.

The text is written for an 80-column terminal: no line is longer than the box is wide
there, so nothing wraps mid-phrase. Apps with extra keys (the demo's ``k``/``c``/``a``)
pass them in and they are listed with the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP_WIDTH = 72
"""Longest help line: 80 columns minus the box's border, padding and scrollbar."""

HELP_HEAD = """\
hatui — Heartbeat operator console              (Esc / ? / q closes)

Actions (each asks first; Enter alone never confirms):
  s  standby: give resources to the peer (all / foreign / local)
  t  takeover: pull all resources to this node
  f  failback: give back the resources whose home is the peer
  S  STONITH: power-reset a node (type its name, then Enter)
  M  meatware: confirm a node was power-cycled by hand (while one waits)
Panels:
  n  nodes & links    l  log    e  timeline (events)
  p  pause / follow the log      /  filter the log (Esc leaves)
  ctrl+p  command palette (every action is there too)
  ?  this help                    q  quit
"""

HELP_TAIL = """
States are glyph + word (colour is only a hint):
  ● running/up  ○ stopped  ◐ starting/late  ◑ stopping/standby  ✖ failed
A group's title says where it runs in the cluster (● running on bravo);
its chain shows this node's own resources (here: ○ stopped).

Link columns: age = time since the last heartbeat on that link;
intervals = the last inter-arrival times as bars from the shortest to
the longest (at least keepalive + 10 %): a steady link is a low ripple,
a late heartbeat a tall bar; max = largest gap seen; jit = jitter;
warn± / dead± = margin left before warntime / deadtime (negative =
exceeded). Tune deadtime to 1.5–2× the worst max gap, warntime to about
2× keepalive.

The summary says DEGRADED (and why) for a dead or cut medium while the
peer still answers. Banners: DISCONNECTED (no engine socket), STALE (no
update for 3× keepalive; every panel then says how old its data is),
SPLIT BRAIN suspected (a group held by two nodes), no STONITH
configured, ONE-WAY (a peer does not hear us), FENCING (a reset in
progress or failed), MEATWARE (a reset waits for you: press M).
Ping nodes have their own rows (reachable / unreachable); they never
move resources by themselves (ipfail does).
"""


def help_text(extra_keys: Sequence[tuple[str, str]] = ()) -> str:
    """The help, with ``extra_keys`` (key, what it does) listed after the panel keys."""
    extra = "".join(f"  {key}  {what}\n" for key, what in extra_keys)
    heading = "This console's own keys:\n" if extra else ""
    return HELP_HEAD + heading + extra + HELP_TAIL


class HelpScreen(ModalScreen[None]):
    """Static help; any of Escape, ? or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [("escape,question_mark,q", "close", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 78; max-width: 100%; height: auto; max-height: 100%;
        scrollbar-size-vertical: 1;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, extra_keys: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__()
        self._text = help_text(extra_keys)

    def compose(self) -> ComposeResult:
        """The help text in a scrollable box."""
        with VerticalScroll():
            yield Static(self._text.rstrip("\n"), markup=False)

    def action_close(self) -> None:
        """Back to the console."""
        self.dismiss(None)
