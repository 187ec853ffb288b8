"""Who holds what: the only writer of group states and of both sides' claims.

Two views, as in Heartbeat (spec §7.5): what runs *here* (each group's state, kept as
an immutable ``Group`` value that only ``Holdings`` replaces) and what each side
*claims* (``i_hold``/``other_holds``, the resource sets of the hold reports; in legacy
mode, which groups the other side took back with ``ip-request``). Every other part of
the policy changes them only by asking ``Holdings``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

from engine.config.model import ClusterConfig, GroupSpec
from engine.core.policy import wire
from engine.core.policy.outbox import Outbox, log
from engine.core.policy.sides import Sides
from engine.core.policy_types import Hold

_HERE = ("running", "starting", "stopping")


@dataclass(frozen=True, slots=True)
class Group:
    """What we know about one haresources group on this node."""

    spec: GroupSpec
    state: str = "stopped"
    """stopped, starting, running, stopping or failed."""
    reason: str = "not started"
    failed_op: str = ""
    """``start`` or ``stop`` when state is failed."""
    pushed: bool = False
    """The one delayed standby push after a failed start has been scheduled."""


class Holdings:
    """Group states here, and the resource sets each side claims."""

    def __init__(self, sides: Sides, out: Outbox) -> None:
        self._sides = sides
        self._out = out
        self._groups = {g.key: Group(g) for g in sides.config.groups}
        self._mine = Hold.NONE
        self._theirs = Hold.NONE
        self._other_may_run = True
        self._handed = Hold.NONE
        """What we handed the other side (standby done; its view) that its reports do not
        show yet: it may be starting it."""
        self._legacy_theirs: set[str] = set()

    # ------------------------------------------------------------------ groups

    def group(self, key: str) -> Group | None:
        return self._groups.get(key)

    def groups(self) -> list[Group]:
        """Every group, in haresources order."""
        return list(self._groups.values())

    def __getitem__(self, key: str) -> Group:
        return self._groups[key]

    def items(self) -> list[tuple[str, Group]]:
        return list(self._groups.items())

    def __iter__(self) -> Iterator[str]:
        return iter(self._groups)

    def __contains__(self, key: object) -> bool:
        return key in self._groups

    def keys(self, which: int) -> list[str]:
        """Group keys of a set seen from us (ourkeys/otherkeys/allkeys), file order."""
        out = []
        for key, g in self._groups.items():
            mine = g.spec.node == self._sides.us
            if (mine and which & Hold.LOCAL) or (not mine and which & Hold.FOREIGN):
                out.append(key)
        return out

    def class_of(self, key: str) -> Hold:
        return Hold.LOCAL if self._groups[key].spec.node == self._sides.us else Hold.FOREIGN

    def not_stopped(self, keys: Iterable[str]) -> list[str]:
        return [k for k in keys if self._groups[k].state != "stopped"]

    def homed_on(self, node: str) -> list[str]:
        """Keys of the groups whose home is ``node``."""
        return [k for k, g in self._groups.items() if g.spec.node == node]

    def runs_any(self) -> bool:
        """A group is running or starting here."""
        return any(g.state in ("running", "starting") for g in self._groups.values())

    def stop_failed_here(self, keys: Iterable[str] | None = None) -> list[str]:
        """Keys (of ``keys``, default all) whose stop failed here."""
        keys = self._groups if keys is None else keys
        return [k for k in keys if self._groups[k].failed_op == "stop"]

    def starting(self, key: str, reason: str) -> None:
        self._groups[key] = replace(self._groups[key], state="starting", reason=reason)

    def stopping(self, key: str, reason: str) -> None:
        self._groups[key] = replace(self._groups[key], state="stopping", reason=reason)

    def started(self, key: str, reason: str) -> None:
        g = self._groups[key]
        self._groups[key] = replace(g, state="running", failed_op="", reason=reason)

    def stopped(self, key: str, reason: str) -> None:
        g = self._groups[key]
        self._groups[key] = replace(g, state="stopped", failed_op="", reason=reason)

    def failed(self, key: str, op: str, reason: str) -> None:
        """``op`` (start or stop) failed; the group is failed with ``reason``."""
        self._groups[key] = replace(self._groups[key], state="failed", failed_op=op, reason=reason)

    def explain(self, key: str, reason: str) -> None:
        """A new reason for the group's state (the state itself stays)."""
        self._groups[key] = replace(self._groups[key], reason=reason)

    def explain_down(self, keys: Iterable[str], reason: str) -> None:
        """Why each of ``keys`` that is stopped or failed stays down."""
        for key in keys:
            if self._groups[key].state in ("stopped", "failed"):
                self.explain(key, reason)

    def explain_waiting(self, node: str, reason: str) -> None:
        """Why the stopped groups whose home is ``node`` wait (for its fencing)."""
        for key, g in self._groups.items():
            if g.spec.node == node and g.state == "stopped":
                self.explain(key, reason)

    def mark_pushed(self, key: str) -> None:
        self._groups[key] = replace(self._groups[key], pushed=True)

    def replace(self, config: ClusterConfig) -> None:
        """Take a reloaded haresources: groups whose line is unchanged keep their state.

        The reload planner only lets through changes to groups nobody holds, so
        rebuilding the bookkeeping of the changed ones loses nothing.
        """
        fresh = {}
        for spec in config.groups:
            current = self._groups.get(spec.key)
            same = current is not None and current.spec.canonical == spec.canonical
            fresh[spec.key] = current if same and current is not None else Group(spec)
        self._groups = fresh

    # ------------------------------------------------------------------ claims

    @property
    def i_hold(self) -> Hold:
        """The set we claim (Heartbeat's ``i_hold_resources``)."""
        return self._mine

    @property
    def other_holds(self) -> Hold:
        """The set the other side claims, seen from it (``other_holds_resources``)."""
        return self._theirs

    @property
    def handed(self) -> Hold:
        """What we handed the other side (its view) that its reports do not show yet."""
        return self._handed

    def other_runs(self) -> bool:
        """The other side claims or may run groups (nice: its report; legacy: unknown)."""
        if self._sides.nice:
            return self._theirs is not Hold.NONE or self._handed is not Hold.NONE
        return self._other_may_run

    def claim(self, which: Hold) -> None:
        self._mine |= which

    def disclaim(self, which: Hold) -> None:
        self._mine &= ~which

    def claim_exactly(self, which: Hold) -> None:
        self._mine = which

    def other_report(self, hold: Hold, full: bool) -> None:
        """The other side's hold report."""
        self._theirs = hold if full or hold is Hold.NONE else Hold(hold | self._theirs)
        self._handed = Hold(self._handed & ~self._theirs)

    def handed_over(self, hold: Hold) -> None:
        """We released ``hold`` (in the other side's view) for its standby acquisition:
        until its report shows it, it may run it (``other_runs``)."""
        self._handed = Hold(self._handed | hold)

    def other_holds_nothing(self) -> None:
        """We take everything over from the other side (fenced, left, or unfenced)."""
        self._theirs = Hold.NONE
        self._handed = Hold.NONE

    def other_restarted(self) -> None:
        """The other side started afresh: it runs nothing we handed it before."""
        self._handed = Hold.NONE

    def other_stopped_everything(self) -> None:
        """The other side was fenced, confirmed stopped or shut down: it runs nothing."""
        self._other_may_run = False

    def report(self, stable: bool, info: str | None = None) -> None:
        """Send our hold report (nice_failback only)."""
        if self._sides.nice:
            self._out.send(wire.hold_report(self._mine, stable, info))

    # ------------------------------------------------------------------ legacy

    def legacy_taken_back(self, key: str) -> None:
        """We released ``key`` to its home node on its ``ip-request``."""
        self._legacy_theirs.add(key)

    def legacy_given_to_us(self, key: str) -> None:
        self._legacy_theirs.discard(key)

    def legacy_forget(self) -> None:
        self._legacy_theirs.clear()

    def still_ours(self, key: str) -> bool:
        """We still own the group (nobody else may have started it)."""
        if self._sides.nice:
            return bool(self._mine & self.class_of(key))
        return key not in self._legacy_theirs

    # ------------------------------------------------------------------ views

    def held_by(self, g: Group, other_status: str) -> str | None:
        """Who runs the group, for status: us, the other side or nobody."""
        other = self._sides.other
        if g.state in _HERE or g.failed_op == "stop":
            return self._sides.us
        if other is None or other_status == "dead":
            return None
        if not self._sides.nice:
            theirs = g.spec.node == other or g.spec.key in self._legacy_theirs
            return other if theirs else None
        bit = Hold.LOCAL if g.spec.node == other else Hold.FOREIGN
        return other if self._theirs & bit else None

    def audit(self, settled: bool) -> None:
        """Heartbeat's AuditResources (spec §7.5): double owners always, missing owners
        when ``settled`` (stable, not shutting down)."""
        if not self._sides.nice:
            return
        us, other = self._sides.us, self._sides.other
        if self._mine & Hold.LOCAL and self._theirs & Hold.FOREIGN:
            self._out.event(
                "audit",
                f"both {us} and {other} claim {us}'s groups",
                level="ERROR",
                log="Both machines own our resources!",
            )
        if self._theirs & Hold.LOCAL and self._mine & Hold.FOREIGN:
            self._out.event(
                "audit",
                f"both {us} and {other} claim {other}'s groups",
                level="ERROR",
                log="Both machines own foreign resources!",
            )
        if settled:
            self._audit_missing_owners()

    def _audit_missing_owners(self) -> None:
        # Only a class that has groups can be unowned (a node with no groups of its
        # own is not an error).
        homes = {group.node for group in self._sides.config.groups}
        has_local = self._sides.us in homes
        has_foreign = bool(homes - {self._sides.us})
        mine, theirs = self._mine, self._theirs
        if has_local and not mine & Hold.LOCAL and not theirs & Hold.FOREIGN:
            log("ERROR", "No one owns our local resources!")
        if has_foreign and not theirs & Hold.LOCAL and not mine & Hold.FOREIGN:
            log("ERROR", "No one owns foreign resources!")
