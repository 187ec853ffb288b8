"""Run the soak scenarios and print the table (``make soak``; needs root).

Usage: ``python -m bench.soak [s01 s10 ...]`` (default: every scenario of §6, full
durations). Scenarios that cannot run here print SKIP with the reason.
"""

from __future__ import annotations

import os
import platform
import sys
import time


def main(argv: list[str]) -> int:
    """Run the named scenarios (all by default); exit 1 when one failed."""
    os.environ.setdefault("HATUI_SOAK", "1")
    from tests.soak.scenarios import HEADER, ScenarioResult
    from tests.soak.table import order, run_one

    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    unknown = [name for name in argv if name not in order()]
    if unknown:
        print(f"unknown scenario(s): {' '.join(unknown)}; known: {' '.join(order())}")
        return 2
    names = argv or order()
    rows: list[ScenarioResult] = []
    started = time.monotonic()
    for name in names:
        t0 = time.monotonic()
        result = run_one(name)
        rows.append(result)
        print(f"{result.row()}   [{time.monotonic() - t0:.0f} s]", flush=True)
    took = time.monotonic() - started
    when = time.strftime("%Y-%m-%d %H:%M")
    print(f"\n{when}  nproc {os.cpu_count()}  kernel {platform.release()}")
    print(HEADER)
    for result in rows:
        print(result.row())
        for line in result.details:
            print(f"    {line}")
    failed = [r.name for r in rows if not r.passed and r.skipped is None]
    skipped = sum(r.skipped is not None for r in rows)
    print(
        f"\n{len(rows)} scenarios: {len(rows) - len(failed) - skipped} passed, "
        f"{len(failed)} failed, {skipped} skipped in {took / 60:.1f} min"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
