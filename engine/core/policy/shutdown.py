"""Leaving the cluster: graceful shutdown (spec §7.9), give-up, and a local stall.

A graceful shutdown waits for a stable cluster, releases every group, then sends
``shutdone``. A group that cannot be stopped blocks it: ``shutdone`` is not sent, so
the peer does not start it (see the differences from Heartbeat in ``__init__``).
``give_up`` is the same release without waiting (a dead ``failfast`` child). (A local
stall's self-fence is ``selffence.py``.) ``Shutdown`` is the only writer of the
shutdown's progress.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

from engine.core.policy import wire
from engine.core.policy.holdings import Holdings
from engine.core.policy.jobs import JobQueue
from engine.core.policy.negotiation import Negotiation
from engine.core.policy.outbox import Outbox, log
from engine.core.policy.peer import PeerView
from engine.core.policy.pushes import PushSchedule
from engine.core.policy.records import Job, call, log_step, release_steps
from engine.core.policy.sides import Sides
from engine.core.policy_types import Hold


class Settledness(Protocol):
    """What shutdown asks of ``stability.Stability`` (which builds on this module)."""

    def is_stable(self) -> bool:
        """No resource activity under way."""
        ...

    def reason(self) -> str:
        """Why not ("" when stable)."""
        ...


class Shutdown:
    """``request``, ``give_up`` and the release-everything job."""

    def __init__(
        self,
        sides: Sides,
        out: Outbox,
        holdings: Holdings,
        peer: PeerView,
        negotiation: Negotiation,
        pushes: PushSchedule,
        jobs: JobQueue,
    ) -> None:
        self._sides = sides
        self._out = out
        self._holdings = holdings
        self._peer = peer
        self._negotiation = negotiation
        self._pushes = pushes
        self._jobs = jobs
        self._wanted = False
        self._delay_logged = False
        self._in_progress = False
        self._complete = False
        self._blocked = ""

    @property
    def wanted(self) -> bool:
        """A shutdown (or give-up) was asked for."""
        return self._wanted

    @property
    def in_progress(self) -> bool:
        """Every group is being released: nothing new may start."""
        return self._in_progress

    @property
    def complete(self) -> bool:
        """Every group was released and ``shutdone`` was queued."""
        return self._complete

    @property
    def blocked(self) -> str:
        """Why the shutdown cannot finish ("" unless a stop failed during it)."""
        return self._blocked

    def request(self) -> bool:
        """Graceful stop asked for; False when it already was."""
        if self._wanted:
            return False
        self._wanted = True
        if not self._peer.comm_up:
            self._out.event(
                "shutdown",
                "shutdown waits for communications to come up",
                level="WARN",
                log="Shutdown delayed until Communication is up.",
            )
        return True

    def try_begin(self, stability: Settledness) -> bool:
        """Begin releasing everything once communications are up and we are stable;
        True when it began."""
        if not self._peer.comm_up:
            return False
        if not stability.is_stable():
            if not self._delay_logged:
                self._delay_logged = True
                self._out.event(
                    "shutdown",
                    f"shutdown waits for the current resource activity: {stability.reason()}",
                    level="WARN",
                    log="Shutdown delayed until current resource activity finishes.",
                )
            return False
        self._out.event(
            "shutdown",
            "graceful shutdown: releasing every group we hold",
            node=self._sides.us,
            log=f"Heartbeat shutdown in progress. ({os.getpid()})",
        )
        self._jobs.enqueue(self._release_all_job("graceful shutdown of this node"))
        return True

    def give_up(self, reason: str) -> bool:
        """Leave the cluster now, without waiting to be stable (a ``failfast`` child died;
        Heartbeat reboots the machine there, spec §9.6). False when everything is being
        released already.

        Queued work is dropped; once the action in flight (if any) has finished, every
        group is released ahead of anything else, then ``shutdone`` tells the peer to
        take over without fencing us. A stop that fails blocks it as in a graceful
        shutdown.
        """
        self._wanted = True
        self._out.event("failfast", reason, node=self._sides.us, level="CRIT")
        if self._in_progress:
            return False
        self._jobs.drop_queued()
        self._jobs.enqueue_first(self._release_all_job(reason))
        return True

    def _release_all_job(self, reason: str) -> Job:
        """Claim nothing from now on, tell the peer, and queue the release of every group."""
        self._in_progress = True
        self._holdings.claim_exactly(Hold.NONE)
        self._negotiation.shut_down()
        self._pushes.cancel_all()
        self._holdings.report(False, "shutdown")
        keys = self._holdings.not_stopped(self._holdings)
        steps = [log_step("info", "Giving up all HA resources."), *release_steps(keys, reason)]
        return Job("shutdown", [*steps, call(self._finish)])

    def _finish(self, job: Job, _now: float) -> None:
        if job.failures:
            self._stop_failed(job.failures)
            return
        log("info", "All HA resources relinquished.")
        self._out.send(wire.shutdone())
        self._complete = True

    def _stop_failed(self, failures: Sequence[str]) -> None:
        """Keep claiming the groups that did not stop; never send ``shutdone``."""
        held = Hold.NONE
        for key in failures:
            held |= self._holdings.class_of(key)
        self._holdings.claim_exactly(held)
        other = self._sides.other
        self._blocked = f"shutdown blocked: could not stop {', '.join(failures)}; " + (
            f"{other} fences this node before it starts them"
            if self._sides.config.stonith and other
            else "no STONITH device: stop them by hand, then stop the engine again"
        )
        self._out.event(
            "failed",
            f"shutdown blocked: could not stop {', '.join(failures)};"
            " not sending shutdone so the peer does not start them",
            node=self._sides.us,
            level="CRIT",
            log="Resource STOP failure during shutdown. Not sending shutdone!",
        )
        log("CRIT", self._blocked)
        self._holdings.report(False, "shutdown")
