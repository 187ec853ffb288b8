"""Resource monitoring with two real engines on loopback: a resource that stops behind
the engine's back is restarted in place, then handed to the peer; status --json, hactl
status, the counters and a reload show it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.loopback import ROOT, Cluster, held_by, wait_for
from tests.integration.test_loopback_cluster import formed

MONITOR = (
    "# resource monitoring\nmonitor_interval = 1\nmonitor_timeout = 2\nmonitor_restarts = 1\n"
    "monitor_window = 300\n"
)
"""hatui.conf (never ha.cf: real Heartbeat refuses the lines)."""


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(tmp_path)
    for node in c.nodes.values():
        (node.config_dir / "hatui.conf").write_text(MONITOR)
    try:
        yield c
    finally:
        c.close()


def _group(doc: dict[str, Any] | None) -> dict[str, Any]:
    assert doc is not None
    group: dict[str, Any] = doc["groups"][0]
    return group


@pytest.mark.slow
def test_failed_resource_restarts_then_moves_to_the_peer(cluster: Cluster) -> None:
    formed(cluster)
    alpha, bravo = cluster["alpha"], cluster["bravo"]
    wait_for(lambda: _group(alpha.status())["resources"][1]["monitor"]["result"] == "ok", 5)
    doc = alpha.status()
    assert doc is not None and doc["resources"]["monitor"] == {
        "enabled": True,
        "interval_s": 1.0,
        "timeout_s": 2.0,
        "restarts": 1,
        "window_s": 300.0,
    }
    # the service dies behind the engine's back: restarted in place
    broken = time.monotonic()
    (alpha.state_dir / "res-two").unlink()
    wait_for(lambda: _group(alpha.status())["monitor"]["recovery"] == "restarted", 5)
    assert alpha.holds("two") and not bravo.holds("two")
    print(f"\nmonitor failure -> restarted in place after {time.monotonic() - broken:.2f} s")
    group = _group(alpha.status())
    assert group["monitor"]["failures"] == 1 and group["monitor"]["restarts"] == 1
    assert group["resources"][1]["monitor"]["failures"] == 1
    log = alpha.log()
    assert "ERROR: Resource demo-svc::two failed its monitor: not running" in log
    assert "Restarting resource group demo-svc::one after a monitor failure" in log
    text = alpha.ctl("status").stdout
    assert "(monitor ok" in text and "recovery restarted" in text, text
    # once more within the window: the budget (1) is used up, bravo takes the group
    (alpha.state_dir / "res-two").unlink()
    wait_for(lambda: held_by(alpha.status()) == "bravo", 15)
    wait_for(lambda: bravo.holds("two") and not alpha.holds("one"), 5)
    group = _group(alpha.status())
    assert group["monitor"]["recovery"] == "moved"
    assert group["reason"].endswith("handed to bravo"), group["reason"]
    doc = alpha.status()
    assert doc is not None and doc["counters"]["monitor_failures"] == {"not running": 2}
    # a reload of hatui.conf turns monitoring off; it says so
    conf = alpha.config_dir / "hatui.conf"
    conf.write_text(conf.read_text().replace("monitor_interval = 1", "monitor_interval = 0"))
    assert alpha.proc is not None
    os.kill(alpha.proc.pid, signal.SIGHUP)
    wait_for(lambda: "resource monitoring (every 1 s" in alpha.log(), 5)
    assert "-> (off)" in alpha.log()
    wait_for(lambda: not _group(alpha.status())["monitor"]["enabled"], 5)


def test_a_monitor_line_left_in_ha_cf_refuses_the_start(cluster: Cluster) -> None:
    alpha = cluster["alpha"]
    hacf = alpha.config_dir / "ha.cf"
    with hacf.open("a") as out:
        out.write("monitor_interval 1\n")
    line = len(hacf.read_text().splitlines())
    argv = [sys.executable, "-m", "engine.programs.haengine", "--config-dir", str(alpha.config_dir),
            "--state-dir", str(alpha.state_dir), "--node", "alpha"]  # fmt: skip
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert done.returncode == 6, done  # LSB "not configured", like any other config error
    assert f"{hacf}:{line}: error: monitor_interval moved to hatui.conf" in done.stderr
    assert f"write 'monitor_interval = 1' in {alpha.config_dir / 'hatui.conf'}" in done.stderr
