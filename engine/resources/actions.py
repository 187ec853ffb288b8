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
from engine.stonith.fencer import Fencer

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
        fencer: Fencer | None = None,
    ) -> None:
        self.config = config
        self.fencer = fencer or Fencer(config)
        self._fences: set[asyncio.Task[None]] = set()
        self._done = done
        self._groups = {group.key: group for group in config.groups}
        options = AgentOptions(env=script_environment(config, state_dir))
        resolver = AgentResolver(Path(config.config_dir), options=options)
        self.runner = runner or GroupRunner(resolver)
        self._queue: asyncio.Queue[Action] = asyncio.Queue()
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
        for fence in list(self._fences):
            fence.cancel()
        await self.fencer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
