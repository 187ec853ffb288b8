"""Timeline rows, log lines and the whole picture (``build_picture``, ``render_text``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hatui.viewmodel.chains import resource_chains
from hatui.viewmodel.links import link_rows
from hatui.viewmodel.model import (
    LATENCY_LINK_HEADERS,
    LINK_HEADERS,
    Connection,
    LinkRow,
    LinkState,
    Picture,
    Severity,
    StatusDoc,
    TimelineRow,
    format_clock,
)
from hatui.viewmodel.summary import (
    as_float,
    banners,
    child_rows,
    cluster_health,
    read_status,
    staleness,
    summary_line,
)

TIMELINE_ERRORS = frozenset(
    {"death", "dead", "stonith", "failed", "split_brain", "stall", "monitor"}
)
TIMELINE_WARNINGS = frozenset(
    {"refused", "partition", "ipfail", "one_way", "restart", "recovery", "rejoin"}
)
TIMELINE_GLYPHS = {
    Severity.ERROR: "✖",
    Severity.WARNING: "◐",
    Severity.INFO: "·",
    Severity.OK: "·",
}


def timeline_severity(kind: str, reason: str) -> Severity:
    """How loud a timeline entry is: the engine sends kind and reason, no level.

    ``reload`` is an error when the new configuration was rejected and a warning when
    parts of it were refused; ``fence`` is an error when a reset failed or a peer is
    taken over unfenced, else a warning (a fence is never routine).
    """
    kind, reason = kind.lower(), reason.lower()
    if kind == "reload":
        if "rejected" in reason:
            return Severity.ERROR
        return Severity.WARNING if "refused" in reason else Severity.INFO
    if kind == "fence":
        bad = ("fail", "not reset", "unfenced", "abandoned", "timed out")
        return Severity.ERROR if any(word in reason for word in bad) else Severity.WARNING
    if kind in TIMELINE_ERRORS:
        return Severity.ERROR
    return Severity.WARNING if kind in TIMELINE_WARNINGS else Severity.INFO


def timeline_row(event: Mapping[str, Any]) -> TimelineRow:
    """A ``timeline`` event (``time, kind, node, group, reason``) as one row."""
    kind = str(event.get("kind", "event"))
    who = " ".join(str(event[k]) for k in ("node", "group") if event.get(k))
    reason = str(event.get("reason", "")).strip()
    text = " — ".join(part for part in (who, reason) if part)
    severity = timeline_severity(kind, reason)
    at = as_float(event.get("time"))
    return TimelineRow(format_clock(at), kind, text, severity, at or 0.0)


def log_line(record: Mapping[str, Any]) -> tuple[str, str]:
    """A ``log`` event as (level, ``HH:MM:SS LEVEL text``)."""
    level = str(record.get("level", "info")).upper()
    return (
        level,
        f"{format_clock(as_float(record.get('time')))} {level:<7} {record.get('text', '')}",
    )


def build_picture(
    doc: StatusDoc | None,
    connection: Connection,
    now: float,
    received_at: float,
    last_event_at: float | None = None,
) -> Picture:
    """Everything the main screen needs from one status document.

    When the data is stale (no engine), ages are shown as they were at the last update
    (they are facts of that moment, not of now), the summary claims nothing, and
    ``stale`` says so for every panel.
    """
    doc = None if doc is None else read_status(doc)  # read once, asked many times
    shown = banners(doc, connection, now, last_event_at)
    if doc is None:
        return Picture("no status received yet", tuple(shown), (), (), Severity.INFO)
    stale = staleness(doc, connection, now, last_event_at)
    as_of = last_event_at if stale and last_event_at is not None else now
    if not stale:
        health = cluster_health(doc)
    else:
        health = Severity.ERROR if connection.state is not LinkState.CONNECTED else Severity.WARNING
    return Picture(
        summary=summary_line(doc, stale),
        banners=tuple(shown),
        links=tuple(link_rows(doc, as_of, received_at)),
        chains=tuple(resource_chains(doc)),
        health=health,
        children=tuple(child_rows(doc)),
        stale=stale,
        link_headers=link_headers(doc),
    )


def link_headers(doc: StatusDoc | None) -> tuple[str, ...]:
    """The links table's columns for this document (Pacemaker's knet links have
    latencies, not heartbeat ages)."""
    if doc is not None and read_status(doc).backend == "pacemaker":
        return LATENCY_LINK_HEADERS
    return LINK_HEADERS


def link_cells(row: LinkRow) -> tuple[str, ...]:
    """The table cells of a row: a node row names the node, a link row is indented."""
    if row.kind == "ping":
        first = f"ping {row.node}"
    elif row.link:
        first = f"  {row.link} {row.medium}".rstrip()
    else:
        first = f"{row.node} {row.node_state}"
    return (
        first,
        row.state,
        row.age,
        row.sparkline,
        row.max_gap,
        row.jitter,
        row.warn_margin,
        row.dead_margin,
    )


def render_text(
    picture: Picture, timeline: Sequence[TimelineRow] = (), log: Sequence[str] = ()
) -> str:
    """The picture as plain text (``hatui --once``, mail, scripts), then the recent
    timeline and the engine's recent log lines, newest last."""
    lines = [picture.summary]
    lines += [banner.text for banner in picture.banners]
    table = [picture.link_headers, *(link_cells(row) for row in picture.links)]
    widths = [max(len(r[i]) for r in table) for i in range(len(picture.link_headers))]
    lines.append("")
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table]
    lines.append("")
    for chain in picture.chains:
        lines.append(chain.title)
        line = f"  {chain.line}" if chain.steps else "  (no resources)"
        lines.append(f"{line}  — {chain.reason}" if chain.reason else line)
    lines += [child.line for child in picture.children]
    if timeline:
        lines += ["", "recent events (newest last):"]
    lines += [
        f"{row.time} {TIMELINE_GLYPHS[row.severity]} {row.kind:<9} {row.text}" for row in timeline
    ]
    if log:
        lines += ["", "recent log (newest last):", *log]
    return "\n".join(lines) + "\n"
