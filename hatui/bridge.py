"""The one connection between the console and the engine.

Rules of this module: a single exclusive worker owns the subscription (subscribe →
snapshot, recent timeline and recent log → events; a gap means subscribe again; a lost
socket means reconnect with backoff). The history that comes with a subscription is
taken once per engine: after a gap or a reconnect to the same engine process only what
the console has not shown yet is added; a different engine (restarted, or another node)
brings its whole history, marked as such in the log.

Incoming events are only buffered here and flushed as at most one message of each
kind. The flush is a leading-edge throttle: the first event after a quiet spell is
posted 5 ms later (an engine action often sends a few events at once,
e.g. the audit line and the effect; 5 ms gathers them into one redraw), and events
arriving in the following 50 ms wait for one flush at the end of that window, so a
burst still costs at most twenty redraws a second (and an event waits at most 50 ms:
the console's budget is 100 ms from engine event to screen).
Operator actions use a short connection of their own so that a slow command never
stalls the event stream.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Protocol

from textual import work
from textual.widget import Widget

from engine.control.client import ControlClient, Subscription
from engine.control.schema import ControlError
from hatui.messages import ConnectionChanged, LogBatch, StatusUpdated, TimelineBatch
from hatui.viewmodel import Connection, LinkState

logger = logging.getLogger(__name__)

BACKOFF_S = (0.5, 1.0, 2.0, 5.0)
"""Seconds to wait before reconnect attempt 1, 2, 3 and every later one."""

FLUSH_INTERVAL_S = 0.05
"""Buffered events are posted at most once per this interval (≤ 20 redraws per second)."""

GATHER_S = 0.005
"""After a quiet spell, wait this long for the rest of a burst before flushing."""

MAX_BUFFERED_LOGS = 5000
TIMELINE_MEMORY = 200
"""Timeline entries remembered to drop repeats (the engine replays its last 50)."""


class ClientLike(Protocol):
    """The part of ``engine.control.client.ControlClient`` the console uses."""

    async def call(self, cmd: str, **args: Any) -> Any:
        """Send one request and return its result (raises ControlError)."""

    async def attach(self) -> Subscription:
        """Subscribe: snapshot, seq, recent timeline entries and recent log records."""

    def events(self) -> AsyncIterator[dict[str, Any]]:
        """Events after subscribe, with a synthetic ``gap`` event on a seq gap."""

    def close(self) -> Any:
        """Close the connection."""


async def open_client(path: Path) -> ClientLike:
    """Connect a ControlClient to the engine's control socket."""
    client = ControlClient()
    await client.connect(path)
    return client


async def close_client(client: ClientLike) -> None:
    """Close a client and wait for its reader to finish."""
    try:
        closer = getattr(client, "aclose", None)
        result = closer() if closer is not None else client.close()
        if asyncio.iscoroutine(result):
            await result
    except Exception:  # closing a broken connection must not hide the real error
        logger.debug("closing the control client failed", exc_info=True)


async def call_once(path: Path, cmd: str, **args: Any) -> Any:
    """Run one command on its own short connection (raises ControlError/OSError)."""
    client = await open_client(path)
    try:
        return await client.call(cmd, **args)
    finally:
        await close_client(client)


def timeline_key(entry: dict[str, Any]) -> str:
    """What identifies a timeline entry: all of it (time, kind, node, group, reason)."""
    return json.dumps(entry, sort_keys=True, default=str)


def backoff_delay(attempt: int) -> float:
    """Seconds to wait before reconnect attempt ``attempt`` (0-based)."""
    return BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)]


def describe_error(exc: BaseException) -> str:
    """A short operator-facing reason for a lost connection."""
    if isinstance(exc, ControlError):
        return exc.message
    if isinstance(exc, FileNotFoundError):
        return "control socket not found (engine not running?)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (engine not running?)"
    return str(exc) or type(exc).__name__


class EngineBridge(Widget):
    """Invisible widget whose worker owns the engine subscription."""

    DEFAULT_CSS = "EngineBridge { display: none; }"

    def __init__(
        self,
        socket_path: Path,
        clock: Callable[[], float] = time.monotonic,
        opener: Callable[[Path], Any] = open_client,
    ) -> None:
        super().__init__()
        self.socket_path = socket_path
        self._clock = clock
        self._opener = opener
        self._status: dict[str, Any] | None = None
        self._status_at = 0.0
        self._logs: list[dict[str, Any]] = []
        self._timeline: list[dict[str, Any]] = []
        self._timeline_seen: dict[str, None] = {}
        """Keys of the timeline entries already taken (ordered; the oldest are forgotten)."""
        self._engine: tuple[object, object] | None = None
        """(node, pid) of the engine whose log history was taken last."""
        self._log_edge = (float("-inf"), set[str]())
        """Time of the newest log record taken, and the keys of the records at that time."""
        self._history_of = ""
        self.last_event_at: float | None = None
        """Local time of the newest event or snapshot (for the stale banner)."""
        self._flush_due = False
        self._last_flush = -FLUSH_INTERVAL_S
        self.flushes = 0
        """How many flushes posted something (the redraw budget, for tests and benches)."""

    def on_mount(self) -> None:
        """Start the connection worker."""
        self.run_connection()

    @work(exclusive=True, exit_on_error=False, group="engine")
    async def run_connection(self) -> None:
        """Connect, follow the engine, and reconnect with backoff forever."""
        attempt = 0
        while True:
            try:
                await self._follow(self._on_subscribed)
                error = "engine closed the connection"
            except (OSError, ControlError, EOFError, ValueError) as exc:
                error = describe_error(exc)
            if self._subscribed:
                attempt = 0
            delay = backoff_delay(attempt)
            attempt += 1
            logger.info("engine connection lost (%s); retrying in %.1f s", error, delay)
            self.post_message(ConnectionChanged(Connection(LinkState.RECONNECTING, delay, error)))
            await asyncio.sleep(delay)

    _subscribed = False

    def _on_subscribed(self, hello: dict[str, Any]) -> None:
        self._subscribed = True
        self.post_message(ConnectionChanged(Connection(LinkState.CONNECTED), hello))

    async def _follow(self, on_subscribed: Callable[[dict[str, Any]], None]) -> None:
        self._subscribed = False
        client: ClientLike = await self._opener(self.socket_path)
        try:
            hello = await client.call("hello")
            await self._subscribe(client)
            on_subscribed(hello if isinstance(hello, dict) else {})
            async for event in client.events():
                if event.get("event") == "gap":
                    logger.info("events were dropped; subscribing again")
                    await self._subscribe(client)
                else:
                    self.take_event(event)
        finally:
            await close_client(client)

    async def _subscribe(self, client: ClientLike) -> None:
        """Take the snapshot, and the history (timeline, log) not shown yet."""
        subscription = await client.attach()
        snapshot = subscription.snapshot
        self._take_status(snapshot)
        for entry in subscription.timeline:
            self._take_timeline(entry)
        engine = (snapshot.get("node"), snapshot.get("pid")) if isinstance(snapshot, dict) else None
        if engine != self._engine:
            self._engine = engine
            self._log_edge = (float("-inf"), set())
            if subscription.log:
                self._history_of = str(engine[0]) if engine else "the engine"
        for record in subscription.log:
            if self._is_new_log(record):
                self._take_log(record)

    def _is_new_log(self, record: dict[str, Any]) -> bool:
        """True for a record newer than every one taken from this engine so far."""
        when = record.get("time")
        if not isinstance(when, int | float):
            return False
        newest, keys = self._log_edge
        key = timeline_key(record)
        return when > newest or (when == newest and key not in keys)

    def _take_log(self, record: dict[str, Any]) -> None:
        when = record.get("time")
        if isinstance(when, int | float):
            newest, keys = self._log_edge
            if when > newest:
                self._log_edge = (float(when), {timeline_key(record)})
            elif when == newest:
                keys.add(timeline_key(record))
        self._logs.append(record)
        if len(self._logs) > 2 * MAX_BUFFERED_LOGS:
            del self._logs[:-MAX_BUFFERED_LOGS]
        self._schedule_flush()

    def _take_timeline(self, entry: dict[str, Any]) -> None:
        """Buffer a timeline entry unless it was shown already (history after a resync)."""
        key = timeline_key(entry)
        if key in self._timeline_seen:
            return
        self._timeline_seen[key] = None
        if len(self._timeline_seen) > 2 * TIMELINE_MEMORY:
            for old in list(self._timeline_seen)[:TIMELINE_MEMORY]:
                del self._timeline_seen[old]
        self._timeline.append(entry)
        self._schedule_flush()

    def _take_status(self, status: object) -> None:
        self.last_event_at = self._clock()
        if isinstance(status, dict):
            self._status = status
            self._status_at = self._clock()
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        """Flush in 5 ms, or at the end of the current 50 ms window if that is later."""
        if self._flush_due:
            return
        self._flush_due = True
        wait = max(GATHER_S, self._last_flush + FLUSH_INTERVAL_S - time.monotonic())
        self.set_timer(wait, self._flush_now)

    def _flush_now(self) -> None:
        self._flush_due = False
        self._last_flush = time.monotonic()
        self.flush()

    def take_event(self, event: dict[str, Any]) -> None:
        """Buffer one engine event until the next flush."""
        kind = event.get("event")
        data = event.get("data")
        self.last_event_at = self._clock()
        if not isinstance(data, dict):
            return
        if kind == "status":
            self._take_status(data)
        elif kind == "log":
            self._take_log(data)
        elif kind == "timeline":
            self._take_timeline(data)

    def flush(self) -> None:
        """Post what arrived since the last flush: one message of each kind at most."""
        if self._status is not None or self._logs or self._timeline:
            self.flushes += 1
        if self._logs:
            del self._logs[:-MAX_BUFFERED_LOGS]
        if self._status is not None:
            self.post_message(StatusUpdated(self._status, self._status_at))
            self._status = None
        if self._logs:
            self.post_message(LogBatch(self._logs, self._history_of))
            self._logs = []
            self._history_of = ""
        if self._timeline:
            self.post_message(TimelineBatch(self._timeline))
            self._timeline = []
