"""Cluster messages to the owner that handles them (the planner's message routes).

v1 resource management is two-node (spec §12): only our own messages (loopback) and
the other side's are about resources. Before communications are up only ``shutdone``
is taken (Heartbeat processes its own messages the same way, spec §7.4), and the
other side's ``ip-request`` is kept until comm-up: in legacy mode nothing asks again,
so a request dropped there would leave the asker's group down for good.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from engine.core.policy.admin import Admin
from engine.core.policy.ipfail import IpfailLink
from engine.core.policy.legacy import Legacy
from engine.core.policy.peer import PeerView
from engine.core.policy.sides import Sides
from engine.core.policy.standby import Standby
from engine.core.policy.startup import Startup
from engine.core.policy.takeover import Takeover
from engine.protocol.message import Message

logger = logging.getLogger(__name__)

Handler = Callable[[Message, str, float], None]
EARLY_LIMIT = 64
"""Distinct groups whose ``ip-request`` is kept before comm-up (more are dropped)."""


class MessageRouter:
    """Which owner handles which message type (``t``)."""

    def __init__(
        self,
        sides: Sides,
        peer: PeerView,
        *,
        startup: Startup,
        standby: Standby,
        legacy: Legacy,
        admin: Admin,
        takeover: Takeover,
        ipfail: IpfailLink,
    ) -> None:
        self._sides = sides
        self._peer = peer
        self._early: dict[str, Message] = {}
        self._handlers: dict[str, Handler] = {
            "starting": startup.on_starting,
            "resource": startup.on_resource,
            "ask_resources": standby.on_ask_resources,
            "hb_takeover": lambda msg, src, _now: admin.on_hb_takeover(msg, src),
            "ip-request": lambda msg, src, _now: legacy.on_ip_request(msg, src),
            "ip-request-resp": lambda msg, src, _now: legacy.on_ip_request_resp(msg, src),
            "shutdone": takeover.on_shutdone,
            "stonith": lambda msg, src, _now: takeover.on_stonith(msg, src),
            "num_ping_nodes": ipfail.on_message,
            "you_are_dead": ipfail.on_message,
            "abort_giveup": ipfail.on_message,
        }

    def route(self, msg: Message, now: float) -> bool:
        """Hand one accepted message to its owner; False when it is not about resources
        (no sender or type, or from a node that is neither side)."""
        src = msg.get("src")
        kind = msg.type
        if not src or not kind:
            logger.error("resource message without src/t field ignored: %s", msg.describe())
            return False
        if src != self._sides.us and not self._sides.is_other(src):
            logger.debug("ignoring %s message from %s: not a resource peer", kind, src)
            return False
        if self._sides.is_other(src):
            self._peer.mark_heard()
        handler = self._handlers.get(kind)
        if handler is None:
            logger.debug("policy: no handler for message type %s", kind)
        elif kind == "ip-request" and not self._peer.comm_up and src != self._sides.us:
            self._keep_early(msg, src)
        elif kind != "shutdone" and not self._peer.comm_up:
            logger.debug("policy: %s from %s before communications are up ignored", kind, src)
        else:
            handler(msg, src, now)
        return True

    def _keep_early(self, msg: Message, src: str) -> None:
        key = msg.get("ipaddr") or ""
        if key in self._early or len(self._early) < EARLY_LIMIT:
            logger.info("ip-request from %s for %s before comm-up: answered at comm-up", src, key)
            self._early[key] = msg
        else:
            logger.warning("ip-request from %s before comm-up dropped: too many kept", src)

    def after_comm_up(self, now: float) -> None:
        """Answer the ``ip-request``s the other side sent before our comm-up."""
        early, self._early = self._early, {}
        for msg in early.values():
            self.route(msg, now)
