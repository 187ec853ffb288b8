"""Agents: lookup order, heartbeat status-by-text, OCF mapping and exit codes."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from engine.config.model import AuthConfig, ClusterConfig, LogConfig, Timing
from engine.errors import ResourceError
from engine.resources.agents import (
    Agent,
    HeartbeatScript,
    OcfAgent,
    SystemdUnit,
    judge_status_text,
    script_environment,
)
from engine.resources.model import ResourceState
from engine.resources.resolve import resolve_agent
from tests.resources.lab import LsbLab, spec

DUMMY = Path("/usr/lib/ocf/resource.d/heartbeat/Dummy")
HAVE_DUMMY = DUMMY.exists()
IPADDR2 = Path("/usr/lib/ocf/resource.d/heartbeat/IPaddr2")


def _pid_gone(pid: int, within: float = 2.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return True
        time.sleep(0.02)
    return False


# --- status text ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("output", "state"),
    [
        ("hbhttpd is running", ResourceState.RUNNING),
        ("INFO: Running OK", ResourceState.RUNNING),
        ("OK", ResourceState.RUNNING),
        ("Running OK\n", ResourceState.RUNNING),
        ("httpd (pid 42) is Running...", ResourceState.RUNNING),
        ("not running", ResourceState.STOPPED),
        ("httpd is NOT running", ResourceState.STOPPED),
        ("daemon is not currently running", ResourceState.STOPPED),
        ("INFO: Resource is stopped", ResourceState.STOPPED),
        ("stopped", ResourceState.STOPPED),
        ("", ResourceState.STOPPED),
        ("ok", ResourceState.STOPPED),  # *OK* is case-sensitive
        ("notrunning", ResourceState.RUNNING),  # the glob needs a space after "not"
        ("line one\nservice is not running\n", ResourceState.STOPPED),
        ("the service is not\nrunning", ResourceState.RUNNING),  # newline is not a space
    ],
)
def test_status_is_judged_by_text(output: str, state: ResourceState) -> None:
    assert judge_status_text(output) is state
    # ... exactly as ResourceManager's case statement judges `$spath $arg status`.
    shell = subprocess.run(
        [
            "sh",
            "-c",
            'case `printf "%s" "$1"` in *[Nn][Oo][Tt]\\ *[Rr]unning*) exit 3;; '
            "*[Rr]unning*|*OK*) exit 0;; *) exit 3;; esac",
            "judge",
            output,
        ],
        check=False,
    )
    assert (shell.returncode == 0) is (state is ResourceState.RUNNING)


@pytest.mark.parametrize(
    ("text", "state"),
    [
        ("not running", ResourceState.STOPPED),
        ("Running OK", ResourceState.RUNNING),
        ("OK", ResourceState.RUNNING),
        ("stopped", ResourceState.STOPPED),
    ],
)
async def test_real_script_status_uses_text_not_exit_code(
    lab: LsbLab, text: str, state: ResourceState
) -> None:
    lab.mark("web", "status-text", text + "\n")  # the script exits 0 for every text
    agent = lab.resolver()(spec("lsbtest::web"))
    result = await agent.status()
    assert result.ok
    assert result.state is state


# --- lookup -----------------------------------------------------------------------


def test_resource_d_comes_before_init_d(lab: LsbLab) -> None:
    shutil.copy(lab.script, lab.init_dir / "lsbtest")
    agent = lab.resolver()(spec("lsbtest::web"))
    assert isinstance(agent, HeartbeatScript)
    assert agent.script == lab.script


def test_init_d_is_second(lab: LsbLab) -> None:
    init_script = lab.init_dir / "lsbtest"
    shutil.move(lab.script, init_script)
    agent = lab.resolver()(spec("lsbtest"))
    assert isinstance(agent, HeartbeatScript)
    assert agent.script == init_script


def test_non_executable_script_is_skipped(lab: LsbLab) -> None:
    lab.script.chmod(0o644)
    with pytest.raises(ResourceError, match="Cannot locate resource script lsbtest"):
        lab.resolver()(spec("lsbtest"))


def test_missing_script_names_every_place_searched(lab: LsbLab, tmp_path: Path) -> None:
    with pytest.raises(ResourceError) as err:
        resolve_agent(
            spec("nosuch::x"), config_dir=lab.config_dir, init_dir=lab.init_dir, ocf_root=tmp_path
        )
    text = str(err.value)
    assert text.startswith("Cannot locate resource script nosuch")
    assert str(lab.config_dir / "resource.d" / "nosuch") in text
    assert str(lab.init_dir / "nosuch") in text
    assert str(tmp_path / "resource.d" / "heartbeat" / "nosuch") in text


@pytest.mark.parametrize("script", ["../../bin/sh", "/bin/sh", "a b", ""])
def test_bad_script_names_are_refused(lab: LsbLab, script: str) -> None:
    with pytest.raises(ResourceError, match="Invalid resource script name"):
        lab.resolver()(spec(script))


def test_systemd_unit(lab: LsbLab) -> None:
    agent = lab.resolver()(spec("systemd:nginx.service"))
    assert isinstance(agent, SystemdUnit)
    assert agent.argv("start") == ["systemctl", "start", "nginx.service"]
    assert agent.argv("status") == ["systemctl", "is-active", "nginx.service"]
    with pytest.raises(ResourceError, match="take no"):
        lab.resolver()(spec("systemd:nginx::x"))
    with pytest.raises(ResourceError, match="Invalid systemd unit"):
        lab.resolver()(spec("systemd:"))


# --- heartbeat scripts ------------------------------------------------------------


async def test_start_status_stop_cycle_and_log_lines(
    lab: LsbLab, caplog: pytest.LogCaptureFixture
) -> None:
    agent = lab.resolver()(spec("lsbtest::web"))
    caplog.set_level(logging.INFO, logger="engine.resources.agents")
    assert (await agent.status()).state is ResourceState.STOPPED
    started = await agent.start()
    assert started.ok and started.state is ResourceState.RUNNING
    assert lab.running("web")
    assert (await agent.status()).state is ResourceState.RUNNING
    stopped = await agent.stop()
    assert stopped.ok and not lab.running("web")
    assert lab.journal() == ["web status", "web start", "web status", "web stop"]
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert messages == [f"Running {lab.script} web start", f"Running {lab.script} web stop"]


async def test_no_args_logs_two_spaces(lab: LsbLab, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="engine.resources.agents")
    assert (await lab.resolver()(spec("lsbtest")).start()).ok
    assert f"Running {lab.script}  start" in [r.getMessage() for r in caplog.records]
    assert lab.running("default")


async def test_failed_start_logs_return_code(lab: LsbLab, caplog: pytest.LogCaptureFixture) -> None:
    lab.mark("web", "fail-start")
    result = await lab.resolver()(spec("lsbtest::web")).start()
    assert not result.ok
    assert result.state is ResourceState.FAILED
    assert result.detail == "exit 1: forced failure of web start"
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [f"Return code 1 from {lab.script}"]


async def test_environment_reaches_the_script(lab: LsbLab) -> None:
    options = lab.options()
    env = {**options.env, "LSBTEST_FAIL": "web:start"}
    resolver = lab.resolver(env=env)
    assert not (await resolver(spec("lsbtest::web")).start()).ok
    assert (await resolver(spec("lsbtest::db")).start()).ok


async def test_output_lands_in_debug_log(lab: LsbLab, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="engine.process.runner")
    await lab.resolver()(spec("lsbtest::web")).start()
    assert "lsbtest[stdout]: Starting web: OK" in [r.getMessage() for r in caplog.records]


async def test_hanging_stop_is_killed_with_its_grandchild(
    lab: LsbLab, caplog: pytest.LogCaptureFixture
) -> None:
    lab.mark("web", "hang-stop")
    agent = lab.resolver(stop_timeout=0.5, kill_grace=0.2)(spec("lsbtest::web"))
    began = time.monotonic()
    result = await agent.stop()
    assert time.monotonic() - began < 5
    assert not result.ok
    assert result.program is not None and result.program.timed_out
    assert result.detail.startswith("timed out after")
    assert _pid_gone(int((lab.state / "web.grandchild").read_text()))
    assert any("timed out" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)


async def test_hanging_status_is_failed_not_running(lab: LsbLab) -> None:
    lab.mark("web", "hang-status")
    agent = lab.resolver(status_timeout=0.3, kill_grace=0.1)(spec("lsbtest::web"))
    result = await agent.status()
    assert result.state is ResourceState.FAILED
    assert not result.ok


async def test_command_prefix_wraps_every_call(lab: LsbLab) -> None:
    prefix = ("sh", "-c", 'echo "prefix $*" >> "$LSBTEST_DIR/journal"; exec "$@"', "wrap")
    agent = lab.resolver(command_prefix=prefix)(spec("lsbtest::web"))
    assert (await agent.start()).ok
    assert lab.journal() == [f"prefix {lab.script} web start", "web start"]


# --- OCF --------------------------------------------------------------------------


def _resolve(lab: LsbLab, token: str) -> Agent:
    """Resolve with the real OCF root and the lab's (wrapper-less) resource.d."""
    return resolve_agent(spec(token), config_dir=lab.config_dir, init_dir=lab.init_dir)


def test_ipaddr2_mapping_environment(lab: LsbLab) -> None:
    if not IPADDR2.exists():
        pytest.skip("resource-agents IPaddr2 is not installed")
    agent = _resolve(lab, "IPaddr2::10.99.0.10/24/eth0")
    assert isinstance(agent, OcfAgent)
    env = agent.environment("start")
    reskeys = {k: v for k, v in env.items() if k.startswith("OCF_RESKEY_")}
    assert reskeys == {
        "OCF_RESKEY_ip": "10.99.0.10",
        "OCF_RESKEY_cidr_netmask": "24",
        "OCF_RESKEY_nic": "eth0",
    }
    assert env["OCF_RESOURCE_INSTANCE"] == "IPaddr2_10.99.0.10"
    assert env["OCF_ROOT"] == "/usr/lib/ocf"
    assert agent.argv("start") == [str(IPADDR2), "start"]
    assert agent.argv("status") == [str(IPADDR2), "monitor"]
    assert agent.display("start") == f"{IPADDR2} 10.99.0.10/24/eth0 start"


@pytest.mark.parametrize(
    ("arg", "params"),
    [
        ("10.99.0.10", {"ip": "10.99.0.10"}),
        ("10.99.0.10/24", {"ip": "10.99.0.10", "cidr_netmask": "24"}),
        (
            "10.99.0.10/24/10.99.0.255",
            {"ip": "10.99.0.10", "cidr_netmask": "24", "broadcast": "10.99.0.255"},
        ),
        (
            "10.99.0.10/24/eth1/10.99.0.255",
            {"ip": "10.99.0.10", "cidr_netmask": "24", "nic": "eth1", "broadcast": "10.99.0.255"},
        ),
        ("10.99.0.10/24/eth0:1", {"ip": "10.99.0.10", "cidr_netmask": "24", "nic": "eth0:1"}),
    ],
)
def test_ipaddr_positional_forms(lab: LsbLab, arg: str, params: dict[str, str]) -> None:
    agent = _resolve(lab, f"IPaddr::{arg}")
    assert isinstance(agent, OcfAgent)
    assert agent.params == params


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("IPaddr2::eth0/24", "not an IP address"),
        ("IPaddr2::10.99.0.10/xx", "not a netmask"),
        ("IPaddr2::10.99.0.10::eth0", "takes one argument"),
        ("IPaddr2", "takes one argument"),
        ("Filesystem::/dev/sda1", "device::directory"),
        ("Dummy::a::b", "takes key=value arguments"),
        ("Dummy::=x", "takes key=value arguments"),
    ],
)
def test_bad_ocf_arguments_are_refused(lab: LsbLab, token: str, message: str) -> None:
    with pytest.raises(ResourceError, match=message):
        _resolve(lab, token)


def test_filesystem_mapping(lab: LsbLab) -> None:
    token = "Filesystem::/dev/sda1::/data1::ext2::noatime"
    agent = _resolve(lab, token)
    assert isinstance(agent, OcfAgent)
    assert agent.params == {
        "device": "/dev/sda1",
        "directory": "/data1",
        "fstype": "ext2",
        "options": "noatime",
    }
    assert agent.instance == "Filesystem_/dev/sda1"


def test_explicit_ocf_name(lab: LsbLab, tmp_path: Path) -> None:
    agent = _resolve(lab, "ocf:heartbeat:Dummy::fake=x")
    assert isinstance(agent, OcfAgent)
    assert agent.path == str(DUMMY)
    assert agent.params == {"fake": "x"}
    with pytest.raises(ResourceError, match="expected ocf:PROVIDER:TYPE"):
        _resolve(lab, "ocf:Dummy")


async def test_real_dummy_agent_start_monitor_stop(lab: LsbLab, tmp_path: Path) -> None:
    if not HAVE_DUMMY:
        pytest.skip("resource-agents Dummy is not installed")
    state_file = tmp_path / "dummy.state"
    agent = lab.resolver()(spec(f"Dummy::state={state_file}"))
    assert isinstance(agent, OcfAgent)
    assert (await agent.status()).state is ResourceState.STOPPED
    assert (await agent.start()).ok
    assert state_file.exists()
    probe = await agent.status()
    assert probe.ok and probe.state is ResourceState.RUNNING
    assert (await agent.stop()).ok
    assert not state_file.exists()
    assert (await agent.status()).state is ResourceState.STOPPED
    assert (await agent.stop()).ok  # stop when stopped succeeds


async def test_ocf_monitor_error_is_failed(lab: LsbLab, tmp_path: Path) -> None:
    agent_path = tmp_path / "ocf" / "resource.d" / "heartbeat" / "Broken"
    agent_path.parent.mkdir(parents=True)
    agent_path.write_text('#!/bin/sh\necho "monitor blew up" >&2\nexit 1\n')
    agent_path.chmod(0o755)
    lab.ocf_root = tmp_path / "ocf"
    result = await lab.resolver()(spec("Broken")).status()
    assert result.state is ResourceState.FAILED
    assert result.detail == "monitor exit 1 (generic error): monitor blew up"


# --- environment ------------------------------------------------------------------


def _config(config_dir: str) -> ClusterConfig:
    return ClusterConfig(
        config_dir=config_dir,
        node_name="alpha",
        nodes=("alpha", "bravo"),
        timing=Timing(),
        media=(),
        auth=AuthConfig(send_index=1, keys=()),
        log=LogConfig(logfile="/var/log/ha-log", debugfile="/var/log/ha-debug", debug=2),
        env=(("site", "lab"),),
    )


def test_script_environment(tmp_path: Path) -> None:
    env = script_environment(_config(str(tmp_path)), tmp_path / "state", rsctmp=tmp_path / "r")
    assert env["HA_CURHOST"] == "alpha"
    assert env["HA_DIR"] == f"{tmp_path}/"
    assert env["HA_DATEFMT"] == "%Y/%m/%d_%T\t"
    assert env["HA_FUNCS"] == "/etc/ha.d/shellfuncs"  # none in tmp_path
    assert env["OCF_ROOT"] == "/usr/lib/ocf"
    assert env["HA_LOGFILE"] == "/var/log/ha-log"
    assert env["HA_DEBUGLOG"] == "/var/log/ha-debug"
    assert "HA_LOGFACILITY" not in env  # unset directives stay unset
    assert env["HA_debug"] == "2"
    assert env["HA_site"] == "lab"
    assert env["HA_RSCTMP"] == str(tmp_path / "r")
    assert env["HA_VARLIB"] == str(tmp_path / "state")
    assert env["PATH"].startswith("/usr/libexec/heartbeat:")
    assert "LSBTEST_DIR" not in env and set(env) - set(os.environ)  # a fresh environment


async def test_script_environment_reaches_a_wrapper_script(lab: LsbLab, tmp_path: Path) -> None:
    env = script_environment(_config(str(lab.config_dir)), tmp_path)
    env["LSBTEST_DIR"] = str(lab.state)
    (lab.config_dir / "resource.d" / "showenv").write_text(
        '#!/bin/sh\necho "$HA_CURHOST $HA_site $OCF_RESOURCE_INSTANCE $1"\n'
    )
    (lab.config_dir / "resource.d" / "showenv").chmod(0o755)
    agent = lab.resolver(env=env)(spec("showenv::x"))
    result = await agent.status()
    assert result.program is not None
    assert result.program.stdout == "alpha lab showenv__x x\n"


# --- systemd ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "state", "ok"),
    [
        ("active", ResourceState.RUNNING, True),
        ("inactive", ResourceState.STOPPED, True),
        ("activating", ResourceState.STARTING, True),
        ("failed", ResourceState.FAILED, True),
        ("gibberish", ResourceState.FAILED, False),
    ],
)
async def test_systemd_status_maps_is_active(
    lab: LsbLab, tmp_path: Path, word: str, state: ResourceState, ok: bool
) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "systemctl"
    fake.write_text(f'#!/bin/sh\necho "$*" >> "{tmp_path}/calls"\necho {word}\nexit 3\n')
    fake.chmod(0o755)
    resolver = lab.resolver(env={"PATH": f"{bindir}:{os.environ['PATH']}"})
    result = await resolver(spec("systemd:web.service")).status()
    assert (result.state, result.ok) == (state, ok)
    assert result.detail == f"unit is {word}"
    assert (tmp_path / "calls").read_text() == "is-active web.service\n"
