"""Peer status and death: the fencing decision, mach_down takeover, shutdone, partitions.

``_recover_dead`` is Heartbeat's ``hb_rsc_recover_dead_resources`` (spec §7.6, §8.2):
a dead peer that may still hold groups is fenced first (``fencing.py``); one that gave
them up, or a node without a STONITH device, is taken over at once.
"""

from __future__ import annotations

import logging

from engine.core.policy import wire
from engine.core.policy.messages import PolicyJobs
from engine.core.policy.outbox import log
from engine.core.policy.records import Job, Step, call, log_step, release_steps
from engine.core.policy_types import Hold, ResourceState
from engine.protocol.message import Message

logger = logging.getLogger(__name__)


class TakeoverMixin(PolicyJobs):
    """What the policy does when the peer changes status, dies or leaves."""

    def on_node_status(self, node: str, status: str, now: float) -> None:
        """A peer's status changed (init/up/active/dead)."""
        self._now = now
        if self._ipfail is not None and (self._ipfail.handles(node) or node == self._sides.other):
            if self._ipfail.handles(node):
                self._ipfail.on_ping_status(node, status, now)
            else:
                self._ipfail.on_peer_status(status, now)
            self._pull_ipfail()
        if node != self._sides.other:
            return
        old = self._peer.status_changed(status)
        if status in ("init", "up"):
            self._fencing.peer_restarted(node)
        if old == "dead" and status == "active" and not self._peer.restarted:
            self._on_partition_healed(node)
        self._settle()

    def on_node_dead(self, node: str, reason: str, now: float) -> None:
        """A peer was declared dead: fence if needed, then take over (spec §7.6, §8.2)."""
        self._now = now
        if node != self._sides.other:
            return
        self._peer.declared_dead()
        self._holdings.legacy_forget()
        if not self._peer.comm_up:
            self._peer.defer_death(node, reason)
        else:
            self._recover_dead(node, reason)
        self._settle()

    def on_node_restarted(self, node: str, now: float) -> None:
        """A peer came back with a higher generation: it will announce itself again."""
        self._now = now
        if node == self._sides.other:
            self._peer.came_back()
            self._fencing.peer_restarted(node)
            # A restarted peer forgot the standby it was part of: waiting for its reply
            # would hold every transition (and our shutdown) for the 1 h deadline.
            self._standby.cancel()
        self._settle()

    def _recover_dead(self, node: str, reason: str) -> None:
        """``hb_rsc_recover_dead_resources`` (spec §7.6, §8.2)."""
        self._standby.cancel()
        # A dead peer is in no transition: waiting for it to report stable would hold
        # our shutdown and every operator request for ever.
        self._peer.mark_stable(True)
        if self._shutdown.in_progress:
            return
        self._failback.needed()
        if self._fencing.fencing_for_stop(node):
            return  # already being fenced for its failed stop; that fence takes over
        if self._fencing.peer_fenced and self._fencing.fence_note:
            self._take_over_reset_by_hand(node, reason)
        elif not self._dead_peer_may_hold_groups():
            self._take_over_released(node, reason)
        elif self._sides.config.stonith:
            self._fencing.fence_dead_peer(node, reason, self._now)
        else:
            self._take_over_unfenced(node, reason)

    def _dead_peer_may_hold_groups(self) -> bool:
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
                self._req_our_resources(True, f"{node} is dead")
            if not self._holdings.i_hold & Hold.FOREIGN:
                self._takeover_from_node(node, reason)
        else:
            self._takeover_from_node(node, reason)

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
        self._takeover_from_node(node, f"{reason}; already {note}")

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
        self._takeover_from_node(node, reason)

    def _takeover_from_node(self, node: str, why: str) -> None:
        """``takeover_from_node``: mach_down takes the node's groups (spec §7.6)."""
        if self._shutdown.in_progress:
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
        self._req_our_resources(True, f"taking over from {node}")
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

    def _on_shutdone(self, msg: Message, src: str) -> None:
        if src == self._sides.us:
            self._negotiation.enter(ResourceState.SHUTDOWN, self._now)
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
        self._takeover_from_node(src, f"{src} shut down (shutdone received)")

    def _on_stonith(self, msg: Message, src: str) -> None:
        logger.debug(
            "stonith report from %s: node=%s result=%s", src, msg.get("node"), msg.get("result")
        )

    def _on_partition_healed(self, node: str) -> None:
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
            self._send_hold(self._negotiation.state is ResourceState.STABLE)
            return
        keys = self._holdings.not_stopped(self._holdings.homed_on(node))
        if keys:
            why = f"{node} is back after a partition and is the group's home node"
            self._jobs.enqueue(Job("resolve", release_steps(keys, why)))

    def _maybe_resolve_conflict(self) -> None:
        """Both nodes hold the peer's groups: we are not their home, so we release them."""
        if not (
            self._sides.nice
            and self._holdings.i_hold & Hold.FOREIGN
            and self._holdings.other_holds & Hold.LOCAL
        ):
            return
        if self._peer.status == "dead" or self._jobs.busy() or self._shutdown.in_progress:
            return
        if not self._is_stable():
            return
        keys = self._holdings.not_stopped(self._holdings.keys(Hold.FOREIGN))
        why = (
            f"both {self._sides.us} and {self._sides.other} hold {self._sides.other}'s groups; "
            f"{self._sides.other} is their home node, so {self._sides.us} releases them"
        )

        def finish(j: Job, _now: float) -> None:
            if j.failures:
                self._send_hold(True, "stop failed")  # the home node fences us, then starts
                return
            self._holdings.disclaim(Hold.FOREIGN)
            self._send_hold(True)

        self._jobs.enqueue(Job("resolve", [*release_steps(keys, why), call(finish)]))
        self._jobs.pump(self._now)
