"""crm_mon, cmap and CIB constraints → the console's status document (pure).

The document has the shape of the engine's ``status --json`` (docs/architecture.md) so
the shared view model draws it; where Pacemaker knows more it is added compatibly:
``backend: "pacemaker"``, any number of nodes, ``failed_actions``, ``constraints``,
``quorum``, ``pacemaker`` (DC, version, maintenance), knet latency per link, and
``notices`` (banners with the reason in words) and ``groups[].notes`` (the
constraints an operator left, shown with the group).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hatui.backends.pacemaker.cib import Location
from hatui.backends.pacemaker.cmap import CorosyncConfig, KnetLink
from hatui.backends.pacemaker.crmmon import CrmMon, Failure, FenceEvent, Group, Node, Resource

ROLE_STATES = {
    "started": "running",
    "promoted": "running",
    "unpromoted": "running",
    "master": "running",
    "slave": "running",
    "stopped": "stopped",
    "starting": "starting",
    "stopping": "stopping",
    "migrating": "starting",
    "promoting": "starting",
    "demoting": "stopping",
}
"""Pacemaker's resource roles (and pending actions) in the engine's state words."""


@dataclass(frozen=True, slots=True)
class Inputs:
    """One poll's worth of machine output, already parsed."""

    mon: CrmMon
    corosync: CorosyncConfig
    links: Sequence[KnetLink] = ()
    locations: Sequence[Location] | None = None
    """None when the CIB's constraints could not be read (crm_mon's bans are used)."""
    latency_history: Mapping[tuple[int, int], Sequence[float]] = field(default_factory=dict)
    """(node id, link) → recent average latencies in ms, oldest first."""
    poll_ms: int = 1000


def node_state(node: Node) -> str:
    """One word for a node: active, standby, maintenance, pending, unclean or dead."""
    if not node.online:
        return "unclean" if node.unclean else "dead"
    if node.pending:
        return "pending"
    if node.maintenance:
        return "maintenance"
    if node.standby or node.standby_onfail:
        return "standby"
    return "active"


def resource_state(resource: Resource) -> str:
    """running, stopped, starting, stopping or failed (a pending action wins)."""
    if resource.failed:
        return "failed"
    word = (resource.pending or resource.role).lower()
    return ROLE_STATES.get(word, word or "unknown")


def status_document(inputs: Inputs) -> dict[str, Any]:
    """The whole status document of one poll."""
    mon, corosync = inputs.mon, inputs.corosync
    local = corosync.local_name or next((n.name for n in mon.nodes if n.is_dc), "?")
    locations = _locations(inputs)
    local_node = next((n for n in mon.nodes if n.name == local), None)
    groups = [group_entry(g, mon, locations) for g in mon.groups]
    unstable = _unstable_because(mon)
    return {
        "backend": "pacemaker",
        "node": local,
        "status": node_state(local_node) if local_node else "unknown",
        "cluster": corosync.cluster_name,
        "version": f"Pacemaker {mon.summary.dc_version}".strip(),
        "pid": None,
        "timing": {
            "keepalive_ms": inputs.poll_ms,
            "deadtime_ms": corosync.token_ms,
            "token_ms": corosync.token_ms,
            "consensus_ms": corosync.consensus_ms,
        },
        "stonith": stonith_view(mon),
        "nodes": [node_entry(n, local, inputs) for n in mon.nodes],
        "groups": groups,
        "resources": {"mode": "pacemaker", "stable": not unstable, "unstable_because": unstable},
        "links": [
            {"name": f"link{number}", "kind": corosync.transport or "knet"}
            for number in sorted({link.link for link in inputs.links})
        ],
        "failed_actions": [failure_entry(f) for f in mon.failures],
        "constraints": [_constraint(c) for c in locations if c.left_by_operator],
        "quorum": {"quorate": mon.summary.quorate, "policy": mon.summary.no_quorum_policy},
        "pacemaker": {
            "dc": mon.summary.dc,
            "dc_version": mon.summary.dc_version,
            "stack": mon.summary.stack,
            "maintenance_mode": mon.summary.maintenance_mode,
            "pacemakerd": mon.pacemakerd,
        },
        "notices": notices(mon, local),
        "last_change": {
            "time": mon.summary.last_change,
            "what": f"CIB changed {mon.summary.last_change_by}".strip(),
            "reason": "",
        },
    }


def _locations(inputs: Inputs) -> list[Location]:
    if inputs.locations is not None:
        return list(inputs.locations)
    return [Location(b.id, b.resource, b.node, b.weight) for b in inputs.mon.bans]


def _constraint(location: Location) -> dict[str, Any]:
    return {
        "id": location.id,
        "resource": location.resource,
        "kind": location.kind,
        "node": location.node,
        "score": location.score,
    }


def node_entry(node: Node, local: str, inputs: Inputs) -> dict[str, Any]:
    """One ``nodes[]`` entry with its knet links (none for this node itself)."""
    me = node.name == local
    try:
        nodeid = int(node.id)
    except ValueError:
        nodeid = -1
    links = [] if me else [_link_entry(lk, inputs) for lk in inputs.links if lk.nodeid == nodeid]
    return {
        "name": node.name,
        "type": "normal",
        "self": me,
        "status": node_state(node),
        "id": nodeid,
        "dc": node.is_dc,
        "standby": node.standby,
        "unclean": node.unclean,
        "shutdown": node.shutdown,
        "resources_running": node.resources_running,
        "last_heard_ms": None,
        "links": links,
    }


def _ms(micros: int | None) -> float | None:
    return None if micros is None else micros / 1000.0


def _link_entry(link: KnetLink, inputs: Inputs) -> dict[str, Any]:
    return {
        "name": f"link{link.link}",
        "status": link.status,
        "address": inputs.corosync.addresses.get((link.nodeid, link.link), ""),
        "latency_ms": _ms(link.latency_us),
        "latency_min_ms": _ms(link.latency_min_us),
        "latency_max_ms": _ms(link.latency_max_us),
        "latency_history_ms": list(inputs.latency_history.get((link.nodeid, link.link), ())),
        "down_count": link.down_count,
        "mtu": link.mtu,
        "last_heard_ms": None,
    }


def _holders(group: Group) -> list[str]:
    seen: dict[str, None] = {}
    for resource in group.resources:
        if resource.active:
            seen.update(dict.fromkeys(resource.nodes))
    return list(seen)


def group_state(group: Group) -> str:
    """failed, starting, stopping, running, stopped or partial (some members only)."""
    states = [resource_state(r) for r in group.resources]
    for word in ("failed", "starting", "stopping"):
        if word in states:
            return word
    if group.kind == "clone":
        return "running" if "running" in states else "stopped"
    if states and all(s == "running" for s in states):
        return "running" if len(_holders(group)) == 1 else "partial"
    if all(s == "stopped" for s in states):
        return "stopped"
    return "partial"


def home_of(group_id: str, locations: Sequence[Location]) -> str:
    """The node the configuration prefers (highest positive score that an operator did
    not leave with ``--move``), "any" when none is preferred."""
    preferred = [
        c
        for c in locations
        if c.resource == group_id and c.kind == "prefer" and not c.left_by_operator
    ]
    if not preferred:
        return "any"
    return max(preferred, key=lambda c: c.score or 0).node


def _failure_text(failure: Mapping[str, Any]) -> str:
    what = failure["exitstatus"] or f"exit {failure['exitcode']}"
    if failure["exitreason"]:
        what += f" ({failure['exitreason']})"
    task = failure["task"] + (" (recurring)" if failure["interval_ms"] else "")
    return f"{failure['resource']} {task} failed on {failure['node']}: {what}"


def constraint_note(location: Location) -> str:
    """``moved to charlie by crm_resource --move (cli-prefer-rg-web)``."""
    if location.kind == "prefer":
        return f"moved to {location.node} by crm_resource --move ({location.id})"
    return f"banned from {location.node} by crm_resource --ban ({location.id})"


def group_entry(group: Group, mon: CrmMon, locations: Sequence[Location]) -> dict[str, Any]:
    """One ``groups[]`` entry: members in start order, holder(s), state and why."""
    holders = _holders(group)
    members = {r.id for r in group.resources} | {group.id}
    failures = [failure_entry(f) for f in mon.failures if f.resource.split(":")[0] in members]
    operator = [c for c in locations if c.resource == group.id and c.left_by_operator]
    reasons = [_failure_text(f) for f in failures]
    if group.disabled or any(r.target_role.lower() == "stopped" for r in group.resources):
        reasons.insert(0, "disabled (target-role=Stopped)")
    held: str | list[str] | None = holders[0] if len(holders) == 1 else holders or None
    return {
        "key": group.id,
        "kind": group.kind,
        "clone": group.kind == "clone",
        "cluster_wide": True,
        "home": home_of(group.id, locations),
        "held_by": held,
        "state": group_state(group),
        "reason": "; ".join(reasons),
        "notes": [constraint_note(c) for c in operator],
        "constraints": [_constraint(c) for c in operator],
        "resources": [
            {
                "name": r.id,
                "agent": r.agent,
                "state": resource_state(r),
                "nodes": list(r.nodes),
                "managed": r.managed,
            }
            for r in group.resources
        ],
    }


def failure_entry(failure: Failure) -> dict[str, Any]:
    """One ``failed_actions[]`` entry."""
    return {
        "key": failure.key,
        "resource": failure.resource,
        "node": failure.node,
        "task": failure.task,
        "interval_ms": failure.interval_ms,
        "exitstatus": failure.exitstatus,
        "exitreason": failure.exitreason,
        "exitcode": failure.exitcode,
        "time": failure.last_rc_change,
    }


def _stonith_devices(mon: CrmMon) -> list[Resource]:
    return [r for g in mon.groups for r in g.resources if r.agent.startswith("stonith:")]


def _fence_result(event: FenceEvent) -> dict[str, Any]:
    ok = event.status == "success"
    reason = event.exit_reason or ("" if ok else event.status)
    by = event.delegate or event.origin
    return {
        "ok": ok,
        "time": event.completed,
        "action": event.action,
        "reason": f"{event.action} by {by}: {reason}" if reason else f"{event.action} by {by}",
    }


def stonith_view(mon: CrmMon) -> dict[str, Any]:
    """``stonith`` as the engine reports it: device, pending and last result per node."""
    devices = _stonith_devices(mon)
    last: dict[str, dict[str, Any]] = {}
    pending: dict[str, dict[str, Any]] = {}
    for event in sorted(mon.fencing, key=lambda e: e.completed or 0.0):
        if event.status == "pending":
            reason = f"{event.action} asked by {event.client or '?'} on {event.origin or '?'}"
            pending[event.target] = {"since": None, "reason": reason, "device": ""}
        else:
            last[event.target] = _fence_result(event)
    error = ""
    if mon.summary.stonith_enabled and not devices:
        error = "stonith-enabled is true but no fence device is configured"
    device = (
        {"type": devices[0].agent.removeprefix("stonith:"), "id": devices[0].id}
        if devices
        else None
    )
    return {
        "configured": mon.summary.stonith_enabled and bool(devices),
        "enabled": mon.summary.stonith_enabled,
        "device": device,
        "devices": [r.id for r in devices],
        "error": error,
        "pending": pending,
        "last": last,
        "meatware_waiting": [],
    }


def _unstable_because(mon: CrmMon) -> str:
    if not mon.summary.dc:
        return "no DC elected"
    busy = [
        f"{r.id} {resource_state(r)}"
        for g in mon.groups
        for r in g.resources
        if resource_state(r) in ("starting", "stopping")
    ]
    return ", ".join(busy)


def notices(mon: CrmMon, local: str) -> list[dict[str, str]]:
    """Banners only Pacemaker has: quorum, maintenance, failed actions, no DC."""
    found: list[dict[str, str]] = []
    summary = mon.summary
    if not summary.dc:
        found.append({"severity": "error", "text": "✖ no DC: the cluster elects none yet"})
    elif not summary.quorate:
        policy = summary.no_quorum_policy or "stop"
        found.append(
            {
                "severity": "error",
                "text": f"✖ NO QUORUM: {local}'s partition is not quorate "
                f"(no-quorum-policy={policy})",
            }
        )
    if summary.maintenance_mode:
        found.append(
            {"severity": "warning", "text": "◐ maintenance-mode: Pacemaker manages nothing"}
        )
    if mon.failures:
        count = len(mon.failures)
        found.append(
            {
                "severity": "warning",  # Pacemaker recovered or gave up: see each group
                "text": f"◐ {count} failed action{'' if count == 1 else 's'} "
                "(crm_resource --cleanup forgets them): "
                + "; ".join(_failure_text(failure_entry(f)) for f in mon.failures),
            }
        )
    return found
