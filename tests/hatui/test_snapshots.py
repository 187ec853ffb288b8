"""SVG snapshots of the main screens, fed a fixed status document (no engine).

The app's test-only constructor path (``status=`` plus a frozen clock) makes every age
and margin deterministic. Update with ``pytest tests/hatui --snapshot-update``.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from hatui.app import HaTuiApp
from tests.hatui.sample import LOGS, RECEIVED_AT, TIMELINE, WALL, status, with_ping, with_stonith

SIZE = (80, 24)


def make_app(
    doc: dict[str, Any] | None = None,
    timeline: list[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> HaTuiApp:
    return HaTuiApp(
        status=doc or status(),
        clock=lambda: RECEIVED_AT,
        logs=LOGS,
        timeline=TIMELINE if timeline is None else timeline,
        hello={"peer": {"uid": 0, "user": "root", "can_act": True}},
        **kwargs,
    )


def failover_status() -> dict[str, Any]:
    """bravo died; alpha fenced it (external/ssh) and is starting bravo's group."""
    doc = with_ping(with_stonith(status()))
    bravo = doc["nodes"][1]
    bravo["status"] = "dead"
    bravo["last_heard_ms"] = 1400
    for link in bravo["links"]:
        link["status"] = "dead"
        link["last_heard_ms"] = 1400
    group = doc["groups"][0]
    group.update(home="bravo", state="starting", reason="bravo dead: taking over")
    group["resources"][0]["state"] = "running"
    group["resources"][1]["state"] = "starting"
    doc["last_change"] = {"time": WALL + 5, "what": "takeover", "reason": "bravo dead"}
    doc["stonith"]["last"] = {
        "bravo": {"time": WALL + 4, "ok": True, "code": 0, "reason": "", "requested_by": "policy"}
    }
    return doc


FAILOVER_TIMELINE: list[dict[str, Any]] = [
    *TIMELINE,
    {"time": WALL + 3, "kind": "death", "node": "bravo", "group": "",
     "reason": "no heartbeat on any link for 1000 ms (deadtime)"},
    {"time": WALL + 3, "kind": "fence", "node": "bravo", "group": "",
     "reason": "fencing bravo before taking over: bravo was declared dead"},
    {"time": WALL + 5, "kind": "takeover", "node": "alpha", "group": "demo-db",
     "reason": "bravo dead, fenced"},
]  # fmt: skip


@pytest.mark.usefixtures("utc")
def test_main_screen(snap_compare: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE)


@pytest.mark.usefixtures("utc")
def test_failover_in_progress(snap_compare: Any) -> None:
    app = make_app(failover_status(), FAILOVER_TIMELINE)
    assert snap_compare(app, terminal_size=SIZE)


@pytest.mark.usefixtures("utc")
def test_stonith_confirmation(snap_compare: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, press=["S"])


@pytest.mark.usefixtures("utc")
def test_timeline_only(snap_compare: Any) -> None:
    async def hide_others(pilot: Pilot[None]) -> None:
        await pilot.press("n", "l")

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=hide_others)
