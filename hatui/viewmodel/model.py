"""The console's view types, glyphs and formatting: what every part of the picture is made of."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from engine.control import status as st

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


def short_resource_name(token: str) -> str:
    """The agent part of a haresources token: ``IPaddr2::10.0.0.1/24`` → ``IPaddr2``."""
    return token.split("::", 1)[0] or token
