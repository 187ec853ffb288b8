"""The resource part of ``status --json``: who holds what, and why it is (not) stable."""

from __future__ import annotations

from engine.core.policy.fencing import FencingBook
from engine.core.policy.holdings import Group, Holdings
from engine.core.policy.ipfail import IpfailLink
from engine.core.policy.monitor_book import MonitorBook
from engine.core.policy.negotiation import Negotiation
from engine.core.policy.oneway import OneWay
from engine.core.policy.peer import PeerView
from engine.core.policy.shutdown import Shutdown
from engine.core.policy.sides import Sides
from engine.core.policy.stability import Stability
from engine.core.policy.standby import Standby
from engine.core.policy_types import StandbyState, hold_name


class StatusView:
    """Reads the owners for ``snapshot``; changes nothing."""

    def __init__(
        self,
        sides: Sides,
        holdings: Holdings,
        peer: PeerView,
        negotiation: Negotiation,
        *,
        standby: Standby,
        stability: Stability,
        fencing: FencingBook,
        shutdown: Shutdown,
        book: MonitorBook,
        ipfail: IpfailLink,
        oneway: OneWay,
    ) -> None:
        self._sides = sides
        self._holdings = holdings
        self._peer = peer
        self._negotiation = negotiation
        self._standby = standby
        self._stability = stability
        self._fencing = fencing
        self._shutdown = shutdown
        self._book = book
        self._ipfail = ipfail
        self._oneway = oneway

    def snapshot(self) -> dict[str, object]:
        """The resource part of ``status --json``."""
        standby = self._standby.state
        ipfail = self._ipfail.snapshot()
        return {
            "mode": "nice_failback" if self._sides.nice else "legacy",
            "i_hold": hold_name(self._holdings.i_hold),
            "other_holds": hold_name(self._holdings.other_holds),
            "stable": self._stability.is_stable(),
            "unstable_because": self._stability.reason(),
            "state": self._negotiation.state.name.lower(),
            "standby": "none" if standby is StandbyState.NOT else standby.name.lower(),
            "groups": [self._group_view(g) for g in self._holdings.groups()],
            "stop_failed": self._fencing.stop_failed(),
            "shutdown_blocked": self._shutdown.blocked,
            "monitor": self._book.settings_view(),
            "one_way": self._oneway.view(),
            **({"ipfail": ipfail} if ipfail is not None else {}),
        }

    def _group_view(self, g: Group) -> dict[str, object]:
        return {
            "key": g.spec.key,
            "home": g.spec.node,
            "held_by": self._holdings.held_by(g, self._peer.status),
            "state": g.state,
            "reason": g.reason,
        }
