"""Operator console benchmark: engine event → on screen, and log tail throughput.

1. **Event → screen latency** (goal p95 ≤ 100 ms). Starts the two-engine demo cluster
   on loopback (no root), attaches the console to alpha headless (``run_test``), then
   ``--trials`` times cuts and restores alpha's ucast link with the engine's
   ``debug_link`` fault injection. Each change is timestamped when the command is sent
   and again when the console's widgets show it (polled every 1 ms in the app's own
   event loop):

   * ``log``: the engine's "fault injection: link … cut" log event is in the log tail;
   * ``screen``: that line is in the log view's visible rows (the view follows, so the
     next frame paints it), or a newer line already is;
   * ``status``: the links table names the link "… cut" (a status-document field). The
     engine pushes a status document only after its next processing pass plus up to
     100 ms of coalescing, so this includes up to ~200 ms spent inside the engine;
   * ``console``: the console's own share of ``status``: from the moment the bridge
     received the first status document carrying the change to the table showing it.

   Run at 80x24 and at 120x40 (``--sizes``), one demo cluster for both.

2. **Log tail throughput** (goal: 10 000 lines/s without freezing). Feeds the console's
   real ingest path (``EngineBridge.take_event`` → batched flush → ``LogPanel``) with
   ``--rate`` log events per second for ``--seconds``, in 10 ms slices, while a 10 ms UI
   timer records its ticks. Prints lines shown vs fed, the lag of the newest line, the
   number of flushes (redraws) per second and the worst gap between UI ticks: a frozen
   UI would show a gap of seconds, a smooth one stays near the 10 ms tick.

Usage: python bench/console.py [--trials N] [--sizes 80x24,120x40] [--rate LINES_PER_S]
       [--seconds S] [--skip-latency] [--skip-log]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hatui.app import HaTuiApp  # noqa: E402
from hatui.bridge import EngineBridge, call_once  # noqa: E402
from hatui.demo import DemoCluster  # noqa: E402
from hatui.widgets.links import LinksPanel  # noqa: E402
from hatui.widgets.logtail import FollowingLog, LogPanel  # noqa: E402
from tests.hatui.sample import RECEIVED_AT, status  # noqa: E402

SIZE = (80, 24)
POLL_S = 0.001
LINK = "lo#2"


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: a value that was really measured)."""
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def describe(name: str, values: list[float]) -> str:
    """``name: n, median, p95, max`` in milliseconds."""
    return (
        f"{name:<8} n={len(values):<3} median {statistics.median(values):6.1f} ms   "
        f"p95 {percentile(values, 95):6.1f} ms   max {max(values):6.1f} ms"
    )


async def wait_until(check: Callable[[], bool], timeout: float = 5.0) -> float:
    """Poll ``check`` every millisecond; the monotonic time it first held."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the console never showed the change")
        await asyncio.sleep(POLL_S)
    return time.monotonic()


def link_cell_shows(app: HaTuiApp, text: str) -> bool:
    """True when the links table has a row named ``text`` (``lo#2 ucast cut``)."""
    return f"  {text}" in app.query_one(LinksPanel).first_column()


def record_status_arrivals(arrivals: list[tuple[float, bool]]) -> Callable[[], None]:
    """Note when the bridge receives each status document and whether LINK is cut in it.

    Wraps ``EngineBridge.take_event`` (the bridge's entry point for every engine event)
    without changing what it does; returns the function that removes the wrapper.
    """
    original = EngineBridge.take_event

    def recording(self: EngineBridge, event: dict[str, Any]) -> None:
        data = event.get("data")
        if event.get("event") == "status" and isinstance(data, dict):
            cut = any(lk.get("name") == LINK and lk.get("cut") for lk in data.get("links", []))
            arrivals.append((time.monotonic(), cut))
        original(self, event)

    EngineBridge.take_event = recording  # type: ignore[method-assign]

    def restore() -> None:
        EngineBridge.take_event = original  # type: ignore[method-assign]

    return restore


def newest_in_view(app: HaTuiApp, text: str) -> bool:
    """The newest log line contains ``text`` and lies in the view's visible rows (the
    view follows; the next frame paints it)."""
    log = app.query_one(FollowingLog)
    newest = app.query_one(LogPanel).newest
    in_view = log.scroll_y + log.scrollable_content_region.height >= log.line_count
    return text in newest and in_view


async def first_times(
    checks: dict[str, Callable[[], bool]], timeout: float = 5.0
) -> dict[str, float]:
    """Poll every check every millisecond; the monotonic time each first held."""
    deadline = time.monotonic() + timeout
    seen: dict[str, float] = {}
    while len(seen) < len(checks):
        if time.monotonic() > deadline:
            missing = sorted(set(checks) - set(seen))
            raise TimeoutError(f"the console never showed the change ({missing})")
        now = time.monotonic()
        for name, check in checks.items():
            if name not in seen and check():
                seen[name] = now
        await asyncio.sleep(POLL_S)
    return seen


async def trial_once(
    app: HaTuiApp, socket: Path, up: bool, arrivals: list[tuple[float, bool]]
) -> dict[str, float]:
    """One cut (or restore) of LINK: ms from the command to each kind of "shown"."""
    log = app.query_one(LogPanel)
    text = f"link {LINK} {'restored' if up else 'cut'}"
    before = sum(text in line for line in log.lines)
    shown = f"{LINK} ucast" if up else f"{LINK} ucast cut"
    await asyncio.sleep(random.uniform(0.15, 0.35))  # no phase lock with timers
    sent = time.monotonic()
    await call_once(socket, "debug_link", link=LINK, up=up)
    at = await first_times({
        "log": lambda: sum(text in ln for ln in log.lines) > before,
        "screen": lambda: newest_in_view(app, text) or (
            sum(text in ln for ln in log.lines) > before and text not in log.newest
            and app.query_one(FollowingLog).following
        ),
        "status": lambda: link_cell_shows(app, shown),
    })  # fmt: skip
    came = next(t for t, cut in arrivals if t >= sent and cut is not up)
    result = {kind: (when - sent) * 1000 for kind, when in at.items()}
    result["console"] = (at["status"] - came) * 1000
    return result


async def trials_at(
    cluster: DemoCluster, size: tuple[int, int], trials: int, arrivals: list[tuple[float, bool]]
) -> dict[str, list[float]]:
    """``trials`` cut+restore pairs with a console of ``size`` attached to alpha."""
    per_kind: dict[str, list[float]] = {"log": [], "screen": [], "status": [], "console": []}
    app = HaTuiApp(cluster.socket_path("alpha"))
    async with app.run_test(size=size):
        await wait_until(lambda: link_cell_shows(app, f"{LINK} ucast"), timeout=30)
        for trial in range(trials * 2):
            one = await trial_once(app, cluster.socket_path("alpha"), trial % 2 == 1, arrivals)
            for kind, value in one.items():
                per_kind[kind].append(value)
    return per_kind


async def measure_latency(
    trials: int, sizes: list[tuple[int, int]]
) -> dict[tuple[int, int], dict[str, list[float]]]:
    """Cut/restore alpha's ucast link ``trials`` times per terminal size; ms per kind."""
    cluster = DemoCluster()
    results: dict[tuple[int, int], dict[str, list[float]]] = {}
    arrivals: list[tuple[float, bool]] = []
    restore = record_status_arrivals(arrivals)
    try:
        cluster.start_all()
        for node in ("alpha", "bravo"):
            if not await cluster.wait_ready(node):
                raise SystemExit(f"{node} did not start:\n{cluster.engine_output(node)}")
        for size in sizes:
            results[size] = await trials_at(cluster, size, trials, arrivals)
    finally:
        restore()
        cluster.stop()
    return results


def log_event(number: int) -> dict[str, Any]:
    """One engine ``log`` event as the control socket delivers it."""
    text = f"Late heartbeat: Node bravo: interval 230 ms (seq {number})"
    return {
        "event": "log",
        "seq": number,
        "data": {"time": time.time(), "level": "info", "text": text},
    }


async def never_connect(_path: Path) -> Any:
    """An opener that never returns: the bridge's ingest path runs without an engine."""
    await asyncio.Event().wait()


async def measure_log_tail(rate: int, seconds: float) -> dict[str, float]:
    """Feed ``rate`` lines/s for ``seconds`` through the bridge; return the numbers."""
    app = HaTuiApp(status=status(), clock=lambda: RECEIVED_AT)
    ticks: list[float] = []
    async with app.run_test(size=SIZE):
        bridge = EngineBridge(Path("/nonexistent"), opener=never_connect)
        await app.mount(bridge)
        log = app.query_one(LogPanel)
        app.set_interval(0.01, lambda: ticks.append(time.monotonic()))
        await asyncio.sleep(0.1)
        slice_s = 0.01
        per_slice = max(1, round(rate * slice_s))
        fed = 0
        start = time.monotonic()
        while (now := time.monotonic()) - start < seconds:
            due = round((now - start) / slice_s + 1) * per_slice  # catch up if we fell behind
            while fed < due:
                bridge.take_event(log_event(fed))
                fed += 1
            await asyncio.sleep(slice_s)
        fed_at = time.monotonic()
        last = f"(seq {fed - 1})"
        shown_at = await wait_until(lambda: log.newest.endswith(last))
        window = [t for t in ticks if start <= t <= fed_at]
        gaps = [b - a for a, b in itertools.pairwise(window)]
        return {
            "fed": fed,
            "rate": fed / (fed_at - start),
            "lag_ms": (shown_at - fed_at) * 1000,
            "max_gap_ms": max(gaps) * 1000,
            "p99_gap_ms": percentile(gaps, 99) * 1000,
            "flushes_per_s": bridge.flushes / (fed_at - start),
            "kept": len(log.lines),
        }


def main() -> int:
    """Run both measurements and print the numbers."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=30, help="cut+restore pairs per size")
    parser.add_argument(
        "--sizes", default="80x24,120x40", help="terminal sizes, comma separated (WxH)"
    )
    parser.add_argument("--rate", type=int, default=10_000, help="log lines per second")
    parser.add_argument("--seconds", type=float, default=5.0, help="log feed duration")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-log", action="store_true")
    args = parser.parse_args()
    if not args.skip_latency:
        sizes = [tuple(int(n) for n in size.split("x")) for size in args.sizes.split(",")]
        by_size = asyncio.run(measure_latency(args.trials, sizes))  # type: ignore[arg-type]
        print(f"load average before/after: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
        for (width, height), latency in by_size.items():
            print(f"engine event → on screen at {width}x{height} (debug_link cut/restore, alpha)")
            for name, values in latency.items():
                print("  " + describe(name, values))
            for name in ("log", "screen", "status"):
                p95 = percentile(latency[name], 95)
                verdict = "met" if p95 <= 100 else "MISSED"
                print(f"  goal p95 ≤ 100 ms, {name} end to end: {verdict} ({p95:.1f} ms)")
            share = percentile(latency["console"], 95)
            print(f"  console's own share of status p95: {share:.1f} ms (the rest is the engine)")
    if not args.skip_log:
        tail = asyncio.run(measure_log_tail(args.rate, args.seconds))
        print(f"log tail: {args.rate} lines/s for {args.seconds:g} s through the bridge")
        print(
            f"  fed {tail['fed']:.0f} lines ({tail['rate']:.0f}/s), newest shown "
            f"{tail['lag_ms']:.0f} ms after the feed stopped, {tail['kept']:.0f} kept; "
            f"{tail['flushes_per_s']:.1f} flushes/s"
        )
        print(
            f"  UI tick (10 ms timer) gaps: p99 {tail['p99_gap_ms']:.0f} ms, "
            f"max {tail['max_gap_ms']:.0f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
