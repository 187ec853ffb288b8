"""The console and ``hatui --once`` against one REAL engine on loopback (no root needed).

The engine has a ``null`` STONITH device (it "resets" without touching anything), so an
operator's STONITH can be followed from the request to the engine's report that it
ended; bravo is never started, which the null device does not mind.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.control.schema import ControlError
from hatui.app import HaTuiApp
from hatui.bridge import call_once
from hatui.screens.modals import StonithModal
from hatui.viewmodel import LinkState
from hatui.widgets.timeline import TimelinePanel
from tests.hatui.waiting import until
from tests.integration.loopback import ROOT, Cluster, Node

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def alpha(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    cluster = Cluster(tmp_path_factory.mktemp("engine-actions"))
    node = cluster["alpha"]
    with (node.config_dir / "ha.cf").open("a") as handle:
        handle.write("stonith_host * null alpha bravo\n")
    try:
        cluster.start("alpha")
        asyncio.run(wait_ready(node))
        yield node
    finally:
        cluster.close()


def socket_of(node: Node) -> Path:
    return node.state_dir / "control.sock"


async def wait_ready(node: Node, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            await call_once(socket_of(node), "hello")
            return
        except (OSError, ControlError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


def action_rows(app: HaTuiApp) -> list[str]:
    return [row.text for row in app.query_one(TimelinePanel).rows if row.kind == "action"]


async def test_stonith_from_the_console_is_accepted_then_done(alpha: Node) -> None:
    app = HaTuiApp(socket_of(alpha))
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await until(pilot, lambda: app._connection.state is LinkState.CONNECTED)
        await until(pilot, lambda: app.status is not None)
        assert app.action_block_reason() == ""  # the engine runs as this user
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, StonithModal))
        app.screen.query_one("#node-name").focus()
        await pilot.press(*"bravo", "enter")
        await until(pilot, lambda: len(action_rows(app)) >= 2)
        accepted, done = action_rows(app)[:2]
        assert accepted.startswith("stonith bravo: accepted")
        assert done.startswith("stonith bravo: done — bravo now reset by NULL STONITH device")
        fences = [r for r in app.query_one(TimelinePanel).rows if r.kind == "fence"]
        assert any("now reset" in r.text for r in fences)


async def ended_fence(node: Node) -> list[dict[str, Any]]:
    """The engine's recent timeline once a fence of bravo has ended."""
    deadline = time.monotonic() + 15
    while True:
        reply = await call_once(socket_of(node), "subscribe")
        timeline: list[dict[str, Any]] = reply["timeline"]
        if any(e.get("outcome") and e["node"] == "bravo" for e in timeline):
            return timeline
        assert time.monotonic() < deadline, f"no fence outcome in {timeline}"
        await asyncio.sleep(0.1)


async def test_once_prints_the_picture_and_recent_events_with_reasons(alpha: Node) -> None:
    await call_once(socket_of(alpha), "stonith", node="bravo")
    await ended_fence(alpha)
    argv = [sys.executable, "-m", "hatui", "--once", "--state-dir", str(alpha.state_dir)]
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    text = out.decode()
    assert text.splitlines()[0].startswith(("●", "◐", "✖", "·"))  # the summary line
    assert "node / link" in text and "alpha" in text and "bravo" in text
    assert "demo-svc" in text  # the resource chain
    events = text.split("recent events (newest last):\n", 1)[1].splitlines()
    fences = [line for line in events if " fence " in line]
    assert any("STONITH of bravo requested by" in line for line in fences)
    assert any("bravo now reset by NULL STONITH device" in line for line in fences)
