"""The resource groups as chains in start order, with where each group runs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.control import status as st
from engine.control.jsonparts import parse_part
from hatui.viewmodel.model import (
    Chain,
    ChainStep,
    Severity,
    StatusDoc,
    short_resource_name,
    state_label,
)
from hatui.viewmodel.summary import node_status, read_status


def _chain_severity(states: Iterable[str]) -> Severity:
    lowered = [s.lower() for s in states]
    if "failed" in lowered:
        return Severity.ERROR
    if any(s in {"starting", "stopping"} for s in lowered):
        return Severity.WARNING
    if lowered and all(s == "running" for s in lowered):
        return Severity.OK
    return Severity.INFO


def _chain_step(resource: st.Resource) -> ChainStep:
    """One resource: ``hbweb ✖ failed (monitor timeout)`` when its check failed."""
    name, state = resource.name, resource.state
    label = f"{short_resource_name(name)} {state_label(state)}"
    monitor = resource.monitor
    if monitor is not None and state == "failed" and monitor.result not in (None, "ok"):
        label += f" (monitor {monitor.result})"
    return ChainStep(name=name, state=state, label=label)


def _monitor_title(monitor: st.GroupMonitor | None) -> str:
    """`` · monitor: 2 failures, restarted`` while a group has recent monitor failures."""
    if monitor is None or not monitor.enabled:
        return ""
    failures = int(monitor.failures or 0)
    recovery = monitor.recovery or "none"
    if not failures and recovery == "none":
        return ""
    text = f" · monitor: {failures} failure{'' if failures == 1 else 's'}"
    return text if recovery == "none" else f"{text}, {recovery}"


def _notes(group: st.Group) -> str:
    """`` · moved to charlie by crm_resource --move (cli-prefer-rg)``: what a back end
    says about a group beyond its state (the constraints an operator left)."""
    return "".join(f" · {note}" for note in group.notes if note)


def group_where(doc: StatusDoc, group: Mapping[str, Any] | st.Group) -> tuple[str, str]:
    """Where the group runs cluster-wide, apart from this node's own state.

    Returns (text, node running it elsewhere): ``● running on bravo`` while a peer that
    is up holds it (this node's resources then read stopped, which is no outage),
    ``● running here (alpha)`` / ``◐ starting here (alpha)`` while this node holds it,
    ``○ not running anywhere`` when nobody does, ``✖ held by alpha and bravo`` twice.
    """
    doc = read_status(doc)
    group = group if isinstance(group, st.Group) else parse_part(st.Group, group)
    holders = group.holders()
    local = "" if doc.node == "?" else doc.node
    if not holders:
        return "○ not running anywhere (no node holds it)", ""
    if group.clone:  # a clone runs on several nodes at once, by design
        return f"{state_label(group.state)} on {', '.join(holders)}", ""
    if len(holders) > 1:
        return f"✖ held by {' and '.join(holders)}", ""
    holder = holders[0]
    if holder == local:
        return f"{state_label(group.state)} here ({local})", ""
    peer = st.find_node(doc, holder)
    if peer is not None and st.is_up(peer):
        return f"● running on {holder}", holder
    return f"? held by {holder}, which is {'unknown' if peer is None else node_status(peer)}", ""


def resource_chains(doc: StatusDoc) -> list[Chain]:
    """Each group as an ordered chain of steps with glyph+word state per step.

    The title says where the group runs in the cluster; the steps are this node's
    own resource states (``here: …`` when another node runs the group), or, for a group
    marked ``cluster_wide`` (Pacemaker: crm_mon reports each resource where it runs),
    the resources' own states.
    """
    doc = read_status(doc)
    chains = []
    for group in doc.groups:
        steps = tuple(_chain_step(r) for r in group.resources)
        where, elsewhere = group_where(doc, group)
        if group.cluster_wide:  # the steps are the resources' own states, not ours
            elsewhere = ""
        title = (
            f"{group.key} · home {group.home} · {where}"
            f"{_monitor_title(group.monitor)}{_notes(group)}"
        )
        severity = _chain_severity([s.state for s in steps] + [group.state])
        if elsewhere and severity is Severity.INFO:
            severity = Severity.OK  # stopped here because it runs there: no outage
        chains.append(Chain(group.key, title, steps, severity, group.reason, elsewhere))
    return chains
