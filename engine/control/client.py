"""Async client of the control socket, shared by ``hactl`` and the ``hatui`` console.

Rules of this module: one background reader task owns the socket's read side. It routes
replies by id to the waiting ``call`` and puts events on a queue, so calls and events can
interleave on one connection. Gaps in the event seq (the server or this client dropped
events) are reported as a synthetic ``gap`` event: the caller must resubscribe.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.control import schema
from engine.control.schema import ControlError

logger = logging.getLogger(__name__)

DEFAULT_SOCKET = Path("/run/hatui/control.sock")
SOCKET_NAME = "control.sock"
EVENT_QUEUE_SIZE = 4096


def default_socket_path(state_dir: Path | None = None) -> Path:
    """``STATE_DIR/control.sock``, or ``/run/hatui/control.sock`` without a state dir."""
    return Path(state_dir) / SOCKET_NAME if state_dir is not None else DEFAULT_SOCKET


class _Resync:
    """Marker in the event queue: from here on, events follow snapshot seq ``seq``."""

    __slots__ = ("seq",)

    def __init__(self, seq: int) -> None:
        self.seq = seq


@dataclass(frozen=True, slots=True)
class Subscription:
    """What ``subscribe`` returns: where the event stream starts, and the history before.

    ``timeline`` and ``log`` are oldest first; both are empty from an engine older than
    the field (``log`` was added later; see docs/architecture.md, control socket).
    """

    snapshot: dict[str, Any]
    seq: int
    timeline: list[dict[str, Any]] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)


def _entries(value: object) -> list[dict[str, Any]]:
    """The objects of a reply list (anything else in it is ignored)."""
    return [e for e in value if isinstance(e, dict)] if isinstance(value, list) else []


_END = object()
"""Marker in the event queue: the connection is gone."""


class ControlClient:
    """One connection to the engine's control socket."""

    def __init__(self, *, event_queue_size: int = EVENT_QUEUE_SIZE) -> None:
        self.path: Path | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._subscribe_ids: set[int] = set()
        self._events: asyncio.Queue[object] = asyncio.Queue()
        self._queued_events = 0
        self._event_queue_size = event_queue_size
        self._closed_reason = ""
        self.dropped_events = 0

    async def connect(self, path: Path) -> None:
        """Open the socket and start the reader.

        Raises:
            OSError: the socket cannot be reached (FileNotFoundError, ConnectionRefusedError,
                PermissionError, ...).
        """
        self.path = Path(path)
        self._reader, self._writer = await asyncio.open_unix_connection(
            str(self.path), limit=schema.STREAM_LIMIT
        )
        self._reader_task = asyncio.create_task(self._read_loop())

    @property
    def connected(self) -> bool:
        """True while the connection is open and the reader runs."""
        return self._reader_task is not None and not self._reader_task.done()

    async def __aenter__(self) -> ControlClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def call(self, cmd: str, **args: Any) -> Any:
        """Send ``cmd`` with ``args`` and return the reply's ``result``.

        Raises:
            ControlError: the server answered ``ok: false`` (``code`` says why) or the
                connection was lost (code ``disconnected``).
        """
        return await self.request(cmd, args)

    async def request(self, cmd: str, args: dict[str, Any]) -> Any:
        """Like ``call`` but with the arguments as a dict (for names such as ``cmd``)."""
        if self._writer is None or not self.connected:
            raise ControlError(schema.DISCONNECTED, self._closed_reason or "not connected")
        request_id = next(self._ids)
        line = schema.encode_request(request_id, cmd, args)
        if len(line) > schema.MAX_REQUEST_BYTES:
            raise ControlError(schema.BAD_REQUEST, f"request is too large ({len(line)} bytes)")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        if cmd == "subscribe":
            self._subscribe_ids.add(request_id)
        try:
            self._writer.write(line)
            await self._writer.drain()
            return await future
        except (ConnectionError, RuntimeError) as exc:
            raise ControlError(schema.DISCONNECTED, f"connection lost: {exc}") from exc
        finally:
            self._pending.pop(request_id, None)
            self._subscribe_ids.discard(request_id)

    async def subscribe(self) -> tuple[dict[str, Any], int, list[dict[str, Any]]]:
        """Ask for events; returns the status snapshot, the seq it corresponds to, and the
        engine's recent timeline entries (oldest first; empty from an older engine).

        Events with a seq at or below the returned one are stale and are skipped by
        ``events``.
        """
        subscription = await self.attach()
        return subscription.snapshot, subscription.seq, subscription.timeline

    async def attach(self) -> Subscription:
        """``subscribe``, with the engine's recent log as well as its recent timeline."""
        result = await self.call("subscribe")
        return Subscription(
            snapshot=result["snapshot"],
            seq=int(result["seq"]),
            timeline=_entries(result.get("timeline")),
            log=_entries(result.get("log")),
        )

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        """Yield events in order; ends when the connection closes.

        When events went missing, yields ``{"event": "gap", "seq": n, "data":
        {"expected": e, "got": n, "missed": n - e}}`` before the event that revealed the
        gap; the caller should call ``subscribe`` again for a fresh snapshot.
        """
        last_seq: int | None = None
        while True:
            item = await self._events.get()
            if item is _END:
                self._events.put_nowait(_END)
                return
            if isinstance(item, _Resync):
                last_seq = item.seq
                continue
            assert isinstance(item, dict)
            self._queued_events -= 1
            seq = int(item.get("seq", 0))
            if last_seq is not None and seq <= last_seq:
                continue
            if last_seq is not None and seq > last_seq + 1:
                yield _gap_event(last_seq + 1, seq)
            last_seq = seq
            yield item

    def close(self) -> None:
        """Close the connection; pending calls fail with ``disconnected``."""
        if self._writer is not None:
            self._writer.close()
        if self._reader_task is not None and not self._reader_task.done():
            self._reader_task.cancel()
        self._finish("closed by the client")

    async def aclose(self) -> None:
        """Close and wait until the reader task has finished."""
        task = self._reader_task
        self.close()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._writer is not None:
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()

    async def _read_loop(self) -> None:
        assert self._reader is not None
        reason = "the engine closed the connection"
        try:
            while True:
                line = await self._reader.readline()
                if not line:
                    break
                self._route(line)
        except (ConnectionError, ValueError, asyncio.LimitOverrunError) as exc:
            reason = f"connection lost: {exc}"
        finally:
            self._finish(reason)

    def _route(self, line: bytes) -> None:
        try:
            message = schema.decode_line(line)
        except ControlError as exc:
            logger.warning("control client: %s", exc.message)
            return
        if "event" in message:
            self._queue_event(message)
            return
        request_id = message.get("id")
        future = self._pending.get(request_id) if isinstance(request_id, int) else None
        if future is None or future.done():
            logger.warning("control client: reply for unknown request id %r", request_id)
            return
        if message.get("ok"):
            if request_id in self._subscribe_ids:
                self._events.put_nowait(_Resync(int(message["result"]["seq"])))
            future.set_result(message.get("result"))
        else:
            code = str(message.get("code", "error"))
            future.set_exception(ControlError(code, str(message.get("error", ""))))

    def _queue_event(self, message: dict[str, Any]) -> None:
        """Bounded: a consumer that does not keep up loses events and later sees a gap."""
        if self._queued_events >= self._event_queue_size:
            self.dropped_events += 1
            return
        self._queued_events += 1
        self._events.put_nowait(message)

    def _finish(self, reason: str) -> None:
        if not self._closed_reason:
            self._closed_reason = reason
            self._events.put_nowait(_END)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ControlError(schema.DISCONNECTED, reason))


def _gap_event(expected: int, got: int) -> dict[str, Any]:
    return {
        "event": "gap",
        "seq": got,
        "data": {"expected": expected, "got": got, "missed": got - expected},
    }
