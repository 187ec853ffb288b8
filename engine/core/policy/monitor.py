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
from collections import deque
from collections.abc import Sequence

from engine.config.model import MonitorConfig
from engine.core.policy.jobs import PolicyJobs
from engine.core.policy.state import MONITOR_HANDOVER_RETRY, MONITOR_RETRY_MIN, _Job, _Monitor
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
        if monitor == self._monitor_cfg:
            return
        self._monitor_cfg = monitor
        for mon in self._monitors.values():
            mon.due = None
            if not monitor.enabled and mon.recovery == "waiting":
                mon.retry_at = now  # monitoring is off: do not keep a group down for it
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
            mon = self._monitor(key)
            mon.checks += 1
            for check in checks:
                mon.last[check.resource] = (check, now)
            failed = next((c for c in checks if not c.ok), None)
            if failed is None:
                mon.due = now + self._interval()
            elif g.state == "running" and not self._monitor_unsettled():
                self._monitor_failed(key, mon, failed)
        self._settle()

    # ------------------------------------------------------------------ scheduling

    def _monitor(self, key: str) -> _Monitor:
        return self._monitors.setdefault(key, _Monitor())

    def _interval(self) -> float:
        return self._monitor_cfg.interval_ms / 1000.0

    def _window(self) -> float:
        return self._monitor_cfg.window_ms / 1000.0

    def _monitor_unsettled(self) -> str:
        """Why no check may run now; "" when one may."""
        if not self._peer.comm_up:
            return "communications are not up"
        if self._shutdown_wanted or self._shutdown_in_progress:
            return "shutdown in progress"
        if self._busy():
            return "a resource transition is running"
        if self._standby is not StandbyState.NOT or self._standby_deadline is not None:
            return "a standby is in progress"
        if self._takeover_in_progress:
            return "a takeover is in progress"
        if self._fence_inflight or self._fence_retry:
            return "a node is being fenced"
        if self._sides.nice and self._rstate is not ResourceState.STABLE:
            return "the resources are not stable yet"
        return ""

    def _monitor_dispatch(self) -> None:
        """Cancel a check that a transition overtook, or start the next one that is due."""
        for key, g in self._holdings.items():
            if g.state != "running" and key in self._monitors:
                self._monitors[key].due = None
        why = self._monitor_unsettled()
        enabled = self._monitor_cfg.enabled
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
            mon = self._monitor(key)
            if mon.due is None:
                mon.due = self._now + self._interval()
            if mon.due <= self._now:
                due.append((mon.due, key))
        if due:
            self._start_monitor(min(due)[1])

    def _start_monitor(self, key: str) -> None:
        self._monitor(key).due = None
        timeout = self._monitor_cfg.timeout_ms / 1000.0
        action = Monitor(
            self._out.new_id(), key, timeout, f"monitor every {_secs(self._interval())}"
        )
        self._monitor_inflight = (action.id, key)
        self._out.act(action)

    def _cancel_monitor(self, why: str) -> None:
        assert self._monitor_inflight is not None
        action_id, key = self._monitor_inflight
        self._monitor_inflight = None
        self._out.act(CancelMonitor(action_id, why))
        logger.debug("monitor of %s cancelled: %s", key, why)
        if key in self._monitors:
            self._monitors[key].due = None  # rescheduled one interval after things settle

    def _monitor_deadlines(self) -> list[float]:
        """Times ``tick`` has monitoring work: due checks, retries, expiring failures."""
        times: list[float] = []
        window = self._window()
        for mon in self._monitors.values():
            if mon.retry_at is not None:
                times.append(mon.retry_at)
            if mon.failures:
                times.append(mon.failures[0][0] + window)
            if mon.handed_away_at is not None:
                times.append(mon.handed_away_at + window)
        if self._monitor_inflight is None and not self._monitor_unsettled():
            times.extend(
                mon.due
                for key, mon in self._monitors.items()
                if mon.due is not None and self._holdings.group(key) is not None
            )
        return times

    # ------------------------------------------------------------------ failure

    def _monitor_failed(self, key: str, mon: _Monitor, check: MonitorCheck) -> None:
        """Log the failure, count it, then restart in place or stop for a handover."""
        self._expire_monitor(mon)
        mon.failures.append((self._now, check.resource))
        count, budget, window = len(mon.failures), self._monitor_cfg.restarts, self._window()
        mon.cause = f"monitor: {check.describe()}"
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

    def _set_recovery(self, mon: _Monitor, state: str, decision: str) -> None:
        mon.recovery, mon.reason = state, f"{mon.cause}; {decision}"

    def _recovery_event(
        self, key: str, mon: _Monitor, log: str = "", *, level: str = "info", node: str = ""
    ) -> None:
        """A ``recovery`` timeline entry with the decision as its reason."""
        self._out.event(
            "recovery", mon.reason, node=node or self._sides.us, group=key, level=level, log=log
        )

    def _monitor_restart(self, key: str, mon: _Monitor, tally: str) -> None:
        mon.restarts += 1
        self._set_recovery(mon, "restarting", f"restarting {key} on {self._sides.us} ({tally})")
        self._recovery_event(
            key,
            mon,
            f"Restarting resource group {key} after a monitor failure ({tally}).",
            level="WARN",
        )
        job = _Job("monitor", deque(self._release_steps([key], mon.reason)))
        job.steps.extend(self._acquire_steps([key], mon.reason))
        job.steps.append(self._call(lambda j: self._restart_done(key, mon, j)))
        self._enqueue(job)

    def _restart_done(self, key: str, mon: _Monitor, job: _Job) -> None:
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

    def _monitor_stop(self, key: str, mon: _Monitor, tally: str) -> None:
        """The restart budget is used up: stop the group, then hand it over (or wait)."""
        problem = self._monitor_peer_problem(key, mon)
        then = (
            f"then {self._sides.other} takes it" if not problem else f"{problem}, so it stays down"
        )
        self._set_recovery(mon, "stopping", f"{tally}: stopping {key}, {then}")
        self._recovery_event(
            key, mon, f"Monitor restarts of {key} used up ({tally}): stopping it.", level="WARN"
        )
        job = _Job("monitor", deque(self._release_steps([key], mon.reason)))
        job.steps.append(self._call(lambda _j: self._stopped_for_recovery(key, mon, tally)))
        self._enqueue(job)

    def _stopped_for_recovery(self, key: str, mon: _Monitor, tally: str) -> None:
        if self._holdings[key].failed_op == "stop":
            self._monitor_stop_failed(key, mon, tell_peer=True)
        else:
            self._after_stop(key, mon, tally)

    def _after_stop(self, key: str, mon: _Monitor, why: str) -> None:
        """The failed group is down here: the peer takes it, else it waits here."""
        problem = self._monitor_peer_problem(key, mon)
        if problem:
            self._monitor_wait(key, mon, f"{why}; {problem}")
            return
        self._set_recovery(mon, "handover", f"{why}; handing {key} to {self._sides.other}")
        self._holdings.explain(key, mon.reason)
        self._recovery_event(key, mon, level="WARN")

    def _monitor_peer_problem(self, key: str, mon: _Monitor) -> str:
        """Why the peer cannot take a failed group; "" when it can."""
        peer = self._sides.other
        if peer is None:
            return "there is no peer node to take it"
        if not self._sides.nice:
            return "auto_failback legacy has no standby to hand it over"
        if self._peer.status != "active":
            return f"{peer} is {self._peer.status} and cannot take it"
        if peer in self._stop_fence or peer in self._stop_unconfirmed:
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

    def _monitor_stop_failed(self, key: str, mon: _Monitor, *, tell_peer: bool) -> None:
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

    def _monitor_wait(self, key: str, mon: _Monitor, why: str) -> None:
        """Nobody else can run the group: keep it stopped, start it here again later."""
        delay = min(max(self._window(), MONITOR_RETRY_MIN), MONITOR_RETRY_MIN * 2**mon.backoff)
        mon.backoff += 1
        mon.retry_at = self._now + delay
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
        for key, mon in list(self._monitors.items()):
            if key not in self._holdings:
                del self._monitors[key]
                continue
            self._expire_monitor(mon)
            if mon.recovery in _BUSY_RECOVERY and not self._busy():
                self._set_recovery(mon, "", "recovery abandoned: its job was dropped")
            if self._shutdown_wanted or self._shutdown_in_progress:
                continue
            if mon.recovery in ("handover", "waiting") and not self._holdings.still_ours(key):
                self._set_recovery(mon, "", f"no longer held by {self._sides.us}")
                mon.retry_at = None
            elif mon.recovery == "handover":
                self._try_handover(key, mon)
            elif mon.recovery == "handing over":
                self._handover_finished(key, mon)
            elif mon.recovery == "waiting":
                self._waiting(key, mon)

    def _expire_monitor(self, mon: _Monitor) -> None:
        horizon = self._now - self._window()
        mon.failures = [f for f in mon.failures if f[0] > horizon]
        if mon.handed_away_at is not None and mon.handed_away_at <= horizon:
            mon.handed_away_at = None
        if mon.failures:
            return
        mon.backoff = 0
        if mon.recovery == "restarted" or (mon.recovery == "moved" and mon.handed_away_at is None):
            mon.recovery, mon.reason, mon.cause = "", "", ""

    def _try_handover(self, key: str, mon: _Monitor) -> None:
        problem = self._monitor_peer_problem(key, mon)
        if problem:
            self._monitor_wait(key, mon, f"cannot hand {key} over: {problem}")
            return
        if mon.retry_at is not None and self._now < mon.retry_at:
            return
        if self._transition_refusal():
            mon.retry_at = self._now + MONITOR_HANDOVER_RETRY
            return
        mon.retry_at = self._now + MONITOR_HANDOVER_RETRY  # until the standby is under way
        word = hold_name(self._holdings.class_of(key))
        self._set_recovery(mon, "handing over", f"handing {key} to {self._sides.other}")
        self._go_standby_request(
            word,
            f"{key} failed its monitor on {self._sides.us}; "
            f"{self._sides.other} takes the [{word}] groups",
        )

    def _handover_finished(self, key: str, mon: _Monitor) -> None:
        if self._standby is not StandbyState.NOT or self._standby_deadline is not None:
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
                mon.retry_at = self._now + MONITOR_HANDOVER_RETRY
            return
        mon.retry_at = None
        mon.handed_away_at = self._now
        self._set_recovery(mon, "moved", f"handed to {self._sides.other}")
        self._holdings.explain(key, mon.reason)
        self._recovery_event(
            key,
            mon,
            f"Resource group {key} handed over to {self._sides.other} after monitor failures.",
            node=self._sides.other or "",
        )

    def _waiting(self, key: str, mon: _Monitor) -> None:
        if not self._monitor_peer_problem(key, mon) and not self._transition_refusal():
            mon.retry_at = None
            self._set_recovery(mon, "handover", f"{self._sides.other} can take {key} now")
            self._try_handover(key, mon)
            return
        if mon.retry_at is None or self._now < mon.retry_at or self._busy():
            return
        mon.retry_at = None
        self._set_recovery(
            mon, "retrying", f"starting {key} on {self._sides.us} again after the wait"
        )
        self._recovery_event(key, mon, level="WARN")
        job = _Job("monitor", deque(self._acquire_steps([key], mon.reason)))
        job.steps.append(self._call(lambda _j: self._retry_done(key, mon)))
        self._enqueue(job)
        self._pump()

    def _retry_done(self, key: str, mon: _Monitor) -> None:
        g = self._holdings[key]
        if g.state != "running":
            self._after_stop(key, mon, f"the start after the wait failed ({g.reason})")
            return
        self._set_recovery(mon, "restarted", f"started again on {self._sides.us} after the wait")
        self._holdings.explain(key, mon.reason)

    def _monitor_holds_back(self, key: str) -> str:
        """Why an acquire of ``key`` must not start now ("" when it may)."""
        mon = self._monitors.get(key)
        return mon.reason if mon is not None and mon.recovery == "waiting" else ""

    # ------------------------------------------------------------------ status

    def monitor_status(self, now: float, wall: float) -> dict[str, dict[str, object]]:
        """Per group key: ``{"group": {...}, "resources": {token: {...}}}`` for status."""
        out: dict[str, dict[str, object]] = {}
        horizon = now - self._window()
        for key, g in self._holdings.items():
            mon = self._monitors.get(key) or _Monitor()
            recent = [res for at, res in mon.failures if at > horizon]
            resources: dict[str, object] = {}
            for spec in g.spec.resources:
                last = mon.last.get(spec.token)
                resources[spec.token] = {
                    "result": last[0].result if last else None,
                    "time": round(wall - (now - last[1]), 3) if last else None,
                    "duration_ms": round(last[0].duration_ms, 1) if last else None,
                    "reason": last[0].detail if last else "",
                    "failures": recent.count(spec.token),
                }
            checking = self._monitor_inflight is not None and self._monitor_inflight[1] == key
            out[key] = {
                "group": {
                    "enabled": self._monitor_cfg.enabled,
                    "checks": mon.checks,
                    "failures": len(recent),
                    "restarts": mon.restarts,
                    "recovery": mon.recovery or "none",
                    "reason": mon.reason,
                    "checking": checking,
                    "next_check_in_s": _left(mon.due, now) if self._monitor_cfg.enabled else None,
                    "retry_in_s": _left(mon.retry_at, now),
                },
                "resources": resources,
            }
        return out

    def _monitor_settings(self) -> dict[str, object]:
        """The monitoring settings for the ``resources`` part of status."""
        cfg = self._monitor_cfg
        return {
            "enabled": cfg.enabled,
            "interval_s": cfg.interval_ms / 1000,
            "timeout_s": cfg.timeout_ms / 1000,
            "restarts": cfg.restarts,
            "window_s": cfg.window_ms / 1000,
        }


def _left(when: float | None, now: float) -> float | None:
    return None if when is None else round(max(0.0, when - now), 1)
