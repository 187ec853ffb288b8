"""The ``status --json`` document, typed (docs/architecture.md "status --json").

hactl, the console and the metrics endpoint read the document through this module: one
tolerant parser (``parse_status``: a missing or mistyped field reads as its default, never
an exception) and the questions they all ask (``is_up``, ``state_word``, ``node_counts``,
``held_resources``), answered once. The document is a contract (extend it, never break
it): a field nobody here declares is kept, and ``to_json`` writes back exactly what was
read, so a reader of an older version passes a newer document on unharmed.

Which nodes count as up (one answer for every reader): a cluster node whose status is
``up`` or ``active`` and whose packets are not unconfirmed (``confirmed`` false: they
may be replays); a ping node whose status is ``ping``. ``init`` is not up: the node is
still starting (``cl_status nodestatus`` exits 1 for it, as Heartbeat's does).

The console also reads the document its Pacemaker back end writes in the same shape
(``hatui/backends/pacemaker/document.py``, ``backend: pacemaker``): there a node in
``standby`` or ``maintenance`` is up (it is in the cluster, running nothing) and one
``pending`` is not (still joining, like ``init``); a clone's ``held_by`` lists every
node running it (``Group.holders``); knet links carry round-trip latencies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.control.jsonparts import (
    Part,
    anything,
    flag,
    mapping,
    number,
    optional,
    parse_part,
    part,
    part_field,
    part_map,
    parts,
    text,
    texts,
)

UP_STATES = frozenset({"up", "active", "standby", "maintenance"})
"""Statuses of a cluster node that is up (when its packets are confirmed fresh); the
engine says ``up``/``active``, the Pacemaker document also ``standby``/``maintenance``."""
PING_UP = "ping"
"""The status of a ping node that answers."""
UNCONFIRMED = "up (unconfirmed)"
"""What people see for a node that says up before its packets proved fresh."""

_num = optional(number)
_str = optional(text)


@dataclass(frozen=True)
class NodeLink(Part):
    """``nodes[].links[]``: one medium as heard from one node."""

    name: str = part_field(text, "?")
    status: str = part_field(text, "?")
    last_heard_ms: int | float | None = part_field(_num)
    intervals_ms: Any = part_field(anything, factory=list)
    max_gap_ms: int | float | None = part_field(_num)
    jitter_ms: int | float | None = part_field(_num)
    late: int | float = part_field(number, 0)
    latency_ms: int | float | None = part_field(_num)
    """Pacemaker document (knet): the round trip now; links with it have no ages."""
    latency_min_ms: int | float | None = part_field(_num)
    latency_max_ms: int | float | None = part_field(_num)
    latency_history_ms: Any = part_field(anything, factory=list)
    down_count: int | float | None = part_field(_num)
    address: str | None = part_field(_str)


@dataclass(frozen=True)
class Node(Part):
    """``nodes[]``: a cluster node (ourselves too) or a ping node."""

    name: str = part_field(text, "?")
    type: str = part_field(text, "normal")
    is_self: bool = part_field(flag, False, key="self")
    status: str = part_field(text, "?")
    confirmed: bool | None = part_field(optional(flag))
    claims: str | None = part_field(_str)
    freshness: str | None = part_field(_str)
    generation: int | float | None = part_field(_num)
    deadtime_ms: int | float | None = part_field(_num)
    last_heard_ms: int | float | None = part_field(_num)
    uuid: str | None = part_field(_str)
    one_way: str | None = part_field(_str)
    weight: int | float = part_field(number, 100)
    site: str = part_field(text, "")
    links: tuple[NodeLink, ...] = part_field(parts(NodeLink), ())


@dataclass(frozen=True)
class ResourceMonitor(Part):
    """``groups[].resources[].monitor``: the last check of one resource."""

    result: str | None = part_field(_str)
    time: int | float | None = part_field(_num)
    duration_ms: int | float | None = part_field(_num)
    reason: str = part_field(text, "")
    failures: int | float = part_field(number, 0)


@dataclass(frozen=True)
class Resource(Part):
    """``groups[].resources[]``: one member of a group, in start order."""

    name: str = part_field(text, "?")
    state: str = part_field(text, "?")
    reason: str = part_field(text, "")
    monitor: ResourceMonitor | None = part_field(optional(part(ResourceMonitor)))


@dataclass(frozen=True)
class GroupMonitor(Part):
    """``groups[].monitor``: monitoring and recovery of one group."""

    enabled: bool = part_field(flag, False)
    checks: int | float = part_field(number, 0)
    failures: int | float = part_field(number, 0)
    restarts: int | float = part_field(number, 0)
    recovery: str = part_field(text, "none")
    reason: str = part_field(text, "")
    checking: bool = part_field(flag, False)
    next_check_in_s: int | float | None = part_field(_num)
    retry_in_s: int | float | None = part_field(_num)


@dataclass(frozen=True)
class Group(Part):
    """``groups[]``: one haresources line and who holds it."""

    key: str = part_field(text, "?")
    home: str = part_field(text, "?")
    held_by: str | None = part_field(_str)
    """The node holding it; a list of nodes in the Pacemaker document (a clone): see
    ``holders``."""
    clone: bool = part_field(flag, False)
    """Pacemaker document: runs on several nodes at once, by design."""
    cluster_wide: bool = part_field(flag, False)
    """Pacemaker document: the members' states are where they run, not this node's."""
    notes: tuple[str, ...] = part_field(texts, ())
    """What a back end says beyond the state (constraints an operator left)."""
    state: str = part_field(text, "?")
    reason: str = part_field(text, "")
    resources: tuple[Resource, ...] = part_field(parts(Resource), ())
    monitor: GroupMonitor | None = part_field(optional(part(GroupMonitor)))

    def holders(self) -> list[str]:
        """Who holds the group: the engine says one node (``held_by``) or none; a
        document that lists several (views of two nodes merged) gives them all."""
        if self.held_by:
            return [self.held_by]
        listed = self.extra.get("held_by")
        return [str(h) for h in listed if h] if isinstance(listed, list) else []


@dataclass(frozen=True)
class OneWayGuard(Part):
    """``resources.one_way``: the one-way loss guard (docs/operations.md)."""

    state: str = part_field(text, "watching")
    peer: str | None = part_field(_str)
    peer_hears_us: bool | None = part_field(optional(flag))
    groups: tuple[str, ...] = part_field(texts, ())
    reason: str = part_field(text, "")
    releases: int | float = part_field(number, 0)


@dataclass(frozen=True)
class Resources(Part):
    """``resources``: the policy's summary (what this node holds, why it is unstable)."""

    mode: str = part_field(text, "?")
    i_hold: str | None = part_field(_str)
    stable: bool = part_field(flag, True)
    unstable_because: str = part_field(text, "")
    stop_failed: dict[str, Any] = part_field(mapping, factory=dict)
    shutdown_blocked: str = part_field(text, "")
    ipfail: Any = part_field(anything)
    monitor: Any = part_field(anything)
    one_way: OneWayGuard | None = part_field(optional(part(OneWayGuard)))


@dataclass(frozen=True)
class FenceRecord(Part):
    """``stonith.pending[NODE]`` (a reset under way) or ``stonith.last[NODE]`` (its end)."""

    ok: bool = part_field(flag, False)
    time: int | float | None = part_field(_num)
    since: int | float | None = part_field(_num)
    device: str | None = part_field(_str)
    code: Any = part_field(anything)
    reason: str = part_field(text, "")
    requested_by: str = part_field(text, "")


@dataclass(frozen=True)
class StonithDevice(Part):
    """``stonith.device``: the plugin type, its device id and parameter names."""

    type: str = part_field(text, "")
    id: str = part_field(text, "")
    params: tuple[str, ...] = part_field(texts, ())

    def label(self) -> str:
        """``type`` or ``type id`` (``external/ssh``)."""
        return self.type if not self.id or self.id == self.type else f"{self.type} {self.id}"


@dataclass(frozen=True)
class Stonith(Part):
    """``stonith``: the fencing device and what it is doing."""

    configured: bool = part_field(flag, False)
    device: StonithDevice | None = part_field(optional(part(StonithDevice)))
    devices: tuple[str, ...] = part_field(texts, ())
    """Pacemaker document: every fence device (the engine has one, ``device``)."""
    error: str = part_field(text, "")
    pending: dict[str, FenceRecord] = part_field(part_map(FenceRecord), factory=dict)
    last: dict[str, FenceRecord] = part_field(part_map(FenceRecord), factory=dict)
    meatware_waiting: tuple[str, ...] = part_field(texts, ())
    check: Any = part_field(anything)
    check_interval_s: int | float | None = part_field(_num)


@dataclass(frozen=True)
class Child(Part):
    """``children[]``: a respawn/failfast child (ha.cf ``respawn``)."""

    command: str = part_field(text, "?")
    user: str = part_field(text, "")
    failfast: bool = part_field(flag, False)
    state: str = part_field(text, "?")
    pid: int | float | None = part_field(_num)
    starts: int | float | None = part_field(_num)
    last_exit: str | None = part_field(_str)


@dataclass(frozen=True)
class Timing(Part):
    """``timing``: the heartbeat intervals in force."""

    keepalive_ms: int | float | None = part_field(_num)
    warntime_ms: int | float | None = part_field(_num)
    deadtime_ms: int | float | None = part_field(_num)
    initdead_ms: int | float | None = part_field(_num)


@dataclass(frozen=True)
class Medium(Part):
    """``links[]``: one of our media and its counters."""

    name: str = part_field(text, "?")
    kind: str = part_field(text, "?")
    cut: bool = part_field(flag, False)
    sent: int | float = part_field(number, 0)
    send_errors: int | float = part_field(number, 0)
    received: int | float = part_field(number, 0)
    bytes_sent: int | float = part_field(number, 0)
    bytes_received: int | float = part_field(number, 0)


@dataclass(frozen=True)
class Change(Part):
    """``last_change``: the latest timeline entry in short."""

    time: int | float | None = part_field(_num)
    what: str = part_field(text, "")
    reason: str = part_field(text, "")


@dataclass(frozen=True)
class Notice(Part):
    """``notices[]`` (Pacemaker document): a banner of the back end's own."""

    severity: str = part_field(text, "warning")
    text: str = part_field(text, "")


@dataclass(frozen=True)
class StatusDoc(Part):
    """The whole document."""

    node: str = part_field(text, "?")
    status: str = part_field(text, "?")
    generation: int | float | None = part_field(_num)
    uuid: str | None = part_field(_str)
    comm_up: bool = part_field(flag, False)
    cluster: str = part_field(text, "?")
    version: str = part_field(text, "?")
    pid: int | float | None = part_field(_num)
    timing: Timing | None = part_field(optional(part(Timing)))
    auto_failback: str = part_field(text, "?")
    stonith: Stonith | None = part_field(optional(part(Stonith)))
    nodes: tuple[Node, ...] = part_field(parts(Node), ())
    groups: tuple[Group, ...] = part_field(parts(Group), ())
    resources: Resources | None = part_field(optional(part(Resources)))
    links: tuple[Medium, ...] = part_field(parts(Medium), ())
    children: tuple[Child, ...] = part_field(parts(Child), ())
    loop: Any = part_field(anything)
    counters: dict[str, Any] = part_field(mapping, factory=dict)
    last_change: Change | None = part_field(optional(part(Change)))
    backend: str = part_field(text, "heartbeat")
    """``pacemaker`` for the console's Pacemaker document (the engine writes none)."""
    notices: tuple[Notice, ...] = part_field(parts(Notice), ())
    pacemaker: dict[str, Any] | None = part_field(optional(mapping))
    quorum: dict[str, Any] | None = part_field(optional(mapping))


def parse_status(raw: Any) -> StatusDoc:
    """Read a status document; never raises (anything but an object reads as empty)."""
    return parse_part(StatusDoc, raw)


# --- the questions every reader asks ----------------------------------------------------


def is_up(node: Node) -> bool:
    """Up: a cluster node ``up``/``active`` and confirmed fresh, or a ping node answering."""
    if node.type == "ping":
        return node.status == PING_UP
    return node.status in UP_STATES and node.confirmed is not False


def state_word(node: Node) -> str:
    """The node's status for people: ``up (unconfirmed)`` while its packets have not
    shown that it hears us since our restart (they may be replays)."""
    if node.confirmed is False and node.status == "up":
        return UNCONFIRMED
    return node.status


def cluster_nodes(doc: StatusDoc) -> list[Node]:
    """The cluster's members (ping nodes are not)."""
    return [node for node in doc.nodes if node.type == "normal"]


def node_counts(doc: StatusDoc) -> tuple[int, int]:
    """(members up, members)."""
    members = cluster_nodes(doc)
    return sum(1 for node in members if is_up(node)), len(members)


def find_node(doc: StatusDoc, name: str) -> Node | None:
    """The node called ``name``, or None."""
    return next((node for node in doc.nodes if node.name == name), None)


def find_link(node: Node, name: str) -> NodeLink | None:
    """The node's link called ``name``, or None."""
    return next((link for link in node.links if link.name == name), None)


def held_resources(doc: StatusDoc) -> str:
    """What ``cl_status rscstatus`` says: none/local/foreign/all/transition.

    Legacy mode does not track ownership, so it always says ``none`` (spec §13 #21).
    """
    resources = doc.resources
    if resources is None:
        return "none"
    if resources.mode == "legacy":
        return "none"
    if not resources.stable:
        return "transition"
    return resources.i_hold or "none"
