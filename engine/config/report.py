"""Render configuration issues for ``haengine --check-config``."""

from __future__ import annotations

from collections.abc import Sequence

from engine.config.model import ClusterConfig, Issue, MediumKind, MonitorConfig, Severity
from engine.config.timeparse import format_ms


def _count(number: int, word: str) -> str:
    return f"{number} {word}" if number == 1 else f"{number} {word}s"


def _links(config: ClusterConfig) -> int:
    """Heartbeat links: ucast lines on one device share a name and are one link."""
    pings = (MediumKind.PING, MediumKind.PING_GROUP)
    return len({m.name for m in config.media if m.kind not in pings})


def summary_line(issues: Sequence[Issue], config: ClusterConfig | None = None) -> str:
    """``2 errors, 1 warning: configuration refused`` or ``configuration OK: ...``."""
    errors = sum(1 for issue in issues if issue.severity is Severity.ERROR)
    warnings = sum(1 for issue in issues if issue.severity is Severity.WARNING)
    if errors:
        return f"{_count(errors, 'error')}, {_count(warnings, 'warning')}: configuration refused"
    text = "configuration OK"
    if config is not None:
        groups = _count(len(config.groups), "resource group")
        text += f": {_count(len(config.nodes), 'node')}, {_count(_links(config), 'link')}, {groups}"
    if warnings:
        text += f" ({_count(warnings, 'warning')})"
    return text


def format_report(issues: Sequence[Issue], config: ClusterConfig | None = None) -> str:
    """One ``file:line: severity: message (hint)`` line per issue, then a summary line.

    When ``config`` is given, the directives accepted but not acted on are listed too.
    """
    lines = [str(issue) for issue in issues]
    if config is not None and config.not_acted_on:
        lines.append(
            "note: accepted but not acted on by this version: " + ", ".join(config.not_acted_on)
        )
    if config is not None and config.monitor.enabled:
        lines.append(f"note: resource monitoring (hatui only): {monitor_text(config.monitor)}")
    lines.append(summary_line(issues, config))
    return "\n".join(lines)


def monitor_text(monitor: MonitorConfig) -> str:
    """``every 10 s, timeout 20 s; 2 restarts within 600 s, then to the peer`` (or off)."""
    if not monitor.enabled:
        return "off"
    return (
        f"every {_seconds(monitor.interval_ms)}, timeout {_seconds(monitor.timeout_ms)}; "
        f"{_count(monitor.restarts, 'restart')} within {_seconds(monitor.window_ms)}, "
        "then the group goes to the peer"
    )


def _seconds(millis: int) -> str:
    return f"{millis // 1000} s" if millis % 1000 == 0 else format_ms(millis)
