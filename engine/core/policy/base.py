"""Helpers every part of the policy uses: logging, events, group sets, stability.

``PolicyBase`` also declares (for the type checker only) the methods one concern
module calls in another, so each mixin can be read and checked on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from engine.core.policy.state import PolicyState
from engine.core.policy_types import ResourceState, StandbyState

logger = logging.getLogger(__name__)

_SETTLED = (ResourceState.STABLE, ResourceState.SHUTDOWN, ResourceState.INIT)


class PolicyBase(PolicyState):
    """Logging, timeline events and the set/stability questions of Heartbeat."""

    def _busy(self) -> bool:
        return self._jobs.busy()

    def _is_stable(self) -> bool:
        """Heartbeat's ``hb_rsc_isstable`` (spec §7.5); stops at the first reason."""
        return next(self._unstable_reasons(), None) is None

    def _unstable_reason(self) -> str:
        """Why we are not stable ("" when we are): shown in ``status --json`` and in the
        log when a shutdown or an operator's request has to wait."""
        return "; ".join(self._unstable_reasons())

    def _unstable_reasons(self) -> Iterator[str]:
        """Each reason is formatted only when it holds (the audit asks on every tick)."""
        if not self._sides.nice:
            if busy := self._jobs.busy_reason():
                yield busy
            return
        if self._shutdown_wanted and self._negotiation.state is ResourceState.INIT:
            return
        if not self._peer.stable:
            yield f"{self._sides.other or 'the peer'} has not reported stable"
        if self._negotiation.takeover_in_progress:
            yield "a takeover is in progress"
        if self._standby is not StandbyState.NOT:
            yield f"standby in progress ({self._standby.name})"
        if self._standby_deadline is not None:
            yield "a standby is waiting for its answer"
        if busy := self._jobs.busy_reason():
            yield busy
        if self._negotiation.state not in _SETTLED:
            yield f"resources being negotiated ({self._negotiation.state.name})"

    def _busy_reason(self) -> str:
        return self._jobs.busy_reason()

    if TYPE_CHECKING:
        # Implemented by one concern mixin, called from another (type checker only).

        def _recover_dead(self, node: str, reason: str) -> None: ...  # takeover

        def _takeover_from_node(self, node: str, why: str) -> None: ...  # takeover

        def _maybe_resolve_conflict(self) -> None: ...  # takeover

        def _fence_dead_peer(self, node: str, reason: str) -> None: ...  # fencing

        def _peer_failed_stop(self, keys: list[str], when: str) -> None: ...  # fencing

        def _req_our_resources(self, force: bool, why: str) -> None: ...  # startup

        def _perform_auto_failback(self) -> None: ...  # standby

        def _go_standby_request(self, word: str, why: str) -> None: ...  # standby

        def request_standby(self, which: str, now: float) -> str | None: ...  # admin

        def _try_begin_shutdown(self) -> None: ...  # shutdown

        def _pull_ipfail(self) -> None: ...  # ipfail

        def _audit(self) -> None: ...  # audit

        def _monitor_progress(self) -> None: ...  # monitor

        def _monitor_dispatch(self) -> None: ...  # monitor

        def _monitor_settings(self) -> dict[str, object]: ...  # monitor

        def _transition_refusal(self) -> str | None: ...  # admin
