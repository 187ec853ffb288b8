"""Typed events the sans-I/O core hands to the shell.

Each event knows the Heartbeat log line it stands for (``level`` and ``text``), so the
shell logs it with the wording an operator who knows Heartbeat recognises (spec §10.2),
and each carries a human-readable ``reason`` for the console and ``status --json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.protocol.message import Message


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every core event."""

    @property
    def level(self) -> str:
        """Heartbeat priority word: CRIT, ERROR, WARN, info, debug."""
        return "info"

    @property
    def text(self) -> str:
        """The log line text (without the prefix the logger adds)."""
        return ""


@dataclass(frozen=True, slots=True)
class LogEvent(Event):
    """A plain log line the core wants written (lost packets, rexmit, reqnodes...)."""

    priority: str
    message: str

    @property
    def level(self) -> str:
        return self.priority

    @property
    def text(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class LocalStatusChanged(Event):
    """Our own status moved (init → up → active)."""

    status: str

    @property
    def text(self) -> str:
        return f"Local status now set to: '{self.status}'"


@dataclass(frozen=True, slots=True)
class CommUp(Event):
    """Every configured node has been heard from or declared dead (spec §6.8)."""

    @property
    def text(self) -> str:
        return "Comm_now_up(): updating status to active"


@dataclass(frozen=True, slots=True)
class NodeStatusChanged(Event):
    """A peer reported a new status (``Status update for node X: status S``)."""

    node: str
    old: str
    new: str

    @property
    def text(self) -> str:
        return f"Status update for node {self.node}: status {self.new}"


@dataclass(frozen=True, slots=True)
class LinkStatusChanged(Event):
    """One (node, medium) link went up or dead."""

    node: str
    link: str
    status: str
    reason: str = ""

    @property
    def text(self) -> str:
        return f"Link {self.node}:{self.link} {self.status}."


@dataclass(frozen=True, slots=True)
class NodeDead(Event):
    """A peer was declared dead; ``reason`` says after how long and on which links."""

    node: str
    reason: str
    silent_ms: int
    links: tuple[str, ...] = ()

    @property
    def level(self) -> str:
        return "WARN"

    @property
    def text(self) -> str:
        return f"node {self.node}: is dead"


@dataclass(frozen=True, slots=True)
class LateHeartbeat(Event):
    """A heartbeat arrived later than warntime (or deadtime: critical)."""

    node: str
    interval_ms: int
    critical: bool

    @property
    def level(self) -> str:
        return "CRIT" if self.critical else "WARN"

    @property
    def text(self) -> str:
        suffix = " (> deadtime)" if self.critical else ""
        return f"Late heartbeat: Node {self.node}: interval {self.interval_ms} ms{suffix}"


@dataclass(frozen=True, slots=True)
class NodeRestarted(Event):
    """A peer came back with a higher generation (``Heartbeat restart on node X``)."""

    node: str
    old_generation: int
    new_generation: int

    @property
    def text(self) -> str:
        return f"Heartbeat restart on node {self.node}"


@dataclass(frozen=True, slots=True)
class NodeConfirmed(Event):
    """A peer proved its packets fresh: one of them named a sequence number of ours from
    this run (after our start, or after we declared it dead). Only now does it count."""

    node: str
    how: str
    seq: int
    reason: str

    @property
    def text(self) -> str:
        return f"node {self.node}: heartbeats proven fresh ({self.reason})"


@dataclass(frozen=True, slots=True)
class PartitionHealed(Event):
    """A peer we had declared dead speaks again with the same generation."""

    node: str

    @property
    def level(self) -> str:
        return "CRIT"

    @property
    def text(self) -> str:
        return f"Cluster node {self.node} returning after partition."


@dataclass(frozen=True, slots=True)
class PacketRejected(Event):
    """A datagram or message was dropped; counted under ``reason``."""

    reason: str
    detail: str
    link: str = ""
    node: str = ""

    @property
    def level(self) -> str:
        return "WARN"

    @property
    def text(self) -> str:
        where = f" on {self.link}" if self.link else ""
        return f"dropped packet{where}: {self.reason}: {self.detail}"


@dataclass(frozen=True, slots=True)
class MessageReceived(Event):
    """An accepted, in-order cluster message for the layers above (resources...)."""

    message: Message = field(compare=False)
    from_self: bool = False

    @property
    def level(self) -> str:
        return "debug"

    @property
    def text(self) -> str:
        return f"received {self.message.type} from {self.message.get('src')}"


@dataclass(frozen=True, slots=True)
class LocalStall(Event):
    """Our own loop did not run for longer than deadtime (we were frozen)."""

    stalled_ms: int

    @property
    def level(self) -> str:
        return "ERROR"

    @property
    def text(self) -> str:
        return (
            f"No local heartbeat: main loop stalled for {self.stalled_ms} ms "
            "(longer than deadtime); peers may have declared us dead"
        )


@dataclass(frozen=True, slots=True)
class PeerHearsUs(Event):
    """What a peer's status says about us changed: it lists us in ``hears`` (True), it
    does not (False), or we know nothing (None: it sends no ``hears``, as real
    Heartbeat, or it was declared dead). The one-way loss guard of the policy uses it."""

    node: str
    hears: bool | None

    @property
    def level(self) -> str:
        return "debug"

    @property
    def text(self) -> str:
        said = {True: "lists us", False: "does not list us", None: "says nothing"}
        return f"node {self.node}: its status {said[self.hears]} among the nodes it hears"
