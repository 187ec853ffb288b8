"""Prometheus text endpoint of ``haengine`` (``--metrics ADDR:PORT``, off by default).

Rules of this module: everything a scrape shows is derived from the engine's status
document (the same one ``hactl status --json`` prints) plus the few things the document
cannot carry — cumulative histograms and action timings — which ``EngineStats`` records
as the daemon feeds it. Nothing here touches the heartbeat path beyond a dictionary
lookup per accepted datagram; the HTTP server is a minimal stdlib asyncio one that
answers ``GET /metrics`` and closes the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import math
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.control.status import Group, StatusDoc, is_up, parse_status

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UP_HELP = (
    "1 when the node is up (up or active, its packets proved fresh; a ping node: it "
    "answers), else 0."
)
DEFAULT_METRICS_HOST = "127.0.0.1"
MAX_REQUEST_BYTES = 8192
REQUEST_TIMEOUT = 5.0
INTERVAL_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
"""Heartbeat interval buckets (seconds): sub-keepalive up to well past any deadtime."""
ACTION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)
"""Resource action buckets (seconds): an ``IPaddr2`` start to a slow database stop."""
TAKEOVER_LOG_PREFIX = "Resources being acquired from "
"""The policy event that starts a takeover (Heartbeat's own log line)."""


def parse_listen_address(text: str) -> tuple[str, int]:
    """``ADDR:PORT``, ``[V6]:PORT``, ``:PORT`` or ``PORT`` → (host, port).

    A missing host means 127.0.0.1: metrics are local unless asked otherwise.

    Raises:
        ValueError: with a message that says what is wrong with ``text``.
    """
    host, sep, port_text = text.strip().rpartition(":")
    if not sep:
        host, port_text = "", text.strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        raise ValueError(f"metrics address {text!r}: port {port_text!r} is not a number") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"metrics address {text!r}: port {port} is not in 1..65535")
    host = host or DEFAULT_METRICS_HOST
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            raise ValueError(
                f"metrics address {text!r}: {host!r} is not an IP address "
                "(write 127.0.0.1:PORT, [::1]:PORT or 0.0.0.0:PORT)"
            ) from None
    return host, port


# --------------------------------------------------------------------------- recording


@dataclass(slots=True)
class Histogram:
    """A cumulative Prometheus histogram with fixed upper bounds (seconds)."""

    bounds: tuple[float, ...]
    counts: list[int] = field(default_factory=list)
    total: int = 0
    sum: float = 0.0

    def __post_init__(self) -> None:
        if not self.counts:
            self.counts = [0] * len(self.bounds)

    def observe(self, value: float) -> None:
        """Count one observation in every bucket whose bound it does not exceed."""
        self.total += 1
        self.sum += value
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[i] += 1


MONITOR_KINDS = frozenset({"monitor", "cancelmonitor"})
"""Action kinds that do not go through the one-at-a-time queue."""


class _CheckView(Protocol):
    """The part of ``engine.core.policy_types.MonitorCheck`` the counters read."""

    @property
    def result(self) -> str: ...


class _NodeView(Protocol):
    """The parts of ``engine.core.peers.NodeState`` the link histogram reads."""

    name: str
    is_self: bool
    links: dict[str, Any]


class EngineStats:
    """Counters and histograms the status document cannot hold; fed by the daemon.

    Resource actions run strictly one at a time in submission order (spec §7.4), so an
    action starts when it is submitted to an idle worker or when its predecessor ends;
    durations measure the run itself, not the wait in the queue.
    """

    def __init__(self) -> None:
        self.takeovers = 0
        self.monitor_checks = 0
        self.monitor_failures: Counter[str] = Counter()
        self.fences: Counter[str] = Counter()
        self.action_failures: Counter[str] = Counter()
        self.action_durations: dict[str, Histogram] = {}
        self.link_intervals: dict[tuple[str, str], Histogram] = {}
        self._queue: deque[tuple[int, str]] = deque()
        self._running_since: float | None = None
        self._seen_heartbeat: dict[tuple[str, str], float] = {}

    def action_submitted(self, action_id: int, kind: str, now: float) -> None:
        """An Acquire/Release/Fence went to the worker (monitor checks run beside the
        queue and are counted by ``monitor_finished``)."""
        if kind in MONITOR_KINDS:
            return
        if not self._queue:
            self._running_since = now
        self._queue.append((action_id, kind))

    def action_finished(self, action_id: int, ok: bool, now: float) -> None:
        """The worker reported an outcome; unknown ids (never submitted) are ignored."""
        if not self._queue or self._queue[0][0] != action_id:
            logger.debug("metrics: finished action %d was not the running one", action_id)
            return
        _, kind = self._queue.popleft()
        started = self._running_since if self._running_since is not None else now
        hist = self.action_durations.setdefault(kind, Histogram(ACTION_BUCKETS))
        hist.observe(max(0.0, now - started))
        if kind == "fence":
            self.fences["ok" if ok else "failed"] += 1
        elif not ok:
            self.action_failures[kind] += 1
        self._running_since = now if self._queue else None

    def monitor_finished(self, checks: Iterable[_CheckView]) -> None:
        """A resource monitor check ended: count it, and its failure by result."""
        self.monitor_checks += 1
        for check in checks:
            if check.result != "ok":
                self.monitor_failures[check.result] += 1

    def policy_event(self, kind: str, log: str) -> None:
        """Count takeovers: one per ``Resources being acquired from X.``."""
        if kind == "takeover" and log.startswith(TAKEOVER_LOG_PREFIX):
            self.takeovers += 1

    def observe_links(self, nodes: Iterable[_NodeView]) -> None:
        """After an accepted datagram: histogram every heartbeat interval that is new."""
        for node in nodes:
            if node.is_self:
                continue
            for name, link in node.links.items():
                at = link.last_status_at
                key = (node.name, name)
                previous = self._seen_heartbeat.get(key)
                if at is None or at == previous:
                    continue
                self._seen_heartbeat[key] = at
                if previous is not None and link.intervals_ms:
                    hist = self.link_intervals.setdefault(key, Histogram(INTERVAL_BUCKETS))
                    hist.observe(link.intervals_ms[-1] / 1000.0)

    def counters(self) -> dict[str, Any]:
        """The extra ``counters`` of the status document."""
        return {
            "takeovers": self.takeovers,
            "fences": dict(self.fences),
            "resource_action_failures": dict(self.action_failures),
            "monitor_checks": self.monitor_checks,
            "monitor_failures": dict(self.monitor_failures),
        }


# --------------------------------------------------------------------------- rendering


def _escape(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: Mapping[str, object]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


class _Writer:
    """Collects metric families; each family's HELP/TYPE is written once."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._declared: set[str] = set()

    def family(self, name: str, kind: str, text: str) -> None:
        if name not in self._declared:
            self._declared.add(name)
            self.lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]

    def sample(self, name: str, value: float, labels: Mapping[str, object] | None = None) -> None:
        self.lines.append(f"{name}{_labels(labels or {})} {_number(value)}")

    def histogram(self, name: str, hist: Histogram, labels: Mapping[str, object]) -> None:
        for bound, count in zip(hist.bounds, hist.counts, strict=True):
            self.sample(f"{name}_bucket", count, {**labels, "le": _number(float(bound))})
        self.sample(f"{name}_bucket", hist.total, {**labels, "le": "+Inf"})
        self.sample(f"{name}_sum", hist.sum, labels)
        self.sample(f"{name}_count", hist.total, labels)

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def render(status: Mapping[str, Any], stats: EngineStats | None = None) -> str:
    """The Prometheus text exposition of one status document (plus ``stats``)."""
    out = _Writer()
    doc = parse_status(status)
    _render_node(out, doc)
    _render_links(out, doc)
    _render_counters(out, doc.counters, stats or EngineStats())
    _render_groups(out, doc)
    _render_loop(out, doc.loop)
    return out.text()


def _render_node(out: _Writer, doc: StatusDoc) -> None:
    out.family("haengine_info", "gauge", "Constant 1, labelled with this node and version.")
    labels = {"node": doc.node, "cluster": doc.cluster, "version": doc.version}
    out.sample("haengine_info", 1, {k: "" if v == "?" else v for k, v in labels.items()})
    out.family("haengine_node_up", "gauge", UP_HELP)
    for node in doc.nodes:
        out.sample("haengine_node_up", is_up(node), {"node": _label(node.name)})


def _render_links(out: _Writer, doc: StatusDoc) -> None:
    for node in doc.nodes:
        if node.is_self:
            continue
        for link in node.links:
            labels = {"node": _label(node.name), "link": _label(link.name)}
            out.family("haengine_link_up", "gauge", "1 when heartbeats arrive on the link.")
            out.sample("haengine_link_up", link.status == "up", labels)
            heard = link.last_heard_ms
            if heard is not None:
                out.family(
                    "haengine_link_last_heard_seconds",
                    "gauge",
                    "Seconds since the last packet from the node on the link.",
                )
                out.sample("haengine_link_last_heard_seconds", heard / 1000.0, labels)
            out.family(
                "haengine_link_late_heartbeats_total",
                "counter",
                "Heartbeats that arrived later than warntime on the link.",
            )
            out.sample("haengine_link_late_heartbeats_total", _int(link.late), labels)
    for medium in doc.links:
        labels = {"link": _label(medium.name)}
        for value, name, text in (
            (medium.sent, "haengine_link_packets_sent_total", "Datagrams sent on the link."),
            (medium.received, "haengine_link_packets_received_total", "Datagrams received."),
            (medium.send_errors, "haengine_link_send_errors_total", "Failed sends on the link."),
        ):
            out.family(name, "counter", text)
            out.sample(name, _int(value), labels)


def _render_counters(out: _Writer, counters: Mapping[str, Any], stats: EngineStats) -> None:
    simple = (
        ("late_heartbeats", "haengine_late_heartbeats_total", "Late heartbeats (all links)."),
        ("deaths", "haengine_node_deaths_total", "Nodes declared dead."),
    )
    for key, name, text in simple:
        out.family(name, "counter", text)
        out.sample(name, _int(counters.get(key)))
    out.family("haengine_takeovers_total", "counter", "Takeovers of a peer's resource groups.")
    out.sample("haengine_takeovers_total", stats.takeovers)
    out.family("haengine_fences_total", "counter", "STONITH resets attempted, by result.")
    for result in ("ok", "failed"):
        out.sample("haengine_fences_total", stats.fences[result], {"result": result})
    out.family(
        "haengine_resource_action_failures_total",
        "counter",
        "Resource group acquire/release runs that failed.",
    )
    for action in ("acquire", "release"):
        value = stats.action_failures[action]
        out.sample("haengine_resource_action_failures_total", value, {"action": action})
    out.family("haengine_monitor_checks_total", "counter", "Resource monitor checks run.")
    out.sample("haengine_monitor_checks_total", stats.monitor_checks)
    out.family(
        "haengine_monitor_failures_total",
        "counter",
        "Resources that failed their monitor check, by result.",
    )
    for result in ("not running", "failed", "timeout"):
        value = stats.monitor_failures[result]
        out.sample("haengine_monitor_failures_total", value, {"result": result})
    name = "haengine_resource_action_duration_seconds"
    out.family(name, "histogram", "Run time of resource group actions and fences.")
    for action, hist in sorted(stats.action_durations.items()):
        out.histogram(name, hist, {"action": action})
    name = "haengine_link_heartbeat_interval_seconds"
    out.family(name, "histogram", "Time between consecutive heartbeats on a link.")
    for (node, link), hist in sorted(stats.link_intervals.items()):
        out.histogram(name, hist, {"node": node, "link": link})
    out.family("haengine_packets_rejected_total", "counter", "Datagrams dropped, by reason.")
    rejected = counters.get("rejected", {})
    for reason in sorted(rejected) if isinstance(rejected, dict) else []:
        out.sample("haengine_packets_rejected_total", _int(rejected[reason]), {"reason": reason})


def _render_groups(out: _Writer, doc: StatusDoc) -> None:
    out.family(
        "haengine_group_held",
        "gauge",
        "1 when this node holds the resource group (state running), else 0.",
    )
    for group in doc.groups:
        held = group.held_by == doc.node and group.state == "running"
        out.sample("haengine_group_held", held, _group_labels(group))
    out.family(
        "haengine_group_monitor_failures",
        "gauge",
        "Monitor failures of the group on this node within the monitor window.",
    )
    for group in doc.groups:
        failures = 0 if group.monitor is None else _int(group.monitor.failures)
        out.sample("haengine_group_monitor_failures", failures, _group_labels(group))


def _group_labels(group: Group) -> dict[str, str]:
    return {"group": _label(group.key), "home": _label(group.home)}


def _label(value: str) -> str:
    """A label value; "" for a name the document did not give (the reader's "?")."""
    return "" if value == "?" else value


def _render_loop(out: _Writer, loop: Any) -> None:
    """The loop-lag monitor (engine/shell/looplag.py): lateness of timer wake-ups."""
    if not isinstance(loop, dict):
        return
    name = "haengine_loop_lag_seconds"
    out.family(name, "histogram", "How late the engine's loop ran its timers (due vs ran).")
    total = 0
    for bound, count in loop.get("histogram_ms", []):
        label = "+Inf" if bound == "+Inf" else _number(float(bound) / 1000.0)
        out.sample(f"{name}_bucket", _int(count), {"le": label})
        total = _int(count)
    lag_sum = loop.get("sum_ms")
    out.sample(f"{name}_sum", float(lag_sum) / 1000.0 if isinstance(lag_sum, int | float) else 0.0)
    out.sample(f"{name}_count", total)
    gauges = (
        ("lag_ms", "haengine_loop_lag_recent_seconds", "Largest loop lag of the last 10-20 s."),
        ("max_lag_ms", "haengine_loop_lag_max_seconds", "Largest loop lag since start."),
    )
    for key, metric, text in gauges:
        value = loop.get(key)
        out.family(metric, "gauge", text)
        out.sample(metric, float(value) / 1000.0 if isinstance(value, int | float) else 0.0)
    out.family(
        "haengine_loop_lag_warnings_total",
        "counter",
        "Loop lags (or blocking callbacks) longer than warntime/4.",
    )
    out.sample("haengine_loop_lag_warnings_total", _int(loop.get("warnings")))


# --------------------------------------------------------------------------- serving


class MetricsServer:
    """``GET /metrics`` over HTTP/1.0-style one-shot connections (stdlib asyncio)."""

    def __init__(self, host: str, port: int, scrape: Callable[[], str]) -> None:
        self.host = host
        self.port = port
        self._scrape = scrape
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen; raises OSError (address in use, permission) for the caller to report."""
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        sockets = self._server.sockets
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        logger.info("metrics: serving http://%s:%d/metrics", self.host, self.port)

    async def close(self) -> None:
        """Stop listening and wait for the listener to go."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
            status, body = self._answer(head)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            status, body = "400 Bad Request", "bad request: send an HTTP GET\n"
        except Exception:
            logger.exception("metrics: scrape failed")
            status, body = "500 Internal Server Error", "internal error; see the log\n"
        data = body.encode("utf-8")
        header = (
            f"HTTP/1.1 {status}\r\nContent-Type: {CONTENT_TYPE}\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        )
        with contextlib.suppress(OSError):
            writer.write(header.encode("ascii") + data)
            await writer.drain()
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    def _answer(self, head: bytes) -> tuple[str, str]:
        if len(head) > MAX_REQUEST_BYTES:
            return "431 Request Header Fields Too Large", "request header too large\n"
        words = head.split(b"\r\n", 1)[0].decode("latin-1").split()
        if len(words) != 3 or not words[2].startswith("HTTP/"):
            return "400 Bad Request", "bad request line\n"
        method, target = words[0], words[1].split("?", 1)[0]
        if method != "GET":
            return "405 Method Not Allowed", "only GET is supported\n"
        if target == "/metrics":
            return "200 OK", self._scrape()
        if target == "/":
            return "200 OK", "haengine metrics: GET /metrics\n"
        return "404 Not Found", f"no such page {target!r}; try /metrics\n"
