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
