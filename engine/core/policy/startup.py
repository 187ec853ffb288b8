"""Start-up: comm-up, the ``starting``/``resource`` exchange, RSCRCVD, own groups.

Heartbeat's nice_failback start-up (spec §7.6/§7.7): announce ``starting``, learn what
the peer holds from its ``resource`` reports, and take our own groups once the peer is
stable (or after the RSCRCVD delay when it never settles).
"""

from __future__ import annotations

from engine.core.policy import wire
from engine.core.policy.constants import CLAIM_ANSWER_INTERVAL, RESOURCE_MANAGER, STOP_FAILED_INFO
from engine.core.policy.messages import PolicyJobs
from engine.core.policy.outbox import log
from engine.core.policy_types import Hold, ResourceState, StandbyState, parse_hold, swap_view
from engine.protocol.message import Message


class StartupMixin(PolicyJobs):
    """Comm-up and the resource reports of both nodes."""

    def on_comm_up(self, now: float) -> None:
        """Communications are up (spec §6.8): start the resource logic (§7.6/§7.7)."""
        self._now = now
        if not self._peer.communications_up():
            return
        if self._sides.other is None or self._peer.status != "dead":
            self._acquisition.done(foreign=True)
        if self._sides.nice:
            self._out.send(wire.starting())
            self._negotiation.enter(ResourceState.STARTING, self._now)
        else:
            self._req_our_resources(False, "start-up: this node is the group's home")
        pending = self._peer.take_deferred_deaths()
        for node, reason in pending:
            self._recover_dead(node, reason)
        self._settle()

    def _on_starting(self, msg: Message, src: str) -> None:
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
        self._send_hold(old is ResourceState.STABLE)
        self._set_rstate(new)
        self._audit()

    def _on_resource(self, msg: Message, src: str) -> None:
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
            new = self._own_resource(msg, hold, full, new)
        else:
            new = self._peer_resource(msg, hold, full, old, new)
        self._set_rstate(new)
        self._audit()

    def _peer_resource(
        self, msg: Message, hold: Hold, full: bool, old: ResourceState, new: ResourceState
    ) -> ResourceState:
        self._holdings.other_report(hold, full)
        stable = msg.get("isstable")
        self._peer_report_info(hold, msg.get("info"))
        self._answer_claim(hold)
        if stable == "1":
            if not self._peer.stable:
                log("info", "remote resource transition completed.")
                self._peer.mark_stable(True)
                self._send_hold(old is ResourceState.STABLE)
                self._failback.perform(self._now)
        elif stable is not None:
            self._peer.mark_stable(False)
        settled = (ResourceState.STABLE, ResourceState.SHUTDOWN)
        if old not in settled and self._peer.stable:
            self._peer_settled()
            new = ResourceState.STABLE
        return new

    def _answer_claim(self, hold: Hold) -> None:
        """The peer claims our groups while we run them: tell it what we hold.

        After a one-way partition (our packets late or lost, theirs not) only the peer
        declared us dead; it took our groups over and forgot what we hold, while we saw
        nothing to report about. Without this answer it never learns that both run the
        groups, and never hands them back (``_maybe_resolve_conflict`` on its side).
        Only when we are stable and no stop failed (a standby, a takeover or a failed
        stop has its own protocol), and at most once per ``CLAIM_ANSWER_INTERVAL``: two
        nodes that both see their groups claimed must not answer each other forever.
        """
        if not (hold & Hold.FOREIGN and self._holdings.i_hold & Hold.LOCAL):
            return
        if not self._is_stable() or self._shutdown.in_progress:
            return
        if any(g.failed_op == "stop" for g in self._holdings.groups()):
            return  # a failed stop has its own report ("stop failed"): the peer fences us
        last = self._claim_answered_at
        if last is not None and self._now - last < CLAIM_ANSWER_INTERVAL:
            return
        self._claim_answered_at = self._now
        self._send_hold(True)

    def _peer_report_info(self, hold: Hold, info: str | None) -> None:
        """The ``info`` of a peer's report: an aborted standby or a failed stop."""
        if info == "standby aborted":
            self._standby.other_side_aborted()
        if hold is not Hold.NONE and info in STOP_FAILED_INFO:
            self._fencing.peer_failed_stop(
                self._holdings.keys(swap_view(hold)), STOP_FAILED_INFO[info]
            )

    def _peer_settled(self) -> None:
        """The peer became stable while we were starting: take our groups now."""
        log("info", "remote resource transition completed.")
        self._req_our_resources(False, f"{self._sides.other} is stable and does not hold it")
        self._send_hold(True)
        self._failback.perform(self._now)
        local = not self._sides.auto and bool(self._holdings.other_holds & Hold.FOREIGN)
        self._acquisition.done(local=local, foreign=True, why="T_RESOURCES(them)")

    def _own_resource(
        self, msg: Message, hold: Hold, full: bool, new: ResourceState
    ) -> ResourceState:
        self._holdings.own_report(hold, full)
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

    def _set_rstate(self, new: ResourceState) -> None:
        self._negotiation.enter(new, self._now)

    def _rscrcvd_expired(self) -> None:
        """10 s in RSCRCVD without a stable peer: take our own groups (spec §7.6)."""
        if self._negotiation.state is not ResourceState.RSCRCVD:
            return
        self._negotiation.enter(ResourceState.STABLE, self._now)
        self._req_our_resources(
            False,
            f"{self._sides.other or 'the peer'} did not settle within "
            f"{self._negotiation.rsc_delay:g} s of start-up",
        )
        log("info", "local resource transition completed.")
        self._send_hold(True)
        self._failback.perform(self._now)

    def _req_our_resources(self, force: bool, why: str) -> None:
        """Acquire our own groups (``req_our_resources``, spec §7.6)."""
        if self._shutdown.in_progress:
            return
        if self._sides.nice:
            theirs = self._holdings.other_holds & Hold.FOREIGN or self._holdings.i_hold & Hold.LOCAL
            if theirs and not force and self._standby.state is StandbyState.NOT:
                log("info", "Local Resource acquisition completed. (none)")
                return
            self._holdings.claim(Hold.LOCAL)
        ask = (
            not self._sides.nice and self._peer.status == "active" and not self._fencing.peer_fenced
        )
        self._jobs.defer(lambda: self._req_our_child(ask, why))

    def _req_our_child(self, ask: bool, why: str) -> None:
        keys = self._holdings.keys(Hold.LOCAL)
        for key in keys:
            if self._holdings[key].state in ("running", "starting"):
                continue
            if ask:
                self._acquire_why[key] = f"home node; {self._sides.other} released it on request"
                self._out.send(wire.ip_request(key))
            else:
                self._acquire_why[key] = f"home node; {why}"
                self._out.send(wire.ip_request_resp(self._sides.us, key, "yes", "OK"))
        if keys:
            log("info", "Local Resource acquisition completed.")
        else:
            log(
                "info",
                f"No local resources [{RESOURCE_MANAGER} listkeys {self._sides.us}] to acquire.",
            )
        self._send_hold(True, "req_our_resources()")
        if not ask:
            self._acquisition.done(local=True, why="req_our_resources")
