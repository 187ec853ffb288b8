"""``stonith``/``stonith_host`` lines into a configured device; STONITH keys of hatui.conf.

Parameter strings follow Heartbeat (spec §8.1): the plugin's ordered parameter names
take the whitespace-separated words in order and the **last** name takes the rest of the
line, spaces included. ``stonith <type> <file>`` reads the first line of the file that
is neither empty nor a ``#`` comment. Only the last accepted line is effective.

The fencing knobs Heartbeat has no directive for are keys of ``CONFIG_DIR/hatui.conf``
(``STONITH_KEYS``, read by ``engine.config.hatuiconf``), never ha.cf directives, which
real Heartbeat would refuse.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.config.hatuiconf import Key, Kind, read_hatui_conf
from engine.config.model import HatuiConf, Issue, Severity, SourceRef, StonithSpec
from engine.stonith.base import DEFAULT_TIMEOUT, PluginContext, StonithPlugin
from engine.stonith.fence_agents import FenceAgentPlugin, parse_options
from engine.stonith.meatware import MEATWARE_DIR, MEATWARE_TIMEOUT
from engine.stonith.registry import BUILTIN, plugin_class

logger = logging.getLogger(__name__)

STATUS_CHECK_INTERVAL = 3600.0


@dataclass(frozen=True, slots=True)
class StonithSettings:
    """Fencing knobs from hatui.conf (seconds)."""

    delay: float = 0.0
    """Death-match guard: the non-preferred node of a 2-node cluster waits this long
    before fencing its peer (Pacemaker's pcmk_delay_base / priority-fencing-delay)."""
    retry_min: float = 5.0
    """First retry after a failed fence (Heartbeat's fixed 5 s)."""
    retry_max: float = 60.0
    """Retries back off by doubling up to this."""
    timeout: float = DEFAULT_TIMEOUT
    """Seconds one device operation may take before it counts as failed."""
    meatware_timeout: float = MEATWARE_TIMEOUT
    external_dirs: tuple[Path, ...] = ()
    check_interval: float = STATUS_CHECK_INTERVAL
    """Seconds between device status checks (Heartbeat: at comm-up, then hourly);
    0 checks only at comm-up."""
    meatware_dir: Path = Path(MEATWARE_DIR)
    """Where the meatware FIFO ``meatware.<node>`` is made (meatclient uses /run)."""


STONITH_KEYS: tuple[Key, ...] = (
    Key(
        "stonith_delay",
        Kind.TIME,
        "the non-preferred node of a 2-node cluster waits this long before fencing",
        "0",
    ),
    Key("stonith_retry_min", Kind.TIME, "first retry after a failed fence", "5"),
    Key("stonith_retry_max", Kind.TIME, "retries back off by doubling up to this", "60"),
    Key("stonith_timeout", Kind.TIME, "seconds one device operation may take", "60"),
    Key("meatware_timeout", Kind.TIME, "seconds a meatware reset waits for the operator", "600"),
    Key(
        "stonith_external_dir",
        Kind.PATH,
        "one more directory for external/* scripts",
        "/usr/local/lib/stonith/external",
        repeatable=True,
    ),
    Key(
        "stonith_check_interval",
        Kind.TIME,
        "seconds between device status checks after the one at comm-up (0: only then)",
        "3600",
    ),
    Key("meatware_dir", Kind.PATH, "where the meatware FIFO meatware.NODE is made", "/run"),
)
"""The keys the STONITH layer reads from hatui.conf (a change needs a restart)."""

_SECONDS = {
    "stonith_delay": "delay",
    "stonith_retry_min": "retry_min",
    "stonith_retry_max": "retry_max",
    "stonith_timeout": "timeout",
    "meatware_timeout": "meatware_timeout",
    "stonith_check_interval": "check_interval",
}


def stonith_settings(conf: HatuiConf) -> StonithSettings:
    """The STONITH view of hatui.conf, defaults filled in."""
    values: dict[str, object] = {}
    for key, attr in _SECONDS.items():
        millis = conf.get(key)
        if isinstance(millis, int):
            values[attr] = millis / 1000.0
    meatware_dir = conf.get("meatware_dir")
    if meatware_dir is not None:
        values["meatware_dir"] = Path(str(meatware_dir))
    dirs = tuple(Path(str(value)) for value in conf.values("stonith_external_dir"))
    return StonithSettings(external_dirs=dirs, **values)  # type: ignore[arg-type]


def check_settings(conf: HatuiConf) -> list[Issue]:
    """The rules between the STONITH keys."""
    settings = stonith_settings(conf)
    if settings.retry_min > 0 and settings.retry_max >= settings.retry_min:
        return []
    where = conf.ref("stonith_retry_max") or conf.ref("stonith_retry_min") or SourceRef(conf.path)
    return [
        _error(
            where,
            "stonith_retry_min must be > 0 and stonith_retry_max >= stonith_retry_min",
            f"now stonith_retry_min = {settings.retry_min:g}, stonith_retry_max = "
            f"{settings.retry_max:g}; e.g. stonith_retry_min = 5 and stonith_retry_max = 60",
        )
    ]


def load_settings(config_dir: Path) -> tuple[StonithSettings, list[Issue]]:
    """Read ``CONFIG_DIR/hatui.conf`` on its own (every consumer's keys are accepted);
    a missing file gives the defaults. The issues are the whole file's."""
    conf, issues = read_hatui_conf(Path(config_dir))
    return stonith_settings(conf), issues + check_settings(conf)


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """One device as configured: type, named parameters and the line it came from."""

    type_name: str
    params: dict[str, str]
    where: SourceRef

    def build(self, ctx: PluginContext) -> StonithPlugin:
        """Instantiate the plugin (the type was checked when this was configured)."""
        cls = plugin_class(self.type_name, ctx)
        if cls is None:
            raise LookupError(f"Invalid Stonith type [{self.type_name}]")
        return cls(self.type_name, self.params, ctx)


class StonithConfigError(ValueError):
    """A stonith line cannot be turned into a device; the message is Heartbeat's text."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def map_params(names: Sequence[str], text: str) -> dict[str, str]:
    """Assign words of ``text`` to ``names`` in order; the last name takes the rest."""
    params: dict[str, str] = {}
    rest = text.strip()
    for index, name in enumerate(names):
        if index == len(names) - 1:
            params[name] = rest
            break
        parts = re.split(r"\s+", rest, maxsplit=1)
        params[name] = parts[0]
        rest = parts[1] if len(parts) > 1 else ""
    return params


def param_text(spec: StonithSpec) -> str:
    """The parameter string of a line (for ``stonith``: read from its config file)."""
    if spec.directive != "stonith":
        return spec.params
    try:
        lines = Path(spec.params).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise StonithConfigError(
            f"Invalid Stonith config file [{spec.params}]", f"cannot read it: {exc}"
        ) from exc
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip()
    raise StonithConfigError(
        f"Invalid Stonith config file [{spec.params}]",
        "it has no parameter line (only comments or blank lines)",
    )


def configure(spec: StonithSpec, ctx: PluginContext) -> DeviceConfig:
    """Check one line and return its device; raises StonithConfigError."""
    if not spec.plugin:
        raise StonithConfigError("No Stonith type given")
    cls = plugin_class(spec.plugin, ctx)
    if cls is None:
        raise StonithConfigError(
            f"Invalid Stonith type [{spec.plugin}]",
            "see 'hactl stonith --list' for the types this node can use",
        )
    text = param_text(spec)
    if cls is FenceAgentPlugin:
        try:
            return DeviceConfig(spec.plugin, parse_options(text), spec.where)
        except ValueError as exc:
            raise StonithConfigError(
                f"Invalid Stonith configuration parameter [{exc}]",
                "fence agents take key=value words, e.g. ip=10.0.0.1 username=admin",
            ) from exc
    try:
        names = cls.parameter_names(spec.plugin, ctx)
    except LookupError as exc:
        raise StonithConfigError(f"Unknown Stonith config error [{exc}]") from exc
    params = map_params(names, text)
    missing = [name for name in names if not params.get(name)]
    if missing:
        raise StonithConfigError(
            f"Invalid Stonith configuration parameter [{' '.join(missing)} missing]",
            f"{spec.plugin} takes, in order: {' '.join(names)}",
        )
    if cls in BUILTIN.values() and not params.get("hostlist", "").split():
        raise StonithConfigError("Invalid Stonith configuration parameter [hostlist empty]")
    return DeviceConfig(spec.plugin, params, spec.where)


def effective_device(
    specs: Sequence[StonithSpec], ctx: PluginContext
) -> tuple[DeviceConfig | None, list[Issue]]:
    """The device of the last line that configures (Heartbeat keeps only one), and issues."""
    device: DeviceConfig | None = None
    issues: list[Issue] = []
    for spec in specs:
        try:
            device = configure(spec, ctx)
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


def validate_stonith(
    specs: Sequence[StonithSpec],
    config_dir: Path,
    node_name: str = "",
    conf: HatuiConf | None = None,
) -> list[Issue]:
    """Every STONITH problem of a configuration, for ``haengine --check-config``.

    ``conf``: hatui.conf as the loader read it (its reading problems are the loader's
    to report); None reads it here and includes them.
    """
    if conf is None:
        settings, issues = load_settings(config_dir)
    else:
        settings, issues = stonith_settings(conf), check_settings(conf)
    if not specs:
        return issues
    ctx = context_for(config_dir, node_name, settings)
    _, found = effective_device(specs, ctx)
    return issues + found


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
