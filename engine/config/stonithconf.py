"""STONITH as configured: hatui.conf's fencing keys and what the lines say on their own.

Rules of this module: it reads files and nothing else. Which plugin implements a type,
and which parameters an ``external/*`` or cluster-glue type takes, can only be learnt by
running programs (``getconfignames``, ``stonith -t TYPE -n``): that is the STONITH
layer's probe (``engine.stonith.config.probe_device``), awaited off the loop. What a
line says without a program is checked here, so ``load_config`` reports it with the
other files' problems: a missing type, an unreadable parameter file, the parameters of
a built-in type, the ``key=value`` form of a fence agent's options.

Parameter strings follow Heartbeat (spec §8.1): the plugin's ordered parameter names
take the whitespace-separated words in order and the **last** name takes the rest of the
line, spaces included. ``stonith <type> <file>`` reads the first line of the file that
is neither empty nor a ``#`` comment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.config.hatuikey import Key, Kind
from engine.config.model import HatuiConf, Issue, Severity, SourceRef, StonithSpec

DEFAULT_TIMEOUT = 60.0
"""Seconds one device operation may take (Pacemaker's stonith-timeout default)."""
MEATWARE_TIMEOUT = 600.0
"""Seconds the meatware plugin waits for the operator (the plugin's 600 s alarm)."""
MEATWARE_DIR = "/run"
"""Where Heartbeat's plugin makes its FIFO; ``meatclient`` has this path built in."""
STATUS_CHECK_INTERVAL = 3600.0
BUILTIN_PARAMETERS: dict[str, tuple[str, ...]] = {
    "null": ("hostlist",),
    "meatware": ("hostlist",),
    "ssh": ("hostlist",),
}
"""The built-in types and their ordered parameter names (cluster-glue's)."""


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
    """Seconds one device operation (and the probe of a configured type) may take."""
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


def parse_options(text: str) -> dict[str, str]:
    """A fence agent's ``key=value`` words → dict; raises ValueError naming the first
    bad word (fence agents take named options only, no positional order)."""
    options: dict[str, str] = {}
    for word in text.split():
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise ValueError(f"'{word}' is not key=value")
        options[key] = value
    return options


def fence_options(spec: StonithSpec, text: str) -> dict[str, str]:
    """The options of a ``fence_*`` line; raises StonithConfigError."""
    try:
        return parse_options(text)
    except ValueError as exc:
        raise StonithConfigError(
            f"Invalid Stonith configuration parameter [{exc}]",
            "fence agents take key=value words, e.g. ip=10.0.0.1 username=admin",
        ) from exc


def named_params(spec: StonithSpec, names: Sequence[str], text: str) -> dict[str, str]:
    """``text`` given to ``names``; raises StonithConfigError when one is missing."""
    params = map_params(names, text)
    missing = [name for name in names if not params.get(name)]
    if missing:
        raise StonithConfigError(
            f"Invalid Stonith configuration parameter [{' '.join(missing)} missing]",
            f"{spec.plugin} takes, in order: {' '.join(names)}",
        )
    return params


def builtin_params(spec: StonithSpec, text: str) -> dict[str, str]:
    """The parameters of a built-in type (no program needed); raises StonithConfigError."""
    params = named_params(spec, BUILTIN_PARAMETERS[spec.plugin], text)
    if not params.get("hostlist", "").split():
        raise StonithConfigError("Invalid Stonith configuration parameter [hostlist empty]")
    return params


def check_line(spec: StonithSpec) -> str:
    """What one line says without a program: its parameter text; raises
    StonithConfigError for a missing type, an unreadable parameter file, bad parameters
    of a built-in type or options of a fence agent that are not ``key=value``."""
    if not spec.plugin:
        raise StonithConfigError("No Stonith type given")
    text = param_text(spec)
    if spec.plugin in BUILTIN_PARAMETERS:
        builtin_params(spec, text)
    elif spec.plugin.startswith("fence_"):
        fence_options(spec, text)
    return text


def line_issues(specs: Sequence[StonithSpec]) -> list[Issue]:
    """The problems ``check_line`` finds, one per bad line, with its file:line."""
    issues: list[Issue] = []
    for spec in specs:
        try:
            check_line(spec)
        except StonithConfigError as exc:
            issues.append(_error(spec.where, exc.message, exc.hint))
    return issues


def _error(where: SourceRef, message: str, hint: str) -> Issue:
    return Issue(Severity.ERROR, where, message, hint)
