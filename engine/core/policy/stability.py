"""Heartbeat's ``hb_rsc_isstable`` (spec §7.5): may a new transition begin now?

A read-only view over the owners that know: the negotiation, the other side, the
standby protocol, the job queue and the shutdown. It answers with the reasons, which
``status --json`` shows and a delayed shutdown or operator request logs.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.core.policy.jobs import JobQueue
from engine.core.policy.negotiation import Negotiation
from engine.core.policy.peer import PeerView
from engine.core.policy.shutdown import Shutdown
from engine.core.policy.sides import Sides
from engine.core.policy.standby import Standby
from engine.core.policy_types import ResourceState, StandbyState

_SETTLED = (ResourceState.STABLE, ResourceState.SHUTDOWN, ResourceState.INIT)


class Stability:
    """Whether this node is stable, and why not."""

    def __init__(
        self,
        sides: Sides,
        negotiation: Negotiation,
        peer: PeerView,
        standby: Standby,
        jobs: JobQueue,
        shutdown: Shutdown,
    ) -> None:
        self._sides = sides
        self._negotiation = negotiation
        self._peer = peer
        self._standby = standby
        self._jobs = jobs
        self._shutdown = shutdown

    def is_stable(self) -> bool:
        """Stops at the first reason (the audit asks on every report)."""
        return next(self._reasons(), None) is None

    def reason(self) -> str:
        """Why we are not stable ("" when we are)."""
        return "; ".join(self._reasons())

    def _reasons(self) -> Iterator[str]:
        """Each reason is formatted only when it holds."""
        if not self._sides.nice:
            if busy := self._jobs.busy_reason():
                yield busy
            return
        state = self._negotiation.state
        if self._shutdown.wanted and state is ResourceState.INIT:
            return
        if not self._peer.stable:
            yield f"{self._sides.other or 'the peer'} has not reported stable"
        if self._negotiation.takeover_in_progress:
            yield "a takeover is in progress"
        if self._standby.state is not StandbyState.NOT:
            yield f"standby in progress ({self._standby.state.name})"
        if self._standby.deadline is not None:
            yield "a standby is waiting for its answer"
        if busy := self._jobs.busy_reason():
            yield busy
        # A dead peer answers no ``starting``: a shutdown (which cancels the takeover
        # that would have ended the exchange) must not wait for the negotiation.
        leaving_alone = self._shutdown.wanted and self._peer.status == "dead"
        if state not in _SETTLED and not leaving_alone:
            yield f"resources being negotiated ({state.name})"
