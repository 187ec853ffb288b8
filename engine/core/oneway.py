"""One-way loss guard: step back from groups a peer that cannot hear us has taken over.

Everything we send is lost (a broken transmit path, a one-way firewall rule) while we
still hear the peer. The peer declares us dead and takes our groups over; we keep
running them, and without STONITH both nodes hold the cluster IP for as long as the
fault lasts. Our answer to the peer's claim (``_answer_claim``) is lost with the rest
of what we send, so the only way back to one owner is that *we* step back. Two facts
tell us when (both from the peer's own packets, which still reach us):

* its status heartbeats no longer list us in ``hears`` (a hatui peer's extra field);
* its hold report claims groups that run here.

Rules (``decide`` is the one entry point; it returns at most one decision):

* Both facts, and the peer is ``active``: release the claimed groups now (a keepalive
  or two after the peer's takeover), with the reason.
* Except just after the peer came back (from dead, from a restart): its first
  heartbeats were sent before it heard anything from us, and after a *two-way*
  partition both nodes claim each other's groups on the heal. The facts count only
  once the peer has been active for ``grace`` (three keepalives), by which time a peer
  that hears us lists us again; a one-way loss that began at the peer's start (it
  never heard us) is answered after that grace.
* A peer that never sends ``hears`` (real Heartbeat 3.0.6) gives no second fact: the
  guard never acts on it (Heartbeat itself keeps both owners here).
* With STONITH the peer fences us before it claims anything (``_recover_dead``), so a
  claim seen here means the reset it counted as done did not stop us: the release is
  the safety net and cannot overtake the fence. A peer still waiting to fence (or
  retrying a failed fence) claims nothing, so we keep running: one owner.
* Once the release is done and the peer lists us again: rejoin, i.e. announce
  ourselves like a node that starts (``starting``), so the normal start-up exchange
  decides who runs what under the ``auto_failback`` rules.
* A release that failed (a stop failed): when the peer hears us again we report the
  failed stop, and the peer's failed-stop path (fence, or wait for an operator) runs.
* The peer dead for us (a full partition) or restarting: the death/restart paths own
  the situation; the guard forgets what it did.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Phase(Enum):
    """Where the guard is; the value is what ``status --json`` shows."""

    WATCHING = "watching"
    RELEASING = "releasing"
    RELEASED = "released"
    STOP_FAILED = "stop failed"


@dataclass(frozen=True, slots=True)
class OneWayFacts:
    """What the policy knows at one moment (gathered by ``engine/core/policy/oneway.py``)."""

    peer: str
    peer_active: bool
    """The peer's status is ``active`` (not dead, not restarting)."""
    peer_hears_us: bool | None
    """Its latest status lists us (True) or not (False); None: it sends no ``hears``
    (real Heartbeat), or nothing since it was declared dead."""
    claimed: tuple[str, ...]
    """Groups running or starting here that the peer's latest hold report claims."""
    stop_failed: tuple[str, ...]
    """Groups whose stop failed here."""
    busy: bool
    """Resource work is running or queued here."""
    settled: bool
    """Not busy, resources stable (no negotiation, no standby, no shutdown): a rejoin
    would not cut into another exchange."""
    stonith: bool
    """A STONITH device is configured (the peer fences us before it claims)."""


@dataclass(frozen=True, slots=True)
class ReleaseClaimed:
    """Release these groups now (ahead of any other work): the peer runs them."""

    groups: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class Rejoin:
    """The peer hears us again: announce ``starting`` so the start-up exchange decides."""

    groups: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class ReportStopFailed:
    """The peer hears us again but a release failed: tell it (hold report ``stop failed``)."""

    groups: tuple[str, ...]
    reason: str


OneWayDecision = ReleaseClaimed | Rejoin | ReportStopFailed


class OneWayGuard:
    """The one-way loss rule for one node and its peer, with time passed in."""

    def __init__(self, me: str, grace: float) -> None:
        self.me = me
        self.grace = grace
        """Seconds the peer must have been active before its facts count."""
        self.peer = ""
        self.phase = Phase.WATCHING
        self.groups: tuple[str, ...] = ()
        """The groups released (or being released) because of the peer's claim."""
        self.reason = ""
        self.peer_hears_us: bool | None = None
        self._unheard_since: float | None = None
        self._active_since: float | None = None
        self._waiting = False
        """A release waits for the grace (``next_deadline``)."""
        self.releases = 0
        """How many times the rule released groups (status --json counter)."""

    def decide(self, facts: OneWayFacts, now: float) -> OneWayDecision | None:
        """Take the current facts; say what to do now (None: nothing)."""
        self.peer = facts.peer
        self._track(facts, now)
        if self.phase is Phase.RELEASING and not facts.busy:
            failed = any(g in facts.stop_failed for g in self.groups)
            self.phase = Phase.STOP_FAILED if failed else Phase.RELEASED
        if not facts.peer_active:
            self._forget()
            return None
        if facts.peer_hears_us is False:
            return self._release(facts, now)
        if facts.peer_hears_us and facts.settled:
            return self._come_back(facts)
        return None

    def next_deadline(self) -> float | None:
        """When a release that waits for the grace may go ahead (None: nothing waits)."""
        if not self._waiting or self._active_since is None:
            return None
        return self._active_since + self.grace

    def view(self) -> dict[str, object]:
        """The ``resources.one_way`` part of ``status --json``."""
        return {
            "state": self.phase.value,
            "peer": self.peer or None,
            "peer_hears_us": self.peer_hears_us,
            "groups": list(self.groups),
            "reason": self.reason,
            "releases": self.releases,
        }

    # ------------------------------------------------------------------ rules

    def _track(self, facts: OneWayFacts, now: float) -> None:
        """Since when the peer has not listed us, and since when it has been active."""
        self.peer_hears_us = facts.peer_hears_us
        self._waiting = False
        if facts.peer_hears_us is not False:
            self._unheard_since = None
        elif self._unheard_since is None:
            self._unheard_since = now
        if not facts.peer_active:
            self._active_since = None
        elif self._active_since is None:
            self._active_since = now

    def _release(self, facts: OneWayFacts, now: float) -> ReleaseClaimed | None:
        """The peer does not hear us: release what it claims and we still run."""
        busy = self.groups if self.phase is Phase.RELEASING else ()
        fresh = tuple(g for g in facts.claimed if g not in busy)
        if not fresh:
            return None
        since_active = self._active_since if self._active_since is not None else now
        if now - since_active < self.grace:
            self._waiting = True
            return None
        since = self._unheard_since if self._unheard_since is not None else now
        unheard = (
            f"have not listed {self.me} for {now - since:.1f} s"
            if now > since
            else f"no longer list {self.me}"
        )
        it = "them" if len(fresh) > 1 else "it"
        why = (
            f"one-way loss: {facts.peer} claims {', '.join(fresh)} and its heartbeats "
            f"{unheard}: it declared {self.me} dead and took over; {self.me} releases {it} "
            f"so that only {facts.peer} runs {it}"
        )
        if facts.stonith:
            why += (
                f" (STONITH configured: {facts.peer} claims only after resetting "
                f"{self.me}, which still runs)"
            )
        else:
            why += " (no STONITH device: nothing else stops two owners)"
        kept = self.groups if self.phase is not Phase.WATCHING else ()
        self.groups = (*kept, *(g for g in fresh if g not in kept))
        self.phase = Phase.RELEASING
        self.reason = why
        self.releases += 1
        return ReleaseClaimed(fresh, why)

    def _come_back(self, facts: OneWayFacts) -> OneWayDecision | None:
        """The peer hears us again and our release is over: rejoin or report."""
        groups = self.groups
        if self.phase is Phase.RELEASED:
            self._forget()
            why = (
                f"{facts.peer} hears {self.me} again: {self.me} announces itself as a "
                f"starting node, so that the start-up exchange decides who runs "
                f"{', '.join(groups)} (auto_failback rules)"
            )
            return Rejoin(groups, why)
        if self.phase is Phase.STOP_FAILED:
            failed = tuple(g for g in groups if g in facts.stop_failed) or groups
            self._forget()
            why = (
                f"{facts.peer} hears {self.me} again, but {self.me} could not stop "
                f"{', '.join(failed)} when {facts.peer} took it over: reporting the failed "
                f"stop so that {facts.peer} fences {self.me} or waits for an operator"
            )
            return ReportStopFailed(failed, why)
        return None

    def _forget(self) -> None:
        self.phase = Phase.WATCHING
        self.groups = ()
        self.reason = ""
