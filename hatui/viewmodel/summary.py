"""The cluster as a whole: node counts, health, the summary line, banners and staleness."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.control import status as st
from engine.control.jsonparts import parse_part
from hatui.viewmodel.model import (
    CHILD_TROUBLE,
    STALE_FACTOR,
    Banner,
    ChildRow,
    Connection,
    LinkState,
    Severity,
    StatusDoc,
    format_clock,
    format_ms,
    short_resource_name,
    state_label,
)


def read_status(doc: StatusDoc) -> st.StatusDoc:
    """The document read by the one tolerant reader (once: pass the result on)."""
    return doc if isinstance(doc, st.StatusDoc) else st.parse_status(doc)


def node_counts(doc: StatusDoc) -> tuple[int, int]:
    """(members up, members): ``engine.control.status``'s rule (ping nodes are not
    members; ``init``, ``pending`` and a node not confirmed fresh are not up)."""
    return st.node_counts(read_status(doc))


def node_status(node: Mapping[str, Any] | st.Node) -> str:
    """A node's state word: ``up (unconfirmed)`` while its packets have not proven
    fresh (they may be replays), else its status."""
    return st.state_word(node if isinstance(node, st.Node) else parse_part(st.Node, node))


def timing_of(doc: st.StatusDoc) -> st.Timing:
    """The document's timers, or all unknown when it has none."""
    return doc.timing if doc.timing is not None else st.Timing()


def cluster_health(doc: StatusDoc) -> Severity:
    """OK when every node and every medium to it is up and every group runs or is
    stopped; WARNING for a down peer, a dead or cut link, one-way loss or a group on
    the move; ERROR on a failed group or a split brain."""
    doc = read_status(doc)
    states = [g.state.lower() for g in doc.groups]
    noticed = {b.severity for b in notice_banners(doc)}
    if "failed" in states or split_brain_reasons(doc) or Severity.ERROR in noticed:
        return Severity.ERROR
    up, total = st.node_counts(doc)
    if up < total or one_way_reasons(doc) or degraded_links(doc):
        return Severity.WARNING
    if any(s not in {"running", "stopped"} for s in states):
        return Severity.WARNING
    return Severity.WARNING if Severity.WARNING in noticed else Severity.OK


def notice_banners(doc: StatusDoc) -> list[Banner]:
    """A back end's own banners (``notices``: Pacemaker's quorum, maintenance mode,
    failed actions), each with its severity and its reason in words."""
    found = []
    for notice in read_status(doc).notices:
        if notice.text:
            word = notice.severity
            severity = Severity(word) if word in Severity.__members__.values() else Severity.WARNING
            found.append(Banner(severity, notice.text))
    return found


def dc_summary(doc: StatusDoc) -> str:
    """``DC alpha, quorate`` for a Pacemaker document ("" for the engine's)."""
    doc = read_status(doc)
    if doc.pacemaker is None:
        return ""
    quorate = doc.quorum is not None and doc.quorum.get("quorate")
    dc = str(doc.pacemaker.get("dc") or "none")
    return f"DC {dc}, {'quorate' if quorate else 'NO QUORUM'}"


def degraded_links(doc: StatusDoc) -> list[str]:
    """Media that are down while the cluster still talks: ``bravo lo#2 dead``, ``lo#2
    cut``. Links of this node itself and of a peer that is not up are not counted (the
    node row says it), nor those of ping nodes."""
    doc = read_status(doc)
    found = []
    for node in st.cluster_nodes(doc):
        if node.is_self or not st.is_up(node):
            continue
        for link in node.links:
            if link.status.lower() != "up":
                found.append(f"{node.name} {link.name} {link.status}")
    found += [f"{medium.name} cut (fault injection)" for medium in doc.links if medium.cut]
    return found


def _health_word(severity: Severity) -> str:
    return {
        Severity.OK: "● cluster OK",
        Severity.INFO: "● cluster OK",
        Severity.WARNING: "◐ cluster DEGRADED",
        Severity.ERROR: "✖ cluster FAILED",
    }[severity]


def holders_text(doc: StatusDoc) -> str:
    """``demo-web@alpha, IPaddr@-`` for every group (``-`` when nobody holds it)."""
    parts = [
        f"{short_resource_name(group.key)}@{'+'.join(group.holders()) or '-'}"
        for group in read_status(doc).groups
    ]
    return ", ".join(parts) or "no groups"


def summary_line(doc: StatusDoc, stale: str = "") -> str:
    """The one-line cluster summary shown at the top (and first in ``--once``).

    With ``stale`` (the data is old: no engine) it claims nothing: the health word is
    replaced by "state UNKNOWN" and the rest is marked as last known.
    """
    doc = read_status(doc)
    up, total = st.node_counts(doc)
    nodes = f"{up}/{total} nodes up"
    if stale:
        head = f"? cluster state UNKNOWN ({stale}) · last known: {nodes}"
    else:
        head = f"{_health_word(cluster_health(doc))} · {nodes}"
        degraded = degraded_links(doc)
        if degraded:  # why, in the summary itself: no banner comes and goes with a link
            head = head.replace(" · ", f": {', '.join(degraded)} · ", 1)
    parts = [
        head,
        f"this node {doc.node} ({doc.status})",
        holders_text(doc),
    ]
    if dc_summary(doc):
        parts.insert(1, dc_summary(doc))
    fencing = stonith_summary(doc)
    if fencing:
        parts.append(fencing)
    change = doc.last_change
    if change is not None and change.keys != ():
        what, reason = change.what.strip(), change.reason.strip()
        text = f"last change {format_clock(change.time)} {what}".rstrip()
        if reason:
            text += f" ({reason})"
        parts.append(text)
    return " · ".join(parts)


def as_float(value: object) -> float | None:
    """A JSON number as a float; anything else (absent, null, text) is None."""
    return float(value) if isinstance(value, int | float) else None


def split_brain_reasons(doc: StatusDoc) -> list[str]:
    """Why a split brain is suspected: a group held by two nodes, or an engine audit."""
    doc = read_status(doc)
    reasons = []
    for group in doc.groups:
        holders = group.holders()
        if len(holders) > 1 and not group.clone:  # a clone runs on several nodes
            reasons.append(f"{group.key} held by {' and '.join(holders)}")
    audits = doc.extra.get("audits")
    for audit in audits if isinstance(audits, list) else []:
        if isinstance(audit, Mapping) and "split" in str(audit.get("kind", "")):
            reasons.append(str(audit.get("reason") or audit.get("kind")))
    return reasons


def _stonith(doc: st.StatusDoc) -> st.Stonith:
    return doc.stonith if doc.stonith is not None else st.Stonith()


def stonith_configured(doc: StatusDoc) -> bool:
    """True when the status document says a STONITH device is configured."""
    stonith = _stonith(read_status(doc))
    return stonith.configured or bool(stonith.devices)


def stonith_device(doc: StatusDoc) -> str:
    """The device as ``type`` or ``type id`` (``external/ssh``), "" when none."""
    device = _stonith(read_status(doc)).device
    return "" if device is None else device.label()


def stonith_results(doc: StatusDoc) -> list[tuple[str, bool, str]]:
    """The last reset per node as (node, ok, ``bravo reset ok 12:00:03``), by node name."""
    results = []
    for node, info in sorted(_stonith(read_status(doc)).last.items()):
        when = format_clock(info.time)
        if info.ok:
            results.append((node, True, f"{node} reset ok {when}"))
            continue
        why = info.reason or f"code {'?' if info.code is None else info.code}"
        results.append((node, False, f"{node} reset FAILED {when}: {why}"))
    return results


def stonith_summary(doc: StatusDoc) -> str:
    """Summary part: ``STONITH external/ssh (last: bravo reset ok 12:00:03)``."""
    if not stonith_configured(doc):
        return ""
    text = f"STONITH {stonith_device(doc) or 'configured'}"
    done = [line for _node, ok, line in stonith_results(doc) if ok]
    return f"{text} (last: {'; '.join(done)})" if done else text


def stonith_banners(doc: StatusDoc) -> list[Banner]:
    """Fencing that needs attention: missing/broken device, resets running or failed."""
    doc = read_status(doc)
    stonith = _stonith(doc)
    result: list[Banner] = []
    error = stonith.error.strip()
    if error:
        result.append(Banner(Severity.ERROR, f"✖ STONITH device unusable: {error}"))
    elif not stonith_configured(doc):
        result.append(
            Banner(Severity.WARNING, "◐ no STONITH configured: a split brain is not fenced")
        )
    for node, info in sorted(stonith.pending.items()):
        device = info.device or stonith_device(doc) or "?"
        since = format_clock(info.since)
        why = info.reason.strip()
        text = f"◐ FENCING {node} with [{device}] since {since}" + (f": {why}" if why else "")
        result.append(Banner(Severity.WARNING, text))
    for node in stonith.meatware_waiting:
        result.append(
            Banner(
                Severity.ERROR,
                f"✖ MEATWARE: power-cycle {node} by hand, then press M "
                f"(or hactl meatware confirm {node})",
            )
        )
    for _node, ok, line in stonith_results(doc):
        if not ok:
            result.append(Banner(Severity.ERROR, f"✖ STONITH {line}"))
    return result


def one_way_reasons(doc: StatusDoc) -> dict[str, str]:
    """Peers that do not hear us (``nodes[].one_way``), with the engine's reason."""
    return {node.name: node.one_way for node in read_status(doc).nodes if node.one_way}


def one_way_release_banners(doc: StatusDoc) -> list[Banner]:
    """Groups this node released because its peer took them over without hearing us
    (``resources.one_way``, issue 15.3), while they are away; the timeline and the
    groups' reasons carry the engine's full explanation."""
    resources = read_status(doc).resources
    view = None if resources is None else resources.one_way
    if view is None or view.state == "watching":
        return []
    names = ", ".join(view.groups) or "?"
    peer = view.peer or "the peer"
    it = "them" if len(view.groups) > 1 else "it"
    text = {
        "releasing": f"releasing {names} — {peer} took {it} over and does not hear us",
        "released": f"released {names} — {peer} runs {it} and does not hear us; back when it does",
        "stop failed": f"could not stop {names} — {peer} runs {it} too; fence or stop by hand",
    }.get(view.state, f"{view.state} {names}")
    return [Banner(Severity.ERROR, f"✖ ONE-WAY LOSS: {text}")]


def child_rows(doc: StatusDoc) -> list[ChildRow]:
    """The respawn/failfast children of ``status["children"]`` (empty when none)."""
    rows = []
    for child in read_status(doc).children:
        starts = child.starts
        details = [
            f"pid {child.pid}" if child.pid else "",
            f"{starts} start{'' if starts == 1 else 's'}" if isinstance(starts, int) else "",
            f"last: {child.last_exit}" if child.last_exit else "",
            "failfast" if child.failfast else "",
        ]
        severity = Severity.ERROR if child.state in CHILD_TROUBLE else Severity.OK
        rows.append(
            ChildRow(
                command=child.command or "?",
                state=state_label(child.state or "?"),
                detail=" · ".join(d for d in details if d),
                severity=severity,
            )
        )
    return rows


def banners(
    doc: StatusDoc | None,
    connection: Connection,
    now: float,
    last_event_at: float | None,
) -> list[Banner]:
    """Persistent warnings: disconnected, stale data, no STONITH, split brain."""
    result: list[Banner] = []
    if connection.state is LinkState.RECONNECTING:
        detail = f": {connection.error}" if connection.error else ""
        result.append(
            Banner(
                Severity.ERROR,
                f"✖ DISCONNECTED from {connection.source}{detail} — reconnecting "
                f"({connection.retry_in:g} s)",
            )
        )
    elif connection.state is LinkState.CONNECTING:
        result.append(Banner(Severity.INFO, f"◐ connecting to {connection.source}…"))
    if doc is None:
        return result
    doc = read_status(doc)
    if connection.state is LinkState.CONNECTED and staleness(doc, connection, now, last_event_at):
        silent = format_ms(max(0.0, now - (last_event_at or now)) * 1000.0)
        source = connection.source
        result.append(
            Banner(Severity.WARNING, f"◐ STALE data: no update from {source} for {silent}")
        )
    for reason in split_brain_reasons(doc):
        result.append(Banner(Severity.ERROR, f"✖ SPLIT BRAIN suspected: {reason}"))
    for node, reason in one_way_reasons(doc).items():
        detail = reason.removeprefix("one-way communication:").strip() or "no reason given"
        result.append(Banner(Severity.ERROR, f"✖ ONE-WAY link: {node} does not hear us — {detail}"))
    result += one_way_release_banners(doc)
    result += notice_banners(doc)
    result += stonith_banners(doc)
    result += [
        Banner(Severity.WARNING, f"◐ respawn child {row.command}: {row.state} ({row.detail})")
        for row in child_rows(doc)
        if row.severity is Severity.ERROR
    ]
    return result


def staleness(
    doc: StatusDoc | None, connection: Connection, now: float, last_event_at: float | None
) -> str:
    """Why the shown data is old (``no engine for 12.3s``), "" while it is live.

    Old means: the engine is unreachable, or it is connected but has sent nothing for
    ``STALE_FACTOR`` keepalives (it pushes a status document at every heartbeat).
    """
    if doc is None or last_event_at is None:
        return ""
    silent_ms = max(0.0, now - last_event_at) * 1000.0
    if connection.state is not LinkState.CONNECTED:
        return f"no {connection.source} for {format_ms(silent_ms)}"
    keepalive = as_float(timing_of(read_status(doc)).keepalive_ms) or 1000.0
    if silent_ms > STALE_FACTOR * keepalive:
        return f"no update for {format_ms(silent_ms)}"
    return ""
