"""Resource monitoring settings (hatui only): the ``monitor_*`` keys of hatui.conf.

Heartbeat 3.0.6 never checks a resource after its start (spec §12) and has no directive
for it, so the settings live in ``CONFIG_DIR/hatui.conf``, never in ha.cf (real
Heartbeat refuses them there: ``Illegal directive``). A reload applies them at once.
"""

from __future__ import annotations

from engine.config.hatuikey import Key, Kind, positive_time
from engine.config.model import (
    AutoFailback,
    HatuiConf,
    Issue,
    MonitorConfig,
    Severity,
    SourceRef,
    Value,
)

MIN_MONITOR_INTERVAL_MS = 1000
"""Shortest ``monitor_interval``: each check forks every status script of a group."""


def _interval_check(value: Value, text: str) -> tuple[str, str] | None:
    if isinstance(value, int) and 0 < value < MIN_MONITOR_INTERVAL_MS:
        return (
            f"monitor_interval: '{text}' is below 1 second",
            "every check runs the status of each resource of the group; write 1 or "
            "more (10 is usual), or 0 to turn monitoring off",
        )
    return None


MONITOR_KEYS: tuple[Key, ...] = (
    Key(
        "monitor_interval",
        Kind.TIME,
        "seconds between checks of every resource of the groups this node runs (0 or absent: off)",
        "10",
        live=True,
        check=_interval_check,
    ),
    positive_time(
        "monitor_timeout",
        "a check that hangs is killed after this time and counts as a failure",
        "20",
        live=True,
    ),
    Key(
        "monitor_restarts",
        Kind.COUNT,
        "restarts in place allowed within monitor_window before the group moves",
        "2",
        minimum=0,
        maximum=100,
        live=True,
    ),
    positive_time(
        "monitor_window", "monitor failures older than this are forgotten", "600", live=True
    ),
)
"""The keys resource monitoring reads from hatui.conf."""


def monitor_config(conf: HatuiConf) -> MonitorConfig:
    """The ``monitor_*`` settings of hatui.conf with the defaults filled in."""
    base = MonitorConfig()

    def number(key: str, default: int) -> int:
        value = conf.get(key)
        return value if isinstance(value, int) else default

    return MonitorConfig(
        interval_ms=number("monitor_interval", base.interval_ms),
        timeout_ms=number("monitor_timeout", base.timeout_ms),
        restarts=number("monitor_restarts", base.restarts),
        window_ms=number("monitor_window", base.window_ms),
    )


def check_monitor(conf: HatuiConf, *, crm: bool, auto_failback: AutoFailback) -> list[Issue]:
    """What the ``monitor_*`` settings mean together with ha.cf.

    A warning when monitoring cannot work as written (crm on, a window too short for the
    restart budget ever to run out); an info when settings are given while monitoring
    is off, or in legacy mode.
    """
    used = [key.name for key in MONITOR_KEYS if conf.ref(key.name) is not None]
    if not used:
        return []
    settings = monitor_config(conf)
    issues: list[Issue] = []
    if not settings.enabled:
        others = [name for name in used if name != "monitor_interval"]
        if others:
            issues.append(
                Issue(
                    Severity.INFO,
                    _ref(conf, others[0]),
                    f"{', '.join(others)} has no effect: monitoring is off",
                    "set monitor_interval (e.g. monitor_interval = 10) to monitor resources",
                )
            )
        return issues
    where = _ref(conf, "monitor_interval")
    if crm:
        issues.append(
            Issue(
                Severity.WARNING,
                where,
                "monitor_interval is ignored: crm/pacemaker is on (no haresources groups)",
                "Pacemaker monitors its resources itself; remove the monitor_* lines",
            )
        )
    span = settings.restarts * settings.interval_ms
    if settings.restarts and settings.window_ms <= span:
        issues.append(
            Issue(
                Severity.WARNING,
                conf.ref("monitor_window") or where,
                f"monitor_window [{settings.window_ms} ms] is not longer than monitor_restarts "
                f"x monitor_interval [{span} ms]: failures expire before "
                f"{settings.restarts + 1} of them can add up, so a failing group is "
                "restarted here forever and never handed to the peer",
                f"raise monitor_window above {span} ms or lower monitor_restarts",
            )
        )
    if auto_failback is AutoFailback.LEGACY and not crm:
        issues.append(
            Issue(
                Severity.INFO,
                where,
                "with auto_failback legacy a group whose monitor restarts are used up is "
                "not handed to the peer (legacy mode has no standby); it is restarted here "
                "with a growing delay",
                "use auto_failback on or off in ha.cf to let a failing group move",
            )
        )
    return issues


def _ref(conf: HatuiConf, key: str) -> SourceRef:
    return conf.ref(key) or SourceRef(conf.path)
