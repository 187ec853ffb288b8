"""Text from outside is never markup: every panel shows markup-like strings literally.

Node and link names, resource arguments, reasons, log lines, timeline entries, the
log filter, the peer's user name, engine errors in notifications and dialog choices
all carry strings shaped like Rich/Textual markup. The app must live (a MarkupError
crashed the wizard on ``10.0.0.999``) and the screen must show them as written.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Input

from hatui.app import HaTuiApp
from hatui.messages import ActionResult
from hatui.screens.modals import ChoiceModal, StonithModal
from hatui.viewmodel import Connection, LinkState, build_picture, render_text
from hatui.widgets.panel import title_text
from tests.hatui.sample import IPFAIL_CHILD, RECEIVED_AT, WALL, status, with_stonith
from tests.hatui.screen import screen_text
from tests.hatui.waiting import until

CIDR = "[/cidr[/nic\\[/broadcast]"
"""The validator message that crashed the wizard (issue 14, item 1)."""
BOLD = "[bold]loud[/bold]"
LINK = "[link=http://example.invalid]x[/link]"
CLOSE = "[/]"
STYLE = "[red on blue]"
PEER = "br[avo]"
WIDE = (160, 50)


def hostile_status() -> dict[str, Any]:
    """The sample document with markup-like text in every field the console shows."""
    doc = with_stonith(status())
    bravo = doc["nodes"][1]
    bravo["name"] = PEER
    bravo["one_way"] = f"one-way communication: {STYLE} peer did not hear us"
    for link in bravo["links"]:
        link["name"] = f"{link['name']}{CLOSE}"
    doc["links"] = [{**link, "name": f"{link['name']}{CLOSE}"} for link in doc["links"]]
    group = doc["groups"][0]
    group["key"] = f"IPaddr2::10.0.0.999/{CIDR}"
    group["held_by"] = PEER
    group["reason"] = f"moved: {LINK}"
    group["resources"][0]["name"] = f"IPaddr2::10.0.0.999/{CIDR}"
    doc["last_change"] = {"time": WALL, "what": "takeover", "reason": BOLD}
    doc["stonith"]["device"] = {"type": f"external/{STYLE}", "id": "x"}
    doc["children"] = [{**IPFAIL_CHILD, "command": f"/usr/lib/{BOLD}", "state": "failed"}]
    return doc


LOGS = [{"time": WALL + n, "level": "warn", "text": f"log line {text}"}
        for n, text in enumerate((CIDR, BOLD, LINK, CLOSE))]  # fmt: skip
TIMELINE = [{"time": WALL + 5, "kind": "takeover", "node": PEER, "group": CIDR, "reason": LINK}]
HELLO = {"peer": {"uid": 1000, "user": "[u]ser", "can_act": False, "reason": f"why {CLOSE}"}}


async def test_every_panel_shows_markup_like_text_literally() -> None:
    app = HaTuiApp(
        status=hostile_status(), clock=lambda: RECEIVED_AT, logs=LOGS, timeline=TIMELINE,
        hello=HELLO,
    )  # fmt: skip
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await pilot.pause()
        shown = screen_text(app)
        for text in (CIDR, BOLD, LINK, CLOSE, STYLE, PEER, "[u]ser", f"why {CLOSE}"):
            assert text in shown, f"{text!r} is not on the screen:\n{shown}"
        assert f"running on {PEER}" in shown  # group title: the holder's name as given
        assert f"lo#2{CLOSE} ucast" in shown  # links table cell
        assert f"log line {CIDR}" in shown  # log panel
        assert f"takeover {PEER}" in shown  # timeline row (its reason wraps at this width)
        # an engine error in a notification, the timeline and the log
        app.post_message(ActionResult(f"stonith {PEER}", "refused", f"engine says {CIDR}"))
        await until(pilot, lambda: f"engine says {CIDR}" in screen_text(app))
        notes = [str(n.message) for n in app._notifications]
        assert any(CIDR in note for note in notes)
        # the log filter: what is typed is shown in the title, as typed
        await pilot.press("slash")
        app.query_one("#log-filter", Input).value = BOLD
        await until(pilot, lambda: f"filter '{BOLD}'" in title_text(app.query_one("#log-panel")))
        assert f"filter '{BOLD}'" in screen_text(app)
        assert app.is_running


async def test_dialogs_show_names_and_refusals_literally() -> None:
    app = HaTuiApp(status=hostile_status(), clock=lambda: RECEIVED_AT)
    async with app.run_test(size=(100, 30), notifications=True) as pilot:
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, StonithModal))
        assert f"Nodes: alpha, {PEER}." in screen_text(app)
        app.screen.query_one("#node-name", Input).value = CIDR
        await pilot.press("enter")  # a wrong name: cancelled, and the notification says why
        await until(pilot, lambda: not isinstance(app.screen, StonithModal))
        notes = [str(n.message) for n in app._notifications]
        assert any(f"{CIDR!r} is not a cluster node" in note for note in notes)
        await until(pilot, lambda: "refused: '[/cidr[/nic" in screen_text(app))  # the toast
        app.push_screen(ChoiceModal(f"pick {BOLD}", f"body {CLOSE}", [("x", f"cut {LINK}")]))
        await until(pilot, lambda: f"cut {LINK}" in screen_text(app))
        shown = screen_text(app)
        assert f"pick {BOLD}" in shown and f"body {CLOSE}" in shown
        assert app.is_running


def test_once_output_is_the_text_as_given() -> None:
    now = RECEIVED_AT
    picture = build_picture(hostile_status(), Connection(LinkState.CONNECTED), now, now, now)
    text = render_text(picture, log=[f"log line {CIDR}"])
    for expected in (CIDR, BOLD, LINK, STYLE, PEER, f"log line {CIDR}"):
        assert expected in text
