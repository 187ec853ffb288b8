"""Replay after our restart, on real processes (issue 15 part 2).

alpha + bravo, ucast eth0, ``bravo IPaddr2::10.99.0.20/24/eth0 hbweb``, authkeys
``aes256gcm`` (hatui-only clusters encrypt: nothing readable is captured, and replayed
sealed datagrams decrypt fine, so freshness must still be proven). bravo's heartbeats
are captured on alpha's interface; then alpha's engine is restarted and:

* with bravo alive, the time from bravo's first heartbeat after alpha's start to bravo
  being confirmed is measured (printed; the fake-clock test holds the one-keepalive
  bound exactly);
* with bravo crashed and its captured traffic played back in a loop, alpha never shows
  bravo ``active``, declares it dead once alpha's initdead has passed, and takes its
  group over while the replay goes on.

Run with ``-s`` to see the numbers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from lab import Lab, nodes_by_name, wait_until
from lab.capture import UdpCapture, UdpDatagram
from lab.cluster import Cluster, Timers, ucast_lines
from lab.engine import EngineHandle
from lab.hbweb import PORT, hbweb_script
from lab.replay import Replayer

VIP = "10.99.0.20"
HARESOURCES = f"bravo IPaddr2::{VIP}/24/eth0 hbweb\n"
TIMERS = Timers(keepalive="200ms", deadtime="1", warntime="600ms", initdead="3")
INITDEAD = 3.0
ACQUIRE_TIMEOUT = 30.0
POLL = 0.01
AUTH = ("aes256gcm", "lab-aes-secret-0123456789abcdef0123")


@dataclass
class Pair:
    lab: Lab
    cluster: Cluster

    @property
    def alpha(self) -> EngineHandle:
        return self.cluster.engines["alpha"]

    def bravo_seen_by_alpha(self) -> dict[str, Any] | None:
        status = self.alpha.try_status()
        return None if status is None else nodes_by_name(status).get("bravo")

    def restart_alpha(self) -> float:
        """SIGKILL alpha's engine and start it again; returns the launch time."""
        self.alpha.kill()
        launched = time.monotonic()
        self.cluster.start("alpha")
        return launched


@pytest.fixture(scope="module")
def pair(engine_available: None) -> Iterator[Pair]:
    with Lab(["alpha", "bravo"], networks=1) as lab:
        cluster = Cluster(
            lab,
            ucast_lines(lab, "eth0", 0),
            TIMERS,
            haresources=HARESOURCES,
            scripts={"hbweb": hbweb_script()},
            auth=AUTH,
        )
        cluster.start_all()
        cluster.wait_all_active(timeout=15)
        lab.wait_http_body(VIP, PORT, "bravo", ACQUIRE_TIMEOUT, 0.05)
        yield Pair(lab, cluster)


def _bravo_heartbeats(lab: Lab, seconds: float) -> list[UdpDatagram]:
    """What alpha's eth0 receives from bravo during ``seconds``."""
    bravo_ip = lab.node("bravo").address(0)
    with UdpCapture(lab.node("alpha").namespace, "eth0") as capture:
        time.sleep(seconds)
    return [d for d in capture.datagrams if not d.outgoing and d.source == bravo_ip]


def test_a_formation_after_restart_costs_at_most_about_one_keepalive(pair: Pair) -> None:
    bravo_ip = pair.lab.node("bravo").address(0)
    alpha_ip = pair.lab.node("alpha").address(0)
    with UdpCapture(pair.lab.node("alpha").namespace, "eth0") as capture:
        pair.restart_alpha()
        confirmed_at = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            seen = pair.bravo_seen_by_alpha()
            if seen is not None and seen.get("confirmed"):
                confirmed_at = time.monotonic()
                break
            time.sleep(POLL)
        time.sleep(0.05)
    assert confirmed_at is not None, pair.alpha.log_lines()[-20:]
    first_sent = min(d.time for d in capture.datagrams if d.outgoing and d.source == alpha_ip)
    first_heard = min(
        d.time
        for d in capture.datagrams
        if not d.outgoing and d.source == bravo_ip and d.time >= first_sent
    )
    extra = confirmed_at - first_heard
    print(
        f"\nbravo confirmed {1000 * (confirmed_at - first_sent):.0f} ms after alpha's first "
        f"heartbeat; {1000 * extra:.0f} ms after bravo's first heartbeat reached alpha "
        f"(keepalive 200 ms, status polled every {POLL * 1000:.0f} ms)"
    )
    seen = pair.bravo_seen_by_alpha() or {}
    assert str(seen.get("freshness", "")).startswith("fresh:"), seen
    assert extra <= 0.2 + 0.3  # one keepalive + polling and scheduling slack
    wait_until(lambda: pair.cluster.everyone_sees("active", ["alpha", "bravo"]), 10, 0.05)


def test_b_replayed_dead_peer_is_declared_dead_at_initdead_and_taken_over(pair: Pair) -> None:
    captured = _bravo_heartbeats(pair.lab, 4.0)
    assert len(captured) >= 15
    for datagram in captured:  # encrypted: no Heartbeat frame, no name, no status word
        assert datagram.payload.startswith(b"hAE\x01"), datagram.payload[:16]
        assert b"bravo" not in datagram.payload and b"status" not in datagram.payload
    pair.lab.kill_node("bravo")
    alpha_ip = pair.lab.node("alpha").address(0)
    with Replayer(pair.lab, alpha_ip, captured) as replay:
        launched = pair.restart_alpha()
        shown: list[tuple[float, str, bool]] = []
        dead_at = None
        while time.monotonic() < launched + 15 and dead_at is None:
            seen = pair.bravo_seen_by_alpha()
            if seen is not None:
                shown.append((time.monotonic(), str(seen["status"]), bool(seen["confirmed"])))
                if seen["status"] == "dead":
                    dead_at = time.monotonic()
            time.sleep(POLL)
        served_at = pair.lab.wait_http_body(VIP, PORT, "alpha", ACQUIRE_TIMEOUT, 0.05)
        states = {state for _, state, _ in shown}
        status = pair.alpha.status()
    assert dead_at is not None, shown[-5:]
    print(
        f"\nreplay of {len(captured)} captured datagrams ({replay.sent} sent in "
        f"{replay.rounds} rounds): bravo shown {sorted(states)}; dead "
        f"{1000 * (dead_at - launched):.0f} ms after alpha's launch (initdead 3000 ms); "
        f"group served by alpha {served_at - launched:.1f} s after launch"
    )
    assert "active" not in states
    assert ("up", False) in {(state, confirmed) for _, state, confirmed in shown}
    assert dead_at - launched >= INITDEAD
    assert status["counters"].get("unconfirmed", 0) > 0
    bravo = nodes_by_name(status)["bravo"]
    assert bravo["status"] == "dead" and bravo["confirmed"] is False
    log = "\n".join(pair.alpha.log_lines())
    assert "showed within initdead 3000 ms that it hears us" in log
    assert "heartbeats proven fresh" not in log.split("Heartbeat generation")[-1]
