"""The nodes & links table: one row per node and per heartbeat link or knet link."""

from __future__ import annotations

from engine.control import status as st
from hatui.viewmodel.model import (
    PING_WORDS,
    LinkRow,
    Severity,
    StatusDoc,
    age_ms,
    format_ms,
    sparkline,
    state_label,
)
from hatui.viewmodel.summary import as_float, node_status, one_way_reasons, read_status, timing_of


def _margin(limit: float | None, age: float | None) -> str:
    if limit is None or age is None:
        return "-"
    margin = limit - age
    return ("+" if margin >= 0 else "") + format_ms(margin)


def _link_severity(
    state: str, age: float | None, warn: float | None, dead: float | None
) -> Severity:
    if state.lower() == "dead" or (dead is not None and age is not None and age >= dead):
        return Severity.ERROR
    if warn is not None and age is not None and age >= warn:
        return Severity.WARNING
    return Severity.OK


def link_kinds(doc: StatusDoc) -> dict[str, str]:
    """Link name → ``mcast``/``ucast``/… (plus `` cut`` while fault injection cuts it).

    The engine names links after their device (``lo``, ``lo#2``, ``eth0``); the medium
    kind comes from the top-level ``links`` list and is shown next to the name.
    """
    kinds = {}
    for medium in read_status(doc).links:
        if medium.name != "?":
            kind = "" if medium.kind == "?" else medium.kind
            kinds[medium.name] = f"{kind} cut".strip() if medium.cut else kind
    return kinds


def _link_row(
    node_name: str,
    node_state: str,
    link: st.NodeLink,
    timing: tuple[float | None, float | None],
    clock: tuple[float, float],
    kind: str = "",
    expected: float | None = None,
) -> LinkRow:
    """One link's row; ``expected`` is the keepalive (the sparkline's reference)."""
    warn, dead = timing
    age = age_ms(as_float(link.last_heard_ms), *clock)
    intervals = link.intervals_ms
    jitter = as_float(link.jitter_ms)
    return LinkRow(
        node=node_name,
        node_state=node_state,
        link=link.name,
        state=state_label(link.status),
        age=format_ms(age),
        sparkline=sparkline(intervals if isinstance(intervals, list) else [], expected=expected),
        max_gap=format_ms(as_float(link.max_gap_ms)),
        jitter="-" if jitter is None else f"{jitter:.1f}ms" if jitter < 10 else f"{jitter:.0f}ms",
        warn_margin=_margin(warn, age),
        dead_margin=_margin(dead, age),
        severity=_link_severity(link.status, age, warn, dead),
        kind="link",
        medium=kind,
    )


def _node_row(
    name: str,
    node_state: str,
    state: str = "",
    age: float | None = None,
    severity: Severity = Severity.OK,
) -> LinkRow:
    shown_age = format_ms(age) if age is not None else ""
    return LinkRow(name, node_state, "", state, shown_age, "", "", "", "", "", severity)


def ping_row(node: st.Node, now: float, received_at: float) -> LinkRow:
    """A ping node as ONE row: its reachability plus the timing of its echo replies.

    A ping node has exactly one link, named after itself, so a separate link row would
    only repeat the name; its deadtime is ``deadping``.
    """
    word = state_label(PING_WORDS.get(node.status.lower(), node.status))
    link = node.links[0] if node.links else st.NodeLink(status=node.status)
    dead = as_float(node.deadtime_ms)
    row = _link_row(node.name, word, link, (None, dead), (now, received_at))
    severity = Severity.ERROR if node.status.lower() == "dead" else row.severity
    return LinkRow(
        node.name, word, "", word, row.age, row.sparkline, row.max_gap, row.jitter,
        "-", row.dead_margin, severity, kind="ping",
    )  # fmt: skip


def link_rows(doc: StatusDoc, now: float, received_at: float) -> list[LinkRow]:
    """A row per node followed by one timing row per link of that node; ping nodes last.

    The local node's links are not alarms (a node's link to itself can read "dead" with
    mcast, as ``cl_status`` documents), so this node is listed without link rows. A peer
    that does not hear us (one-way loss) is marked on its node row.
    """
    doc = read_status(doc)
    timing = timing_of(doc)
    kinds = link_kinds(doc)
    one_way = one_way_reasons(doc)
    rows: list[LinkRow] = []
    pings: list[LinkRow] = []
    for node in doc.nodes:
        if node.type == "ping":
            pings.append(ping_row(node, now, received_at))
            continue
        node_state = state_label(node_status(node))
        if node.is_self:
            rows.append(_node_row(node.name, node_state, "local"))
            continue
        age = age_ms(as_float(node.last_heard_ms), now, received_at)
        if node.name in one_way:
            rows.append(_node_row(node.name, node_state, "✖ one-way", age, Severity.ERROR))
        else:
            rows.append(_node_row(node.name, node_state, "", age))
        dead = as_float(node.deadtime_ms) or as_float(timing.deadtime_ms)
        limits = (as_float(timing.warntime_ms), dead)
        keepalive = as_float(timing.keepalive_ms)
        for lk in node.links:
            medium = kinds.get(lk.name, "")
            if "latency_ms" in (lk.keys or ()):  # measured by round trips (corosync knet)
                rows.append(latency_link_row(node.name, node_state, lk, medium))
                continue
            rows.append(
                _link_row(node.name, node_state, lk, limits, (now, received_at), medium, keepalive)
            )
    return rows + pings


def format_latency(millis: float | None) -> str:
    """A round-trip time: ``180µs``, ``1.25ms``, ``45ms``; ``-`` when unknown."""
    if millis is None:
        return "-"
    if millis < 1:
        return f"{millis * 1000:.0f}µs"
    return f"{millis:.2f}ms" if millis < 10 else format_ms(millis)


def latency_link_row(node_name: str, node_state: str, link: st.NodeLink, kind: str = "") -> LinkRow:
    """A link measured by round trips (corosync knet) rather than heartbeat ages: the
    cells are latency, its recent history, max, min, how often it went down, and the
    peer's address (``LATENCY_LINK_HEADERS``)."""
    up = link.status.lower() == "up"
    history = link.latency_history_ms
    downs = link.down_count
    return LinkRow(
        node=node_name,
        node_state=node_state,
        link=link.name,
        state=state_label(link.status),
        # a dead link's last average is history, not a latency now
        age=format_latency(as_float(link.latency_ms)) if up else "-",
        sparkline=sparkline(history if isinstance(history, list) else []),
        max_gap=format_latency(as_float(link.latency_max_ms)),
        jitter=format_latency(as_float(link.latency_min_ms)),
        warn_margin=str(downs) if isinstance(downs, int) else "-",
        dead_margin=link.address or "-",
        severity=Severity.OK if up else Severity.ERROR,
        kind="link",
        medium=kind,
    )
