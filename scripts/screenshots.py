"""Regenerate ``screenshots/*.svg`` and ``*.png`` of the operator console.

The console pictures come from the running demo: two real engines on loopback
(``hatui.demo.DemoCluster``) and the demo console attached to them (headless, through
Textual's Pilot), driven with the same keys a person would press: a link cut, a
standby, the STONITH dialog with a typed name, the kill of the attached node. Times
and ages are therefore those of the run. ``--browser`` adds ``serve.png``: ``hatui
serve`` in headless Chromium (needs chromium and textual-serve).

PNGs come from cairosvg (or ``rsvg-convert`` when cairosvg is missing) after swapping
Textual's "Fira Code" for "DejaVu Sans Mono": without that font a converter falls
back to a proportional face and the cells no longer line up.

Usage: python scripts/screenshots.py [OUT_DIR] [--console-only] [--browser]
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual.pilot import Pilot  # noqa: E402

from hatui.demo import DemoApp, DemoCluster  # noqa: E402
from hatui.screens.modals import ChoiceModal, ConfirmModal, StonithModal  # noqa: E402
from hatui.viewmodel import LinkState  # noqa: E402
from scripts.screenshots_pacemaker import capture_pacemaker  # noqa: E402

logger = logging.getLogger(__name__)

SIZE = (80, 24)
WIDE = (120, 40)
LOG_SIZE = (100, 30)
PNG_WIDTH = 1400
WAIT_S = 60.0


async def until(pilot: Pilot[Any], check: Callable[[], Any], timeout: float = WAIT_S) -> None:
    """Let the console run until ``check()`` holds (fail loudly: a picture of the wrong
    moment is worse than none)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            where = "".join(traceback.format_stack(limit=3)[:1])
            raise SystemExit(f"screenshots: gave up waiting at\n{where}")
        await pilot.pause(0.1)


def summary(app: DemoApp) -> str:
    return app.picture.summary if app.picture else ""


def group_title(app: DemoApp) -> str:
    chains = app.picture.chains if app.picture else ()
    return chains[0].title if chains else ""


def save(app: DemoApp, out_dir: Path, name: str, title: str) -> Path:
    svg = out_dir / f"{name}.svg"
    svg.write_text(app.export_screenshot(title=f"hatui demo — {title}"))
    return svg


async def press_choice(pilot: Pilot[Any], app: DemoApp, tabs: int) -> None:
    """In a choice or confirm dialog (Cancel focused): Tab ``tabs`` times, then Enter."""
    await until(pilot, lambda: isinstance(app.screen, ChoiceModal | ConfirmModal))
    await pilot.pause(0.2)
    await pilot.press(*(["tab"] * tabs), "enter")


async def capture_demo(out_dir: Path) -> list[Path]:
    """The console scenes, from a live demo cluster."""
    cluster = DemoCluster()
    shots: list[Path] = []
    try:
        cluster.start_all()
        app = DemoApp(cluster)
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app._connection.state is LinkState.CONNECTED)
            await until(pilot, lambda: "running here (alpha)" in group_title(app))
            await pilot.press("c")  # cut the ucast link, restore it: a late heartbeat
            await press_choice(pilot, app, 2)
            await until(pilot, lambda: "DEGRADED" in summary(app))
            await pilot.pause(1.5)
            shots.append(save(app, out_dir, "degraded", "a cut link is a warning"))
            await pilot.press("c")
            await press_choice(pilot, app, 2)
            await until(pilot, lambda: "cluster OK" in summary(app))
            await pilot.pause(2.5)
            shots.append(save(app, out_dir, "main", "80x24"))
            await pilot.resize_terminal(*WIDE)
            await pilot.pause(1.0)
            shots.append(save(app, out_dir, "wide", "120x40"))
            await pilot.resize_terminal(*SIZE)
            await pilot.press("s")  # standby: the group runs on bravo, stopped here
            await press_choice(pilot, app, 1)
            await until(pilot, lambda: "running on bravo" in group_title(app))
            await pilot.pause(1.0)
            shots.append(save(app, out_dir, "standby", "running on bravo, stopped here"))
            await pilot.press("t")  # takeover: home again
            await press_choice(pilot, app, 1)
            await until(pilot, lambda: "running here (alpha)" in group_title(app))
            await pilot.press("S")
            await until(pilot, lambda: isinstance(app.screen, StonithModal))
            await pilot.press(*"brav")  # the name field has the keys
            await pilot.pause(0.3)
            shots.append(save(app, out_dir, "stonith", "STONITH: type the name"))
            await pilot.press("escape")
            await pilot.press("k")  # kill the attached node: the console follows bravo
            await press_choice(pilot, app, 1)
            await until(pilot, lambda: "this node bravo" in summary(app))
            await until(pilot, lambda: "running here (bravo)" in group_title(app))
            await pilot.pause(1.0)
            shots.append(save(app, out_dir, "failover", "alpha killed, bravo took over"))
            await pilot.press("n", "l")
            await pilot.pause(0.5)
            shots.append(save(app, out_dir, "timeline", "the timeline alone"))
    finally:
        cluster.stop()
    return shots


async def capture_browser(out_dir: Path) -> list[Path]:
    """``hatui serve`` in headless Chromium, attached to a live demo engine."""
    from tests.hatui.browser import browser, chromium_path
    from tests.hatui.test_serve import fetch, free_localhost_port

    if chromium_path() is None:
        raise SystemExit("screenshots: --browser needs chromium")
    cluster = DemoCluster()
    server: subprocess.Popen[bytes] | None = None
    try:
        cluster.start_all()
        port = free_localhost_port()
        socket_path = str(cluster.socket_path("alpha"))
        server = subprocess.Popen(
            [sys.executable, "-m", "hatui", "serve", "--socket", socket_path, "--port", str(port)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        await asyncio.to_thread(fetch, f"http://127.0.0.1:{port}/")
        await asyncio.sleep(14)  # initdead, then the group starts on alpha
        with tempfile.TemporaryDirectory() as profile:
            async with browser(Path(profile), size=(1400, 860)) as chrome:
                await chrome.call("Page.navigate", url=f"http://localhost:{port}/")
                await asyncio.sleep(4)
                return [await chrome.screenshot(out_dir / "serve.png")]
    finally:
        if server is not None:
            server.terminate()
            server.wait(10)
        cluster.stop()


def to_png(svg: Path) -> Path:
    """Convert with the font fix; cairosvg first, rsvg-convert as the fallback."""
    text = svg.read_text().replace("Fira Code", "DejaVu Sans Mono")
    png = svg.with_suffix(".png")
    try:
        import cairosvg  # type: ignore[import-untyped]

        cairosvg.svg2png(bytestring=text.encode(), write_to=str(png), output_width=PNG_WIDTH)
        return png
    except ImportError:
        converter = shutil.which("rsvg-convert")
        if converter is None:
            raise SystemExit("need cairosvg (pip install cairosvg) or rsvg-convert") from None
    fixed = svg.with_suffix(".fixed.svg")
    fixed.write_text(text)
    try:
        subprocess.run([converter, "-w", str(PNG_WIDTH), "-o", str(png), str(fixed)], check=True)
    finally:
        fixed.unlink()
    return png


WIZARD_SIZE = (80, 24)
LOG_FIXTURES = ROOT / "tests" / "logs" / "fixtures"
"""Logs real Heartbeat 3.0.6 (alpha) and our engine (bravo) wrote in one run."""


async def capture_wizard(out_dir: Path) -> list[Path]:
    """One SVG per wizard step (80x24, as an operator over SSH would see it)."""
    from tests.wizard.helpers import make_app, next_step, walk

    app = make_app(out_dir / "wizard-etc")
    shots: list[Path] = []
    async with app.run_test(size=WIZARD_SIZE) as pilot:
        groups = "alpha IPaddr2::10.99.0.10/24/eth0 Filesystem::/dev/sdb1::/srv::ext4"
        await walk(pilot, mcast="eth0 239.0.0.42 694 1 0", ucast="eth0 10.99.0.1 10.99.0.2",
                   groups=groups)  # fmt: skip
        for _ in range(len(app.steps) - 1):
            await pilot.press("pageup")
        for number in range(1, len(app.steps) + 1):
            await pilot.pause(0.2)
            step_id = str(app.step.id)
            name = f"wizard-{number}-{step_id.removeprefix('step-')}"
            svg = out_dir / f"{name}.svg"
            svg.write_text(app.export_screenshot(title=f"hatui setup — step {number}"))
            shots.append(svg)
            await next_step(pilot)
    return shots


async def capture_logs(out_dir: Path) -> list[Path]:
    """Two nodes' classic-form logs merged by time; then filtered, with a search."""
    from hatui.logs.screen import LogWatcherApp

    shots: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / "alpha-ha-log", Path(tmp) / "bravo-ha-log"]
        shutil.copy(LOG_FIXTURES / "classic-heartbeat-alpha-ha-log", paths[0])
        shutil.copy(LOG_FIXTURES / "classic-hatui-bravo-ha-log", paths[1])
        app = LogWatcherApp(paths, watch_files=False)
        async with app.run_test(size=LOG_SIZE) as pilot:
            while not app.scanned:
                await pilot.pause(0.05)
            await pilot.press("home", "pagedown", "pagedown")  # where the two interleave
            await pilot.pause(0.3)
            shots.append(out_dir / "logs.svg")
            shots[-1].write_text(app.export_screenshot(title="hatui logs — two nodes merged"))
            app.query_one("#search").value = "bravo"  # type: ignore[attr-defined]
            app.query_one("#filter").value = "level:WARN"  # type: ignore[attr-defined]
            await pilot.pause(0.5)
            shots.append(out_dir / "logs-filtered.svg")
            shots[-1].write_text(app.export_screenshot(title="hatui logs — WARN, search"))
    return shots


def main() -> int:
    """Write every scenario to OUT_DIR (default ``screenshots/``).

    ``--console-only`` skips the wizard and log-watcher pictures (quick iteration);
    ``--browser`` adds the served console in Chromium (``serve.png``).
    """
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out_dir = Path(args[0]) if args else ROOT / "screenshots"
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ["TZ"] = "UTC"
    time.tzset()
    for svg in asyncio.run(capture_demo(out_dir)):
        print(f"{svg} {to_png(svg)}")
    for svg in asyncio.run(capture_pacemaker(out_dir)):  # hatui --pacemaker (captured data)
        print(f"{svg} {to_png(svg)}")
    if "--browser" in sys.argv:
        print(*asyncio.run(capture_browser(out_dir)))
    if "--console-only" in sys.argv:
        return 0
    for svg in [*asyncio.run(capture_wizard(out_dir)), *asyncio.run(capture_logs(out_dir))]:
        print(f"{svg} {to_png(svg)}")
    shutil.rmtree(out_dir / "wizard-etc", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
