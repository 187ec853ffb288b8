"""The ``ip-request`` exchange: how a node gets its own groups (rc.d/ip-request{,-resp}).

A legacy node asks the peer for its home groups with ``ip-request``; the holder
releases them and answers ``ip-request-resp``. A node also answers itself with an
``ip-request-resp`` when it takes its own groups without asking (spec §7.6), which is
what ``req_our_resources``'s child does in every mode. ``Legacy`` is the only writer of
why each requested group will be acquired.
"""

from __future__ import annotations

import logging

from engine.core.policy import wire
from engine.core.policy.constants import RESOURCE_MANAGER
from engine.core.policy.fencing import FencingBook
from engine.core.policy.holdings import Holdings
from engine.core.policy.jobs import JobQueue
from engine.core.policy.negotiation import Acquisition
from engine.core.policy.outbox import Outbox, log
from engine.core.policy.records import Job, acquire_steps, call, release_steps
from engine.core.policy.sides import Sides
from engine.core.policy_types import Hold
from engine.protocol.message import Message

logger = logging.getLogger(__name__)


class Legacy:
    """Requests for our own groups and the answers to them."""

    def __init__(
        self,
        sides: Sides,
        out: Outbox,
        holdings: Holdings,
        jobs: JobQueue,
        fencing: FencingBook,
        acquisition: Acquisition,
    ) -> None:
        self._sides = sides
        self._out = out
        self._holdings = holdings
        self._jobs = jobs
        self._fencing = fencing
        self._acquisition = acquisition
        self._why: dict[str, str] = {}

    def request_own(self, ask: bool, why: str) -> None:
        """``req_our_resources``'s child: ask the peer for each of our groups that does
        not run here (``ask``), or answer ourselves that it is ours to start."""
        keys = self._holdings.keys(Hold.LOCAL)
        for key in keys:
            if self._holdings[key].state in ("running", "starting"):
                continue
            if ask:
                self._why[key] = f"home node; {self._sides.other} released it on request"
                self._out.send(wire.ip_request(key))
            else:
                self._why[key] = f"home node; {why}"
                self._out.send(wire.ip_request_resp(self._sides.us, key, "yes", "OK"))
        if keys:
            log("info", "Local Resource acquisition completed.")
        else:
            log(
                "info",
                f"No local resources [{RESOURCE_MANAGER} listkeys {self._sides.us}] to acquire.",
            )
        self._holdings.report(True, "req_our_resources()")
        if not ask:
            self._acquisition.done(local=True, why="req_our_resources")

    def on_ip_request_resp(self, msg: Message, src: str) -> None:
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
            if self._sides.is_other(src) and weown == "yes":
                self._fencing.peer_failed_stop([key], "when asked for it back (ip-request)")
            return
        why = self._why.pop(key, f"{src} answered ip-request: group released to us")
        self._holdings.legacy_given_to_us(key)
        self._jobs.enqueue(Job("ip-request-resp", acquire_steps([key], why)))

    def on_ip_request(self, msg: Message, src: str) -> None:
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
