"""Helpers every part of the policy uses: logging, events, group sets, stability.

``PolicyBase`` also declares (for the type checker only) the methods one concern
module calls in another, so each mixin can be read and checked on its own.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from engine.core.policy.state import PolicyState
from engine.core.policy_types import ResourceState

logger = logging.getLogger(__name__)

_SETTLED = (ResourceState.STABLE, ResourceState.SHUTDOWN, ResourceState.INIT)


class PolicyBase(PolicyState):
    """Logging, timeline events and the set/stability questions of Heartbeat."""

    def _busy(self) -> bool:
        return self._jobs.busy()

    def _is_stable(self) -> bool:
        """Heartbeat's ``hb_rsc_isstable`` (spec §7.5)."""
        return self._stability.is_stable()

    def _unstable_reason(self) -> str:
        return self._stability.reason()

    def _busy_reason(self) -> str:
        return self._jobs.busy_reason()

    if TYPE_CHECKING:
        # Implemented by one concern mixin, called from another (type checker only).

        def _recover_dead(self, node: str, reason: str) -> None: ...  # takeover

        def _takeover_from_node(self, node: str, why: str) -> None: ...  # takeover

        def _maybe_resolve_conflict(self) -> None: ...  # takeover

        def _req_our_resources(self, force: bool, why: str) -> None: ...  # startup

        def request_standby(self, which: str, now: float) -> str | None: ...  # admin

        def _pull_ipfail(self) -> None: ...  # ipfail

        def _audit(self) -> None: ...  # audit

        def _monitor_progress(self) -> None: ...  # monitor

        def _monitor_dispatch(self) -> None: ...  # monitor

        def _monitor_settings(self) -> dict[str, object]: ...  # monitor

        def _transition_refusal(self) -> str | None: ...  # admin
