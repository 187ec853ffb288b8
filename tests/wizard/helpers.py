"""Shared helpers for the wizard tests: a fixed discovery and a pilot walk."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input, RadioButton, TextArea

from hatui.wizard.discover import Agent, Discovery, Interface
from hatui.wizard.screens import SetupApp
from hatui.wizard.state import WizardState

KEY = "0123456789abcdef0123456789abcdef"

FOUND = Discovery(
    interfaces=[
        Interface("lo", ("127.0.0.1/8",), True, True),
        Interface("eth0", ("10.99.0.1/24",)),
    ],
    serial_ports=["/dev/ttyS0"],
    agents=[Agent("ocf", "ocf:heartbeat:Dummy"), Agent("lsb", "apache2")],
)


def make_app(config_dir: Path, **kwargs: object) -> SetupApp:
    state = kwargs.pop("state", None) or WizardState(node="", auth_key=KEY)
    kwargs.setdefault("probe_ips", False)  # never ping a non-loopback address from tests
    kwargs.setdefault("discovery", FOUND)
    return SetupApp(config_dir, state=state, uname="alpha", **kwargs)  # type: ignore[arg-type]


async def fill(pilot: Pilot[int], selector: str, text: str) -> None:
    widget = pilot.app.query_one(selector, Input)
    widget.value = text
    await pilot.pause()


async def next_step(pilot: Pilot[int], *, past_warnings: bool = True) -> None:
    """PgDn; a step that only warns holds once (the warning on its own screen), so
    press again when ``past_warnings``."""
    before = title(pilot)
    await pilot.press("pagedown")
    await pilot.pause()
    if past_warnings and title(pilot) == before and "again to go on" in problems(pilot):
        await pilot.press("pagedown")
        await pilot.pause()


def title(pilot: Pilot[int]) -> str:
    return str(pilot.app.query_one("#step-title").render())


def problems(pilot: Pilot[int]) -> str:
    return str(pilot.app.query_one("#problems").render())


async def choose(pilot: Pilot[int], name: str) -> None:
    for button in pilot.app.step.query(RadioButton):
        if button.name == name:
            button.value = True
    await pilot.pause()


async def walk(
    pilot: Pilot[int],
    *,
    node: str = "alpha",
    peers: str = "bravo",
    udpport: int = 694,
    ucast: str = "lo 127.0.0.1 127.0.0.2",
    mcast: str = "",
    preset: str = "fast",
    groups: str = "alpha ocf:heartbeat:Dummy",
    stonith: str = "",
) -> None:
    """Fill every step and stop on the review page."""
    await pilot.pause()
    await fill(pilot, "#node", node)
    await next_step(pilot)
    await fill(pilot, "#peers", peers)
    await next_step(pilot)
    await fill(pilot, "#udpport", str(udpport))
    await fill(pilot, "#ucast", ucast)
    await fill(pilot, "#mcast", mcast)
    await next_step(pilot)
    await choose(pilot, preset)
    await next_step(pilot)
    await next_step(pilot)  # auth: keep sha256 and the key
    pilot.app.query_one("#groups", TextArea).text = groups
    await next_step(pilot)
    await fill(pilot, "#stonith-type", stonith)
    await next_step(pilot)
    await next_step(pilot)  # logging: keep the defaults
