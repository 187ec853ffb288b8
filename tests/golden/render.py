"""Text of what a policy says: wire messages, actions, events, log lines and state.

Every line of a scenario's expected output is made here, from the policy's public
outputs only (``drain_*``, ``snapshot``, ``monitor_status``, ``next_deadline``,
``shutdown_complete``), so the scenarios hold for any policy with the same surface.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from engine.core.policy import ResourcePolicy
from engine.core.policy_types import (
    Acquire,
    Action,
    CancelMonitor,
    Fence,
    Monitor,
    PolicyEvent,
    Release,
)
from engine.protocol.message import Message

TAG_WIDTH = 8
_PID = re.compile(rf"\({os.getpid()}\)")


def seconds(value: float) -> str:
    """``12``, ``12.5``, ``0.001``: a time or duration without trailing zeros."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def at(value: float | None) -> str:
    """``@12.5`` for a time, ``-`` for none."""
    return "-" if value is None else "@" + seconds(value)


def quote(value: str) -> str:
    """A field value as the script writes it: quoted when empty or spaced."""
    if value and not any(c.isspace() or c == '"' for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def fields(msg: Message) -> str:
    """``t=resource rsc_hold=local ...`` without ``src`` (the sender is on the line)."""
    parts = []
    for name, value in msg.pairs():
        if name != "src":
            text = value.hex() if isinstance(value, bytes) else value
            parts.append(f"{name}={quote(text)}")
    return " ".join(parts)


def scrub(text: str) -> str:
    """Remove what differs between runs: our pid (``Heartbeat shutdown in progress.``)."""
    return _PID.sub("(<pid>)", text)


def line(node: str, tag: str, text: str) -> str:
    """One output line: 4 spaces, node, tag column, text."""
    return f"    {node}  {tag:<{TAG_WIDTH}} {scrub(text)}".rstrip()


def action_text(action: Action, checked: Mapping[int, str]) -> str:
    """``acquire KEY: reason``; ``checked`` names the group of each running check."""
    if isinstance(action, Acquire):
        return f"acquire {action.group_key}: {action.reason}"
    if isinstance(action, Release):
        return f"release {action.group_key}: {action.reason}"
    if isinstance(action, Fence):
        return f"fence {action.node}: {action.reason}"
    if isinstance(action, Monitor):
        return f"monitor {action.group_key} timeout={seconds(action.timeout)}: {action.reason}"
    assert isinstance(action, CancelMonitor)
    return f"cancel monitor {checked.get(action.id, '?')}: {action.reason}"


def event_lines(node: str, event: PolicyEvent) -> list[str]:
    """The event as its timeline entry, then its log line when that says something else."""
    head = event.kind if event.level == "info" else f"{event.kind} {event.level}"
    where = "".join(f" {k}={v}" for k, v in (("node", event.node), ("group", event.group)) if v)
    out = [line(node, "event", f"{head}{where}: {event.reason}")]
    if event.log and event.log != event.reason:
        out.append(line(node, "", f"log {event.level}: {event.log}"))
    return out


def state(policy: ResourcePolicy, now: float) -> dict[str, str]:
    """What status --json shows of the policy, one keyed line each (printed on change)."""
    snap = policy.snapshot()
    out = {"state": _state(snap)}
    why = str(snap["unstable_because"])
    out["stable"] = "yes" if snap["stable"] else f"no: {why}" if why else "no"
    for group in _list(snap["groups"]):
        out[f"group {group['key']}"] = _group(group)
    for node, keys in _dict(snap["stop_failed"]).items():
        out[f"stop_failed {node}"] = ", ".join(str(k) for k in _items(keys))
    if snap["shutdown_blocked"]:
        out["shutdown"] = f"blocked: {snap['shutdown_blocked']}"
    if policy.shutdown_complete:
        out["shutdown"] = "complete"
    if "ipfail" in snap:
        out["ipfail"] = _pairs(_dict(snap["ipfail"]))
    one_way = _dict(snap["one_way"])
    if one_way["state"] != "watching" or one_way["peer_hears_us"] is False:
        out["one_way"] = _one_way(one_way)
    out["deadline"] = at(policy.next_deadline())
    out.update(_monitoring(policy, _dict(snap["monitor"]), now))
    return out


def _state(snap: Mapping[str, object]) -> str:
    mode = "" if snap["mode"] == "nice_failback" else f" ({snap['mode']})"
    return (
        f"{snap['state']}{mode} i_hold={snap['i_hold']} other_holds={snap['other_holds']} "
        f"standby={snap['standby']}"
    )


def _one_way(view: dict[str, object]) -> str:
    """The one-way guard without its reason (the event line above says it)."""
    hears = {True: "yes", False: "no", None: "-"}[view["peer_hears_us"]]  # type: ignore[index]
    groups = ",".join(str(g) for g in _items(view["groups"])) or "-"
    return f"{view['state']} peer_hears_us={hears} groups={groups} releases={view['releases']}"


def _group(group: Mapping[str, object]) -> str:
    held = group["held_by"] or "nobody"
    return f"{group['state']}, held by {held}: {group['reason']}"


def _monitoring(policy: ResourcePolicy, settings: dict[str, object], now: float) -> dict[str, str]:
    """Monitor lines, only where monitoring is on or a recovery is shown."""
    out: dict[str, str] = {}
    if settings["enabled"]:
        out["monitor"] = _pairs(settings)
    for key, view in policy.monitor_status(now, now).items():
        group = _dict(view["group"])
        if not group["enabled"] and group["recovery"] == "none" and not group["checks"]:
            continue
        out[f"monitor {key}"] = _monitor_group(group, now)
        for token, res in _dict(view["resources"]).items():
            check = _dict(res)
            if check["result"] is not None:
                out[f"check {key} {token}"] = _check(check)
    return out


def _monitor_group(group: dict[str, object], now: float) -> str:
    text = (
        f"checks={group['checks']} failures={group['failures']} restarts={group['restarts']} "
        f"recovery={group['recovery']} checking={'yes' if group['checking'] else 'no'} "
        f"next={_in(group['next_check_in_s'], now)} retry={_in(group['retry_in_s'], now)}"
    )
    return f"{text}: {group['reason']}" if group["reason"] else text


def _check(check: dict[str, object]) -> str:
    when = check["time"]
    text = f"{check['result']} {at(when if isinstance(when, float | int) else None)}"
    text += f" failures={check['failures']}"
    return f"{text}: {check['reason']}" if check["reason"] else text


def _in(left: object, now: float) -> str:
    """A status "in N s" as the absolute time it points at (stable between steps)."""
    return at(now + left) if isinstance(left, float | int) else "-"


def _pairs(values: Mapping[str, object]) -> str:
    out = []
    for name, value in values.items():
        if isinstance(value, dict):
            value = ",".join(f"{k}:{v}" for k, v in value.items())
        elif isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, float):
            value = seconds(value)
        out.append(f"{name}={value}")
    return " ".join(out)


def _dict(value: object) -> dict[str, object]:
    assert isinstance(value, dict)
    return value


def _list(value: object) -> list[dict[str, object]]:
    assert isinstance(value, list)
    return value


def _items(value: object) -> list[object]:
    assert isinstance(value, list)
    return value
