"""Heartbeat's resource messages, built with its exact field names, order and values.

Every cluster message the policy emits is built here (fixtures in
``spec/wire-fixtures``); the membership layer stamps the control fields.
"""

from __future__ import annotations

from engine.core.policy_types import Hold, hold_name
from engine.protocol.message import Message


def hold_report(hold: Hold, stable: bool, info: str | None = None) -> Message:
    """Hold report ``t=resource rsc_hold rtype=full isstable [info]`` (nice only)."""
    pairs = [
        ("t", "resource"),
        ("rsc_hold", hold_name(hold)),
        ("rtype", "full"),
        ("isstable", "1" if stable else "0"),
    ]
    if info is not None:
        pairs.append(("info", info))
    return Message.of(*pairs)


def mach_down_hold() -> Message:
    """mach_down's ``t=resource rsc_hold=foreign info=mach_down`` (nice_failback)."""
    return Message.of(("t", "resource"), ("rsc_hold", "foreign"), ("info", "mach_down"))


def starting() -> Message:
    return Message.of(("t", "starting"))


def ask_resources(rsc_hold: str, info: str) -> Message:
    """One phase of the standby protocol: ``info`` is ``me``, ``other`` or ``done``."""
    return Message.of(("t", "ask_resources"), ("rsc_hold", rsc_hold), ("info", info))


def hb_takeover(rsc_hold: str) -> Message:
    return Message.of(("t", "hb_takeover"), ("rsc_hold", rsc_hold))


def stonith_result(node: str, result: str) -> Message:
    """``result`` is ``OK``, ``bad``, ``unneeded`` or ``n_stnth``."""
    return Message.of(("t", "stonith"), ("node", node), ("result", result))


def ip_request(key: str) -> Message:
    return Message.of(("t", "ip-request"), ("ipaddr", key))


def ip_request_resp(dest: str, key: str, weown: str, ok: str) -> Message:
    return Message.of(
        ("t", "ip-request-resp"),
        ("dest", dest),
        ("ipaddr", key),
        ("weown", weown),
        ("ok", ok),
    )


def shutdone() -> Message:
    return Message.of(("t", "shutdone"), ("st", "dead"))
