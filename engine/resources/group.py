"""Acquire and release one haresources group, as ResourceManager does (spec §7.3).

Acquire goes left to right and skips members that already run; the first failed start
gives the group up again. Release goes right to left and tries to stop every member,
retrying a failed stop. A stop that keeps failing while the resource still runs is the
one case where v1 reboots the machine; we do not: the outcome says the node must be
fenced before the peer may start the group, and the caller decides.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine.config.model import GroupSpec, ResourceSpec
from engine.core.policy_types import MonitorCheck
from engine.errors import ResourceError
from engine.resources.agents import Agent
from engine.resources.model import ActionResult, GroupOutcome, ResourceState, ResourceStatus

logger = logging.getLogger(__name__)

ProgressCallback = Callable[[ResourceStatus], None]
AgentFactory = Callable[[ResourceSpec], Agent]


@dataclass(frozen=True, slots=True)
class _StopReport:
    """How the stop of one member ended."""

    stopped: bool
    needs_fencing: bool
    problem: str = ""


class _Tracker:
    """The states of one group's members during one operation; reports every change."""

    def __init__(self, group: GroupSpec, on_progress: ProgressCallback | None) -> None:
        self._states = {
            r.token: ResourceStatus(r.token, ResourceState.STOPPED) for r in group.resources
        }
        self._order = [r.token for r in group.resources]
        self._on_progress = on_progress

    def set(self, token: str, state: ResourceState, reason: str = "") -> None:
        """Record a state and tell the progress callback (whose errors never stop us)."""
        status = ResourceStatus(token, state, reason)
        self._states[token] = status
        if self._on_progress is None:
            return
        try:
            self._on_progress(status)
        except Exception:
            logger.exception("Progress callback failed for %s", token)

    def note(self, token: str, reason: str) -> None:
        """Change only the reason of a member's state (no progress report)."""
        self._states[token] = ResourceStatus(token, self._states[token].state, reason)

    def get(self, token: str) -> ResourceStatus:
        """The last state recorded for ``token``."""
        return self._states[token]

    def snapshot(self) -> list[ResourceStatus]:
        """All members in haresources order."""
        return [self._states[token] for token in self._order]


class GroupRunner:
    """Runs acquire/release/status of groups through resolved agents.

    Args:
        resolve: turns a token into an agent (an ``AgentResolver``); may raise
            ResourceError, which counts as a failure of that member.
        stop_retries: extra attempts of a failed stop (``HA_STOPRETRYMAX``, default 10).
        retry_delay: seconds between stop attempts (1 s in Heartbeat).
    """

    def __init__(
        self, resolve: AgentFactory, *, stop_retries: int = 10, retry_delay: float = 1.0
    ) -> None:
        self._resolve = resolve
        self.stop_retries = max(0, stop_retries)
        self.retry_delay = retry_delay

    async def acquire(
        self, group: GroupSpec, on_progress: ProgressCallback | None = None
    ) -> GroupOutcome:
        """Start the members left to right; on the first failure give the group up."""
        started = time.monotonic()
        logger.info("Acquiring resource group: %s", group.canonical)
        track = _Tracker(group, on_progress)
        for index, spec in enumerate(group.resources):
            failure = await self._start_one(spec, track)
            if failure:
                return await self._give_up(group, index, failure, track, started)
        reason = f"all {len(group.resources)} resources running"
        return GroupOutcome(True, reason, track.snapshot(), _ms_since(started))

    async def release(
        self, group: GroupSpec, on_progress: ProgressCallback | None = None
    ) -> GroupOutcome:
        """Stop every member right to left, even ones that never started."""
        started = time.monotonic()
        logger.info("Releasing resource group: %s", group.canonical)
        track = _Tracker(group, on_progress)
        reports = await self._stop_members(group.resources, track)
        problems = [r.problem for r in reports if r.problem]
        fencing = any(r.needs_fencing for r in reports)
        ok = not fencing
        reason = "; ".join(problems) if problems else f"all {len(reports)} resources stopped"
        return GroupOutcome(ok, reason, track.snapshot(), _ms_since(started), fencing)

    async def status(self, group: GroupSpec) -> list[ResourceStatus]:
        """Ask every member whether it runs (left to right)."""
        statuses: list[ResourceStatus] = []
        for spec in group.resources:
            try:
                probe = await self._resolve(spec).status()
            except ResourceError as exc:
                statuses.append(ResourceStatus(spec.token, ResourceState.FAILED, str(exc)))
                continue
            statuses.append(ResourceStatus(spec.token, probe.state, probe.detail))
        return statuses

    async def monitor(self, group: GroupSpec, timeout: float) -> list[MonitorCheck]:
        """Check the members left to right, each ``status`` within ``timeout`` seconds
        (killed when it takes longer); stop at the first one that does not run."""
        checks: list[MonitorCheck] = []
        for spec in group.resources:
            started = time.monotonic()
            try:
                agent = self._resolve(spec)
            except ResourceError as exc:
                checks.append(MonitorCheck(spec.token, "failed", str(exc)))
                break
            agent.options = dataclasses.replace(agent.options, status_timeout=timeout)
            check = _judge_monitor(spec.token, await agent.status(), _ms_since(started))
            checks.append(check)
            if not check.ok:
                break
        return checks

    # --- acquire ---------------------------------------------------------------

    async def _start_one(self, spec: ResourceSpec, track: _Tracker) -> str:
        """Make one member run; return "" or the failure text for the reason."""
        try:
            agent = self._resolve(spec)
        except ResourceError as exc:
            logger.error("%s", exc)
            track.set(spec.token, ResourceState.FAILED, str(exc))
            return str(exc)
        probe = await agent.status()
        if probe.state is ResourceState.RUNNING:
            track.set(spec.token, ResourceState.RUNNING, "already running")
            return ""
        track.set(spec.token, ResourceState.STARTING)
        result = await agent.start()
        if result.ok:
            track.set(spec.token, ResourceState.RUNNING)
            return ""
        detail = f"start of {spec.token} failed ({result.detail})"
        track.set(spec.token, ResourceState.FAILED, detail)
        return detail

    async def _give_up(
        self,
        group: GroupSpec,
        failed_index: int,
        failure: str,
        track: _Tracker,
        started: float,
    ) -> GroupOutcome:
        """Stop the failed member and all before it again, right to left.

        Heartbeat releases the whole group here; members right of the failed one were
        never touched by this acquire, so we leave them alone. The failed member is
        stopped too: its start may have got half way.
        """
        failed = group.resources[failed_index]
        logger.critical("Giving up resources due to failure of %s", failed.token)
        members = group.resources[: failed_index + 1]
        reports = await self._stop_members(members, track)
        fencing = any(r.needs_fencing for r in reports)
        cleaned = [
            spec.token
            for spec, report in zip(reversed(members), reports, strict=True)
            if report.stopped and spec is not failed
        ]
        parts = [failure]
        if cleaned:
            parts.append(f"stopped {', '.join(cleaned)} again")
        parts.extend(r.problem for r in reports if r.problem)
        if track.get(failed.token).state is ResourceState.STOPPED:
            track.set(failed.token, ResourceState.FAILED, failure)
        for spec in group.resources[failed_index + 1 :]:
            track.note(spec.token, f"not started: {failed.token} failed")
        reason = "; ".join(parts)
        return GroupOutcome(False, reason, track.snapshot(), _ms_since(started), fencing)

    # --- release ---------------------------------------------------------------

    async def _stop_members(
        self, members: Sequence[ResourceSpec], track: _Tracker
    ) -> list[_StopReport]:
        """Stop ``members`` right to left; one report each, in that order."""
        return [await self._stop_one(spec, track) for spec in reversed(members)]

    async def _stop_one(self, spec: ResourceSpec, track: _Tracker) -> _StopReport:
        """Stop one member with retries, then judge a failure by its status."""
        try:
            agent = self._resolve(spec)
        except ResourceError as exc:
            logger.error("%s", exc)
            track.set(spec.token, ResourceState.STOPPED, str(exc))
            return _StopReport(True, False, f"stop of {spec.token} skipped: {exc}")
        track.set(spec.token, ResourceState.STOPPING)
        result = await self._stop_with_retries(agent)
        if result.ok:
            track.set(spec.token, ResourceState.STOPPED)
            return _StopReport(True, False)
        return await self._judge_failed_stop(agent, result, track)

    async def _stop_with_retries(self, agent: Agent) -> ActionResult:
        """``stop``, then up to ``stop_retries`` more tries ``retry_delay`` s apart."""
        result = await agent.stop()
        for _ in range(self.stop_retries):
            if result.ok:
                break
            await asyncio.sleep(self.retry_delay)
            logger.info("Retrying failed stop operation [%s]", agent.name)
            result = await agent.stop()
        return result

    async def _judge_failed_stop(
        self, agent: Agent, result: ActionResult, track: _Tracker
    ) -> _StopReport:
        """Still running (or unknown) needs fencing; stopped is a non-LSB script."""
        token = agent.name
        probe = await agent.status()
        if probe.state is ResourceState.STOPPED:
            logger.error("Resource script for %s probably not LSB-compliant.", token)
            logger.warning("it (%s) MUST succeed on a stop when already stopped", token)
            logger.warning("Machine reboot narrowly avoided!")
            reason = f"stop of {token} failed ({result.detail}) but status says stopped"
            track.set(token, ResourceState.STOPPED, reason)
            return _StopReport(True, False, reason)
        still = "still running" if probe.state is ResourceState.RUNNING else "may still run"
        reason = (
            f"stop of {token} failed ({result.detail}); resource {still} — node must be "
            "fenced before the peer may start this group"
        )
        logger.critical("Resource STOP failure of %s: %s", token, reason)
        track.set(token, ResourceState.FAILED, reason)
        return _StopReport(False, True, reason)


def _judge_monitor(token: str, probe: ActionResult, duration_ms: float) -> MonitorCheck:
    """One status answer as a monitor result: ok, not running, timeout or failed."""
    if probe.program is not None and probe.program.timed_out:
        return MonitorCheck(token, "timeout", probe.detail, duration_ms)
    if probe.state is ResourceState.RUNNING:
        return MonitorCheck(token, "ok", "", duration_ms)
    if probe.state is ResourceState.STOPPED:
        return MonitorCheck(token, "not running", probe.detail or "status: stopped", duration_ms)
    return MonitorCheck(token, "failed", probe.detail or f"status: {probe.state}", duration_ms)


def _ms_since(start: float) -> float:
    """Milliseconds since ``start`` (monotonic seconds)."""
    return (time.monotonic() - start) * 1000.0
