"""load_config on the §0.5 reference configuration, node naming, reports, all-at-once."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.config import (
    AutoFailback,
    MediumKind,
    Severity,
    SourceRef,
    check_timing,
    format_report,
    load_config,
    local_node_name,
)
from engine.core.ipfail import make_ipfail
from tests.config.conftest import REFERENCE_HACF, write_config


def test_reference_config_parses_to_expected_values(config_dir: Path) -> None:
    result = load_config(config_dir, "alpha")

    assert result.errors == []
    config = result.config
    assert config is not None
    assert config.node_name == "alpha"
    assert config.nodes == ("alpha", "bravo")
    assert config.peers == ("bravo",)
    timing = config.timing
    assert (timing.keepalive_ms, timing.deadtime_ms, timing.warntime_ms) == (1000, 3000, 2000)
    assert (timing.initdead_ms, timing.deadping_ms) == (6000, 3000)
    assert [(m.kind, m.name, m.dev, m.peer, m.port) for m in config.media] == [
        (MediumKind.UCAST, "eth0", "eth0", "10.99.0.2", 694),
        (MediumKind.UCAST, "hb1", "hb1", "10.99.1.2", 694),
    ]
    assert config.media[0].where == SourceRef(str(config_dir / "ha.cf"), 11)
    assert config.udpport == 694
    assert config.auto_failback is AutoFailback.ON
    assert config.realtime is True
    assert config.crm is False
    assert config.log.logfile == "/var/log/ha-log"
    assert config.log.debugfile == "/var/log/ha-debug"
    assert config.log.logfacility == ""
    assert config.log.use_logd is False
    assert config.auth.send_index == 1
    assert config.auth.key(1) is not None
    assert config.auth.keys[0].method == "sha1"
    assert config.auth.keys[0].secret == b"hbsim-anchor-sha1-key"
    assert config.auth.accept_indices == frozenset({1})
    [group] = config.groups
    assert group.node == "alpha"
    assert group.key == "IPaddr2::10.99.0.10/24/eth0"
    assert group.canonical == "alpha IPaddr2::10.99.0.10/24/eth0 hbhttpd"
    assert group.resources[0].script == "IPaddr2"
    assert group.resources[0].args == ("10.99.0.10/24/eth0",)
    assert group.where == SourceRef(str(config_dir / "haresources"), 1)
    # initdead 6 is Heartbeat's "may be too small" warning, and the only issue.
    assert [i.message for i in result.issues] == ["Initial dead time [6000 ms] may be too small!"]
    assert result.issues[0].severity is Severity.WARNING
    assert result.issues[0].where.line == 9


def test_hbparameter_values_are_raw_text_or_defaults(config_dir: Path) -> None:
    config = load_config(config_dir, "alpha").config
    assert config is not None
    assert config.parameter("deadtime") == "3"
    assert config.parameter("keepalive") == "1"
    assert config.parameter("warntime") == "2"
    assert config.parameter("auto_failback") == "on"
    assert config.parameter("hopfudge") == "1"
    assert config.parameter("cluster") == "linux-ha"
    assert config.parameter("max_rexmit_delay") == "250"
    assert config.parameter("memreserve") == "6500"
    assert config.parameter("node") is None


def test_warntime_default_is_recorded_in_ms(tmp_path: Path) -> None:
    hacf = REFERENCE_HACF.replace("warntime 2\n", "").replace("deadtime 3", "deadtime 5")
    folder = write_config(tmp_path, hacf=hacf)
    config = load_config(folder, "alpha").config
    assert config is not None
    assert config.timing.warntime_ms == 2500
    assert config.parameter("warntime") == "2500ms"
    assert config.parameter("deadtime") == "5"


@pytest.mark.parametrize(
    ("deadtime", "initdead_ms"), [("3", 12000), ("8", 16000), ("20", 20000), ("6", 12000)]
)
def test_initdead_default(tmp_path: Path, deadtime: str, initdead_ms: int) -> None:
    hacf = REFERENCE_HACF.replace("initdead 6\n", "").replace("deadtime 3", f"deadtime {deadtime}")
    folder = write_config(tmp_path, hacf=hacf)
    result = load_config(folder, "alpha")
    assert result.config is not None, result.issues
    assert result.config.timing.initdead_ms == initdead_ms
    assert result.config.parameter("initdead") == f"{initdead_ms}ms"


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    hacf = REFERENCE_HACF.replace("keepalive 1", "keepalive 1s").replace(
        "ucast hb1 10.99.1.2", "ucast hb1 10.99.1.2\nmcast eth0 10.0.0.1 694 1 0"
    )
    folder = write_config(
        tmp_path,
        hacf=hacf,
        authkeys="auth 2\n1 sha1 key\n",
        haresources="alpha hbhttpd\ncharlie other\n",
    )
    result = load_config(folder, "alpha")
    assert result.config is None
    assert [(Path(i.where.path).name, i.where.line) for i in result.errors] == [
        ("ha.cf", 6),
        ("ha.cf", 13),
        ("authkeys", 1),
        ("haresources", 2),
    ]
    report = format_report(result.issues)
    assert report.splitlines()[-1].startswith("4 errors, ")
    assert report.splitlines()[-1].endswith(": configuration refused")


def test_missing_hacf_is_one_error(tmp_path: Path) -> None:
    folder = write_config(tmp_path, hacf=None, authkeys=None, haresources=None)
    result = load_config(folder, "alpha")
    assert result.config is None
    assert len(result.issues) == 1
    assert "Cannot open config file" in result.issues[0].message


def test_missing_haresources_is_a_warning(tmp_path: Path) -> None:
    folder = write_config(tmp_path, haresources=None)
    result = load_config(folder, "alpha")
    assert result.config is not None
    assert result.config.groups == ()
    assert any("no resource groups" in i.message for i in result.warnings)


def test_crm_on_disables_resources_with_warning(tmp_path: Path) -> None:
    folder = write_config(tmp_path, hacf=REFERENCE_HACF.replace("crm no", "crm respawn"))
    result = load_config(folder, "alpha")
    assert result.config is not None
    assert result.config.crm is True
    assert result.config.groups == ()
    messages = [i.message for i in result.warnings]
    assert any("resource management is disabled" in m for m in messages)
    assert any(m.startswith("File ") and m.endswith("haresources exists.") for m in messages)


def test_node_name_argument_wins_and_is_lowercased(tmp_path: Path) -> None:
    (tmp_path / "nodeinfo").write_text("bravo\n")
    assert local_node_name(tmp_path, "ALPHA") == "alpha"
    assert local_node_name(tmp_path) == "bravo"


def test_node_name_from_nodeinfo_first_line(tmp_path: Path) -> None:
    (tmp_path / "nodeinfo").write_text("Bravo\nignored\n")
    assert local_node_name(tmp_path) == "bravo"


def test_node_name_falls_back_to_uname(tmp_path: Path) -> None:
    import os

    assert local_node_name(tmp_path) == os.uname().nodename.lower()


def test_local_node_missing_names_the_fix(config_dir: Path) -> None:
    result = load_config(config_dir, "Charlie")
    [error] = result.errors
    assert error.message == "Current node [charlie] not in configuration!"
    assert "uname -n" in error.hint
    assert "--node" in error.hint


def test_report_ok_summary(config_dir: Path) -> None:
    result = load_config(config_dir, "alpha")
    report = format_report(result.issues, result.config)
    lines = report.splitlines()
    assert lines[0].startswith(f"{config_dir / 'ha.cf'}:9: warning: Initial dead time")
    assert lines[-1] == "configuration OK: 2 nodes, 2 links, 1 resource group (1 warning)"


def test_report_lists_directives_not_acted_on(tmp_path: Path) -> None:
    folder = write_config(tmp_path, hacf=REFERENCE_HACF + "coredumps off\nmemreserve 100\n")
    result = load_config(folder, "alpha")
    assert result.config is not None
    assert result.config.not_acted_on == ("coredumps", "memreserve")
    assert "not acted on by this version: coredumps, memreserve" in format_report(
        result.issues, result.config
    )


def test_readme_ipfail_recipe_loads_without_the_heartbeat_package(tmp_path: Path) -> None:
    """``respawn hacluster .../ipfail`` with ping nodes turns on the built-in ipfail even
    where neither the binary nor the user exists."""
    recipe = "ping 10.99.0.254\nrespawn no-such-user-hatui /nonexistent-hatui/ipfail\n"
    result = load_config(write_config(tmp_path, hacf=REFERENCE_HACF + recipe), "alpha")
    assert result.config is not None, format_report(result.issues, None)
    assert [i for i in result.issues if i.severity is Severity.ERROR] == []
    ipfail = make_ipfail(result.config)
    assert ipfail is not None and ipfail.snapshot()["ping_nodes"] == {"10.99.0.254": "init"}


def test_report_error_line_format() -> None:
    from engine.config import Issue

    issue = Issue(Severity.ERROR, SourceRef("/etc/ha.d/ha.cf", 3), "bad [x]", "fix it")
    assert format_report([issue]) == (
        "/etc/ha.d/ha.cf:3: error: bad [x] (fix it)\n1 error, 0 warnings: configuration refused"
    )


class TestCheckTiming:
    """The one function that holds every cross-timer rule (also used by the wizard)."""

    def test_consistent_timers_give_nothing(self) -> None:
        assert check_timing(1000, 10000, 5000, 20000) == []

    def test_deadtime_must_exceed_twice_keepalive(self) -> None:
        [issue] = check_timing(1000, 2000, 1500, 20000)
        assert issue.severity is Severity.ERROR
        assert issue.message == "Dead time [2000] is too small compared to keepalive [1000]"

    def test_warntime_at_deadtime_is_a_warning(self) -> None:
        [issue] = check_timing(1000, 10000, 10000, 20000)
        assert issue.severity is Severity.WARNING
        assert "not smaller than dead time" in issue.message

    def test_warntime_below_keepalive_is_a_warning(self) -> None:
        [issue] = check_timing(1000, 10000, 500, 20000)
        assert issue.severity is Severity.WARNING
        assert "smaller than keepalive" in issue.message

    def test_initdead_below_deadtime_is_an_error(self) -> None:
        [issue] = check_timing(1000, 10000, 5000, 9000)
        assert issue.severity is Severity.ERROR
        assert issue.message == "Initial dead time [9000] is smaller than deadtime [10000]"

    def test_small_initdead_is_a_warning(self) -> None:
        [issue] = check_timing(1000, 3000, 2000, 6000)
        assert issue.severity is Severity.WARNING
        assert issue.message == "Initial dead time [6000 ms] may be too small!"

    def test_deadping_checked_when_given(self) -> None:
        refs = {"deadping": SourceRef("ha.cf", 7)}
        [issue] = check_timing(1000, 10000, 5000, 20000, deadping_ms=2000, refs=refs)
        assert issue.where == SourceRef("ha.cf", 7)
        assert "Ping dead time [2000]" in issue.message
