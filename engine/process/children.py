"""``respawn`` and ``failfast`` helper processes (spec §9.6).

Started at comm-up in configuration order as ``sh -c "exec <cmd>"`` (own process group,
stdio on /dev/null, as the configured user when we are root) through
``engine.process.runner.spawn_child``. On exit Heartbeat logs why, then restarts the child
unless it exited with code 100 ("do not respawn") or died young too often: more than
``MAX_FAST_DEATHS`` consecutive deaths each within ``FAST_DEATH_WINDOW`` seconds of its
start mean "respawning too fast" and the child stays down. On shutdown children are
stopped in reverse start order.

``failfast`` children that die abnormally (a signal, or a non-zero exit) make Heartbeat
reboot the machine. Such a child is not restarted: we log the death and call
``on_failfast``; the daemon gives the node up (nothing here reboots anything). Children
we stop ourselves at shutdown do not count (Heartbeat's SIGTERM quirk is not copied).
A ``respawn`` line naming ``ipfail`` is not started: ipfail is built into the engine
(engine/core/ipfail.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pwd
import time
from collections.abc import Callable
from dataclasses import dataclass

from engine.config.model import ChildSpec
from engine.process.runner import spawn_child, stop_child

logger = logging.getLogger("heartbeat")

NO_RESPAWN_EXIT = 100
MAX_FAST_DEATHS = 10
FAST_DEATH_WINDOW = 30.0
STOP_GRACE = 5.0


@dataclass(slots=True)
class ChildState:
    """One supervised child: its process, restarts and why it is (not) running."""

    spec: ChildSpec
    proc: asyncio.subprocess.Process | None = None
    starts: int = 0
    fast_deaths: int = 0
    state: str = "waiting"
    """waiting, running, stopped (exit 100), too_fast, failed (cannot start, or a failfast
    child died), stopping, builtin."""
    last_exit: str = ""

    def snapshot(self) -> dict[str, object]:
        """For ``status --json``."""
        return {
            "command": self.spec.command,
            "user": self.spec.user,
            "failfast": self.spec.failfast,
            "state": self.state,
            "pid": self.proc.pid if self.proc is not None and self.state == "running" else None,
            "starts": self.starts,
            "last_exit": self.last_exit,
        }


def _user_ids(user: str) -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return -1, -1
    return entry.pw_uid, entry.pw_gid


def describe_exit(returncode: int) -> str:
    """``exited with return code N`` or ``killed by signal N`` as Heartbeat words it."""
    if returncode < 0:
        return f"killed by signal {-returncode}"
    return f"exited with return code {returncode}"


class ChildManager:
    """Starts, watches, restarts and stops the configured helper processes."""

    def __init__(
        self,
        specs: tuple[ChildSpec, ...],
        *,
        on_failfast: Callable[[ChildSpec, str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.children = [ChildState(spec) for spec in specs]
        self._on_failfast = on_failfast
        self._clock = clock
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    def start(self) -> None:
        """Comm is up: start every child in configuration order (idempotent)."""
        if self._tasks or self._stopping:
            return
        for child in self.children:
            if child.spec.builtin_ipfail:
                child.state = "builtin"
                logger.info("ipfail is built into the engine; not starting %s", child.spec.command)
                continue
            self._tasks.append(
                asyncio.create_task(self._supervise(child), name=f"child {child.spec.command}")
            )

    async def _supervise(self, child: ChildState) -> None:
        while not self._stopping:
            started = self._clock()
            if not await self._spawn(child):
                return
            assert child.proc is not None
            code = await child.proc.wait()
            if self._stopping:
                return
            if not self._after_exit(child, code, self._clock() - started):
                return

    async def _spawn(self, child: ChildState) -> bool:
        spec = child.spec
        uid, gid = _user_ids(spec.user)
        logger.info('Starting child client "%s" (%d,%d)', spec.command, uid, gid)
        user = spec.user if os.geteuid() == 0 else None
        try:
            child.proc = await spawn_child(["/bin/sh", "-c", f"exec {spec.command}"], user=user)
        except OSError as exc:
            child.state = "failed"
            child.last_exit = f"cannot start: {exc}"
            logger.error('Cannot start client child "%s": %s', spec.command, exc)
            return False
        child.starts += 1
        child.state = "running"
        logger.info(
            'Starting "%s" as uid %d  gid %d (pid %d)', spec.command, uid, gid, child.proc.pid
        )
        return True

    def _after_exit(self, child: ChildState, code: int, lived: float) -> bool:
        """Log the death; True when the child is to be started again."""
        spec = child.spec
        pid = child.proc.pid if child.proc is not None else 0
        child.last_exit = describe_exit(code)
        if code < 0:
            logger.error("Client %s (pid=%d) killed by signal %d.", spec.command, pid, -code)
        elif code != 0:
            logger.error("Client %s exited with return code %d.", spec.command, code)
        if spec.failfast and code != 0:
            child.state = "failed"  # the console's word for "no longer restarted"
            logger.critical("failfast client %s died (%s)", spec.command, child.last_exit)
            if self._on_failfast is not None:
                self._on_failfast(spec, child.last_exit)
            return False
        if code == NO_RESPAWN_EXIT:
            child.state = "stopped"
            logger.info('Client "%s" exited with 100: not respawning', spec.command)
            return False
        child.fast_deaths = child.fast_deaths + 1 if lived < FAST_DEATH_WINDOW else 0
        if child.fast_deaths > MAX_FAST_DEATHS:
            child.state = "too_fast"
            logger.error('Client %s "respawning too fast"', spec.command)
            return False
        logger.error('Respawning client "%s":', spec.command)
        return True

    async def stop(self) -> None:
        """Stop the children in reverse start order and wait for them."""
        self._stopping = True
        for child in reversed(self.children):
            proc = child.proc
            if proc is not None and proc.returncode is None:
                child.state = "stopping"
                logger.info("Stopping child client %s (pid %d)", child.spec.command, proc.pid)
                await stop_child(proc, STOP_GRACE)
                child.state = "stopped"
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def snapshot(self) -> list[dict[str, object]]:
        """The children part of ``status --json``."""
        return [child.snapshot() for child in self.children]
