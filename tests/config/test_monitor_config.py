"""hatui's ``monitor_*`` directives: values, defaults, file:line errors, cross-checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import MonitorConfig, Severity, format_report, load_config
from engine.config.hacf import HATUI_DIRECTIVES, KNOWN_DIRECTIVES, parse_hacf_text
from engine.config.validate import check_monitor, monitor_config
from tests.config.conftest import REFERENCE_HACF, write_config


def _parse(text: str) -> tuple[MonitorConfig, list[tuple[Severity, int, str]]]:
    parsed = parse_hacf_text(text, "ha.cf", "alpha", resolve=lambda name: "10.0.0.1")
    issues = [*parsed.issues, *check_monitor(parsed)]
    return monitor_config(parsed), [(i.severity, i.where.line, i.message) for i in issues]


def test_defaults_are_off_with_pacemaker_like_budget() -> None:
    monitor, issues = _parse("node alpha\n")
    assert monitor == MonitorConfig(0, 20_000, 2, 600_000)
    assert not monitor.enabled
    assert issues == []


def test_values_in_heartbeat_time_syntax() -> None:
    monitor, issues = _parse(
        "monitor_interval 10\nmonitor_timeout 2500ms\nmonitor_restarts 1\nmonitor_window 300\n"
        "auto_failback on\n"
    )
    assert monitor == MonitorConfig(10_000, 2_500, 1, 300_000)
    assert monitor.enabled
    [(severity, line, message)] = issues
    assert (severity, line) == (Severity.INFO, 1)
    assert "Heartbeat 3.0.6 refuses them (Illegal directive)" in message
    assert set(HATUI_DIRECTIVES) <= KNOWN_DIRECTIVES


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("monitor_interval 500ms", "monitor_interval [500ms] is below 1 second"),
        ("monitor_interval 10s", "Invalid monitor_interval time [10s]"),
        ("monitor_timeout 0", "monitor_timeout [0] must be more than 0"),
        ("monitor_timeout soon", "Invalid monitor_timeout time [soon]"),
        ("monitor_restarts -1", "Invalid monitor_restarts value [-1]"),
        ("monitor_restarts 101", "Invalid monitor_restarts value [101]"),
        ("monitor_window 0", "monitor_window [0] must be more than 0"),
    ],
)
def test_bad_values_are_errors_with_file_and_line(line: str, message: str) -> None:
    _, issues = _parse(f"node alpha\n{line}\n")
    errors = [(ln, msg) for severity, ln, msg in issues if severity is Severity.ERROR]
    assert errors == [(2, message)]


def test_interval_zero_turns_monitoring_off_and_other_settings_are_noted() -> None:
    monitor, issues = _parse("monitor_interval 0\nmonitor_timeout 5\n")
    assert not monitor.enabled
    assert (Severity.INFO, 2, "monitor_timeout has no effect: monitoring is off") in issues


def test_window_too_short_for_the_budget_is_a_warning() -> None:
    _, issues = _parse("monitor_interval 10\nmonitor_restarts 3\nmonitor_window 30\n")
    [(line, message)] = [(ln, m) for s, ln, m in issues if s is Severity.WARNING]
    assert line == 3
    assert "never handed to the peer" in message


def test_crm_and_legacy_are_explained() -> None:
    _, issues = _parse("monitor_interval 10\ncrm yes\n")
    assert any(s is Severity.WARNING and "crm/pacemaker is on" in m for s, _, m in issues)
    _, issues = _parse("monitor_interval 10\nauto_failback legacy\n")
    assert any(s is Severity.INFO and "legacy mode has no standby" in m for s, _, m in issues)


def test_load_config_and_check_config_report(tmp_path: Path) -> None:
    hacf = REFERENCE_HACF + "monitor_interval 5\nmonitor_timeout 3\n"
    folder = write_config(tmp_path / "ha.d", hacf=hacf)
    result = load_config(folder, "alpha")
    assert result.config is not None
    assert result.config.monitor == MonitorConfig(5_000, 3_000, 2, 600_000)
    report = format_report(result.issues, result.config)
    assert (
        "note: resource monitoring (hatui only): every 5 s, timeout 3 s; "
        "2 restarts within 600 s, then the group goes to the peer"
    ) in report
    bad = write_config(tmp_path / "bad", hacf=REFERENCE_HACF + "monitor_interval 0.2\n")
    refused = load_config(bad, "alpha")
    assert refused.config is None
    assert f"{bad / 'ha.cf'}:18: error: monitor_interval [0.2] is below 1 second" in (
        format_report(refused.issues)
    )
