"""Checks of a configuration against the machine it is loaded on (warnings only).

A configuration can be perfectly formed and still do nothing here: a ``bcast eht0``
typo, every ``ucast`` line naming this machine's own address (bravo given alpha's
ha.cf written for alpha alone), a resource no script provides. Heartbeat finds these
at start-up or at takeover; ``--check-config`` should find them first. They are
warnings, never errors: one ha.cf serves every node, and a file may be checked on
another machine than the one it is for.

Only files are read: ``/sys/class/net`` (interfaces), ``/proc/net/fib_trie`` (the
addresses configured here, in the reader's network namespace) and the resource
directories of ``engine.config.agentsearch``. Whatever cannot be read is not checked.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.config.agentsearch import (
    INIT_DIR,
    OCF_ROOT,
    UNIT_DIRS,
    is_executable,
    ocf_agent_path,
    script_candidates,
    unit_file,
)
from engine.config.model import (
    GroupSpec,
    Issue,
    MediumKind,
    MediumSpec,
    ResourceSpec,
    Severity,
    SourceRef,
)

_NETWORK_KINDS = (MediumKind.UCAST, MediumKind.BCAST, MediumKind.MCAST)
_IP_SCRIPTS = ("IPaddr", "IPaddr2")


@dataclass(frozen=True, slots=True)
class Machine:
    """Where this machine's facts are read from (tests point it at a temporary tree)."""

    sys_net: Path = Path("/sys/class/net")
    fib_trie: Path = Path("/proc/net/fib_trie")
    init_dir: Path = INIT_DIR
    ocf_root: Path = OCF_ROOT
    unit_dirs: tuple[Path, ...] = UNIT_DIRS

    def interfaces(self) -> set[str] | None:
        """Interface names here; None when they cannot be listed."""
        try:
            return {entry.name for entry in self.sys_net.iterdir()}
        except OSError:
            return None

    def local_addresses(self) -> set[str] | None:
        """IPv4 addresses configured here (``/32 host LOCAL`` in the fib); None if unknown."""
        try:
            lines = self.fib_trie.read_text(encoding="ascii", errors="replace").splitlines()
        except OSError:
            return None
        found: set[str] = set()
        for previous, line in itertools.pairwise(lines):
            if line.strip() == "/32 host LOCAL" and "|-- " in previous:
                found.add(previous.split("|-- ", 1)[1].strip())
        return found


def this_machine() -> Machine:
    """The real places (a function, so a test suite can stand in a fixed machine)."""
    return Machine()


def machine_issues(
    config_dir: Path,
    media: Sequence[MediumSpec],
    nodes: Sequence[str],
    groups: Sequence[GroupSpec],
    machine: Machine | None = None,
) -> list[Issue]:
    """Media and resources this machine cannot use, as warnings at their lines."""
    here = machine or this_machine()
    return [*media_issues(media, nodes, here), *resource_issues(config_dir, groups, here)]


def media_issues(
    media: Sequence[MediumSpec], nodes: Sequence[str], machine: Machine
) -> list[Issue]:
    """Missing interfaces and serial ports; no medium that reaches a peer from here."""
    interfaces = machine.interfaces()
    own = machine.local_addresses() or set()
    issues: list[Issue] = []
    missing = ours = usable = 0
    for medium in media:
        if medium.kind not in (*_NETWORK_KINDS, MediumKind.SERIAL):
            continue
        problem = _medium_problem(medium, interfaces)
        if problem:
            issues.append(Issue(Severity.WARNING, medium.where, *problem))
            missing += 1
        elif medium.kind is MediumKind.UCAST and medium.peer in own:
            issues.append(_own_address(medium))
            ours += 1
        else:
            usable += 1
    if (missing or ours) and not usable and len(set(nodes)) > 1:
        first = next(m for m in media if m.kind in (*_NETWORK_KINDS, MediumKind.SERIAL))
        issues.append(_nothing_reaches_a_peer(first.where, missing, ours))
    return issues


def _medium_problem(medium: MediumSpec, interfaces: set[str] | None) -> tuple[str, str] | None:
    """(message, hint) when the medium's device does not exist here."""
    if medium.kind is MediumKind.SERIAL:
        if Path(medium.dev).exists():
            return None
        return (
            f"serial [{medium.dev}]: no such device on this machine",
            "check the path (ls /dev/ttyS* /dev/serial/by-id); this link is dead here",
        )
    if interfaces is None:
        return None
    device = medium.dev.split(":", 1)[0]
    if device in interfaces:
        return None
    listed = ", ".join(sorted(interfaces)) or "none"
    return (f"{medium.kind.value} [{medium.dev}]: interface [{device}] does not exist on "
            "this machine", f"interfaces here: {listed}; this link cannot work here")  # fmt: skip


def _own_address(medium: MediumSpec) -> Issue:
    return Issue(
        Severity.INFO,
        medium.where,
        f"ucast [{medium.dev}] {medium.peer} is this machine's own address: not sent to here",
        "normal when one ha.cf lists every node's address",
    )


def _nothing_reaches_a_peer(where: SourceRef, missing: int, ours: int) -> Issue:
    if not missing:
        why = "every ucast line names this machine's own address"
    elif not ours:
        why = "no medium's device exists here"
    else:
        why = "each medium names a missing device or this machine's own address"
    return Issue(
        Severity.WARNING,
        where,
        f"No heartbeat medium reaches a peer from this node: {why}",
        "this node would send heartbeats to nobody; list every node's address "
        "('ucast eth0 <address>' for each node) so that one ha.cf serves all nodes",
    )


def resource_issues(config_dir: Path, groups: Sequence[GroupSpec], machine: Machine) -> list[Issue]:
    """Resources for which no script, init script, OCF agent or unit exists here."""
    issues: list[Issue] = []
    for group in groups:
        for spec in group.resources:
            searched = missing_program(spec, config_dir, machine)
            if searched is not None:
                issues.append(_unprovided(spec, group.where, searched, machine))
    return issues


def missing_program(spec: ResourceSpec, config_dir: Path, machine: Machine) -> list[Path] | None:
    """None when something provides ``spec`` here, else the places searched."""
    script = spec.script
    if script.startswith("systemd:"):
        unit = script.removeprefix("systemd:")
        return None if unit_file(unit, machine.unit_dirs) else [*machine.unit_dirs]
    if script.startswith("ocf:"):
        _, provider, kind = [*script.split(":"), "", ""][:3]
        path = ocf_agent_path(provider, kind, machine.ocf_root)
        return None if is_executable(path) else [path]
    places = [
        *script_candidates(script, config_dir, machine.init_dir),
        ocf_agent_path("heartbeat", script, machine.ocf_root),
    ]
    if any(is_executable(place) for place in places) or _builtin_ip(spec):
        return None
    return places


def _builtin_ip(spec: ResourceSpec) -> bool:
    """The engine's own IPaddr/IPaddr2 serves ``ip/cidr/nic`` (with ``ip`` installed)."""
    if spec.script not in _IP_SCRIPTS or len(spec.args) != 1:
        return False
    parts = spec.args[0].split("/")
    has_nic = len(parts) > 2 and not parts[2][:1].isdigit() and ":" not in parts[2]
    return has_nic and shutil.which("ip") is not None


def _unprovided(
    spec: ResourceSpec, where: SourceRef, searched: list[Path], machine: Machine
) -> Issue:
    hint = "a takeover here would fail: install it or fix the name"
    if not spec.script.startswith(("systemd:", "ocf:")):
        unit = unit_file(f"{spec.script}.service", machine.unit_dirs)
        if unit is not None:
            hint = f"a systemd unit exists: write systemd:{unit.name}"
    return Issue(
        Severity.WARNING,
        where,
        f"Resource [{spec.token}]: no resource.d script, init script, OCF agent or "
        "systemd unit provides it on this machine",
        f"{hint}; searched {', '.join(str(p) for p in searched)}",
    )
