"""Resource monitoring (hatui only): checks of running groups and their recovery.

Heartbeat 3.0.6 never checks a resource after it started (spec §12); with
``monitor_interval`` set (a key of hatui.conf, ``ClusterConfig.monitor``; a reload
hands new values to ``set_monitor``) we do, and recover what fails:

* A check runs only while this node is settled (``_monitor_unsettled`` says why not):
  no job, standby, takeover, fence or shutdown. A transition that begins while a check
  runs cancels it (``CancelMonitor``), so nothing ever waits behind a monitor.
* A failure restarts the group in place (stop right to left, start left to right) while
  the failures within ``monitor_window`` do not exceed ``monitor_restarts``. Beyond
  that, or when the restart fails, the group is stopped and handed to the peer with the
  standby protocol, which starts it there only after our ``done``.
* When no peer can take it (dead, legacy mode, or it already failed there after we had
  handed it over), it stays stopped here and is started again after a delay that doubles
  from ``MONITOR_RETRY_MIN`` up to the window; a peer that becomes able takes it at once.
* A stop that fails goes the way of every failed stop: we keep claiming the group and
  tell the peer (``info=monitor stop failed``), which fences us before it starts it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from engine.config.model import MonitorConfig
from engine.core.policy.constants import MONITOR_HANDOVER_RETRY, MONITOR_RETRY_MIN
from engine.core.policy.messages import PolicyJobs
from engine.core.policy.monitor_book import GroupMonitor
from engine.core.policy.records import Job, acquire_steps, call, release_steps
from engine.core.policy_types import (
    CancelMonitor,
    Monitor,
    MonitorCheck,
    ResourceState,
    StandbyState,
    hold_name,
)

logger = logging.getLogger(__name__)

_BUSY_RECOVERY = ("restarting", "stopping", "retrying")
"""Recovery states that a running monitor job ends; without the job they are stale."""


def _secs(seconds: float) -> str:
    return f"{seconds:g} s"


def _count(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


class MonitorMixin(PolicyJobs):
    """Schedules Monitor actions, judges their results and recovers failed groups."""

    # ------------------------------------------------------------------ inputs

    def set_monitor(self, monitor: MonitorConfig, now: float) -> None:
        """New monitoring settings (reload): checks follow the new interval from now."""
        self._now = now
        if not self._monitor_book.configure(monitor, now):
            return
        if self._monitor_inflight is not None:
            self._cancel_monitor("the monitor settings changed")
        self._settle()

    def on_monitor_done(self, action_id: int, checks: Sequence[MonitorCheck], now: float) -> None:
        """A Monitor finished (``checks`` in group order, up to the first failure)."""
        self._now = now
        if self._monitor_inflight is None or self._monitor_inflight[0] != action_id:
            logger.debug("policy: result of monitor %d ignored (cancelled)", action_id)
            return
        key = self._monitor_inflight[1]
        self._monitor_inflight = None
        g = self._holdings.group(key)
        if g is not None:
            mon = self._monitor_book.record(key)
            mon.checked(checks, now)
            failed = next((c for c in checks if not c.ok), None)
            if failed is None:
                mon.schedule(now + self._monitor_book.interval)
            elif g.state == "running" and not self._monitor_unsettled():
                self._monitor_failed(key, mon, failed)
        self._settle()

    # ------------------------------------------------------------------ scheduling

    def _monitor_unsettled(self) -> str:
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

    def _monitor_dispatch(self) -> None:
        """Cancel a check that a transition overtook, or start the next one that is due."""
        for key, g in self._holdings.items():
            mon = self._monitor_book.get(key)
            if g.state != "running" and mon is not None:
                mon.schedule(None)
        why = self._monitor_unsettled()
        enabled = self._monitor_book.settings.enabled
        if self._monitor_inflight is not None:
            checked = self._holdings.group(self._monitor_inflight[1])
            if why or not enabled or checked is None or checked.state != "running":
                self._cancel_monitor(why or "the group is no longer running here")
            return
        if why or not enabled:
            return
        due: list[tuple[float, str]] = []
        for key, g in self._holdings.items():
            if g.state != "running":
                continue
            mon = self._monitor_book.record(key)
            if mon.due is None:
                mon.schedule(self._now + self._monitor_book.interval)
            at = mon.due
            if at is not None and at <= self._now:
                due.append((at, key))
        if due:
            self._start_monitor(min(due)[1])

    def _start_monitor(self, key: str) -> None:
        self._monitor_book.record(key).schedule(None)
        timeout = self._monitor_book.settings.timeout_ms / 1000.0
        action = Monitor(
            self._out.new_id(), key, timeout, f"monitor every {_secs(self._monitor_book.interval)}"
        )
        self._monitor_inflight = (action.id, key)
        self._out.act(action)

    def _cancel_monitor(self, why: str) -> None:
        assert self._monitor_inflight is not None
        action_id, key = self._monitor_inflight
        self._monitor_inflight = None
        self._out.act(CancelMonitor(action_id, why))
        logger.debug("monitor of %s cancelled: %s", key, why)
        mon = self._monitor_book.get(key)
        if mon is not None:
            mon.schedule(None)  # rescheduled one interval after things settle

    def _monitor_deadlines(self) -> list[float]:
        """Times ``tick`` has monitoring work: due checks, retries, expiring failures."""
        times = self._monitor_book.deadlines()
        if self._monitor_inflight is None and not self._monitor_unsettled():
            times.extend(
                mon.due
                for key, mon in self._monitor_book.items()
                if mon.due is not None and self._holdings.group(key) is not None
            )
        return times

    # ------------------------------------------------------------------ failure

    def _monitor_failed(self, key: str, mon: GroupMonitor, check: MonitorCheck) -> None:
        """Log the failure, count it, then restart in place or stop for a handover."""
        self._expire_monitor(mon)
        mon.failed(self._now, check)
        count, window = len(mon.failures), self._monitor_book.window
        budget = self._monitor_book.settings.restarts
        self._out.event(
            "monitor",
            f"{check.describe()}; failure {count} within {_secs(window)} "
            f"({_count(budget, 'restart')} allowed)",
            node=self._sides.us,
            group=key,
            level="ERROR",
            log=f"Resource {check.resource} failed its monitor: {check.result}"
            + (f" ({check.detail})" if check.detail and check.detail != check.result else "")
            + f" [{key}]",
        )
        self._holdings.explain(key, mon.cause)
        if count <= budget:
            self._monitor_restart(key, mon, f"restart {count} of {budget} within {_secs(window)}")
        else:
            failures = _count(count, "failure")
            self._monitor_stop(
                key, mon, f"{failures} within {_secs(window)}, monitor_restarts is {budget}"
            )

    def _set_recovery(self, mon: GroupMonitor, state: str, decision: str) -> None:
        mon.set_recovery(state, decision)

    def _recovery_event(
        self, key: str, mon: GroupMonitor, log: str = "", *, level: str = "info", node: str = ""
    ) -> None:
        """A ``recovery`` timeline entry with the decision as its reason."""
        self._out.event(
            "recovery", mon.reason, node=node or self._sides.us, group=key, level=level, log=log
        )

    def _monitor_restart(self, key: str, mon: GroupMonitor, tally: str) -> None:
        mon.restarting()
        self._set_recovery(mon, "restarting", f"restarting {key} on {self._sides.us} ({tally})")
        self._recovery_event(
            key,
            mon,
            f"Restarting resource group {key} after a monitor failure ({tally}).",
            level="WARN",
        )
        steps = [*release_steps([key], mon.reason), *acquire_steps([key], mon.reason)]
        steps.append(call(lambda j, _now: self._restart_done(key, mon, j)))
        self._jobs.enqueue(Job("monitor", steps))

    def _restart_done(self, key: str, mon: GroupMonitor, job: Job) -> None:
        g = self._holdings[key]
        if g.failed_op == "stop":
            self._monitor_stop_failed(key, mon, tell_peer=True)
        elif key in job.failures or g.state != "running":
            self._after_stop(key, mon, f"the restart failed ({g.reason})")
        else:
            self._set_recovery(mon, "restarted", f"restarted on {self._sides.us}")
            self._holdings.explain(key, mon.reason)
            self._recovery_event(
                key, mon, f"Resource group {key} restarted after a monitor failure."
            )

    def _monitor_stop(self, key: str, mon: GroupMonitor, tally: str) -> None:
        """The restart budget is used up: stop the group, then hand it over (or wait)."""
        problem = self._monitor_peer_problem(key, mon)
        then = (
            f"then {self._sides.other} takes it" if not problem else f"{problem}, so it stays down"
        )
        self._set_recovery(mon, "stopping", f"{tally}: stopping {key}, {then}")
        self._recovery_event(
            key, mon, f"Monitor restarts of {key} used up ({tally}): stopping it.", level="WARN"
        )
        stopped = call(lambda _j, _now: self._stopped_for_recovery(key, mon, tally))
        self._jobs.enqueue(Job("monitor", [*release_steps([key], mon.reason), stopped]))

    def _stopped_for_recovery(self, key: str, mon: GroupMonitor, tally: str) -> None:
        if self._holdings[key].failed_op == "stop":
            self._monitor_stop_failed(key, mon, tell_peer=True)
        else:
            self._after_stop(key, mon, tally)

    def _after_stop(self, key: str, mon: GroupMonitor, why: str) -> None:
        """The failed group is down here: the peer takes it, else it waits here."""
        problem = self._monitor_peer_problem(key, mon)
        if problem:
            self._monitor_wait(key, mon, f"{why}; {problem}")
            return
        self._set_recovery(mon, "handover", f"{why}; handing {key} to {self._sides.other}")
        self._holdings.explain(key, mon.reason)
        self._recovery_event(key, mon, level="WARN")

    def _monitor_peer_problem(self, key: str, mon: GroupMonitor) -> str:
        """Why the peer cannot take a failed group; "" when it can."""
        peer = self._sides.other
        if peer is None:
            return "there is no peer node to take it"
        if not self._sides.nice:
            return "auto_failback legacy has no standby to hand it over"
        if self._peer.status != "active":
            return f"{peer} is {self._peer.status} and cannot take it"
        if self._fencing.stop_failed_on(peer):
            return f"{peer} failed to stop groups and must be fenced first"
        if mon.handed_away_at is not None:
            ago = self._now - mon.handed_away_at
            return (
                f"it already failed on {peer} after {self._sides.us} handed it over {ago:.0f} s ago"
            )
        stuck = self._holdings.stop_failed_here(self._holdings.keys(self._holdings.class_of(key)))
        if stuck:
            return f"{', '.join(stuck)} failed to stop here, so its class cannot be handed over"
        return ""

    def _monitor_stop_failed(self, key: str, mon: GroupMonitor, *, tell_peer: bool) -> None:
        """A stop failed during recovery: keep claiming the group; the peer fences us."""
        peer = self._sides.other
        if peer is None or self._peer.status != "active":
            then = "nobody may start it until it is stopped by hand"
        elif self._sides.config.stonith:
            then = f"{peer} fences {self._sides.us} before it starts it"
        else:
            then = (
                f"no STONITH device: stop it by hand, then confirm on {peer} with "
                f"'hactl meatware confirm {self._sides.us}'"
            )
        self._set_recovery(mon, "stop failed", f"{key} could not be stopped; {then}")
        self._recovery_event(
            key,
            mon,
            f"Resource group {key} could not be stopped after a monitor failure.",
            level="CRIT",
        )
        if tell_peer and peer is not None and self._peer.status == "active":
            self._send_hold(True, "monitor stop failed")

    def _monitor_wait(self, key: str, mon: GroupMonitor, why: str) -> None:
        """Nobody else can run the group: keep it stopped, start it here again later."""
        window = self._monitor_book.window
        delay = min(max(window, MONITOR_RETRY_MIN), MONITOR_RETRY_MIN * 2**mon.backoff)
        mon.back_off(self._now + delay)
        again = f"it stays stopped, tried here again in {_secs(delay)}"
        self._set_recovery(mon, "waiting", f"{why}: {again}")
        self._holdings.explain(key, mon.reason)
        self._recovery_event(
            key,
            mon,
            f"Resource group {key} stays stopped after monitor failures; "
            f"retrying in {_secs(delay)}.",
            level="WARN",
        )

    # ------------------------------------------------------------------ progress

    def _monitor_progress(self) -> None:
        """Expire old failures and move handovers and waiting groups on."""
        for key, mon in self._monitor_book.items():
            if key not in self._holdings:
                self._monitor_book.forget(key)
                continue
            self._expire_monitor(mon)
            if mon.recovery in _BUSY_RECOVERY and not self._jobs.busy():
                self._set_recovery(mon, "", "recovery abandoned: its job was dropped")
            if self._shutdown.wanted or self._shutdown.in_progress:
                continue
            if mon.recovery in ("handover", "waiting") and not self._holdings.still_ours(key):
                self._set_recovery(mon, "", f"no longer held by {self._sides.us}")
                mon.retry(None)
            elif mon.recovery == "handover":
                self._try_handover(key, mon)
            elif mon.recovery == "handing over":
                self._handover_finished(key, mon)
            elif mon.recovery == "waiting":
                self._waiting(key, mon)

    def _expire_monitor(self, mon: GroupMonitor) -> None:
        mon.expire(self._now - self._monitor_book.window)

    def _try_handover(self, key: str, mon: GroupMonitor) -> None:
        problem = self._monitor_peer_problem(key, mon)
        if problem:
            self._monitor_wait(key, mon, f"cannot hand {key} over: {problem}")
            return
        if mon.retry_at is not None and self._now < mon.retry_at:
            return
        if self._transition_refusal():
            mon.retry(self._now + MONITOR_HANDOVER_RETRY)
            return
        mon.retry(self._now + MONITOR_HANDOVER_RETRY)  # until the standby is under way
        word = hold_name(self._holdings.class_of(key))
        self._set_recovery(mon, "handing over", f"handing {key} to {self._sides.other}")
        self._standby.go_standby(
            word,
            f"{key} failed its monitor on {self._sides.us}; "
            f"{self._sides.other} takes the [{word}] groups",
        )

    def _handover_finished(self, key: str, mon: GroupMonitor) -> None:
        if self._standby.state is not StandbyState.NOT or self._standby.deadline is not None:
            return
        if self._holdings[key].failed_op == "stop":
            self._monitor_stop_failed(key, mon, tell_peer=False)  # standby aborted, peer told
            return
        if self._holdings.i_hold & self._holdings.class_of(
            key
        ):  # refused, not answered, or aborted
            if mon.retry_at is None or self._now >= mon.retry_at:
                again = f"the handover to {self._sides.other} did not happen, trying again"
                self._set_recovery(mon, "handover", again)
                mon.retry(self._now + MONITOR_HANDOVER_RETRY)
            return
        mon.handed_away(self._now)
        self._set_recovery(mon, "moved", f"handed to {self._sides.other}")
        self._holdings.explain(key, mon.reason)
        self._recovery_event(
            key,
            mon,
            f"Resource group {key} handed over to {self._sides.other} after monitor failures.",
            node=self._sides.other or "",
        )

    def _waiting(self, key: str, mon: GroupMonitor) -> None:
        if not self._monitor_peer_problem(key, mon) and not self._transition_refusal():
            mon.retry(None)
            self._set_recovery(mon, "handover", f"{self._sides.other} can take {key} now")
            self._try_handover(key, mon)
            return
        if mon.retry_at is None or self._now < mon.retry_at or self._jobs.busy():
            return
        mon.retry(None)
        self._set_recovery(
            mon, "retrying", f"starting {key} on {self._sides.us} again after the wait"
        )
        self._recovery_event(key, mon, level="WARN")
        then = call(lambda _j, _now: self._retry_done(key, mon))
        self._jobs.enqueue(Job("monitor", [*acquire_steps([key], mon.reason), then]))
        self._jobs.pump(self._now)

    def _retry_done(self, key: str, mon: GroupMonitor) -> None:
        g = self._holdings[key]
        if g.state != "running":
            self._after_stop(key, mon, f"the start after the wait failed ({g.reason})")
            return
        self._set_recovery(mon, "restarted", f"started again on {self._sides.us} after the wait")
        self._holdings.explain(key, mon.reason)

    def monitor_status(self, now: float, wall: float) -> dict[str, dict[str, object]]:
        """Per group key: ``{"group": {...}, "resources": {token: {...}}}`` for status."""
        specs = [g.spec for g in self._holdings.groups()]
        checking = self._monitor_inflight[1] if self._monitor_inflight is not None else None
        return self._monitor_book.status(specs, checking, now, wall)

    def _monitor_settings(self) -> dict[str, object]:
        """The monitoring settings for the ``resources`` part of status."""
        return self._monitor_book.settings_view()
