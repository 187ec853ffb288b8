"""What a failed monitor check leads to: restart in place, hand over, or wait here.

A failure restarts the group in place while the failures within ``monitor_window`` do
not exceed ``monitor_restarts``; beyond that, or when the restart fails, the group is
stopped and handed to the peer with the standby protocol. When no peer can take it, it
stays stopped here and is started again after a delay that doubles from
``MONITOR_RETRY_MIN`` up to the window. A failed stop keeps the group claimed and tells
the peer (``info=monitor stop failed``), which fences us before it starts it. Every
decision is a ``recovery`` event; the record it changes is the group's
``GroupMonitor``.
"""

from __future__ import annotations

from engine.core.policy.admin import Admin
from engine.core.policy.constants import MONITOR_HANDOVER_RETRY, MONITOR_RETRY_MIN
from engine.core.policy.fencing import FencingBook
from engine.core.policy.holdings import Holdings
from engine.core.policy.jobs import JobQueue
from engine.core.policy.monitor_book import GroupMonitor, MonitorBook
from engine.core.policy.outbox import Outbox
from engine.core.policy.peer import PeerView
from engine.core.policy.records import Job, acquire_steps, call, release_steps
from engine.core.policy.shutdown import Shutdown
from engine.core.policy.sides import Sides
from engine.core.policy.standby import Standby
from engine.core.policy_types import MonitorCheck, StandbyState, hold_name

_BUSY_RECOVERY = ("restarting", "stopping", "retrying")
"""Recovery states that a running monitor job ends; without the job they are stale."""


def secs(seconds: float) -> str:
    return f"{seconds:g} s"


def _count(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


class MonitorRecovery:
    """Recovers groups whose monitor check failed."""

    def __init__(
        self,
        sides: Sides,
        out: Outbox,
        holdings: Holdings,
        peer: PeerView,
        jobs: JobQueue,
        book: MonitorBook,
        *,
        fencing: FencingBook,
        standby: Standby,
        admin: Admin,
        shutdown: Shutdown,
    ) -> None:
        self._sides = sides
        self._out = out
        self._holdings = holdings
        self._peer = peer
        self._jobs = jobs
        self._book = book
        self._fencing = fencing
        self._standby = standby
        self._admin = admin
        self._shutdown = shutdown

    # ------------------------------------------------------------------ failure

    def failed(self, key: str, check: MonitorCheck, now: float) -> None:
        """Log the failure, count it, then restart in place or stop for a handover."""
        mon = self._book.record(key)
        mon.expire(now - self._book.window)
        mon.failed(now, check)
        count, window = len(mon.failures), self._book.window
        budget = self._book.settings.restarts
        self._out.event(
            "monitor",
            f"{check.describe()}; failure {count} within {secs(window)} "
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
            self._restart(key, mon, f"restart {count} of {budget} within {secs(window)}")
        else:
            failures = _count(count, "failure")
            tally = f"{failures} within {secs(window)}, monitor_restarts is {budget}"
            self._stop(key, mon, tally, now)

    def _event(
        self, key: str, mon: GroupMonitor, log: str = "", *, level: str = "info", node: str = ""
    ) -> None:
        """A ``recovery`` timeline entry with the decision as its reason."""
        self._out.event(
            "recovery", mon.reason, node=node or self._sides.us, group=key, level=level, log=log
        )

    def _restart(self, key: str, mon: GroupMonitor, tally: str) -> None:
        mon.restarting()
        mon.set_recovery("restarting", f"restarting {key} on {self._sides.us} ({tally})")
        self._event(
            key,
            mon,
            f"Restarting resource group {key} after a monitor failure ({tally}).",
            level="WARN",
        )
        steps = [*release_steps([key], mon.reason), *acquire_steps([key], mon.reason)]
        steps.append(call(lambda j, now: self._restart_done(key, mon, j, now)))
        self._jobs.enqueue(Job("monitor", steps))

    def _restart_done(self, key: str, mon: GroupMonitor, job: Job, now: float) -> None:
        g = self._holdings[key]
        if g.failed_op == "stop":
            self._stop_failed(key, mon, tell_peer=True)
        elif key in job.failures or g.state != "running":
            self._after_stop(key, mon, f"the restart failed ({g.reason})", now)
        else:
            mon.set_recovery("restarted", f"restarted on {self._sides.us}")
            self._holdings.explain(key, mon.reason)
            self._event(key, mon, f"Resource group {key} restarted after a monitor failure.")

    def _stop(self, key: str, mon: GroupMonitor, tally: str, now: float) -> None:
        """The restart budget is used up: stop the group, then hand it over (or wait)."""
        problem = self._peer_problem(key, mon, now)
        other = self._sides.other
        then = f"then {other} takes it" if not problem else f"{problem}, so it stays down"
        mon.set_recovery("stopping", f"{tally}: stopping {key}, {then}")
        self._event(
            key, mon, f"Monitor restarts of {key} used up ({tally}): stopping it.", level="WARN"
        )
        stopped = call(lambda _j, now: self._stopped(key, mon, tally, now))
        self._jobs.enqueue(Job("monitor", [*release_steps([key], mon.reason), stopped]))

    def _stopped(self, key: str, mon: GroupMonitor, tally: str, now: float) -> None:
        if self._holdings[key].failed_op == "stop":
            self._stop_failed(key, mon, tell_peer=True)
        else:
            self._after_stop(key, mon, tally, now)

    def _after_stop(self, key: str, mon: GroupMonitor, why: str, now: float) -> None:
        """The failed group is down here: the peer takes it, else it waits here."""
        problem = self._peer_problem(key, mon, now)
        if problem:
            self._wait(key, mon, f"{why}; {problem}", now)
            return
        mon.set_recovery("handover", f"{why}; handing {key} to {self._sides.other}")
        self._holdings.explain(key, mon.reason)
        self._event(key, mon, level="WARN")

    def _peer_problem(self, key: str, mon: GroupMonitor, now: float) -> str:
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
            ago = now - mon.handed_away_at
            return (
                f"it already failed on {peer} after {self._sides.us} handed it over {ago:.0f} s ago"
            )
        stuck = self._holdings.stop_failed_here(self._holdings.keys(self._holdings.class_of(key)))
        if stuck:
            return f"{', '.join(stuck)} failed to stop here, so its class cannot be handed over"
        return ""

    def _stop_failed(self, key: str, mon: GroupMonitor, *, tell_peer: bool) -> None:
        """A stop failed during recovery: keep claiming the group; the peer fences us."""
        peer, us = self._sides.other, self._sides.us
        if peer is None or self._peer.status != "active":
            then = "nobody may start it until it is stopped by hand"
        elif self._sides.config.stonith:
            then = f"{peer} fences {us} before it starts it"
        else:
            then = (
                f"no STONITH device: stop it by hand, then confirm on {peer} with "
                f"'hactl meatware confirm {us}'"
            )
        mon.set_recovery("stop failed", f"{key} could not be stopped; {then}")
        self._event(
            key,
            mon,
            f"Resource group {key} could not be stopped after a monitor failure.",
            level="CRIT",
        )
        if tell_peer and peer is not None and self._peer.status == "active":
            self._holdings.report(True, "monitor stop failed")

    def _wait(self, key: str, mon: GroupMonitor, why: str, now: float) -> None:
        """Nobody else can run the group: keep it stopped, start it here again later."""
        window = self._book.window
        delay = min(max(window, MONITOR_RETRY_MIN), MONITOR_RETRY_MIN * 2**mon.backoff)
        mon.back_off(now + delay)
        mon.set_recovery("waiting", f"{why}: it stays stopped, tried here again in {secs(delay)}")
        self._holdings.explain(key, mon.reason)
        self._event(
            key,
            mon,
            f"Resource group {key} stays stopped after monitor failures; "
            f"retrying in {secs(delay)}.",
            level="WARN",
        )

    # ------------------------------------------------------------------ progress

    def progress(self, now: float) -> None:
        """Expire old failures and move handovers and waiting groups on."""
        for key, mon in self._book.items():
            if key not in self._holdings:
                self._book.forget(key)
                continue
            mon.expire(now - self._book.window)
            if mon.recovery in _BUSY_RECOVERY and not self._jobs.busy():
                mon.set_recovery("", "recovery abandoned: its job was dropped")
            if self._shutdown.wanted or self._shutdown.in_progress:
                continue
            if mon.recovery in ("handover", "waiting") and not self._holdings.still_ours(key):
                mon.set_recovery("", f"no longer held by {self._sides.us}")
                mon.retry(None)
            elif mon.recovery == "handover":
                self._try_handover(key, mon, now)
            elif mon.recovery == "handing over":
                self._handover_finished(key, mon, now)
            elif mon.recovery == "waiting":
                self._waiting(key, mon, now)

    def _try_handover(self, key: str, mon: GroupMonitor, now: float) -> None:
        problem = self._peer_problem(key, mon, now)
        if problem:
            self._wait(key, mon, f"cannot hand {key} over: {problem}", now)
            return
        if mon.retry_at is not None and now < mon.retry_at:
            return
        mon.retry(now + MONITOR_HANDOVER_RETRY)  # until the standby is under way
        if self._admin.transition_refusal(now):
            return
        word = hold_name(self._holdings.class_of(key))
        us, other = self._sides.us, self._sides.other
        mon.set_recovery("handing over", f"handing {key} to {other}")
        self._standby.go_standby(
            word, f"{key} failed its monitor on {us}; {other} takes the [{word}] groups"
        )

    def _handover_finished(self, key: str, mon: GroupMonitor, now: float) -> None:
        if self._standby.state is not StandbyState.NOT or self._standby.deadline is not None:
            return
        if self._holdings[key].failed_op == "stop":
            self._stop_failed(key, mon, tell_peer=False)  # standby aborted, peer told
            return
        other = self._sides.other
        if self._holdings.i_hold & self._holdings.class_of(key):  # refused, unanswered, aborted
            if mon.retry_at is None or now >= mon.retry_at:
                mon.set_recovery(
                    "handover", f"the handover to {other} did not happen, trying again"
                )
                mon.retry(now + MONITOR_HANDOVER_RETRY)
            return
        mon.handed_away(now)
        mon.set_recovery("moved", f"handed to {other}")
        self._holdings.explain(key, mon.reason)
        self._event(
            key,
            mon,
            f"Resource group {key} handed over to {other} after monitor failures.",
            node=other or "",
        )

    def _waiting(self, key: str, mon: GroupMonitor, now: float) -> None:
        if not self._peer_problem(key, mon, now) and not self._admin.transition_refusal(now):
            mon.retry(None)
            mon.set_recovery("handover", f"{self._sides.other} can take {key} now")
            self._try_handover(key, mon, now)
            return
        if mon.retry_at is None or now < mon.retry_at or self._jobs.busy():
            return
        mon.retry(None)
        mon.set_recovery("retrying", f"starting {key} on {self._sides.us} again after the wait")
        self._event(key, mon, level="WARN")
        then = call(lambda _j, at: self._retry_done(key, mon, at))
        self._jobs.enqueue(Job("monitor", [*acquire_steps([key], mon.reason), then]))
        self._jobs.pump(now)

    def _retry_done(self, key: str, mon: GroupMonitor, now: float) -> None:
        g = self._holdings[key]
        if g.state != "running":
            self._after_stop(key, mon, f"the start after the wait failed ({g.reason})", now)
            return
        mon.set_recovery("restarted", f"started again on {self._sides.us} after the wait")
        self._holdings.explain(key, mon.reason)
