"""Heartbeat's AuditResources (spec §7.5): double and missing owners are logged.

``snapshot`` shows the same holdings to the operator (``status --json``).
"""

from __future__ import annotations

from engine.core.policy.jobs import PolicyJobs
from engine.core.policy.outbox import log
from engine.core.policy.state import _Group
from engine.core.policy_types import Hold, ResourceState, StandbyState, hold_name


class AuditMixin(PolicyJobs):
    """Who holds what: the audit after each resource report, and the status view."""

    def snapshot(self) -> dict[str, object]:
        """The resource part of ``status --json``."""
        return {
            "mode": "nice_failback" if self._sides.nice else "legacy",
            "i_hold": hold_name(self._i_hold),
            "other_holds": hold_name(self._other_holds),
            "stable": self._is_stable(),
            "unstable_because": self._unstable_reason(),
            "state": self._rstate.name.lower(),
            "standby": "none" if self._standby is StandbyState.NOT else self._standby.name.lower(),
            "groups": [self._group_view(g) for g in self._groups.values()],
            "stop_failed": {
                n: list(k) for n, k in {**self._stop_fence, **self._stop_unconfirmed}.items()
            },
            "shutdown_blocked": self._shutdown_blocked,
            "monitor": self._monitor_settings(),
            **({"ipfail": self._ipfail.snapshot()} if self._ipfail is not None else {}),
        }

    def _group_view(self, g: _Group) -> dict[str, object]:
        return {
            "key": g.spec.key,
            "home": g.spec.node,
            "held_by": self._held_by(g),
            "state": g.state,
            "reason": g.reason,
        }

    def _held_by(self, g: _Group) -> str | None:
        if g.state in ("running", "starting", "stopping") or g.failed_op == "stop":
            return self._sides.us
        if self._sides.other is None or self._peer_status == "dead":
            return None
        if not self._sides.nice:
            theirs = g.spec.node == self._sides.other or g.spec.key in self._legacy_peer_holds
            return self._sides.other if theirs else None
        bit = Hold.LOCAL if g.spec.node == self._sides.other else Hold.FOREIGN
        return self._sides.other if self._other_holds & bit else None

    def _audit(self) -> None:
        """Heartbeat's AuditResources (spec §7.5)."""
        if not self._sides.nice:
            return
        self._audit_double_owners()
        if (
            self._is_stable()
            and not self._shutdown_in_progress
            and self._rstate is not ResourceState.SHUTDOWN
        ):
            self._audit_missing_owners()

    def _audit_double_owners(self) -> None:
        if self._i_hold & Hold.LOCAL and self._other_holds & Hold.FOREIGN:
            self._out.event(
                "audit",
                f"both {self._sides.us} and {self._sides.other} claim {self._sides.us}'s groups",
                level="ERROR",
                log="Both machines own our resources!",
            )
        if self._other_holds & Hold.LOCAL and self._i_hold & Hold.FOREIGN:
            self._out.event(
                "audit",
                f"both {self._sides.us} and {self._sides.other} claim {self._sides.other}'s groups",
                level="ERROR",
                log="Both machines own foreign resources!",
            )

    def _audit_missing_owners(self) -> None:
        # Only a class that has groups can be unowned (a node with no groups of its
        # own is not an error).
        homes = {group.node for group in self._sides.config.groups}
        has_local = self._sides.us in homes
        has_foreign = bool(homes - {self._sides.us})
        mine, theirs = self._i_hold, self._other_holds
        if has_local and not mine & Hold.LOCAL and not theirs & Hold.FOREIGN:
            log("ERROR", "No one owns our local resources!")
        if has_foreign and not theirs & Hold.LOCAL and not mine & Hold.FOREIGN:
            log("ERROR", "No one owns foreign resources!")
