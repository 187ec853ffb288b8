"""Loop lag: how late the engine's loop runs what it scheduled, and what ran meanwhile.

The engine's loop is its heartbeat: a callback that runs for 300 ms delays every
heartbeat sent and every packet read by 300 ms. This module measures that all the time
at the cost of two clock reads per callback, the way asyncio's debug mode finds slow
callbacks: ``asyncio.Handle._run`` (every callback the loop runs goes through it) is
wrapped while a monitor is installed.

* Lag is the lateness of every timer callback: when it ran minus when it was due. A
  cumulative histogram of it, the largest over the last ``WINDOW_S`` seconds and the
  largest since start go into ``status --json`` (``loop``) and the metrics endpoint.
* Callbacks that ran at least ``SLOW_CALLBACK_S`` are remembered with their name (the
  function, method or task coroutine), so a late timer is explained by what ran
  between its due time and its run: ``Loop lag 3091 ms (...): ran meanwhile
  ReloadPipeline._reload 3088 ms``. A single callback longer than the warning threshold
  is reported the same way even when no timer was due during it.
* The warning threshold is ``warntime / 4``; warnings are rate-limited to one a second
  (the next one counts those left out).
* A lag no callback explains is told apart by the kernel's count of the time the loop
  thread waited, runnable, for a CPU (``/proc/thread-self/schedstat``, read at each timer
  run): the machine's load (other realtime processes, when the engine runs ``realtime``)
  rather than the engine.

No timer of its own: the engine's heartbeat timer runs every keepalive anyway, and an
extra periodic wake-up would cost more idle CPU than the engine spends heartbeating.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import functools
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("heartbeat")

BOUNDS_MS = (1, 2, 3, 5, 7.5, 10, 15, 20, 30, 40, 50, 75, 100, 150, 250, 500, 1000, 2500, 5000)
"""Upper bounds of the lag histogram (ms); the last bucket is +Inf."""
SLOW_CALLBACK_S = 0.002
"""Callbacks at least this long are remembered, with their name, for explanations."""
RECENT_SLOW = 128
"""How many slow callbacks are remembered."""
WINDOW_S = 10.0
"""``lag_ms`` is the largest lag of the current and the previous window."""
WARN_EVERY_S = 1.0
"""At most one lag warning a second."""
TOP = 3
"""Callbacks named in one warning."""

_original_run = asyncio.Handle._run
_active: LoopLag | None = None


def _timed_run(handle: asyncio.Handle) -> None:
    """``Handle._run`` with the lag monitor's two clock reads around it."""
    monitor = _active
    if monitor is None:
        _original_run(handle)
        return
    started = time.monotonic()
    _original_run(handle)
    monitor.observe(handle, started, time.monotonic())


class LoopLag:
    """The lag monitor of one running loop.

    Args:
        warn_ms: lag (and callback length) above which a warning is logged.
        log: writes one warning line (default: the ``heartbeat`` logger at WARN).
    """

    def __init__(self, warn_ms: float, log: Callable[[str], None] | None = None) -> None:
        self.warn_s = warn_ms / 1000.0
        self._log = log or (lambda text: logger.warning("%s", text))
        self.counts = [0] * (len(BOUNDS_MS) + 1)
        self.wakeups = 0
        self.sum_s = 0.0
        self.max_s = 0.0
        self.max_at: float | None = None
        self.warnings = 0
        self.last_warning: dict[str, Any] | None = None
        self._window = [0.0, 0.0]  # previous, current
        self._window_start = time.monotonic()
        self._slow: deque[tuple[float, float, str]] = deque(maxlen=RECENT_SLOW)
        self._next_warning = 0.0
        self._left_out = 0
        self._schedstat: int | None = None
        self.cpu_wait_s = 0.0
        """Time the loop thread waited for a CPU while runnable, since install."""
        self._cpu_wait_seen: float | None = None
        self._ran = 0
        self._busy = 0.0
        """Callbacks run, and their time, since the last timer callback."""

    # -------------------------------------------------------------- install

    def install(self) -> None:
        """Measure every callback of every loop of this process from now on."""
        global _active
        _active = self
        asyncio.Handle._run = _timed_run  # type: ignore[method-assign, assignment]
        try:  # the calling thread's own file: call this from the loop's thread
            self._schedstat = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        except OSError:
            self._schedstat = None

    def uninstall(self) -> None:
        """Stop measuring (the engine is leaving)."""
        global _active
        if _active is self:
            _active = None
            asyncio.Handle._run = _original_run  # type: ignore[method-assign]
        if self._schedstat is not None:
            with contextlib.suppress(OSError):
                os.close(self._schedstat)
            self._schedstat = None

    def set_warn_ms(self, warn_ms: float) -> None:
        """A reload changed warntime."""
        self.warn_s = warn_ms / 1000.0

    # ------------------------------------------------------------ measuring

    def observe(self, handle: asyncio.Handle, started: float, ended: float) -> None:
        """One callback ran from ``started`` to ``ended`` (monotonic seconds)."""
        took = ended - started
        self._ran += 1
        self._busy += took
        if took >= SLOW_CALLBACK_S:
            self._slow.append((ended, took, callback_name(handle)))
        if isinstance(handle, asyncio.TimerHandle):
            self._timer_ran(handle.when(), started)
        if took >= self.warn_s:
            self._warn(
                f"Loop blocked for {took * 1000:.0f} ms by {callback_name(handle)} "
                f"(more than warntime/4 = {self.warn_s * 1000:.0f} ms): heartbeats waited",
                took,
                ended,
            )

    def _cpu_wait(self) -> float:
        """Seconds the loop thread waited for a CPU since the previous call (0 unknown)."""
        if self._schedstat is None:
            return 0.0
        try:
            total = int(os.pread(self._schedstat, 64, 0).split()[1]) / 1e9
        except (OSError, ValueError, IndexError):
            return 0.0
        seen, self._cpu_wait_seen = self._cpu_wait_seen, total
        waited = total - seen if seen is not None else 0.0
        self.cpu_wait_s += waited
        return waited

    def _timer_ran(self, due: float, started: float) -> None:
        late = max(0.0, started - due)
        waited = self._cpu_wait()
        ran, busy = self._ran, self._busy
        self._ran, self._busy = 0, 0.0
        self.wakeups += 1
        self.sum_s += late
        self.counts[bisect.bisect_left(BOUNDS_MS, late * 1000.0)] += 1
        if started - self._window_start >= WINDOW_S:
            self._window = [self._window[1], 0.0]
            self._window_start = started
        if late > self._window[1]:
            self._window[1] = late
        if late > self.max_s:
            self.max_s = late
            self.max_at = time.time()
        if late >= self.warn_s:
            self._warn(
                f"Loop lag {late * 1000:.0f} ms (more than warntime/4 = "
                f"{self.warn_s * 1000:.0f} ms): {self.explain(due, started, ran, busy)}"
                + (f"; the loop thread waited {waited * 1000:.0f} ms for a CPU" if waited else ""),
                late,
                started,
            )

    def explain(self, since: float, until: float, ran: int = 0, busy: float = 0.0) -> str:
        """What ran between ``since`` and ``until``: the slow callbacks, longest first,
        else the crowd of short ones (``ran`` callbacks taking ``busy`` seconds)."""
        spent: dict[str, float] = {}
        for ended, took, name in self._slow:
            overlap = min(took, ended - since, until - since)
            if ended > since and overlap > 0:
                spent[name] = spent.get(name, 0.0) + overlap
        crowd = f"{ran} callbacks ran since the previous timer ({busy * 1000:.0f} ms)"
        ranked = sorted(spent.items(), key=lambda item: -item[1])[:TOP]
        named = ", ".join(f"{name} {ms * 1000:.0f} ms" for name, ms in ranked)
        if busy >= (until - since) / 2 and sum(spent.values()) < busy / 2:
            return f"many short callbacks: {crowd}" + (f"; the longest {named}" if named else "")
        if spent:
            return f"ran meanwhile {named}" + (f"; {crowd}" if ran else "")
        return (
            "no callback of the loop ran long meanwhile: the process was not scheduled "
            "(machine load), collected garbage, or another thread held the interpreter"
            + (f"; {crowd}" if ran else "")
        )

    def _warn(self, text: str, lag: float, now: float) -> None:
        self.warnings += 1
        self.last_warning = {"time": time.time(), "lag_ms": round(lag * 1000, 1), "text": text}
        if now < self._next_warning:
            self._left_out += 1
            return
        if self._left_out:
            text += f" ({self._left_out} more since the last warning)"
            self._left_out = 0
        self._next_warning = now + WARN_EVERY_S
        self._log(text)

    # ------------------------------------------------------------ reporting

    def snapshot(self) -> dict[str, Any]:
        """The ``loop`` part of ``status --json`` (docs/architecture.md)."""
        running = 0
        histogram: list[list[float | int | str]] = []
        bounds: tuple[float | str, ...] = (*BOUNDS_MS, "+Inf")
        for bound, count in zip(bounds, self.counts, strict=True):
            running += count
            histogram.append([bound, running])
        return {
            "lag_ms": round(max(self._window) * 1000, 1),
            "max_lag_ms": round(self.max_s * 1000, 1),
            "max_lag_at": self.max_at,
            "warn_ms": round(self.warn_s * 1000, 1),
            "wakeups": self.wakeups,
            "sum_ms": round(self.sum_s * 1000, 1),
            "cpu_wait_ms": round(self.cpu_wait_s * 1000, 1),
            "warnings": self.warnings,
            "last_warning": dict(self.last_warning) if self.last_warning else None,
            "histogram_ms": histogram,
            "slow_callbacks": self.slowest(),
        }

    def slowest(self, count: int = 5) -> list[dict[str, Any]]:
        """The longest of the remembered slow callbacks (the last ``RECENT_SLOW`` that
        took ``SLOW_CALLBACK_S`` or more), longest first, with how long ago they ended."""
        now = time.monotonic()
        ranked = sorted(self._slow, key=lambda item: -item[1])[:count]
        return [
            {"name": name, "ms": round(took * 1000, 1), "ago_s": round(now - ended, 1)}
            for ended, took, name in ranked
        ]


def callback_name(handle: asyncio.Handle) -> str:
    """A readable name for what a handle runs: ``Engine._on_timer``, ``task
    ReloadPipeline._reload``, ``_SelectorDatagramTransport._read_ready (UdpProtocol)``."""
    return _name_of(getattr(handle, "_callback", None))


def _name_of(callback: object) -> str:
    if isinstance(callback, functools.partial):
        return _name_of(callback.func)
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Future):
        return _future_name(owner)
    func = getattr(callback, "__func__", callback)
    name = str(getattr(func, "__qualname__", None) or type(callback).__qualname__)
    protocol = getattr(owner, "_protocol", None)
    if protocol is not None:
        name += f" ({type(protocol).__qualname__})"
    return name


def _future_name(future: asyncio.Future[Any]) -> str:
    if isinstance(future, asyncio.Task):
        coro = future.get_coro()
        return f"task {getattr(coro, '__qualname__', None) or future.get_name()}"
    return f"future {type(future).__qualname__}"
