"""Wiring of the built-in ipfail (spec §11.3; the logic is ``engine/core/ipfail.py``).

Its messages and logs flow out through the policy, as timeline entries of this node
(ipfail is a client of the local daemon); a due give-up asks for standby ``all`` like
ipfail's ``ask_resources`` (``Admin.request_standby``, with ipfail's reason).
"""

from __future__ import annotations

from engine.config.model import ClusterConfig
from engine.core.ipfail import make_ipfail
from engine.core.policy.admin import Admin
from engine.core.policy.holdings import Holdings
from engine.core.policy.outbox import Outbox, log
from engine.core.policy.sides import Sides
from engine.core.policy_types import Hold
from engine.protocol.message import Message


class IpfailLink:
    """Feeds ipfail (when configured) and forwards what it produces."""

    def __init__(
        self, config: ClusterConfig, sides: Sides, out: Outbox, holdings: Holdings, admin: Admin
    ) -> None:
        self._ipfail = make_ipfail(config)
        self._sides = sides
        self._out = out
        self._holdings = holdings
        self._admin = admin

    def on_node_status(self, node: str, status: str, now: float) -> None:
        """A ping node's or the other side's status changed."""
        ipfail = self._ipfail
        if ipfail is None:
            return
        if ipfail.handles(node):
            ipfail.on_ping_status(node, status, now)
        elif self._sides.is_other(node):
            ipfail.on_peer_status(status, now)
        else:
            return
        self._pull()

    def on_message(self, msg: Message, src: str, now: float) -> None:
        """``num_ping_nodes``, ``you_are_dead``, ``abort_giveup`` from the other side."""
        if self._ipfail is not None and src != self._sides.us:
            self._ipfail.on_message(msg, now)
            self._pull()

    def tick(self, now: float) -> None:
        """A due give-up asks for standby ``all`` (ipfail's ``ask_resources``)."""
        ipfail = self._ipfail
        if ipfail is None or not ipfail.due_giveup(now):
            return
        if self._holdings.i_hold == Hold.NONE:
            log("info", "ipfail: nothing to give up: we hold no resources")
        elif refusal := self._admin.transition_refusal(now):
            # Heartbeat's ipfail waits for a stable cluster; we retry every keepalive,
            # telling the timeline once per give-up, not at every retry.
            if not ipfail.retrying:
                self._out.event(
                    "refused",
                    f"ipfail's standby [all] waits: {refusal} (retried every keepalive)",
                    node=self._sides.us,
                    level="WARN",
                )
            ipfail.retry_giveup(now)
        else:
            why = f"ipfail gives every group up: {ipfail.giveup_reason}"
            self._admin.request_standby("all", now, why)
        self._pull()

    def next_deadline(self) -> float | None:
        return None if self._ipfail is None else self._ipfail.next_deadline()

    def snapshot(self) -> dict[str, object] | None:
        return None if self._ipfail is None else self._ipfail.snapshot()

    def _pull(self) -> None:
        if self._ipfail is None:
            return
        self._out.send_all(self._ipfail.drain_outbound())
        for level, text in self._ipfail.drain_logs():
            self._out.event("ipfail", text, node=self._sides.us, level=level, log=text)
