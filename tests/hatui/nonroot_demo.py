"""The demo as a non-root user, run by ``test_demo_nonroot`` under that user.

Starts the demo cluster, attaches the demo console and cuts a link with its ``c`` key,
as a user would; prints what it saw as one JSON line, then keeps the cluster up until a
line arrives on stdin (the test tries another user's access meanwhile) and stops it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from hatui.demo import DemoApp, DemoCluster
from hatui.screens.modals import ChoiceModal, choice_id
from hatui.viewmodel import LinkState
from hatui.widgets.timeline import TimelinePanel
from tests.hatui.waiting import until


def demo_rows(app: DemoApp) -> list[str]:
    """Timeline rows the demo keys added (link cuts, kills)."""
    return [row.text for row in app.query_one(TimelinePanel).rows if row.kind == "demo"]


async def cut_a_link(cluster: DemoCluster) -> dict[str, Any]:
    """Attach the console, note what it says about actions, cut the first link."""
    app = DemoApp(cluster)
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app._connection.state is LinkState.CONNECTED, 20)
        await until(pilot, app._links)
        seen = {"peer": app._hello.get("peer"), "block_reason": app.action_block_reason()}
        name = app._links()[0][0]
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ChoiceModal))
        await pilot.click(f"#{choice_id(name, 0)}")
        await until(pilot, lambda: demo_rows(app))
        seen["link"] = name
        seen["outcome"] = demo_rows(app)[-1]
    return seen


async def main() -> int:
    cluster = DemoCluster()
    try:
        cluster.start_all()
        for node in ("alpha", "bravo"):
            if not await cluster.wait_ready(node):
                print(json.dumps({"error": f"{node}: {cluster.engine_output(node)}"}))
                return 1
        seen = await cut_a_link(cluster)
        seen["socket"] = str(cluster.socket_path("alpha"))
        seen["base"] = str(cluster.base)
        print(json.dumps(seen), flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        return 0
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
