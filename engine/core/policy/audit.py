"""Heartbeat's AuditResources (spec §7.5): double and missing owners are logged.

``snapshot`` shows the same holdings to the operator (``status --json``).
"""

from __future__ import annotations

from engine.core.policy.holdings import Group
from engine.core.policy.messages import PolicyJobs
from engine.core.policy_types import ResourceState, StandbyState, hold_name


class AuditMixin(PolicyJobs):
    """Who holds what: the audit after each resource report, and the status view."""

    def snapshot(self) -> dict[str, object]:
        """The resource part of ``status --json``."""
        standby = self._standby.state
        return {
            "mode": "nice_failback" if self._sides.nice else "legacy",
            "i_hold": hold_name(self._holdings.i_hold),
            "other_holds": hold_name(self._holdings.other_holds),
            "stable": self._is_stable(),
            "unstable_because": self._unstable_reason(),
            "state": self._negotiation.state.name.lower(),
            "standby": "none" if standby is StandbyState.NOT else standby.name.lower(),
            "groups": [self._group_view(g) for g in self._holdings.groups()],
            "stop_failed": self._fencing.stop_failed(),
            "shutdown_blocked": self._shutdown.blocked,
            "monitor": self._monitor_settings(),
            **({"ipfail": self._ipfail.snapshot()} if self._ipfail is not None else {}),
        }

    def _group_view(self, g: Group) -> dict[str, object]:
        return {
            "key": g.spec.key,
            "home": g.spec.node,
            "held_by": self._holdings.held_by(g, self._peer.status),
            "state": g.state,
            "reason": g.reason,
        }

    def _audit(self) -> None:
        """Heartbeat's AuditResources (spec §7.5)."""
        settled = (
            self._is_stable()
            and not self._shutdown.in_progress
            and self._negotiation.state is not ResourceState.SHUTDOWN
        )
        self._holdings.audit(settled)
