"""A bridge to cluster-glue's ``stonith`` command: every type ``stonith -L`` lists.

``stonith -t TYPE -n`` gives the parameter names, ``stonith -t TYPE -p PARAMS -S`` the
device status, ``stonith -t TYPE -p PARAMS -T reset NODE`` resets. Parameters are passed
as ``name=value`` arguments so that values with spaces (the last one) survive intact.
The exit status is the plugin result code (spec §8.3).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping

from engine.process.runner import run_program
from engine.stonith.base import (
    S_BADCONFIG,
    S_BADHOST,
    PluginContext,
    StonithPlugin,
    StonithResult,
)

STONITH_COMMAND = "stonith"
GLUE_PREFIX = "glue:"
"""``glue:TYPE`` forces the bridge even where a built-in plugin has the same name."""


def stonith_command() -> str | None:
    """Path of cluster-glue's ``stonith`` program, or None when it is not installed."""
    return shutil.which(STONITH_COMMAND, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


def glue_type(type_name: str) -> str:
    """The cluster-glue type name (``glue:null`` → ``null``)."""
    return type_name.removeprefix(GLUE_PREFIX)


LIST_TIMEOUT = 10.0
"""Seconds ``stonith -L`` may take."""
_glue_types: tuple[str, ...] | None = None


async def glue_types() -> tuple[str, ...]:
    """``stonith -L``; empty without cluster-glue. Kept for the life of the process once
    it answered (the installed plugins do not change under a running engine)."""
    global _glue_types
    if _glue_types is not None:
        return _glue_types
    command = stonith_command()
    if command is None:
        return ()
    result = await run_program([command, "-L"], timeout=LIST_TIMEOUT, log=False)
    if not result.ok:
        return ()
    _glue_types = tuple(line.strip() for line in result.stdout.splitlines() if line.strip())
    return _glue_types


def _env(ctx: PluginContext) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
    env.update(ctx.env)
    return env


class GluePlugin(StonithPlugin):
    """Runs every operation through ``stonith -t TYPE``."""

    @classmethod
    async def parameter_names(cls, type_name: str, ctx: PluginContext) -> tuple[str, ...]:
        """``stonith -t TYPE -n`` within ``ctx.timeout``."""
        command = stonith_command()
        if command is None:
            raise LookupError("cluster-glue's stonith command is not installed")
        result = await run_program(
            [command, "-t", glue_type(type_name), "-n"],
            env=_env(ctx),
            timeout=ctx.timeout,
            log=False,
        )
        if not result.ok:
            raise LookupError(
                f"stonith -t {glue_type(type_name)} -n failed: {result.describe()} "
                f"{result.last_line()}".strip()
            )
        return tuple(result.stdout.split())

    @property
    def device_id(self) -> str:
        """``<type> STONITH device`` (cluster-glue's naming)."""
        return f"{glue_type(self.type_name)} STONITH device"

    def base_argv(self) -> list[str]:
        """``stonith -t TYPE name=value...`` (``-s``: no chatter on stderr)."""
        command = stonith_command() or STONITH_COMMAND
        return [command, "-s", "-t", glue_type(self.type_name), *_pairs(self.params)]

    async def reset(self, node: str) -> StonithResult:
        """``stonith -t TYPE ... -T reset NODE``."""
        if stonith_command() is None:
            return StonithResult.failure(S_BADCONFIG, "cluster-glue's stonith is not installed")
        hosts = await self.hosts()
        if hosts is not None and node.lower() not in hosts:
            return StonithResult.failure(
                S_BADHOST, f"Device {self.device_id} cannot reset host {node}."
            )
        result = await self.run([*self.base_argv(), "-T", "reset", node], env=_env(self.ctx))
        what = f"stonith -t {glue_type(self.type_name)} reset {node}"
        return StonithResult.from_program(result, what)

    async def status(self) -> StonithResult:
        """``stonith -t TYPE ... -S``."""
        result = await self.run([*self.base_argv(), "-S"], env=_env(self.ctx))
        return StonithResult.from_program(result, f"stonith -t {glue_type(self.type_name)} status")

    async def hosts(self) -> list[str] | None:
        """``stonith -t TYPE ... -l``; None when it fails."""
        result = await self.run([*self.base_argv(), "-l"], env=_env(self.ctx))
        if not result.ok:
            return None
        return [h.lower() for h in result.stdout.split()]


def _pairs(params: Mapping[str, str]) -> list[str]:
    return [f"{name}={value}" for name, value in params.items()]
