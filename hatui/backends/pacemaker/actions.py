"""Operator verbs on a Pacemaker cluster: checked against the status, carried out by
Pacemaker's own tools (pure: this module decides, the client runs).

Verbs and the commands that carry them out::

    node_standby {node}        crm_attribute --node N --name standby --update on
    node_online  {node}        crm_attribute --node N --name standby --update off
    move  {group, node}        crm_resource --move --resource G --node N  (leaves cli-prefer-G)
    ban   {group, node}        crm_resource --ban --resource G --node N   (leaves cli-ban-G-on-N)
    clear {group}              crm_resource --clear --resource G
    cleanup {resource?}        crm_resource --cleanup [--resource R]
    stonith {node}             stonith_admin --reboot N

A verb that would do harm or nothing is refused with the reason, as the engine refuses
(the same words where the situation is the same): standby of the last node that can
run resources, a move to a node that cannot run it, fencing this node or fencing
without a device.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hatui.backends.pacemaker.tools import ACTION_TIMEOUT_S

Doc = Mapping[str, Any]

VERBS = frozenset({"node_standby", "node_online", "move", "ban", "clear", "cleanup", "stonith"})
STONITH_TIMEOUT_S = 120
"""stonith_admin's own ``--timeout``; the runner waits a little longer."""


class Refused(Exception):
    """The verb is not carried out; ``reason`` is shown to the operator."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Plan:
    """The command for an accepted verb, and what it will do in words."""

    argv: tuple[str, ...]
    effect: str
    timeout: float = ACTION_TIMEOUT_S


def _nodes(doc: Doc) -> dict[str, Mapping[str, Any]]:
    return {str(n.get("name")): n for n in doc.get("nodes", []) if isinstance(n, Mapping)}


def _groups(doc: Doc) -> dict[str, Mapping[str, Any]]:
    return {str(g.get("key")): g for g in doc.get("groups", []) if isinstance(g, Mapping)}


def _arg(args: Mapping[str, Any], name: str, verb: str) -> str:
    value = args.get(name)
    if not isinstance(value, str) or not value.strip():
        raise Refused(f'{verb} needs {{"{name}": NAME}}')
    return value.strip()


def _named(
    items: Mapping[str, Mapping[str, Any]], args: Mapping[str, Any], verb: str, what: str
) -> Mapping[str, Any]:
    name = _arg(args, what, verb)
    if name not in items:
        raise Refused(f"unknown {what} {name!r}; {what}s: {', '.join(items) or 'none'}")
    return items[name]


def _node(doc: Doc, args: Mapping[str, Any], verb: str) -> Mapping[str, Any]:
    return _named(_nodes(doc), args, verb, "node")


def _group(doc: Doc, args: Mapping[str, Any], verb: str) -> Mapping[str, Any]:
    return _named(_groups(doc), args, verb, "group")


def can_run(node: Mapping[str, Any]) -> bool:
    """Online and neither in standby nor in maintenance."""
    return str(node.get("status")) == "active"


def _held(doc: Doc, node: str) -> list[str]:
    return [k for k, g in _groups(doc).items() if g.get("held_by") == node]


def plan(verb: str, args: Mapping[str, Any], doc: Doc) -> Plan:
    """The command for ``verb`` now, given the current status document.

    Raises:
        Refused: unknown verb, bad arguments, or a verb that must not run now.
    """
    planners = {
        "node_standby": _standby,
        "node_online": _online,
        "move": _move,
        "ban": _ban,
        "clear": _clear,
        "cleanup": _cleanup,
        "stonith": _stonith,
    }
    if verb not in planners:
        raise Refused(f"unknown command {verb}; known: {', '.join(sorted(planners))}")
    return planners[verb](args, doc)


def _standby(args: Mapping[str, Any], doc: Doc) -> Plan:
    node = _node(doc, args, "node_standby")
    name = str(node["name"])
    if node.get("standby"):
        raise Refused(f"{name} is in standby already")
    others = [n for n, info in _nodes(doc).items() if n != name and can_run(info)]
    held = _held(doc, name)
    if can_run(node) and not others:
        raise Refused(
            f"refusing standby of {name}: it is the last online node that can run resources "
            f"(it runs {', '.join(held) or 'nothing now'}); standby would stop them everywhere"
        )
    effect = f"{name} goes to standby" + (
        f": {', '.join(held)} move to another node" if held else " (it runs no group)"
    )
    argv = ("crm_attribute", "--node", name, "--name", "standby", "--update", "on")
    return Plan(argv, effect)


def _online(args: Mapping[str, Any], doc: Doc) -> Plan:
    node = _node(doc, args, "node_online")
    name = str(node["name"])
    if not node.get("standby"):
        raise Refused(f"{name} is not in standby")
    argv = ("crm_attribute", "--node", name, "--name", "standby", "--update", "off")
    return Plan(argv, f"{name} leaves standby and may run resources again")


def _move(args: Mapping[str, Any], doc: Doc) -> Plan:
    group, node = _group(doc, args, "move"), _node(doc, args, "move")
    key, name = str(group["key"]), str(node["name"])
    if group.get("clone"):
        raise Refused(f"{key} is a clone: it runs on several nodes; move is for groups")
    if group.get("held_by") == name:
        raise Refused(f"{key} runs on {name} already")
    if not can_run(node):
        raise Refused(f"{name} is {node.get('status')}: it cannot run {key}")
    argv = ("crm_resource", "--move", "--resource", key, "--node", name)
    effect = f"{key} moves to {name}; crm_resource leaves cli-prefer-{key} (clear it later)"
    return Plan(argv, effect)


def _ban(args: Mapping[str, Any], doc: Doc) -> Plan:
    group, node = _group(doc, args, "ban"), _node(doc, args, "ban")
    key, name = str(group["key"]), str(node["name"])
    others = [n for n, info in _nodes(doc).items() if n != name and can_run(info)]
    if not others:
        raise Refused(f"refusing to ban {key} from {name}: no other node can run it")
    argv = ("crm_resource", "--ban", "--resource", key, "--node", name)
    return Plan(argv, f"{key} may not run on {name}; crm_resource leaves cli-ban-{key}-on-{name}")


def _clear(args: Mapping[str, Any], doc: Doc) -> Plan:
    group = _group(doc, args, "clear")
    key = str(group["key"])
    left = [str(c.get("id")) for c in group.get("constraints", []) if isinstance(c, Mapping)]
    if not left:
        raise Refused(f"{key} has no constraint left by crm_resource --move or --ban")
    argv = ("crm_resource", "--clear", "--resource", key)
    return Plan(argv, f"removes {', '.join(left)}: {key} may run where the configuration says")


def _cleanup(args: Mapping[str, Any], doc: Doc) -> Plan:
    failures = [f for f in doc.get("failed_actions", []) if isinstance(f, Mapping)]
    resource = args.get("resource")
    if resource:
        failures = [f for f in failures if f.get("resource") == resource]
    if not failures:
        where = f" of {resource}" if resource else ""
        raise Refused(f"no failed actions{where} to clean up")
    argv: tuple[str, ...] = ("crm_resource", "--cleanup")
    if resource:
        argv += ("--resource", str(resource))
    what = ", ".join(sorted({f"{f.get('resource')} on {f.get('node')}" for f in failures}))
    return Plan(argv, f"forgets the failed actions ({what}); Pacemaker re-checks them")


def _stonith(args: Mapping[str, Any], doc: Doc) -> Plan:
    node = _node(doc, args, "stonith")
    name = str(node["name"])
    if name == doc.get("node"):
        raise Refused(f"refusing to fence {name}: it is this node")
    stonith = doc.get("stonith")
    devices = stonith.get("devices") if isinstance(stonith, Mapping) else None
    if not devices:
        raise Refused("no fence device is configured (stonith_admin would fail: No such device)")
    argv = ("stonith_admin", "--reboot", name, "--timeout", str(STONITH_TIMEOUT_S))
    return Plan(argv, f"{name} is rebooted by a fence device", STONITH_TIMEOUT_S + 10)
