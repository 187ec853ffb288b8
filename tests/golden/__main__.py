"""``python -m tests.golden [--update] [NAME...]``: replay scenarios, show diffs.

Without ``--update`` every difference is printed as a unified diff (expected = the
file, actual = today's policy) and the exit status is 1. With ``--update`` the files
are rewritten with today's output: do it only after reading the diff and deciding the
new behaviour is right (``git diff tests/golden`` shows what changed).
"""

from __future__ import annotations

import argparse
import sys
import time

from tests.golden import runner
from tests.golden.scenario import ScenarioError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.golden", description=__doc__)
    parser.add_argument("names", nargs="*", help="scenario names (default: all)")
    parser.add_argument("--update", action="store_true", help="rewrite the expectations")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        paths = runner.find(args.names)
        outcomes = [runner.replay(path) for path in paths]
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = [o for o in outcomes if not o.passed]
    refused = 0
    for outcome in failed:
        if not args.update:
            sys.stdout.write(outcome.diff())
            continue
        try:
            runner.update(outcome)
            print(f"updated {outcome.scenario.name}")
        except ScenarioError as exc:
            refused += 1
            sys.stdout.write(outcome.diff())
            print(f"error: {exc}", file=sys.stderr)
    took = time.monotonic() - started
    verb = "updated" if args.update else "differ"
    count = len(failed) - refused
    print(f"{len(outcomes)} scenarios, {count} {verb}, {took:.1f} s", file=sys.stderr)
    return 1 if (failed and not args.update) or refused else 0


if __name__ == "__main__":
    sys.exit(main())
