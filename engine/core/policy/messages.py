"""Heartbeat's resource messages, built with its exact field names, order and values.

Every cluster message the policy emits is built here (fixtures in
``spec/wire-fixtures``); the membership layer stamps the control fields.
"""

from __future__ import annotations

from engine.core.policy.base import PolicyBase
from engine.core.policy_types import hold_name
from engine.protocol.message import Message


class PolicyMessages(PolicyBase):
    """Queue outgoing messages for ``drain_outbound``."""

    def _send(self, *pairs: tuple[str, str]) -> None:
        self._outbound.append(Message.of(*pairs))

    def _send_hold(self, stable: bool, info: str | None = None) -> None:
        """Hold report ``t=resource rsc_hold rtype=full isstable [info]`` (nice only)."""
        if not self._nice:
            return
        pairs = [
            ("t", "resource"),
            ("rsc_hold", hold_name(self._i_hold)),
            ("rtype", "full"),
            ("isstable", "1" if stable else "0"),
        ]
        if info is not None:
            pairs.append(("info", info))
        self._send(*pairs)

    def _send_mach_down_hold(self) -> None:
        """mach_down's ``t=resource rsc_hold=foreign info=mach_down`` (nice_failback)."""
        self._send(("t", "resource"), ("rsc_hold", "foreign"), ("info", "mach_down"))

    def _send_starting(self) -> None:
        self._send(("t", "starting"))

    def _send_ask_resources(self, rsc_hold: str, info: str) -> None:
        """One phase of the standby protocol: ``info`` is ``me``, ``other`` or ``done``."""
        self._send(("t", "ask_resources"), ("rsc_hold", rsc_hold), ("info", info))

    def _send_hb_takeover(self, rsc_hold: str) -> None:
        self._send(("t", "hb_takeover"), ("rsc_hold", rsc_hold))

    def _send_stonith_result(self, node: str, result: str) -> None:
        """``result`` is ``OK``, ``bad``, ``unneeded`` or ``n_stnth``."""
        self._send(("t", "stonith"), ("node", node), ("result", result))

    def _send_ip_request(self, key: str) -> None:
        self._send(("t", "ip-request"), ("ipaddr", key))

    def _send_ip_request_resp(self, dest: str, key: str, weown: str, ok: str) -> None:
        self._send(
            ("t", "ip-request-resp"),
            ("dest", dest),
            ("ipaddr", key),
            ("weown", weown),
            ("ok", ok),
        )

    def _send_shutdone(self) -> None:
        self._send(("t", "shutdone"), ("st", "dead"))
