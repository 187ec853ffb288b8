"""The ``haresources`` parser (spec §7.1), canonicalising like ``ResourceManager``.

ResourceManager's sed script: strip ``#`` comments, join lines ending in ``\\``, collapse
blanks, drop blank lines, lower-case the node. One deliberate difference: its comment
removal misses comments on continuation lines (their words become resource names); we
strip them and warn, because the other node running real Heartbeat would disagree.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.config.hacf import ipv4_literal, valid_interface_name
from engine.config.model import GroupSpec, Issue, ResourceSpec, Severity, SourceRef

_IP_GLOB = "[0-9]*.[0-9]*.[0-9]*.[0-9]*"
_IP_SCRIPTS = frozenset({"IPaddr", "IPaddr2"})
SCRIPT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+@-]*")
"""A script, unit, OCF provider or type name: no path, no blanks."""
PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
"""An OCF parameter name (it becomes ``OCF_RESKEY_<name>``)."""


@dataclass(frozen=True, slots=True)
class LogicalLine:
    """One resource group's text after joining continuations; ``where`` = first line."""

    text: str
    where: SourceRef


def logical_lines(text: str, path: str, issues: list[Issue]) -> Iterator[LogicalLine]:
    """Yield joined, comment-free logical lines; warn where Heartbeat would differ."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        body, hash_sign, comment = raw.partition("#")
        if pending and hash_sign and comment.strip():
            issues.append(
                Issue(
                    Severity.WARNING,
                    SourceRef(path, number),
                    f"Comment on a continuation line: [#{comment.strip()}]",
                    "real Heartbeat would treat these words as resource names; "
                    "move the comment to a line of its own",
                )
            )
        if not pending:
            start = number
        if body.endswith("\\"):
            pending.append(body[:-1])
            continue
        pending.append(body)
        joined = " ".join(" ".join(pending).split())
        pending = []
        if joined:
            yield LogicalLine(joined, SourceRef(path, start))
    if pending:
        joined = " ".join(" ".join(pending).split())
        if joined:
            yield LogicalLine(joined, SourceRef(path, start))


def resource_from_token(token: str) -> ResourceSpec:
    """``name::a::b`` → script ``name`` with args; a dotted quad → ``IPaddr`` with it."""
    if fnmatch.fnmatchcase(token, _IP_GLOB):
        return ResourceSpec(token, "IPaddr", (token,))
    script, _, rest = token.partition("::")
    args = tuple(rest.split("::")) if rest else ()
    return ResourceSpec(token, script, args)


def check_resource(spec: ResourceSpec) -> list[tuple[str, str]]:
    """Problems with one resource token as (message, hint) pairs."""
    if spec.token == "\\":
        return [
            (
                "Stray backslash [\\]",
                "a continuation backslash must be the very last character of the line",
            )
        ]
    problems: list[tuple[str, str]] = []
    if (
        not spec.script
        or "/" in spec.script
        or spec.script.startswith(".")
        or not spec.token.isprintable()
    ):
        problems.append(
            (
                f"Invalid resource script name [{spec.script}] in [{spec.token}]",
                "name a script in /etc/ha.d/resource.d or /etc/init.d, without a path",
            )
        )
    if "::" in spec.token and any(arg == "" for arg in spec.args):
        problems.append((f"Empty argument in resource [{spec.token}]", "write 'name::arg1::arg2'"))
    if spec.script in _IP_SCRIPTS and not problems:
        problems.extend(check_ip_argument(spec))
    if not problems:
        problems.extend(check_agent_form(spec))
    return problems


def check_agent_form(spec: ResourceSpec) -> list[tuple[str, str]]:
    """Our two additions to Heartbeat's tokens, found now rather than at takeover.

    ``systemd:UNIT`` takes no arguments; ``ocf:PROVIDER:TYPE`` takes ``key=value`` ones
    (positional arguments are mapped only for the bare IPaddr, IPaddr2 and Filesystem).
    """
    if spec.script.startswith("systemd:"):
        unit = spec.script.removeprefix("systemd:")
        if not SCRIPT_NAME.fullmatch(unit):
            return [(f"Invalid systemd unit name [{unit}] in [{spec.token}]",
                     "write systemd:NAME.service")]  # fmt: skip
        if spec.args:
            return [(f"{spec.token}: systemd units take no '::' arguments",
                     "configure the unit itself; write systemd:UNIT")]  # fmt: skip
        return []
    if not spec.script.startswith("ocf:"):
        return []
    parts = spec.script.split(":")
    if len(parts) != 3 or not all(SCRIPT_NAME.fullmatch(p) for p in parts[1:]):
        return [(f"Invalid OCF agent name [{spec.script}]: expected ocf:PROVIDER:TYPE",
                 "e.g. ocf:heartbeat:Dummy")]  # fmt: skip
    hint = "e.g. ocf:heartbeat:Dummy::state=/run/dummy.state"
    for arg in spec.args:
        key, sep, _value = arg.partition("=")
        if not sep or not PARAM_NAME.fullmatch(key):
            return [(f"{spec.token}: OCF agent {parts[2]} takes key=value arguments, "
                     f"got [{arg}]", hint)]  # fmt: skip
    return []


def check_ip_argument(spec: ResourceSpec) -> list[tuple[str, str]]:
    """``ip[/cidr[/nic][/broadcast]]`` as the IPaddr/IPaddr2 wrappers take it."""
    form = "write ip[/cidr[/nic[/broadcast]]], e.g. 10.0.0.10/24/eth0"
    if len(spec.args) != 1:
        return [(f"{spec.script} takes one argument, got [{spec.token}]", form)]
    parts = spec.args[0].split("/")
    problems: list[tuple[str, str]] = []
    if len(parts) > 4:
        return [(f"Too many '/' parts in [{spec.args[0]}]", form)]
    if ipv4_literal(parts[0]) is None:
        problems.append((f"Bad IP address [{parts[0]}] in resource [{spec.token}]", form))
    if len(parts) > 1 and not (parts[1].isdigit() and 0 <= int(parts[1]) <= 32):
        problems.append(
            (f"Bad netmask [{parts[1]}] in resource [{spec.token}]", "cidr must be 0-32")
        )
    rest = parts[2:]
    if rest and rest[0][:1].isdigit():
        nic, broadcast = "", rest[0]
        if len(rest) > 1:
            problems.append((f"Too many '/' parts in [{spec.args[0]}]", form))
    else:
        nic = rest[0] if rest else ""
        broadcast = rest[1] if len(rest) > 1 else ""
    if (rest and not rest[0]) or (nic and not valid_interface_name(nic, allow_alias=True)):
        problems.append((f"Bad interface name [{nic}] in resource [{spec.token}]", form))
    if broadcast and _bad_ipv4(broadcast):
        problems.append((f"Bad broadcast address [{broadcast}] in resource [{spec.token}]", form))
    return problems


def _bad_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        return True
    return False


def parse_haresources_text(
    text: str, path: str, nodes: Sequence[str]
) -> tuple[list[GroupSpec], list[Issue]]:
    """Turn the file text into groups; every bad line yields errors at its first line."""
    issues: list[Issue] = []
    groups: list[GroupSpec] = []
    keys: dict[str, SourceRef] = {}
    known = {node.lower() for node in nodes}
    for line in logical_lines(text, path, issues):
        group = _parse_group(line, known, issues)
        if group is None:
            continue
        if group.key in keys:
            issues.append(
                Issue(
                    Severity.ERROR,
                    line.where,
                    f"Duplicate resource group [{group.key}]",
                    f"the first resource of a line is the group key and must be unique; "
                    f"it is already used at {keys[group.key]}",
                )
            )
            continue
        keys[group.key] = line.where
        groups.append(group)
    return groups, issues


def _parse_group(line: LogicalLine, known: set[str], issues: list[Issue]) -> GroupSpec | None:
    first, *tokens = line.text.split(" ")
    node = first.lower()
    ok = True
    if known and node not in known:  # no nodes at all is reported once, by validate
        issues.append(
            Issue(
                Severity.ERROR,
                line.where,
                f"Bad nodename in haresources [{first}]",
                "the first word of a line must be a node declared with 'node' in ha.cf",
            )
        )
        ok = False
    if not tokens:
        issues.append(
            Issue(
                Severity.ERROR,
                line.where,
                f"Resource group of [{first}] lists no resources",
                "write '<node> <resource> [<resource>...]'",
            )
        )
        return None
    resources = [resource_from_token(token) for token in tokens]
    for spec in resources:
        for message, hint in check_resource(spec):
            issues.append(Issue(Severity.ERROR, line.where, message, hint))
            ok = False
    return GroupSpec(node, tuple(resources), line.where) if ok else None


def parse_haresources(path: Path, nodes: Sequence[str]) -> tuple[list[GroupSpec], list[Issue]]:
    """Read ``path``; a missing file is only a warning (a cluster without resources)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return [], [
            Issue(
                Severity.WARNING,
                SourceRef(str(path)),
                f"Cannot open resources file [{path}]: no resource groups",
                "create it with lines '<node> <resource>...' if this cluster should "
                "manage resources",
            )
        ]
    except OSError as exc:
        return [], [
            Issue(
                Severity.ERROR,
                SourceRef(str(path)),
                f"Cannot read resources file [{path}]: {exc.strerror}",
                "check its permissions",
            )
        ]
    return parse_haresources_text(text, str(path), nodes)
