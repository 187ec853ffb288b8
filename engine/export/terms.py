"""The Pacemaker terms an export is made of: primitives, groups, constraints, the model.

Shared by ``model`` (haresources → groups) and ``stonith`` (fencing lines → devices);
neither imports the other's internals, so this is where their common words live.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from engine.errors import HeartbeatError

HOME_SCORE = 100
"""Location preference of a group for its haresources node."""
STICKY_SCORE = 1000
"""``auto_failback off``: stickiness well above HOME_SCORE, yet below INFINITY so an
explicit ``crm resource move`` / ``pcs resource move`` (an INFINITY preference) still wins."""

_ID_BAD = re.compile(r"[^A-Za-z0-9_.-]+")

MONITOR: dict[str, tuple[str, str]] = {
    "IPaddr": ("10s", "20s"),
    "IPaddr2": ("10s", "20s"),
    "IPv6addr": ("10s", "20s"),
    "Filesystem": ("20s", "40s"),
}
"""(interval, timeout) of ``op monitor`` by agent type; others get DEFAULT_MONITOR."""
DEFAULT_MONITOR = ("30s", "30s")
STONITH_MONITOR = ("60s", "60s")


@dataclass(frozen=True, slots=True)
class Primitive:
    """One Pacemaker primitive: ``class[:provider]:type`` with its parameters."""

    id: str
    cls: str
    type: str
    provider: str = ""
    params: tuple[tuple[str, str], ...] = ()
    monitor: tuple[str, str] = DEFAULT_MONITOR
    source: str = ""
    """The haresources token or ha.cf line it came from (for comments)."""
    wraps: tuple[str, ...] = ()
    """For ``lsb:`` wrappers of Heartbeat scripts: the script path and its arguments,
    which ``/etc/init.d/<type>`` runs (engine/export/wrappers.py writes it)."""

    @property
    def agent(self) -> str:
        """``ocf:heartbeat:IPaddr2``, ``lsb:apache2``, ``stonith:external/ipmi``."""
        return ":".join(p for p in (self.cls, self.provider, self.type) if p)


@dataclass(frozen=True, slots=True)
class Group:
    """One haresources line: an ordered, colocated group and its home node."""

    id: str
    members: tuple[Primitive, ...]
    home: str
    source: str


@dataclass(frozen=True, slots=True)
class Avoid:
    """A fencing device must not run on the node it fences."""

    rsc: str
    node: str


@dataclass
class PacemakerModel:
    """Everything the CIB, pcs and crm writers need."""

    cluster: str
    nodes: tuple[str, ...]
    groups: list[Group] = field(default_factory=list)
    fencing: list[Primitive] = field(default_factory=list)
    avoid: list[Avoid] = field(default_factory=list)
    stickiness: int = 0
    home_score: int = HOME_SCORE
    properties: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def wrapped(self) -> list[Primitive]:
        """The primitives that need an init-script wrapper on every node."""
        return [p for group in self.groups for p in group.members if p.wraps]


class ExportError(HeartbeatError):
    """A haresources token or STONITH line that cannot be turned into Pacemaker terms."""


class Ids:
    """XML ids that are valid NCNames and unique across the whole configuration."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def make(self, wanted: str) -> str:
        base = _ID_BAD.sub("-", wanted).strip("-.") or "rsc"
        if not (base[0].isalpha() or base[0] == "_"):
            base = f"r-{base}"
        candidate, n = base, 2
        while candidate in self._used:
            candidate, n = f"{base}-{n}", n + 1
        self._used.add(candidate)
        return candidate
