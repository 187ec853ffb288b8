"""The policy's constants: Heartbeat's timers, hatui's own delays and word tables."""

from __future__ import annotations

STANDBY_INIT_TIMEOUT = 10.0
"""Seconds the standby requester waits for the ``other`` reply (STANDBY_INIT_TO_MS)."""
STANDBY_RSC_TIMEOUT = 3600.0
"""Seconds a standby resource hand-over may take (HB_STANDBY_RSC_TO_MS)."""
FAILBACK_RETRY = 1.0
STONITH_RETRY = 5.0
"""First retry after a failed fence (Heartbeat's fixed interval); later ones back off."""
STONITH_RETRY_MAX = 60.0
FAILED_START_PUSH_DELAY = 30.0
"""ResourceManager runs ``hb_standby`` 30 s after a failed start (spec §7.3)."""
RESOURCE_MANAGER = "/usr/share/heartbeat/ResourceManager"
MONITOR_RETRY_MIN = 30.0
"""Seconds a group whose monitor restarts are used up (and that no peer can take) stays
stopped before it is tried here again; doubles on every further failure, up to the
monitor window."""
MONITOR_HANDOVER_RETRY = 1.0
"""Seconds between attempts to hand a failed group over while the cluster is in flux."""
CLAIM_ANSWER_INTERVAL = 1.0
"""Seconds between two answers to peer reports that claim our groups (``answer_claim``);
while the claim lasts the answer is repeated, the interval doubling each time."""
CLAIM_ANSWER_MAX = 30.0
"""The longest wait between two repeated answers to a claim that lasts."""
ORPHAN_GRACE = 1.0
"""Seconds both sides must be settled with nobody running our groups before we start
them again (a report still on its way settles it first)."""

STANDBY_WORDS = {
    "": "all",
    "all": "all",
    "foreign": "foreign",
    "local": "local",
    "failback": "foreign",
}
"""``hb_standby`` argument → the resource set it asks for."""
STOP_FAILED_INFO = {
    "standby aborted": "while going standby",
    "shutdown": "while shutting down",
    "stop failed": "while handing groups back after a partition",
    "monitor stop failed": "while recovering from a monitor failure",
}
"""``info`` of a peer's hold report that, with holdings left, means a stop failed there."""
