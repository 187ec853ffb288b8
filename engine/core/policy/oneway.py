"""Wiring of the one-way loss guard (issue 15.3; the rule is ``engine/core/oneway.py``).

The membership tells us whether the peer's heartbeats list us (``PeerView.hears_us``);
the peer's hold reports say what it claims (``Holdings.other_holds``). After every
input the planner asks ``OneWay.check``: the guard gets those facts and may decide to
release the claimed groups (ahead of any other work, like a self-fence), to rejoin
through the start-up exchange once the peer hears us again, or to report a release
that failed. ``OneWay`` owns the guard; what it changes has its owners.
"""

from __future__ import annotations

from engine.config.model import ClusterConfig
from engine.core.oneway import OneWayFacts, OneWayGuard, Rejoin, ReleaseClaimed, ReportStopFailed
from engine.core.policy import wire
from engine.core.policy.failback import Failback
from engine.core.policy.holdings import Holdings
from engine.core.policy.jobs import JobQueue
from engine.core.policy.negotiation import Negotiation
from engine.core.policy.outbox import Outbox
from engine.core.policy.peer import PeerView
from engine.core.policy.pushes import PushSchedule
from engine.core.policy.records import Job, call, release_steps
from engine.core.policy.shutdown import Shutdown
from engine.core.policy.sides import Sides
from engine.core.policy.standby import Standby
from engine.core.policy_types import Hold, ResourceState, StandbyState

ONE_WAY_JOB = "one-way release"


class OneWay:
    """Feeds the one-way guard and carries out its decisions."""

    def __init__(
        self,
        config: ClusterConfig,
        sides: Sides,
        out: Outbox,
        holdings: Holdings,
        peer: PeerView,
        negotiation: Negotiation,
        jobs: JobQueue,
        *,
        pushes: PushSchedule,
        standby: Standby,
        failback: Failback,
        shutdown: Shutdown,
    ) -> None:
        self._guard = OneWayGuard(sides.us, 3 * config.timing.keepalive_ms / 1000)
        self._sides = sides
        self._out = out
        self._holdings = holdings
        self._peer = peer
        self._negotiation = negotiation
        self._jobs = jobs
        self._pushes = pushes
        self._standby = standby
        self._failback = failback
        self._shutdown = shutdown

    def deadlines(self) -> list[float]:
        """A release waiting for the grace after the peer came back (``next_deadline``)."""
        deadline = self._guard.next_deadline()
        return [] if deadline is None else [deadline]

    def view(self) -> dict[str, object]:
        return self._guard.view()

    def check(self, now: float) -> None:
        """Ask the guard (after every input) and act on its decision."""
        other = self._sides.other
        if other is None or not self._sides.nice or not self._peer.comm_up:
            return
        if self._shutdown.in_progress:
            return  # the shutdown releases everything itself
        decision = self._guard.decide(self._facts(other), now)
        if isinstance(decision, ReleaseClaimed):
            self._release(other, decision, now)
        elif isinstance(decision, Rejoin):
            self._rejoin(other, decision)
        elif isinstance(decision, ReportStopFailed):
            self._out.event("one_way", decision.reason, node=other, level="ERROR")
            self._holdings.report(True, "stop failed")

    def _facts(self, other: str) -> OneWayFacts:
        theirs = self._holdings.other_holds
        claimed = tuple(
            g.spec.key
            for g in self._holdings.groups()
            if g.state in ("running", "starting")
            and theirs & (Hold.LOCAL if g.spec.node == other else Hold.FOREIGN)
        )
        busy = self._jobs.busy()
        settled = (
            not busy
            and self._negotiation.state is ResourceState.STABLE
            and self._standby.state is StandbyState.NOT
            and self._standby.deadline is None
        )
        return OneWayFacts(
            peer=other,
            peer_active=self._peer.status == "active",
            peer_hears_us=self._peer.hears_us,
            claimed=claimed,
            stop_failed=tuple(self._holdings.stop_failed_here()),
            busy=busy,
            settled=settled,
            stonith=bool(self._sides.config.stonith),
        )

    def _release(self, other: str, decision: ReleaseClaimed, now: float) -> None:
        """Release the claimed groups first: the peer runs them and cannot hear us.

        Work already queued keeps only its releases (a stall's self-fence, a
        resolution): the peer declared us dead, so every exchange it had with us
        (standby, failback) is cancelled on its side, and finishing ours would only
        start groups it now runs or send answers to questions it no longer asks.
        """
        self._jobs.keep_only_releases()
        self._pushes.cancel_all()
        self._failback.cancel_retry()
        self._standby.cancel()
        groups = ", ".join(decision.groups)
        them = "it" if len(decision.groups) == 1 else "them"
        self._out.event(
            "one_way",
            decision.reason,
            node=other,
            level="CRIT",
            log=f"One-way communication: {other} took over {groups} "
            f"and does not hear us: releasing {them}.",
        )

        def released(j: Job, _now: float) -> None:
            if j.failures:
                self._holdings.report(True, "stop failed")
                return
            for which in (Hold.LOCAL, Hold.FOREIGN):
                if not self._holdings.not_stopped(self._holdings.keys(which)):
                    self._holdings.disclaim(which)
            self._holdings.report(True)

        steps = [*release_steps(decision.groups, decision.reason), call(released)]
        self._jobs.enqueue_first(Job(ONE_WAY_JOB, steps))
        self._jobs.pump(now)

    def _rejoin(self, other: str, decision: Rejoin) -> None:
        """Announce ``starting`` as at comm-up: the peer answers with its holdings, and
        the start-up exchange (with auto_failback) decides who runs what."""
        self._out.event(
            "one_way",
            decision.reason,
            node=other,
            level="WARN",
            log=f"{other} hears us again after one-way communication: rejoining.",
        )
        self._peer.mark_stable(False)
        self._negotiation.rejoin()
        self._out.send(wire.starting())
