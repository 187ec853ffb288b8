"""hatui's ``monitor_*`` settings in hatui.conf: values, defaults, file:line errors,
cross-checks, and the ha.cf lines of earlier versions refused with the line to write."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import AutoFailback, MonitorConfig, Severity, format_report, load_config
from engine.config.hacf import KNOWN_DIRECTIVES, MOVED_TO_HATUI_CONF, parse_hacf_text
from engine.config.hatuiconf import read_hatui_conf
from engine.config.monitor import MONITOR_KEYS, check_monitor, monitor_config
from tests.config.conftest import REFERENCE_HACF, write_config


def _read(
    tmp_path: Path, text: str, *, crm: bool = False, failback: AutoFailback = AutoFailback.ON
) -> tuple[MonitorConfig, list[tuple[Severity, int, str]]]:
    (tmp_path / "hatui.conf").write_text(text)
    conf, issues = read_hatui_conf(tmp_path)
    issues += check_monitor(conf, crm=crm, auto_failback=failback)
    return monitor_config(conf), [(i.severity, i.where.line, i.message) for i in issues]


def test_defaults_are_off_with_pacemaker_like_budget(tmp_path: Path) -> None:
    monitor, issues = _read(tmp_path, "# nothing here\n")
    assert monitor == MonitorConfig(0, 20_000, 2, 600_000)
    assert not monitor.enabled
    assert issues == []
    assert monitor_config(read_hatui_conf(tmp_path / "missing")[0]) == MonitorConfig()


def test_values_in_heartbeat_time_syntax(tmp_path: Path) -> None:
    monitor, issues = _read(
        tmp_path,
        "monitor_interval = 10\nmonitor_timeout = 2500ms\nmonitor_restarts = 1\n"
        "monitor_window = 300   # five minutes\n",
    )
    assert monitor == MonitorConfig(10_000, 2_500, 1, 300_000)
    assert monitor.enabled
    assert issues == []
    assert not {key.name for key in MONITOR_KEYS} & KNOWN_DIRECTIVES


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("monitor_interval = 500ms", "monitor_interval: '500ms' is below 1 second"),
        ("monitor_interval = 10s", "monitor_interval: '10s' is not a time"),
        ("monitor_timeout = 0", "monitor_timeout: '0' must be more than 0"),
        ("monitor_timeout = soon", "monitor_timeout: 'soon' is not a time"),
        ("monitor_restarts = -1", "monitor_restarts: '-1' is not a whole number from 0 to 100"),
        ("monitor_restarts = 101", "monitor_restarts: '101' is not a whole number from 0 to 100"),
        ("monitor_window = 0", "monitor_window: '0' must be more than 0"),
        ("monitor_interval 10", "cannot parse 'monitor_interval 10'"),
    ],
)
def test_bad_values_are_errors_with_file_and_line(tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "hatui.conf").write_text(f"# monitoring\n{line}\n")
    _, issues = read_hatui_conf(tmp_path)
    [issue] = issues
    assert issue.severity is Severity.ERROR
    assert str(issue.where) == f"{tmp_path / 'hatui.conf'}:2"
    assert issue.message == message
    assert issue.hint  # how to fix it


def test_a_ha_cf_line_without_equals_is_shown_the_right_form(tmp_path: Path) -> None:
    (tmp_path / "hatui.conf").write_text("monitor_interval 10\n")
    [issue] = read_hatui_conf(tmp_path)[1]
    assert issue.hint == "write 'monitor_interval = 10'"


def test_interval_zero_turns_monitoring_off_and_other_settings_are_noted(tmp_path: Path) -> None:
    monitor, issues = _read(tmp_path, "monitor_interval = 0\nmonitor_timeout = 5\n")
    assert not monitor.enabled
    assert issues == [(Severity.INFO, 2, "monitor_timeout has no effect: monitoring is off")]


def test_window_too_short_for_the_budget_is_a_warning(tmp_path: Path) -> None:
    _, issues = _read(
        tmp_path, "monitor_interval = 10\nmonitor_restarts = 3\nmonitor_window = 30\n"
    )
    [(line, message)] = [(ln, m) for s, ln, m in issues if s is Severity.WARNING]
    assert line == 3
    assert "never handed to the peer" in message


def test_crm_and_legacy_are_explained(tmp_path: Path) -> None:
    _, issues = _read(tmp_path, "monitor_interval = 10\n", crm=True)
    assert any(s is Severity.WARNING and "crm/pacemaker is on" in m for s, _, m in issues)
    _, issues = _read(tmp_path, "monitor_interval = 10\n", failback=AutoFailback.LEGACY)
    assert any(s is Severity.INFO and "legacy mode has no standby" in m for s, _, m in issues)


def test_load_config_and_check_config_report(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "ha.d")
    (folder / "hatui.conf").write_text("monitor_interval = 5\nmonitor_timeout = 3\n")
    result = load_config(folder, "alpha")
    assert result.config is not None
    assert result.config.monitor == MonitorConfig(5_000, 3_000, 2, 600_000)
    assert not [i for i in result.issues if "hatui.conf" in i.where.path]
    report = format_report(result.issues, result.config)
    assert (
        "note: resource monitoring (hatui only): every 5 s, timeout 3 s; "
        "2 restarts within 600 s, then the group goes to the peer"
    ) in report
    bad = write_config(tmp_path / "bad")
    (bad / "hatui.conf").write_text("stonith_delay = 1\nmonitor_interval = 0.2\n")
    refused = load_config(bad, "alpha")
    assert refused.config is None
    assert f"{bad / 'hatui.conf'}:2: error: monitor_interval: '0.2' is below 1 second" in (
        format_report(refused.issues)
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("monitor_interval 10", "monitor_interval = 10"),
        ("monitor_timeout 2500ms", "monitor_timeout = 2500ms"),
        ("monitor_restarts  1 # budget", "monitor_restarts = 1"),
        ("monitor_window 600", "monitor_window = 600"),
        ("monitor_interval", "monitor_interval = 10"),
    ],
)
def test_monitor_lines_in_ha_cf_are_errors_that_say_where_they_moved(
    tmp_path: Path, line: str, expected: str
) -> None:
    folder = write_config(tmp_path / "ha.d", hacf=REFERENCE_HACF + line + "\n")
    result = load_config(folder, "alpha")
    assert result.config is None  # the daemon refuses to start: never monitoring silently off
    [issue] = result.errors
    name = line.split()[0]
    assert str(issue.where) == f"{folder / 'ha.cf'}:18"
    assert issue.message.startswith(f"{name} moved to hatui.conf: ")
    assert "Illegal directive" in issue.message
    assert issue.hint == f"remove this line and write '{expected}' in {folder / 'hatui.conf'}"


def test_every_monitor_key_is_refused_in_ha_cf() -> None:
    assert set(MOVED_TO_HATUI_CONF) == {key.name for key in MONITOR_KEYS}
    text = "node alpha\n" + "".join(f"{key.name} {key.example}\n" for key in MONITOR_KEYS)
    parsed = parse_hacf_text(text, "/etc/ha.d/ha.cf", "alpha", resolve=lambda name: "10.0.0.1")
    assert [(i.severity, i.where.line) for i in parsed.issues] == [
        (Severity.ERROR, line) for line in range(2, 2 + len(MONITOR_KEYS))
    ]
    assert "monitor_interval" not in parsed.parameters  # not an hbparameter any more
