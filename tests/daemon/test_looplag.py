"""engine.shell.looplag on a real asyncio loop: lateness measured, culprits named."""

from __future__ import annotations

import asyncio
import time

from engine.shell.looplag import LoopLag, callback_name
from engine.shell.metrics import render


def _hog(seconds: float) -> None:
    """Holds the loop, as a callback that waits on a child or a disk would."""
    time.sleep(seconds)


async def test_a_blocking_callback_makes_a_timer_late_and_is_named() -> None:
    warnings: list[str] = []
    monitor = LoopLag(warn_ms=100, log=warnings.append)
    loop = asyncio.get_running_loop()
    monitor.install()
    try:
        fired: list[float] = []
        due = loop.time() + 0.05
        loop.call_at(due, lambda: fired.append(loop.time()))
        loop.call_soon(_hog, 0.3)
        await asyncio.sleep(0.4)
    finally:
        monitor.uninstall()
    assert fired and fired[0] - due > 0.2
    snap = monitor.snapshot()
    assert snap["max_lag_ms"] > 200 and snap["warn_ms"] == 100
    assert snap["histogram_ms"][-1] == ["+Inf", snap["wakeups"]]
    assert any(name == "_hog" for name in (c["name"] for c in snap["slow_callbacks"]))
    assert warnings, "no warning logged"
    assert warnings[0].startswith("Loop blocked for ") and " by _hog " in warnings[0]
    assert snap["warnings"] >= 2  # the blocking callback, then the late timer
    assert "ran meanwhile _hog" in snap["last_warning"]["text"]


async def test_on_time_timers_stay_in_the_first_buckets_and_warn_nothing() -> None:
    warnings: list[str] = []
    monitor = LoopLag(warn_ms=100, log=warnings.append)
    monitor.install()
    try:
        for _ in range(20):
            await asyncio.sleep(0.005)
    finally:
        monitor.uninstall()
    snap = monitor.snapshot()
    assert snap["wakeups"] >= 20 and not warnings and snap["warnings"] == 0
    twenty_ms = next(count for bound, count in snap["histogram_ms"] if bound == 20)
    assert twenty_ms >= snap["wakeups"] * 0.9  # this test's own machine load aside


async def test_uninstalled_monitor_sees_nothing() -> None:
    monitor = LoopLag(warn_ms=100)
    monitor.install()
    monitor.uninstall()
    await asyncio.sleep(0.01)
    assert monitor.wakeups == 0


async def test_a_starved_loop_is_explained_as_such() -> None:
    monitor = LoopLag(warn_ms=100)
    now = time.monotonic()
    assert "no callback of the loop ran long" in monitor.explain(now - 0.5, now)


async def test_task_and_method_names() -> None:
    loop = asyncio.get_running_loop()

    async def reload_now() -> None:
        await asyncio.sleep(0)

    task = loop.create_task(reload_now())
    handle = loop.call_soon(task.cancel)
    assert callback_name(handle) == "task test_task_and_method_names.<locals>.reload_now"
    handle.cancel()
    await asyncio.gather(task, return_exceptions=True)
    timer = loop.call_later(10, _hog, 0)
    assert callback_name(timer) == "_hog"
    timer.cancel()


def test_metrics_render_the_lag_histogram() -> None:
    monitor = LoopLag(warn_ms=125)
    monitor.counts[0], monitor.counts[-1], monitor.wakeups = 3, 1, 4
    monitor.sum_s, monitor.max_s = 6.5, 6.0
    text = render({"loop": monitor.snapshot()})
    assert 'haengine_loop_lag_seconds_bucket{le="0.001"} 3' in text
    assert 'haengine_loop_lag_seconds_bucket{le="+Inf"} 4' in text
    assert "haengine_loop_lag_seconds_count 4" in text
    assert "haengine_loop_lag_seconds_sum 6.5" in text
    assert "haengine_loop_lag_max_seconds 6.0" in text
    assert "haengine_loop_lag_warnings_total 0" in text


async def test_a_crowd_of_short_callbacks_is_named_as_such() -> None:
    """200 callbacks of 1 ms each (below the slow-callback mark) in one turn of the loop:
    the lag is theirs, not the machine's."""
    warnings: list[str] = []
    monitor = LoopLag(warn_ms=100, log=warnings.append)
    loop = asyncio.get_running_loop()
    monitor.install()
    try:
        loop.call_later(0.01, lambda: None)
        for _ in range(200):
            loop.call_soon(_hog, 0.001)
        await asyncio.sleep(0.4)
    finally:
        monitor.uninstall()
    assert warnings and warnings[0].startswith("Loop lag ")
    assert "many short callbacks: " in warnings[0], warnings[0]
    assert "callbacks ran since the previous timer" in warnings[0]
