"""Heartbeat's serialised resource "children" as internal jobs (spec §7.4).

``JobQueue`` runs jobs strictly one after another; each step emits at most one
Acquire/Release and waits for its result (``on_action_done``). It is the only writer
of the queue, the running job, the action in flight and the deferred work, and the
one that turns group actions into group states (through ``Holdings``).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from engine.core.policy.constants import FAILED_START_PUSH_DELAY
from engine.core.policy.holdings import Group, Holdings
from engine.core.policy.monitor_book import MonitorBook
from engine.core.policy.negotiation import Acquisition
from engine.core.policy.outbox import Outbox
from engine.core.policy.pushes import PushSchedule
from engine.core.policy.records import Job, Step
from engine.core.policy.sides import Sides
from engine.core.policy_types import Acquire, Hold, Release

logger = logging.getLogger(__name__)


class JobQueue:
    """The job queue, its group actions and their results."""

    def __init__(
        self,
        sides: Sides,
        holdings: Holdings,
        out: Outbox,
        pushes: PushSchedule,
        acquisition: Acquisition,
        monitors: MonitorBook,
    ) -> None:
        self._sides = sides
        self._holdings = holdings
        self._out = out
        self._pushes = pushes
        self._acquisition = acquisition
        self._monitors = monitors
        self._queue: deque[Job] = deque()
        self._job: Job | None = None
        self._inflight: tuple[int, Step] | None = None
        self._soon: deque[Callable[[], None]] = deque()

    # ------------------------------------------------------------------ questions

    def busy(self) -> bool:
        return self._job is not None or bool(self._queue) or self._inflight is not None

    def busy_reason(self) -> str:
        """What resource work runs or waits ("" when none)."""
        if self._inflight is not None or self._job is not None:
            return f"resource work running ({self._job.name if self._job else 'an action'})"
        if self._queue:
            return f"resource work queued ({', '.join(j.name for j in self._queue)})"
        return ""

    # ------------------------------------------------------------------ queueing

    def enqueue(self, job: Job) -> None:
        self._queue.append(job)

    def enqueue_first(self, job: Job) -> None:
        """Run ``job`` before anything queued (after the action in flight)."""
        self._queue.appendleft(job)

    def drop_queued(self) -> None:
        """Drop every queued job and what the running job has not started yet."""
        if self._job is not None:
            self._job.abandon()
        self._queue.clear()

    def keep_only_releases(self) -> None:
        """Drop every step but the releases from the running and the queued jobs."""
        for job in [*([self._job] if self._job is not None else []), *self._queue]:
            job.keep_only_releases()

    def defer(self, work: Callable[[], None]) -> None:
        """Run ``work`` when the current input has been handled (Heartbeat forks)."""
        self._soon.append(work)

    def has_deferred(self) -> bool:
        return bool(self._soon)

    def run_deferred(self) -> None:
        while self._soon:
            self._soon.popleft()()

    # ------------------------------------------------------------------ running

    def pump(self, now: float) -> None:
        """Start steps until one waits for its action or the queue is empty."""
        while self._inflight is None:
            if self._job is None:
                if not self._queue:
                    return
                self._job = self._queue.popleft()
            job = self._job
            step = job.next_step()
            if step is None:
                self._job = None
                self._job_finished(job)
                continue
            if step.call is not None:
                step.call(job, now)
            else:
                self._start_group_action(step)

    def on_action_done(self, action_id: int, ok: bool, reason: str, now: float) -> bool:
        """An Acquire/Release finished; False when it is not the one we wait for."""
        if self._inflight is None or self._inflight[0] != action_id:
            logger.error("policy: result for unknown action %d ignored", action_id)
            return False
        step = self._inflight[1]
        self._inflight = None
        if step.kind == "acquire":
            self._acquire_done(step, ok, reason, now)
        else:
            self._release_done(step, ok, reason)
        return True

    def _job_finished(self, job: Job) -> None:
        if job.name == "ip-request-resp":
            self._acquisition.done(local=True, why="ip-request-resp")
        elif job.name == "status" and not self._sides.nice:
            self._acquisition.done(foreign=True, why="status")

    def _start_group_action(self, step: Step) -> None:
        g = self._holdings.group(step.key)
        if g is None:
            logger.error("policy: unknown resource group %s", step.key)
            return
        if step.kind == "acquire":
            self._start_acquire(step, g)
        else:
            self._start_release(step, g)

    def _start_acquire(self, step: Step, g: Group) -> None:
        if g.state in ("running", "starting"):
            return
        if g.failed_op == "stop":
            self._out.event(
                "refused",
                f"not starting {step.key}: its stop failed earlier ({g.reason})",
                group=step.key,
                level="ERROR",
            )
            return
        held_back = self._monitors.holds_back(step.key)
        if held_back:
            self._out.event("refused", f"not starting {step.key} now: {held_back}", group=step.key)
            return
        self._holdings.starting(step.key, step.reason)
        self._inflight = (self._out.new_id(), step)
        self._out.act(Acquire(self._inflight[0], step.key, step.reason))
        self._out.event(
            "acquire",
            step.reason,
            node=self._sides.us,
            group=step.key,
            log=f"Acquiring resource group: {g.spec.canonical}",
        )

    def _start_release(self, step: Step, g: Group) -> None:
        if g.state == "stopped":
            return
        self._holdings.stopping(step.key, step.reason)
        self._inflight = (self._out.new_id(), step)
        self._out.act(Release(self._inflight[0], step.key, step.reason))
        self._out.event(
            "release",
            step.reason,
            node=self._sides.us,
            group=step.key,
            log=f"Releasing resource group: {g.spec.canonical}",
        )

    def _acquire_done(self, step: Step, ok: bool, reason: str, now: float) -> None:
        if ok:
            self._holdings.started(step.key, step.reason)
            return
        pushed = self._holdings[step.key].pushed
        failure = f"start failed: {reason} (while {step.reason})"
        self._holdings.failed(step.key, "start", failure)
        if self._job is not None:
            self._job.failed(step.key)
        which = "local" if self._holdings.class_of(step.key) is Hold.LOCAL else "foreign"
        push = ""
        monitor_recovery = self._job is not None and self._job.name == "monitor"
        other = self._sides.other
        if not pushed and other is not None and not monitor_recovery:
            self._holdings.mark_pushed(step.key)
            self._pushes.schedule(now + FAILED_START_PUSH_DELAY, which, step.key)
            push = f"; asking {other} to take the {which} groups in 30 s"
        self._out.event(
            "failed",
            failure + push,
            node=self._sides.us,
            group=step.key,
            level="CRIT",
            log=f"Giving up resources due to failure of {step.key}",
        )

    def _release_done(self, step: Step, ok: bool, reason: str) -> None:
        if ok:
            self._holdings.stopped(step.key, step.reason)
            return
        failure = (
            f"stop failed: {reason}; {self._sides.us} must be fenced or the resource "
            f"confirmed stopped before anyone starts it"
        )
        self._holdings.failed(step.key, "stop", failure)
        if self._job is not None:
            self._job.failed(step.key)
        self._out.event(
            "failed",
            failure,
            node=self._sides.us,
            group=step.key,
            level="CRIT",
            log=f"Resource STOP failure for {step.key}: {reason}. This node must be "
            f"fenced or the resource confirmed stopped!",
        )
