"""Screenshots of ``hatui --pacemaker`` from output captured on the real lab cluster.

The console is fed what node alpha's tools said while bravo crashed and its group
recovered on another node (``tests/hatui/pacemaker/fixtures``, written by
``scripts/capture_pacemaker.py`` from a running three-node Corosync + Pacemaker lab):
the document the translator makes of crm_mon's XML, the timeline the tracker derives
from the captured series, and the captured log lines. Real data, reproducible, no root.
``scripts/screenshots.py`` calls this; alone: ``python scripts/screenshots_pacemaker.py``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hatui.backends.pacemaker.app import PacemakerApp  # noqa: E402
from tests.hatui.pacemaker.captured import crash_story  # noqa: E402

SIZES = {"pacemaker": (80, 24), "pacemaker-wide": (120, 40)}


async def capture_pacemaker(out_dir: Path) -> list[Path]:
    """One SVG per size: after bravo's crash, as alpha's console shows it."""
    doc, timeline, logs = crash_story()
    received = time.monotonic()
    shots = []
    for name, size in SIZES.items():
        app = PacemakerApp(None, status=doc, clock=lambda: received, logs=logs, timeline=timeline)
        async with app.run_test(size=size) as pilot:
            await pilot.pause(0.3)
            svg = out_dir / f"{name}.svg"
            svg.write_text(app.export_screenshot(title="hatui --pacemaker — bravo crashed"))
            shots.append(svg)
    return shots


def main() -> int:
    """Write the Pacemaker pictures (SVG and PNG) to OUT_DIR (default ``screenshots/``)."""
    from scripts.screenshots import to_png

    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "screenshots"
    out_dir.mkdir(parents=True, exist_ok=True)
    os.environ["TZ"] = "UTC"
    time.tzset()
    for svg in asyncio.run(capture_pacemaker(out_dir)):
        print(f"{svg} {to_png(svg)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
