"""``external/<name>`` devices: cluster-glue's external-plugin calling convention.

The plugin is an executable called as ``<script> <op> [host]`` with every configured
parameter in its environment under its own name (spec §8.4). Ops: ``gethosts``,
``reset HOST``, ``on HOST``, ``off HOST``, ``status``, ``getconfignames`` and
``getinfo-devid|devname|devdescr|devurl|xml``. Exit status 0 means success.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path

from engine.process.runner import run_program
from engine.stonith.base import (
    S_BADCONFIG,
    S_BADHOST,
    PluginContext,
    StonithPlugin,
    StonithResult,
)

GLUE_EXTERNAL_DIRS = (
    Path("/usr/lib/stonith/plugins/external"),
    Path("/usr/lib/x86_64-linux-gnu/stonith/plugins/external"),
    Path("/usr/lib64/stonith/plugins/external"),
)
"""Where cluster-glue installs its external plugins."""


def search_dirs(ctx: PluginContext) -> tuple[Path, ...]:
    """``CONFIG_DIR/stonith/external``, configured extra dirs, then cluster-glue's dirs."""
    return (Path(ctx.config_dir) / "stonith" / "external", *ctx.external_dirs, *GLUE_EXTERNAL_DIRS)


def find_script(type_name: str, ctx: PluginContext) -> Path | None:
    """The executable for ``external/<name>``, or None."""
    name = type_name.split("/", 1)[1] if "/" in type_name else type_name
    if not name or "/" in name or name in (".", ".."):
        return None
    for directory in search_dirs(ctx):
        path = directory / name
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def list_external_types(ctx: PluginContext) -> list[str]:
    """Every ``external/<name>`` found in the search path."""
    found: set[str] = set()
    for directory in search_dirs(ctx):
        try:
            entries = list(directory.iterdir())
        except OSError:
            continue
        for path in entries:
            if path.is_file() and os.access(path, os.X_OK) and not path.name.startswith("."):
                found.add(f"external/{path.name}")
    return sorted(found)


def plugin_env(params: Mapping[str, str], ctx: PluginContext) -> dict[str, str]:
    """The child's environment: a sane PATH, ``ctx.env``, then the parameters."""
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
    env.update(ctx.env)
    env.update(params)
    return env


class ExternalPlugin(StonithPlugin):
    """Runs an external plugin script for every operation."""

    def __init__(self, type_name: str, params: Mapping[str, str], ctx: PluginContext) -> None:
        super().__init__(type_name, params, ctx)
        self.script = find_script(type_name, ctx)
        self._devid = ""

    @classmethod
    async def parameter_names(cls, type_name: str, ctx: PluginContext) -> tuple[str, ...]:
        """What ``<script> getconfignames`` prints (words, any separator), within
        ``ctx.timeout`` (a plugin behind a slow link can take seconds)."""
        script = await asyncio.to_thread(find_script, type_name, ctx)  # may be NFS
        if script is None:
            raise LookupError(f"no executable for {type_name} in {_dirs_text(ctx)}")
        result = await run_program(
            [str(script), "getconfignames"],
            env=plugin_env({}, ctx),
            timeout=ctx.timeout,
            log=False,
        )
        if not result.ok:
            raise LookupError(f"{script} getconfignames failed: {result.describe()}")
        return tuple(result.stdout.replace(",", " ").split())

    @property
    def device_id(self) -> str:
        """``getinfo-devid`` output once known, else ``<type> STONITH device``."""
        return self._devid or f"{self.type_name} STONITH device"

    async def call(self, op: str, host: str = "") -> StonithResult:
        """Run one op of the plugin and map its exit status."""
        if self.script is None:
            return StonithResult.failure(
                S_BADCONFIG, f"no executable for {self.type_name} in {_dirs_text(self.ctx)}"
            )
        argv = [str(self.script), op, *([host] if host else [])]
        result = await self.run(argv, env=plugin_env(self.params, self.ctx))
        what = " ".join([self.type_name, op, *([host] if host else [])])
        return StonithResult.from_program(result, what)

    async def load_device_id(self) -> str:
        """Ask the plugin for its device id (``getinfo-devid``); cached."""
        if not self._devid:
            result = await self.call("getinfo-devid")
            text = result.output.strip().splitlines()
            if result.ok and text:
                self._devid = text[0].strip()
        return self.device_id

    async def reset(self, node: str) -> StonithResult:
        """``<script> reset NODE`` after checking the node is one of ``gethosts``."""
        hosts = await self.hosts()
        if hosts is not None and node.lower() not in hosts:
            return StonithResult.failure(
                S_BADHOST, f"Device {self.device_id} cannot reset host {node}."
            )
        return await self.call("reset", node)

    async def status(self) -> StonithResult:
        """``<script> status``."""
        return await self.call("status")

    async def hosts(self) -> list[str] | None:
        """``<script> gethosts`` (one host per line or word); None when it fails."""
        result = await self.call("gethosts")
        if not result.ok:
            return None
        return [h.lower() for h in result.output.split()]


def _dirs_text(ctx: PluginContext) -> str:
    return ", ".join(str(d) for d in search_dirs(ctx))
