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


Action = Acquire | Release | Fence


@dataclass(frozen=True, slots=True)
class PolicyEvent:
    """One timeline entry: a decision with its reason, plus the log line for it.

    ``kind`` is one of takeover, release, acquire, standby, failback, refused, failed,
    fence, shutdown, audit. ``level`` is Heartbeat's priority word (info, WARN, ERROR,
    CRIT, debug); ``log`` is the log text (Heartbeat's wording where Heartbeat logs it).
    """

    kind: str
    node: str
    group: str
    reason: str
    level: str = "info"
    log: str = ""
