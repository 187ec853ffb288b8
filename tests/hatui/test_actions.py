"""Operator actions in the console: greyed out for read-only users, and in the palette."""

from __future__ import annotations

from textual.command import CommandPalette
from textual.widgets import OptionList

from engine.control.schema import PeerInfo
from engine.control.server import _ActRule
from hatui.app import OPERATOR_ACTIONS, HaTuiApp
from hatui.widgets.logtail import LogPanel
from tests.hatui.sample import RECEIVED_AT, status
from tests.hatui.waiting import until

SIZE = (80, 24)
OTHER_UID = 65533


def read_only_hello() -> dict[str, object]:
    """The ``hello`` an engine run by root sends to a user outside group haclient."""
    can_act, reason = _ActRule("haclient", owner_uid=0).decide(OTHER_UID, OTHER_UID, ())
    peer = PeerInfo(OTHER_UID, OTHER_UID, 4242, "carol", can_act, reason=reason)
    return {"server": "haengine", "node": "alpha", "peer": peer.as_dict()}


async def test_hello_without_can_act_greys_actions_out_with_the_reason() -> None:
    hello = read_only_hello()
    reason = str(hello["peer"]["reason"])  # type: ignore[index]
    app = HaTuiApp(status=status(), hello=hello, clock=lambda: RECEIVED_AT)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.pause()
        for action in OPERATOR_ACTIONS - {"meatware_confirm"}:
            assert app.check_action(action, ()) is None, action  # shown, but greyed out
        footer = {b.binding.key: b.enabled for b in app.screen.active_bindings.values()}
        assert footer["s"] is False and footer["S"] is False and footer["q"] is True
        assert app.picture is not None
        expected = f"◑ actions disabled: read-only: carol may not act ({reason})"
        assert expected in [banner.text for banner in app.picture.banners]
        await pilot.press("s")  # a greyed-out key does nothing
        await pilot.pause()
        assert app.screen is app.screen_stack[0]
        standby = next(c for c in app.get_system_commands(app.screen) if c.title == "Standby…")
        await standby.callback()  # the palette says why instead of acting
        await until(pilot, lambda: any(reason in n.message for n in app._notifications))


async def test_palette_lists_every_action_and_panel_toggle_and_runs_them() -> None:
    app = HaTuiApp(status=status(), clock=lambda: RECEIVED_AT)
    async with app.run_test(size=(100, 30)) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in (
            "Standby…",
            "Takeover…",
            "Failback…",
            "STONITH (fence) a node…",
            "Toggle nodes & links panel",
            "Toggle log panel",
            "Toggle timeline panel",
            "Help",
        ):
            assert title in titles
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"toggle log")
        results = app.screen.query_one("#--results").query_one(OptionList)
        await until(
            pilot,
            lambda: any(
                "Toggle log panel" in str(results.get_option_at_index(i).prompt)
                for i in range(results.option_count)
            ),
        )
        assert app.query_one(LogPanel).display
        await pilot.press("enter")
        await until(pilot, lambda: not app.query_one(LogPanel).display)
