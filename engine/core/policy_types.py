"""Values the resource policy (``engine.core.policy``) hands to the shell.

Rules of this module: plain frozen data only, no behaviour beyond formatting helpers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag


class Hold(IntFlag):
    """A resource set as Heartbeat encodes it (spec §7.5): none, local, foreign, all."""

    NONE = 0
    LOCAL = 1
    FOREIGN = 2
    ALL = 3


HOLD_NAMES: dict[int, str] = {0: "none", 1: "local", 2: "foreign", 3: "all"}
"""Wire text of every resource set (``rsc_hold`` field values)."""


def hold_name(value: int) -> str:
    """The wire word for a resource set (``none``/``local``/``foreign``/``all``)."""
    return HOLD_NAMES[int(value) & 3]


def parse_hold(text: str | None) -> Hold | None:
    """Parse an ``rsc_hold`` value; None when it is missing or not one of the four words."""
    for number, name in HOLD_NAMES.items():
        if text == name:
            return Hold(number)
    return None


def swap_view(value: int) -> Hold:
    """The same set seen from the other node: local and foreign trade places."""
    swapped = (Hold.FOREIGN if value & Hold.LOCAL else Hold.NONE) | (
        Hold.LOCAL if value & Hold.FOREIGN else Hold.NONE
    )
    return Hold(swapped)


class ResourceState(IntEnum):
    """Heartbeat's ``resourcestate`` for nice_failback (spec §7.5); numbers as logged."""

    INIT = 0
    STARTING = 1
    BOTHSTARTING = 2
    RSCRCVD = 3
    STABLE = 4
    SHUTDOWN = 5


class StandbyState(IntEnum):
    """Heartbeat's ``going_standby`` (spec §7.8); numbers as logged."""

    NOT = 0
    ME = 1
    OTHER = 2
    DONE = 3


@dataclass(frozen=True, slots=True)
class Acquire:
    """Start one resource group (left to right); answer with ``on_action_done``."""

    id: int
    group_key: str
    reason: str


@dataclass(frozen=True, slots=True)
class Release:
    """Stop one resource group (right to left); answer with ``on_action_done``."""

    id: int
    group_key: str
    reason: str


@dataclass(frozen=True, slots=True)
class Fence:
    """Reset (STONITH) a node before its resources are taken; answer with ``on_fence_done``."""

    id: int
    node: str
    reason: str


@dataclass(frozen=True, slots=True)
class Monitor:
    """Check every member of one running group, left to right, each within ``timeout``
    seconds (hatui's resource monitor); answer with ``on_monitor_done``.

    Runs beside the Acquire/Release queue, never in it: no transition waits for a check.
    """

    id: int
    group_key: str
    timeout: float
    reason: str


@dataclass(frozen=True, slots=True)
class CancelMonitor:
    """Stop the check ``id`` now (its program is killed): a transition begins."""

    id: int
    reason: str


Action = Acquire | Release | Fence | Monitor | CancelMonitor


MONITOR_RESULTS = ("ok", "not running", "failed", "timeout")
"""``MonitorCheck.result`` values."""


@dataclass(frozen=True, slots=True)
class MonitorCheck:
    """What the monitor of one resource said.

    ``result`` is ``ok``, ``not running`` (the status says stopped), ``failed`` (the
    check could not tell, e.g. OCF monitor exit 1) or ``timeout`` (killed after the
    monitor timeout); ``detail`` is the short text for reasons.
    """

    resource: str
    result: str
    detail: str = ""
    duration_ms: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the resource runs."""
        return self.result == "ok"

    def describe(self) -> str:
        """``hbweb timeout (timed out after 5.0 s)`` for reasons and log lines."""
        detail = f" ({self.detail})" if self.detail and self.detail != self.result else ""
        return f"{self.resource} {self.result}{detail}"


@dataclass(frozen=True, slots=True)
class PolicyEvent:
    """One timeline entry: a decision with its reason, plus the log line for it.

    ``kind`` is one of takeover, release, acquire, standby, failback, refused, failed,
    fence, shutdown, audit, monitor (a resource failed its check), recovery (what the
    policy does about it). ``level`` is Heartbeat's priority word (info, WARN, ERROR,
    CRIT, debug); ``log`` is the log text (Heartbeat's wording where Heartbeat logs it).
    """

    kind: str
    node: str
    group: str
    reason: str
    level: str = "info"
    log: str = ""
