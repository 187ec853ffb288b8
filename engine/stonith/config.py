"""``stonith``/``stonith_host`` lines into a configured device: the probe.

What a line says on its own, and the fencing keys of hatui.conf, are read by the
configuration layer (``engine.config.stonithconf``, re-exported here). Which plugin
implements a type and which parameters it takes can only be learnt by running programs
(``<script> getconfignames``, ``stonith -t TYPE -n``, ``stonith -L``) and looking in
plugin directories: ``probe_device`` does that, awaited, within a timeout, at start-up,
on a reload that changes the lines, and for ``--check-config``
(``engine.shell.reload.load_checked``). Only the last accepted line is effective.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.config.hatuiconf import read_hatui_conf
from engine.config.model import HatuiConf, Issue, Severity, SourceRef, StonithSpec
from engine.config.stonithconf import (
    BUILTIN_PARAMETERS,
    STATUS_CHECK_INTERVAL,
    STONITH_KEYS,
    StonithConfigError,
    StonithSettings,
    builtin_params,
    check_line,
    check_settings,
    fence_options,
    map_params,
    named_params,
    param_text,
    stonith_settings,
)
from engine.stonith.base import PluginContext, StonithPlugin
from engine.stonith.fence_agents import FenceAgentPlugin
from engine.stonith.registry import BUILTIN, plugin_class

__all__ = [
    "STATUS_CHECK_INTERVAL",
    "STONITH_KEYS",
    "DeviceConfig",
    "DeviceProbe",
    "StonithConfigError",
    "StonithSettings",
    "check_settings",
    "configure",
    "context_for",
    "effective_device",
    "load_settings",
    "map_params",
    "param_text",
    "probe_device",
    "stonith_settings",
    "validate_stonith",
]

logger = logging.getLogger(__name__)


def load_settings(config_dir: Path) -> tuple[StonithSettings, list[Issue]]:
    """Read ``CONFIG_DIR/hatui.conf`` on its own (every consumer's keys are accepted);
    a missing file gives the defaults. The issues are the whole file's."""
    conf, issues = read_hatui_conf(Path(config_dir))
    return stonith_settings(conf), issues + check_settings(conf)


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """One device as probed: type, the class that implements it, named parameters and
    the line it came from."""

    type_name: str
    params: dict[str, str]
    where: SourceRef
    plugin_class: type[StonithPlugin]

    def build(self, ctx: PluginContext) -> StonithPlugin:
        """Instantiate the plugin (no program runs here)."""
        return self.plugin_class(self.type_name, self.params, ctx)


@dataclass(frozen=True, slots=True)
class DeviceProbe:
    """What probing the stonith lines found: the effective device (None when no line
    configures one) and the problems, each with its file:line."""

    device: DeviceConfig | None
    issues: tuple[Issue, ...] = ()
    duration_ms: float = 0.0

    @property
    def errors(self) -> list[Issue]:
        """The problems that refuse a line."""
        return [issue for issue in self.issues if issue.severity is Severity.ERROR]


async def configure(spec: StonithSpec, ctx: PluginContext) -> DeviceConfig:
    """Check one line and return its device; raises StonithConfigError."""
    text = await asyncio.to_thread(check_line, spec)  # may read a parameter file
    if spec.plugin in BUILTIN_PARAMETERS:
        return DeviceConfig(
            spec.plugin, builtin_params(spec, text), spec.where, BUILTIN[spec.plugin]
        )
    cls = await plugin_class(spec.plugin, ctx)
    if cls is None:
        raise StonithConfigError(
            f"Invalid Stonith type [{spec.plugin}]",
            "see 'hactl stonith --list' for the types this node can use",
        )
    if cls is FenceAgentPlugin:
        return DeviceConfig(spec.plugin, fence_options(spec, text), spec.where, cls)
    try:
        names = await cls.parameter_names(spec.plugin, ctx)
    except LookupError as exc:
        raise StonithConfigError(f"Unknown Stonith config error [{exc}]") from exc
    return DeviceConfig(spec.plugin, named_params(spec, names, text), spec.where, cls)


async def effective_device(
    specs: Sequence[StonithSpec], ctx: PluginContext
) -> tuple[DeviceConfig | None, list[Issue]]:
    """The device of the last line that configures (Heartbeat keeps only one), and issues."""
    device: DeviceConfig | None = None
    issues: list[Issue] = []
    for spec in specs:
        try:
            device = await configure(spec, ctx)
        except StonithConfigError as exc:
            issues.append(_error(spec.where, exc.message, exc.hint))
    if len(specs) > 1 and device is not None:
        issues.append(
            Issue(
                Severity.WARNING,
                device.where,
                f"{len(specs)} stonith lines apply to this node; only this one is used",
                "Heartbeat keeps one device: remove the others",
            )
        )
    return device, issues


async def probe_device(specs: Sequence[StonithSpec], ctx: PluginContext) -> DeviceProbe:
    """Probe the lines' plugins, all within ``ctx.timeout`` (``stonith_timeout``).

    A plugin that does not answer in time refuses the configuration with the reason
    (its process group is killed by the runner); nothing here blocks the caller's loop.
    """
    started = time.monotonic()
    if not specs:
        return DeviceProbe(None)
    try:
        async with asyncio.timeout(ctx.timeout):
            device, issues = await effective_device(specs, ctx)
    except TimeoutError:
        last = specs[-1]
        problem = _error(
            last.where,
            f"Probing STONITH type [{last.plugin}] did not finish within {ctx.timeout:g} s",
            "the plugin did not answer (getconfignames / stonith -t TYPE -n): check its "
            "device and link, or raise stonith_timeout in hatui.conf",
        )
        device, issues = None, [problem]
    elapsed = (time.monotonic() - started) * 1000.0
    logger.debug("STONITH probe of %d line(s) took %.0f ms", len(specs), elapsed)
    return DeviceProbe(device, tuple(issues), elapsed)


async def validate_stonith(
    specs: Sequence[StonithSpec],
    config_dir: Path,
    node_name: str = "",
    conf: HatuiConf | None = None,
) -> list[Issue]:
    """Every STONITH problem of some lines, the probe's included.

    ``conf``: hatui.conf as the loader read it (its reading problems are the loader's
    to report); None reads it here and includes them.
    """
    if conf is None:
        settings, issues = await asyncio.to_thread(load_settings, config_dir)
    else:
        settings, issues = stonith_settings(conf), check_settings(conf)
    probe = await probe_device(specs, context_for(config_dir, node_name, settings))
    return issues + list(probe.issues)


def context_for(config_dir: Path, node_name: str, settings: StonithSettings) -> PluginContext:
    """The plugin context of a node."""
    return PluginContext(
        config_dir=Path(config_dir),
        node_name=node_name,
        timeout=settings.timeout,
        external_dirs=settings.external_dirs,
    )


def _error(where: SourceRef, message: str, hint: str) -> Issue:
    return Issue(Severity.ERROR, where, message, hint)
