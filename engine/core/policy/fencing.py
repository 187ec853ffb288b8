"""STONITH: Fence actions and their results, backoff, death-match delay, failed stops.

A peer that may still run groups is fenced before we start them (spec §8.2); so is a
peer that could not stop groups it gave up. Without a device such groups stay down
until an operator confirms them stopped (``confirm_stopped``). ``FencingBook`` is the
only writer of what is being fenced, why, how often it failed, and whether the peer
counts as reset; a fence that makes the peer's groups ours returns a ``TakeOver``,
which the planner hands to the takeover.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.core.policy import wire
from engine.core.policy.fence_attempts import FenceAttempts
from engine.core.policy.holdings import Holdings
from engine.core.policy.outbox import Outbox
from engine.core.policy.peer import PeerView
from engine.core.policy.shutdown import Shutdown
from engine.core.policy.sides import Sides
from engine.core.policy_types import Fence


@dataclass(frozen=True, slots=True)
class TakeOver:
    """Decision: take ``node``'s groups over now, for ``why``."""

    node: str
    why: str


class FencingBook:
    """Fences of the peer: in flight, waiting to retry, failed stops, manual resets."""

    def __init__(
        self,
        sides: Sides,
        out: Outbox,
        holdings: Holdings,
        peer: PeerView,
        shutdown: Shutdown,
        delay: float,
        retry: tuple[float, float],
    ) -> None:
        self._sides = sides
        self._out = out
        self._holdings = holdings
        self._peer = peer
        self._shutdown = shutdown
        self._attempts = FenceAttempts(delay, retry)
        self._why: dict[str, str] = {}
        self._stop_fence: dict[str, list[str]] = {}
        """Peer → groups it failed to stop; it is fenced although it is alive."""
        self._stop_unconfirmed: dict[str, list[str]] = {}
        """Same without a STONITH device: waiting for an operator's confirmation."""
        self._peer_fenced = False
        """The peer was reset since it last started: no second fence is needed."""
        self._fence_note = ""
        """Who reset the peer by hand and how (``hactl stonith``); "" when nobody did."""

    # ------------------------------------------------------------------ questions

    @property
    def peer_fenced(self) -> bool:
        return self._peer_fenced

    @property
    def fence_note(self) -> str:
        return self._fence_note

    @property
    def failures(self) -> dict[str, int]:
        """Failed attempts per node since its last successful fence."""
        return self._attempts.failures

    def failed_stop_holds_takeover(self, node: str, death: str) -> bool:
        """A death (its engine's, maybe not its machine's) must not take over from a
        peer whose failed stop is being fenced or awaits an operator: that does."""
        if node in self._stop_fence:
            return True
        keys = self._stop_unconfirmed.get(node)
        if keys is None:
            return False
        failed = ", ".join(keys)
        self._out.event(
            "failed",
            f"{death}; it had failed to stop {failed} and nobody confirmed the stop: its "
            f"groups stay down until an operator confirms (hactl meatware confirm {node}) "
            f"or resets it (hactl stonith {node})",
            node=node,
            level="CRIT",
            log=f"Dead node {node} failed to stop {failed}: not taking over until confirmed.",
        )
        waiting = f"{node} died after failing to stop {failed}; waiting for confirmation"
        self._holdings.explain_waiting(node, waiting)
        return True

    def stop_failed_on(self, node: str) -> bool:
        """``node`` failed to stop groups and is not fenced or confirmed yet."""
        return node in self._stop_fence or node in self._stop_unconfirmed

    def busy(self) -> bool:
        """A fence runs or waits for its (re)try."""
        return self._attempts.busy()

    def stop_failed(self) -> dict[str, list[str]]:
        """Node → groups it failed to stop, for status."""
        return {n: list(k) for n, k in {**self._stop_fence, **self._stop_unconfirmed}.items()}

    def deadlines(self) -> list[float]:
        return self._attempts.deadlines()

    def death_match_delay(self, node: str) -> float:
        """The death-match delay before fencing ``node`` (``FenceAttempts``)."""
        we_run, they_run = self._holdings.runs_any(), self._holdings.other_runs()
        return self._attempts.death_match_delay(self._sides.config.nodes, self._sides.us,
                                                we_run, they_run)  # fmt: skip

    # ------------------------------------------------------------------ results

    def expects(self, node: str) -> bool:
        """Whether a fence of ``node`` is in flight (a stray result is logged)."""
        return self._attempts.expects(node)

    def fence_done(self, node: str, ok: bool, reason: str, now: float) -> TakeOver | None:
        """Result of our Fence (spec §8.2): take over on success, retry later else."""
        self._attempts.finished(node)
        why = self._why.get(node, f"{node} was declared dead")
        if ok:
            return self._succeeded(node, why, reason)
        self._failed(node, why, reason, now)
        return None

    def manual_fence_failed(self, node: str, reason: str, who: str) -> None:
        text = f"{node} was not reset at the request of {who}: {reason}"
        self._out.event("fence", text, node=node, level="ERROR")

    def manual_fence_succeeded(self, node: str, who: str) -> TakeOver | None:
        """An operator's fence (``hactl stonith NODE``) reset the peer.

        It counts as reset until it starts again: its coming death needs no second
        reset, and a takeover already waiting for its fence (delay or retry) goes ahead
        now. A fence of ours still running was joined by the operator's request, so its
        own result arrives through ``fence_done``.
        """
        note = f"reset at the request of {who}"
        self._peer_fenced, self._fence_note = True, note
        self._out.event("fence", f"{node} was {note}; its death needs no second reset", node=node)
        if self._stop_unconfirmed.pop(node, None) is not None:
            self._holdings.other_stopped_everything()
            return TakeOver(node, f"{node} failed to stop them; {note}")
        if node not in self._why or self._attempts.in_flight(node):
            return None
        self._attempts.cancel(node)
        return self._succeeded(node, self._why[node], f"by hand: {note}")

    def _succeeded(self, node: str, why: str, reason: str) -> TakeOver:
        self._out.event("fence", f"{node} was fenced: {reason}", node=node)
        self._out.send(wire.stonith_result(node, "OK"))
        self._why.pop(node, None)
        self._attempts.succeeded(node)
        self._stop_fence.pop(node, None)
        self._peer_fenced = True
        self._holdings.other_stopped_everything()
        return TakeOver(node, f"{why}; fenced ({reason})")

    def _failed(self, node: str, why: str, reason: str, now: float) -> None:
        self._out.send(wire.stonith_result(node, "bad"))
        wait = self._attempts.failed(node, reason, now)
        self._out.event(
            "failed",
            f"fencing {node} failed: {reason}; retrying in {wait:g} s, "
            f"its resources stay down until it is fenced",
            node=node,
            level="ERROR",
            log=f"STONITH of {node} failed.  Retrying...",
        )
        self._holdings.explain_waiting(node, f"waiting for STONITH of {node}: {reason}")
        if node in self._stop_fence:
            self._holdings.explain_down(
                self._stop_fence[node], f"{why}; waiting for STONITH of {node}: {reason}"
            )

    # ------------------------------------------------------------------ decisions

    def peer_failed_stop(self, keys: list[str], when: str) -> None:
        """The peer could not stop groups it was giving up: fence it, then take them.

        Without a device nobody can make sure they are stopped, so they stay down with
        the reason until an operator confirms (``hactl meatware confirm NODE``).
        """
        node = self._sides.other
        if node is None or not keys or self._shutdown.in_progress:
            return
        if self.stop_failed_on(node):
            return
        failed = f"{node} failed to stop {', '.join(keys)}"
        if not self._sides.config.stonith:
            self._await_confirmation(node, keys, failed, when)
            return
        self._stop_fence[node] = keys
        self._why[node] = f"{failed} {when}"
        self._out.event(
            "fence",
            f"{failed} {when}; fencing {node} before {self._sides.us} starts them",
            node=node,
            level="ERROR",
            log=f"{failed} {when}: STONITH of {node} before taking over.",
        )
        self._holdings.explain_down(keys, f"{failed}; waiting for STONITH of {node}")
        self._start(node)

    def _await_confirmation(self, node: str, keys: list[str], failed: str, when: str) -> None:
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

    def confirm_stopped(self, node: str, who: str) -> TakeOver | str:
        """An operator confirms ``node``'s failed groups are stopped: the takeover, or
        why there is nothing to confirm."""
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
        return TakeOver(node, f"{node} failed to stop them; confirmed by {who}")

    def peer_restarted(self, node: str) -> None:
        """The peer started again: it is no longer reset, nothing waits for a confirmation."""
        self._peer_fenced, self._fence_note = False, ""
        self._stop_unconfirmed.pop(node, None)

    def fence_dead_peer(self, node: str, reason: str, now: float) -> None:
        """Fence a dead peer that may hold groups, after the death-match delay if any."""
        self._why[node] = reason
        delay = self.death_match_delay(node)
        if delay > 0:
            self._attempts.delay(node, now + delay)
            self._out.event(
                "fence",
                f"delaying the fencing of {node} by {delay:g} s: death-match guard, "
                f"{node} is the preferred node of this 2-node cluster",
                node=node,
                log=f"Delaying STONITH of {node} by {delay:g} s (death-match guard).",
            )
            self._holdings.explain_waiting(node, f"waiting {delay:g} s before fencing {node}")
            return
        self._start(node)

    def retry_due(self, now: float) -> None:
        """Start every fence whose delay or retry interval has passed."""
        for node in self._attempts.due(now):
            self._start(node)

    def _start(self, node: str) -> None:
        status = self._peer.status
        if self._shutdown.in_progress or (status != "dead" and node not in self._stop_fence):
            leaving = self._shutdown.in_progress
            self._abandon(node, "we are shutting down" if leaving else f"it is {status} again")
            return
        why = self._why.get(node, f"{node} was declared dead")
        action = Fence(self._out.new_id(), node, f"fencing {node} before taking over: {why}")
        self._attempts.started(action.id, node)
        self._out.act(action)
        # the fencer logs "Resetting node X with [<device id>]" when it really starts
        self._out.event("fence", action.reason, node=node)
        detail = self._attempts.detail(node)
        self._holdings.explain_waiting(node, f"waiting for STONITH of {node}{detail}")

    def _abandon(self, node: str, because: str) -> None:
        """Nothing waits for this fence any more: say so, also in its groups' reason."""
        self._why.pop(node, None)
        text = f"fencing of {node} abandoned: {because}"
        self._out.event("fence", text, node=node)
        self._holdings.explain_waiting(node, text)
