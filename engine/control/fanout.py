"""Events to every subscriber of the control socket: encoded once, written in slices.

Rules of this module (the loop is the engine's heartbeat; issue 15's loop-lag suite has
200 consoles subscribed at once):

* ``publish`` never awaits and never raises. An event's data is encoded once; every
  subscriber's line shares those bytes and differs only in its small head (its own seq).
* Lines are written by one loop callback that serves at most ``SLICE`` subscribers and
  then lets the loop turn (``call_soon``), so a heartbeat timer due meanwhile runs
  between two slices instead of after 200 writes.
* A subscriber whose socket does not take more (its transport is above the high-water
  mark) keeps its lines queued, at most ``max_events`` lines and ``max_bytes`` bytes;
  beyond that events are dropped and counted, the first drop of an episode is logged
  with who it is, and its seq still advances, so the client sees the gap and
  resubscribes. A subscriber never makes another wait, and never holds memory without
  bound.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.control import schema

logger = logging.getLogger(__name__)

SLICE = 32
"""Subscribers written to per turn of the loop, at most."""
SLICE_S = 0.002
"""Time one slice may take (it writes to one subscriber at least)."""
MAX_QUEUED_BYTES = 4 << 20
"""Bytes one subscriber may have waiting (besides its socket's own buffer)."""


@dataclass(eq=False)
class Outbox:
    """One subscriber's event stream: its seq and the lines its socket has not taken."""

    writer: asyncio.StreamWriter
    who: str
    """The client as messages name it: ``user (uid N, pid M: cmdline)``."""
    seq: int = 0
    lines: collections.deque[tuple[bytes, bytes]] = field(default_factory=collections.deque)
    """(head, shared body) of each waiting line."""
    queued_bytes: int = 0
    dropping: int = 0
    """Events dropped since it last caught up (0: it is keeping up)."""
    draining: asyncio.Task[None] | None = None
    """Waits for the socket to take what was written; no writes meanwhile."""

    def take(self) -> bytes:
        """The waiting lines as one write; none wait after it."""
        data = b"".join(part for line in self.lines for part in line)
        self.lines.clear()
        self.queued_bytes = 0
        return data

    def clear(self) -> None:
        """Forget the waiting lines (a fresh snapshot replaces them)."""
        self.lines.clear()
        self.queued_bytes = 0
        self.dropping = 0


class FanOut:
    """Hands events to subscribers' sockets without letting one wait for another."""

    def __init__(
        self,
        max_events: int,
        max_bytes: int = MAX_QUEUED_BYTES,
        on_drop: Callable[[], None] | None = None,
    ) -> None:
        self.max_events = max_events
        self.max_bytes = max_bytes
        self._on_drop = on_drop or (lambda: None)
        self._subscribers: dict[Outbox, None] = {}
        self._ready: dict[Outbox, None] = {}
        """Subscribers with lines to write and a socket that takes them, oldest first."""
        self._flush: asyncio.Handle | None = None
        self.encodings = 0
        """Event bodies encoded (one per ``publish``, whatever the subscriber count)."""

    @property
    def count(self) -> int:
        """How many connections currently receive events."""
        return len(self._subscribers)

    def subscribe(self, outbox: Outbox) -> None:
        """``outbox`` gets every event published from now on (none of the older ones)."""
        outbox.clear()
        self._subscribers[outbox] = None

    def remove(self, outbox: Outbox) -> None:
        """The connection is gone: stop writing to it."""
        self._subscribers.pop(outbox, None)
        self._ready.pop(outbox, None)
        outbox.clear()
        if outbox.draining is not None:
            outbox.draining.cancel()

    def publish(self, event: str, data_json: bytes) -> None:
        """Queue one event, whose data is already encoded, for every subscriber."""
        if not self._subscribers:
            return
        self.encodings += 1
        body = schema.event_body(data_json)
        started: list[Outbox] = []
        for outbox in self._subscribers:
            outbox.seq += 1
            if self._queue(outbox, schema.event_head(event, outbox.seq), body):
                started.append(outbox)
        if self._ready and self._flush is None:
            self._flush = asyncio.get_running_loop().call_soon(self._write_slice)
        for outbox in started:  # logged after the loop: the log line is an event too
            logger.warning(
                "control: subscriber %s does not read its events; dropping them until it "
                "catches up (it sees a gap in seq and subscribes again)",
                outbox.who,
            )

    def _queue(self, outbox: Outbox, head: bytes, body: bytes) -> bool:
        """Queue a line or drop it; True when this drop starts a dropping episode."""
        size = len(head) + len(body)
        if len(outbox.lines) >= self.max_events or outbox.queued_bytes + size > self.max_bytes:
            self._on_drop()
            outbox.dropping += 1
            return outbox.dropping == 1
        outbox.lines.append((head, body))
        outbox.queued_bytes += size
        if outbox.draining is None:
            self._ready[outbox] = None
        return False

    def _write_slice(self) -> None:
        """Write to at most SLICE subscribers (or for SLICE_S), then let the loop turn."""
        self._flush = None
        deadline = time.monotonic() + SLICE_S
        for _ in range(min(SLICE, len(self._ready))):
            outbox = next(iter(self._ready))
            del self._ready[outbox]
            self._write(outbox)
            if time.monotonic() >= deadline:
                break
        if self._ready:
            self._flush = asyncio.get_running_loop().call_soon(self._write_slice)

    def _write(self, outbox: Outbox) -> None:
        writer = outbox.writer
        if writer.is_closing():
            outbox.clear()
            return
        writer.write(outbox.take())
        transport = writer.transport
        if transport.get_write_buffer_size() > transport.get_write_buffer_limits()[1]:
            outbox.draining = asyncio.get_running_loop().create_task(self._drain(outbox))
        else:
            outbox.dropping = 0  # caught up: the next drop is a new episode, logged again

    async def _drain(self, outbox: Outbox) -> None:
        """Wait until a slow subscriber's socket took its lines; then write it again."""
        try:
            await outbox.writer.drain()
        except (ConnectionError, RuntimeError):
            return
        finally:
            outbox.draining = None
        if outbox.lines and outbox in self._subscribers:
            self._ready[outbox] = None
            if self._flush is None:
                self._flush = asyncio.get_running_loop().call_soon(self._write_slice)
