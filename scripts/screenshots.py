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
from tests.hatui.sample import LOGS, RECEIVED_AT, TIMELINE, status  # noqa: E402
from tests.hatui.test_snapshots import failover_status, make_app  # noqa: E402

logger = logging.getLogger(__name__)

SIZE = (100, 30)
PNG_WIDTH = 1400
Scenario = Callable[[Pilot[None]], Awaitable[None]]


async def _nothing(pilot: Pilot[None]) -> None:
    await pilot.pause()


async def _stonith(pilot: Pilot[None]) -> None:
    await pilot.press("S")
    await pilot.pause()
    await pilot.press(*"brav")
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
        {"time": start + 41, "kind": "takeover", "node": "alpha",
         "group": "demo-web", "reason": "bravo dead"},
        {"time": start + 95, "kind": "standby", "node": "alpha",
         "group": "demo-db", "reason": "operator root: hb_standby all"},
    ]  # fmt: skip
    return HaTuiApp(status=status(), clock=lambda: RECEIVED_AT, logs=LOGS, timeline=events)


SCENARIOS: dict[str, tuple[Callable[[], HaTuiApp], Scenario]] = {
    "main": (make_app, _nothing),
    "failover": (lambda: make_app(failover_status()), _nothing),
    "stonith": (make_app, _stonith),
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


def main() -> int:
    """Write every scenario to OUT_DIR (default ``screenshots/``)."""
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "screenshots"
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ["TZ"] = "UTC"
    time.tzset()
    for name in SCENARIOS:
        svg = asyncio.run(capture(name, out_dir))
        print(f"{svg} {to_png(svg)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
