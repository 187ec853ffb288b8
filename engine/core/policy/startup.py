"""Start-up: comm-up, the ``starting``/``resource`` exchange, RSCRCVD, own groups.

Heartbeat's nice_failback start-up (spec §7.6/§7.7): announce ``starting``, learn what
the peer holds from its ``resource`` reports, and take our own groups once the peer is
stable (or after the RSCRCVD delay when it never settles). ``Startup`` reads both
sides' hold reports and moves the negotiation (a report that claims our groups is
answered by ``Convergence``); it owns no state of its own.
"""

from __future__ import annotations

from engine.core.policy import wire
from engine.core.policy.constants import STOP_FAILED_INFO
from engine.core.policy.convergence import Convergence
from engine.core.policy.failback import Failback
from engine.core.policy.fencing import FencingBook
from engine.core.policy.holdings import Holdings
from engine.core.policy.jobs import JobQueue
from engine.core.policy.legacy import Legacy
from engine.core.policy.negotiation import Acquisition, Negotiation
from engine.core.policy.outbox import Outbox, log
from engine.core.policy.peer import PeerView
from engine.core.policy.shutdown import Shutdown
from engine.core.policy.sides import Sides
from engine.core.policy.stability import Stability
from engine.core.policy.standby import Standby
from engine.core.policy_types import Hold, ResourceState, StandbyState, parse_hold, swap_view
from engine.protocol.message import Message

_SETTLED = (ResourceState.STABLE, ResourceState.SHUTDOWN)


class Startup:
    """Comm-up, the resource reports of both nodes, and taking our own groups."""

    def __init__(
        self,
        sides: Sides,
        out: Outbox,
        holdings: Holdings,
        peer: PeerView,
        negotiation: Negotiation,
        acquisition: Acquisition,
        jobs: JobQueue,
        *,
        legacy: Legacy,
        fencing: FencingBook,
        standby: Standby,
        failback: Failback,
        stability: Stability,
        shutdown: Shutdown,
        convergence: Convergence,
    ) -> None:
        self._sides = sides
        self._out = out
        self._holdings = holdings
        self._peer = peer
        self._negotiation = negotiation
        self._acquisition = acquisition
        self._jobs = jobs
        self._legacy = legacy
        self._fencing = fencing
        self._standby = standby
        self._failback = failback
        self._stability = stability
        self._shutdown = shutdown
        self._convergence = convergence

    def comm_up(self, now: float) -> bool:
        """Communications are up (spec §6.8): start the resource logic (§7.6/§7.7);
        False when they already were."""
        if not self._peer.communications_up():
            return False
        if self._sides.other is None or self._peer.status != "dead":
            self._acquisition.done(foreign=True)
        if self._sides.nice:
            self._out.send(wire.starting())
            self._negotiation.enter(ResourceState.STARTING, now)
            if self._sides.other is None:
                self._alone(now)
        else:
            self.req_our_resources(False, "start-up: this node is the group's home")
        return True

    def _alone(self, now: float) -> None:
        """A one-node cluster: nobody will answer ``starting``, nobody can hold our
        groups, so the exchange is over at once and we take every group."""
        self._peer.mark_stable(True)
        self._negotiation.enter(ResourceState.STABLE, now)
        self.req_our_resources(False, "no other node in ha.cf: this node runs its groups")
        log("info", "local resource transition completed.")
        self._holdings.report(True)

    def on_starting(self, msg: Message, src: str, now: float) -> None:
        """The other side (re)starts its resource logic."""
        if not self._sides.nice or src == self._sides.us:
            return
        old = self._negotiation.state
        new = old
        if old is ResourceState.STARTING:
            new = ResourceState.BOTHSTARTING
            self._acquisition.done(foreign=True, why="HB_R_BOTHSTARTING")
        elif old not in (ResourceState.RSCRCVD, ResourceState.STABLE, ResourceState.SHUTDOWN):
            log("ERROR", f"Received 'starting' message in state {int(old)}")
            return
        self._peer.mark_stable(False)
        if self._negotiation.takeover_in_progress:
            log("WARN", "T_STARTING received during takeover.")
        self._holdings.report(old is ResourceState.STABLE)
        self._negotiation.enter(new, now)
        self._audit()

    def on_resource(self, msg: Message, src: str, now: float) -> None:
        """A hold report, ours (loopback) or the other side's."""
        if not self._sides.nice:
            return
        hold = parse_hold(msg.get("rsc_hold"))
        if hold is None:
            log(
                "ERROR",
                f"resource message from {src} with bad rsc_hold [{msg.get('rsc_hold')}] ignored",
            )
            return
        full = msg.get("rtype") == "full"
        old = self._negotiation.state
        new = old
        if old in (ResourceState.STARTING, ResourceState.BOTHSTARTING):
            new = ResourceState.RSCRCVD
            if not self._sides.auto:
                self._acquisition.done(foreign=True, why="T_RESOURCES")
        elif old is ResourceState.INIT:
            log("ERROR", "resource message received in state 0")
            return
        if src == self._sides.us:
            new = self._own_report(msg, new)
        else:
            new = self._other_report(msg, hold, full, old, new, now)
        self._negotiation.enter(new, now)
        self._audit()

    def _other_report(
        self,
        msg: Message,
        hold: Hold,
        full: bool,
        old: ResourceState,
        new: ResourceState,
        now: float,
    ) -> ResourceState:
        self._holdings.other_report(hold, full)
        stable = msg.get("isstable")
        info = msg.get("info")
        if info == "standby aborted":
            self._standby.other_side_aborted()
        if hold is not Hold.NONE and info in STOP_FAILED_INFO:
            keys = self._holdings.keys(swap_view(hold))
            self._fencing.peer_failed_stop(keys, STOP_FAILED_INFO[info])
        self._convergence.answer_claim(now)
        if stable == "1":
            if not self._peer.stable:
                log("info", "remote resource transition completed.")
                self._peer.mark_stable(True)
                self._holdings.report(old is ResourceState.STABLE)
                self._failback.peer_settled(now)
        elif stable is not None:
            self._peer.mark_stable(False)
        if old not in _SETTLED and self._peer.stable:
            self._other_settled(now)
            new = ResourceState.STABLE
        return new

    def start_orphans(self) -> None:
        """Nobody runs our groups although both sides are settled (``Convergence``):
        we are their home node, so we start them."""
        us, other = self._sides.us, self._sides.other
        why = f"nobody runs {us}'s groups although {us} and {other} are both settled"
        self._out.event(
            "audit",
            f"{why}; {us} is their home node, so it starts them",
            level="WARN",
            log=f"No one owns our local resources: {us} acquires them again.",
        )
        self.req_our_resources(True, f"{why} (no one owned them)")

    def _other_settled(self, now: float) -> None:
        """The peer became stable while we were starting: take our groups now."""
        log("info", "remote resource transition completed.")
        self.req_our_resources(False, f"{self._sides.other} is stable and does not hold it")
        self._holdings.report(True)
        self._failback.perform(now)
        local = not self._sides.auto and bool(self._holdings.other_holds & Hold.FOREIGN)
        self._acquisition.done(local=local, foreign=True, why="T_RESOURCES(them)")

    def _own_report(self, msg: Message, new: ResourceState) -> ResourceState:
        # i_hold is ours: the report says what we claimed when we sent it, and a later
        # claim must not be undone by its loopback (Heartbeat copies it into i_hold,
        # which made a stale report log a false "No one owns our local resources!").
        if self._holdings.i_hold & Hold.LOCAL:
            self._acquisition.done(local=True, why="T_RESOURCES(us)")
        info = msg.get("info")
        if info == "mach_down":
            log("info", "mach_down takeover complete.")
            self._negotiation.takeover_done()
            self._holdings.claim(Hold.FOREIGN)
            self._failback.needed()
            self._peer.mark_stable(True)
            self._acquisition.done(foreign=True, why="mach_down")
        elif info == "shutdown":
            new = ResourceState.SHUTDOWN
        return new

    def _audit(self) -> None:
        """Heartbeat's AuditResources (spec §7.5) after every report."""
        settled = (
            self._stability.is_stable()
            and not self._shutdown.in_progress
            and self._negotiation.state is not ResourceState.SHUTDOWN
        )
        self._holdings.audit(settled)

    def rscrcvd_expired(self, now: float) -> None:
        """10 s in RSCRCVD without a stable peer: take our own groups (spec §7.6)."""
        if self._negotiation.state is not ResourceState.RSCRCVD:
            return
        self._negotiation.enter(ResourceState.STABLE, now)
        self.req_our_resources(
            False,
            f"{self._sides.other or 'the peer'} did not settle within "
            f"{self._negotiation.rsc_delay:g} s of start-up",
        )
        log("info", "local resource transition completed.")
        self._holdings.report(True)
        self._failback.perform(now)

    def req_our_resources(self, force: bool, why: str) -> None:
        """Acquire our own groups (``req_our_resources``, spec §7.6)."""
        if self._shutdown.in_progress:
            return
        if self._sides.nice:
            theirs = self._holdings.other_holds & Hold.FOREIGN or self._holdings.i_hold & Hold.LOCAL
            if theirs and not force and self._standby.state is StandbyState.NOT:
                log("info", "Local Resource acquisition completed. (none)")
                return
            self._holdings.claim(Hold.LOCAL)
        active = self._peer.status == "active"
        ask = not self._sides.nice and active and not self._fencing.peer_fenced
        self._jobs.defer(lambda: self._legacy.request_own(ask, why))
