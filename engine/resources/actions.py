"""Runs the policy's actions one at a time, off the heartbeat path.

Heartbeat runs at most one resource-management child at a time and queues the rest
(spec §7.4); so do we. The heartbeat loop only ever calls ``submit`` (never awaits), and
learns the outcome through the ``done`` callback. Fences run at once in their own
tasks; so does a resource monitor check (``monitored`` callback), which any queued
Acquire/Release (or a CancelMonitor) kills: a transition never waits behind a check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from engine.config.model import ClusterConfig, GroupSpec
from engine.core.policy_types import (
    Acquire,
    Action,
    CancelMonitor,
    Fence,
    Monitor,
    MonitorCheck,
    Release,
)
from engine.resources.agents import AgentOptions, script_environment
from engine.resources.group import GroupRunner
from engine.resources.model import ResourceState, ResourceStatus
from engine.resources.resolve import AgentResolver
from engine.stonith.fencer import Fencer

logger = logging.getLogger("heartbeat")

DoneCallback = Callable[[int, bool, str, str], None]
"""(action id, ok, reason, fenced node or "") -> None."""
MonitorCallback = Callable[[int, Sequence[MonitorCheck]], None]
"""(Monitor action id, the checks in group order) -> None; never called when cancelled."""


class ActionWorker:
    """A queue of Acquire/Release/Fence actions and the one task that runs them."""

    def __init__(
        self,
        config: ClusterConfig,
        state_dir: Path,
        done: DoneCallback,
        runner: GroupRunner | None = None,
        fencer: Fencer | None = None,
        monitored: MonitorCallback | None = None,
    ) -> None:
        self.config = config
        self.fencer = fencer or Fencer(config)
        self._fences: set[asyncio.Task[None]] = set()
        self._done = done
        self._monitored = monitored
        self._monitor: tuple[int, asyncio.Task[None]] | None = None
        self._groups = {group.key: group for group in config.groups}
        options = AgentOptions(env=script_environment(config, state_dir))
        resolver = AgentResolver(Path(config.config_dir), options=options)
        self.runner = runner or GroupRunner(resolver)
        self._queue: asyncio.Queue[Acquire | Release] = asyncio.Queue()
        self._states: dict[str, ResourceStatus] = {}
        self._task: asyncio.Task[None] | None = None
        self.current: Action | None = None

    def replace_groups(self, config: ClusterConfig) -> None:
        """Use a reloaded configuration's groups for the actions queued from now on."""
        self.config = config
        self._groups = {group.key: group for group in config.groups}

    def submit(self, action: Action) -> None:
        """Queue an action (never blocks); a Fence starts at once in its own task.

        Heartbeat does not count STONITH children as resource children, so a reset is
        never stuck behind a long start or stop.
        """
        if isinstance(action, Fence):
            task = asyncio.get_running_loop().create_task(self._fence_now(action))
            self._fences.add(task)
            task.add_done_callback(self._fences.discard)
            return
        if isinstance(action, Monitor):
            self._start_monitor(action)
            return
        if isinstance(action, CancelMonitor):
            self.cancel_monitor(action.reason, action.id)
            return
        self.cancel_monitor(f"{type(action).__name__.lower()} of {action.group_key} queued")
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._work())
        self._queue.put_nowait(action)

    @property
    def busy(self) -> bool:
        """An action is running or waiting."""
        return self.current is not None or not self._queue.empty()

    async def _work(self) -> None:
        while True:
            action = await self._queue.get()
            self.current = action
            try:
                ok, reason, node = await self._run(action)
            except Exception as exc:  # an agent bug must not stop the worker
                logger.exception("resource action %s failed unexpectedly", action)
                ok, reason, node = False, f"internal error: {exc}", ""
            finally:
                self.current = None
            self._done(action.id, ok, reason, node)

    async def _run(self, action: Acquire | Release) -> tuple[bool, str, str]:
        group = self._groups.get(action.group_key)
        if group is None:
            return False, f"no resource group with key {action.group_key!r}", ""
        if isinstance(action, Acquire):
            outcome = await self.runner.acquire(group, self._progress)
        else:
            outcome = await self.runner.release(group, self._progress)
        for status in outcome.states:
            self._states[status.name] = status
        return outcome.ok, outcome.reason, ""

    async def _fence_now(self, action: Fence) -> None:
        try:
            ok, reason, node = await self._fence(action)
        except Exception as exc:  # a plugin bug must not stop fencing for good
            logger.exception("fence action %s failed unexpectedly", action)
            ok, reason, node = False, f"internal error: {exc}", action.node
        self._done(action.id, ok, reason, node)

    async def _fence(self, action: Fence) -> tuple[bool, str, str]:
        result = await self.fencer.fence(action.node, action.reason)
        return result.ok, result.reason, action.node

    async def release_leftovers(self) -> list[str]:
        """Stop resources found running at start (ResourceManager ``verifyallidle``).

        A crashed engine leaves its resources running; rejoining the cluster while still
        holding them would give them two owners once the peer (or the home node) starts
        them. Heartbeat only logs them; we stop them before we say a word on the wire.
        Returns the groups that could NOT be stopped (the caller must not join).
        """
        stuck: list[str] = []
        for group in self.config.groups:
            statuses = await self.runner.status(group)
            running = [st.name for st in statuses if st.state is not ResourceState.STOPPED]
            if not running:
                continue
            for name in running:
                logger.critical("Resource %s is active, and should not be!", name)
            logger.warning(
                "group %s found running at start (left over from a crash or manual start); "
                "stopping it before joining the cluster",
                group.key,
            )
            outcome = await self.runner.release(group, self._progress)
            for status in outcome.states:
                self._states[status.name] = status
            if not outcome.ok:
                logger.critical("cannot stop leftover group %s: %s", group.key, outcome.reason)
                stuck.append(group.key)
        return stuck

    # --- resource monitor -----------------------------------------------------

    @property
    def monitoring(self) -> int | None:
        """The id of the Monitor running now, if any."""
        return self._monitor[0] if self._monitor is not None else None

    def _start_monitor(self, action: Monitor) -> None:
        self.cancel_monitor("a newer check was asked for")
        task = asyncio.get_running_loop().create_task(self._monitor_now(action))
        self._monitor = (action.id, task)

    def cancel_monitor(self, reason: str, action_id: int | None = None) -> None:
        """Kill the running check (only check ``action_id`` when given); no report."""
        if self._monitor is None or action_id not in (None, self._monitor[0]):
            return
        running_id, task = self._monitor
        self._monitor = None
        task.cancel()  # run_program kills the status program's process group
        logger.debug("monitor %d cancelled: %s", running_id, reason)

    async def _monitor_now(self, action: Monitor) -> None:
        group = self._groups.get(action.group_key)
        try:
            if group is None:
                checks = [MonitorCheck(action.group_key, "failed", "no such resource group")]
            else:
                checks = await self.runner.monitor(group, action.timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # an agent bug must not stop monitoring for good
            logger.exception("monitor %s failed unexpectedly", action)
            checks = [MonitorCheck(action.group_key, "failed", f"internal error: {exc}")]
        if self._monitor is None or self._monitor[0] != action.id:
            return
        self._monitor = None
        for check in checks:
            if not check.ok:
                reason = f"monitor: {check.describe()}"
                self._states[check.resource] = ResourceStatus(
                    check.resource, ResourceState.FAILED, reason
                )
        if self._monitored is not None:
            self._monitored(action.id, checks)

    def _progress(self, status: ResourceStatus) -> None:
        self._states[status.name] = status

    def resource_states(self, group: GroupSpec) -> list[dict[str, Any]]:
        """Per-resource state of one group, in start order (for status --json)."""
        result = []
        for spec in group.resources:
            status = self._states.get(spec.token)
            state = status.state if status else ResourceState.STOPPED
            reason = status.reason if status else ""
            result.append({"name": spec.token, "state": state.value, "reason": reason})
        return result

    async def close(self) -> None:
        """Stop the worker task (an action in progress is cancelled)."""
        self.cancel_monitor("the engine stops")
        for fence in list(self._fences):
            fence.cancel()
        await self.fencer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
