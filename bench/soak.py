"""Run the soak scenarios and print the table (``make soak``; needs root).

Usage: ``python -m bench.soak [s01 s10 ...]`` (default: every scenario, full durations).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> int:
    """Run the named scenarios (all by default); exit 1 when one failed."""
    os.environ.setdefault("HATUI_SOAK", "1")
    from tests.soak.scenarios import HEADER, SCENARIOS, ScenarioResult

    names = argv or list(SCENARIOS)
    rows: list[ScenarioResult] = []
    for name in names:
        try:
            result = SCENARIOS[name]()
        except Exception as exc:  # a scenario that crashes is a failed row, not a crash
            result = ScenarioResult(name, details=[f"error: {exc!r}"])
        rows.append(result)
        print(result.row(), flush=True)
    print("\n" + HEADER)
    for result in rows:
        print(result.row())
        for line in result.details:
            print(f"    {line}")
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
