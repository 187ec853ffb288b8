"""Device health checks (spec §8.2) and the meatware FIFO that meatclient writes (§8.5)."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import stat
from pathlib import Path

import pytest

from engine.stonith.config import StonithSettings, load_settings
from engine.stonith.fencer import Fencer
from tests.stonith.conftest import cluster_config, host_line

MEATCLIENT = shutil.which("meatclient", path="/usr/sbin:/usr/bin:/sbin")


def _device_down(log: Path, down: bool) -> None:
    """testdev's ``status`` fails while ``<logfile>.down`` exists."""
    marker = Path(f"{log}.down")
    if down:
        marker.touch()
    else:
        marker.unlink()


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "heartbeat"]


async def test_null_device_check_is_logged_and_shown(
    config_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fencer = await Fencer.probed(cluster_config(config_dir, host_line("null", "alpha bravo")))
    result = await fencer.check_status()
    assert result is not None and result.ok
    assert _lines(caplog) == ["Checking status of STONITH device [NULL STONITH device]"]
    check = fencer.snapshot()["check"]
    assert check["ok"] is True and check["device"] == "NULL STONITH device"


async def test_failed_external_check_logs_heartbeats_three_lines(
    config_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    log = tmp_path / "calls.log"
    fencer = await Fencer.probed(
        cluster_config(config_dir, host_line("external/testdev", f"{log} bravo"))
    )
    _device_down(log, True)
    result = await fencer.check_status()
    assert result is not None and not result.ok
    assert _lines(caplog) == [
        "Checking status of STONITH device [Test power switch]",
        "STONITH device Test power switch not operational!",
        "STONITH status operation failed.",
        "This may mean that the STONITH device has failed!",
    ]
    check = fencer.snapshot()["check"]
    assert check["ok"] is False and "device unreachable" in check["reason"]
    _device_down(log, False)
    assert (await fencer.check_status()).ok  # type: ignore[union-attr]
    assert fencer.snapshot()["check"]["ok"] is True


async def test_periodic_checks_follow_the_configured_interval(
    config_dir: Path, tmp_path: Path
) -> None:
    log = tmp_path / "calls.log"
    spec = host_line("external/testdev", f"{log} bravo")
    fencer = await Fencer.probed(
        cluster_config(config_dir, spec), StonithSettings(check_interval=0.05)
    )
    fencer.start_status_checks()
    fencer.start_status_checks()  # a second comm-up does not start a second loop
    for _ in range(200):
        await asyncio.sleep(0.01)
        if log.exists() and log.read_text().count("status ") >= 3:
            break
    await fencer.close()
    assert log.read_text().count("status ") >= 3


async def test_without_device_there_is_nothing_to_check(config_dir: Path) -> None:
    fencer = await Fencer.probed(cluster_config(config_dir))
    assert await fencer.check_status() is None
    fencer.start_status_checks()
    assert fencer.snapshot()["check"] == {}


def test_check_interval_and_meatware_dir_settings(tmp_path: Path) -> None:
    (tmp_path / "hatui.conf").write_text("stonith_check_interval = 90\nmeatware_dir = /tmp/mw\n")
    settings, issues = load_settings(tmp_path)
    assert issues == [] and settings.check_interval == 90.0
    assert settings.meatware_dir == Path("/tmp/mw")
    assert load_settings(tmp_path / "none")[0].check_interval == 3600.0
    (tmp_path / "hatui.conf").write_text("stonith_check_interval = soon\n")
    _, issues = load_settings(tmp_path)
    assert "stonith_check_interval: 'soon' is not a time" in str(issues[0])


# ---------------------------------------------------------------------- meatware FIFO


async def _meatware(config_dir: Path, fifo_dir: Path, timeout: float = 10.0) -> Fencer:
    settings = StonithSettings(meatware_dir=fifo_dir, meatware_timeout=timeout)
    return await Fencer.probed(
        cluster_config(config_dir, host_line("meatware", "alpha bravo")), settings
    )


async def _wait_for_fifo(path: Path) -> None:
    for _ in range(300):
        if _exists(path):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{path} never appeared")


def _exists(path: Path) -> bool:
    return path.exists()


def _write_reply(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode().ljust(256, b"\0"))
    finally:
        os.close(fd)


async def test_fifo_reply_confirms_the_reset(
    config_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fencer = await _meatware(config_dir, tmp_path)
    task = asyncio.create_task(fencer.fence("bravo", "dead"))
    fifo = tmp_path / "meatware.bravo"
    await _wait_for_fifo(fifo)
    assert stat.S_ISFIFO(fifo.stat().st_mode) and stat.S_IMODE(fifo.stat().st_mode) == 0o600
    assert fencer.snapshot()["meatware_waiting"] == ["bravo"]
    _write_reply(fifo, "meatware reply BRAVO")
    result = await task
    assert result.ok, result.reason
    assert not fifo.exists()
    lines = _lines(caplog)
    assert 'Run "meatclient -c bravo" AFTER power-cycling the machine.' in lines
    assert f"Meatware reset of bravo confirmed by meatclient ({fifo})" in lines
    assert "node Meatware-reset: bravo" in lines


async def test_fifo_reply_with_a_bad_format_fails_the_reset(
    config_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    fencer = await _meatware(config_dir, tmp_path)
    task = asyncio.create_task(fencer.fence("bravo", "dead"))
    await _wait_for_fifo(tmp_path / "meatware.bravo")
    _write_reply(tmp_path / "meatware.bravo", "yes please")
    result = await task
    assert not result.ok and "bad format" in result.reason
    assert "Format error - failed to Meatware-reset node bravo" in _lines(caplog)


async def test_unusable_fifo_dir_leaves_the_control_socket(
    config_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fencer = await _meatware(config_dir, tmp_path / "missing")
    task = asyncio.create_task(fencer.fence("bravo", "dead"))
    for _ in range(100):
        await asyncio.sleep(0.01)
        if fencer.snapshot()["meatware_waiting"] == ["bravo"]:
            break
    assert fencer.confirm_meatware("bravo", "op") is None
    assert (await task).ok
    assert any("meatclient cannot confirm this reset" in x for x in _lines(caplog))


@pytest.mark.skipif(MEATCLIENT is None, reason="cluster-glue's meatclient is not installed")
async def test_real_meatclient_confirms(config_dir: Path) -> None:
    run_dir = Path("/run")
    if not os.access(run_dir, os.W_OK):
        pytest.skip("meatclient only talks to /run/meatware.<node>; /run is not writable")
    node = f"mw{os.getpid()}"
    settings = StonithSettings(meatware_dir=run_dir, meatware_timeout=20)
    spec = host_line("meatware", f"alpha {node}")
    fencer = await Fencer.probed(cluster_config(config_dir, spec), settings)
    task = asyncio.create_task(fencer.fence(node, "dead"))
    await _wait_for_fifo(run_dir / f"meatware.{node}")
    assert MEATCLIENT is not None
    no = await asyncio.create_subprocess_exec(
        MEATCLIENT, "-c", node, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(no.communicate(b"n\n"), 10)
    assert no.returncode == 3 and b"operation canceled" in out
    assert not task.done()
    yes = await asyncio.create_subprocess_exec(
        MEATCLIENT, "-c", node, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(yes.communicate(b"y\n"), 10)
    assert yes.returncode == 0 and b"reset confirmed" in out, out
    result = await asyncio.wait_for(task, 10)
    assert result.ok and "meatclient" in result.reason
    assert not (run_dir / f"meatware.{node}").exists()
