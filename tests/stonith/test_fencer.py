"""The fencer against real plugins: the external test script, meatware, the glue bridge."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from engine.stonith.base import S_BADHOST, S_TIMEOUT, PluginContext
from engine.stonith.config import StonithSettings
from engine.stonith.external import ExternalPlugin
from engine.stonith.fencer import Fencer
from engine.stonith.glue import list_glue_types, stonith_command
from engine.stonith.registry import list_types
from tests.stonith.conftest import cluster_config, host_line


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
    fencer = Fencer(cluster_config(config_dir, spec), StonithSettings())
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
    fencer = Fencer(cluster_config(config_dir, spec), StonithSettings(timeout=0.5))
    result = await fencer.fence("slow")
    assert not result.ok and result.code == S_TIMEOUT


async def test_meatware_waits_for_the_operator(
    config_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fencer = Fencer(cluster_config(config_dir, host_line("meatware", "alpha bravo")))
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
    fencer = Fencer(cluster_config(config_dir, spec), StonithSettings(meatware_timeout=0.05))
    result = await fencer.fence("bravo")
    assert not result.ok and "no operator confirmed" in result.reason


async def test_without_device_fencing_fails_with_the_reason(config_dir: Path) -> None:
    fencer = Fencer(cluster_config(config_dir, host_line("nosuch", "x")))
    assert not fencer.configured
    result = await fencer.fence("bravo")
    assert not result.ok and "Invalid Stonith type [nosuch]" in result.reason


needs_glue = pytest.mark.skipif(stonith_command() is None, reason="cluster-glue not installed")


@needs_glue
async def test_glue_null_runs_through_the_bridge(
    config_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fencer = Fencer(cluster_config(config_dir, host_line("glue:null", "alpha bravo")))
    assert fencer.device_id == "null STONITH device"
    assert type(fencer.plugin).__name__ == "GluePlugin"
    assert (await fencer.fence("bravo")).ok
    assert (await fencer.plugin.hosts()) == ["alpha", "bravo"]  # type: ignore[union-attr]
    bad = await fencer.fence("charlie")
    assert not bad.ok and bad.code == S_BADHOST
    assert "Resetting node bravo with [null STONITH device]" in _lines(caplog)


@needs_glue
def test_list_has_every_stonith_dash_l_type(config_dir: Path) -> None:
    listed = {name for name, _ in list_types(PluginContext(config_dir))}
    glue = list_glue_types()
    assert "null" in glue and "baytech" in glue
    for name in glue:
        assert name in listed or f"glue:{name}" in listed, name
    assert {"null", "meatware", "ssh", "external/testdev"} <= listed


@needs_glue
def test_hactl_stonith_list(capsys: pytest.CaptureFixture[str]) -> None:
    from engine.ctl import main

    assert main(["stonith", "--list"]) == 0
    out = capsys.readouterr().out
    assert "baytech" in out and "glue:null" in out and out.startswith("null")
