"""Watch a service from the lab's client while something happens: the outage it saw.

A thread GETs ``http://IP:PORT/`` every ``interval`` (each probe with a short timeout)
and records every answer; :meth:`HttpWatch.longest_outage` is the longest time between
two good answers, which is what a client of the service lived through.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass, field

from lab.hbweb import PORT
from lab.netns import Lab


@dataclass(frozen=True)
class Answer:
    """One probe: when it returned and what the service said (None: no answer)."""

    time: float
    body: str | None


@dataclass
class HttpWatch:
    """Probes ``ip`` from the lab's client until stopped (use as a context manager)."""

    lab: Lab
    ip: str
    interval: float = 0.01
    probe_timeout: float = 0.2
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> HttpWatch:
        self._thread = threading.Thread(target=self._loop, name=f"http-watch-{self.ip}")
        self._thread.daemon = True
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            reply = self.lab.http_get(self.ip, PORT, timeout=self.probe_timeout)
            good = reply is not None and reply.status == 200
            self.answers.append(Answer(time.monotonic(), reply.body if good and reply else None))
            self._stop.wait(self.interval)

    def good(self) -> list[Answer]:
        """The probes that got a 200 answer."""
        return [a for a in list(self.answers) if a.body is not None]

    def longest_outage(self) -> tuple[float, Answer | None, Answer | None]:
        """(seconds, last answer before, first answer after) of the longest gap between
        good answers; (0, None, None) when there was no gap."""
        good = self.good()
        best: tuple[float, Answer | None, Answer | None] = (0.0, None, None)
        for before, after in itertools.pairwise(good):
            gap = after.time - before.time
            if gap > best[0]:
                best = (gap, before, after)
        return best

    def bodies(self) -> list[str]:
        """The successive distinct bodies (who answered), e.g. ``["alpha"]``."""
        seen: list[str] = []
        for answer in self.good():
            if answer.body is not None and (not seen or seen[-1] != answer.body):
                seen.append(answer.body)
        return seen
