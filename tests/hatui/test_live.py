"""The console against two REAL engines started by the demo launcher.

Slow-ish (engines, initdead 3 s), so one demo cluster serves the whole module; the test
that kills alpha runs last and restarts it.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from textual.pilot import Pilot

from hatui.demo import DemoApp, DemoCluster
from hatui.screens.modals import ChoiceModal, StonithModal
from hatui.viewmodel import LinkState
from hatui.widgets.logtail import LogPanel

SIZE = (80, 24)


def _engine_available() -> bool:
    probe = subprocess.run(
        [sys.executable, "-m", "engine.cli", "--help"], capture_output=True, check=False
    )
    return probe.returncode == 0


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not _engine_available(), reason="engine.cli is not available yet"),
]


@pytest.fixture(scope="module")
def cluster() -> Iterator[DemoCluster]:
    demo = DemoCluster()
    try:
        demo.start_all()
        for node in ("alpha", "bravo"):
            assert asyncio.run(demo.wait_ready(node)), f"{node} engine did not come up"
        yield demo
    finally:
        demo.stop()


async def wait_for(pilot: Pilot[None], check: Callable[[], Any], timeout: float = 10.0) -> None:
    """Let the app run until ``check()`` is truthy (fails the test on timeout)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(0.1)


def group(app: DemoApp) -> dict[str, Any]:
    return dict((app.status or {}).get("groups", [{}])[0])


def settled_on(app: DemoApp, node: str) -> bool:
    """``node`` holds the group and the engine is not moving resources.

    Group and resource states in a status document are the *local* node's view, so
    "running" is only expected when the holder is the node the console is attached to.
    """
    doc = app.status or {}
    current = group(app)
    local_ok = node != doc.get("node") or current.get("state") == "running"
    return (
        bool(current.get("held_by") == node and doc.get("resources", {}).get("stable")) and local_ok
    )


async def test_shows_nodes_live_links_chain_and_log(cluster: DemoCluster) -> None:
    app = DemoApp(cluster)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(
            pilot,
            lambda: (
                app.picture is not None
                and sum(row.state == "● up" for row in app.picture.links) >= 1
            ),
        )
        picture = app.picture
        assert picture is not None
        assert "2/2 nodes up" in picture.summary
        names = {row.node for row in picture.links}
        assert names == {"alpha", "bravo"}
        link = next(row for row in picture.links if row.state == "● up")
        assert link.sparkline and link.age.endswith("ms")
        first_age = link.age
        await wait_for(pilot, lambda: app.picture and app.picture.links[-1].age != first_age)
        chains = app.picture.chains if app.picture else ()
        assert chains and "demo-db" in chains[0].line and "demo-web" in chains[0].line
        # a fault injection makes the engine log a warning; the log tail must show it
        await cluster.set_link(link.link, up=False)
        await cluster.set_link(link.link, up=True)
        await wait_for(
            pilot, lambda: any("fault injection" in ln for ln in app.query_one(LogPanel).lines)
        )


async def test_stonith_modal_refuses_without_typed_name(cluster: DemoCluster) -> None:
    app = DemoApp(cluster)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app._connection.state is LinkState.CONNECTED)
        await pilot.press("S")
        await pilot.pause()
        modal = app.screen
        assert isinstance(modal, StonithModal)
        assert app.focused is not None and app.focused.id == "cancel"
        await pilot.click("#fence")
        await pilot.pause()
        assert app.screen is modal  # still open: nothing typed
        assert "type the node name" in str(modal.query_one("#refusal").render())
        modal.query_one("#node-name").focus()
        await pilot.press(*"charlie", "enter")
        await pilot.pause()
        assert app.screen is modal
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, StonithModal)


async def test_standby_moves_group_to_bravo(cluster: DemoCluster) -> None:
    app = DemoApp(cluster)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_for(pilot, lambda: settled_on(app, "alpha"), timeout=30)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceModal)
        assert app.focused is not None and app.focused.id == "cancel"
        await pilot.click("#choice-all")
        await wait_for(pilot, lambda: settled_on(app, "bravo"), timeout=20)
        rows = app.query_one("TimelinePanel").rows  # type: ignore[attr-defined]
        assert any(r.kind == "action" and "accepted" in r.text for r in rows)
        await pilot.press("t")  # takeover pulls the group home again
        await pilot.pause()
        await pilot.click("#confirm")
        await wait_for(pilot, lambda: settled_on(app, "alpha"), timeout=20)


async def test_disconnect_banner_and_reconnect(cluster: DemoCluster) -> None:
    app = DemoApp(cluster)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app._connection.state is LinkState.CONNECTED)
        cluster.kill("alpha")
        await wait_for(
            pilot,
            lambda: app.picture and any("DISCONNECTED" in b.text for b in app.picture.banners),
        )
        assert app.check_action("standby", ()) is None  # greyed out while disconnected
        cluster.start("alpha")
        await wait_for(pilot, lambda: app._connection.state is LinkState.CONNECTED, timeout=20)
        assert app.picture and not any("DISCONNECTED" in b.text for b in app.picture.banners)
