"""Resource monitoring (hatui only): when the running groups are checked.

Heartbeat 3.0.6 never checks a resource after it started (spec §12); with
``monitor_interval`` set (a key of hatui.conf, ``ClusterConfig.monitor``; a reload
hands new values to ``set_settings``) we do. A check runs only while this node is
settled (``unsettled`` says why not): no job, standby, takeover, fence or shutdown. A
transition that begins while a check runs cancels it (``CancelMonitor``), so nothing
ever waits behind a monitor. A failed check goes to ``recovery.py``. ``MonitorChecks``
is the only writer of the check in flight.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from engine.config.model import MonitorConfig
from engine.core.policy.fencing import FencingBook
from engine.core.policy.holdings import Holdings
from engine.core.policy.jobs import JobQueue
from engine.core.policy.monitor_book import MonitorBook
from engine.core.policy.negotiation import Negotiation
from engine.core.policy.outbox import Outbox
from engine.core.policy.peer import PeerView
from engine.core.policy.recovery import MonitorRecovery, secs
from engine.core.policy.shutdown import Shutdown
from engine.core.policy.sides import Sides
from engine.core.policy.standby import Standby
from engine.core.policy_types import (
    CancelMonitor,
    Monitor,
    MonitorCheck,
    ResourceState,
    StandbyState,
)

logger = logging.getLogger(__name__)


class MonitorChecks:
    """Schedules Monitor actions and judges their results."""

    def __init__(
        self,
        sides: Sides,
        out: Outbox,
        holdings: Holdings,
        peer: PeerView,
        negotiation: Negotiation,
        jobs: JobQueue,
        book: MonitorBook,
        *,
        recovery: MonitorRecovery,
        fencing: FencingBook,
        standby: Standby,
        shutdown: Shutdown,
    ) -> None:
        self._sides = sides
        self._out = out
        self._holdings = holdings
        self._peer = peer
        self._negotiation = negotiation
        self._jobs = jobs
        self._book = book
        self._recovery = recovery
        self._fencing = fencing
        self._standby = standby
        self._shutdown = shutdown
        self._inflight: tuple[int, str] | None = None
        """(Monitor action id, group key) of the check running now."""

    def set_settings(self, settings: MonitorConfig, now: float) -> bool:
        """New monitoring settings (reload): checks follow the new interval from now;
        False when nothing changed."""
        if not self._book.configure(settings, now):
            return False
        if self._inflight is not None:
            self._cancel("the monitor settings changed")
        return True

    def on_monitor_done(self, action_id: int, checks: Sequence[MonitorCheck], now: float) -> bool:
        """A Monitor finished (``checks`` in group order, up to the first failure);
        False when it is not the check we wait for (it was cancelled)."""
        if self._inflight is None or self._inflight[0] != action_id:
            logger.debug("policy: result of monitor %d ignored (cancelled)", action_id)
            return False
        key = self._inflight[1]
        self._inflight = None
        g = self._holdings.group(key)
        if g is not None:
            mon = self._book.record(key)
            mon.checked(checks, now)
            failed = next((c for c in checks if not c.ok), None)
            if failed is None:
                mon.schedule(now + self._book.interval)
            elif g.state == "running" and not self.unsettled():
                self._recovery.failed(key, failed, now)
        return True

    def unsettled(self) -> str:
        """Why no check may run now; "" when one may."""
        if not self._peer.comm_up:
            return "communications are not up"
        if self._shutdown.wanted or self._shutdown.in_progress:
            return "shutdown in progress"
        if self._jobs.busy():
            return "a resource transition is running"
        if self._standby.state is not StandbyState.NOT or self._standby.deadline is not None:
            return "a standby is in progress"
        if self._negotiation.takeover_in_progress:
            return "a takeover is in progress"
        if self._fencing.busy():
            return "a node is being fenced"
        if self._sides.nice and self._negotiation.state is not ResourceState.STABLE:
            return "the resources are not stable yet"
        return ""

    def dispatch(self, now: float) -> None:
        """Cancel a check that a transition overtook, or start the next one that is due."""
        for key, g in self._holdings.items():
            mon = self._book.get(key)
            if g.state != "running" and mon is not None:
                mon.schedule(None)
        why = self.unsettled()
        enabled = self._book.settings.enabled
        if self._inflight is not None:
            checked = self._holdings.group(self._inflight[1])
            if why or not enabled or checked is None or checked.state != "running":
                self._cancel(why or "the group is no longer running here")
            return
        if why or not enabled:
            return
        due: list[tuple[float, str]] = []
        for key, g in self._holdings.items():
            if g.state != "running":
                continue
            mon = self._book.record(key)
            if mon.due is None:
                mon.schedule(now + self._book.interval)
            at = mon.due
            if at is not None and at <= now:
                due.append((at, key))
        if due:
            self._start(min(due)[1])

    def _start(self, key: str) -> None:
        self._book.record(key).schedule(None)
        timeout = self._book.settings.timeout_ms / 1000.0
        reason = f"monitor every {secs(self._book.interval)}"
        action = Monitor(self._out.new_id(), key, timeout, reason)
        self._inflight = (action.id, key)
        self._out.act(action)

    def _cancel(self, why: str) -> None:
        assert self._inflight is not None
        action_id, key = self._inflight
        self._inflight = None
        self._out.act(CancelMonitor(action_id, why))
        logger.debug("monitor of %s cancelled: %s", key, why)
        mon = self._book.get(key)
        if mon is not None:
            mon.schedule(None)  # rescheduled one interval after things settle

    def deadlines(self) -> list[float]:
        """Times ``tick`` has monitoring work: due checks, retries, expiring failures."""
        times = self._book.deadlines()
        if self._inflight is None and not self.unsettled():
            times.extend(
                at
                for key, mon in self._book.items()
                if (at := mon.due) is not None and self._holdings.group(key) is not None
            )
        return times

    def status(self, now: float, wall: float) -> dict[str, dict[str, object]]:
        """Per group key: ``{"group": {...}, "resources": {token: {...}}}`` for status."""
        specs = [g.spec for g in self._holdings.groups()]
        checking = self._inflight[1] if self._inflight is not None else None
        return self._book.status(specs, checking, now, wall)
