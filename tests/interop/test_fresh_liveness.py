"""Fresh liveness next to the real Heartbeat 3.0.6 (issue 15 part 2).

Real Heartbeat cannot echo our sequence numbers in a status field, but it ACKs every
tenth message it receives (``NS_ackmsg ackseq=<our seq>``). Our sequence numbers are
unique across our runs (the generation is in their high 32 bits), so an ACK naming one
of this run's numbers proves the real node heard us after our restart; an ACK captured
before the restart names a number of an older run and proves nothing.

alpha = Heartbeat 3.0.6 (home of ``alpha IPaddr2::10.99.0.10/24/eth0 hbweb``), bravo =
hatui; ucast, sha1. Run with ``-s`` to see the numbers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from lab import Lab, nodes_by_name
from lab.capture import UdpCapture
from lab.mixed import VIP, HatuiMember, MixedCluster
from lab.replay import Replayer

INITDEAD = 3.0
START_TIMEOUT = 30.0
POLL = 0.01


@pytest.fixture(scope="module")
def mixed(interop_available: None) -> Iterator[MixedCluster]:
    lab = Lab(["alpha", "bravo"], networks=1)
    lab.start()
    cluster = MixedCluster(lab, {"alpha": "heartbeat", "bravo": "hatui"})
    try:
        cluster.configure()
        cluster.start()
        cluster.wait_mutual("active", START_TIMEOUT)
        cluster.wait_served_by("alpha", START_TIMEOUT, 0.1)
        yield cluster
    finally:
        cluster.close()
        lab.close()


def _hatui(cluster: MixedCluster) -> HatuiMember:
    member = cluster["bravo"]
    assert isinstance(member, HatuiMember)
    return member


def _alpha_seen(cluster: MixedCluster) -> dict[str, Any] | None:
    handle = _hatui(cluster).handle
    status = None if handle is None else handle.try_status()
    return None if status is None else nodes_by_name(status).get("alpha")


def _restart_hatui(cluster: MixedCluster) -> float:
    member = _hatui(cluster)
    assert member.handle is not None
    member.handle.kill()
    launched = time.monotonic()
    member.start()
    return launched


def test_a_real_heartbeat_peer_is_confirmed_by_its_ack_within_a_round_trip(
    mixed: MixedCluster,
) -> None:
    lab = mixed.lab
    alpha_ip, bravo_ip = lab.node("alpha").address(0), lab.node("bravo").address(0)
    with UdpCapture(lab.node("bravo").namespace, "eth0") as capture:
        launched = _restart_hatui(mixed)
        confirmed_at = None
        while time.monotonic() < launched + 20 and confirmed_at is None:
            seen = _alpha_seen(mixed)
            if seen is not None and seen.get("confirmed"):
                confirmed_at = time.monotonic()
            time.sleep(POLL)
        active_at = mixed.wait_mutual("active", START_TIMEOUT)
    assert confirmed_at is not None, mixed.diagnostics()
    first_sent = min(d.time for d in capture.datagrams if d.outgoing and d.source == bravo_ip)
    heard = [d for d in capture.datagrams if d.source == alpha_ip and d.time >= first_sent]
    first_heard = min(d.time for d in heard)
    acks = [d for d in heard if d.message_type == "NS_ackmsg" and b"dest=bravo" in d.payload]
    seen = _alpha_seen(mixed) or {}
    print(
        f"\nreal Heartbeat alpha confirmed {1000 * (confirmed_at - first_sent):.0f} ms after "
        f"hatui's first heartbeat, {1000 * (confirmed_at - first_heard):.0f} ms after alpha's "
        f"first packet reached it; mutual active {active_at - launched:.2f} s after launch; "
        f"{len(acks)} ACK(s) from alpha to bravo; {seen.get('freshness')}"
    )
    assert str(seen.get("freshness", "")).startswith("fresh: it acknowledged our seq"), seen
    assert acks
    assert confirmed_at - first_heard <= 0.2 + 0.3  # a round trip, polling and load slack


def test_b_replayed_real_heartbeat_is_declared_dead_and_its_group_taken_over(
    mixed: MixedCluster,
) -> None:
    lab = mixed.lab
    alpha_ip = lab.node("alpha").address(0)
    with UdpCapture(lab.node("bravo").namespace, "eth0") as capture:
        time.sleep(4.0)
    captured = [d for d in capture.datagrams if not d.outgoing and d.source == alpha_ip]
    assert any(d.message_type == "NS_ackmsg" for d in captured) or len(captured) >= 15
    mixed.crash("alpha")
    bravo_ip = lab.node("bravo").address(0)
    with Replayer(lab, bravo_ip, captured) as replay:
        launched = _restart_hatui(mixed)
        shown: set[tuple[str, bool]] = set()
        dead_at = None
        while time.monotonic() < launched + 15 and dead_at is None:
            seen = _alpha_seen(mixed)
            if seen is not None:
                shown.add((str(seen["status"]), bool(seen["confirmed"])))
                if seen["status"] == "dead":
                    dead_at = time.monotonic()
            time.sleep(POLL)
        served_at = mixed.wait_served_by("bravo", START_TIMEOUT, 0.05)
    assert dead_at is not None, mixed.diagnostics()
    print(
        f"\nreplay of real Heartbeat ({len(captured)} datagrams, {replay.sent} sent): alpha "
        f"shown {sorted(shown)}; dead {1000 * (dead_at - launched):.0f} ms after hatui's "
        f"launch (initdead 3000 ms); VIP {VIP} served by bravo {served_at - launched:.1f} s "
        "after launch"
    )
    assert not any(state == "active" for state, _ in shown)
    assert ("up", False) in shown
    assert dead_at - launched >= INITDEAD
