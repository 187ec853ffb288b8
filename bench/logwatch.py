"""Log watcher benchmark: time to open a big log, and sustained follow rate.

Generates a Heartbeat-style log of ``--size`` bytes in a private temp dir (default
1 GiB; deleted afterwards), opens it in ``hatui logs`` headless and prints the time
until the whole file is indexed and the tail is on screen. Then a writer thread appends
``--rate`` lines/s for ``--seconds`` while the viewer follows, and the benchmark prints
the lines/s the viewer indexed and the worst gap between UI timer ticks (a frozen UI
would show a gap of seconds).

Usage: python bench/logwatch.py [--size BYTES] [--rate LINES_PER_S] [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hatui.logs.screen import LogWatcherApp  # noqa: E402

LINE = "Nov 25 13:05:33 alpha heartbeat: [4242]: info: Link bravo:eth0 up. seq {n:010d}\n"


def generate(path: Path, size: int) -> int:
    """Write about ``size`` bytes of log lines; returns the line count."""
    block_lines = 10_000
    lines = 0
    with path.open("w") as out:
        while out.tell() < size:
            out.write("".join(LINE.format(n=lines + i) for i in range(block_lines)))
            lines += block_lines
    return lines


def writer(path: Path, rate: int, seconds: float, stop: threading.Event) -> int:
    """Append ``rate`` lines/s in 10 ms batches; returns how many were written."""
    written = 0
    start = time.monotonic()
    with path.open("a") as out:
        while not stop.is_set() and time.monotonic() - start < seconds:
            due = int((time.monotonic() - start) * rate)
            if due > written:
                out.write("".join(LINE.format(n=written + i) for i in range(due - written)))
                out.flush()
                written = due
            time.sleep(0.01)
    return written


async def run(path: Path, lines: int, size: int, rate: int, seconds: float) -> None:
    """Open, wait for the index, then follow under load."""
    app = LogWatcherApp([path])
    started = time.monotonic()
    async with app.run_test(size=(120, 30)) as pilot:
        while not app.scanned:
            await pilot.pause(0.02)
        opened = time.monotonic() - started
        size_mib = size / 2**20
        print(f"open: {lines:,} lines, {size_mib:,.0f} MiB indexed and "
              f"tail shown in {opened:.2f} s")  # fmt: skip
        ticks: list[float] = []
        app.set_interval(0.05, lambda: ticks.append(time.monotonic()))
        before = len(app.view.source)
        stop = threading.Event()
        thread = threading.Thread(target=writer, args=(path, rate, seconds, stop))
        follow_start = time.monotonic()
        thread.start()
        while thread.is_alive():
            await pilot.pause(0.1)
        deadline = time.monotonic() + 10
        target = before + int(rate * seconds) - rate // 50
        while len(app.view.source) < target and time.monotonic() < deadline:
            await pilot.pause(0.05)
        took = time.monotonic() - follow_start
        gained = len(app.view.source) - before
        gaps = [b - a for a, b in itertools.pairwise(ticks)]
        worst_ms = max(gaps, default=0) * 1000
        print(f"follow: {gained:,} lines in {took:.2f} s = {gained / took:,.0f} lines/s "
              f"(writer target {rate:,}/s); worst UI tick gap {worst_ms:.0f} ms")  # fmt: skip


def main() -> int:
    """Parse the arguments, generate, measure, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1 << 30, help="bytes (default 1 GiB)")
    parser.add_argument("--rate", type=int, default=50_000, help="lines/s while following")
    parser.add_argument("--seconds", type=float, default=5.0, help="follow duration")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hatui-logbench-") as tmp:
        path = Path(tmp) / "ha-log"
        t0 = time.monotonic()
        lines = generate(path, args.size)
        print(f"generated {path} ({args.size / 2**20:,.0f} MiB) in {time.monotonic() - t0:.1f} s")
        asyncio.run(run(path, lines, path.stat().st_size, args.rate, args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
