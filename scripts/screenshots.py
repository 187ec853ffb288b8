"""Regenerate ``screenshots/*.svg`` and ``*.png`` of the operator console.

The console is fed the same fixed status document as the snapshot tests, so the
pictures are reproducible. PNGs come from cairosvg (or ``rsvg-convert`` when cairosvg is
missing) after swapping Textual's "Fira Code" for "DejaVu Sans Mono": without that font
a converter falls back to a proportional face and the cells no longer line up.

Usage: python scripts/screenshots.py [OUT_DIR]
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual.pilot import Pilot  # noqa: E402

from hatui.app import HaTuiApp  # noqa: E402
from tests.hatui.sample import LOGS, RECEIVED_AT, TIMELINE, status, with_stonith  # noqa: E402
from tests.hatui.test_snapshots import (  # noqa: E402
    FAILOVER_TIMELINE,
    failover_status,
    make_app,
)

logger = logging.getLogger(__name__)

SIZE = (80, 24)
LOG_SIZE = (100, 30)
PNG_WIDTH = 1400
Scenario = Callable[[Pilot[None]], Awaitable[None]]


async def _nothing(pilot: Pilot[None]) -> None:
    await pilot.pause()


async def _stonith(pilot: Pilot[None]) -> None:
    """The dialog after a mistyped name: still open, with the refusal shown."""
    await pilot.press("S")
    await pilot.pause(0.2)
    pilot.app.screen.query_one("#node-name").focus()
    await pilot.press(*"brav", "enter")
    await pilot.pause()


async def _timeline(pilot: Pilot[None]) -> None:
    await pilot.press("n", "l")
    await pilot.pause()


def _timeline_app() -> HaTuiApp:
    start = float(TIMELINE[0]["time"])
    events = [
        *TIMELINE,
        {"time": start + 40, "kind": "death", "node": "bravo",
         "reason": "no heartbeat on any link for 1000 ms (deadtime)"},
        {"time": start + 40, "kind": "fence", "node": "bravo",
         "reason": "fencing bravo before taking over: bravo was declared dead"},
        {"time": start + 42, "kind": "takeover", "node": "alpha",
         "group": "demo-web", "reason": "bravo dead, fenced"},
        {"time": start + 61, "kind": "reload", "node": "alpha",
         "reason": "configuration reloaded, applied: warntime 600ms | refused: udpport "
         "694 -> 695 needs a restart"},
        {"time": start + 74, "kind": "stall", "node": "alpha",
         "reason": "engine was not scheduled for 1850 ms (deadtime 1000 ms)"},
        {"time": start + 95, "kind": "standby", "node": "alpha",
         "group": "demo-db", "reason": "operator root: hb_standby all"},
    ]  # fmt: skip
    doc = with_stonith(status())
    return HaTuiApp(status=doc, clock=lambda: RECEIVED_AT, logs=LOGS, timeline=events)


SCENARIOS: dict[str, tuple[Callable[[], HaTuiApp], Scenario]] = {
    "main": (make_app, _nothing),
    "failover": (lambda: make_app(failover_status(), FAILOVER_TIMELINE), _nothing),
    "stonith": (lambda: make_app(with_stonith(status())), _stonith),
    "timeline": (_timeline_app, _timeline),
}


async def capture(name: str, out_dir: Path) -> Path:
    """Run one scenario headless and save its SVG."""
    factory, scenario = SCENARIOS[name]
    app = factory()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        await scenario(pilot)
        await pilot.pause(0.2)
        svg = out_dir / f"{name}.svg"
        svg.write_text(app.export_screenshot(title=f"hatui — {name}"))
    return svg


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
    import tempfile

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

    ``--console-only`` skips the wizard and log-watcher pictures (quick iteration).
    """
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    out_dir = Path(args[0]) if args else ROOT / "screenshots"
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ["TZ"] = "UTC"
    time.tzset()
    for name in SCENARIOS:
        svg = asyncio.run(capture(name, out_dir))
        print(f"{svg} {to_png(svg)}")
    if "--console-only" in sys.argv:
        return 0
    for svg in [*asyncio.run(capture_wizard(out_dir)), *asyncio.run(capture_logs(out_dir))]:
        print(f"{svg} {to_png(svg)}")
    shutil.rmtree(out_dir / "wizard-etc", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
