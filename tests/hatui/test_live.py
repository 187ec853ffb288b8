"""The console against two REAL engines started by the demo launcher.

Slow-ish (engines, initdead 3 s), so one demo cluster serves the whole module; the test
that kills alpha runs last and restarts it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from textual.pilot import Pilot

from hatui.bridge import call_once
from hatui.demo import DemoApp, DemoCluster
from hatui.screens.modals import ChoiceModal, ConfirmModal, StonithModal
from hatui.viewmodel import LinkRow, LinkState
from hatui.widgets.logtail import LogPanel
from hatui.widgets.timeline import TimelinePanel
from tests.hatui.waiting import until

SIZE = (80, 24)


pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def cluster() -> Iterator[DemoCluster]:
    demo = DemoCluster()
    try:
        demo.start_all()
        for node in ("alpha", "bravo"):
            ready = asyncio.run(demo.wait_ready(node))
            assert ready, f"{node} engine did not come up:\n{demo.engine_output(node)}"
        yield demo
    finally:
        demo.stop()


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


def live_link(app: DemoApp) -> LinkRow | None:
    """A peer link that is up and has heard at least two heartbeats (one interval).

    Right after a link comes up it has heard one heartbeat and has no interval yet, so
    an empty sparkline is correct then; the test waits for the second heartbeat.
    """
    rows = app.picture.links if app.picture else ()
    return next((r for r in rows if r.link and r.state == "● up" and r.sparkline), None)


async def test_shows_nodes_live_links_chain_and_log(cluster: DemoCluster) -> None:
    app = DemoApp(cluster)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: live_link(app) is not None)
        await until(pilot, lambda: app.picture and "2/2 nodes up" in app.picture.summary)
        picture = app.picture
        assert picture is not None
        names = {row.node for row in picture.links}
        assert names == {"alpha", "bravo"}
        link = live_link(app)
        assert link is not None and link.age.endswith("ms")
        # links are named after the device as the engine names them, with their medium
        assert (link.link, link.medium) in {("lo", "mcast"), ("lo#2", "ucast")}
        first_age = link.age
        await until(pilot, lambda: (live_link(app) or link).age != first_age)
        chains = app.picture.chains if app.picture else ()
        assert chains and "demo-db" in chains[0].line and "demo-web" in chains[0].line
        # a fault injection makes the engine log a warning; the log tail must show it
        assert await cluster.set_link(link.link, up=False) == ["alpha: cut", "bravo: cut"]
        assert await cluster.set_link(link.link, up=True) == ["alpha: restored", "bravo: restored"]
        await until(
            pilot, lambda: any("fault injection" in ln for ln in app.query_one(LogPanel).lines)
        )


def focused_id(app: DemoApp) -> str | None:
    return app.focused.id if app.focused is not None else None


async def connected(pilot: Pilot[None], app: DemoApp) -> None:
    """Wait for the subscription; the demo's engines run as this user, who may act."""
    await until(pilot, lambda: app._connection.state is LinkState.CONNECTED)
    assert app.action_block_reason() == ""


async def test_stonith_modal_refuses_without_typed_name(cluster: DemoCluster) -> None:
    app = DemoApp(cluster)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await connected(pilot, app)
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, StonithModal))
        modal = app.screen
        # the dialog asks for a name, so the keystrokes go to the name field
        await until(pilot, lambda: focused_id(app) == "node-name")
        refusal = modal.query_one("#refusal")
        await pilot.click("#fence")
        await until(pilot, lambda: "type the node name" in str(refusal.render()))
        assert app.screen is modal  # the button with nothing typed: refused, still open
        modal.query_one("#node-name").focus()
        await pilot.press(*"charlie", "enter")  # Enter on a wrong name cancels
        await until(pilot, lambda: not isinstance(app.screen, StonithModal))
        notes = [str(n.message) for n in app._notifications]
        wrong = "'charlie' is not a cluster node"
        assert any(wrong in note and "nothing was sent" in note for note in notes)
        rows = app.query_one(TimelinePanel).rows
        assert not any(r.kind == "action" and r.text.startswith("stonith") for r in rows)


async def test_standby_moves_group_to_bravo(cluster: DemoCluster) -> None:
    app = DemoApp(cluster)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await connected(pilot, app)
        await until(pilot, lambda: settled_on(app, "alpha"), timeout=30)
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal))
        await until(pilot, lambda: focused_id(app) == "cancel")
        await pilot.click("#choice-all")
        await until(pilot, lambda: settled_on(app, "bravo"), timeout=20)
        rows = app.query_one(TimelinePanel).rows
        actions = lambda: [r.text for r in rows if r.kind == "action"]  # noqa: E731
        # the result is shown as it progresses: accepted, then done once the group moved
        await until(pilot, lambda: any(t.startswith("standby all: done") for t in actions()))
        standby = [t for t in actions() if t.startswith("standby all:")]
        assert standby[0].startswith("standby all: accepted")
        assert standby[1].startswith("standby all: done — now ") and "@bravo" in standby[1]
        await pilot.press("t")  # takeover pulls the group home again
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
        await pilot.click("#confirm")
        await until(pilot, lambda: settled_on(app, "alpha"), timeout=20)


async def survivor_runs_group(cluster: DemoCluster, node: str, timeout: float = 20.0) -> None:
    """Wait until ``node``'s own status says it holds the group and runs it."""
    deadline = time.monotonic() + timeout
    current: dict[str, Any] = {}
    while time.monotonic() < deadline:
        doc = await call_once(cluster.socket_path(node), "status")
        current = doc["groups"][0]
        if current["held_by"] == node and current["state"] == "running":
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{node} did not take the group over: {current}")


async def test_disconnect_banner_and_reconnect(cluster: DemoCluster) -> None:
    app = DemoApp(cluster)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app._connection.state is LinkState.CONNECTED)
        cluster.kill("alpha")
        await until(
            pilot,
            lambda: app.picture and any("DISCONNECTED" in b.text for b in app.picture.banners),
        )
        assert app.check_action("standby", ()) is None  # greyed out while disconnected
        # a killed node's services die with it, so the survivor's takeover succeeds
        await survivor_runs_group(cluster, "bravo")
        cluster.start("alpha")
        try:
            await until(pilot, lambda: app._connection.state is LinkState.CONNECTED, 20)
        except AssertionError as exc:
            output = cluster.engine_output("alpha")
            raise AssertionError(f"alpha did not come back:\n{output}") from exc
        assert app.picture and not any("DISCONNECTED" in b.text for b in app.picture.banners)
