"""The console's banner for groups released under one-way loss (``resources.one_way``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from textual.widgets import Static

from hatui import viewmodel as vm
from hatui.app import HaTuiApp
from hatui.bridge import EngineBridge
from tests.hatui.sample import RECEIVED_AT, status
from tests.hatui.waiting import until

WEB = "IPaddr2::10.99.0.10/24/eth0"
REASON = (
    f"one-way loss: bravo took over {WEB} (its hold report claims it) and its heartbeats "
    "have not listed alpha for 0.2 s, so what alpha sends is lost; alpha releases it to "
    "leave bravo the only owner (no STONITH device: nothing else stops two owners)"
)


def released(state: str = "released") -> dict[str, Any]:
    doc = status()
    doc["resources"]["one_way"] = {
        "state": state,
        "peer": "bravo",
        "peer_hears_us": False,
        "groups": [WEB],
        "reason": REASON,
        "releases": 1,
    }
    return doc


def test_banner_while_released_and_none_while_watching() -> None:
    [banner] = vm.one_way_release_banners(released())
    assert banner.severity is vm.Severity.ERROR
    assert banner.text == (
        f"✖ ONE-WAY LOSS: released {WEB} — bravo runs it and does not hear us; back when it does"
    )
    assert vm.one_way_release_banners(released("watching")) == []
    assert vm.one_way_release_banners(status()) == []  # an engine without the field
    texts = [b.text for b in vm.banners(released("releasing"), vm.Connection(), 0, None)]
    assert any(t.startswith("✖ ONE-WAY LOSS: releasing") for t in texts)


async def _never_connect(_path: Path) -> Any:
    await asyncio.Event().wait()


async def test_the_banner_comes_and_goes_with_the_status_document() -> None:
    app = HaTuiApp(status=status(), clock=lambda: RECEIVED_AT)
    async with app.run_test(size=(120, 40)) as pilot:
        bridge = EngineBridge(Path("/nonexistent/control.sock"), opener=_never_connect)
        await app.mount(bridge)

        def banners() -> list[str]:
            return [str(b.render()) for b in app.query(".banner").results(Static)]

        doc = released()
        doc["resources"]["one_way"]["groups"] = [WEB, "odd::[b]x[/b]"]
        bridge.take_event({"event": "status", "seq": 1, "data": doc})
        await until(pilot, lambda: any("ONE-WAY LOSS" in b for b in banners()))
        shown = next(b for b in banners() if "ONE-WAY LOSS" in b)
        assert f"released {WEB}, odd::[b]x[/b] — bravo runs them" in shown  # never markup
        bridge.take_event({"event": "status", "seq": 2, "data": released("watching")})
        await until(pilot, lambda: not any("ONE-WAY LOSS" in b for b in banners()))
