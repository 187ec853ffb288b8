"""``hatui --pacemaker`` on a real three-node Corosync + Pacemaker cluster (issue 17.2).

One cluster for the module, running the migrated three-node example (rg-hbweb at home
on alpha, answering HTTP on 10.99.0.202; rg-hbmark-ready on bravo). The console is
attached to alpha: in-process under Textual's pilot (tools through ``nsenter`` into
alpha, alpha's log files by their host paths), and for real inside alpha's namespaces
in a terminal (tmux) at 80x24.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.control.schema import ControlError
from hatui.backends.pacemaker.app import PacemakerApp, PacemakerStonithModal
from hatui.backends.pacemaker.client import Options, PacemakerClient
from hatui.backends.pacemaker.pick import PickModal
from hatui.backends.pacemaker.tools import Tools
from hatui.serve import serve_available
from hatui.viewmodel import LATENCY_LINK_HEADERS
from hatui.widgets.links import LinksPanel
from hatui.widgets.logtail import LogPanel
from hatui.widgets.timeline import TimelinePanel
from lab.pacemaker import PacemakerCluster, PacemakerNode
from lab.pacemaker.console import inside_argv, load_three_node
from lab.pacemaker.examples import LabExample
from lab.pacemaker.fencing import LabFencing
from tests.hatui.browser import browser, chromium_path
from tests.hatui.test_serve import fetch, free_localhost_port
from tests.hatui.waiting import until

WEB_IP = "10.99.0.202"
NODES = ("alpha", "bravo", "charlie")


@pytest.fixture(scope="module")
def three(pcmk: PacemakerCluster, tmp_path_factory: pytest.TempPathFactory) -> LabExample:
    """The migrated three-node example, running at home."""
    return load_three_node(pcmk, tmp_path_factory.mktemp("three"))


def options(node: PacemakerNode) -> Options:
    """Attach to ``node`` from the host: its tools through nsenter, its logs by path."""
    tools = Tools(tuple(node.nsenter_argv([])))
    return Options(tools, (node.pacemaker_log, node.corosync_log), interval_s=0.5)


def held_by(app: PacemakerApp, group: str) -> str:
    for entry in (app.status or {}).get("groups", []):
        if entry.get("key") == group:
            return str(entry.get("held_by") or "")
    return ""


def timeline(app: PacemakerApp) -> list[tuple[str, str]]:
    return [(row.kind, row.text) for row in app.query_one(TimelinePanel).rows]


async def attached(app: PacemakerApp, pilot: object, up: str = "3/3 nodes up") -> None:
    await until(pilot, lambda: app.picture and up in app.picture.summary, 30)  # type: ignore[arg-type]


def back_home(pcmk: PacemakerCluster) -> None:
    """Every node online and out of standby, both groups at home."""
    for name in NODES:
        pcmk["alpha"].tool(
            ["crm_attribute", "--node", name, "--name", "standby", "--update", "off"]
        )
    pcmk["alpha"].tool(["crm_resource", "--clear", "--resource", "rg-hbweb"], check=False)
    pcmk.wait_group("rg-hbweb", "alpha", 60)
    pcmk.wait_group("rg-hbmark-ready", "bravo", 60)
    pcmk.settle()


async def test_attached_to_alpha_shows_three_nodes_links_groups_and_log(
    pcmk: PacemakerCluster, three: LabExample
) -> None:
    app = PacemakerApp(options(pcmk["alpha"]))
    async with app.run_test(size=(120, 40)) as pilot:
        await attached(app, pilot)
        picture = app.picture
        assert picture is not None
        assert "DC " in picture.summary and "quorate" in picture.summary
        table = app.query_one(LinksPanel)
        assert tuple(str(c.label) for c in table.columns.values()) == LATENCY_LINK_HEADERS
        cells = table.first_column()
        assert [c for c in cells if not c.startswith(" ")] == [
            "alpha ● active", "bravo ● active", "charlie ● active"
        ]  # fmt: skip
        assert cells.count("  link0 knet") == 2 and cells.count("  link1 knet") == 2
        for row in (r for r in picture.links if r.link):
            assert row.state == "● up"
            assert row.age.endswith(("µs", "ms")), row  # the knet round trip
            assert row.dead_margin.startswith("10.99."), row  # the peer's address
        titles = [chain.title for chain in picture.chains]
        assert "rg-hbweb · home alpha · ● running here (alpha)" in titles, titles
        assert "rg-hbmark-ready · home bravo · ● running on bravo" in titles, titles
        web = next(c for c in picture.chains if c.key == "rg-hbweb")
        assert web.line == "ip-10.99.0.202 ● running ▶ hbweb ● running"
        log = app.query_one(LogPanel)
        await until(pilot, lambda: any("pacemaker-controld:" in x for x in log.lines), 15)
        assert any("corosync [" in line for line in log.lines), log.lines[-10:]


async def test_standby_of_the_holding_node_moves_the_group_on_screen_and_by_http(
    pcmk: PacemakerCluster, three: LabExample
) -> None:
    assert pcmk.served_by(WEB_IP) == "alpha"
    app = PacemakerApp(options(pcmk["alpha"]))
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await attached(app, pilot)
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, PickModal))
            await pilot.press("enter")  # Cancel has the focus: nothing happens
            await until(pilot, lambda: not isinstance(app.screen, PickModal))
            assert held_by(app, "rg-hbweb") == "alpha"
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, PickModal))
            await pilot.press("tab", "down", "enter")  # the first node: alpha
            await until(pilot, lambda: held_by(app, "rg-hbweb") not in ("", "alpha"), 60)
            new = held_by(app, "rg-hbweb")
            await until(pilot, lambda: any(k == "move" for k, _ in timeline(app)), 15)
            rows = timeline(app)
            assert ("standby", "alpha — in standby: its resources move away, it runs none") in rows
            assert (
                "move", f"{new} rg-hbweb — moved alpha → {new}: alpha is in standby"
            ) in rows  # fmt: skip
            assert any(k == "action" and "node_standby alpha: accepted" in t for k, t in rows)
            assert "alpha ◑ standby" in app.query_one(LinksPanel).first_column()
            assert f"rg-hbweb@{new}" in (app.picture.summary if app.picture else "")
        pcmk.wait_served(WEB_IP, new, 30)  # the address answers from the new holder
    finally:
        back_home(pcmk)
    pcmk.wait_served(WEB_IP, "alpha", 30)


async def test_standby_of_the_last_node_that_can_run_resources_is_refused(
    pcmk: PacemakerCluster, three: LabExample
) -> None:
    alpha = pcmk["alpha"]
    try:
        for name in ("bravo", "charlie"):
            alpha.tool(["crm_attribute", "--node", name, "--name", "standby", "--update", "on"])
        pcmk.wait_group("rg-hbmark-ready", "alpha", 60)
        app = PacemakerApp(options(alpha))
        async with app.run_test(size=(80, 24)) as pilot:
            await attached(app, pilot)
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, PickModal))
            await pilot.press("tab", "down", "enter")  # alpha: the only one left
            reason = (
                "refusing standby of alpha: it is the last online node that can run "
                "resources (it runs rg-hbweb, rg-hbmark-ready); standby would stop them "
                "everywhere"
            )
            await until(pilot, lambda: any(reason in t for _k, t in timeline(app)), 15)
            assert any(f"node_standby alpha: refused — {reason}" in t for _k, t in timeline(app))
        assert pcmk.group_node("rg-hbweb") == "alpha"  # nothing moved
        standby = alpha.tool(["crm_attribute", "--node", "alpha", "--name", "standby", "--query"])
        assert "value=off" in standby.stdout or "value=" not in standby.stdout
    finally:
        back_home(pcmk)


async def test_stonith_without_a_fence_device_is_refused_with_the_reason(
    pcmk: PacemakerCluster, three: LabExample
) -> None:
    client = PacemakerClient(options(pcmk["alpha"]))
    try:
        with pytest.raises(ControlError) as caught:
            await client.call("stonith", node="bravo")
        assert caught.value.code == "refused"
        assert caught.value.message == (
            "no fence device is configured (stonith_admin would fail: No such device)"
        )
        with pytest.raises(ControlError, match="refusing to fence alpha: it is this node"):
            await client.call("stonith", node="alpha")
    finally:
        client.close()


async def test_a_node_crash_shows_as_a_death_and_a_recovery_in_the_timeline(
    pcmk: PacemakerCluster, three: LabExample
) -> None:
    app = PacemakerApp(options(pcmk["alpha"]))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await attached(app, pilot)
            pcmk.crash("bravo")

            def recovered() -> bool:
                return any(k == "recovery" for k, _ in timeline(app))

            await until(pilot, recovered, 60)
            rows = timeline(app)
            death = ("death", "bravo — left the cluster: lost from the corosync membership; "
                     "it ran rg-hbmark-ready")  # fmt: skip
            assert death in rows, rows
            [recovery] = [t for k, t in rows if k == "recovery"]
            where = held_by(app, "rg-hbmark-ready")
            assert recovery == f"{where} rg-hbmark-ready — recovered on {where} after bravo died"
            assert rows.index(death) < rows.index(("recovery", recovery))
            assert "bravo ✖ dead" in app.query_one(LinksPanel).first_column()
            assert "2/3 nodes up" in (app.picture.summary if app.picture else "")
            lines = app.query_one(LogPanel).lines
            assert any("corosync [KNET]" in line and "is down" in line for line in lines)
    finally:
        pcmk.restart("bravo")
        pcmk.wait_ready(90, expect=list(NODES))
        back_home(pcmk)


async def test_stonith_from_the_console_resets_the_node_for_real(
    pcmk: PacemakerCluster, three: LabExample
) -> None:
    """A real fence device (the lab's power switch behind ``external/labswitch``): the
    typed name is checked, stonith_admin resets bravo, the timeline says so."""
    fencing = LabFencing(pcmk)
    fencing.enable()
    app = PacemakerApp(options(pcmk["alpha"]))
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await attached(app, pilot)
            await until(pilot, lambda: "STONITH external/labswitch" in app.picture.summary)  # type: ignore[union-attr]
            await pilot.press("S")
            await until(pilot, lambda: isinstance(app.screen, PacemakerStonithModal))
            await pilot.press(*"brav", "enter")  # a typo: cancelled, nothing sent
            await until(pilot, lambda: not isinstance(app.screen, PacemakerStonithModal))
            said = [n.message for n in app._notifications]
            refusal = "refused: 'brav' is not a cluster node (alpha, bravo, charlie)"
            assert f"{refusal}; nothing was sent" in said, said
            await pilot.press("S")
            await until(pilot, lambda: isinstance(app.screen, PacemakerStonithModal))
            await pilot.press(*"bravo", "enter")  # the cursor is in the name field
            await until(pilot, lambda: any(k == "fence" for k, _ in timeline(app)), 60)
            await until(
                pilot, lambda: any("stonith bravo: done" in t for _k, t in timeline(app)), 30
            )
            rows = timeline(app)
            [fence] = [t for k, t in rows if k == "fence"]
            assert fence.startswith("bravo — fenced: reboot by "), fence
            assert any(k == "death" and t.startswith("bravo — ") for k, t in rows), rows
            assert any("stonith bravo: accepted — bravo is rebooted by a fence device" in t
                       for _k, t in rows)  # fmt: skip
        # the switch really cut bravo's power, and nobody else's; Pacemaker may reset it
        # a second time on its own when the node it saw leave was not yet known clean
        resets = fencing.resets()
        assert resets and set(resets) == {"bravo"}, resets
    finally:
        pcmk.restart("bravo")
        pcmk.wait_ready(90, expect=list(NODES))
        fencing.disable()
        back_home(pcmk)


# -- a real terminal, the console inside alpha ---------------------------------------

SERVER = f"hatui-pcmk-{os.getpid()}"


def tmux(*args: str) -> str:
    result = subprocess.run(
        ["tmux", "-L", SERVER, "-f", "/dev/null", *args], capture_output=True, text=True
    )
    return result.stdout


def wait_screen(*texts: str, timeout: float = 40.0) -> str:
    deadline = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < deadline:
        shown = tmux("capture-pane", "-p", "-t", "pcmk")
        if all(text in shown for text in texts):
            return shown
        time.sleep(0.3)
    raise AssertionError(f"{texts} never all appeared; screen was:\n{shown}")


@pytest.fixture
def terminal(pcmk: PacemakerCluster) -> Iterator[None]:
    yield
    tmux("kill-server")


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_console_inside_the_node_in_a_terminal(
    pcmk: PacemakerCluster, three: LabExample, terminal: None, size: tuple[int, int]
) -> None:
    command = shlex.join(inside_argv(pcmk["alpha"]))
    width, height = size
    tmux("new-session", "-d", "-s", "pcmk", "-x", str(width), "-y", str(height), command)
    tmux("set", "-s", "escape-time", "0")
    shown = wait_screen("3/3 nodes up", "link0 knet", "rg-hbweb", "s Standby", "S STONITH")
    assert "DC " in shown and "quorate" in shown
    assert "● running here (alpha)" in shown
    assert "charlie ● active" in shown
    tmux("send-keys", "-t", "pcmk", "q")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and tmux("list-sessions"):
        time.sleep(0.2)
    assert not tmux("list-sessions"), "the console did not exit on q"


def test_once_inside_the_node_prints_the_picture(pcmk: PacemakerCluster, three: LabExample) -> None:
    argv = inside_argv(pcmk["alpha"], "--once")
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "3/3 nodes up" in text and "this node alpha (active)" in text
    assert "node / link       state  latency" in text
    assert "rg-hbweb · home alpha · ● running here (alpha)" in text


# -- served to a browser ----------------------------------------------------------------


def served_consoles() -> list[int]:
    """Pids of the read-only Pacemaker consoles ``hatui serve --pacemaker`` runs."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0") if entry.name.isdigit() else []
        except OSError:
            continue
        if b"hatui" in argv and b"--pacemaker" in argv and b"--read-only" in argv:
            pids.append(int(entry.name))
    return pids


@pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed")
@pytest.mark.skipif(not serve_available(), reason="textual-serve is not installed")
async def test_served_to_a_browser_each_tab_gets_a_read_only_pacemaker_console(
    pcmk: PacemakerCluster, three: LabExample, tmp_path: Path
) -> None:
    """``hatui serve --pacemaker`` once ran the console in its own terminal instead of
    serving it; now the page draws a console attached to alpha, which ends with the tab."""
    alpha, port = pcmk["alpha"], free_localhost_port()
    argv = [sys.executable, "-m", "hatui", "serve", "--pacemaker", "--port", str(port),
            "--pcmk-exec", shlex.join(alpha.nsenter_argv([])),
            "--pcmk-log", str(alpha.pacemaker_log)]  # fmt: skip
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)  # fmt: skip
    try:
        await asyncio.to_thread(fetch, f"http://127.0.0.1:{port}/")
        (tmp_path / "profile").mkdir()
        async with browser(tmp_path / "profile") as chrome:
            await chrome.call("Page.navigate", url=f"http://localhost:{port}/")
            drawn = "document.body.classList.contains('-first-byte')"
            for _ in range(300):
                if await chrome.evaluate(drawn) and served_consoles():
                    break
                await asyncio.sleep(0.1)
            assert await chrome.evaluate(drawn), "the console never drew in the page"
            assert len(served_consoles()) == 1
            await asyncio.sleep(3)  # a crm_mon poll or two: the picture is filled
            await chrome.screenshot(tmp_path / "served-pacemaker.png")
            chrome.kill()
            for _ in range(100):
                if not served_consoles():
                    break
                await asyncio.sleep(0.05)
            assert not served_consoles(), "the tab's console outlived the browser by 5 s"
        assert server.poll() is None
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
