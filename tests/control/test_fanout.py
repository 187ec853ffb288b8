"""Many subscribers at once (issue 15's loop-lag suite, 200 consoles): what is shared,
what is sliced, what is bounded. Real ControlServer, real Unix sockets, one loop."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from engine.control.server import ControlServer
from engine.control.turns import TurnBudget
from tests.control.conftest import FixedHandler

MANY = 60


class Counted:
    """Encoded as its text (the protocol's ``default=str``): counts its encodings."""

    def __init__(self) -> None:
        self.encodings = 0

    def __str__(self) -> str:
        self.encodings += 1
        return "counted"


class Raw:
    """One subscriber on a plain socket, reading lines as they come."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, obj: dict[str, Any]) -> None:
        self.writer.write(json.dumps(obj).encode() + b"\n")
        await self.writer.drain()

    async def line(self) -> dict[str, Any]:
        reply: dict[str, Any] = json.loads(await asyncio.wait_for(self.reader.readline(), 5))
        return reply


async def open_many(server: ControlServer, count: int) -> list[Raw]:
    pairs = [await asyncio.open_unix_connection(str(server.path)) for _ in range(count)]
    return [Raw(reader, writer) for reader, writer in pairs]


async def subscribe_all(clients: list[Raw]) -> list[dict[str, Any]]:
    """Every client sends ``subscribe`` before any reply is read (all at once)."""
    for client in clients:
        client.writer.write(b'{"id": 1, "cmd": "subscribe"}\n')
    await asyncio.gather(*(client.writer.drain() for client in clients))
    return [await client.line() for client in clients]


@pytest.mark.parametrize("event", ["status", "log", "timeline"])
@pytest.mark.parametrize("subscribers", [1, MANY])
async def test_a_push_is_encoded_once_whatever_the_number_of_subscribers(
    server: ControlServer, subscribers: int, event: str
) -> None:
    clients = await open_many(server, subscribers)
    await subscribe_all(clients)
    assert server.subscriber_count == subscribers
    pushed = Counted()
    before = server.event_encodings
    server.publish(event, {"node": "alpha", "counted": pushed})
    lines = [await client.line() for client in clients]
    assert pushed.encodings == 1
    assert server.event_encodings == before + 1
    assert all(line == {"event": event, "seq": 1, "data": lines[0]["data"]} for line in lines)
    assert lines[0]["data"] == {"node": "alpha", "counted": "counted"}
    for client in clients:
        client.writer.close()


async def test_many_subscribe_replies_share_one_encoding(sock_dir: Path) -> None:
    """The snapshot, the timeline and the log history in 60 replies at once: each part
    encoded once, and each reply still says the same as one built alone."""
    snapshot_part, log_part, timeline_part = Counted(), Counted(), Counted()
    handler = FixedHandler({"node": "alpha", "counted": snapshot_part})
    ring = collections.deque([{"text": "before", "counted": log_part}], maxlen=500)
    srv = ControlServer(sock_dir / "control.sock", handler, log_history=ring)
    await srv.start()
    try:
        srv.publish("timeline", {"kind": "death", "counted": timeline_part})
        clients = await open_many(srv, MANY)
        replies = await subscribe_all(clients)
        assert (snapshot_part.encodings, log_part.encodings, timeline_part.encodings) == (1, 1, 1)
        assert all(reply == replies[0] for reply in replies)
        assert replies[0] == {
            "id": 1,
            "ok": True,
            "result": {
                "snapshot": {"node": "alpha", "counted": "counted"},
                "seq": 0,
                "timeline": [{"kind": "death", "counted": "counted"}],
                "log": [{"text": "before", "counted": "counted"}],
            },
        }
        # a new log record: only it is encoded; the older one's bytes are reused
        newer = Counted()
        ring.append({"text": "after", "counted": newer})
        again = await subscribe_all(clients[:3])
        assert [r["text"] for r in again[0]["result"]["log"]] == ["before", "after"]
        assert (log_part.encodings, newer.encodings) == (1, 1)
        # status answers share the snapshot's bytes too
        await clients[0].send({"id": 2, "cmd": "status"})
        assert (await clients[0].line())["result"]["node"] == "alpha"
        assert snapshot_part.encodings == 1
        for client in clients:
            client.writer.close()
    finally:
        await srv.close()


async def test_fan_out_lets_the_loop_turn_between_slices(server: ControlServer) -> None:
    """A timer due while 60 subscribers are written runs before the last of them is."""
    clients = await open_many(server, MANY)
    await subscribe_all(clients)
    loop = asyncio.get_running_loop()
    waiting_when_timer_ran: list[int] = []

    def timer() -> None:
        outboxes = [conn.events for conn in server._connections]
        waiting_when_timer_ran.append(sum(1 for box in outboxes if box.lines))

    server.publish("status", {"pad": "x" * 4096})
    loop.call_soon(timer)  # the earliest a heartbeat timer due now could run
    lines = [await client.line() for client in clients]
    assert {line["seq"] for line in lines} == {1}
    assert waiting_when_timer_ran and waiting_when_timer_ran[0] > 0
    for client in clients:
        client.writer.close()


async def test_a_slow_subscriber_is_bounded_counted_and_named_once(
    sock_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A client that stops reading holds at most max_bytes queued; the drops are counted,
    logged once for the episode with who it is, and its seq shows the gap."""
    cap = 256 * 1024
    srv = ControlServer(
        sock_dir / "control.sock", FixedHandler(), queue_size=100_000, queue_bytes=cap
    )
    await srv.start()
    try:
        stalled, healthy = await open_many(srv, 2)
        await subscribe_all([stalled, healthy])
        caplog.set_level(logging.WARNING, logger="engine.control.fanout")
        pad = "y" * 8192
        for batch in range(40):  # 40 x 10 x 8 KiB: far beyond the socket's and the cap
            for n in range(10):
                srv.publish("log", {"n": batch * 10 + n, "pad": pad})
            for _ in range(10):
                await healthy.line()
        outboxes = [conn.events for conn in srv._connections]
        assert max(box.queued_bytes for box in outboxes) <= cap
        assert srv.stats["dropped_events"] > 0
        warnings = [r.getMessage() for r in caplog.records if "does not read" in r.getMessage()]
        assert len(warnings) == 1, warnings
        assert f"pid {os.getpid()}" in warnings[0]
        # it reads again: what was queued arrives, then the next event shows the gap
        seqs = []
        with contextlib.suppress(TimeoutError):
            while True:
                seqs.append(
                    json.loads(await asyncio.wait_for(stalled.reader.readline(), 0.5))["seq"]
                )
        assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) < 400
        srv.publish("log", {"n": "after"})
        after = await stalled.line()
        assert after["seq"] == 401
        stalled.writer.close()
        healthy.writer.close()
    finally:
        await srv.close()


async def test_turn_budget_lets_a_few_go_on_per_turn_in_order() -> None:
    loop = asyncio.get_running_loop()
    turn = 0

    def count_turns() -> None:
        nonlocal turn
        turn += 1
        if turn < 100:
            loop.call_soon(count_turns)

    budget = TurnBudget(per_turn=4)
    went_on: list[tuple[int, int]] = []

    async def request(n: int) -> None:
        await budget.take()
        went_on.append((n, turn))

    loop.call_soon(count_turns)
    await asyncio.gather(*(request(n) for n in range(20)))
    assert [n for n, _ in went_on] == list(range(20))  # first come, first served
    per_turn = collections.Counter(t for _, t in went_on)
    assert max(per_turn.values()) <= 4
    assert len(per_turn) >= 5
    assert budget.waited == 16
    # alone, a request never waits for a turn
    await asyncio.sleep(0.01)
    before = turn
    await budget.take()
    assert turn == before
