"""The three-phase standby protocol (spec §7.8, Heartbeat's ``ask_for_resources``).

The node going standby sends ``ask_resources info=me``; the peer answers ``other``;
the first releases its set and sends ``done``; the second acquires the complementary
set and sends ``done``. Auto-failback and ``hb_takeover`` start the same protocol.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from engine.core.policy import wire
from engine.core.policy.constants import (
    FAILBACK_RETRY,
    STANDBY_INIT_TIMEOUT,
    STANDBY_RSC_TIMEOUT,
)
from engine.core.policy.messages import PolicyJobs
from engine.core.policy.outbox import log
from engine.core.policy.records import Job, acquire_steps, call, log_step, release_steps
from engine.core.policy_types import (
    Hold,
    ResourceState,
    StandbyState,
    hold_name,
    parse_hold,
    swap_view,
)
from engine.protocol.message import Message

logger = logging.getLogger(__name__)


class StandbyMixin(PolicyJobs):
    """Standby requests, both sides of the hand-over, and auto-failback."""

    def _go_standby_request(self, word: str, why: str) -> None:
        """What ``hb_standby <word>`` does: log and send ``ask_resources info=me``."""
        self._out.event("standby", why, node=self._sides.us, log=f"Going standby [{word}].")
        self._out.send(wire.ask_resources(word, "me"))

    def _on_hb_takeover(self, msg: Message, src: str) -> None:
        """rc.d/hb_takeover: the peer wants our resources; run hb_standby (quirks kept)."""
        if src == self._sides.us:
            return
        asked = msg.get("rsc_hold") or ""
        word = {"all": "all", "local": "foreign", "foreign": "local"}.get(asked, "all")
        why = f"{src} asked to take over [{asked}]"
        self._jobs.enqueue(
            Job("hb_takeover", [call(lambda _j, _now: self._go_standby_request(word, why))])
        )

    def _on_ask_resources(self, msg: Message, src: str) -> None:
        """Three-phase standby protocol (spec §7.8, Heartbeat's ask_for_resources)."""
        if not self._sides.nice:
            log("info", "Standby mode only implemented when nice_failback on")
            return
        if self._negotiation.state is ResourceState.SHUTDOWN or self._shutdown_in_progress:
            return
        info = msg.get("info")
        rtype = parse_hold(msg.get("rsc_hold") or "all")
        if info is None or rtype is None:
            log("ERROR", f"Received bad standby message from {src}: {msg.describe()}")
            return
        if info == "me" and self._standby_already_running(src):
            return
        orig = self._standby
        handler = {
            StandbyState.NOT: self._standby_not,
            StandbyState.ME: self._standby_me,
            StandbyState.OTHER: self._standby_other,
            StandbyState.DONE: self._standby_done,
        }[orig]
        if not handler(info, src, rtype):
            log("ERROR", f"Ignored standby message '{info}' from {src} in state {int(orig)}")

    def _standby_already_running(self, src: str) -> bool:
        """A new ``me`` while a standby is running is refused (and reported)."""
        if self._standby_deadline is None or self._now >= self._standby_deadline:
            return False
        left = int(self._standby_deadline - self._now + 0.999)
        self._out.event(
            "refused",
            f"standby request from {src} ignored: another is running",
            node=src,
            level="WARN",
            log=f"Standby in progress- new request from {src} ignored [{left} seconds left]",
        )
        return True

    def _standby_not(self, info: str, src: str, rtype: Hold) -> bool:
        if not self._peer.stable:
            self._standby_flux(info, src, "Other side is in flux.")
            return True
        if self._negotiation.state is not ResourceState.STABLE:
            self._standby_flux(info, src, "local resources in flux.")
            return True
        self._standby_set = rtype
        if info != "me":
            return False
        self._peer.mark_stable(False)
        self._out.event(
            "standby",
            f"{src} asked to hand over its [{hold_name(rtype)}] groups",
            node=src,
            log=f"{src} wants to go standby [{hold_name(rtype)}]",
        )
        if src == self._sides.us:
            self._standby = StandbyState.ME
            self._standby_deadline = self._now + STANDBY_INIT_TIMEOUT
        else:
            self._standby = StandbyState.OTHER
            self._out.send(wire.ask_resources(hold_name(rtype), "other"))
            self._standby_deadline = self._now + STANDBY_RSC_TIMEOUT
        return True

    def _standby_flux(self, info: str, src: str, why: str) -> None:
        self._out.event(
            "refused",
            f"standby message [{info}] from {src} ignored: {why}",
            node=src,
            level="WARN",
            log=f"standby message [{info}] from {src} ignored.  {why}",
        )

    def _standby_me(self, info: str, src: str, rtype: Hold) -> bool:
        if src != self._sides.us:
            self._standby_set = rtype
            self._standby_deadline = self._now + STANDBY_RSC_TIMEOUT
            if info != "other":
                return False
            log("info", f"standby: {src} can take our {hold_name(rtype)} resources")
            self._give_up_for_standby(rtype)
            return True
        if info == "done":
            log("info", f"Local standby process completed [{hold_name(rtype)}].")
            self._standby = StandbyState.DONE
            self._holdings.disclaim(self._standby_set)
            self._standby_deadline = self._now + STANDBY_RSC_TIMEOUT
            return True
        return info == "me"

    def _standby_other(self, info: str, src: str, rtype: Hold) -> bool:
        self._standby_set = rtype
        if info == "done":
            self._standby_deadline = self._now + STANDBY_RSC_TIMEOUT
            if src == self._sides.us:
                return False
            log("info", f"standby: acquire [{hold_name(rtype)}] resources from {src}")
            self._acquire_for_standby(rtype, src)
            self._standby = StandbyState.DONE
            return True
        return src == self._sides.us and info == "other"

    def _standby_done(self, info: str, src: str, rtype: Hold) -> bool:
        self._standby_set = rtype
        if info != "done":
            return False
        self._standby, self._standby_deadline = StandbyState.NOT, None
        if src == self._sides.us:
            log("info", f"Standby resource acquisition done [{hold_name(rtype)}].")
            if self._sides.auto:
                self._acquisition.done(local=True, why="auto_failback")
            self._holdings.claim(swap_view(rtype))
        else:
            self._out.event(
                "standby",
                f"{src} now runs the [{hold_name(rtype)}] groups we handed over",
                node=src,
                log=f"Other node completed standby takeover of {hold_name(rtype)} resources.",
            )
        self._send_hold(True)
        return True

    def _give_up_for_standby(self, rtype: Hold) -> None:
        """go_standby(ME): release the set, then send ``done`` (or abort on failure)."""
        self._peer.mark_stable(False)
        had = Hold(self._holdings.i_hold & rtype)
        self._holdings.disclaim(rtype)
        self._send_hold(False, "standby")
        word = hold_name(rtype)
        why = f"standby: {self._sides.other} takes our [{word}] groups"
        keys = self._holdings.not_stopped(self._holdings.keys(rtype))

        def finish(j: Job, _now: float) -> None:
            if j.failures:
                self._abort_standby(had, j.failures)
                return
            log("info", f"{word} HA resource release completed (standby).")
            self._out.send(wire.ask_resources(word, "done"))

        steps = [log_step("info", f"give up {word} HA resources (standby).")]
        steps += [*release_steps(keys, why), call(finish)]
        self._jobs.enqueue(Job("go_standby", steps))

    def _abort_standby(self, had: Hold, failed: Sequence[str]) -> None:
        """A release failed: keep claiming what we held so the peer never starts it."""
        self._holdings.claim(had)
        self._standby, self._standby_deadline = StandbyState.NOT, None
        self._peer.mark_stable(True)
        self._out.event(
            "failed",
            f"standby aborted: could not stop {', '.join(failed)}; "
            f"{self._sides.other} must not start them until {self._sides.us} is fenced or they "
            "are confirmed stopped",
            node=self._sides.us,
            level="CRIT",
            log=f"Standby aborted: stop failed for {', '.join(failed)}.",
        )
        self._send_hold(True, "standby aborted")

    def _acquire_for_standby(self, rtype: Hold, src: str) -> None:
        """go_standby(OTHER): take the complementary view of the set, then send ``done``."""
        act = Hold.ALL if rtype is Hold.ALL else swap_view(rtype)
        word = hold_name(act)
        why = f"standby: {src} handed over its [{hold_name(rtype)}] groups"

        def finish(_j: Job, _now: float) -> None:
            log("info", f"{word} HA resource acquisition completed (standby).")
            self._out.send(wire.ask_resources(hold_name(rtype), "done"))

        steps = [log_step("info", f"acquire {word} HA resources (standby).")]
        steps += [*acquire_steps(self._holdings.keys(act), why), call(finish)]
        self._jobs.enqueue(Job("go_standby", steps))

    def _standby_timed_out(self) -> None:
        self._out.event(
            "refused",
            "no reply to the standby request; cancelled",
            level="WARN",
            log="No reply to standby request.  Standby request cancelled.",
        )
        self._standby, self._standby_deadline = StandbyState.NOT, None
        self._peer.mark_stable(True)

    def _perform_auto_failback(self) -> None:
        if (
            not (self._holdings.i_hold & Hold.FOREIGN)
            or not self._needs_failback
            or not self._sides.auto
        ):
            self._needs_failback = False
            return
        if self._peer.status == "dead" or self._shutdown_in_progress or self._peer.leaving:
            return  # nobody to hand them to (a leaving peer is not coming back as such)
        if (
            self._standby is not StandbyState.NOT
            or not self._peer.stable
            or self._negotiation.state is not ResourceState.STABLE
        ):
            logger.debug("Auto failback delayed.")
            self._failback_retry_at = self._now + FAILBACK_RETRY
            return
        self._needs_failback = False
        self._out.event(
            "failback",
            f"{self._sides.other} is back and stable: returning its groups (auto_failback on)",
            node=self._sides.other or "",
            log="Auto failback triggered.",
        )
        self._standby_set = Hold.FOREIGN
        self._out.send(wire.ask_resources("foreign", "me"))
