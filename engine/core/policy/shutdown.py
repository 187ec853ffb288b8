"""Graceful shutdown (spec §7.9): release every group, then send ``shutdone``.

A group that cannot be stopped blocks the shutdown: ``shutdone`` is not sent, so the
peer does not start it (see the differences from Heartbeat in ``__init__``). ``give_up``
is the same release without waiting for a stable cluster (a dead ``failfast`` child).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from engine.core.policy import wire
from engine.core.policy.messages import PolicyJobs
from engine.core.policy.outbox import log
from engine.core.policy.records import Job, call, log_step, release_steps
from engine.core.policy_types import Hold


class ShutdownMixin(PolicyJobs):
    """``request_shutdown``, ``give_up`` and the shutdown job."""

    @property
    def shutdown_complete(self) -> bool:
        """True once every group was released and ``shutdone`` was queued."""
        return self._shutdown_complete

    def request_shutdown(self, now: float) -> str | None:
        """Graceful stop (spec §7.9); the shell exits when ``shutdown_complete``."""
        self._now = now
        if self._shutdown_wanted:
            return None
        self._shutdown_wanted = True
        if not self._peer.comm_up:
            self._out.event(
                "shutdown",
                "shutdown waits for communications to come up",
                level="WARN",
                log="Shutdown delayed until Communication is up.",
            )
        self._settle()
        return None

    def _try_begin_shutdown(self) -> None:
        if not self._peer.comm_up:
            return
        if not self._is_stable():
            if not self._shutdown_delay_logged:
                self._shutdown_delay_logged = True
                self._out.event(
                    "shutdown",
                    f"shutdown waits for the current resource activity: {self._unstable_reason()}",
                    level="WARN",
                    log="Shutdown delayed until current resource activity finishes.",
                )
            return
        self._out.event(
            "shutdown",
            "graceful shutdown: releasing every group we hold",
            node=self._sides.us,
            log=f"Heartbeat shutdown in progress. ({os.getpid()})",
        )
        self._jobs.enqueue(self._release_all_job("graceful shutdown of this node"))

    def give_up(self, reason: str, now: float) -> None:
        """Leave the cluster now, without waiting to be stable (a ``failfast`` child died;
        Heartbeat reboots the machine there, spec §9.6).

        Queued work is dropped; once the action in flight (if any) has finished, every
        group is released ahead of anything else, then ``shutdone`` tells the peer to
        take over without fencing us. A stop that fails blocks it as in a graceful
        shutdown. The shell exits when ``shutdown_complete``.
        """
        self._now = now
        self._shutdown_wanted = True
        self._out.event("failfast", reason, node=self._sides.us, level="CRIT")
        if self._shutdown_in_progress:
            return  # already releasing everything
        self._jobs.drop_queued()
        self._jobs.enqueue_first(self._release_all_job(reason))
        self._settle()

    def _release_all_job(self, reason: str) -> Job:
        """Claim nothing from now on, tell the peer, and queue the release of every group."""
        self._shutdown_in_progress = True
        self._holdings.claim_exactly(Hold.NONE)
        self._negotiation.shut_down()
        self._failback_retry_at = None
        self._push_schedule.cancel_all()
        self._send_hold(False, "shutdown")
        keys = [k for k, g in self._holdings.items() if g.state != "stopped"]
        steps = [log_step("info", "Giving up all HA resources."), *release_steps(keys, reason)]
        return Job("shutdown", [*steps, call(self._finish_shutdown)])

    def _finish_shutdown(self, job: Job, _now: float) -> None:
        if job.failures:
            self._shutdown_stop_failed(job.failures)
            return
        log("info", "All HA resources relinquished.")
        self._out.send(wire.shutdone())
        self._shutdown_complete = True

    def _shutdown_stop_failed(self, failures: Sequence[str]) -> None:
        """Keep claiming the groups that did not stop; never send ``shutdone``."""
        held = Hold.NONE
        for key in failures:
            held |= self._holdings.class_of(key)
        self._holdings.claim_exactly(held)
        self._shutdown_blocked = f"shutdown blocked: could not stop {', '.join(failures)}; " + (
            f"{self._sides.other} fences this node before it starts them"
            if self._sides.config.stonith and self._sides.other
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
        log("CRIT", self._shutdown_blocked)
        self._send_hold(False, "shutdown")
