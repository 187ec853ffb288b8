"""A local stall longer than deadtime: self-fence, then rejoin once released.

While our loop was frozen the peer most likely declared us dead and took our groups
over (or is fencing us); running them a moment longer risks a double start. So every
queued job is dropped, we claim nothing from that moment on, and every group is
released at once, ahead of any other work (reliability.md §3.2, scenario 5).

Once everything is released, we are a node without groups that runs again: we rejoin
as a starting node does. In nice_failback we announce ``starting``; the peer answers
with what it holds and the ordinary start-up exchange decides (our groups come back
to us unless the peer took them over; with ``auto_failback on`` it then hands them
back). In legacy mode we ask for our groups with ``ip-request``. A peer that is dead
to us is taken over as after its death (unless its fence or takeover still runs).
A failed stop ends nothing: the group stays claimed and failed here.

``SelfFence`` is the only writer of whether a released self-fence still has to rejoin.
"""

from __future__ import annotations

from engine.core.policy import wire
from engine.core.policy.fencing import FencingBook
from engine.core.policy.holdings import Holdings
from engine.core.policy.jobs import JobQueue
from engine.core.policy.negotiation import Negotiation
from engine.core.policy.outbox import Outbox
from engine.core.policy.peer import PeerView
from engine.core.policy.pushes import PushSchedule
from engine.core.policy.records import Job, call, release_steps
from engine.core.policy.shutdown import Shutdown
from engine.core.policy.sides import Sides
from engine.core.policy.startup import Startup
from engine.core.policy.takeover import Takeover
from engine.core.policy_types import Hold


class SelfFence:
    """Release everything after a long local stall, then rejoin the cluster."""

    def __init__(
        self,
        sides: Sides,
        out: Outbox,
        holdings: Holdings,
        peer: PeerView,
        negotiation: Negotiation,
        jobs: JobQueue,
        *,
        pushes: PushSchedule,
        shutdown: Shutdown,
        fencing: FencingBook,
        startup: Startup,
        takeover: Takeover,
    ) -> None:
        self._sides = sides
        self._out = out
        self._holdings = holdings
        self._peer = peer
        self._negotiation = negotiation
        self._jobs = jobs
        self._pushes = pushes
        self._shutdown = shutdown
        self._fencing = fencing
        self._startup = startup
        self._takeover = takeover
        self._rejoin_due = False

    def begin(self, stalled_ms: int) -> bool:
        """Our own loop was frozen for ``stalled_ms``: self-fence when that is longer
        than deadtime and there is a peer that could have taken over; True when it
        began."""
        deadtime = self._sides.config.timing.deadtime_ms
        other = self._sides.other
        if stalled_ms <= deadtime or other is None:
            return False
        self._jobs.drop_queued()
        self._pushes.cancel_all()
        self._rejoin_due = False
        reason = (
            f"our main loop stalled for {stalled_ms} ms (deadtime {deadtime} ms): "
            f"{other} may have declared us dead and taken over, so we release "
            "everything at once"
        )
        self._out.event(
            "release",
            reason,
            node=self._sides.us,
            level="CRIT",
            log=f"Local stall of {stalled_ms} ms exceeds deadtime: releasing all resources.",
        )
        self._holdings.claim_exactly(Hold.NONE)
        self._holdings.legacy_forget()
        steps = [*release_steps(list(self._holdings), reason), call(self._released)]
        self._jobs.enqueue_first(Job("self-fence", steps))
        return True

    def _released(self, job: Job, _now: float) -> None:
        """Everything stopped: report holding nothing, then rejoin (``rejoin``). A
        failed stop keeps its group claimed, and we stay out."""
        if job.failures:
            for key in job.failures:
                self._holdings.claim(self._holdings.class_of(key))
            return
        self._holdings.report(False, "self-fence")
        self._rejoin_due = True

    def rejoin(self, now: float) -> None:
        """After a completed self-fence (the planner asks when it settles): take part
        in the cluster again as a node that has just started."""
        other = self._sides.other
        if not self._rejoin_due or other is None:
            return
        self._rejoin_due = False
        if self._shutdown.wanted:
            return  # leaving anyway
        if self._peer.status == "dead":
            self._rejoin_dead_peer(other)
        elif self._sides.nice:
            self._announce(
                f"{other} answers with what it holds, and the start-up exchange "
                "decides who runs what"
            )
            self._peer.mark_stable(False)
            self._negotiation.rejoin()
            self._out.send(wire.starting())
        else:
            self._announce(f"asking {other} for our groups (ip-request), as at start-up")
            why = f"rejoining after our main loop stalled; {other} releases it on request"
            self._startup.req_our_resources(False, why)

    def _announce(self, how: str) -> None:
        self._out.event(
            "rejoin",
            f"every group released after our main loop stalled; rejoining: {how}",
            node=self._sides.us,
            level="WARN",
            log="Self-fence complete: rejoining the cluster.",
        )

    def _rejoin_dead_peer(self, other: str) -> None:
        """The peer is dead to us: nobody else runs the groups we released. Its fence
        or its takeover, when one still runs, takes them over; else we do now."""
        if self._negotiation.takeover_in_progress or self._fencing.busy():
            self._announce(f"{other} is dead; its fence or takeover in progress takes over")
            return
        if self._fencing.stop_failed_on(other):
            self._announce(f"{other} is dead; its failed stop waits for STONITH or an operator")
            return
        self._announce(f"{other} is dead: taking every group over again")
        why = f"{other} is dead and we released every group after our main loop stalled"
        self._takeover.take_over_from(other, why)
