"""Requests to go standby: ``hb_standby``, ``hb_takeover`` (ours or the peer's), a push.

Each is refused with a reason while the cluster is in flux (``transition_refusal``);
an accepted one starts the standby protocol of ``standby.py``. ``Admin`` keeps no
state of its own: it decides, the owners it asks change.
"""

from __future__ import annotations

from engine.core.policy import wire
from engine.core.policy.constants import STANDBY_WORDS
from engine.core.policy.holdings import Holdings
from engine.core.policy.jobs import JobQueue
from engine.core.policy.negotiation import Negotiation
from engine.core.policy.outbox import Outbox
from engine.core.policy.peer import PeerView
from engine.core.policy.records import Job, call
from engine.core.policy.shutdown import Shutdown
from engine.core.policy.sides import Sides
from engine.core.policy.standby import Standby
from engine.core.policy_types import ResourceState
from engine.protocol.message import Message


class Admin:
    """hb_standby / hb_takeover from the operator, and the push after a failed start."""

    def __init__(
        self,
        sides: Sides,
        out: Outbox,
        holdings: Holdings,
        peer: PeerView,
        negotiation: Negotiation,
        jobs: JobQueue,
        *,
        standby: Standby,
        shutdown: Shutdown,
    ) -> None:
        self._sides = sides
        self._out = out
        self._holdings = holdings
        self._peer = peer
        self._negotiation = negotiation
        self._jobs = jobs
        self._standby = standby
        self._shutdown = shutdown

    def request_standby(self, which: str, now: float, why: str = "") -> str | None:
        """``hb_standby [all|foreign|local|failback]``; None when accepted, else why not.
        ``why`` says who asks when it is not the operator (ipfail)."""
        word = STANDBY_WORDS.get(which)
        refusal = self._refuse("standby", which, word, "Cannot enter standby.", now)
        if refusal or word is None:
            return refusal
        self._standby.go_standby(word, why or f"operator asked for standby [{word}]")
        return None

    def request_takeover(self, which: str, now: float) -> str | None:
        """``hb_takeover [all|foreign|local|failback]``: ask the peer to go standby."""
        word = which or "all"
        known = word if word in ("all", "foreign", "local", "failback") else None
        refusal = self._refuse("takeover", which, known, "Cannot take over.", now)
        if refusal:
            return refusal
        self._out.event(
            "takeover",
            f"operator asked {self._sides.other} to hand over [{word}]",
            node=self._sides.other or "",
            log=f"Requesting takeover [{word}].",
        )
        self._out.send(wire.hb_takeover(word))
        return None

    def _refuse(
        self, what: str, which: str, word: str | None, legacy: str, now: float
    ) -> str | None:
        """Why a standby/takeover of ``which`` (``word`` once known) cannot start now, or
        None; every refusal is also a timeline entry (an unknown set, legacy mode, the
        cluster in flux)."""
        refusal: str | None
        if word is None:
            refusal = f"unknown resource set '{which}': use all, foreign, local or failback"
        elif not self._sides.nice:
            refusal = f"auto_failback is set to legacy.  {legacy}"
        else:
            refusal = self.transition_refusal(now)
        if refusal:
            text = f"{what} [{word or which}] refused: {refusal}"
            self._out.event("refused", text, level="WARN", log=text)
        return refusal

    def on_hb_takeover(self, msg: Message, src: str) -> None:
        """rc.d/hb_takeover: the peer wants our resources; run hb_standby (quirks kept)."""
        if src == self._sides.us:
            return
        asked = msg.get("rsc_hold") or ""
        word = {"all": "all", "local": "foreign", "foreign": "local"}.get(asked, "all")
        why = f"{src} asked to take over [{asked}]"
        go = call(lambda _j, _now: self._standby.go_standby(word, why))
        self._jobs.enqueue(Job("hb_takeover", [go]))

    def transition_refusal(self, now: float) -> str | None:
        """Why a standby/takeover cannot start now, or None."""
        if self._shutdown.wanted or self._shutdown.in_progress:
            return "Heartbeat shutdown in progress."
        if not self._peer.comm_up:
            return "communications are not up yet"
        if self._sides.other is None:
            return "there is no peer node to hand resources to"
        if self._peer.status != "active":
            return f"{self._sides.other} is {self._peer.status}: it cannot take resources now"
        left = self._standby.seconds_left(now)
        if left is not None:
            return f"Standby in progress [{left} seconds left]"
        if not self._peer.stable:
            return "Other side is in flux."
        negotiation = self._negotiation
        if negotiation.state is not ResourceState.STABLE or self._jobs.busy():
            return "local resources in flux."
        if negotiation.takeover_in_progress:
            return "local resources in flux."
        return None

    def push_failed_group(self, which: str, key: str, now: float) -> None:
        """30 s after a failed start: ``hb_standby <class>`` once (spec §7.3)."""
        g = self._holdings[key]
        if g.state != "failed" or g.failed_op != "start":
            return
        refusal = self.transition_refusal(now)
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
