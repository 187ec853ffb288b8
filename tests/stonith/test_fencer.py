"""The fencer against real plugins: the external test script, meatware, the glue bridge."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from pathlib import Path

import pytest

from engine.stonith.base import S_BADHOST, S_RESETFAIL, S_TIMEOUT, PluginContext
from engine.stonith.config import StonithSettings
from engine.stonith.external import ExternalPlugin
from engine.stonith.fence_agents import FENCE_DIRS, FenceAgentPlugin
from engine.stonith.fencer import Fencer
from engine.stonith.glue import glue_types, stonith_command
from engine.stonith.registry import list_types
from engine.stonith.ssh import REBOOT_COMMAND, SshPlugin
from tests.stonith.conftest import SCRIPTS, cluster_config, host_line


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "heartbeat"]


async def test_external_plugin_protocol(config_dir: Path, tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    plugin = ExternalPlugin(
        "external/testdev",
        {"hostlist": "alpha bravo", "logfile": str(log)},
        PluginContext(config_dir),
    )
    assert await plugin.hosts() == ["alpha", "bravo"]
    assert (await plugin.status()).ok
    assert await plugin.load_device_id() == "Test power switch"
    result = await plugin.reset("bravo")
    assert result.ok
    calls = log.read_text().splitlines()
    assert calls == [
        "gethosts  hostlist=[alpha bravo]",
        "status  hostlist=[alpha bravo]",
        "getinfo-devid  hostlist=[alpha bravo]",
        "gethosts  hostlist=[alpha bravo]",
        "reset bravo hostlist=[alpha bravo]",
    ]
    refused = await plugin.reset("charlie")
    assert not refused.ok and refused.code == S_BADHOST


async def test_fencer_logs_heartbeat_lines(
    config_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    spec = host_line("external/testdev", f"{tmp_path / 'l'} bravo stubborn")
    fencer = await Fencer.probed(cluster_config(config_dir, spec), StonithSettings())
    assert fencer.configured
    ok = await fencer.fence("bravo", "declared dead")
    assert ok.ok
    bad = await fencer.fence("stubborn", "test", requested_by="root (uid 0)")
    assert not bad.ok and "exit 5" in bad.reason and "outlet jammed" in bad.reason
    assert _lines(caplog) == [
        "Resetting node bravo with [Test power switch]",
        "node bravo now reset.",
        "STONITH of stubborn requested by root (uid 0)",
        "Resetting node stubborn with [Test power switch]",
        f"Host stubborn not reset! ({bad.reason})",
    ]
    snap = fencer.snapshot()
    assert snap["configured"] is True
    last = snap["last"]
    assert isinstance(last, dict) and last["bravo"]["ok"] and not last["stubborn"]["ok"]


async def test_fence_times_out(config_dir: Path, tmp_path: Path) -> None:
    spec = host_line("external/testdev", f"{tmp_path / 'l'} slow")
    fencer = await Fencer.probed(cluster_config(config_dir, spec), StonithSettings(timeout=0.5))
    result = await fencer.fence("slow")
    assert not result.ok and result.code == S_TIMEOUT


async def test_meatware_waits_for_the_operator(
    config_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fencer = await Fencer.probed(cluster_config(config_dir, host_line("meatware", "alpha bravo")))
    assert "no meatware reset of bravo is waiting" in str(fencer.confirm_meatware("bravo", "x"))
    task = asyncio.create_task(fencer.fence("bravo", "dead"))
    for _ in range(50):
        await asyncio.sleep(0)
        if fencer.snapshot()["meatware_waiting"] == ["bravo"]:
            break
    assert fencer.snapshot()["meatware_waiting"] == ["bravo"]
    assert not task.done()
    assert "no meatware reset of alpha" in str(fencer.confirm_meatware("alpha", "op"))
    assert fencer.confirm_meatware("BRAVO", "op (uid 0)") is None
    result = await task
    assert result.ok and "op (uid 0)" in result.reason
    lines = _lines(caplog)
    assert "OPERATOR INTERVENTION REQUIRED to reset bravo." in lines
    assert lines.index("Meatware reset of bravo confirmed by op (uid 0)") < lines.index(
        "node bravo now reset."
    )


async def test_meatware_times_out(config_dir: Path) -> None:
    spec = host_line("meatware", "bravo")
    fencer = await Fencer.probed(
        cluster_config(config_dir, spec), StonithSettings(meatware_timeout=0.05)
    )
    result = await fencer.fence("bravo")
    assert not result.ok and "no operator confirmed" in result.reason


async def test_without_device_fencing_fails_with_the_reason(config_dir: Path) -> None:
    fencer = await Fencer.probed(cluster_config(config_dir, host_line("nosuch", "x")))
    assert not fencer.configured
    result = await fencer.fence("bravo")
    assert not result.ok and "Invalid Stonith type [nosuch]" in result.reason


needs_glue = pytest.mark.skipif(stonith_command() is None, reason="cluster-glue not installed")


@needs_glue
async def test_glue_null_runs_through_the_bridge(
    config_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fencer = await Fencer.probed(cluster_config(config_dir, host_line("glue:null", "alpha bravo")))
    assert fencer.device_id == "null STONITH device"
    assert type(fencer.plugin).__name__ == "GluePlugin"
    assert (await fencer.fence("bravo")).ok
    assert (await fencer.plugin.hosts()) == ["alpha", "bravo"]  # type: ignore[union-attr]
    bad = await fencer.fence("charlie")
    assert not bad.ok and bad.code == S_BADHOST
    assert "Resetting node bravo with [null STONITH device]" in _lines(caplog)


@needs_glue
async def test_list_has_every_stonith_dash_l_type(config_dir: Path) -> None:
    listed = {name for name, _ in await list_types(PluginContext(config_dir))}
    glue = await glue_types()
    assert "null" in glue and "baytech" in glue
    for name in glue:
        assert name in listed or f"glue:{name}" in listed, name
    assert {"null", "meatware", "ssh", "external/testdev"} <= listed


@needs_glue
def test_hactl_stonith_list(capsys: pytest.CaptureFixture[str]) -> None:
    from engine.programs.hactl import main

    assert main(["stonith", "--list"]) == 0
    out = capsys.readouterr().out
    assert "baytech" in out and "glue:null" in out and out.startswith("null")


FENCE_DUMMY = shutil.which("fence_dummy", path=FENCE_DIRS)


@pytest.mark.skipif(FENCE_DUMMY is None, reason="fence-agents' fence_dummy is not installed")
async def test_fence_agent_bridge_reboots_with_fence_dummy(
    config_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    power = tmp_path / "power"  # fence_dummy keeps the outlet state in this file
    fencer = await Fencer.probed(
        cluster_config(config_dir, host_line("fence_dummy", f"status_file={power}"))
    )
    assert isinstance(fencer.plugin, FenceAgentPlugin)
    check = await fencer.check_status()
    assert check is not None and check.ok, check
    result = await fencer.fence("bravo", "declared dead")
    assert result.ok and result.output == "Success: Rebooted", result
    assert power.read_text() == "on"
    assert _lines(caplog)[-2:] == [
        "Resetting node bravo with [fence_dummy STONITH device]",
        "node bravo now reset.",
    ]
    jammed = FenceAgentPlugin(
        "fence_dummy", {"type": "fail", "power_timeout": "1"}, PluginContext(config_dir)
    )
    failed = await jammed.reset("bravo")
    assert not failed.ok and failed.code == S_RESETFAIL
    assert "fence_dummy reboot bravo: exit 1" in failed.reason
    assert "Timed out waiting to power OFF" in failed.reason


async def test_ssh_plugin_runs_ssh_with_cluster_glue_arguments(
    config_dir: Path, tmp_path: Path
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy(SCRIPTS / "fake-ssh", bin_dir / "ssh")
    calls = tmp_path / "ssh-argv"
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_SSH_LOG": str(calls)}
    plugin = SshPlugin("ssh", {"hostlist": "alpha bravo down"}, PluginContext(config_dir, env=env))
    assert (await plugin.status()).ok
    result = await plugin.reset("bravo")
    assert result.ok, result
    argv = calls.read_text().split("\n--\n")[0].splitlines()
    assert argv == ["-q", "-x", "-n", "-o", "BatchMode=yes", "-l", "root", "bravo", REBOOT_COMMAND]
    refused = await plugin.reset("charlie")
    assert not refused.ok and refused.code == S_BADHOST
    unreachable = await plugin.reset("down")
    assert not unreachable.ok and unreachable.code == S_RESETFAIL
    assert "ssh reboot of down: exit 255" in unreachable.reason
    assert "Connection refused" in unreachable.reason
    assert calls.read_text().count("--\n") == 2  # charlie was never tried
    no_ssh = SshPlugin("ssh", {"hostlist": "bravo"}, PluginContext(config_dir, env={"PATH": ""}))
    assert not (await no_ssh.status()).ok


async def test_fence_agent_exit_codes_are_read_as_fence_agents_codes(
    config_dir: Path, tmp_path: Path
) -> None:
    """fence-agents' exit 4 is a lost connection, not cluster-glue's "bad host" (4)."""
    agent = tmp_path / "fence_lostlink"
    agent.write_text('#!/bin/sh\ncat >/dev/null\necho "Failed: Connection lost" >&2\nexit 4\n')
    agent.chmod(0o755)
    ctx = PluginContext(config_dir, env={"PATH": f"{tmp_path}:{os.environ['PATH']}"})
    result = await FenceAgentPlugin("fence_lostlink", {}, ctx).reset("bravo")
    assert not result.ok and result.code == S_RESETFAIL
    assert result.reason == "fence_lostlink reboot bravo: exit 4 (Failed: Connection lost)"
