"""A bridge to fence-agents (``fence_*``): options as ``key=value`` lines on stdin.

The parameter string of a ``fence_*`` type is ``key=value`` words (``ip=10.0.0.1
username=admin password=secret``); there is no positional order to borrow. A reset is
``action=reboot`` with ``plug=<node>`` unless the options already name a plug/port.
"""

from __future__ import annotations

import dataclasses
import os
import shutil

from engine.process.runner import ProgramResult
from engine.stonith.base import (
    S_ACCESS,
    S_BADCONFIG,
    S_INVAL,
    S_RESETFAIL,
    S_TIMEOUT,
    PluginContext,
    StonithPlugin,
    StonithResult,
)

FENCE_DIRS = "/usr/sbin:/sbin:/usr/bin"
FENCE_EXIT_CODES = {
    2: S_INVAL,  # bad arguments
    3: S_ACCESS,  # login denied
    5: S_TIMEOUT,  # timed out
    10: S_BADCONFIG,  # password missing
    11: S_ACCESS,  # invalid privileges
}
"""fence-agents' exit codes (their ``EC_*``) that have a cluster-glue counterpart; every
other failure (generic error, connection lost, still on/off) is "reset failed". They
must not be read as glue codes: fence-agents' 4 is a lost connection, glue's "bad host"."""


def find_agent(type_name: str, ctx: PluginContext) -> str | None:
    """Path of the ``fence_*`` program, or None."""
    if not type_name.startswith("fence_") or "/" in type_name:
        return None
    path = ":".join([ctx.env.get("PATH", os.environ.get("PATH", "")), FENCE_DIRS])
    return shutil.which(type_name, path=path)


def list_fence_agents(ctx: PluginContext) -> list[str]:
    """Every ``fence_*`` program installed in the usual directories."""
    found: set[str] = set()
    for directory in FENCE_DIRS.split(":"):
        try:
            names = os.listdir(directory)
        except OSError:
            continue
        found.update(n for n in names if n.startswith("fence_"))
    return sorted(found)


class FenceAgentPlugin(StonithPlugin):
    """Runs a fence agent with its options on stdin."""

    @classmethod
    async def parameter_names(cls, type_name: str, ctx: PluginContext) -> tuple[str, ...]:
        """Fence agents take named options only (``engine.config.stonithconf``)."""
        return ()

    @property
    def device_id(self) -> str:
        """``fence_x STONITH device``."""
        return f"{self.type_name} STONITH device"

    def stdin_for(self, action: str, node: str = "") -> bytes:
        """The option lines for one action."""
        options = dict(self.params)
        options["action"] = action
        if node and "plug" not in options and "port" not in options:
            options["plug"] = node
        return "".join(f"{k}={v}\n" for k, v in options.items()).encode()

    async def call(self, action: str, node: str = "") -> StonithResult:
        """Run the agent for one action."""
        agent = find_agent(self.type_name, self.ctx)
        if agent is None:
            return StonithResult.failure(S_BADCONFIG, f"fence agent {self.type_name} not found")
        env = {"PATH": os.environ.get("PATH", FENCE_DIRS), **self.ctx.env}
        result = await self.run([agent], env=env, stdin=self.stdin_for(action, node))
        return fence_result(result, f"{self.type_name} {action} {node}".strip())

    async def reset(self, node: str) -> StonithResult:
        """``action=reboot``."""
        return await self.call("reboot", node)

    async def status(self) -> StonithResult:
        """``action=monitor``."""
        return await self.call("monitor")

    async def hosts(self) -> list[str] | None:
        """Fence agents list plugs, not node names: unknown."""
        return None


def fence_result(result: ProgramResult, what: str) -> StonithResult:
    """A finished fence agent as a StonithResult, its exit code read as fence-agents'."""
    outcome = StonithResult.from_program(result, what)
    if outcome.ok or result.timed_out or result.returncode is None:
        return outcome
    return dataclasses.replace(outcome, code=FENCE_EXIT_CODES.get(result.returncode, S_RESETFAIL))
