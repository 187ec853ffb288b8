"""Runs resets through the configured device, with a timeout, and remembers outcomes.

Log lines are Heartbeat's (spec §8.2): ``Resetting node X with [<device id>]``, then
``node X now reset.`` or ``Host X not reset!`` (``Device D cannot reset host X.`` when
the device does not control X). A fence somebody asked for by hand gets an audit line
naming who. One reset per node runs at a time; a second request joins the first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

from engine.config.model import ClusterConfig
from engine.hblog import hb_log
from engine.stonith.base import S_BADCONFIG, S_BADHOST, S_TIMEOUT, StonithPlugin, StonithResult
from engine.stonith.config import (
    DeviceProbe,
    StonithSettings,
    context_for,
    probe_device,
    stonith_settings,
)
from engine.stonith.external import ExternalPlugin
from engine.stonith.meatware import MeatwareBoard, MeatwarePlugin

logger = logging.getLogger(__name__)


class Fencer:
    """The node's one STONITH device and the resets in flight.

    Args:
        config: the cluster configuration (its ``stonith`` lines).
        settings: the STONITH settings; None takes them from the hatui.conf the loader
            read (``config.hatui``; its problems were reported by ``load_config``).
        probe: what probing the lines found (``probe_device``, awaited before: building
            a fencer never runs a program). Without one, a configuration with stonith
            lines has no device; ``Fencer.probed`` probes first.
    """

    def __init__(
        self,
        config: ClusterConfig,
        settings: StonithSettings | None = None,
        probe: DeviceProbe | None = None,
    ) -> None:
        self.config = config
        self.settings = settings if settings is not None else stonith_settings(config.hatui)
        self.ctx = context_for(Path(config.config_dir), config.node_name, self.settings)
        self.board = MeatwareBoard()
        self.error = ""
        self.plugin: StonithPlugin | None = None
        self._last: dict[str, dict[str, Any]] = {}
        self._pending: dict[str, dict[str, Any]] = {}
        self._tasks: dict[str, asyncio.Task[StonithResult]] = {}
        self._check: dict[str, Any] = {}
        self._check_task: asyncio.Task[None] | None = None
        if config.stonith:
            self._configure(probe)

    @classmethod
    async def probed(cls, config: ClusterConfig, settings: StonithSettings | None = None) -> Fencer:
        """Probe the configuration's stonith lines (awaited), then build the fencer."""
        chosen = settings if settings is not None else stonith_settings(config.hatui)
        ctx = context_for(Path(config.config_dir), config.node_name, chosen)
        return cls(config, chosen, await probe_device(config.stonith, ctx))

    def _configure(self, probe: DeviceProbe | None) -> None:
        if probe is None:
            probe = DeviceProbe(None)
            self.error = "the STONITH lines were not probed (no device)"
        else:
            self.error = "; ".join(str(i) for i in probe.errors)
        device = probe.device
        if device is None:
            logger.error("STONITH device not configured: %s", self.error)
            return
        self.plugin = device.build(self.ctx)
        if isinstance(self.plugin, MeatwarePlugin):
            self.plugin.board = self.board
            self.plugin.timeout = self.settings.meatware_timeout
            self.plugin.fifo_dir = self.settings.meatware_dir

    @property
    def configured(self) -> bool:
        """True when a usable device is configured."""
        return self.plugin is not None

    @property
    def device_id(self) -> str:
        """The device id Heartbeat logs, or "" without a device."""
        return self.plugin.device_id if self.plugin is not None else ""

    async def fence(self, node: str, reason: str = "", requested_by: str = "") -> StonithResult:
        """Reset ``node``; joins a reset of the same node that is already running."""
        node = node.lower()
        if requested_by:
            hb_log("WARN", f"STONITH of {node} requested by {requested_by}")
        task = self._tasks.get(node)
        if task is None or task.done():
            task = asyncio.get_running_loop().create_task(self._reset(node, reason, requested_by))
            self._tasks[node] = task
        return await asyncio.shield(task)

    async def _reset(self, node: str, reason: str, requested_by: str) -> StonithResult:
        plugin = self.plugin
        if plugin is None:
            why = self.error or "no STONITH device configured"
            result = StonithResult.failure(S_BADCONFIG, why)
            hb_log("ERROR", f"Host {node} not reset! ({why})")
            self._remember(node, result, requested_by)
            return result
        if isinstance(plugin, ExternalPlugin):
            await plugin.load_device_id()
        self._pending[node] = {
            "since": time.time(),
            "device": plugin.device_id,
            "reason": reason,
            "requested_by": requested_by,
        }
        hb_log("info", f"Resetting node {node} with [{plugin.device_id}]")
        try:
            result = await self._bounded_reset(plugin, node)
        finally:
            self._pending.pop(node, None)
        self._log_outcome(plugin, node, result)
        self._remember(node, result, requested_by)
        return result

    async def _bounded_reset(self, plugin: StonithPlugin, node: str) -> StonithResult:
        limit = self.settings.timeout
        if isinstance(plugin, MeatwarePlugin):
            limit = plugin.timeout + 5.0
        try:
            async with asyncio.timeout(limit):
                return await plugin.reset(node)
        except TimeoutError:
            return StonithResult.failure(S_TIMEOUT, f"reset of {node} timed out after {limit:g} s")
        except Exception as exc:  # a plugin bug must not look like a successful fence
            logger.exception("STONITH plugin %s failed", plugin.type_name)
            return StonithResult.failure(8, f"internal error in {plugin.type_name}: {exc}")

    def _log_outcome(self, plugin: StonithPlugin, node: str, result: StonithResult) -> None:
        if result.ok:
            hb_log("info", f"node {node} now reset.")
            return
        if result.code == S_BADHOST:
            hb_log("ERROR", f"Device {plugin.device_id} cannot reset host {node}.")
        hb_log("ERROR", f"Host {node} not reset! ({result.reason})")

    def _remember(self, node: str, result: StonithResult, requested_by: str) -> None:
        self._last[node] = {
            "time": time.time(),
            "ok": result.ok,
            "code": result.code,
            "reason": result.reason,
            "requested_by": requested_by,
        }

    def confirm_meatware(self, node: str, who: str) -> str | None:
        """An operator confirms a meatware reset; None when accepted, else why not."""
        if not isinstance(self.plugin, MeatwarePlugin):
            return "the configured STONITH device is not meatware"
        refusal = self.board.confirm(node, who)
        if refusal is None:
            hb_log("WARN", f"Meatware reset of {node.lower()} confirmed by {who}")
        return refusal

    def snapshot(self) -> dict[str, Any]:
        """The ``stonith`` part of ``status --json``."""
        device = self.plugin.describe() if self.plugin is not None else None
        return {
            "configured": self.plugin is not None,
            "device": device,
            "error": self.error,
            "lines": [f"{s.directive} {s.plugin}" for s in self.config.stonith],
            "delay_s": self.settings.delay,
            "pending": {node: dict(info) for node, info in self._pending.items()},
            "meatware_waiting": self.board.pending(),
            "last": {node: dict(info) for node, info in self._last.items()},
            "check": dict(self._check),
            "check_interval_s": self.settings.check_interval,
        }

    async def check_status(self) -> StonithResult | None:
        """Heartbeat's device health check (spec §8.2); None without a device."""
        plugin = self.plugin
        if plugin is None:
            return None
        if isinstance(plugin, ExternalPlugin):
            await plugin.load_device_id()
        hb_log("info", f"Checking status of STONITH device [{plugin.device_id}]")
        try:
            async with asyncio.timeout(self.settings.timeout):
                result = await plugin.status()
        except TimeoutError:
            limit = self.settings.timeout
            result = StonithResult.failure(S_TIMEOUT, f"status timed out after {limit:g} s")
        except Exception as exc:  # a plugin bug must not look like a healthy device
            logger.exception("STONITH plugin %s status failed", plugin.type_name)
            result = StonithResult.failure(8, f"internal error in {plugin.type_name}: {exc}")
        if not result.ok:
            hb_log("ERROR", f"STONITH device {plugin.device_id} not operational!")
            hb_log("ERROR", "STONITH status operation failed.")
            hb_log("info", "This may mean that the STONITH device has failed!")
        self._check = {
            "time": time.time(),
            "ok": result.ok,
            "device": plugin.device_id,
            "reason": result.reason,
        }
        return result

    def start_status_checks(self) -> None:
        """At comm-up: check the device now, then every ``stonith_check_interval``."""
        if self.plugin is None or self._check_task is not None:
            return
        self._check_task = asyncio.get_running_loop().create_task(self._check_forever())

    async def _check_forever(self) -> None:
        while True:
            await self.check_status()
            if self.settings.check_interval <= 0:
                return
            await asyncio.sleep(self.settings.check_interval)

    async def close(self) -> None:
        """Cancel resets still running (shutdown)."""
        if self._check_task is not None:
            self._check_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._check_task
            self._check_task = None
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass
        self._tasks.clear()
