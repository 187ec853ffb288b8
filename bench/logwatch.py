"""Log watcher benchmark: time to open a big log (or several, merged), and follow rate.

Generates ``--files`` Heartbeat-style logs of ``--size`` bytes each in a private temp
dir (default one file of 1 GiB; deleted afterwards). Every file covers the same hours,
``--per-second`` lines per second, so merged files interleave second by second. It opens
them in ``hatui logs`` headless and prints when the end was on screen and when every
file was fully indexed (and merged). Then one writer thread per file appends, together,
``--rate`` lines/s for ``--seconds`` while the viewer follows; it prints the lines/s
that reached the screen and the worst gap between UI timer ticks during the open and
during the follow (a frozen UI shows a gap of seconds).

Usage: python bench/logwatch.py [--size BYTES] [--files N] [--rate LINES_PER_S] [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hatui.logs.screen import LogWatcherApp  # noqa: E402

LINE = "{stamp} {host} heartbeat: [4242]: info: Link bravo:eth0 up. seq {n:010d}\n"
HOSTS = ("alpha", "bravo", "charlie", "delta")


def stamp_of(day: int, second: int) -> str:
    """``Nov DD HH:MM:SS`` for ``second`` seconds after midnight of November ``day``."""
    return f"Nov {day:2d} {second // 3600 % 24:02d}:{second // 60 % 60:02d}:{second % 60:02d}"


def generate(path: Path, size: int, host: str, per_second: int) -> int:
    """Write about ``size`` bytes, ``per_second`` lines a second from midnight on Nov 25."""
    lines = 0
    with path.open("w") as out:
        while out.tell() < size:
            stamp = stamp_of(25, lines // per_second)
            out.write("".join(LINE.format(stamp=stamp, host=host, n=lines + i)
                              for i in range(per_second)))  # fmt: skip
            lines += per_second
    return lines


def writer(path: Path, host: str, rate: float, seconds: float, counts: list[int]) -> None:
    """Append ``rate`` lines/s in 10 ms batches, stamped with the time of day on Nov 26."""
    written = 0
    start = time.monotonic()
    with path.open("a") as out:
        while time.monotonic() - start < seconds:
            due = int((time.monotonic() - start) * rate)
            if due > written:
                now = time.localtime()
                stamp = stamp_of(26, now.tm_hour * 3600 + now.tm_min * 60 + now.tm_sec)
                out.write("".join(LINE.format(stamp=stamp, host=host, n=written + i)
                                  for i in range(due - written)))  # fmt: skip
                out.flush()
                written = due
            time.sleep(0.01)
    counts.append(written)


def worst_gap_ms(ticks: Sequence[float]) -> float:
    """The longest interval between two UI ticks, in ms."""
    return max((b - a for a, b in itertools.pairwise(ticks)), default=0.0) * 1000


async def measure(paths: list[Path], lines: int, rate: int, seconds: float) -> None:
    """Open, wait for the full index (and merge), then follow under load."""
    ticks: list[float] = []
    app = LogWatcherApp(paths)
    started = time.monotonic()
    async with app.run_test(size=(120, 30)) as pilot:
        app.set_interval(0.05, lambda: ticks.append(time.monotonic()))
        while not app.scanned:
            await pilot.pause(0.02)
        first = (app.first_rows_at or started) - started
        done = time.monotonic() - started
        size_mib = sum(p.stat().st_size for p in paths) / 2**20
        merged = f", merged ({app.feed.display.runs:,} runs)" if len(paths) > 1 else ""  # type: ignore[attr-defined]
        print(f"open: {len(paths)} file(s), {lines:,} lines, {size_mib:,.0f} MiB: end on screen "
              f"in {first:.2f} s; all indexed{merged} in {done:.2f} s; "
              f"worst UI tick gap {worst_gap_ms(ticks):.0f} ms")  # fmt: skip
        ticks.clear()
        before = app.view.rows
        counts: list[int] = []
        threads = [
            threading.Thread(target=writer, args=(p, h, rate / len(paths), seconds, counts))
            for p, h in zip(paths, HOSTS, strict=False)
        ]
        follow_start = time.monotonic()
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            await pilot.pause(0.1)
        target = before + sum(counts)
        deadline = time.monotonic() + 10
        while app.view.rows < target and time.monotonic() < deadline:
            await pilot.pause(0.05)
        took = time.monotonic() - follow_start
        gained = app.view.rows - before
        print(f"follow: {gained:,} of {sum(counts):,} lines on screen in {took:.2f} s = "
              f"{gained / took:,.0f} lines/s (writers' target {rate:,}/s); "
              f"worst UI tick gap {worst_gap_ms(ticks):.0f} ms")  # fmt: skip


def main() -> int:
    """Parse the arguments, generate, measure, clean up."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1 << 30, help="bytes per file (1 GiB)")
    parser.add_argument("--files", type=int, default=1, choices=range(1, len(HOSTS) + 1))
    parser.add_argument("--per-second", type=int, default=500, help="generated lines a second")
    parser.add_argument("--rate", type=int, default=50_000, help="lines/s while following")
    parser.add_argument("--seconds", type=float, default=5.0, help="follow duration")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hatui-logbench-") as tmp:
        paths = [Path(tmp) / f"ha-log.{host}" for host in HOSTS[: args.files]]
        t0 = time.monotonic()
        lines = sum(
            generate(p, args.size, h, args.per_second) for p, h in zip(paths, HOSTS, strict=False)
        )
        total = sum(p.stat().st_size for p in paths) / 2**20
        print(f"generated {len(paths)} file(s), {total:,.0f} MiB in {time.monotonic() - t0:.1f} s")
        asyncio.run(measure(paths, lines, args.rate, args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
