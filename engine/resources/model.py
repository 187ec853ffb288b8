"""Values that describe resources, agent calls and group operations (plain data only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from engine.process.runner import ProgramResult


class ResourceState(StrEnum):
    """Where one resource is in its life cycle, as the console shows it."""

    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ResourceStatus:
    """One resource's state and the reason it is in it (human text, may be empty)."""

    name: str
    """The resource token as written in haresources."""
    state: ResourceState
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ActionResult:
    """The outcome of one agent action (``start``, ``stop`` or ``status``).

    For ``status``, ``state`` is RUNNING, STOPPED or FAILED (the agent could not tell,
    e.g. an OCF monitor error); for start/stop it is the state the action leaves.
    """

    action: str
    ok: bool
    state: ResourceState
    detail: str = ""
    """Short text for reasons: ``exit 1: <last stderr line>``, ``timed out after 60.0 s``."""
    program: ProgramResult | None = None


@dataclass(frozen=True, slots=True)
class GroupOutcome:
    """What an acquire or release of a whole group did."""

    ok: bool
    reason: str
    states: list[ResourceStatus] = field(default_factory=list)
    """The last known state of every member, in haresources order."""
    duration_ms: float = 0.0
    needs_fencing: bool = False
    """A stop failed and the resource is still (or may be) running: the peer must not
    start this group before this node has been fenced."""
