"""The bridge's ingest path (buffered events, leading-edge throttled flushes) and what
the engine reports as the widgets show it.

The bridge is mounted into a console that shows a fixed document; its opener never
connects, so the events come from the test through ``take_event``, the same entry point
the subscription worker uses. The last test runs the real subscription against a real
control server.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import time
from pathlib import Path
from typing import Any

from textual.widgets import Static

from engine.control.server import ControlServer
from hatui.app import HaTuiApp
from hatui.bridge import FLUSH_INTERVAL_S, EngineBridge
from hatui.messages import StatusUpdated
from hatui.widgets.chains import ChainPanel
from hatui.widgets.links import LinksPanel
from hatui.widgets.logtail import LogPanel
from hatui.widgets.timeline import TimelinePanel
from tests.control.conftest import FixedHandler
from tests.hatui.sample import IPFAIL_CHILD, RECEIVED_AT, status, with_ping, with_stonith
from tests.hatui.waiting import until

SIZE = (80, 24)


async def never_connect(_path: Path) -> Any:
    await asyncio.Event().wait()


def log_event(number: int, level: str = "info") -> dict[str, Any]:
    return {"event": "log", "seq": number, "data": {"level": level, "text": f"line {number}"}}


async def mounted(app: HaTuiApp) -> EngineBridge:
    bridge = EngineBridge(Path("/nonexistent/control.sock"), opener=never_connect)
    await app.mount(bridge)
    return bridge


async def test_a_burst_in_one_loop_turn_is_one_flush_with_every_line() -> None:
    app = HaTuiApp(status=status(), clock=lambda: RECEIVED_AT)
    async with app.run_test(size=SIZE) as pilot:
        bridge = await mounted(app)
        log = app.query_one(LogPanel)
        before = len(log.lines)
        for number in range(300):
            bridge.take_event(log_event(number))
        await until(pilot, lambda: log.newest.endswith("line 299"))
        assert bridge.flushes == 1
        assert len(log.lines) - before == 300


async def test_steady_stream_is_throttled_but_nothing_is_lost() -> None:
    app = HaTuiApp(status=status(), clock=lambda: RECEIVED_AT)
    async with app.run_test(size=SIZE) as pilot:
        bridge = await mounted(app)
        log = app.query_one(LogPanel)
        start = time.monotonic()
        for number in range(60):
            bridge.take_event(log_event(number, "WARN" if number % 7 else "ERROR"))
            await asyncio.sleep(0.005)
        await until(pilot, lambda: log.newest.endswith("line 59"))
        elapsed = time.monotonic() - start
        # at most one flush per window (plus the leading one), whatever the machine load
        assert 2 <= bridge.flushes <= elapsed / FLUSH_INTERVAL_S + 1
        assert [line.split()[-1] for line in log.lines[-60:]] == [str(n) for n in range(60)]


async def test_status_and_timeline_events_reach_the_screen() -> None:
    app = HaTuiApp(status=status(), clock=lambda: RECEIVED_AT)
    async with app.run_test(size=SIZE) as pilot:
        bridge = await mounted(app)
        moved = status()
        moved["groups"][0]["held_by"] = "bravo"
        bridge.take_event({"event": "status", "seq": 1, "data": moved})
        reload = {"kind": "reload", "node": "alpha", "reason": "configuration reload rejected"}
        bridge.take_event({"event": "timeline", "seq": 2, "data": reload})
        bridge.take_event({"event": "timeline", "seq": 3, "data": "not a mapping"})
        await until(pilot, lambda: app.picture is not None and "@bravo" in app.picture.summary)
        rows = app.query_one(TimelinePanel).rows
        await until(pilot, lambda: any(r.kind == "reload" for r in rows))
        assert rows[-1].severity.value == "error"


async def test_engine_reports_reach_the_widgets() -> None:
    """One-way loss, ping node, STONITH state and respawn children as the screen shows them."""
    doc = with_ping(with_stonith(status(), meatware_waiting=["bravo"]))
    doc["nodes"][1]["one_way"] = "one-way communication: we hear bravo but it has not heard us"
    doc["children"] = [{**IPFAIL_CHILD, "state": "too_fast", "last_exit": "exited with code 1"}]
    app = HaTuiApp(status=doc, clock=lambda: RECEIVED_AT)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        banners = [str(b.render()) for b in app.query(".banner").results(Static)]
        assert any("ONE-WAY link: bravo does not hear us" in b for b in banners)
        assert any("MEATWARE: power-cycle bravo" in b for b in banners)
        assert any("respawn child /usr/lib/heartbeat/ipfail" in b for b in banners)
        table = app.query_one(LinksPanel)
        assert "ping 10.99.0.254" in table.first_column()
        states = [str(table.get_cell(key, "state")) for key in table.rows]
        assert "✖ one-way" in states and "● reachable" in states
        lines = [str(s.render()) for s in app.query_one(ChainPanel).query(".child").results(Static)]
        assert lines and "✖ too_fast" in lines[0]


async def test_gap_resubscribes_for_a_fresh_snapshot_and_the_lost_timeline(
    sock_dir: Path,
) -> None:
    """Against a real control server whose queue overflows: the console resubscribes."""
    handler = FixedHandler()
    server = ControlServer(sock_dir / "control.sock", handler, queue_size=64)
    await server.start()
    try:
        app = HaTuiApp(server.path)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.picture is not None and "@alpha" in app.picture.summary)
            subscribes = handler.status_calls
            moved = copy.deepcopy(handler.doc)
            moved["groups"][0]["held_by"] = "bravo"
            handler.doc = moved  # no status event: only a new snapshot can show it
            for number in range(100):  # no await: the server's queue takes the first 64
                server.publish("log", {"level": "info", "text": f"line {number}"})
            server.publish("timeline", {"kind": "takeover", "node": "bravo", "reason": "lost"})
            assert server.stats["dropped_events"] == 101 - 64
            log = app.query_one(LogPanel)
            await until(pilot, lambda: log.newest.endswith("line 63"))
            assert not any("line 64" in line for line in log.lines)
            server.publish("log", {"level": "info", "text": "after the gap"})
            await until(pilot, lambda: app.picture is not None and "@bravo" in app.picture.summary)
            assert handler.status_calls > subscribes
            rows = app.query_one(TimelinePanel).rows
            await until(pilot, lambda: any("lost" in row.text for row in rows))
            await until(pilot, lambda: log.newest.endswith("after the gap"))
            server.publish("timeline", {"kind": "standby", "node": "alpha", "reason": "later"})
            await until(pilot, lambda: any("later" in row.text for row in rows))
            # the replayed history did not repeat the entry the console already showed
            assert sum("lost" in row.text for row in rows) == 1
    finally:
        await server.close()


def heard_ago(millis: int = 50) -> dict[str, Any]:
    """The sample document with every heartbeat ``millis`` old ("50ms" is narrower than
    "12.1s")."""
    doc = status()
    for node in doc["nodes"]:
        node["last_heard_ms"] = millis
        for link in node["links"]:
            link["last_heard_ms"] = millis
    return doc


async def test_links_table_keeps_its_width_as_ages_shrink() -> None:
    """Ages change four times a second; a table that narrowed with them re-laid out the
    whole screen each time (and jumped): columns only grow while rows stay the same."""
    app = HaTuiApp(status=heard_ago(50), clock=lambda: RECEIVED_AT)
    async with app.run_test(size=(100, 30)) as pilot:
        table = app.query_one(LinksPanel)
        ages = lambda: [str(c) for c in table.get_column("age")]  # noqa: E731
        app.post_message(StatusUpdated(heard_ago(12_100), RECEIVED_AT))
        await until(pilot, lambda: "12.1s" in ages())
        await pilot.pause()
        wide = (table.virtual_size.width, [c.content_width for c in table.ordered_columns])
        app.post_message(StatusUpdated(heard_ago(50), RECEIVED_AT))  # fresh: "50ms" again
        await until(pilot, lambda: "12.1s" not in ages() and "50ms" in ages())
        await pilot.pause()
        assert (table.virtual_size.width, [c.content_width for c in table.ordered_columns]) == wide


async def test_attaching_late_shows_the_engines_recent_log_and_timeline_in_order(
    sock_dir: Path,
) -> None:
    """The 3 a.m. case: the console starts after the failover; the log and timeline that
    led to it are on screen at once, the log marked as history, the timeline in time
    order around the console's own "connected" row. Lines lost in a gap come back from
    the engine's ring buffer when the console subscribes again, and none twice."""
    ring: collections.deque[dict[str, Any]] = collections.deque(maxlen=500)
    server = ControlServer(sock_dir / "control.sock", FixedHandler(), log_history=ring)

    def emit(text: str, at: float | None = None) -> None:
        """What the engine's logging does: the ring keeps the line, subscribers get it."""
        record = {"time": time.time() if at is None else at, "level": "info", "text": text}
        ring.append(record)
        server.publish("log", record)

    before = time.time() - 60
    emit("node bravo: is dead", before)
    emit("Taking over resource group demo-db", before + 1)
    server.publish("timeline", {"time": before + 1, "kind": "takeover", "node": "alpha",
                                "group": "demo-db", "reason": "bravo dead"})  # fmt: skip
    await server.start()
    try:
        app = HaTuiApp(server.path)
        async with app.run_test(size=SIZE) as pilot:
            log = app.query_one(LogPanel)
            await until(pilot, lambda: log.newest.endswith("Taking over resource group demo-db"))
            assert log.lines[-3] == "-- recent log of alpha, from before this console attached --"
            rows = app.query_one(TimelinePanel).rows
            await until(pilot, lambda: [r.kind for r in rows] == ["takeover", "engine"])
            emit("live line")
            await until(pilot, lambda: log.newest.endswith("live line"))
            for number in range(300):  # no await: the server's queue (256) overflows
                emit(f"burst {number}")
            await until(pilot, lambda: log.newest.endswith("burst 255"))
            emit("after the gap")  # reveals the gap: the console subscribes again
            await until(pilot, lambda: log.newest.endswith("after the gap"))
            bursts = [line.split()[-1] for line in log.lines if " burst " in line]
            assert bursts == [str(n) for n in range(300)]  # the lost ones came from the ring
            assert sum("Taking over resource group" in line for line in log.lines) == 1
    finally:
        await server.close()
