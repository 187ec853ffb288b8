"""Real engines with ``--metrics``: scrape bravo while alpha dies and see counters move."""

from __future__ import annotations

import re
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.loopback import Cluster, held_by, node_status, wait_for
from tests.site.metrics_text import parse_samples


def _tcp_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def scrape(port: int) -> dict[str, float]:
    """Every sample of the endpoint as ``name{labels}`` → value."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        assert reply.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse_samples(reply.read().decode())


def _scrape_or_none(port: int) -> dict[str, float] | None:
    try:
        return scrape(port)
    except OSError:
        return None


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[tuple[Cluster, int]]:
    c = Cluster(tmp_path)
    port = _tcp_port()
    c["bravo"].extra = ["--metrics", f"127.0.0.1:{port}"]
    try:
        yield c, port
    finally:
        c.close()


@pytest.mark.slow
def test_counters_move_during_failover(cluster: tuple[Cluster, int]) -> None:
    c, port = cluster
    c.start()
    wait_for(lambda: node_status(c["bravo"].status(), "alpha") == "active", 10)
    wait_for(lambda: held_by(c["alpha"].status()) == "alpha", 20)
    before = wait_for(lambda: _scrape_or_none(port), 5)
    assert before["haengine_node_deaths_total"] == 0
    assert before["haengine_takeovers_total"] == 0
    assert before['haengine_node_up{node="alpha"}'] == 1
    link = 'node="alpha",link="lo"'
    assert before[f"haengine_link_up{{{link}}}"] == 1
    assert before[f"haengine_link_last_heard_seconds{{{link}}}"] < 1.0
    assert before[f"haengine_link_heartbeat_interval_seconds_count{{{link}}}"] > 5
    # Heartbeats come every 200 ms: nearly all fall at or under the 0.3 s bucket.
    under = before[f'haengine_link_heartbeat_interval_seconds_bucket{{{link},le="0.3"}}']
    assert under >= 0.8 * before[f"haengine_link_heartbeat_interval_seconds_count{{{link}}}"]

    c["alpha"].kill()
    wait_for(lambda: c["bravo"].holds("two"), 5)
    acquired = 'haengine_resource_action_duration_seconds_count{action="acquire"}'
    # the takeover is counted when it starts, the acquire's duration when it ends
    after = wait_for(
        lambda: (
            (s := _scrape_or_none(port)) and s["haengine_takeovers_total"] and s.get(acquired) and s
        ),
        10,
    )
    assert after["haengine_node_deaths_total"] == 1
    assert after['haengine_node_up{node="alpha"}'] == 0
    assert after[f"haengine_link_up{{{link}}}"] == 0
    # The link dies with its node; its last packet (maybe an ACK after the last status)
    # is at least deadtime - keepalive old by then.
    assert after[f"haengine_link_last_heard_seconds{{{link}}}"] >= 0.8
    assert after[acquired] >= 1
    assert after['haengine_resource_action_failures_total{action="acquire"}'] == 0
    assert after['haengine_group_held{group="demo-svc::one",home="alpha"}'] == 1


def _udpport(c: Cluster) -> int:
    text = (c["bravo"].config_dir / "ha.cf").read_text()
    return int(re.search(r"^udpport (\d+)$", text, re.M).group(1))  # type: ignore[union-attr]


@pytest.mark.slow
def test_endpoint_answers_bad_requests_and_stays_up(cluster: tuple[Cluster, int]) -> None:
    c, port = cluster
    c.start("bravo")
    wait_for(lambda: _scrape_or_none(port), 10)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"garbage\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 400")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 404")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /metrics HTTP/1.1\r\n\r\n")
        assert sock.recv(100).startswith(b"HTTP/1.1 405")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.sendto(b"not a heartbeat packet", (c["bravo"].address, _udpport(c)))
    wait_for(
        lambda: (
            (s := _scrape_or_none(port))
            and s.get('haengine_packets_rejected_total{reason="bad_format"}', 0) >= 1
        ),
        5,
    )
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    assert re.search(
        r'^haengine_info\{node="bravo",cluster="linux-ha",version="[^"]+"\} 1$', text, re.M
    )


@pytest.mark.slow
def test_engine_notifies_systemd(
    tmp_path: Path, cluster: tuple[Cluster, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Type=notify: READY=1 once the links are open, STOPPING=1 on SIGTERM."""
    c, port = cluster
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(10)
        monkeypatch.setenv("NOTIFY_SOCKET", str(path))
        c.start("bravo")
        ready = sock.recv(4096).decode()
        assert ready.startswith("READY=1\nSTATUS=heartbeating on 2 link(s)")
        assert _scrape_or_none(port) is not None  # everything was open before READY
        assert c["bravo"].stop() == 0
        messages = []
        while not any(m.startswith("STOPPING=1") for m in messages):
            messages.append(sock.recv(4096).decode())
