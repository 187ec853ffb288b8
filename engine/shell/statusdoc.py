"""The ``status --json`` document, built from a read-only view of the engine.

Tests, scripts, hactl and the console build on this document (its reader:
``engine.control.status``): extend it, never break it (docs/architecture.md).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from engine import __version__
from engine.shell.view import EngineView


class StatusBuilder:
    """Builds the status document from the cores and the shell's counters."""

    def __init__(
        self, engine: EngineView, call_soon: Callable[[Callable[[], None]], object]
    ) -> None:
        self._engine = engine
        self._call_soon = call_soon
        self._cache: dict[str, Any] | None = None

    def status(self) -> dict[str, Any]:
        """The ``status --json`` document (docs/architecture.md).

        Built once per turn of the loop: 200 consoles subscribing in the same instant
        get the same document instead of 200 builds in a row while heartbeats wait.
        Anything that changes state drops it (``forget``), and so does the next
        turn of the loop. Callers must not modify it.
        """
        if self._cache is not None:
            return self._cache
        doc = self._build()
        self._cache = doc
        self._call_soon(self.forget)
        return doc

    def forget(self) -> None:
        """State changed (or the loop turned): the next ``status()`` builds anew."""
        self._cache = None

    def _build(self) -> dict[str, Any]:
        engine = self._engine
        now = engine.now()
        doc = engine.membership.snapshot(now)
        timing = engine.config.timing
        doc.update(
            {
                "cluster": engine.config.cluster,
                "version": __version__,
                "pid": os.getpid(),
                "timing": {
                    "keepalive_ms": timing.keepalive_ms,
                    "warntime_ms": timing.warntime_ms,
                    "deadtime_ms": timing.deadtime_ms,
                    "initdead_ms": timing.initdead_ms,
                },
                "auto_failback": engine.config.auto_failback.value,
                "stonith": self._stonith_status(),
                "links": [
                    {
                        "name": link.name,
                        "kind": link.kind,
                        "cut": link.cut,
                        "sent": link.stats.sent,
                        "send_errors": link.stats.send_errors,
                        "received": link.stats.received,
                        "bytes_sent": link.stats.bytes_sent,
                        "bytes_received": link.stats.bytes_received,
                    }
                    for link in engine.links
                ],
                "groups": self.groups(),
                "resources": self._resources_status(),
                "counters": self._counters(),
                "last_change": engine.last_change,
                "children": engine.children.snapshot(),
                "loop": engine.lag.snapshot(),
            }
        )
        return doc

    def groups(self) -> list[dict[str, Any]]:
        """``groups``: every haresources line, who holds it, its members and checks."""
        engine, policy = self._engine, self._engine.policy
        policy_groups: dict[str, dict[str, Any]] = {}
        monitors: dict[str, dict[str, Any]] = {}
        if policy is not None:
            groups = policy.snapshot().get("groups", [])
            for group in groups if isinstance(groups, list) else []:
                policy_groups[group["key"]] = group
            monitors = policy.monitor_status(engine.now(), time.time())
        result = []
        for spec in engine.config.groups:
            info = policy_groups.get(spec.key, {})
            monitor = monitors.get(spec.key, {})
            resources = engine.actions.resource_states(spec)
            for resource in resources:
                resource["monitor"] = monitor.get("resources", {}).get(resource["name"])
            result.append(
                {
                    "key": spec.key,
                    "home": spec.node,
                    "held_by": info.get("held_by"),
                    "state": info.get("state", "stopped"),
                    "reason": info.get("reason", ""),
                    "resources": resources,
                    "monitor": monitor.get("group"),
                }
            )
        return result

    def stop_unconfirmed(self) -> list[str]:
        """Peers that failed to stop a group, with no device to fence them."""
        policy = self._engine.policy
        if policy is None or self._engine.fencer.configured:
            return []
        failed = policy.snapshot().get("stop_failed") or {}
        return sorted(failed) if isinstance(failed, dict) else []

    def _stonith_status(self) -> dict[str, Any]:
        """The fencer's part; a human may also confirm a failed stop (meatware_waiting)."""
        doc = self._engine.fencer.snapshot()
        waiting = set(doc["meatware_waiting"]) | set(self.stop_unconfirmed())
        doc["meatware_waiting"] = sorted(waiting)
        return doc

    def _resources_status(self) -> dict[str, Any]:
        policy = self._engine.policy
        if policy is None:
            return {"mode": "disabled (crm)", "i_hold": "none", "stable": True}
        snap = policy.snapshot()
        return {k: v for k, v in snap.items() if k != "groups"}

    def _counters(self) -> dict[str, Any]:
        engine = self._engine
        counters: dict[str, Any] = dict(engine.membership.counters)
        rejected = dict(engine.membership.rejected)
        counters["rejected"] = rejected
        counters["rejected_total"] = sum(rejected.values())
        counters["control_bad_requests"] = engine.control.stats.get("bad_requests", 0)
        counters["control_dropped_events"] = engine.control.stats.get("dropped_events", 0)
        counters.update(engine.stats.counters())
        return counters
