"""The console as a person at 80x24 (and 120x40) reads it: following, staleness,
time order, dialogs, footer and help, checked on the rendered screen.

Every test drives the app with Pilot and reads ``screen_text`` (the rows as drawn).
"""

from __future__ import annotations

import copy
from typing import Any

from textual import events
from textual.widgets import Input, Static

from hatui.app import HaTuiApp
from hatui.demo import DemoApp
from hatui.messages import ConnectionChanged, LogBatch, StatusUpdated
from hatui.screens.help import HELP_WIDTH, HelpScreen, help_text
from hatui.screens.modals import StonithModal
from hatui.viewmodel import Connection, LinkState, TimelineRow
from hatui.widgets.logtail import FollowingLog, LogPanel
from hatui.widgets.panel import title_text
from hatui.widgets.timeline import TimelinePanel
from tests.hatui.sample import RECEIVED_AT, TIMELINE, WALL, status
from tests.hatui.screen import screen_lines, screen_text
from tests.hatui.waiting import until

SMALL = (80, 24)
LARGE = (120, 40)


def records(first: int, count: int) -> list[dict[str, Any]]:
    return [{"time": WALL + n, "level": "info", "text": f"line {n}"} for n in range(first, count)]


def newest_on_screen(app: HaTuiApp, number: int) -> bool:
    """The log line ``line NUMBER`` is one of the rows drawn on the screen."""
    return any(f" line {number} " in f"{row} " for row in screen_lines(app))


def troubled(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with reasons that make the summary wrap and three more banners appear."""
    doc = copy.deepcopy(doc)
    bravo = doc["nodes"][1]
    bravo["one_way"] = "one-way communication: we hear bravo but it has not heard us " * 2
    bravo["links"][1]["status"] = "dead"
    doc["links"][1]["cut"] = True
    doc["last_change"] = {"time": WALL, "what": "takeover", "reason": "a long reason " * 8}
    return doc


async def test_following_keeps_the_newest_line_on_screen_through_layout_changes() -> None:
    app = HaTuiApp(status=status(), clock=lambda: RECEIVED_AT, logs=records(0, 200))
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: newest_on_screen(app, 199))
        # banners appear and the summary wraps: the log panel shrinks
        app.post_message(StatusUpdated(troubled(status()), RECEIVED_AT))
        await until(pilot, lambda: "ONE-WAY link" in screen_text(app))
        app.post_message(LogBatch(records(200, 201)))
        await until(pilot, lambda: newest_on_screen(app, 200))
        assert "log · following" in screen_text(app)
        # the terminal is resized, both ways; following holds
        for size in (LARGE, (100, 30), SMALL):
            await pilot.resize_terminal(*size)
            await until(pilot, lambda: newest_on_screen(app, 200))
        # the banners go again: the panel grows, the newest line stays the last one shown
        app.post_message(StatusUpdated(status(), RECEIVED_AT))
        app.post_message(LogBatch(records(201, 203)))
        await until(pilot, lambda: newest_on_screen(app, 202))


async def test_a_first_batch_taller_than_the_view_shows_its_newest_line() -> None:
    """A console attaching gets the engine's history in one batch after its first
    layout: the log had no scrollbar yet, Textual refused the scroll, and the view
    stayed on the oldest line while the title said "following" (80x24, issue 14)."""
    app = HaTuiApp(status=status(), clock=lambda: RECEIVED_AT)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause(0.2)
        app.post_message(LogBatch(records(0, 300)))
        await until(pilot, lambda: newest_on_screen(app, 299))
        assert app.query_one(LogPanel).following


async def test_scrolling_up_pauses_and_the_title_says_how_to_follow_again() -> None:
    app = HaTuiApp(status=status(), clock=lambda: RECEIVED_AT, logs=records(0, 200))
    async with app.run_test(size=SMALL) as pilot:
        log = app.query_one(FollowingLog)
        await until(pilot, lambda: newest_on_screen(app, 199))
        # laid out with its scrollbar, at the end (on a loaded machine this can take a
        # frame or two more than the text being on screen): PgUp then has room to go up
        await until(pilot, lambda: 0 < log.max_scroll_y == log.scroll_y)
        log.focus()
        await pilot.press("pageup")
        await until(pilot, lambda: "PAUSED (p or End: follow)" in screen_text(app))
        app.post_message(LogBatch(records(200, 201)))
        await pilot.pause(0.2)
        assert not newest_on_screen(app, 200)  # paused: the view stays where it was
        await pilot.press("end")  # back at the end: following again
        await until(pilot, lambda: "log · following" in screen_text(app))
        await until(pilot, lambda: newest_on_screen(app, 200))
        await pilot.press("pageup")
        await until(pilot, lambda: not app.query_one(LogPanel).following)
        app.set_focus(None)
        await pilot.press("p")
        await until(pilot, lambda: newest_on_screen(app, 200) and app.query_one(LogPanel).following)


async def test_the_mouse_wheel_up_pauses_and_scrolls_back() -> None:
    app = HaTuiApp(status=status(), clock=lambda: RECEIVED_AT, logs=records(0, 200))
    async with app.run_test(size=SMALL) as pilot:
        log = app.query_one(FollowingLog)
        await until(pilot, lambda: newest_on_screen(app, 199))
        await until(pilot, lambda: 0 < log.max_scroll_y == log.scroll_y)
        end = log.scroll_y
        log.post_message(events.MouseScrollUp(log, 1, 1, 0, 0, 0, False, False, False))
        await until(pilot, lambda: "PAUSED (p or End: follow)" in screen_text(app))
        await until(pilot, lambda: log.scroll_y < end)
        app.post_message(LogBatch(records(200, 201)))
        await pilot.pause(0.2)
        assert not newest_on_screen(app, 200)


async def test_without_the_engine_every_panel_is_stale_and_nothing_claims_health() -> None:
    now = [RECEIVED_AT]
    app = HaTuiApp(status=status(), clock=lambda: now[0], logs=records(0, 3), timeline=TIMELINE)
    async with app.run_test(size=SMALL) as pilot:
        await until(pilot, lambda: "cluster OK" in screen_text(app))
        lost = Connection(LinkState.RECONNECTING, 5.0, "connection refused")
        app.post_message(ConnectionChanged(lost))
        now[0] += 12.0
        await until(pilot, lambda: "no engine for 12.0s" in screen_text(app))
        shown = screen_text(app)
        assert "cluster OK" not in shown
        assert "? cluster state UNKNOWN (no engine for 12.0s) · last known:" in shown
        for panel in ("#links", "#chains", "#log-panel", "#timeline"):
            assert "STALE: no engine for 12.0s" in title_text(app.query_one(panel)), panel
        assert shown.count("STALE: no engine for 12.0s") >= 3  # titles at 80 columns
        # the links' ages are those of the last update, not growing as if measured now
        assert "120ms" in shown and "12.1s" not in shown


async def test_timeline_is_in_time_order_whatever_the_order_of_arrival() -> None:
    app = HaTuiApp(status=status(), clock=lambda: RECEIVED_AT)
    async with app.run_test(size=SMALL) as pilot:
        panel = app.query_one(TimelinePanel)
        panel.add_rows([TimelineRow("19:25:48", "engine", "connected", at=WALL + 71)])
        panel.add_rows([  # the engine's history arrives after the console's own row
            TimelineRow("19:24:37", "acquire", "alpha demo-db", at=WALL),
            TimelineRow("19:25:00", "standby", "alpha", at=WALL + 23),
        ])  # fmt: skip
        await pilot.pause()
        assert [r.kind for r in panel.rows] == ["acquire", "standby", "engine"]
        shown = screen_text(app)
        assert shown.index("19:24:37") < shown.index("19:25:00") < shown.index("19:25:48")


async def test_timeline_wraps_at_its_width_keeps_its_place_and_shows_whole_reasons() -> None:
    long_reason = "alpha declared dead after 1000 ms without heartbeats on lo, lo#2 (deadtime)"
    events = [
        {"time": WALL + n, "kind": "death", "node": "alpha", "reason": f"{n}: {long_reason}"}
        for n in range(30)
    ]
    app = HaTuiApp(status=status(), clock=lambda: RECEIVED_AT, timeline=events)
    async with app.run_test(size=SMALL) as pilot:
        panel = app.query_one(TimelinePanel)
        rows = panel.query_one("#timeline-rows", Static)
        await until(pilot, lambda: f"29: {long_reason[:20]}" in screen_text(app))
        # the text is laid out beside the scrollbar, never under it
        assert rows.region.right <= panel.scrollable_content_region.right
        panel.focus()
        await pilot.press("home", "down", "down")
        await until(pilot, lambda: not panel.following)
        place = panel.scroll_y
        await pilot.resize_terminal(*LARGE)
        await pilot.pause(0.3)
        assert panel.scroll_y > 0 and abs(panel.scroll_y - place) <= 2  # not back to the top
        panel.set_following(True)
        await until(pilot, lambda: "alpha — 29:" in screen_text(app))
        assert screen_text(app).rstrip().count("(deadtime)") >= 2  # whole, at 120 columns


async def test_stonith_dialog_takes_the_typed_name_and_enter_confirms_only_it() -> None:
    app = HaTuiApp(status=status(), clock=lambda: RECEIVED_AT)
    async with app.run_test(size=SMALL, notifications=True) as pilot:
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, StonithModal))
        await pilot.press(*"bravo")  # no Tab, no click: the field has the keys
        await until(pilot, lambda: app.screen.query_one("#node-name", Input).value == "bravo")
        assert "bravo" in screen_text(app)
        await pilot.press("enter")  # the exact name: the command goes out (here: no engine)
        rows = app.query_one(TimelinePanel).rows
        await until(pilot, lambda: any(r.text.startswith("stonith bravo: refused") for r in rows))
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, StonithModal))
        await pilot.press("enter")  # nothing typed: cancelled, nothing sent
        await until(pilot, lambda: not isinstance(app.screen, StonithModal))
        assert sum(r.text.startswith("stonith") for r in rows) == 1


async def test_80x24_footer_log_lines_and_filter_field() -> None:
    app = HaTuiApp(status=status(), clock=lambda: RECEIVED_AT, logs=records(0, 50))
    async with app.run_test(size=SMALL) as pilot:
        await pilot.pause()
        footer = screen_lines(app)[-1]
        for key in ("s Standby", "t Takeover", "S STONITH", "? Help", "q Quit", "^p palette"):
            assert key in footer
        assert len(footer) <= 80
        assert app.query_one(FollowingLog).size.height >= 5  # a useful number of lines
        await pilot.press("slash", *"WARN")
        field = app.query_one("#log-filter", Input)
        await until(pilot, lambda: field.value == "WARN")
        assert field.size.height == 1 and "WARN" in screen_text(app)  # the text, not borders
        await pilot.press("escape")
        assert "filter 'WARN'" in screen_text(app)


async def test_help_lists_the_demo_keys_and_no_line_wraps_at_80_columns() -> None:
    text = help_text(DemoApp.HELP_KEYS)
    assert all(len(line) <= HELP_WIDTH for line in text.splitlines())
    for key in ("k  demo: kill", "c  demo: cut", "a  demo: attach"):
        assert key in text

    class WithDemoKeys(HaTuiApp):
        HELP_KEYS = DemoApp.HELP_KEYS

    app = WithDemoKeys(status=status(), clock=lambda: RECEIVED_AT)
    async with app.run_test(size=SMALL) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        body = app.screen.query_one(Static)
        await until(pilot, lambda: body.size.height > 0)
        assert body.size.height == len(text.splitlines())  # not one line wrapped
        assert "k  demo: kill a node" in screen_text(app)
