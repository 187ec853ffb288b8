"""The attempts of a fence: the one in flight, the next try, how often it failed.

``FenceAttempts`` is the only writer of the fences in flight (by action id), the time
of each node's next attempt (a death-match delay or a retry), the failures since the
last success and the last error. ``FencingBook`` decides whom to fence and why; this
keeps the clock of the attempts: the death-match delay before the first, and the
backoff (the interval doubles after every failure, from ``retry[0]`` up to
``retry[1]``).
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


class FenceAttempts:
    """Fence attempts per node: in flight, waiting for their time, failed so far."""

    def __init__(self, delay: float, retry: tuple[float, float]) -> None:
        self._delay = delay
        self._retry_min, self._retry_max = retry
        self._failures: dict[str, int] = {}
        self._last_error: dict[str, str] = {}
        self._inflight: dict[int, str] = {}
        self._next: dict[str, float] = {}

    @property
    def failures(self) -> dict[str, int]:
        """Failed attempts per node since its last successful fence."""
        return dict(self._failures)

    def busy(self) -> bool:
        """A fence runs or waits for its (re)try."""
        return bool(self._inflight or self._next)

    def deadlines(self) -> list[float]:
        return list(self._next.values())

    def death_match_delay(
        self, nodes: tuple[str, ...], us: str, we_run: bool, they_run: bool
    ) -> float:
        """The configured delay when we are the non-preferred side of a 2-node split.

        Preferred is the node running groups (Pacemaker's priority-fencing-delay idea:
        the holder survives); when both or neither run groups, the first ``node``.
        """
        if self._delay <= 0 or len(nodes) != 2:
            return 0.0
        if we_run != they_run:
            return 0.0 if we_run else self._delay
        return 0.0 if nodes[0] == us else self._delay

    def in_flight(self, node: str) -> bool:
        return node in self._inflight.values()

    def expects(self, node: str) -> bool:
        """Whether a fence of ``node`` is in flight (a stray result is logged)."""
        if self.in_flight(node):
            return True
        logger.error("policy: fence result for %s without a pending fence ignored", node)
        return False

    def started(self, action_id: int, node: str) -> None:
        self._inflight[action_id] = node

    def finished(self, node: str) -> None:
        """The fence of ``node`` in flight returned."""
        for i in [i for i, n in self._inflight.items() if n == node]:
            del self._inflight[i]

    def succeeded(self, node: str) -> None:
        self._failures.pop(node, None)
        self._last_error.pop(node, None)

    def failed(self, node: str, reason: str, now: float) -> float:
        """Count a failure and schedule the retry; the seconds until it."""
        failures = self._failures.get(node, 0)
        self._failures[node] = failures + 1
        wait = float(min(self._retry_max, self._retry_min * (2 ** min(failures, 30))))
        self._last_error[node] = reason
        self._next[node] = now + wait
        return wait

    def delay(self, node: str, until: float) -> None:
        """The first attempt waits until ``until`` (death-match guard)."""
        self._next[node] = until

    def waiting(self, node: str) -> bool:
        return node in self._next

    def cancel(self, node: str) -> None:
        """The waiting attempt of ``node`` is not needed any more."""
        self._next.pop(node, None)

    def due(self, now: float) -> list[str]:
        """Nodes whose next attempt is due (no longer waiting afterwards)."""
        nodes = [node for node, when in self._next.items() if now >= when]
        for node in nodes:
            del self._next[node]
        return nodes

    def detail(self, node: str) -> str:
        """`` (attempt N; last failure: X)`` after a failure, else ""."""
        last = self._last_error.get(node)
        attempt = self._failures.get(node, 0) + 1
        return f" (attempt {attempt}; last failure: {last})" if last else ""
