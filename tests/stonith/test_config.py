"""stonith/stonith_host lines → devices; errors with file:line at --check-config time."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from engine.config import load_config
from engine.config.model import Severity, SourceRef, StonithSpec
from engine.shell.configload import load_checked
from engine.stonith.config import load_settings, map_params, validate_stonith
from engine.stonith.glue import stonith_command
from tests.stonith.conftest import host_line

needs_glue = pytest.mark.skipif(stonith_command() is None, reason="cluster-glue not installed")


def test_last_parameter_takes_the_rest_of_the_line() -> None:
    names = ("ipaddr", "login", "password")
    assert map_params(names, "10.0.0.3 admin  my secret pw") == {
        "ipaddr": "10.0.0.3",
        "login": "admin",
        "password": "my secret pw",
    }
    assert map_params(("hostlist",), "alpha  bravo") == {"hostlist": "alpha  bravo"}
    assert map_params(("a", "b"), "only") == {"a": "only", "b": ""}


async def test_null_line_is_valid(config_dir: Path) -> None:
    assert await validate_stonith([host_line("null", "alpha bravo")], config_dir) == []


async def test_unknown_type_is_an_error_with_its_line(config_dir: Path) -> None:
    issues = await validate_stonith([host_line("nosuchswitch", "x", line=12)], config_dir)
    assert [str(i.where) for i in issues] == ["ha.cf:12"]
    assert issues[0].severity is Severity.ERROR
    assert "Invalid Stonith type [nosuchswitch]" in issues[0].message


async def test_missing_parameters_are_named(config_dir: Path) -> None:
    issues = await validate_stonith([host_line("null", "")], config_dir)
    assert "Invalid Stonith configuration parameter [hostlist missing]" in issues[0].message
    issues = await validate_stonith([host_line("external/testdev", "/tmp/log")], config_dir)
    assert "[hostlist missing]" in issues[0].message
    assert "logfile hostlist" in issues[0].hint


async def test_external_parameter_names_come_from_getconfignames(config_dir: Path) -> None:
    assert await validate_stonith([host_line("external/testdev", "/tmp/x alpha")], config_dir) == []
    issues = await validate_stonith([host_line("external/nosuch", "alpha")], config_dir)
    assert "Invalid Stonith type [external/nosuch]" in issues[0].message


async def test_fence_agent_options_must_be_key_value(config_dir: Path) -> None:
    if shutil.which("fence_dummy", path="/usr/sbin:/sbin") is None:
        pytest.skip("fence-agents fence_dummy not installed")
    assert await validate_stonith([host_line("fence_dummy", "type=file")], config_dir) == []
    issues = await validate_stonith([host_line("fence_dummy", "type file")], config_dir)
    assert "'type' is not key=value" in issues[0].message


async def test_stonith_configfile_first_non_comment_line(config_dir: Path) -> None:
    conf = config_dir / "null.conf"
    conf.write_text("# comment\n\n   \nalpha bravo\nignored\n")
    spec = StonithSpec("stonith", "*", "null", str(conf), SourceRef("ha.cf", 3))
    assert await validate_stonith([spec], config_dir) == []
    conf.write_text("# only a comment\n")
    issues = await validate_stonith([spec], config_dir)
    assert f"Invalid Stonith config file [{conf}]" in issues[0].message
    assert str(issues[0].where) == "ha.cf:3"


def test_hatui_conf_settings_and_errors(tmp_path: Path) -> None:
    (tmp_path / "hatui.conf").write_text(
        "# fencing\nstonith_delay = 3\nstonith_retry_min = 500ms\nstonith_retry_max=4\n"
        "bogus = 1\nstonith_timeout = soon\n"
    )
    settings, issues = load_settings(tmp_path)
    assert (settings.delay, settings.retry_min, settings.retry_max) == (3.0, 0.5, 4.0)
    assert [str(i.where).rsplit("/", 1)[1] for i in issues] == ["hatui.conf:5", "hatui.conf:6"]
    assert "unknown setting 'bogus'" in issues[0].message
    assert "'soon' is not a time" in issues[1].message


HACF = """\
keepalive 200ms
deadtime 2
initdead 4
udpport 6940
bcast lo
node alpha
node bravo
stonith_host * {stonith}
"""


def _write_config(directory: Path, stonith: str) -> None:
    (directory / "ha.cf").write_text(HACF.format(stonith=stonith))
    keys = directory / "authkeys"
    keys.write_text("auth 1\n1 sha1 secret\n")
    keys.chmod(0o600)
    (directory / "haresources").write_text("alpha 10.99.0.10\n")


@needs_glue
async def test_check_config_reports_stonith_errors(config_dir: Path) -> None:
    """The probe (``stonith -t baytech -n``) is part of the checked load that start-up,
    reload and --check-config share; the pure loader cannot know baytech's parameters."""
    _write_config(config_dir, "baytech 10.0.0.3")
    assert load_config(config_dir, "alpha").config is not None  # files alone: fine
    result = await load_checked(config_dir, "alpha", read_timeout=10)
    messages = [str(i) for i in result.errors]
    assert result.config is None
    assert any(
        "ha.cf:8" in m and "Invalid Stonith configuration parameter [login password missing]" in m
        for m in messages
    ), messages
    _write_config(config_dir, "external/testdev /tmp/log alpha bravo")
    result = await load_checked(config_dir, "alpha", read_timeout=10)
    assert result.errors == [] and result.config is not None
    assert result.probe is not None and result.probe.device is not None
    assert result.probe.device.params == {"logfile": "/tmp/log", "hostlist": "alpha bravo"}


async def test_a_probe_that_does_not_answer_refuses_with_the_reason(config_dir: Path) -> None:
    script = config_dir / "stonith" / "external" / "sleepy"
    script.write_text("#!/bin/sh\nsleep 30\n")
    script.chmod(0o755)
    _write_config(config_dir, "external/sleepy alpha bravo")
    (config_dir / "hatui.conf").write_text("stonith_timeout = 500ms\n")
    started = time.monotonic()
    result = await load_checked(config_dir, "alpha", read_timeout=10)
    assert time.monotonic() - started < 5
    assert result.config is None
    [error] = result.errors
    assert str(error.where) == f"{config_dir / 'ha.cf'}:8"
    assert "Probing STONITH type [external/sleepy] did not finish within 0.5 s" in error.message


def test_builtin_lines_are_checked_by_the_loader_without_a_probe(config_dir: Path) -> None:
    _write_config(config_dir, "null")
    result = load_config(config_dir, "alpha")
    assert result.config is None
    assert "Invalid Stonith configuration parameter [hostlist missing]" in str(result.errors[0])
