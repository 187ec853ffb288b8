"""What the fake shell knows besides the policies: actions in flight, what runs where.

The shell of a real engine runs each Acquire/Release and answers it; here a script
line (``alpha: acquire KEY ok``) or ``run``/``advance`` answers it. ``World`` tracks the
consequences the reviewer cares about (which node really runs each group, so a double
start is visible) and the faults the script asked for (a start or stop that fails, a
resource whose monitor fails).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.config.model import GroupSpec
from engine.core.policy_types import (
    Acquire,
    Action,
    CancelMonitor,
    Fence,
    Monitor,
    MonitorCheck,
    Release,
)


@dataclass
class Pending:
    """The actions of one node that still wait for their result."""

    resource: list[Acquire | Release] = field(default_factory=list)
    fences: list[Fence] = field(default_factory=list)
    checks: list[Monitor] = field(default_factory=list)
    checked: dict[int, str] = field(default_factory=dict)
    """Monitor id → group key, so a CancelMonitor can be shown by group."""

    def take(self, action: Action) -> None:
        """Queue an action the policy asked for (a CancelMonitor drops its check)."""
        if isinstance(action, Acquire | Release):
            self.resource.append(action)
        elif isinstance(action, Fence):
            self.fences.append(action)
        elif isinstance(action, Monitor):
            self.checked[action.id] = action.group_key
            self.checks.append(action)
        else:
            assert isinstance(action, CancelMonitor)
            self.checks = [m for m in self.checks if m.id != action.id]

    def describe(self) -> str:
        """What is pending, for a script error."""
        names = [f"{type(a).__name__.lower()} {a.group_key}" for a in self.resource]
        names += [f"fence {f.node}" for f in self.fences]
        names += [f"monitor {m.group_key}" for m in self.checks]
        return ", ".join(names) or "nothing"


@dataclass
class World:
    """Which node runs each group, and the faults the script set up."""

    groups: dict[str, GroupSpec]
    running: dict[str, list[str]] = field(default_factory=dict)
    faults: dict[tuple[str, str, str], str] = field(default_factory=dict)
    """(node, start|stop, group key) → the reason its action fails with."""
    broken: dict[tuple[str, str], tuple[str, bool]] = field(default_factory=dict)
    """(node, resource token) → (monitor result, sticky: survives a stop)."""

    def fault(self, node: str, kind: str, key: str) -> str | None:
        """The failure reason the script set for this action, or None."""
        return self.faults.get((node, kind, key))

    def started(self, node: str, key: str) -> None:
        holders = self.running.setdefault(key, [])
        if node not in holders:
            holders.append(node)

    def stopped(self, node: str, key: str) -> None:
        if node in self.running.get(key, []):
            self.running[key].remove(node)
        for res in self.groups[key].resources:
            if not self.broken.get((node, res.token), ("", True))[1]:
                del self.broken[(node, res.token)]

    def crashed(self, node: str) -> None:
        """The node is gone: whatever it ran is gone with it."""
        for holders in self.running.values():
            if node in holders:
                holders.remove(node)

    def view(self) -> dict[str, str]:
        """Group key → where it runs (``alpha``, ``alpha+bravo DOUBLE``, ``stopped``)."""
        out = {}
        for key in self.groups:
            holders = self.running.get(key, [])
            where = "+".join(sorted(holders)) or "stopped"
            out[key] = f"{where} DOUBLE" if len(holders) > 1 else where
        return out

    def check(self, node: str, key: str) -> list[MonitorCheck]:
        """What the members' status says, in order, up to the first that is not ok."""
        results = []
        for res in self.groups[key].resources:
            result, _ = self.broken.get((node, res.token), ("ok", False))
            if node not in self.running.get(key, []):
                result = "not running"
            results.append(MonitorCheck(res.token, result, "" if result == "ok" else result))
            if result != "ok":
                break
        return results
