"""Corosync's cmap as ``corosync-cmapctl`` prints it: ``KEY (TYPE) = VALUE`` lines.

That line format is corosync's machine interface for its configuration, runtime values
and (``-m stats``) knet link statistics; knet has no XML output. Pure functions only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

ICMAP_KEYS = (
    "nodelist.",
    "totem.cluster_name",
    "totem.transport",
    "runtime.config.totem.token",
    "runtime.config.totem.consensus",
    "runtime.votequorum.this_node_id",
    "logging.",
)
"""The icmap prefixes the console reads (one ``corosync-cmapctl`` call)."""

KNET_STATS = "stats.knet."
"""The stats-map prefix of per-node, per-link knet statistics."""

NO_SAMPLE = 2**32 - 1
"""knet's ``latency_min`` before any sample (u32 maximum): no value, not a latency."""

_LINE = re.compile(r"^(\S+) \(([a-z0-9]+)\) = (.*)$")
_KNET_KEY = re.compile(r"^stats\.knet\.node(\d+)\.link(\d+)\.(\w+)$")
_RING = re.compile(r"^ring(\d+)_addr$")


def parse_cmap(text: str) -> dict[str, str]:
    """``KEY (TYPE) = VALUE`` lines → ``{KEY: VALUE}``; other lines are ignored.

    Values keep inner spaces (``runtime.members.1.ip`` holds several words); only the
    line's end is stripped.
    """
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = _LINE.match(line.rstrip())
        if match:
            values[match.group(1)] = match.group(3)
    return values


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class KnetLink:
    """One knet link to one node, as this node measures it (``stats.knet.nodeN.linkM``)."""

    nodeid: int
    link: int
    enabled: bool
    connected: bool
    latency_us: int | None
    """Average round trip of knet's pings, microseconds; None before the first sample."""
    latency_min_us: int | None
    latency_max_us: int | None
    samples: int
    down_count: int
    mtu: int | None
    rx_packets: int
    tx_errors: int

    @property
    def status(self) -> str:
        """``up`` (connected), ``dead`` (enabled, not connected) or ``disabled``."""
        if not self.enabled:
            return "disabled"
        return "up" if self.connected else "dead"


def _knet_link(nodeid: int, link: int, fields: Mapping[str, str]) -> KnetLink:
    samples = _int(fields.get("latency_samples")) or 0

    def latency(name: str) -> int | None:
        value = _int(fields.get(name))
        return None if value is None or value == NO_SAMPLE or not samples else value

    return KnetLink(
        nodeid=nodeid,
        link=link,
        enabled=fields.get("enabled") == "1",
        connected=fields.get("connected") == "1",
        latency_us=latency("latency_ave"),
        latency_min_us=latency("latency_min"),
        latency_max_us=latency("latency_max"),
        samples=samples,
        down_count=_int(fields.get("down_count")) or 0,
        mtu=_int(fields.get("mtu")),
        rx_packets=_int(fields.get("rx_total_packets")) or 0,
        tx_errors=_int(fields.get("tx_total_errors")) or 0,
    )


def knet_links(stats: Mapping[str, str]) -> list[KnetLink]:
    """Every (node, link) pair of the stats map, by node id then link number."""
    grouped: dict[tuple[int, int], dict[str, str]] = {}
    for key, value in stats.items():
        match = _KNET_KEY.match(key)
        if match:
            where = (int(match.group(1)), int(match.group(2)))
            grouped.setdefault(where, {})[match.group(3)] = value
    return [_knet_link(node, link, grouped[node, link]) for node, link in sorted(grouped)]


@dataclass(frozen=True, slots=True)
class CorosyncConfig:
    """What the console needs from the icmap: who is who, the token, the log file."""

    cluster_name: str = ""
    transport: str = ""
    local_nodeid: int | None = None
    names: dict[int, str] = field(default_factory=dict)
    """Node id → node name (the nodelist)."""
    addresses: dict[tuple[int, int], str] = field(default_factory=dict)
    """(node id, link number) → that node's address on that link."""
    token_ms: int | None = None
    """The runtime token (corosync adds token_coefficient per node beyond two)."""
    consensus_ms: int | None = None
    logfile: str = ""
    """``logging.logfile`` when corosync logs to a file, else ""."""

    @property
    def local_name(self) -> str:
        """This node's name ("" when the nodelist does not name it)."""
        return self.names.get(self.local_nodeid, "") if self.local_nodeid is not None else ""


def corosync_config(icmap: Mapping[str, str]) -> CorosyncConfig:
    """The console's view of the icmap (keys of :data:`ICMAP_KEYS`)."""
    positions: dict[str, dict[str, str]] = {}
    for key, value in icmap.items():
        if key.startswith("nodelist.node."):
            pos, _, rest = key.removeprefix("nodelist.node.").partition(".")
            positions.setdefault(pos, {})[rest] = value
    names: dict[int, str] = {}
    addresses: dict[tuple[int, int], str] = {}
    for fields in positions.values():
        nodeid = _int(fields.get("nodeid"))
        if nodeid is None:
            continue
        names[nodeid] = fields.get("name", f"node{nodeid}")
        for rest, value in fields.items():
            ring = _RING.match(rest)
            if ring:
                addresses[nodeid, int(ring.group(1))] = value
    local = _int(icmap.get("runtime.votequorum.this_node_id"))
    if local is None:
        local_pos = icmap.get("nodelist.local_node_pos")
        local = _int(positions.get(local_pos or "", {}).get("nodeid"))
    to_file = icmap.get("logging.to_logfile", "").lower() in ("yes", "on", "1")
    return CorosyncConfig(
        cluster_name=icmap.get("totem.cluster_name", ""),
        transport=icmap.get("totem.transport", ""),
        local_nodeid=local,
        names=names,
        addresses=addresses,
        token_ms=_int(icmap.get("runtime.config.totem.token")),
        consensus_ms=_int(icmap.get("runtime.config.totem.consensus")),
        logfile=icmap.get("logging.logfile", "") if to_file else "",
    )
