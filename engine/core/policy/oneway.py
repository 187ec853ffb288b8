"""Wiring of the one-way loss guard (issue 15.3; the rule is ``engine/core/oneway.py``).

The membership tells us whether the peer's heartbeats list us (``on_peer_hears``);
the peer's hold reports say what it claims (``_other_holds``). After every input
(``_settle``) the guard gets those facts and may decide to release the claimed groups
(ahead of any other work, like a self-fence), to rejoin through the start-up exchange
once the peer hears us again, or to report a release that failed.
"""

from __future__ import annotations

from collections import deque

from engine.core.oneway import OneWayFacts, Rejoin, ReleaseClaimed, ReportStopFailed
from engine.core.policy.jobs import PolicyJobs
from engine.core.policy.state import _Job
from engine.core.policy_types import Hold, ResourceState, StandbyState

ONE_WAY_JOB = "one-way release"


class OneWayMixin(PolicyJobs):
    """Feeds the one-way guard and carries out its decisions."""

    def on_peer_hears(self, node: str, hears_us: bool | None, now: float) -> None:
        """The peer's status lists us (True), does not (False), or says nothing (None)."""
        self._now = now
        if node != self._peer:
            return
        self._peer_hears_us = hears_us
        self._settle()

    def _one_way_check(self) -> None:
        """Ask the guard (from ``_settle``) and act on its decision."""
        if self._peer is None or not self._nice or not self._comm_up:
            return
        if self._shutdown_in_progress:
            return  # the shutdown releases everything itself
        decision = self._one_way.decide(self._one_way_facts(), self._now)
        if isinstance(decision, ReleaseClaimed):
            self._one_way_release(decision)
        elif isinstance(decision, Rejoin):
            self._one_way_rejoin(decision)
        elif isinstance(decision, ReportStopFailed):
            self._event("one_way", decision.reason, node=self._peer, level="ERROR")
            self._send_hold(True, "stop failed")

    def _one_way_deadlines(self) -> list[float]:
        """A release waiting for the grace after the peer came back (``next_deadline``)."""
        deadline = self._one_way.next_deadline()
        return [] if deadline is None else [deadline]

    def _one_way_facts(self) -> OneWayFacts:
        running = ("running", "starting")
        claimed = tuple(
            key
            for key, g in self._groups.items()
            if g.state in running and self._other_holds & self._peer_bit(g.spec.node)
        )
        busy = self._busy()
        settled = (
            not busy
            and self._rstate is ResourceState.STABLE
            and self._standby is StandbyState.NOT
            and self._standby_deadline is None
        )
        return OneWayFacts(
            peer=self._peer or "",
            peer_active=self._peer_status == "active",
            peer_hears_us=self._peer_hears_us,
            claimed=claimed,
            stop_failed=tuple(k for k, g in self._groups.items() if g.failed_op == "stop"),
            busy=busy,
            settled=settled,
            stonith=bool(self._config.stonith),
        )

    def _peer_bit(self, home: str) -> Hold:
        """The bit of the peer's ``rsc_hold`` (its own view) that covers a group of ``home``."""
        return Hold.LOCAL if home == self._peer else Hold.FOREIGN

    def _one_way_release(self, decision: ReleaseClaimed) -> None:
        """Release the claimed groups first: the peer runs them and cannot hear us.

        Work already queued keeps only its releases (a stall's self-fence, a
        resolution): the peer declared us dead, so every exchange it had with us
        (standby, failback) is cancelled on its side, and finishing ours would only
        start groups it now runs or send answers to questions it no longer asks.
        """
        for job in [*([self._job] if self._job is not None else []), *self._queue]:
            job.steps = deque(step for step in job.steps if step.kind == "release")
        self._pushes.clear()
        self._failback_retry_at = None
        if self._standby is not StandbyState.NOT or self._standby_deadline is not None:
            self._log("info", "Cancelling pending standby operation")
            self._standby, self._standby_deadline = StandbyState.NOT, None
        self._event(
            "one_way",
            decision.reason,
            node=self._peer or "",
            level="CRIT",
            log=(
                f"One-way communication: {self._peer} took over {', '.join(decision.groups)} "
                f"and does not hear us: releasing {'it' if len(decision.groups) == 1 else 'them'}."
            ),
        )
        job = _Job(ONE_WAY_JOB, deque(self._release_steps(list(decision.groups), decision.reason)))

        def released(j: _Job) -> None:
            if j.failures:
                self._send_hold(True, "stop failed")
                return
            for which in (Hold.LOCAL, Hold.FOREIGN):
                if all(self._groups[k].state == "stopped" for k in self._keys(which)):
                    self._i_hold &= ~which
            self._send_hold(True)

        job.steps.append(self._call(released))
        self._queue.appendleft(job)
        self._pump()

    def _one_way_rejoin(self, decision: Rejoin) -> None:
        """Announce ``starting`` as at comm-up: the peer answers with its holdings, and
        the start-up exchange (with auto_failback) decides who runs what."""
        self._event(
            "one_way",
            decision.reason,
            node=self._peer or "",
            level="WARN",
            log=f"{self._peer} hears us again after one-way communication: rejoining.",
        )
        self._other_stable = False
        self._rscrcvd_at = None
        self._send_starting()
        self._rstate = ResourceState.STARTING
