"""Pure view logic: the engine's status document in, rows and labels out.

Rules of this module: no Textual, no I/O, no clock. Every function takes the status
document (the plain dict from ``status --json`` or from a back end, or that document
already read by ``engine.control.status``, which ``build_picture`` does once) and, where
ages matter, ``now`` and the local monotonic time the document was received. What the
document means (which nodes are up, a node's state word) is ``engine.control.status``'s
answer, the same as hactl's and the metrics'. States are always shown as a glyph AND
a word, never colour alone, so the console reads the same under ``NO_COLOR``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from engine.control import status as st
from engine.control.jsonparts import parse_part

StatusDoc = Mapping[str, Any] | st.StatusDoc
"""The document as received, or already read (``read_status``)."""

SPARK_CHARS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 10
SPARK_HEADROOM = 0.1
"""A sparkline spans at least keepalive × (1 + this): jitter shows, but stays small."""
STALE_FACTOR = 3.0

LINK_HEADERS = ("node / link", "state", "age", "intervals", "max", "jit", "warn±", "dead±")
LATENCY_LINK_HEADERS = ("node / link", "state", "latency", "history", "max", "min", "downs", "peer")
"""The columns for links measured by round trips (:func:`latency_link_row`)."""

STATE_GLYPHS: dict[str, str] = {
    "running": "●",
    "active": "●",
    "up": "●",
    "stopped": "○",
    "starting": "◐",
    "stopping": "◑",
    "failed": "✖",
    "dead": "✖",
    "late": "◐",
    "init": "◐",
    "standby": "◑",
    "builtin": "●",
    "too_fast": "✖",
    "reachable": "●",
    "unreachable": "✖",
    "one-way": "✖",
    "cut": "✖",
    "maintenance": "◑",
    "unclean": "✖",
    "pending": "◐",
    "partial": "◐",
    "disabled": "○",
    "up (unconfirmed)": "◐",
}

PING_WORDS = {"ping": "reachable", "dead": "unreachable"}
"""A ping node's engine status, in the words an operator expects."""

CHILD_TROUBLE = frozenset({"failed", "too_fast"})
"""Respawn child states that need an operator (the engine stopped restarting it)."""


class Severity(StrEnum):
    """How loud a banner or a row should be (mapped to theme colours by the widgets)."""

    OK = "ok"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


class LinkState(StrEnum):
    """Where the console's connection to the engine stands."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"


@dataclass(frozen=True, slots=True)
class Connection:
    """The console's connection state as the bridge last reported it."""

    state: LinkState = LinkState.CONNECTING
    retry_in: float = 0.0
    error: str = ""
    source: str = "engine"
    """What the console follows, in the banners' words (``engine``; ``cluster`` for a
    Pacemaker node)."""


@dataclass(frozen=True, slots=True)
class Banner:
    """One persistent warning line under the summary."""

    severity: Severity
    text: str


@dataclass(frozen=True, slots=True)
class LinkRow:
    """One row of the nodes/links table: a node (``link`` empty) or one of its links."""

    node: str
    node_state: str
    link: str
    state: str
    age: str
    sparkline: str
    max_gap: str
    jitter: str
    warn_margin: str
    dead_margin: str
    severity: Severity
    kind: str = "node"
    """``node`` (a cluster node), ``link`` (one of its links) or ``ping`` (a ping node)."""
    medium: str = ""
    """A link's medium as shown after its name: ``mcast``, ``ucast cut``, …"""


@dataclass(frozen=True, slots=True)
class ChildRow:
    """One respawn/failfast child process the engine supervises."""

    command: str
    state: str
    detail: str
    severity: Severity

    @property
    def line(self) -> str:
        """``respawn ● running /usr/lib/heartbeat/ipfail · pid 12 · 1 start``."""
        return " · ".join(p for p in (f"respawn {self.state} {self.command}", self.detail) if p)


@dataclass(frozen=True, slots=True)
class ChainStep:
    """One resource of a group, in start order."""

    name: str
    state: str
    label: str


@dataclass(frozen=True, slots=True)
class Chain:
    """One resource group drawn as an ordered chain."""

    key: str
    title: str
    steps: tuple[ChainStep, ...]
    severity: Severity
    reason: str = ""
    elsewhere: str = ""
    """The node that runs the group when it is not this one ("" when it is, or nobody)."""

    @property
    def line(self) -> str:
        """The chain as one line: ``● IPaddr2 running ▶ ● hbweb running``; the local
        states of a group another node runs read ``here: ○ IPaddr2 stopped ▶ …``."""
        line = " ▶ ".join(step.label for step in self.steps)
        return f"here: {line}" if self.elsewhere and line else line


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One entry of the event timeline ("why did it move")."""

    time: str
    kind: str
    text: str
    severity: Severity = Severity.INFO
    at: float = 0.0
    """Epoch seconds: the timeline is kept in this order, whenever a row arrives."""


@dataclass(frozen=True, slots=True)
class Picture:
    """Everything the main screen shows, computed in one go."""

    summary: str
    banners: tuple[Banner, ...]
    links: tuple[LinkRow, ...]
    chains: tuple[Chain, ...]
    health: Severity = Severity.OK
    children: tuple[ChildRow, ...] = ()
    stale: str = ""
    """Why and since when the data is old (``no engine for 12.3s``); "" while it is live.
    Every panel shows this next to its data: nothing on screen may claim health then."""
    link_headers: tuple[str, ...] = LINK_HEADERS


def state_label(state: str) -> str:
    """Glyph plus word for a state: ``● running``, ``✖ failed``, ``? weird``."""
    word = state or "unknown"
    return f"{STATE_GLYPHS.get(word.lower(), '?')} {word}"


def format_clock(wall: float | None) -> str:
    """Local wall-clock time ``HH:MM:SS`` of an epoch timestamp, ``-`` when unknown."""
    if wall is None:
        return "-"
    return time.strftime("%H:%M:%S", time.localtime(wall))


def format_ms(millis: float | None) -> str:
    """A duration compactly: ``120ms``, ``1.5s``, ``2m03s``; ``-`` when unknown."""
    if millis is None:
        return "-"
    sign = "-" if millis < 0 else ""
    value = abs(millis)
    if value < 1000:
        return f"{sign}{value:.0f}ms"
    if value < 60_000:
        return f"{sign}{value / 1000:.1f}s"
    minutes, seconds = divmod(int(value / 1000), 60)
    return f"{sign}{minutes}m{seconds:02d}s"


def sparkline(
    values: Sequence[float], width: int = SPARK_WIDTH, expected: float | None = None
) -> str:
    """The last ``width`` values as ``▁▂▃▄▅▆▇█`` bars, from the shortest to the longest.

    The range is at least ``expected`` (the keepalive; else the shortest value) plus
    ``SPARK_HEADROOM``: a steady 200 ms link with keepalive 200 ms is a low ripple
    (``▁▂▁▃▂``, a few ms of jitter is a level or two), a late heartbeat a tall bar.
    Scaling from zero drew every steady link as a row of identical blocks; scaling to
    the values' own range alone would blow a 1 ms wobble up to full height.
    """
    tail = [float(v) for v in values[-width:] if isinstance(v, int | float)]
    if not tail:
        return ""
    reference = min(tail) if expected is None or expected <= 0 else expected
    low = min(*tail, reference)
    high = max(*tail, reference * (1 + SPARK_HEADROOM))
    if high <= low:
        return SPARK_CHARS[0] * len(tail)
    last = len(SPARK_CHARS) - 1
    return "".join(SPARK_CHARS[round((v - low) / (high - low) * last)] for v in tail)


def age_ms(last_heard_ms: float | None, now: float, received_at: float) -> float | None:
    """Age of a heartbeat now, from its age in the document plus time since receipt."""
    if last_heard_ms is None:
        return None
    return float(last_heard_ms) + max(0.0, now - received_at) * 1000.0


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


def _timing(doc: st.StatusDoc) -> st.Timing:
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


def _float(value: object) -> float | None:
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
    keepalive = _float(_timing(read_status(doc)).keepalive_ms) or 1000.0
    if silent_ms > STALE_FACTOR * keepalive:
        return f"no update for {format_ms(silent_ms)}"
    return ""


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
    age = age_ms(_float(link.last_heard_ms), *clock)
    intervals = link.intervals_ms
    jitter = _float(link.jitter_ms)
    return LinkRow(
        node=node_name,
        node_state=node_state,
        link=link.name,
        state=state_label(link.status),
        age=format_ms(age),
        sparkline=sparkline(intervals if isinstance(intervals, list) else [], expected=expected),
        max_gap=format_ms(_float(link.max_gap_ms)),
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
    dead = _float(node.deadtime_ms)
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
    timing = _timing(doc)
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
        age = age_ms(_float(node.last_heard_ms), now, received_at)
        if node.name in one_way:
            rows.append(_node_row(node.name, node_state, "✖ one-way", age, Severity.ERROR))
        else:
            rows.append(_node_row(node.name, node_state, "", age))
        dead = _float(node.deadtime_ms) or _float(timing.deadtime_ms)
        limits = (_float(timing.warntime_ms), dead)
        keepalive = _float(timing.keepalive_ms)
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
        age=format_latency(_float(link.latency_ms)) if up else "-",
        sparkline=sparkline(history if isinstance(history, list) else []),
        max_gap=format_latency(_float(link.latency_max_ms)),
        jitter=format_latency(_float(link.latency_min_ms)),
        warn_margin=str(downs) if isinstance(downs, int) else "-",
        dead_margin=link.address or "-",
        severity=Severity.OK if up else Severity.ERROR,
        kind="link",
        medium=kind,
    )


def short_resource_name(token: str) -> str:
    """The agent part of a haresources token: ``IPaddr2::10.0.0.1/24`` → ``IPaddr2``."""
    return token.split("::", 1)[0] or token


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
    at = _float(event.get("time"))
    return TimelineRow(format_clock(at), kind, text, severity, at or 0.0)


def log_line(record: Mapping[str, Any]) -> tuple[str, str]:
    """A ``log`` event as (level, ``HH:MM:SS LEVEL text``)."""
    level = str(record.get("level", "info")).upper()
    return level, f"{format_clock(_float(record.get('time')))} {level:<7} {record.get('text', '')}"


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
