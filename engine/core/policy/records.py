"""Jobs: Heartbeat's resource-management "children" as steps that run one at a time.

A ``Job`` is built whole (its steps in order) by the part of the policy that decides
it; only ``JobQueue`` runs it, taking steps off and noting which groups failed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from engine.core.policy.outbox import log


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a job: acquire/release a group, or run a callable with ``now``."""

    kind: str
    key: str = ""
    reason: str = ""
    call: Callable[[Job, float], None] | None = None


class Job:
    """A named sequence of steps, run strictly after the jobs queued before it."""

    def __init__(self, name: str, steps: Iterable[Step] = ()) -> None:
        self._name = name
        self._steps = deque(steps)
        self._failures: list[str] = []

    @property
    def name(self) -> str:
        return self._name

    @property
    def failures(self) -> tuple[str, ...]:
        """Keys of the groups whose action failed in this job, in order."""
        return tuple(self._failures)

    def next_step(self) -> Step | None:
        return self._steps.popleft() if self._steps else None

    def abandon(self) -> None:
        """Drop the steps not run yet (the job ends after its action in flight)."""
        self._steps.clear()

    def keep_only_releases(self) -> None:
        """Drop the steps not run yet that are not releases (one-way loss)."""
        self._steps = deque(step for step in self._steps if step.kind == "release")

    def failed(self, key: str) -> None:
        self._failures.append(key)


def acquire_steps(keys: Iterable[str], reason: str) -> list[Step]:
    return [Step("acquire", k, reason) for k in keys]


def release_steps(keys: Iterable[str], reason: str) -> list[Step]:
    return [Step("release", k, reason) for k in keys]


def call(fn: Callable[[Job, float], None]) -> Step:
    return Step("call", call=fn)


def log_step(level: str, text: str) -> Step:
    return call(lambda _job, _now: log(level, text))
