"""Rate limit for bad-packet log lines (a flood must not flood the log)."""

from __future__ import annotations


class BadPacketLog:
    """Time-based limit for bad-packet log lines: a flood must not flood the log.

    At most ``per_second`` lines per second are admitted; the rest are counted by
    reason and reported in one summary line every ``summary_period`` seconds.
    """

    def __init__(self, per_second: int = 5, summary_period: float = 10.0) -> None:
        self.per_second = per_second
        self.summary_period = summary_period
        self._window_start = -1e18
        self._in_window = 0
        self._suppressed: dict[str, int] = {}
        self._summary_due: float | None = None

    def admit(self, reason: str, now: float) -> bool:
        """True when this line may be logged; otherwise it is counted."""
        if now - self._window_start >= 1.0:
            self._window_start = now
            self._in_window = 0
        if self._in_window < self.per_second:
            self._in_window += 1
            return True
        self._suppressed[reason] = self._suppressed.get(reason, 0) + 1
        if self._summary_due is None:
            self._summary_due = now + self.summary_period
        return False

    def summary(self, now: float) -> str | None:
        """The summary line when one is due, else None."""
        if self._summary_due is None or now < self._summary_due:
            return None
        counts = ", ".join(f"{k}: {v}" for k, v in sorted(self._suppressed.items()))
        total = sum(self._suppressed.values())
        self._suppressed.clear()
        self._summary_due = None
        period = f"{self.summary_period:g} s"
        return f"{total} more bad packets not logged in the last {period} ({counts})"
