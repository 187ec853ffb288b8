"""STONITH: Fence actions and their results, backoff, death-match delay, failed stops.

A peer that may still run groups is fenced before we start them (spec §8.2); so is a
peer that could not stop groups it gave up. Without a device such groups stay down
until an operator confirms them stopped (``confirm_stopped``). A frozen local loop
releases everything at once (``on_local_stall``).
"""

from __future__ import annotations

import logging

from engine.core.policy import wire
from engine.core.policy.messages import PolicyJobs
from engine.core.policy_types import Fence

logger = logging.getLogger(__name__)


class FencingMixin(PolicyJobs):
    """Fencing the peer, and releasing everything when we may have been fenced."""

    def on_fence_done(self, node: str, ok: bool, reason: str, now: float) -> None:
        """Result of a Fence action (spec §8.2): take over on success, retry in 5 s else."""
        self._now = now
        ids = [i for i, n in self._fence_inflight.items() if n == node]
        if not ids:
            logger.error("policy: fence result for %s without a pending fence ignored", node)
            return
        for i in ids:
            del self._fence_inflight[i]
        why = self._fence_why.get(node, f"{node} was declared dead")
        if ok:
            self._fence_succeeded(node, why, reason)
        else:
            self._fence_failed(node, why, reason, now)
        self._settle()

    def on_manual_fence_done(self, node: str, ok: bool, reason: str, who: str, now: float) -> None:
        """An operator's fence (``hactl stonith NODE``) finished.

        On success the peer counts as reset until it starts again: its coming death
        needs no second reset, and a takeover already waiting for its fence (delay or
        retry) goes ahead now. A fence of ours still running was joined by the
        operator's request, so its own result arrives through ``on_fence_done``.
        """
        self._now = now
        if node != self._sides.other:
            return
        if not ok:
            text = f"{node} was not reset at the request of {who}: {reason}"
            self._out.event("fence", text, node=node, level="ERROR")
            return
        note = f"reset at the request of {who}"
        self._peer_fenced, self._peer_fence_note = True, note
        self._out.event("fence", f"{node} was {note}; its death needs no second reset", node=node)
        waiting = node in self._fence_why and node not in self._fence_inflight.values()
        if waiting:
            self._fence_retry.pop(node, None)
            self._fence_succeeded(node, self._fence_why[node], f"by hand: {note}")
        self._settle()

    def _fence_succeeded(self, node: str, why: str, reason: str) -> None:
        self._out.event("fence", f"{node} was fenced: {reason}", node=node)
        self._out.send(wire.stonith_result(node, "OK"))
        self._fence_why.pop(node, None)
        self._fence_failures.pop(node, None)
        self._fence_last_error.pop(node, None)
        self._stop_fence.pop(node, None)
        self._peer_fenced = True
        self._holdings.other_stopped_everything()
        self._takeover_from_node(node, f"{why}; fenced ({reason})")

    def _fence_failed(self, node: str, why: str, reason: str, now: float) -> None:
        self._out.send(wire.stonith_result(node, "bad"))
        wait = self._fence_backoff(node)
        self._fence_last_error[node] = reason
        self._fence_retry[node] = now + wait
        text = f"STONITH of {node} failed.  Retrying..."
        self._out.event(
            "failed",
            f"fencing {node} failed: {reason}; retrying in {wait:g} s, "
            f"its resources stay down until it is fenced",
            node=node,
            level="ERROR",
            log=text,
        )
        self._holdings.explain_waiting(node, f"waiting for STONITH of {node}: {reason}")
        if node in self._stop_fence:
            self._holdings.explain_down(
                self._stop_fence[node], f"{why}; waiting for STONITH of {node}: {reason}"
            )

    def on_local_stall(self, stalled_ms: int, now: float) -> None:
        """Our own loop was frozen for longer than deadtime: self-fence our resources
        (``Shutdown.self_fence``)."""
        self._now = now
        if self._shutdown.self_fence(stalled_ms):
            self._failback.cancel_retry()
            self._settle()

    def _peer_failed_stop(self, keys: list[str], when: str) -> None:
        """The peer could not stop groups it was giving up: fence it, then take them.

        Without a device nobody can make sure they are stopped, so they stay down with
        the reason until an operator confirms (``hactl meatware confirm NODE``).
        """
        node = self._sides.other
        if node is None or not keys or self._shutdown.in_progress:
            return
        if node in self._stop_fence or node in self._stop_unconfirmed:
            return
        failed = f"{node} failed to stop {', '.join(keys)}"
        if not self._sides.config.stonith:
            self._await_stop_confirmation(node, keys, failed, when)
            return
        self._stop_fence[node] = keys
        self._fence_why[node] = f"{failed} {when}"
        self._out.event(
            "fence",
            f"{failed} {when}; fencing {node} before {self._sides.us} starts them",
            node=node,
            level="ERROR",
            log=f"{failed} {when}: STONITH of {node} before taking over.",
        )
        self._holdings.explain_down(keys, f"{failed}; waiting for STONITH of {node}")
        self._start_fence(node)

    def _await_stop_confirmation(self, node: str, keys: list[str], failed: str, when: str) -> None:
        """No STONITH device: the groups stay down until an operator confirms."""
        self._stop_unconfirmed[node] = keys
        reason = (
            f"{failed}; no STONITH device to make sure it is stopped — confirm by hand "
            "(hactl meatware confirm NODE)"
        )
        self._holdings.explain_down(keys, reason)
        self._out.event(
            "failed",
            reason,
            node=node,
            level="CRIT",
            log=f"{failed} {when}; no STONITH device: not taking them over.",
        )

    def confirm_stopped(self, node: str, who: str, now: float) -> str | None:
        """An operator confirms ``node``'s failed groups are stopped; None when accepted."""
        self._now = now
        keys = self._stop_unconfirmed.pop(node, None)
        if keys is None:
            waiting = ", ".join(sorted(self._stop_unconfirmed)) or "none"
            return f"no failed stop of {node} is waiting for confirmation (waiting: {waiting})"
        self._peer_fenced = True
        self._holdings.other_stopped_everything()
        self._out.event(
            "fence",
            f"{who} confirmed that {node} no longer runs {', '.join(keys)}",
            node=node,
            level="WARN",
            log=f"Stop of {', '.join(keys)} on {node} confirmed by {who}",
        )
        self._takeover_from_node(node, f"{node} failed to stop them; confirmed by {who}")
        self._settle()
        return None

    def _fence_dead_peer(self, node: str, reason: str) -> None:
        """Fence a dead peer that may hold groups, after the death-match delay if any."""
        self._fence_why[node] = reason
        delay = self._death_match_delay(node)
        if delay > 0:
            self._fence_retry[node] = self._now + delay
            self._out.event(
                "fence",
                f"delaying the fencing of {node} by {delay:g} s: death-match guard, "
                f"{node} is the preferred node of this 2-node cluster",
                node=node,
                log=f"Delaying STONITH of {node} by {delay:g} s (death-match guard).",
            )
            self._holdings.explain_waiting(node, f"waiting {delay:g} s before fencing {node}")
            return
        self._start_fence(node)

    def _start_fence(self, node: str) -> None:
        alive_ok = node in self._stop_fence
        if (self._peer.status != "dead" and not alive_ok) or self._shutdown.in_progress:
            self._out.event(
                "fence",
                f"fencing of {node} abandoned: it is {self._peer.status} "
                "again or we are shutting down",
                node=node,
            )
            return
        why = self._fence_why.get(node, f"{node} was declared dead")
        action = Fence(self._out.new_id(), node, f"fencing {node} before taking over: {why}")
        self._fence_inflight[action.id] = node
        self._out.act(action)
        # the fencer logs "Resetting node X with [<device id>]" when it really starts
        self._out.event("fence", action.reason, node=node)
        last = self._fence_last_error.get(node)
        attempt = self._fence_failures.get(node, 0) + 1
        detail = f" (attempt {attempt}; last failure: {last})" if last else ""
        self._holdings.explain_waiting(node, f"waiting for STONITH of {node}{detail}")

    def _fence_backoff(self, node: str) -> float:
        """Seconds before the next attempt: first, 2x first, 4x ... up to the maximum."""
        failures = self._fence_failures.get(node, 0)
        self._fence_failures[node] = failures + 1
        return float(min(self._fence_retry_max, self._fence_retry_min * (2 ** min(failures, 30))))

    def _death_match_delay(self, node: str) -> float:
        """The configured delay when we are the non-preferred side of a 2-node split.

        Preferred is the node running groups (Pacemaker's priority-fencing-delay idea:
        the holder survives); when both or neither run groups, the first ``node``.
        """
        if self._fence_delay <= 0 or len(self._sides.config.nodes) != 2:
            return 0.0
        we_run = self._holdings.runs_any()
        peer_runs = self._holdings.other_runs()
        if we_run != peer_runs:
            return 0.0 if we_run else self._fence_delay
        return 0.0 if self._sides.config.nodes[0] == self._sides.us else self._fence_delay
