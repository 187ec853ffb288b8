"""Operator requests: ``hb_standby``, ``hb_takeover``, and a failed start's push.

Each is refused with a reason while the cluster is in flux (``_transition_refusal``);
an accepted one starts the standby protocol of ``standby.py``.
"""

from __future__ import annotations

from engine.core.policy import wire
from engine.core.policy.constants import STANDBY_WORDS
from engine.core.policy.messages import PolicyJobs
from engine.core.policy_types import ResourceState


class AdminMixin(PolicyJobs):
    """hb_standby / hb_takeover from the operator, and the push after a failed start."""

    def request_standby(self, which: str, now: float) -> str | None:
        """``hb_standby [all|foreign|local|failback]``; None when accepted, else why not."""
        self._now = now
        word = STANDBY_WORDS.get(which)
        if word is None:
            return f"unknown resource set '{which}': use all, foreign, local or failback"
        if not self._sides.nice:
            return "auto_failback is set to legacy.  Cannot enter standby."
        refusal = self._refuse_transition("standby", word)
        if refusal:
            return refusal
        self._standby.go_standby(word, f"operator asked for standby [{word}]")
        self._settle()
        return None

    def request_takeover(self, which: str, now: float) -> str | None:
        """``hb_takeover [all|foreign|local|failback]``: ask the peer to go standby."""
        self._now = now
        word = which or "all"
        if word not in ("all", "foreign", "local", "failback"):
            return f"unknown resource set '{which}': use all, foreign, local or failback"
        if not self._sides.nice:
            return "auto_failback is set to legacy.  Cannot take over."
        refusal = self._refuse_transition("takeover", word)
        if refusal:
            return refusal
        self._out.event(
            "takeover",
            f"operator asked {self._sides.other} to hand over [{word}]",
            node=self._sides.other or "",
            log=f"Requesting takeover [{word}].",
        )
        self._out.send(wire.hb_takeover(word))
        self._settle()
        return None

    def _refuse_transition(self, what: str, word: str) -> str | None:
        """Report and return why a standby/takeover cannot start now, or None."""
        refusal = self._transition_refusal()
        if refusal:
            self._out.event(
                "refused",
                f"{what} [{word}] refused: {refusal}",
                level="WARN",
                log=f"{what} [{word}] refused: {refusal}",
            )
        return refusal

    def _transition_refusal(self) -> str | None:
        """Why a standby/takeover cannot start now, or None."""
        if self._shutdown.wanted or self._shutdown.in_progress:
            return "Heartbeat shutdown in progress."
        if not self._peer.comm_up:
            return "communications are not up yet"
        if self._sides.other is None:
            return "there is no peer node to hand resources to"
        if self._peer.status != "active":
            return f"{self._sides.other} is {self._peer.status}: it cannot take resources now"
        left = self._standby.seconds_left(self._now)
        if left is not None:
            return f"Standby in progress [{left} seconds left]"
        if not self._peer.stable:
            return "Other side is in flux."
        if (
            self._negotiation.state is not ResourceState.STABLE
            or self._jobs.busy()
            or self._negotiation.takeover_in_progress
        ):
            return "local resources in flux."
        return None

    def _push_failed_group(self, which: str, key: str) -> None:
        """30 s after a failed start: ``hb_standby <class>`` once (spec §7.3)."""
        g = self._holdings[key]
        if g.state != "failed" or g.failed_op != "start":
            return
        refusal = self._transition_refusal()
        if refusal:
            self._out.event(
                "refused",
                f"not pushing failed group {key} to {self._sides.other}: {refusal}",
                group=key,
                level="WARN",
            )
            return
        self._standby.go_standby(
            which,
            f"{key} failed to start here; asking {self._sides.other} to run the {which} groups",
        )
