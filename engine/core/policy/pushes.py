"""The push after a failed start: ``hb_standby <class>`` 30 s later (spec §7.3)."""

from __future__ import annotations


class PushSchedule:
    """Pushes waiting for their time: (when, ``local``/``foreign``, group key)."""

    def __init__(self) -> None:
        self._due: list[tuple[float, str, str]] = []

    def schedule(self, at: float, which: str, key: str) -> None:
        self._due.append((at, which, key))

    def cancel_all(self) -> None:
        self._due.clear()

    def take_due(self, now: float) -> list[tuple[str, str]]:
        """(class, key) of every push due at ``now``, removed from the schedule."""
        due = [(which, key) for at, which, key in self._due if now >= at]
        self._due = [p for p in self._due if now < p[0]]
        return due

    def deadlines(self) -> list[float]:
        return [at for at, _, _ in self._due]

    def pending(self) -> list[tuple[float, str, str]]:
        return list(self._due)
