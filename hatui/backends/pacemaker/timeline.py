"""The timeline of a Pacemaker cluster: what changed between two status documents.

``TimelineTracker.update(doc, now)`` is the whole decision, sans-I/O: it compares the
new document with the previous one and returns the engine's timeline entries
(``{"time", "kind", "node", "group", "reason"}``, docs/architecture.md) for deaths,
joins, standby, moves and recoveries, failed actions, fencing, the constraints
``crm_resource`` leaves, and quorum. Every entry says why in words. The first document
contributes what crm_mon remembers (fencing history, failed actions with their times);
deaths before the console attached come from the logs (``logs.history_entries``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from engine.control.jsonparts import parse_part
from engine.control.status import Node, is_up

Doc = Mapping[str, Any]
Entry = dict[str, Any]


def entry(now: float, kind: str, reason: str, node: str = "", group: str = "") -> Entry:
    """One timeline entry in the engine's shape."""
    return {"time": now, "kind": kind, "node": node, "group": group, "reason": reason}


def _nodes(doc: Doc) -> dict[str, Mapping[str, Any]]:
    return {str(n.get("name")): n for n in doc.get("nodes", []) if isinstance(n, Mapping)}


def _groups(doc: Doc) -> dict[str, Mapping[str, Any]]:
    return {str(g.get("key")): g for g in doc.get("groups", []) if isinstance(g, Mapping)}


def _holder(group: Mapping[str, Any]) -> str:
    """The one node running a (non-clone) group, "" when none or several."""
    held = group.get("held_by")
    return held if isinstance(held, str) else ""


def _is_up(node: Mapping[str, Any] | None) -> bool:
    """The one rule of up (engine.control.status): active, standby or maintenance here."""
    return node is not None and is_up(parse_part(Node, node))


def _keyed(items: Iterable[Any], key: str) -> dict[str, Mapping[str, Any]]:
    return {str(i.get(key)): i for i in items if isinstance(i, Mapping)}


class TimelineTracker:
    """Remembers the previous document, and who ran each group and who died."""

    def __init__(self) -> None:
        self._before: Doc | None = None
        self._last_holder: dict[str, str] = {}
        """Group → the last node seen running it (kept while nobody runs it)."""
        self._dead: set[str] = set()
        """Nodes that left the cluster and have not come back."""

    @property
    def started(self) -> bool:
        """True once a first document was taken."""
        return self._before is not None

    def update(self, doc: Doc, now: float) -> list[Entry]:
        """The entries for what changed since the previous document (oldest first)."""
        before = self._before
        self._before = doc
        if before is None:
            found = self._first(doc, now)
        else:
            found = [
                *self._nodes_changed(before, doc, now),
                *self._quorum_changed(before, doc, now),
                *self._groups_changed(before, doc, now),
                *self._failures_changed(before, doc, now),
                *self._constraints_changed(before, doc, now),
            ]
        found += self._fencing(before, doc, now)
        for key, group in _groups(doc).items():
            if _holder(group):
                self._last_holder[key] = _holder(group)
        return found

    # -- first document: what Pacemaker itself remembers -----------------------------

    def _first(self, doc: Doc, now: float) -> list[Entry]:
        self._dead = {name for name, node in _nodes(doc).items() if not _is_up(node)}
        return [_failure_entry(f, doc, now) for f in doc.get("failed_actions", [])]

    # -- nodes ------------------------------------------------------------------------

    def _nodes_changed(self, before: Doc, doc: Doc, now: float) -> list[Entry]:
        found: list[Entry] = []
        old, new = _nodes(before), _nodes(doc)
        for name, node in new.items():
            was = old.get(name)
            status, was_status = str(node.get("status")), str((was or {}).get("status"))
            if _is_up(was) and not _is_up(node):
                self._dead.add(name)
                found.append(self._death(name, node, was or {}, before, now))
            elif not _is_up(was) and _is_up(node):
                self._dead.discard(name)
                found.append(entry(now, "join", "joined the cluster (online)", name))
            elif was_status != status and "standby" in (status, was_status):
                reason = (
                    "in standby: its resources move away, it runs none"
                    if status == "standby"
                    else "back from standby: it may run resources again"
                )
                found.append(entry(now, "standby", reason, name))
        dc, was_dc = _dc(doc), _dc(before)
        if dc and dc != was_dc:
            reason = f"{dc} is the DC (the node that decides)" + (
                f"; was {was_dc}" if was_dc else ""
            )
            found.append(entry(now, "dc", reason, dc))
        return found

    def _death(
        self, name: str, node: Mapping[str, Any], was: Mapping[str, Any], before: Doc, now: float
    ) -> Entry:
        held = [k for k, g in _groups(before).items() if _holder(g) == name]
        if was.get("shutdown"):
            return entry(now, "shutdown", "left the cluster cleanly (Pacemaker shut down)", name)
        reason = "left the cluster: lost from the corosync membership"
        if node.get("status") == "unclean":
            reason += "; UNCLEAN: it must be fenced before its resources run elsewhere"
        if held:
            reason += f"; it ran {', '.join(held)}"
        return entry(now, "death", reason, name)

    def _quorum_changed(self, before: Doc, doc: Doc, now: float) -> list[Entry]:
        was, now_q = _quorate(before), _quorate(doc)
        if was == now_q or None in (was, now_q):
            return []
        local = str(doc.get("node", ""))
        if now_q:
            return [entry(now, "partition", f"{local}'s partition has quorum again", local)]
        policy = (doc.get("quorum") or {}).get("policy") or "stop"
        reason = f"{local}'s partition lost quorum (no-quorum-policy={policy})"
        return [entry(now, "partition", reason, local)]

    # -- groups -----------------------------------------------------------------------

    def _groups_changed(self, before: Doc, doc: Doc, now: float) -> list[Entry]:
        found: list[Entry] = []
        old = _groups(before)
        nodes = _nodes(doc)
        for key, group in _groups(doc).items():
            if group.get("clone"):
                continue
            was = old.get(key, {})
            holder, was_holder = _holder(group), _holder(was)
            if holder == was_holder:
                if group.get("state") == "failed" and was.get("state") != "failed":
                    why = str(group.get("reason") or "failed")
                    found.append(entry(now, "failed", why, holder, key))
                continue
            if holder:
                found.append(self._arrived(key, group, holder, doc, nodes, now))
            else:
                found.append(self._left(key, group, was_holder, doc, now))
        return found

    def _arrived(
        self,
        key: str,
        group: Mapping[str, Any],
        holder: str,
        doc: Doc,
        nodes: Mapping[str, Mapping[str, Any]],
        now: float,
    ) -> Entry:
        previous = self._last_holder.get(key, "")
        if not previous or previous == holder:
            return entry(now, "acquire", f"started on {holder}", holder, key)
        if previous in self._dead or not _is_up(nodes.get(previous)):
            reason = f"recovered on {holder} after {previous} died"
            return entry(now, "recovery", reason, holder, key)
        why = _move_reason(group, previous, holder, nodes)
        return entry(now, "move", f"moved {previous} → {holder}{why}", holder, key)

    def _left(
        self, key: str, group: Mapping[str, Any], was_holder: str, doc: Doc, now: float
    ) -> Entry:
        if was_holder in self._dead or not _is_up(_nodes(doc).get(was_holder)):
            reason = f"no longer running: {was_holder} died"
            return entry(now, "release", reason, was_holder, key)
        why = str(group.get("reason") or "")
        if not why and _quorate(doc) is False:
            why = f"{doc.get('node')}'s partition has no quorum"
        reason = f"stopped on {was_holder}" + (f": {why}" if why else "")
        kind = "failed" if group.get("state") == "failed" else "release"
        return entry(now, kind, reason, was_holder, key)

    # -- failed actions, constraints, fencing -----------------------------------------

    def _failures_changed(self, before: Doc, doc: Doc, now: float) -> list[Entry]:
        old = _keyed(before.get("failed_actions", []), "key")
        new = _keyed(doc.get("failed_actions", []), "key")
        found = [_failure_entry(f, doc, now) for k, f in new.items() if k not in old]
        gone = [f for k, f in old.items() if k not in new]
        if gone:
            what = ", ".join(sorted({f"{f.get('resource')} on {f.get('node')}" for f in gone}))
            found.append(entry(now, "cleanup", f"failed actions cleared: {what}"))
        return found

    def _constraints_changed(self, before: Doc, doc: Doc, now: float) -> list[Entry]:
        old = _keyed(before.get("constraints", []), "id")
        new = _keyed(doc.get("constraints", []), "id")
        found = []
        for ident, item in new.items():
            if ident not in old:
                group, node = str(item.get("resource")), str(item.get("node"))
                if item.get("kind") == "prefer":
                    reason = f"crm_resource --move left {ident}: {group} prefers {node}"
                else:
                    reason = f"crm_resource --ban left {ident}: {group} may not run on {node}"
                found.append(entry(now, "constraint", reason, node, group))
        for ident, item in old.items():
            if ident not in new:
                reason = f"{ident} cleared: {item.get('resource')} may run anywhere again"
                found.append(entry(now, "constraint", reason, "", str(item.get("resource"))))
        return found

    def _fencing(self, before: Doc | None, doc: Doc, now: float) -> list[Entry]:
        old = _fence_keys(before) if before is not None else set()
        found = []
        for target, result in _fence_results(doc).items():
            key = f"{target}:{result.get('time')}:{result.get('ok')}"
            if key in old:
                continue
            outcome = "done" if result.get("ok") else "failed"
            stamp = result.get("time")
            when = float(stamp) if isinstance(stamp, int | float) else now
            reason = f"{'fenced' if result.get('ok') else 'fencing FAILED'}: {result.get('reason')}"
            found.append({**entry(when, "fence", reason, target), "outcome": outcome})
        return found


def _fence_results(doc: Doc) -> dict[str, Mapping[str, Any]]:
    last = (doc.get("stonith") or {}).get("last")
    return (
        {str(k): v for k, v in last.items() if isinstance(v, Mapping)}
        if isinstance(last, Mapping)
        else {}
    )


def _fence_keys(doc: Doc) -> set[str]:
    return {f"{t}:{r.get('time')}:{r.get('ok')}" for t, r in _fence_results(doc).items()}


def _dc(doc: Doc) -> str:
    pacemaker = doc.get("pacemaker")
    return str(pacemaker.get("dc") or "") if isinstance(pacemaker, Mapping) else ""


def _quorate(doc: Doc) -> bool | None:
    quorum = doc.get("quorum")
    value = quorum.get("quorate") if isinstance(quorum, Mapping) else None
    return value if isinstance(value, bool) else None


def _move_reason(
    group: Mapping[str, Any], previous: str, holder: str, nodes: Mapping[str, Mapping[str, Any]]
) -> str:
    """Why a group moved from a live node, as far as the documents tell."""
    status = str((nodes.get(previous) or {}).get("status", ""))
    if status in ("standby", "maintenance"):
        return f": {previous} is in {status}"
    for item in group.get("constraints", []):
        if item.get("kind") == "prefer" and item.get("node") == holder:
            return f": crm_resource --move ({item.get('id')})"
        if item.get("kind") == "ban" and item.get("node") == previous:
            return f": banned from {previous} ({item.get('id')})"
    reason = str(group.get("reason") or "")
    return f": {reason}" if reason else ""


def _failure_entry(failure: Mapping[str, Any], doc: Doc, now: float) -> Entry:
    resource = str(failure.get("resource", "?"))
    group = next(
        (
            key
            for key, g in _groups(doc).items()
            if any(r.get("name") == resource for r in g.get("resources", []))
        ),
        "",
    )
    what = str(failure.get("exitstatus") or f"exit {failure.get('exitcode')}")
    if failure.get("exitreason"):
        what += f" ({failure['exitreason']})"
    reason = f"{resource} {failure.get('task')} failed: {what}"
    stamp = failure.get("time")
    when = float(stamp) if isinstance(stamp, int | float) else now
    return entry(when, "failed", reason, str(failure.get("node", "")), group)
