"""The ``status --json`` document, as a mixin of the Engine (docs/architecture.md).

Tests, scripts, hactl and the console build on this document: extend it, never break it.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import TYPE_CHECKING, Any

from engine import __version__

if TYPE_CHECKING:
    from engine.config.model import ClusterConfig
    from engine.control.server import ControlServer
    from engine.core.membership import Membership
    from engine.core.policy import ResourcePolicy
    from engine.process.children import ChildManager
    from engine.resources.actions import ActionWorker
    from engine.shell.looplag import LoopLag
    from engine.shell.metrics import EngineStats
    from engine.stonith.fencer import Fencer
    from engine.transport.base import Link


class EngineStatus:
    """Builds the status document from the cores and the shell's counters."""

    config: ClusterConfig
    membership: Membership
    policy: ResourcePolicy | None
    actions: ActionWorker
    control: ControlServer
    fencer: Fencer
    links: list[Link]
    children: ChildManager
    stats: EngineStats
    lag: LoopLag
    loop: asyncio.AbstractEventLoop
    _last_change: dict[str, Any]
    _status_cache: dict[str, Any] | None = None

    def status(self) -> dict[str, Any]:
        """The ``status --json`` document (docs/architecture.md).

        Built once per turn of the loop: 200 consoles subscribing in the same instant
        get the same document instead of 200 builds in a row while heartbeats wait.
        Anything that changes state drops it (``forget_status``), and so does the next
        turn of the loop. Callers must not modify it.
        """
        if self._status_cache is not None:
            return self._status_cache
        doc = self._build_status()
        self._status_cache = doc
        self.loop.call_soon(self.forget_status)
        return doc

    def forget_status(self) -> None:
        """State changed (or the loop turned): the next ``status()`` builds anew."""
        self._status_cache = None

    def _build_status(self) -> dict[str, Any]:
        now = self.loop.time()
        doc = self.membership.snapshot(now)
        timing = self.config.timing
        doc.update(
            {
                "cluster": self.config.cluster,
                "version": __version__,
                "pid": os.getpid(),
                "timing": {
                    "keepalive_ms": timing.keepalive_ms,
                    "warntime_ms": timing.warntime_ms,
                    "deadtime_ms": timing.deadtime_ms,
                    "initdead_ms": timing.initdead_ms,
                },
                "auto_failback": self.config.auto_failback.value,
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
                    for link in self.links
                ],
                "groups": self._groups_status(),
                "resources": self._resources_status(),
                "counters": self._counters(),
                "last_change": self._last_change,
                "children": self.children.snapshot(),
                "loop": self.lag.snapshot(),
            }
        )
        return doc

    def _groups_status(self) -> list[dict[str, Any]]:
        policy_groups: dict[str, dict[str, Any]] = {}
        monitors: dict[str, dict[str, Any]] = {}
        if self.policy is not None:
            groups = self.policy.snapshot().get("groups", [])
            for group in groups if isinstance(groups, list) else []:
                policy_groups[group["key"]] = group
            monitors = self.policy.monitor_status(self.loop.time(), time.time())
        result = []
        for spec in self.config.groups:
            info = policy_groups.get(spec.key, {})
            monitor = monitors.get(spec.key, {})
            resources = self.actions.resource_states(spec)
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

    def _stop_unconfirmed(self) -> list[str]:
        """Peers that failed to stop a group, with no device to fence them."""
        if self.policy is None or self.fencer.configured:
            return []
        failed = self.policy.snapshot().get("stop_failed") or {}
        return sorted(failed) if isinstance(failed, dict) else []

    def _stonith_status(self) -> dict[str, Any]:
        """The fencer's part; a human may also confirm a failed stop (meatware_waiting)."""
        doc = self.fencer.snapshot()
        waiting = set(doc["meatware_waiting"]) | set(self._stop_unconfirmed())
        doc["meatware_waiting"] = sorted(waiting)
        return doc

    def _resources_status(self) -> dict[str, Any]:
        if self.policy is None:
            return {"mode": "disabled (crm)", "i_hold": "none", "stable": True}
        snap = self.policy.snapshot()
        return {k: v for k, v in snap.items() if k != "groups"}

    def _counters(self) -> dict[str, Any]:
        counters: dict[str, Any] = dict(self.membership.counters)
        rejected = dict(self.membership.rejected)
        counters["rejected"] = rejected
        counters["rejected_total"] = sum(rejected.values())
        counters["control_bad_requests"] = self.control.stats.get("bad_requests", 0)
        counters.update(self.stats.counters())
        return counters
