"""engine/shell/metrics.py without processes: address parsing, recording, rendering, serving;
engine/shell/sdnotify.py against a real datagram socket."""

from __future__ import annotations

import asyncio
import copy
import os
import socket
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engine.programs.haengine import main as haengine
from engine.shell import sdnotify
from engine.shell.metrics import EngineStats, MetricsServer, parse_listen_address, render

STATUS: dict[str, Any] = {
    "node": "bravo",
    "cluster": "linux-ha",
    "version": "0.1.0",
    "nodes": [
        {"name": "alpha", "self": False, "status": "dead",
         "links": [{"name": "eth0", "status": "dead", "last_heard_ms": 1500, "late": 2}]},
        {"name": "bravo", "self": True, "status": "active", "links": []},
    ],
    "links": [{"name": "eth0", "sent": 10, "received": 9, "send_errors": 0}],
    "groups": [{"key": 'IPaddr2::10.0.0.1', "home": "alpha", "held_by": "bravo",
                "state": "running"}],
    "counters": {"deaths": 1, "late_heartbeats": 2, "rejected": {"bad_auth": 3}},
}  # fmt: skip


@dataclass
class FakeLink:
    last_status_at: float | None = None
    intervals_ms: deque[int] = field(default_factory=deque)


@dataclass
class FakeNode:
    name: str
    is_self: bool
    links: dict[str, Any]


def test_listen_address_forms_and_errors() -> None:
    assert parse_listen_address("9694") == ("127.0.0.1", 9694)
    assert parse_listen_address(":9694") == ("127.0.0.1", 9694)
    assert parse_listen_address("0.0.0.0:80") == ("0.0.0.0", 80)
    assert parse_listen_address("[::1]:9694") == ("::1", 9694)
    with pytest.raises(ValueError, match="port 'x' is not a number"):
        parse_listen_address("127.0.0.1:x")
    with pytest.raises(ValueError, match=r"not in 1\.\.65535"):
        parse_listen_address("70000")
    with pytest.raises(ValueError, match="is not an IP address"):
        parse_listen_address("example.org:9694")


def test_bad_metrics_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        haengine(["--metrics", "nope:1:2", "--check-config"])
    assert exc.value.code == 2
    assert "metrics address" in capsys.readouterr().err


def test_render_derives_everything_from_the_status_document() -> None:
    stats = EngineStats()
    stats.policy_event("takeover", "Resources being acquired from alpha.")
    stats.policy_event("takeover", "Dead node alpha gave up resources.")  # not a takeover
    stats.action_submitted(1, "acquire", now=10.0)
    stats.action_submitted(2, "release", now=10.5)  # queued behind 1
    stats.action_finished(1, True, now=12.0)
    stats.action_finished(2, False, now=12.25)
    stats.action_submitted(3, "fence", now=20.0)
    stats.action_finished(3, False, now=20.1)
    text = render(STATUS, stats)
    lines = set(text.splitlines())
    assert 'haengine_info{node="bravo",cluster="linux-ha",version="0.1.0"} 1' in lines
    assert 'haengine_node_up{node="alpha"} 0' in lines
    assert 'haengine_link_up{node="alpha",link="eth0"} 0' in lines
    assert 'haengine_link_last_heard_seconds{node="alpha",link="eth0"} 1.5' in lines
    assert 'haengine_link_late_heartbeats_total{node="alpha",link="eth0"} 2' in lines
    assert "haengine_node_deaths_total 1" in lines
    assert "haengine_takeovers_total 1" in lines
    assert 'haengine_fences_total{result="failed"} 1' in lines
    assert 'haengine_resource_action_failures_total{action="release"} 1' in lines
    # acquire ran 10.0 → 12.0; release waited, then ran 12.0 → 12.25.
    assert 'haengine_resource_action_duration_seconds_sum{action="acquire"} 2.0' in lines
    assert 'haengine_resource_action_duration_seconds_sum{action="release"} 0.25' in lines
    assert 'haengine_resource_action_duration_seconds_bucket{action="release",le="0.1"} 0' in lines
    assert 'haengine_resource_action_duration_seconds_bucket{action="release",le="0.25"} 1' in lines
    assert 'haengine_packets_rejected_total{reason="bad_auth"} 3' in lines
    assert 'haengine_group_held{group="IPaddr2::10.0.0.1",home="alpha"} 1' in lines
    assert text.count("# TYPE haengine_link_up gauge") == 1


def test_monitor_checks_are_counted_beside_the_action_queue() -> None:
    from engine.core.policy_types import MonitorCheck

    stats = EngineStats()
    stats.action_submitted(1, "acquire", now=1.0)
    stats.action_submitted(2, "monitor", now=1.5)  # runs beside the queue: not queued
    stats.action_submitted(3, "cancelmonitor", now=1.6)
    stats.action_finished(1, True, now=2.0)
    stats.monitor_finished([MonitorCheck("ip", "ok"), MonitorCheck("web", "timeout")])
    stats.monitor_finished([MonitorCheck("ip", "ok"), MonitorCheck("web", "ok")])
    doc = dict(STATUS, groups=[dict(STATUS["groups"][0], monitor={"failures": 1})])
    lines = set(render(doc, stats).splitlines())
    assert 'haengine_resource_action_duration_seconds_sum{action="acquire"} 1.0' in lines
    assert "haengine_monitor_checks_total 2" in lines
    assert 'haengine_monitor_failures_total{result="timeout"} 1' in lines
    assert 'haengine_monitor_failures_total{result="not running"} 0' in lines
    assert 'haengine_group_monitor_failures{group="IPaddr2::10.0.0.1",home="alpha"} 1' in lines
    assert stats.counters()["monitor_failures"] == {"timeout": 1}


def test_link_histogram_counts_each_new_heartbeat_once() -> None:
    stats = EngineStats()
    link = FakeLink()
    nodes = [FakeNode("alpha", False, {"eth0": link}), FakeNode("me", True, {"eth0": FakeLink()})]
    link.last_status_at = 1.0
    stats.observe_links(nodes)  # first heartbeat: no interval yet
    for at, interval in ((1.2, 200), (1.4, 200), (2.4, 1000)):
        link.last_status_at = at
        link.intervals_ms.append(interval)
        stats.observe_links(nodes)
        stats.observe_links(nodes)  # a datagram that was not a heartbeat
    hist = stats.link_intervals[("alpha", "eth0")]
    assert hist.total == 3
    assert hist.sum == pytest.approx(1.4)
    assert list(stats.link_intervals) == [("alpha", "eth0")]


def test_label_values_are_escaped() -> None:
    doc = {"node": 'we"ird\\name\n', "nodes": [], "counters": {}}
    assert 'haengine_info{node="we\\"ird\\\\name\\n",cluster="",version=""} 1' in render(doc)


async def test_server_answers_get_and_refuses_the_rest() -> None:
    server = MetricsServer("127.0.0.1", 0, lambda: "haengine_up 1\n")
    await server.start()
    try:

        async def ask(request: bytes) -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(request)
            await writer.drain()
            reply = await reader.read()
            writer.close()
            return reply

        ok = await ask(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        assert ok.startswith(b"HTTP/1.1 200 OK") and ok.endswith(b"\r\n\r\nhaengine_up 1\n")
        assert (await ask(b"DELETE /metrics HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 405")
        assert (await ask(b"GET /x HTTP/1.1\r\n\r\n")).startswith(b"HTTP/1.1 404")
        assert (await ask(b"\r\n\r\n")).startswith(b"HTTP/1.1 400")
    finally:
        await server.close()


def test_sd_notify_sends_one_datagram(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        env = {"NOTIFY_SOCKET": str(path)}
        assert sdnotify.notify("READY=1", "STATUS=heartbeating", environ=env)
        assert sock.recv(100) == b"READY=1\nSTATUS=heartbeating"
    assert not sdnotify.notify("READY=1", environ={})
    assert not sdnotify.notify("READY=1", environ={"NOTIFY_SOCKET": str(tmp_path / "gone")})


def test_watchdog_interval_is_half_the_timeout() -> None:
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "10000000"}) == 5.0
    assert sdnotify.watchdog_interval({}) is None
    assert sdnotify.watchdog_interval({"WATCHDOG_USEC": "x"}) is None
    other = {"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": str(os.getpid() + 1)}
    assert sdnotify.watchdog_interval(other) is None


def test_node_up_is_the_one_rule_of_up_and_garbage_renders_nothing_wrong() -> None:
    nodes = [
        {"name": "alpha", "status": "init"},
        {"name": "bravo", "status": "up", "confirmed": False},
        {"name": "charlie", "status": "active", "confirmed": True},
        {"name": "gw", "type": "ping", "status": "ping"},
    ]
    lines = set(render({"node": "charlie", "nodes": nodes}).splitlines())
    assert 'haengine_node_up{node="alpha"} 0' in lines  # still starting
    assert 'haengine_node_up{node="bravo"} 0' in lines  # packets may be replays
    assert 'haengine_node_up{node="charlie"} 1' in lines
    assert 'haengine_node_up{node="gw"} 1' in lines
    garbage = render({"nodes": "none", "groups": [3], "counters": [], "loop": 7})
    assert "haengine_node_up{" not in garbage and "haengine_group_held{" not in garbage


def test_a_peer_not_confirmed_fresh_is_not_up() -> None:
    """``up`` with ``confirmed: false`` (packets that may be replays, issue 15) is 0."""
    doc = copy.deepcopy(STATUS)
    doc["nodes"][0].update(status="up", confirmed=False)
    assert 'haengine_node_up{node="alpha"} 0' in render(doc).splitlines()
    doc["nodes"][0]["confirmed"] = True
    assert 'haengine_node_up{node="alpha"} 1' in render(doc).splitlines()
