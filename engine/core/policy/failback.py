"""auto_failback on: groups go back to their home node once it is back and stable.

``Failback`` is the only writer of whether a failback is owed and of its retry timer;
the hand-over itself is the standby protocol (``Standby.ask_failback``).
"""

from __future__ import annotations

import logging

from engine.core.policy.constants import FAILBACK_RETRY
from engine.core.policy.holdings import Holdings
from engine.core.policy.negotiation import Negotiation
from engine.core.policy.outbox import Outbox
from engine.core.policy.peer import PeerView
from engine.core.policy.shutdown import Shutdown
from engine.core.policy.sides import Sides
from engine.core.policy.standby import Standby
from engine.core.policy_types import Hold, ResourceState, StandbyState

logger = logging.getLogger(__name__)


class Failback:
    """Whether we owe the other side its groups, and when to try again."""

    def __init__(
        self,
        sides: Sides,
        out: Outbox,
        holdings: Holdings,
        peer: PeerView,
        negotiation: Negotiation,
        standby: Standby,
        shutdown: Shutdown,
    ) -> None:
        self._sides = sides
        self._out = out
        self._holdings = holdings
        self._peer = peer
        self._negotiation = negotiation
        self._standby = standby
        self._shutdown = shutdown
        self._needed = False
        self._retry_at: float | None = None
        self._when_back = False

    @property
    def retry_at(self) -> float | None:
        return self._retry_at

    def needed(self) -> None:
        """We took the other side's groups: hand them back when it returns."""
        self._needed = True

    def cancel_retry(self) -> None:
        self._retry_at = None

    def retry_due(self, now: float) -> bool:
        """Whether the retry timer fired (it is then stopped)."""
        if self._retry_at is None or now < self._retry_at:
            return False
        self._retry_at = None
        return True

    def peer_settled(self, now: float) -> None:
        """The peer reported stable: time for the failback. A peer still dead to us is
        back from a partition (or from our stall) and its report came before its
        heartbeats: the failback waits for those (``peer_back``)."""
        self._when_back = self._peer.status == "dead"
        self.perform(now)

    def peer_back(self, now: float) -> None:
        """The peer is active again without a restart: a failback that its stable
        report asked for while it was dead to us goes ahead now."""
        if self._when_back:
            self._when_back = False
            self.perform(now)

    def perform(self, now: float) -> None:
        """Heartbeat's auto-failback: ask the home node to take its groups back."""
        holds_foreign = self._holdings.i_hold & Hold.FOREIGN
        if not holds_foreign or not self._needed or not self._sides.auto:
            self._needed = False
            return
        if self._peer.status == "dead" or self._shutdown.in_progress or self._peer.leaving:
            return  # nobody to hand them to (a leaving peer is not coming back as such)
        # Our own takeover must finish first: its late mach_down report would claim
        # the groups again in the middle of the hand-over (Heartbeat's stability check
        # has takeover_in_progress too).
        if (
            self._standby.state is not StandbyState.NOT
            or not self._peer.stable
            or self._negotiation.state is not ResourceState.STABLE
            or self._negotiation.takeover_in_progress
        ):
            logger.debug("Auto failback delayed.")
            self._retry_at = now + FAILBACK_RETRY
            return
        self._needed = False
        other = self._sides.other
        self._out.event(
            "failback",
            f"{other} is back and stable: returning its groups (auto_failback on)",
            node=other or "",
            log="Auto failback triggered.",
        )
        self._standby.ask_failback()
