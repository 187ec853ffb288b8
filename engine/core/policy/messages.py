"""Heartbeat's resource messages, built with its exact field names, order and values.

Every cluster message the policy emits is built here (fixtures in
``spec/wire-fixtures``); the membership layer stamps the control fields.
"""

from __future__ import annotations

from engine.core.policy.base import PolicyBase


class PolicyMessages(PolicyBase):
    """Queue outgoing messages for ``drain_outbound``."""

    def _send_hold(self, stable: bool, info: str | None = None) -> None:
        """Hold report ``t=resource rsc_hold rtype=full isstable [info]`` (nice only)."""
        self._holdings.report(stable, info)


class PolicyJobs(PolicyMessages):
    """Results of group actions, and running the queue until nothing more can move."""

    def on_action_done(self, action_id: int, ok: bool, reason: str, now: float) -> None:
        """An Acquire/Release finished; continue the job that asked for it."""
        self._now = now
        if self._jobs.on_action_done(action_id, ok, reason, now):
            self._settle()

    def _settle(self) -> None:
        """Run deferred work and the job queue until nothing more can move.

        Then start or cancel a resource monitor check: only a settled node checks.
        """
        for _ in range(1000):
            self._jobs.run_deferred()
            self._jobs.pump(self._now)
            shutdown = self._shutdown
            wanted = shutdown.wanted and not shutdown.in_progress
            if wanted and shutdown.try_begin(self._stability):
                self._failback.cancel_retry()
            self._maybe_resolve_conflict()
            self._monitor_progress()
            if not self._jobs.has_deferred():
                break
        self._monitor_dispatch()
