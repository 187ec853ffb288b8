"""The three-phase standby protocol (spec §7.8, Heartbeat's ``ask_for_resources``).

The node going standby sends ``ask_resources info=me``; the peer answers ``other``;
the first releases its set and sends ``done``; the second acquires the complementary
set and sends ``done``. ``hb_standby`` (``admin.py``), auto-failback, a monitor
handover and ipfail start it. ``Standby`` is the only writer
of ``going_standby``, its deadline and the set being handed over.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.core.policy import wire
from engine.core.policy.constants import STANDBY_INIT_TIMEOUT, STANDBY_RSC_TIMEOUT
from engine.core.policy.holdings import Holdings
from engine.core.policy.jobs import JobQueue
from engine.core.policy.negotiation import Acquisition, Negotiation
from engine.core.policy.outbox import Outbox, log
from engine.core.policy.peer import PeerView
from engine.core.policy.records import Job, acquire_steps, call, log_step, release_steps
from engine.core.policy.shutdown import Shutdown
from engine.core.policy.sides import Sides
from engine.core.policy_types import (
    Hold,
    ResourceState,
    StandbyState,
    hold_name,
    parse_hold,
    swap_view,
)
from engine.protocol.message import Message


class Standby:
    """Both sides of a standby hand-over."""

    def __init__(
        self,
        sides: Sides,
        out: Outbox,
        holdings: Holdings,
        peer: PeerView,
        negotiation: Negotiation,
        jobs: JobQueue,
        acquisition: Acquisition,
        shutdown: Shutdown,
    ) -> None:
        self._sides = sides
        self._out = out
        self._holdings = holdings
        self._peer = peer
        self._negotiation = negotiation
        self._jobs = jobs
        self._acquisition = acquisition
        self._shutdown = shutdown
        self._state = StandbyState.NOT
        self._deadline: float | None = None
        self._set = Hold.ALL

    @property
    def state(self) -> StandbyState:
        """Heartbeat's ``going_standby``: NOT, ME, OTHER or DONE."""
        return self._state

    @property
    def deadline(self) -> float | None:
        """When a standby waiting for its answer (or hand-over) is given up."""
        return self._deadline

    def seconds_left(self, now: float) -> int | None:
        """Whole seconds until a running standby's deadline, None when none runs."""
        if self._deadline is None or now >= self._deadline:
            return None
        return int(self._deadline - now + 0.999)

    # ------------------------------------------------------------------ requests

    def go_standby(self, word: str, why: str) -> None:
        """What ``hb_standby <word>`` does: log and send ``ask_resources info=me``."""
        self._out.event("standby", why, node=self._sides.us, log=f"Going standby [{word}].")
        self._out.send(wire.ask_resources(word, "me"))

    def ask_failback(self) -> None:
        """Auto-failback: hand the foreign groups back to their home node."""
        self._set = Hold.FOREIGN
        self._out.send(wire.ask_resources("foreign", "me"))

    # ------------------------------------------------------------------ cancelling

    def cancel(self) -> None:
        """The other side died or restarted: it forgot the standby it was part of, and
        waiting for its reply would hold every transition (and our shutdown)."""
        if self._state is not StandbyState.NOT or self._deadline is not None:
            log("info", "Cancelling pending standby operation")
        self._state, self._deadline = StandbyState.NOT, None

    def other_side_aborted(self) -> None:
        """The other side's report says it could not release what it handed us."""
        if self._state is not StandbyState.OTHER:
            return
        other = self._sides.other
        log("WARN", f"Standby request cancelled: {other} could not release its resources.")
        self._state, self._deadline = StandbyState.NOT, None

    def timed_out(self, now: float) -> bool:
        """Give a standby up when its deadline passed; True when it did."""
        if self._deadline is None or now < self._deadline:
            return False
        self._out.event(
            "refused",
            "no reply to the standby request; cancelled",
            level="WARN",
            log="No reply to standby request.  Standby request cancelled.",
        )
        self._state, self._deadline = StandbyState.NOT, None
        self._peer.mark_stable(True)
        return True

    # ------------------------------------------------------------------ the protocol

    def on_ask_resources(self, msg: Message, src: str, now: float) -> None:
        """One message of the three-phase protocol, from either side (ours loop back)."""
        if not self._sides.nice:
            log("info", "Standby mode only implemented when nice_failback on")
            return
        if self._negotiation.state is ResourceState.SHUTDOWN or self._shutdown.in_progress:
            return
        info = msg.get("info")
        rtype = parse_hold(msg.get("rsc_hold") or "all")
        if info is None or rtype is None:
            log("ERROR", f"Received bad standby message from {src}: {msg.describe()}")
            return
        if info == "me" and self._already_running(src, now):
            return
        orig = self._state
        handler = {
            StandbyState.NOT: self._in_not,
            StandbyState.ME: self._in_me,
            StandbyState.OTHER: self._in_other,
            StandbyState.DONE: self._in_done,
        }[orig]
        if not handler(info, src, rtype, now):
            log("ERROR", f"Ignored standby message '{info}' from {src} in state {int(orig)}")

    def _already_running(self, src: str, now: float) -> bool:
        """A new ``me`` while a standby is running is refused (and reported)."""
        left = self.seconds_left(now)
        if left is None:
            return False
        self._out.event(
            "refused",
            f"standby request from {src} ignored: another is running",
            node=src,
            level="WARN",
            log=f"Standby in progress- new request from {src} ignored [{left} seconds left]",
        )
        return True

    def _in_not(self, info: str, src: str, rtype: Hold, now: float) -> bool:
        if not self._peer.stable:
            self._flux(info, src, "Other side is in flux.")
            return True
        if self._negotiation.state is not ResourceState.STABLE:
            self._flux(info, src, "local resources in flux.")
            return True
        self._set = rtype
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
            self._state = StandbyState.ME
            self._deadline = now + STANDBY_INIT_TIMEOUT
        else:
            self._state = StandbyState.OTHER
            self._out.send(wire.ask_resources(hold_name(rtype), "other"))
            self._deadline = now + STANDBY_RSC_TIMEOUT
        return True

    def _flux(self, info: str, src: str, why: str) -> None:
        self._out.event(
            "refused",
            f"standby message [{info}] from {src} ignored: {why}",
            node=src,
            level="WARN",
            log=f"standby message [{info}] from {src} ignored.  {why}",
        )

    def _in_me(self, info: str, src: str, rtype: Hold, now: float) -> bool:
        if src != self._sides.us:
            self._set = rtype
            self._deadline = now + STANDBY_RSC_TIMEOUT
            if info != "other":
                return False
            log("info", f"standby: {src} can take our {hold_name(rtype)} resources")
            self._give_up(rtype)
            return True
        if info == "done":
            log("info", f"Local standby process completed [{hold_name(rtype)}].")
            self._state = StandbyState.DONE
            self._holdings.disclaim(self._set)
            self._deadline = now + STANDBY_RSC_TIMEOUT
            return True
        return info == "me"

    def _in_other(self, info: str, src: str, rtype: Hold, now: float) -> bool:
        self._set = rtype
        if info == "done":
            self._deadline = now + STANDBY_RSC_TIMEOUT
            if src == self._sides.us:
                return False
            log("info", f"standby: acquire [{hold_name(rtype)}] resources from {src}")
            self._take_over(rtype, src)
            self._state = StandbyState.DONE
            return True
        return src == self._sides.us and info == "other"

    def _in_done(self, info: str, src: str, rtype: Hold, _now: float) -> bool:
        self._set = rtype
        if info != "done":
            return False
        self._state, self._deadline = StandbyState.NOT, None
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
        self._holdings.report(True)
        return True

    def _give_up(self, rtype: Hold) -> None:
        """go_standby(ME): release the set, then send ``done`` (or abort on failure)."""
        self._peer.mark_stable(False)
        had = Hold(self._holdings.i_hold & rtype)
        self._holdings.disclaim(rtype)
        self._holdings.report(False, "standby")
        word = hold_name(rtype)
        why = f"standby: {self._sides.other} takes our [{word}] groups"
        keys = self._holdings.not_stopped(self._holdings.keys(rtype))

        def finish(j: Job, _now: float) -> None:
            if j.failures:
                self._abort(had, j.failures)
                return
            log("info", f"{word} HA resource release completed (standby).")
            self._holdings.handed_over(swap_view(rtype))  # it starts them from our done on
            self._out.send(wire.ask_resources(word, "done"))

        steps = [log_step("info", f"give up {word} HA resources (standby).")]
        steps += [*release_steps(keys, why), call(finish)]
        self._jobs.enqueue(Job("go_standby", steps))

    def _abort(self, had: Hold, failed: Sequence[str]) -> None:
        """A release failed: keep claiming what we held so the peer never starts it."""
        self._holdings.claim(had)
        self._state, self._deadline = StandbyState.NOT, None
        self._peer.mark_stable(True)
        self._out.event(
            "failed",
            f"standby aborted: could not stop {', '.join(failed)}; "
            f"{self._sides.other} must not start them until {self._sides.us} is fenced or "
            "they are confirmed stopped",
            node=self._sides.us,
            level="CRIT",
            log=f"Standby aborted: stop failed for {', '.join(failed)}.",
        )
        self._holdings.report(True, "standby aborted")

    def _take_over(self, rtype: Hold, src: str) -> None:
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
