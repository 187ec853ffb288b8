"""Pure view logic: the engine's status document in, rows and labels out.

Rules of this module: no Textual, no I/O, no clock. Every function takes the status
document (a plain dict from ``status --json``) and, where ages matter, ``now`` and the
local monotonic time the document was received. States are always shown as a glyph AND
a word, never colour alone, so the console reads the same under ``NO_COLOR``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

StatusDoc = Mapping[str, Any]

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


def _timing(doc: StatusDoc) -> Mapping[str, Any]:
    timing = doc.get("timing")
    return timing if isinstance(timing, Mapping) else {}


def _nodes(doc: StatusDoc) -> list[Mapping[str, Any]]:
    nodes = doc.get("nodes")
    return [n for n in nodes if isinstance(n, Mapping)] if isinstance(nodes, list) else []


def _groups(doc: StatusDoc) -> list[Mapping[str, Any]]:
    groups = doc.get("groups")
    return [g for g in groups if isinstance(g, Mapping)] if isinstance(groups, list) else []


def _holders(group: Mapping[str, Any]) -> list[str]:
    held = group.get("held_by")
    if isinstance(held, str) and held:
        return [held]
    if isinstance(held, list):
        return [str(h) for h in held if h]
    return []


UP_WORDS = frozenset({"up", "active", "init", "standby", "maintenance"})
"""Node states of a member in the cluster (a Pacemaker node in standby or maintenance
is up: it runs nothing, but it is there)."""


def _is_up(status: str) -> bool:
    return status.lower() in UP_WORDS


def node_status(node: Mapping[str, Any]) -> str:
    """A node's status word; ``up (unconfirmed)`` while its packets have not shown that
    it hears us since our restart (``confirmed`` false: they may be replays)."""
    status = str(node.get("status", "?"))
    if node.get("confirmed") is False and status == "up":
        return "up (unconfirmed)"
    return status


def node_counts(doc: StatusDoc) -> tuple[int, int]:
    """(nodes up, normal nodes in total); ping nodes are not cluster members; a node
    not confirmed yet is not up."""
    normal = [n for n in _nodes(doc) if str(n.get("type", "normal")) == "normal"]
    up = sum(1 for n in normal if _is_up(node_status(n)))
    return up, len(normal)


def cluster_health(doc: StatusDoc) -> Severity:
    """OK when every node and every medium to it is up and every group runs or is
    stopped; WARNING for a down peer, a dead or cut link, one-way loss or a group on
    the move; ERROR on a failed group or a split brain."""
    states = [str(g.get("state", "")).lower() for g in _groups(doc)]
    noticed = {b.severity for b in notice_banners(doc)}
    if "failed" in states or split_brain_reasons(doc) or Severity.ERROR in noticed:
        return Severity.ERROR
    up, total = node_counts(doc)
    if up < total or one_way_reasons(doc) or degraded_links(doc):
        return Severity.WARNING
    if any(s not in {"running", "stopped"} for s in states):
        return Severity.WARNING
    return Severity.WARNING if Severity.WARNING in noticed else Severity.OK


def notice_banners(doc: StatusDoc) -> list[Banner]:
    """A back end's own banners (``notices``: Pacemaker's quorum, maintenance mode,
    failed actions), each with its severity and its reason in words."""
    notices = doc.get("notices")
    found = []
    for notice in notices if isinstance(notices, list) else []:
        if isinstance(notice, Mapping) and notice.get("text"):
            word = str(notice.get("severity", "warning"))
            severity = Severity(word) if word in Severity.__members__.values() else Severity.WARNING
            found.append(Banner(severity, str(notice["text"])))
    return found


def dc_summary(doc: StatusDoc) -> str:
    """``DC alpha, quorate`` for a Pacemaker document ("" for the engine's)."""
    pacemaker = doc.get("pacemaker")
    if not isinstance(pacemaker, Mapping):
        return ""
    quorum = doc.get("quorum")
    quorate = isinstance(quorum, Mapping) and quorum.get("quorate")
    dc = str(pacemaker.get("dc") or "none")
    return f"DC {dc}, {'quorate' if quorate else 'NO QUORUM'}"


def degraded_links(doc: StatusDoc) -> list[str]:
    """Media that are down while the cluster still talks: ``bravo lo#2 dead``, ``lo#2
    cut``. Links of this node itself and of a peer that is down are not counted (the
    node row says it), nor those of ping nodes."""
    found = []
    for node in _nodes(doc):
        if node.get("self") or str(node.get("type", "normal")) != "normal":
            continue
        if not _is_up(node_status(node)):
            continue
        for link in _node_links(node):
            status = str(link.get("status", "?"))
            if status.lower() != "up":
                found.append(f"{node.get('name', '?')} {link.get('name', '?')} {status}")
    links = doc.get("links")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, Mapping) and link.get("cut"):
            found.append(f"{link.get('name', '?')} cut (fault injection)")
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
    parts = []
    for group in _groups(doc):
        name = short_resource_name(str(group.get("key", "?")))
        parts.append(f"{name}@{'+'.join(_holders(group)) or '-'}")
    return ", ".join(parts) or "no groups"


def summary_line(doc: StatusDoc, stale: str = "") -> str:
    """The one-line cluster summary shown at the top (and first in ``--once``).

    With ``stale`` (the data is old: no engine) it claims nothing: the health word is
    replaced by "state UNKNOWN" and the rest is marked as last known.
    """
    up, total = node_counts(doc)
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
        f"this node {doc.get('node', '?')} ({doc.get('status', '?')})",
        holders_text(doc),
    ]
    if dc_summary(doc):
        parts.insert(1, dc_summary(doc))
    fencing = stonith_summary(doc)
    if fencing:
        parts.append(fencing)
    change = doc.get("last_change")
    if isinstance(change, Mapping) and change:
        what = str(change.get("what", "")).strip()
        reason = str(change.get("reason", "")).strip()
        text = f"last change {format_clock(_float(change.get('time')))} {what}".rstrip()
        if reason:
            text += f" ({reason})"
        parts.append(text)
    return " · ".join(parts)


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def split_brain_reasons(doc: StatusDoc) -> list[str]:
    """Why a split brain is suspected: a group held by two nodes, or an engine audit."""
    reasons = []
    for group in _groups(doc):
        holders = _holders(group)
        if len(holders) > 1 and not group.get("clone"):  # a clone runs on several nodes
            reasons.append(f"{group.get('key', '?')} held by {' and '.join(holders)}")
    audits = doc.get("audits")
    if isinstance(audits, list):
        for audit in audits:
            if isinstance(audit, Mapping) and "split" in str(audit.get("kind", "")):
                reasons.append(str(audit.get("reason") or audit.get("kind")))
    return reasons


def _stonith(doc: StatusDoc) -> Mapping[str, Any]:
    stonith = doc.get("stonith")
    return stonith if isinstance(stonith, Mapping) else {}


def stonith_configured(doc: StatusDoc) -> bool:
    """True when the status document says a STONITH device is configured."""
    stonith = doc.get("stonith")
    if isinstance(stonith, Mapping):
        return bool(stonith.get("configured") or stonith.get("devices"))
    return bool(stonith)


def stonith_device(doc: StatusDoc) -> str:
    """The device as ``type`` or ``type id`` (``external/ssh``), "" when none."""
    device = _stonith(doc).get("device")
    if not isinstance(device, Mapping):
        return ""
    kind, ident = str(device.get("type") or ""), str(device.get("id") or "")
    return kind if not ident or ident == kind else f"{kind} {ident}".strip()


def _by_node(value: object) -> dict[str, Mapping[str, Any]]:
    """``pending``/``last`` are ``{node: info}``; tolerate a list of infos with ``node``."""
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items() if isinstance(v, Mapping)}
    if isinstance(value, list):
        return {str(v.get("node", "?")): v for v in value if isinstance(v, Mapping)}
    return {}


def stonith_results(doc: StatusDoc) -> list[tuple[str, bool, str]]:
    """The last reset per node as (node, ok, ``bravo reset ok 12:00:03``), by node name."""
    results = []
    for node, info in sorted(_by_node(_stonith(doc).get("last")).items()):
        ok = bool(info.get("ok"))
        when = format_clock(_float(info.get("time")))
        if ok:
            results.append((node, True, f"{node} reset ok {when}"))
            continue
        why = str(info.get("reason") or f"code {info.get('code', '?')}")
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
    stonith = _stonith(doc)
    result: list[Banner] = []
    error = str(stonith.get("error") or "").strip()
    if error:
        result.append(Banner(Severity.ERROR, f"✖ STONITH device unusable: {error}"))
    elif not stonith_configured(doc):
        result.append(
            Banner(Severity.WARNING, "◐ no STONITH configured: a split brain is not fenced")
        )
    for node, info in sorted(_by_node(stonith.get("pending")).items()):
        device = info.get("device") or stonith_device(doc) or "?"
        since = format_clock(_float(info.get("since")))
        why = str(info.get("reason") or "").strip()
        text = f"◐ FENCING {node} with [{device}] since {since}" + (f": {why}" if why else "")
        result.append(Banner(Severity.WARNING, text))
    waiting = stonith.get("meatware_waiting")
    for node in waiting if isinstance(waiting, list) else []:
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
    return {
        str(node.get("name", "?")): str(node["one_way"])
        for node in _nodes(doc)
        if node.get("one_way")
    }


def one_way_release_banners(doc: StatusDoc) -> list[Banner]:
    """Groups this node released because its peer took them over without hearing us
    (``resources.one_way``, issue 15.3), while they are away; the timeline and the
    groups' reasons carry the engine's full explanation."""
    resources = doc.get("resources")
    view = resources.get("one_way") if isinstance(resources, Mapping) else None
    if not isinstance(view, Mapping) or view.get("state") in (None, "watching"):
        return []
    groups = view.get("groups")
    names = ", ".join(str(g) for g in groups) if isinstance(groups, list) and groups else "?"
    peer = str(view.get("peer") or "the peer")
    it = "them" if isinstance(groups, list) and len(groups) > 1 else "it"
    text = {
        "releasing": f"releasing {names} — {peer} took {it} over and does not hear us",
        "released": f"released {names} — {peer} runs {it} and does not hear us; back when it does",
        "stop failed": f"could not stop {names} — {peer} runs {it} too; fence or stop by hand",
    }.get(str(view.get("state")), f"{view.get('state')} {names}")
    return [Banner(Severity.ERROR, f"✖ ONE-WAY LOSS: {text}")]


def child_rows(doc: StatusDoc) -> list[ChildRow]:
    """The respawn/failfast children of ``status["children"]`` (empty when none)."""
    children = doc.get("children")
    rows = []
    for child in children if isinstance(children, list) else []:
        if not isinstance(child, Mapping):
            continue
        state = str(child.get("state") or "?")
        starts = child.get("starts")
        details = [
            f"pid {child['pid']}" if child.get("pid") else "",
            f"{starts} start{'' if starts == 1 else 's'}" if isinstance(starts, int) else "",
            f"last: {child['last_exit']}" if child.get("last_exit") else "",
            "failfast" if child.get("failfast") else "",
        ]
        severity = Severity.ERROR if state in CHILD_TROUBLE else Severity.OK
        rows.append(
            ChildRow(
                command=str(child.get("command") or "?"),
                state=state_label(state),
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
    keepalive = _float(_timing(doc).get("keepalive_ms")) or 1000.0
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
    links = doc.get("links")
    kinds = {}
    for link in links if isinstance(links, list) else []:
        if isinstance(link, Mapping) and link.get("name"):
            kind = str(link.get("kind") or "")
            kinds[str(link["name"])] = f"{kind} cut".strip() if link.get("cut") else kind
    return kinds


def _link_row(
    node_name: str,
    node_state: str,
    link: Mapping[str, Any],
    timing: tuple[float | None, float | None],
    clock: tuple[float, float],
    kind: str = "",
    expected: float | None = None,
) -> LinkRow:
    """One link's row; ``expected`` is the keepalive (the sparkline's reference)."""
    warn, dead = timing
    state = str(link.get("status", "?"))
    age = age_ms(_float(link.get("last_heard_ms")), *clock)
    intervals = link.get("intervals_ms")
    jitter = _float(link.get("jitter_ms"))
    name = str(link.get("name", "?"))
    return LinkRow(
        node=node_name,
        node_state=node_state,
        link=name,
        state=state_label(state),
        age=format_ms(age),
        sparkline=sparkline(intervals if isinstance(intervals, list) else [], expected=expected),
        max_gap=format_ms(_float(link.get("max_gap_ms"))),
        jitter="-" if jitter is None else f"{jitter:.1f}ms" if jitter < 10 else f"{jitter:.0f}ms",
        warn_margin=_margin(warn, age),
        dead_margin=_margin(dead, age),
        severity=_link_severity(state, age, warn, dead),
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


def _node_links(node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    links = node.get("links")
    return [lk for lk in links if isinstance(lk, Mapping)] if isinstance(links, list) else []


def ping_row(node: Mapping[str, Any], now: float, received_at: float) -> LinkRow:
    """A ping node as ONE row: its reachability plus the timing of its echo replies.

    A ping node has exactly one link, named after itself, so a separate link row would
    only repeat the name; its deadtime is ``deadping``.
    """
    name = str(node.get("name", "?"))
    status = str(node.get("status", "?"))
    word = state_label(PING_WORDS.get(status.lower(), status))
    links = _node_links(node)
    link: Mapping[str, Any] = links[0] if links else {"status": status}
    dead = _float(node.get("deadtime_ms"))
    row = _link_row(name, word, link, (None, dead), (now, received_at))
    severity = Severity.ERROR if status.lower() == "dead" else row.severity
    return LinkRow(
        name, word, "", word, row.age, row.sparkline, row.max_gap, row.jitter,
        "-", row.dead_margin, severity, kind="ping",
    )  # fmt: skip


def link_rows(doc: StatusDoc, now: float, received_at: float) -> list[LinkRow]:
    """A row per node followed by one timing row per link of that node; ping nodes last.

    The local node's links are not alarms (a node's link to itself can read "dead" with
    mcast, as ``cl_status`` documents), so this node is listed without link rows. A peer
    that does not hear us (one-way loss) is marked on its node row.
    """
    timing = _timing(doc)
    kinds = link_kinds(doc)
    one_way = one_way_reasons(doc)
    rows: list[LinkRow] = []
    pings: list[LinkRow] = []
    for node in _nodes(doc):
        name = str(node.get("name", "?"))
        if str(node.get("type", "normal")) == "ping":
            pings.append(ping_row(node, now, received_at))
            continue
        node_state = state_label(node_status(node))
        if node.get("self"):
            rows.append(_node_row(name, node_state, "local"))
            continue
        age = age_ms(_float(node.get("last_heard_ms")), now, received_at)
        if name in one_way:
            rows.append(_node_row(name, node_state, "✖ one-way", age, Severity.ERROR))
        else:
            rows.append(_node_row(name, node_state, "", age))
        dead = _float(node.get("deadtime_ms")) or _float(timing.get("deadtime_ms"))
        limits = (_float(timing.get("warntime_ms")), dead)
        keepalive = _float(timing.get("keepalive_ms"))
        for lk in _node_links(node):
            medium = kinds.get(str(lk.get("name")), "")
            if "latency_ms" in lk:  # measured by round trips (corosync knet)
                rows.append(latency_link_row(name, node_state, lk, medium))
                continue
            rows.append(
                _link_row(name, node_state, lk, limits, (now, received_at), medium, keepalive)
            )
    return rows + pings


def format_latency(millis: float | None) -> str:
    """A round-trip time: ``180µs``, ``1.25ms``, ``45ms``; ``-`` when unknown."""
    if millis is None:
        return "-"
    if millis < 1:
        return f"{millis * 1000:.0f}µs"
    return f"{millis:.2f}ms" if millis < 10 else format_ms(millis)


def latency_link_row(
    node_name: str, node_state: str, link: Mapping[str, Any], kind: str = ""
) -> LinkRow:
    """A link measured by round trips (corosync knet) rather than heartbeat ages: the
    cells are latency, its recent history, max, min, how often it went down, and the
    peer's address (``LATENCY_LINK_HEADERS``)."""
    state = str(link.get("status", "?"))
    history = link.get("latency_history_ms")
    downs = link.get("down_count")
    return LinkRow(
        node=node_name,
        node_state=node_state,
        link=str(link.get("name", "?")),
        state=state_label(state),
        # a dead link's last average is history, not a latency now
        age=format_latency(_float(link.get("latency_ms"))) if state.lower() == "up" else "-",
        sparkline=sparkline(history if isinstance(history, list) else []),
        max_gap=format_latency(_float(link.get("latency_max_ms"))),
        jitter=format_latency(_float(link.get("latency_min_ms"))),
        warn_margin=str(downs) if isinstance(downs, int) else "-",
        dead_margin=str(link.get("address") or "-"),
        severity=Severity.OK if state.lower() == "up" else Severity.ERROR,
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


def _chain_step(resource: Mapping[str, Any]) -> ChainStep:
    """One resource: ``hbweb ✖ failed (monitor timeout)`` when its check failed."""
    name, state = str(resource.get("name", "?")), str(resource.get("state", "?"))
    label = f"{short_resource_name(name)} {state_label(state)}"
    monitor = resource.get("monitor")
    if isinstance(monitor, Mapping) and state == "failed":
        result = monitor.get("result")
        if result not in (None, "ok"):
            label += f" (monitor {result})"
    return ChainStep(name=name, state=state, label=label)


def _monitor_title(monitor: Any) -> str:
    """`` · monitor: 2 failures, restarted`` while a group has recent monitor failures."""
    if not isinstance(monitor, Mapping) or not monitor.get("enabled"):
        return ""
    failures = int(monitor.get("failures") or 0)
    recovery = str(monitor.get("recovery") or "none")
    if not failures and recovery == "none":
        return ""
    text = f" · monitor: {failures} failure{'' if failures == 1 else 's'}"
    return text if recovery == "none" else f"{text}, {recovery}"


def _notes(group: Mapping[str, Any]) -> str:
    """`` · moved to charlie by crm_resource --move (cli-prefer-rg)``: what a back end
    says about a group beyond its state (the constraints an operator left)."""
    notes = group.get("notes")
    return "".join(f" · {note}" for note in notes if note) if isinstance(notes, list) else ""


def _node_status(doc: StatusDoc, name: str) -> str:
    for node in _nodes(doc):
        if node.get("name") == name:
            return node_status(node)
    return "unknown"


def group_where(doc: StatusDoc, group: Mapping[str, Any]) -> tuple[str, str]:
    """Where the group runs cluster-wide, apart from this node's own state.

    Returns (text, node running it elsewhere): ``● running on bravo`` while a live peer
    holds it (this node's resources then read stopped, which is no outage),
    ``● running here (alpha)`` / ``◐ starting here (alpha)`` while this node holds it,
    ``○ not running anywhere`` when nobody does, ``✖ held by alpha and bravo`` twice.
    """
    holders = _holders(group)
    local = str(doc.get("node", ""))
    state = str(group.get("state", "?"))
    if not holders:
        return "○ not running anywhere (no node holds it)", ""
    if group.get("clone"):  # a clone runs on several nodes at once, by design
        return f"{state_label(state)} on {', '.join(holders)}", ""
    if len(holders) > 1:
        return f"✖ held by {' and '.join(holders)}", ""
    holder = holders[0]
    if holder == local:
        return f"{state_label(state)} here ({local})", ""
    peer_status = _node_status(doc, holder)
    if _is_up(peer_status):
        return f"● running on {holder}", holder
    return f"? held by {holder}, which is {peer_status}", ""


def resource_chains(doc: StatusDoc) -> list[Chain]:
    """Each group as an ordered chain of steps with glyph+word state per step.

    The title says where the group runs in the cluster; the steps are this node's
    own resource states (``here: …`` when another node runs the group), or, for a group
    marked ``cluster_wide`` (Pacemaker: crm_mon reports each resource where it runs),
    the resources' own states.
    """
    chains = []
    for group in _groups(doc):
        resources = [r for r in group.get("resources", []) if isinstance(r, Mapping)]
        steps = tuple(_chain_step(r) for r in resources)
        where, elsewhere = group_where(doc, group)
        if group.get("cluster_wide"):  # the steps are the resources' own states, not ours
            elsewhere = ""
        state = str(group.get("state", "?"))
        title = (
            f"{group.get('key', '?')} · home {group.get('home', '?')} · {where}"
            f"{_monitor_title(group.get('monitor'))}{_notes(group)}"
        )
        severity = _chain_severity([s.state for s in steps] + [state])
        if elsewhere and severity is Severity.INFO:
            severity = Severity.OK  # stopped here because it runs there: no outage
        chains.append(
            Chain(
                str(group.get("key", "?")), title, steps, severity,
                str(group.get("reason", "")), elsewhere,
            )
        )  # fmt: skip
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
    return LATENCY_LINK_HEADERS if doc and doc.get("backend") == "pacemaker" else LINK_HEADERS


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
