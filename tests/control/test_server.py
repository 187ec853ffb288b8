"""ControlServer and ControlClient over a real Unix socket, in one event loop."""

from __future__ import annotations

import asyncio
import collections
import grp
import json
import logging
import os
import pwd
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from engine.control.client import ControlClient, default_socket_path
from engine.control.schema import MAX_REQUEST_BYTES, ControlError
from engine.control.server import (
    RECENT_LOG,
    RECENT_TIMELINE,
    ControlServer,
    ControlSocketInUse,
    _ActRule,
    _peer_groups,
)
from tests.control.conftest import (
    NOBODY,
    FixedHandler,
    ask,
    fork_as_nobody,
    reap,
    run_client_as,
)

OTHER_UID = 65533
"""A non-root uid that is neither nobody nor root (it need not exist in /etc/passwd)."""


@pytest.fixture
async def client(server: ControlServer) -> AsyncIterator[ControlClient]:
    cli = ControlClient()
    await cli.connect(server.path)
    yield cli
    await cli.aclose()


def handler_of(server: ControlServer) -> FixedHandler:
    assert isinstance(server.handler, FixedHandler)
    return server.handler


async def next_event(events: AsyncIterator[dict[str, Any]]) -> dict[str, Any]:
    return await asyncio.wait_for(anext(events), 5)


async def test_socket_is_world_writable_and_hello_reports_peer(
    server: ControlServer, client: ControlClient
) -> None:
    assert server.path.stat().st_mode & 0o777 == 0o666
    hello = await client.call("hello")
    assert hello["server"] == "haengine"
    assert hello["node"] == "alpha"
    assert hello["peer"]["uid"] == os.getuid()
    assert hello["peer"]["pid"] == os.getpid()
    assert hello["peer"]["can_act"] is (os.getuid() == 0)
    assert await client.call("ping") == "pong"
    assert await client.call("status") == handler_of(server).doc


async def test_subscribe_gives_snapshot_then_numbered_events(
    server: ControlServer, client: ControlClient
) -> None:
    snapshot, seq, recent = await client.subscribe()
    assert snapshot["node"] == "alpha"
    assert (seq, recent) == (0, [])
    events = client.events()
    for n in range(3):
        server.publish("log", {"text": f"line {n}"})
    got = [await next_event(events) for _ in range(3)]
    assert [(e["event"], e["seq"], e["data"]["text"]) for e in got] == [
        ("log", 1, "line 0"),
        ("log", 2, "line 1"),
        ("log", 3, "line 2"),
    ]
    # A call in the middle of the event stream is answered, and events keep their order.
    server.publish("timeline", {"kind": "death"})
    assert (await client.call("status"))["node"] == "alpha"
    event = await next_event(events)
    assert (event["event"], event["seq"]) == ("timeline", 4)


async def test_unsubscribed_connections_get_no_events(
    server: ControlServer, client: ControlClient
) -> None:
    server.publish("log", {"text": "nobody listens"})
    for n in range(RECENT_TIMELINE + 10):
        server.publish("timeline", {"kind": "death", "reason": f"entry {n}"})
    assert server.subscriber_count == 0
    _, seq, recent = await client.subscribe()
    assert seq == 0
    # ... but the subscribe reply carries the newest timeline entries, oldest first
    assert [e["reason"] for e in recent] == [f"entry {n}" for n in range(10, 60)]


async def test_subscribe_returns_the_recent_log_oldest_first(
    server: ControlServer, client: ControlClient
) -> None:
    """Without a ring buffer the server keeps the log records it published; a console
    attaching later shows the lines that led to what it sees (issue 14, item 7)."""
    for n in range(RECENT_LOG + 20):
        server.publish("log", {"time": n, "level": "info", "text": f"line {n}"})
    attached = await client.attach()
    assert [r["text"] for r in attached.log] == [f"line {n}" for n in range(20, RECENT_LOG + 20)]
    assert attached.seq == 0  # history, not events: nothing of it comes again as an event
    server.publish("log", {"time": 999, "level": "info", "text": "live"})
    event = await next_event(client.events())
    assert (event["seq"], event["data"]["text"]) == (1, "live")


async def test_subscribe_reads_the_engines_ring_buffer(sock_dir: Path) -> None:
    """With the engine's ring buffer (what ``haengine`` passes) the reply is its content,
    including lines logged before the control socket listened."""
    ring = collections.deque([{"time": 1.0, "level": "info", "text": "Configuration validated"}])
    srv = ControlServer(sock_dir / "control.sock", FixedHandler(), log_history=ring)
    await srv.start()
    cli = ControlClient()
    try:
        await cli.connect(srv.path)
        ring.append({"time": 2.0, "level": "WARN", "text": "node bravo: is dead"})
        attached = await cli.attach()
        texts = [r["text"] for r in attached.log]
        assert texts == ["Configuration validated", "node bravo: is dead"]
        snapshot, seq, timeline = await cli.subscribe()  # the old call still answers the same
        assert (snapshot["node"], seq, timeline) == ("alpha", 0, [])
    finally:
        await cli.aclose()
        await srv.close()


async def test_full_queue_drops_events_and_client_sees_a_gap(sock_dir: Path) -> None:
    srv = ControlServer(sock_dir / "control.sock", FixedHandler(), queue_size=16)
    await srv.start()
    cli = ControlClient()
    try:
        await cli.connect(srv.path)
        await cli.subscribe()
        events = cli.events()
        assert not asyncio.iscoroutinefunction(srv.publish)
        calls = 0
        for n in range(10_000):  # no await in between: the client cannot read meanwhile
            srv.publish("log", {"n": n})
            calls += 1
        srv.publish("timeline", {"kind": "death", "reason": "lost in the gap"})
        assert calls == 10_000
        assert srv.stats["dropped_events"] == 10_001 - 16
        got = [await next_event(events) for _ in range(16)]
        assert [e["seq"] for e in got] == list(range(1, 17))
        srv.publish("log", {"n": "after"})
        gap = await next_event(events)
        assert gap == {
            "event": "gap",
            "seq": 10_002,
            "data": {"expected": 17, "got": 10_002, "missed": 9_985},
        }
        after = await next_event(events)
        assert (after["seq"], after["data"]) == (10_002, {"n": "after"})
        # Resubscribing gives a fresh snapshot, the timeline entry that was dropped, and
        # the stream continues without a gap.
        snapshot, seq, recent = await cli.subscribe()
        assert (snapshot["node"], seq) == ("alpha", 10_002)
        assert recent == [{"kind": "death", "reason": "lost in the gap"}]
        srv.publish("log", {"n": "fresh"})
        fresh = await next_event(events)
        assert (fresh["event"], fresh["seq"]) == ("log", 10_003)
    finally:
        await cli.aclose()
        await srv.close()


async def test_stalled_client_does_not_hold_back_others(server: ControlServer) -> None:
    stalled_reader, stalled = await asyncio.open_unix_connection(str(server.path))
    stalled.write(b'{"id": 1, "cmd": "subscribe"}\n')
    await stalled.drain()
    await stalled_reader.readline()  # the snapshot; after this it never reads again
    healthy = ControlClient()
    await healthy.connect(server.path)
    await healthy.subscribe()
    events = healthy.events()
    padding = "x" * 2048
    received = []
    for batch in range(30):
        for n in range(100):
            server.publish("log", {"n": batch * 100 + n, "pad": padding})
        received += [await next_event(events) for _ in range(100)]
    assert [e["seq"] for e in received] == list(range(1, 3001))
    assert all(e["event"] == "log" for e in received)
    assert server.stats["dropped_events"] > 0  # all of them the stalled client's
    stalled.close()
    await healthy.aclose()


async def raw_exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, line: bytes
) -> dict[str, Any]:
    writer.write(line)
    await writer.drain()
    reply: dict[str, Any] = json.loads(await asyncio.wait_for(reader.readline(), 5))
    return reply


BAD_REQUESTS = [
    (b"hello\n", "bad_request", "request is not valid JSON"),
    (b"\xff\xfe{}\n", "bad_request", "not valid UTF-8"),
    (b"[1, 2]\n", "bad_request", "must be a JSON object, not list"),
    (b'{"cmd": "status"}\n', "bad_request", 'no "id"'),
    (b'{"id": "7", "cmd": "status"}\n', "bad_request", '"id" must be an integer'),
    (b'{"id": true, "cmd": "status"}\n', "bad_request", '"id" must be an integer'),
    (b'{"id": 3}\n', "bad_request", '"cmd" is missing'),
    (b'{"id": 3, "cmd": 5}\n', "bad_request", '"cmd" is not a string'),
    (b'{"id": 3, "cmd": "standby", "args": ["all"]}\n', "bad_request", '"args" must be'),
    (b'{"id": 3, "cmd": "standby", "arg": {}}\n', "bad_request", "unexpected request fields"),
    (b'{"id": 3, "cmd": "reboot"}\n', "unknown_cmd", "unknown command 'reboot'; known:"),
    (b'{"id": 3, "x": "' + b"a" * MAX_REQUEST_BYTES + b'"}\n', "bad_request", "longer than"),
    (b'{"id": 3, "x": "' + b"a" * (3 << 20) + b'"}\n', "bad_request", "longer than"),
]


async def test_every_bad_request_gets_its_error_and_changes_nothing(
    server: ControlServer,
) -> None:
    reader, writer = await asyncio.open_unix_connection(str(server.path))
    for line, code, text in BAD_REQUESTS:
        reply = await raw_exchange(reader, writer, line)
        assert reply["ok"] is False, line[:40]
        assert reply["code"] == code, (line[:40], reply)
        assert text in reply["error"], (line[:40], reply)
        pong = await raw_exchange(reader, writer, b'{"id": 99, "cmd": "ping"}\n')
        assert pong == {"id": 99, "ok": True, "result": "pong"}
    assert server.stats["bad_requests"] == len(BAD_REQUESTS)
    assert handler_of(server).acts == []
    writer.close()


async def test_reply_echoes_id_when_it_could_be_read(server: ControlServer) -> None:
    reader, writer = await asyncio.open_unix_connection(str(server.path))
    reply = await raw_exchange(reader, writer, b'{"id": 42, "cmd": "nope"}\n')
    assert reply["id"] == 42
    assert "standby" in reply["error"] and "subscribe" in reply["error"]
    reply = await raw_exchange(reader, writer, b"{oops\n")
    assert reply["id"] is None
    writer.close()


async def test_mutating_request_is_audited(
    server: ControlServer, client: ControlClient, caplog: pytest.LogCaptureFixture
) -> None:
    if os.getuid() != 0:
        pytest.skip("the in-process client is only allowed to act when the tests run as root")
    caplog.set_level(logging.INFO, logger="engine.control.server")
    result = await client.call("standby", which="all")
    assert result == {"message": "standby all: accepted"}
    assert handler_of(server).acts == [("standby", {"which": "all"}, 0)]
    audit = [r.getMessage() for r in caplog.records if "requested by" in r.getMessage()]
    assert len(audit) == 1
    assert audit[0].startswith(
        f"control: standby all requested by root (uid 0, pid {os.getpid()}: "
    )
    assert "python" in audit[0] or "pytest" in audit[0]


async def test_refusal_and_handler_crash_are_replies(
    server: ControlServer, client: ControlClient
) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to pass the admin check in-process")
    handler_of(server).refuse = "bravo is in flux"
    with pytest.raises(ControlError) as refused:
        await client.call("takeover", which="local")
    assert (refused.value.code, refused.value.message) == ("refused", "bravo is in flux")
    handler_of(server).refuse = None
    handler_of(server).explode = True
    with pytest.raises(ControlError) as crashed:
        await client.call("standby", which="all")
    assert crashed.value.code == "internal"
    assert "boom" in crashed.value.message
    assert await client.call("ping") == "pong"


async def test_hbparameter_is_read_only_and_goes_to_the_handler(client: ControlClient) -> None:
    assert await client.call("hbparameter", name="deadtime") == {
        "name": "deadtime",
        "value": "3",
    }


def nobody_client(path: Path) -> int:
    """Runs in a forked child as nobody: every kind of verb once."""
    return ask(
        path,
        [
            ("hello", {}),
            ("standby", {"which": "all"}),
            ("status", {}),
            ("hbparameter", {"name": "keepalive"}),
        ],
    )


async def test_non_admin_user_is_forbidden_to_act(
    server: ControlServer, sock_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to run a client as user nobody")
    caplog.set_level(logging.WARNING, logger="engine.control.server")
    out_dir = sock_dir / "child"
    out_dir.mkdir(mode=0o777)
    os.chmod(out_dir, 0o777)
    pid = fork_as_nobody(lambda: nobody_client(server.path), out_dir)
    code = await asyncio.get_running_loop().run_in_executor(None, reap, pid)
    assert code == 0, (out_dir / "crash").read_text() if (out_dir / "crash").exists() else ""
    out = json.loads((out_dir / "out").read_text())
    assert out["hello"]["result"]["peer"]["uid"] == NOBODY
    assert out["hello"]["result"]["peer"]["can_act"] is False
    assert out["standby"]["ok"] is False
    assert out["standby"]["code"] == "forbidden"
    assert "nobody" in out["standby"]["error"] and "haclient" in out["standby"]["error"]
    assert out["status"]["result"]["node"] == "alpha"
    assert out["hbparameter"]["result"]["value"] == "1"
    assert handler_of(server).acts == []
    reason = out["hello"]["result"]["peer"]["reason"]
    assert reason == "not root, not the engine's user (root, uid 0) and not in group 'haclient'"
    assert any(reason in r.getMessage() for r in caplog.records)


def test_act_rule_root_owner_and_group_each_with_its_reason() -> None:
    rule = _ActRule("haclient", owner_uid=NOBODY)
    admin = rule.admin_gid()
    assert rule.decide(0, 0, ()) == (True, "root may act")
    assert rule.decide(NOBODY, NOBODY, ()) == (
        True,
        "same user as the engine (nobody, uid 65534) may act",
    )
    refused = rule.decide(OTHER_UID, OTHER_UID, (OTHER_UID,))
    assert refused == (
        False,
        "not root, not the engine's user (nobody, uid 65534) and not in group 'haclient'",
    )
    if admin is not None:
        assert rule.decide(OTHER_UID, OTHER_UID, (OTHER_UID, admin)) == (
            True,
            "member of group 'haclient' may act",
        )


def group_without_nobody() -> grp.struct_group:
    """An existing group that nobody is not in (by the database): the test's admin group."""
    for group in grp.getgrall():
        if group.gr_gid not in (0, NOBODY) and "nobody" not in group.gr_mem:
            return group
    pytest.skip("no group to use as the admin group")


def peergroups_supported() -> bool:
    left, right = socket.socketpair()
    with left, right:
        return _peer_groups(left) is not None


async def test_supplementary_group_of_the_process_may_act(sock_dir: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to run a client as user nobody with chosen groups")
    if not peergroups_supported():
        pytest.skip("the kernel does not report peer groups (SO_PEERGROUPS, Linux >= 4.13)")
    admin = group_without_nobody()
    srv = ControlServer(sock_dir / "control.sock", FixedHandler(), admin_group=admin.gr_name)
    await srv.start()
    try:
        member = await run_client_as(NOBODY, NOBODY, [admin.gr_gid], srv.path, sock_dir / "in")
        outsider = await run_client_as(NOBODY, NOBODY, [], srv.path, sock_dir / "out")
    finally:
        await srv.close()
    peer = member["hello"]["result"]["peer"]
    assert peer["can_act"] is True
    assert peer["reason"] == f"member of group {admin.gr_name!r} may act"
    assert member["standby"]["ok"] is True
    assert outsider["hello"]["result"]["peer"]["can_act"] is False
    assert outsider["standby"]["code"] == "forbidden"
    assert handler_of(srv).acts == [("standby", {"which": "all"}, NOBODY)]


def database_member() -> tuple[grp.struct_group, pwd.struct_passwd]:
    """A group with a listed non-root member that exists in the user database."""
    for group in grp.getgrall():
        for name in group.gr_mem:
            try:
                user = pwd.getpwnam(name)
            except KeyError:
                continue
            if user.pw_uid not in (0, NOBODY) and user.pw_gid != group.gr_gid:
                return group, user
    pytest.skip("no group in /etc/group lists a non-root member")


async def test_groups_come_from_the_database_only_when_the_kernel_cannot_say(
    sock_dir: Path,
) -> None:
    """SO_PEERGROUPS answers for 256 groups at most; with more, getgrouplist decides."""
    if os.getuid() != 0:
        pytest.skip("needs root to run a client as another user")
    if not peergroups_supported():
        pytest.skip("the kernel does not report peer groups (SO_PEERGROUPS, Linux >= 4.13)")
    admin, user = database_member()
    srv = ControlServer(sock_dir / "control.sock", FixedHandler(), admin_group=admin.gr_name)
    await srv.start()
    many = [gid for gid in range(70000, 70300) if gid != admin.gr_gid]
    try:
        as_logged_in = await run_client_as(
            user.pw_uid, user.pw_gid, [user.pw_gid], srv.path, sock_dir / "few"
        )
        too_many = await run_client_as(user.pw_uid, user.pw_gid, many, srv.path, sock_dir / "many")
    finally:
        await srv.close()
    # the process's own groups win: it has not "logged in again" since joining the group
    assert as_logged_in["hello"]["result"]["peer"]["can_act"] is False
    assert as_logged_in["standby"]["code"] == "forbidden"
    # 300 groups do not fit: the group database says the user is a member
    peer = too_many["hello"]["result"]["peer"]
    assert peer["can_act"] is True, peer
    assert too_many["standby"]["ok"] is True


async def test_stale_socket_is_replaced_but_live_one_is_not(sock_dir: Path) -> None:
    path = sock_dir / "control.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # leaves the file behind with nobody listening
    first = ControlServer(path, FixedHandler())
    await first.start()
    second = ControlServer(path, FixedHandler())
    with pytest.raises(ControlSocketInUse, match="already listening"):
        await second.start()
    await first.close()
    assert not path.exists()
    path.write_text("not a socket")
    with pytest.raises(ControlSocketInUse, match="not a socket"):
        await ControlServer(path, FixedHandler()).start()


async def test_close_ends_events_and_fails_pending_calls(
    server: ControlServer, client: ControlClient
) -> None:
    await client.subscribe()
    events = client.events()
    handler_of(server).hang = True
    pending = None
    if os.getuid() == 0:
        pending = asyncio.ensure_future(client.call("standby", which="all"))
        await asyncio.wait_for(handler_of(server).entered.wait(), 5)
    await server.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(events), 5)
    if pending is not None:
        with pytest.raises(ControlError) as lost:
            await asyncio.wait_for(pending, 5)
        assert lost.value.code == "disconnected"
    with pytest.raises(ControlError, match="disconnected"):
        await client.call("ping")


def test_default_socket_path() -> None:
    assert default_socket_path(Path("/var/lib/x")) == Path("/var/lib/x/control.sock")
    assert default_socket_path(None) == Path("/run/hatui/control.sock")
