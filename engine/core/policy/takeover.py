"""The other side's status and death: the fencing decision, mach_down, shutdone, partitions.

``recover_dead`` is Heartbeat's ``hb_rsc_recover_dead_resources`` (spec §7.6, §8.2):
a dead peer that may still hold groups is fenced first (``fencing.py``); one that gave
them up, or a node without a STONITH device, is taken over at once (``take_over_from``,
Heartbeat's ``takeover_from_node``). ``Takeover`` decides; the state it changes has
its owners (``Holdings``, ``PeerView``, ``Negotiation``, ``FencingBook``).
"""

from __future__ import annotations

import logging

from engine.core.policy import wire
from engine.core.policy.failback import Failback
from engine.core.policy.fencing import FencingBook
from engine.core.policy.holdings import Holdings
from engine.core.policy.jobs import JobQueue
from engine.core.policy.negotiation import Negotiation
from engine.core.policy.outbox import Outbox, log
from engine.core.policy.peer import PeerView
from engine.core.policy.records import Job, Step, call, log_step, release_steps
from engine.core.policy.shutdown import Shutdown
from engine.core.policy.sides import Sides
from engine.core.policy.stability import Stability
from engine.core.policy.standby import Standby
from engine.core.policy.startup import Startup
from engine.core.policy_types import Hold, ResourceState
from engine.protocol.message import Message

logger = logging.getLogger(__name__)


class Takeover:
    """What the policy does when the other side changes status, dies or leaves."""

    def __init__(
        self,
        sides: Sides,
        out: Outbox,
        holdings: Holdings,
        peer: PeerView,
        negotiation: Negotiation,
        jobs: JobQueue,
        *,
        standby: Standby,
        failback: Failback,
        fencing: FencingBook,
        startup: Startup,
        stability: Stability,
        shutdown: Shutdown,
    ) -> None:
        self._sides = sides
        self._out = out
        self._holdings = holdings
        self._peer = peer
        self._negotiation = negotiation
        self._jobs = jobs
        self._standby = standby
        self._failback = failback
        self._fencing = fencing
        self._startup = startup
        self._stability = stability
        self._shutdown = shutdown

    # ------------------------------------------------------------------ status

    def status_changed(self, node: str, status: str, now: float) -> None:
        """The other side's status changed (init/up/active/dead)."""
        old = self._peer.status_changed(status)
        if status in ("init", "up"):
            self._fencing.peer_restarted(node)
            self._holdings.other_restarted()
        if old == "dead" and status == "active" and not self._peer.restarted:
            self._partition_healed(node)
            self._failback.peer_back(now)

    def declared_dead(self, node: str, reason: str, now: float) -> None:
        """The other side was declared dead: recover its groups (after comm-up)."""
        self._peer.declared_dead()
        self._holdings.legacy_forget()
        if not self._peer.comm_up:
            self._peer.defer("dead", node, reason)
        else:
            self.recover_dead(node, reason, now)

    def after_comm_up(self, now: float) -> None:
        """Deaths and ``shutdone`` of the other side that came before comm-up."""
        for what, node, reason in self._peer.take_deferred():
            if what == "dead":
                self.recover_dead(node, reason, now)
            else:
                self.take_over_from(node, reason)

    def came_back(self, node: str) -> None:
        """The other side restarted (a higher generation): it announces itself again."""
        self._peer.came_back()
        self._fencing.peer_restarted(node)
        self._holdings.other_restarted()
        # A restarted peer forgot the standby it was part of: waiting for its reply
        # would hold every transition (and our shutdown) for the 1 h deadline.
        self._standby.cancel()

    # ------------------------------------------------------------------ death

    def recover_dead(self, node: str, reason: str, now: float) -> None:
        """``hb_rsc_recover_dead_resources`` (spec §7.6, §8.2)."""
        self._standby.cancel()
        # A dead peer is in no transition: waiting for it to report stable would hold
        # our shutdown and every operator request for ever.
        self._peer.mark_stable(True)
        if self._shutdown.wanted:
            if not self._shutdown.in_progress:
                log("info", "Resource takeover cancelled - shutdown in progress.")
            return
        self._failback.needed()
        if self._fencing.failed_stop_holds_takeover(node, reason):
            return  # its failed stop's fence or confirmation takes over
        if self._fencing.peer_fenced and self._fencing.fence_note:
            self._take_over_reset_by_hand(node, reason)
        elif not self.dead_peer_may_hold_groups():
            self._take_over_released(node, reason)
        elif self._sides.config.stonith:
            self._fencing.fence_dead_peer(node, reason, now)
        else:
            self._take_over_unfenced(node, reason)

    def dead_peer_may_hold_groups(self) -> bool:
        """Whether the dead peer must be fenced before its groups can be started."""
        need = True
        if self._peer.heard:
            need = self._holdings.other_runs()
        if self._fencing.peer_fenced:
            need = False
        return need

    def _take_over_released(self, node: str, reason: str) -> None:
        """The dead peer had given its groups up: no fencing, take them over."""
        self._dead_peer_notice(
            node,
            f"{reason}; it had given up its resources, no fencing needed",
            f"Dead node {node} gave up resources.",
            "unneeded",
        )
        if self._sides.nice:
            if not self._holdings.i_hold & Hold.LOCAL:
                self._startup.req_our_resources(True, f"{node} is dead")
            if not self._holdings.i_hold & Hold.FOREIGN:
                self.take_over_from(node, reason)
        else:
            self.take_over_from(node, reason)

    def _take_over_reset_by_hand(self, node: str, reason: str) -> None:
        """An operator's fence reset the peer before it was declared dead: its death is
        that reset, so we take over without resetting it a second time."""
        note = self._fencing.fence_note
        self._dead_peer_notice(
            node,
            f"{reason}; it was already {note}, no second reset",
            f"Node {node} was already reset ({note}); not fencing it again.",
            "OK",
        )
        self._holdings.other_stopped_everything()
        self.take_over_from(node, f"{reason}; already {note}")

    def _dead_peer_notice(self, node: str, reason: str, log: str, stonith_result: str) -> None:
        """Why we take a dead peer's groups without fencing it now, in the log and on
        the wire (``t=stonith result=...``, spec §8.2)."""
        self._out.event("takeover", reason, node=node, log=log)
        self._out.send(wire.stonith_result(node, stonith_result))

    def _take_over_unfenced(self, node: str, reason: str) -> None:
        """No STONITH device: Heartbeat takes over unfenced and warns."""
        self._out.send(wire.stonith_result(node, "n_stnth"))
        self._out.event(
            "fence",
            f"{node} may still hold resources but no STONITH device is "
            "configured; taking over unfenced",
            node=node,
            level="WARN",
            log="No STONITH device configured.",
        )
        log("WARN", "Shared disks are not protected.")
        self.take_over_from(node, reason)

    def take_over_from(self, node: str, why: str) -> None:
        """``takeover_from_node``: mach_down takes the node's groups (spec §7.6)."""
        if self._shutdown.wanted:  # also a shutdown still waiting, as Heartbeat's flag
            log("info", "Resource takeover cancelled - shutdown in progress.")
            return
        self._out.event(
            "takeover",
            f"taking over {node}'s groups: {why}",
            node=node,
            log=f"Resources being acquired from {node}.",
        )
        self._jobs.enqueue(self._mach_down_job(node, why))
        if self._sides.nice:
            self._holdings.claim(Hold.FOREIGN)
            self._holdings.other_holds_nothing()
            self._peer.mark_stable(True)
            self._negotiation.takeover_begun()
        self._startup.req_our_resources(True, f"taking over from {node}")
        self._peer.mark_heard()

    def _mach_down_job(self, node: str, why: str) -> Job:
        """The synthetic ``status dead`` event → rc.d/status → mach_down (spec §7.4)."""
        steps = []
        for key in self._holdings.homed_on(node):
            steps.append(log_step("info", f"Taking over resource group {key}"))
            steps.append(Step("acquire", key, f"taking over {node}'s group: {why}"))

        def finish(_job: Job, _now: float) -> None:
            if self._sides.nice:
                log(
                    "info",
                    "/usr/share/heartbeat/mach_down: nice_failback: foreign resources acquired",
                )
                self._out.send(wire.mach_down_hold())
            log("info", f"mach_down takeover complete for node {node}.")

        return Job("status", [*steps, call(finish)])

    # ------------------------------------------------------------------ messages

    def on_shutdone(self, msg: Message, src: str, now: float) -> None:
        """``shutdone``: ours ends our shutdown; the other side's hands us its groups."""
        if src == self._sides.us:
            self._negotiation.enter(ResourceState.SHUTDOWN, now)
            self._holdings.claim_exactly(Hold.NONE)
            return
        self._holdings.other_stopped_everything()
        self._holdings.other_holds_nothing()
        self._peer.shut_down()
        self._out.event(
            "takeover",
            f"{src} shut down gracefully and released its groups",
            node=src,
            log=f"Received shutdown notice from '{src}'.",
        )
        why = f"{src} shut down (shutdone received)"
        if self._peer.comm_up:
            self.take_over_from(src, why)
            return
        # Before comm-up our own messages (the takeover's ip-request-resp, its
        # mach_down report) are not taken yet: the takeover would never finish.
        log("info", f"Takeover from {src} delayed until Communication is up.")
        self._peer.defer("shutdone", src, why)

    def on_stonith(self, msg: Message, src: str) -> None:
        logger.debug(
            "stonith report from %s: node=%s result=%s", src, msg.get("node"), msg.get("result")
        )

    # ------------------------------------------------------------------ partitions

    def _partition_healed(self, node: str) -> None:
        """The peer speaks again without a restart: both may hold the same groups."""
        self._out.event(
            "audit",
            f"{node} is back after a partition; exchanging holdings so "
            "that each group ends with a single owner",
            node=node,
            level="WARN",
            log=f"Cluster node {node} returning after partition.",
        )
        if self._sides.nice:
            self._holdings.report(self._negotiation.state is ResourceState.STABLE)
            return
        keys = self._holdings.not_stopped(self._holdings.homed_on(node))
        if keys:
            why = f"{node} is back after a partition and is the group's home node"
            self._jobs.enqueue(Job("resolve", release_steps(keys, why)))

    def maybe_resolve_conflict(self, now: float) -> None:
        """Both nodes hold the peer's groups: we are not their home, so we release them."""
        mine, theirs = self._holdings.i_hold, self._holdings.other_holds
        if not (self._sides.nice and mine & Hold.FOREIGN and theirs & Hold.LOCAL):
            return
        if self._peer.status == "dead" or self._jobs.busy() or self._shutdown.in_progress:
            return
        if not self._stability.is_stable():
            return
        keys = self._holdings.not_stopped(self._holdings.keys(Hold.FOREIGN))
        us, other = self._sides.us, self._sides.other
        why = (
            f"both {us} and {other} hold {other}'s groups; "
            f"{other} is their home node, so {us} releases them"
        )

        def finish(j: Job, _now: float) -> None:
            if j.failures:
                self._holdings.report(True, "stop failed")  # the home node fences us first
                return
            self._holdings.disclaim(Hold.FOREIGN)
            self._holdings.report(True)

        self._jobs.enqueue(Job("resolve", [*release_steps(keys, why), call(finish)]))
        self._jobs.pump(now)
