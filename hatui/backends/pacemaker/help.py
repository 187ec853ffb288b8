"""The help screen of ``hatui --pacemaker``: Pacemaker's keys and what the panels mean
on a Pacemaker cluster (lines fit 80 columns, as the engine console's help does)."""

from __future__ import annotations

from hatui.screens.help import HelpScreen

PACEMAKER_HELP = """\
hatui --pacemaker — Corosync/Pacemaker console  (Esc / ? / q closes)

Actions (checked on a fresh crm_mon first; refused with the reason):
  s  standby a node: Pacemaker moves its resources away (crm_attribute)
  u  unstandby a node: it may run resources again
  m  move a group to a node (crm_resource --move leaves the constraint
     cli-prefer-GROUP, shown with the group until you clear it)
  x  clear what a move or ban left (crm_resource --clear)
  c  clean up failed actions (crm_resource --cleanup)
  S  STONITH: reboot a node through a fence device (stonith_admin
     --reboot; type its name, then Enter)
Panels:
  n  nodes & links    l  log    e  timeline (events)
  p  pause / follow the log      /  filter the log (Esc leaves)
  ctrl+p  command palette (every action is there too)
  ?  this help                    q  quit

States are glyph + word (colour is only a hint):
  ● active/running  ◑ standby/maintenance  ○ stopped  ✖ dead/failed
A group's title says where it runs (● running on bravo) and what an
operator left on it (moved to … by crm_resource --move); its chain is
the resources in start order, each in its own state, wherever it runs.

Links are corosync's knet links to each peer, from this node:
latency = knet's average ping round trip; history = the last averages
as bars from the lowest to the highest; max / min = knet's extremes;
downs = how often the link went down; peer = the peer's address.

Banners: NO QUORUM (this partition may not run resources), failed
actions (with reasons; c cleans them up), maintenance-mode, no STONITH
(stonith-enabled=false or no device), a failed fence, DISCONNECTED
(crm_mon or corosync-cmapctl cannot reach the cluster: the reason is
theirs), STALE (no poll answered for 3 intervals).
The timeline derives deaths, joins, standby, moves, recoveries,
fencing, failures and constraints from successive polls; deaths from
before this console attached come from the Pacemaker log.
"""


class PacemakerHelpScreen(HelpScreen):
    """The console's help box with Pacemaker's text."""

    def __init__(self) -> None:
        super().__init__()
        self._text = PACEMAKER_HELP
