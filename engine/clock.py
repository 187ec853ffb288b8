"""Time sources. The core never reads a clock: the shell passes ``now`` and ``wall`` in."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Monotonic seconds for timers, wall seconds for log stamps and the wire ``ts``."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes backwards."""
        ...

    def wall(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    """The real clocks."""

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def wall(self) -> float:
        """``time.time()``."""
        return time.time()


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, start: float = 1000.0, wall_start: float = 1_795_611_934.0) -> None:
        self._now = start
        self._wall_offset = wall_start - start

    def monotonic(self) -> float:
        """Current fake monotonic time."""
        return self._now

    def wall(self) -> float:
        """Fake wall time, moving with the monotonic time."""
        return self._now + self._wall_offset

    def advance(self, seconds: float) -> float:
        """Move forward and return the new time."""
        self._now += seconds
        return self._now

    def set(self, now: float) -> None:
        """Jump to ``now`` (must not go backwards)."""
        if now < self._now:
            raise ValueError("a monotonic clock cannot go backwards")
        self._now = now
