"""Wiring of the built-in ipfail (spec §11.3; the logic is ``engine/core/ipfail.py``).

Its messages and logs flow out through the policy; a due give-up asks for standby
``all`` like ipfail's ``ask_resources``.
"""

from __future__ import annotations

from engine.core.policy.messages import PolicyJobs
from engine.core.policy.outbox import log
from engine.core.policy_types import Hold
from engine.protocol.message import Message


class IpfailMixin(PolicyJobs):
    """Feeds ipfail and forwards what it produces."""

    def _on_ipfail_message(self, msg: Message, src: str) -> None:
        if self._ipfail is not None and src != self._sides.us:
            self._ipfail.on_message(msg, self._now)
            self._pull_ipfail()

    def _ipfail_tick(self, now: float) -> None:
        """A due ipfail give-up asks for standby ``all`` (ipfail's ``ask_resources``)."""
        ipfail = self._ipfail
        if ipfail is None or not ipfail.due_giveup(now):
            return
        if self._holdings.i_hold == Hold.NONE:
            log("info", "ipfail: nothing to give up: we hold no resources")
        elif self.request_standby("all", now) is not None:
            ipfail.retry_giveup(now)
        self._pull_ipfail()

    def _pull_ipfail(self) -> None:
        if self._ipfail is None:
            return
        self._out.send_all(self._ipfail.drain_outbound())
        for level, text in self._ipfail.drain_logs():
            self._out.event("ipfail", text, node=self._sides.other or "", level=level, log=text)
