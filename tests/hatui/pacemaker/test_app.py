"""The Pacemaker console under Textual's pilot, fed documents made from captured crm_mon
output (no root, no cluster): what it shows, which keys it has, what each key offers."""

from __future__ import annotations

import copy
import time
from typing import Any

from textual.widgets import Footer, OptionList

from hatui.backends.pacemaker.app import PacemakerApp
from hatui.backends.pacemaker.pick import PickModal
from hatui.viewmodel import LATENCY_LINK_HEADERS, Severity
from hatui.widgets.links import LinksPanel
from hatui.widgets.timeline import TimelinePanel
from tests.hatui.pacemaker.captured import crash_story, document
from tests.hatui.screen import screen_lines
from tests.hatui.waiting import until

SIZE = (80, 24)


def make(doc: dict[str, Any], **kwargs: Any) -> PacemakerApp:
    now = time.monotonic()
    return PacemakerApp(None, status=doc, clock=lambda: now, **kwargs)


def options_shown(app: PacemakerApp) -> list[str]:
    listing = app.screen.query_one(OptionList)
    return [str(listing.get_option_at_index(i).prompt) for i in range(listing.option_count)]


async def test_after_a_crash_the_screen_shows_nodes_links_groups_and_why() -> None:
    doc, timeline, logs = crash_story()
    app = make(doc, timeline=timeline, logs=logs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        picture = app.picture
        assert picture is not None
        assert picture.summary.startswith("◐ cluster DEGRADED · 2/3 nodes up · DC ")
        assert "rg-hbmark-ready@charlie" in picture.summary
        table = app.query_one(LinksPanel)
        assert tuple(str(c.label) for c in table.columns.values()) == LATENCY_LINK_HEADERS
        first = table.first_column()
        assert first[:3] == ["alpha ● active", "bravo ✖ dead", "  link0 knet"]
        dead = [row for row in picture.links if row.node == "bravo" and row.link]
        assert [row.state for row in dead] == ["✖ dead", "✖ dead"]
        assert all(row.severity is Severity.ERROR for row in dead)
        kinds = [row.kind for row in app.query_one(TimelinePanel).rows]
        assert "death" in kinds and "recovery" in kinds
        assert kinds.index("death") < kinds.index("recovery")


async def test_pacemaker_keys_replace_the_engines() -> None:
    app = make(document("idle"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.check_action("takeover", ()) is False
        assert app.check_action("failback", ()) is False
        assert app.check_action("meatware_confirm", ()) is False
        shown = {k: v.binding.description for k, v in app.active_bindings.items() if v.binding.show}
        assert shown.get("s") == "Standby" and shown.get("u") == "Unstandby"
        assert shown.get("m") == "Move" and shown.get("S") == "STONITH"
        assert "t" not in shown and "M" not in shown
        assert app.query_one(Footer).display


async def test_standby_offers_the_nodes_that_can_go_with_what_they_run() -> None:
    doc = copy.deepcopy(document("crashed", knet="crashed"))
    app = make(doc)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, PickModal))
        assert options_shown(app) == [
            "alpha  (runs rg-hbweb)",
            "charlie  (runs rg-hbmark-ready)",
        ]  # bravo is dead: not offered
        assert app.screen.query_one(OptionList).highlighted is None
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, PickModal))


async def test_move_offers_groups_then_the_nodes_that_can_run_it() -> None:
    app = make(document("crashed", knet="crashed"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, PickModal))
        assert options_shown(app) == ["rg-hbweb@alpha", "rg-hbmark-ready@charlie"]
        await pilot.press("tab", "down", "enter")
        # not alpha (it runs the group), not bravo (dead)
        await until(pilot, lambda: options_shown(app) == ["charlie"])
        await pilot.press("escape")


async def test_clear_and_cleanup_and_unstandby_say_when_there_is_nothing() -> None:
    app = make(document("idle"))
    async with app.run_test(size=SIZE) as pilot:
        for key in ("x", "c", "u"):
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, PickModal)
        texts = [n.message for n in app._notifications]
        assert any("no group has a constraint left by --move or --ban" in t for t in texts)
        assert any("no failed actions" in t for t in texts)
        assert any("no node is in standby" in t for t in texts)


async def test_a_clone_is_no_split_brain_and_a_move_note_is_shown() -> None:
    app = make(document("clone"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.picture is not None
        assert not [b for b in app.picture.banners if "SPLIT BRAIN" in b.text]
    moved = make(document("moved"))
    async with moved.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert moved.picture is not None
        [web] = [c for c in moved.picture.chains if c.key == "rg-hbweb"]
        note = " · moved to charlie by crm_resource --move (cli-prefer-rg-hbweb)"
        assert web.title.endswith(note)


async def test_outside_text_is_never_markup() -> None:
    doc = copy.deepcopy(document("idle"))
    doc["groups"][0]["key"] = "rg-[bold]web"
    app = make(doc)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, PickModal))
        assert options_shown(app)[0] == "rg-[bold]web@alpha"


async def test_without_a_node_an_action_is_refused_not_sent() -> None:
    app = make(document("idle"))
    async with app.run_test(size=SIZE) as pilot:
        app.send_command("node_standby", node="alpha")
        panel = app.query_one(TimelinePanel)
        await until(pilot, lambda: any(r.kind == "action" for r in panel.rows))
        [row] = [r for r in panel.rows if r.kind == "action"]
        assert row.text == "node_standby alpha: refused — not connected to an engine"


async def test_help_lists_pacemakers_keys_not_the_engines() -> None:
    from hatui.backends.pacemaker.help import PACEMAKER_HELP, PacemakerHelpScreen

    app = make(document("idle"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, PacemakerHelpScreen))
    assert "takeover" not in PACEMAKER_HELP and "meatware" not in PACEMAKER_HELP
    assert "crm_resource --move" in PACEMAKER_HELP
    assert max(len(line) for line in PACEMAKER_HELP.splitlines()) <= 72  # fits 80 columns


def test_a_dead_links_last_latency_is_not_shown_as_now() -> None:
    from hatui.viewmodel import link_rows

    rows = link_rows(document("crashed", knet="crashed"), 0.0, 0.0)
    dead = [r for r in rows if r.node == "bravo" and r.link]
    up = [r for r in rows if r.node == "charlie" and r.link]
    assert [r.age for r in dead] == ["-", "-"]
    assert all(r.age.endswith(("µs", "ms")) for r in up)


async def test_at_80x24_three_nodes_leave_the_timeline_its_rows() -> None:
    """Three nodes with two rings make a links table taller than 80x24 can give: it
    scrolls, and the timeline (why) still shows its newest entries."""
    doc, timeline, logs = crash_story()
    app = make(doc, timeline=timeline, logs=logs)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        lines = screen_lines(app)
        title = next(i for i, line in enumerate(lines) if "timeline (why)" in line)
        rows = lines[title + 1 : -1]  # the footer is the last line
        assert len(rows) >= 2 and all(" — " in row for row in rows), lines
