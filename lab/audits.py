"""CTS-style audits run after every scenario (reliability §1.1, §6).

Each audit returns a list of failure texts (empty = pass), so a scenario collects them
all and reports every problem at once; ``tests/soak/test_audits.py`` proves each audit
can fail by feeding it bad data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lab.netns import Lab, Sample

BAD_NEWS = re.compile(r"\b(ERROR|CRIT|CRITICAL|Traceback)\b")
GLOBAL_ALLOW = (
    r"Cannot rexmit pkt .*: seqno too low",
    r"Irretrievably lost packet",
    r"lost a lot of packets",
    r"Deadtime value may be too small",
)
"""Heartbeat's own global ignore list: harmless under packet loss (CTS BadNews)."""


@dataclass
class AuditReport:
    """Failures per audit name; ``ok`` when every list is empty."""

    failures: dict[str, list[str]] = field(default_factory=dict)

    def add(self, name: str, problems: Sequence[str]) -> None:
        """Record one audit's result."""
        self.failures[name] = list(problems)

    @property
    def ok(self) -> bool:
        """True when no audit failed."""
        return not any(self.failures.values())

    def text(self) -> str:
        """Every failure, one per line, prefixed by its audit."""
        return "\n".join(f"{name}: {p}" for name, items in self.failures.items() for p in items)


def single_owner(samples: Iterable[Sample], allowed_dual: int = 0) -> list[str]:
    """No sample may show the VIP on two nodes (beyond ``allowed_dual`` samples)."""
    dual = [s for s in samples if len(s.holders) > 1]
    if len(dual) <= allowed_dual:
        return []
    first = dual[0]
    return [
        f"{len(dual)} samples with more than one owner (allowed {allowed_dual}); first at "
        f"t={first.time:.3f}: {sorted(first.holders)}"
    ]


def dual_owner_samples(samples: Iterable[Sample]) -> int:
    """How many samples show more than one owner (the table column)."""
    return sum(1 for s in samples if len(s.holders) > 1)


def group_places(statuses: dict[str, dict[str, Any] | None]) -> dict[str, dict[str, str]]:
    """``{group: {resource: nodes}}`` from each node's status document.

    ``nodes`` names (joined by ``+``) every node whose engine reports the resource as not
    stopped (starting, running, stopping or failed); stopped everywhere is left out, so
    a group that is down entirely is not "split". Nodes that did not answer count nowhere.
    """
    places: dict[str, dict[str, list[str]]] = {}
    for node, status in sorted(statuses.items()):
        for group in (status or {}).get("groups", []):
            members = places.setdefault(str(group.get("key")), {})
            for resource in group.get("resources", []):
                if resource.get("state", "stopped") != "stopped":
                    members.setdefault(str(resource.get("name")), []).append(node)
    return {
        group: {name: "+".join(nodes) for name, nodes in members.items()}
        for group, members in places.items()
    }


def colocated(group_views: dict[str, dict[str, str]]) -> list[str]:
    """Every member of a group is reported in the same place: ``{group: {res: place}}``."""
    problems = []
    for group, states in group_views.items():
        distinct = set(states.values())
        if len(distinct) > 1:
            problems.append(f"group {group} is split: {states}")
    return problems


def bad_news(lines: Iterable[str], allow: Sequence[str] = ()) -> list[str]:
    """ERROR/CRIT lines not explained by the global or the scenario's allow-list."""
    patterns = [re.compile(p) for p in (*GLOBAL_ALLOW, *allow)]
    return [
        line
        for line in lines
        if BAD_NEWS.search(line) and not any(p.search(line) for p in patterns)
    ]


def no_stray_addresses(holders: Iterable[str], vip: str) -> list[str]:
    """After every engine stopped nobody may still hold the VIP."""
    left = sorted(holders)
    return [f"{vip} still configured on {', '.join(left)} after stop"] if left else []


def no_stray_processes(pids_by_node: dict[str, Sequence[int]]) -> list[str]:
    """After every engine stopped no process may remain in a node namespace."""
    return [f"{node}: processes left after stop: {list(pids)}" for node, pids in
            pids_by_node.items() if pids]  # fmt: skip


def after_stop(lab: Lab, vip: str) -> list[str]:
    """Both stop audits against the live lab (call once every engine has exited)."""
    problems = no_stray_addresses(lab.holders_via_ip(vip), vip)
    return problems + no_stray_processes({n: node.pids() for n, node in lab.nodes.items()})
