"""Runs the policy's actions one at a time, off the heartbeat path.

Heartbeat runs at most one resource-management child at a time and queues the rest
(spec §7.4); so do we. The heartbeat loop only ever calls ``submit`` (never awaits), and
learns the outcome through the ``done`` callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.config.model import ClusterConfig, GroupSpec
from engine.core.policy_types import Acquire, Action, Fence
from engine.resources.agents import AgentOptions, AgentResolver, script_environment
from engine.resources.group import GroupRunner
from engine.resources.model import ResourceState, ResourceStatus

logger = logging.getLogger("heartbeat")

DoneCallback = Callable[[int, bool, str, str], None]
"""(action id, ok, reason, fenced node or "") -> None."""


class ActionWorker:
    """A queue of Acquire/Release/Fence actions and the one task that runs them."""

    def __init__(
        self,
        config: ClusterConfig,
        state_dir: Path,
        done: DoneCallback,
        runner: GroupRunner | None = None,
    ) -> None:
        self.config = config
        self._done = done
        self._groups = {group.key: group for group in config.groups}
        options = AgentOptions(env=script_environment(config, state_dir))
        resolver = AgentResolver(Path(config.config_dir), options=options)
        self.runner = runner or GroupRunner(resolver)
        self._queue: asyncio.Queue[Action] = asyncio.Queue()
        self._states: dict[str, ResourceStatus] = {}
        self._task: asyncio.Task[None] | None = None
        self.current: Action | None = None

    def submit(self, action: Action) -> None:
        """Queue an action (never blocks)."""
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

    async def _run(self, action: Action) -> tuple[bool, str, str]:
        if isinstance(action, Fence):
            return await self._fence(action)
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

    async def _fence(self, action: Fence) -> tuple[bool, str, str]:
        reason = (
            f"cannot fence {action.node}: STONITH plugins are not available in this version; "
            "its resources stay down until it is confirmed stopped"
        )
        logger.error("Host %s not reset! (%s)", action.node, reason)
        await asyncio.sleep(0)
        return False, reason, action.node

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
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
