"""Heartbeat's serialised resource "children" as internal jobs (spec §7.4).

Jobs run strictly one after another and each step emits at most one Acquire/Release;
``_settle`` drives deferred work and the queue until nothing more can move.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from engine.core.policy.holdings import Group
from engine.core.policy.messages import PolicyMessages
from engine.core.policy.outbox import log
from engine.core.policy.state import FAILED_START_PUSH_DELAY, _Job, _Step
from engine.core.policy_types import Acquire, Hold, Release

logger = logging.getLogger(__name__)


class PolicyJobs(PolicyMessages):
    """The job queue, its group actions and their results."""

    def on_action_done(self, action_id: int, ok: bool, reason: str, now: float) -> None:
        """An Acquire/Release finished; continue the job that asked for it."""
        self._now = now
        if self._inflight is None or self._inflight[0] != action_id:
            logger.error("policy: result for unknown action %d ignored", action_id)
            return
        step = self._inflight[1]
        self._inflight = None
        if step.kind == "acquire":
            self._acquire_done(step, ok, reason)
        else:
            self._release_done(step, ok, reason)
        self._settle()

    def _settle(self) -> None:
        """Run deferred work and the job queue until nothing more can move.

        Then start or cancel a resource monitor check: only a settled node checks.
        """
        for _ in range(1000):
            while self._soon:
                self._soon.popleft()()
            self._pump()
            if self._shutdown_wanted and not self._shutdown_in_progress:
                self._try_begin_shutdown()
            self._maybe_resolve_conflict()
            self._monitor_progress()
            if not self._soon:
                break
        self._monitor_dispatch()

    def _enqueue(self, job: _Job) -> None:
        self._queue.append(job)

    def _pump(self) -> None:
        while self._inflight is None:
            if self._job is None:
                if not self._queue:
                    return
                self._job = self._queue.popleft()
            job = self._job
            if not job.steps:
                self._job = None
                self._job_finished(job)
                continue
            step = job.steps.popleft()
            if step.call is not None:
                step.call(job)
            else:
                self._start_group_action(step)

    def _job_finished(self, job: _Job) -> None:
        if job.name == "ip-request-resp":
            self._local_done = True
            self._announce("ip-request-resp")
        elif job.name == "status" and not self._sides.nice:
            self._foreign_done = True
            self._announce("status")

    def _start_group_action(self, step: _Step) -> None:
        g = self._holdings.group(step.key)
        if g is None:
            logger.error("policy: unknown resource group %s", step.key)
            return
        if step.kind == "acquire":
            self._start_acquire(step, g)
        else:
            self._start_release(step, g)

    def _start_acquire(self, step: _Step, g: Group) -> None:
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
        held_back = self._monitor_holds_back(step.key)
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

    def _start_release(self, step: _Step, g: Group) -> None:
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

    def _acquire_done(self, step: _Step, ok: bool, reason: str) -> None:
        g = self._holdings[step.key]
        if ok:
            self._holdings.started(step.key, step.reason)
            return
        failure = f"start failed: {reason} (while {step.reason})"
        self._holdings.failed(step.key, "start", failure)
        if self._job is not None:
            self._job.failures.append(step.key)
        which = "local" if self._holdings.class_of(step.key) is Hold.LOCAL else "foreign"
        push = ""
        monitor_recovery = self._job is not None and self._job.name == "monitor"
        if not g.pushed and self._sides.other is not None and not monitor_recovery:
            self._holdings.mark_pushed(step.key)
            self._pushes.append((self._now + FAILED_START_PUSH_DELAY, which, step.key))
            push = f"; asking {self._sides.other} to take the {which} groups in 30 s"
        self._out.event(
            "failed",
            failure + push,
            node=self._sides.us,
            group=step.key,
            level="CRIT",
            log=f"Giving up resources due to failure of {step.key}",
        )

    def _release_done(self, step: _Step, ok: bool, reason: str) -> None:
        if ok:
            self._holdings.stopped(step.key, step.reason)
            return
        failure = (
            f"stop failed: {reason}; {self._sides.us} must be fenced or the resource "
            f"confirmed stopped before anyone starts it"
        )
        self._holdings.failed(step.key, "stop", failure)
        if self._job is not None:
            self._job.failures.append(step.key)
        self._out.event(
            "failed",
            failure,
            node=self._sides.us,
            group=step.key,
            level="CRIT",
            log=f"Resource STOP failure for {step.key}: {reason}. This node must be "
            f"fenced or the resource confirmed stopped!",
        )

    def _acquire_steps(self, keys: list[str], reason: str) -> list[_Step]:
        return [_Step("acquire", k, reason) for k in keys]

    def _release_steps(self, keys: list[str], reason: str) -> list[_Step]:
        return [_Step("release", k, reason) for k in keys]

    def _call(self, fn: Callable[[_Job], None]) -> _Step:
        return _Step("call", call=fn)

    def _log_step(self, level: str, text: str) -> _Step:
        return self._call(lambda _job: log(level, text))
