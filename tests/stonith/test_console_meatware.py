"""The console's meatware key against two real engines on loopback (no root needed).

alpha holds the group; it is killed; bravo's meatware reset waits for a human. The M key
appears only then, its dialog wants the node name typed, and the confirmation sent from
the console lets bravo take over. The device check at comm-up shows in the status too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from hatui.app import HaTuiApp
from hatui.screens.modals import MeatwareModal
from tests.integration.loopback import Cluster, held_by, node_status, wait_for
from tests.integration.test_loopback_cluster import keeps_the_contract

pytestmark = pytest.mark.slow


@pytest.fixture
def meatware_cluster(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path)
    fifo_dir = tmp_path / "fifo"
    fifo_dir.mkdir()
    for node in cluster.nodes.values():
        with (node.config_dir / "ha.cf").open("a") as handle:
            handle.write("stonith_host * meatware alpha bravo\n")
        (node.config_dir / "hatui.conf").write_text(
            f"meatware_dir = {fifo_dir}\nstonith_retry_min = 500ms\nstonith_retry_max = 1\n"
        )
    try:
        cluster.start()
        for me, peer in (("alpha", "bravo"), ("bravo", "alpha")):
            wait_for(_sees_active(cluster, me, peer), 15)
        wait_for(lambda: cluster["alpha"].holds("one"), 20)
        yield cluster
    finally:
        cluster.close()


def _sees_active(cluster: Cluster, me: str, peer: str) -> Callable[[], bool]:
    return lambda: node_status(cluster[me].status(), peer) == "active"


async def _until(pilot: Pilot[None], check: Callable[[], Any], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(0.1)


def _waiting(app: HaTuiApp) -> list[str]:
    return list(((app.status or {}).get("stonith") or {}).get("meatware_waiting") or [])


async def test_console_confirms_a_meatware_reset(meatware_cluster: Cluster) -> None:
    bravo = meatware_cluster["bravo"]
    doc = bravo.status() or {}
    keeps_the_contract(doc)  # a running engine's document with a STONITH device, read typed
    assert doc["stonith"]["device"]["id"] == "Meatware STONITH device"
    check = doc["stonith"]["check"]
    assert check["ok"] is True, check  # checked at comm-up
    assert "Checking status of STONITH device [Meatware STONITH device]" in bravo.log()
    app = HaTuiApp(bravo.state_dir / "control.sock")
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await _until(pilot, lambda: app.status is not None)
        if app.action_block_reason():
            pytest.skip(f"operator actions unavailable: {app.action_block_reason()}")
        assert app.check_action("meatware_confirm", ()) is False  # hidden: nobody waits
        await asyncio.to_thread(meatware_cluster["alpha"].kill)
        await _until(pilot, lambda: _waiting(app) == ["alpha"])
        assert app.check_action("meatware_confirm", ()) is True
        assert held_by(app.status) is None and not bravo.holds("one")
        await pilot.press("M")
        await _until(pilot, lambda: isinstance(app.screen, MeatwareModal))
        # the cursor is in the name field; Enter on a wrong name cancels and sends nothing
        await pilot.press(*"bravo", "enter")
        await _until(pilot, lambda: not isinstance(app.screen, MeatwareModal))
        assert _waiting(app) == ["alpha"]
        await pilot.press("M")
        await _until(pilot, lambda: isinstance(app.screen, MeatwareModal))
        await pilot.press(*"alpha", "enter")
        await _until(pilot, lambda: not isinstance(app.screen, MeatwareModal))
        await _until(pilot, lambda: held_by(app.status) == "bravo", 20)
        await _until(pilot, lambda: app.check_action("meatware_confirm", ()) is False)
    assert bravo.holds("one")
    log = bravo.log()
    assert "Meatware reset of alpha confirmed by" in log
    assert log.index("Meatware reset of alpha confirmed by") < log.index("node alpha now reset.")
