"""auto_failback legacy: rc.d/ip-request and rc.d/ip-request-resp.

A legacy node asks the peer for its home groups with ``ip-request``; the holder
releases them and answers ``ip-request-resp``. A node also answers itself with an
``ip-request-resp`` when it takes its own groups without asking (spec §7.6).
"""

from __future__ import annotations

import logging

from engine.core.policy import wire
from engine.core.policy.messages import PolicyJobs
from engine.core.policy.outbox import log
from engine.core.policy.records import Job, acquire_steps, call, release_steps
from engine.protocol.message import Message

logger = logging.getLogger(__name__)


class LegacyMixin(PolicyJobs):
    """The ip-request exchange."""

    def _on_ip_request_resp(self, msg: Message, src: str) -> None:
        """rc.d/ip-request-resp: take the group when the answer is addressed to us."""
        key = msg.get("ipaddr") or ""
        if msg.get("dest") != self._sides.us or not key:
            return
        ok, weown = msg.get("ok", ""), msg.get("weown", "")
        logger.info("received ip-request-resp %s %s %s", key, ok, weown)
        if key not in self._holdings:
            log("ERROR", f"ip-request-resp for unknown resource group {key} ignored")
            return
        if ok != "OK":
            self._out.event(
                "refused",
                f"{src} did not release {key} ({ok} {weown})",
                node=src,
                group=key,
                level="WARN",
            )
            if src == self._sides.other and weown == "yes":
                self._fencing.peer_failed_stop([key], "when asked for it back (ip-request)")
            return
        why = self._acquire_why.pop(key, f"{src} answered ip-request: group released to us")
        self._holdings.legacy_given_to_us(key)
        self._jobs.enqueue(Job("ip-request-resp", acquire_steps([key], why)))

    def _on_ip_request(self, msg: Message, src: str) -> None:
        """rc.d/ip-request: give the group up if we run it and answer the requester."""
        key = msg.get("ipaddr") or ""
        if src == self._sides.us or not key:
            return
        if key not in self._holdings:
            log("ERROR", f"ip-request for unknown resource group {key} ignored")
            return
        weown = self._holdings[key].state != "stopped"
        why = f"{src} is the group's home and asked for it back (ip-request)"

        def answer(j: Job, _now: float) -> None:
            if j.failures:
                self._out.send(wire.ip_request_resp(src, key, "yes", "FAILED"))
                return
            self._holdings.legacy_taken_back(key)
            self._out.send(wire.ip_request_resp(src, key, "yes" if weown else "no", "OK"))

        steps = release_steps([key], why) if weown else []
        self._jobs.enqueue(Job("ip-request", [*steps, call(answer)]))
