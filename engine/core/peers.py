"""Per-node and per-link liveness values kept by the membership core (spec §6.1)."""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from engine.core.freshness import Freshness
from engine.core.sequence import SenderTrack

INTERVAL_HISTORY = 32
"""How many recent heartbeat intervals each link remembers (console sparkline)."""


@dataclass(slots=True)
class LinkState:
    """One (node, medium) pair: up/dead and its heartbeat timing."""

    name: str
    status: str = "dead"
    last_heard: float | None = None
    """Monotonic time of the last authenticated packet of any kind on this link."""
    last_status_at: float | None = None
    """Monotonic time of the last status heartbeat on this link (for intervals)."""
    intervals_ms: deque[int] = field(default_factory=lambda: deque(maxlen=INTERVAL_HISTORY))
    max_gap_ms: int = 0
    late: int = 0

    def heard(self, now: float) -> bool:
        """Refresh on any packet; returns True when the link just came up."""
        self.last_heard = now
        if self.status != "up":
            self.status = "up"
            return True
        return False

    def heartbeat(self, now: float, warn_ms: int) -> None:
        """Record the interval since the previous status heartbeat on this link."""
        if self.last_status_at is not None:
            interval = round((now - self.last_status_at) * 1000)
            self.intervals_ms.append(interval)
            self.max_gap_ms = max(self.max_gap_ms, interval)
            if interval > warn_ms:
                self.late += 1
        self.last_status_at = now

    def snapshot(self, now: float) -> dict[str, Any]:
        """The link part of ``status --json``."""
        intervals = list(self.intervals_ms)
        jitter = statistics.pstdev(intervals) if len(intervals) > 1 else 0.0
        heard = None if self.last_heard is None else round((now - self.last_heard) * 1000)
        return {
            "name": self.name,
            "status": self.status,
            "last_heard_ms": heard,
            "intervals_ms": intervals,
            "max_gap_ms": self.max_gap_ms,
            "jitter_ms": round(jitter, 1),
            "late": self.late,
        }


@dataclass(slots=True)
class NodeState:
    """Everything the membership core knows about one node (ourselves included)."""

    name: str
    is_self: bool
    dead_ms: int
    """Deadtime used for this node: its advertised ``dt`` once heard (spec §6.7)."""
    local_lastupdate: float
    """Monotonic time the last status from it was accepted (start time before that)."""
    kind: str = "normal"
    status: str = "init"
    heard_status: bool = False
    rmt_ts: int = 0
    status_seqno: int = 0
    anypacketsyet: bool = False
    uuid: bytes | None = None
    track: SenderTrack = field(default_factory=SenderTrack)
    links: dict[str, LinkState] = field(default_factory=dict)
    ack_trigger: int = 0
    ackseq: int = 0
    protocol: bool = True
    fresh: Freshness = field(default_factory=Freshness)

    @property
    def shown_status(self) -> str:
        """``status`` for people and scripts: ``up`` while packets arrive that have not
        proven fresh (never ``active``: they may be replays), else the known status."""
        fresh = self.fresh
        if not fresh.confirmed and fresh.held and self.status != "dead":
            return "up"
        return self.status

    def snapshot(self, now: float) -> dict[str, Any]:
        """The node part of ``status --json``."""
        heard = round((now - self.local_lastupdate) * 1000) if self.heard_status else None
        return {
            "name": self.name,
            "type": self.kind,
            "self": self.is_self,
            "status": self.shown_status,
            "confirmed": self.fresh.confirmed,
            "claims": None if self.fresh.confirmed else self.fresh.claims,
            "freshness": self.fresh.describe(),
            "generation": self.track.generation,
            "deadtime_ms": self.dead_ms,
            "last_heard_ms": heard,
            "uuid": self.uuid.hex() if self.uuid else None,
            "links": [link.snapshot(now) for link in self.links.values()],
        }
