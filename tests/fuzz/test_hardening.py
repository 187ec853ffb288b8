"""Hardening of the membership core and the shell: one-way loss, jitter, bounds, logs."""

from __future__ import annotations

import json
import random
from pathlib import Path

from engine.core import events as ev
from engine.core.membership import HEARS_FIELD, Membership
from engine.protocol.auth import Authenticator
from engine.protocol.codec import decode_datagram
from engine.shell.badpackets import BadPacketLog
from engine.shell.state import load_peer_generations, save_peer_generations
from tests.core.sim import KEY, Net, make_config


def test_status_lists_the_peers_its_sender_hears() -> None:
    net = Net()
    net.start()
    net.run_for(2.0)
    sent = [data for who, data in net.wire if who == "alpha"]
    msg = decode_datagram(sent[-1], Authenticator(KEY))
    if msg.type != "status":
        msg = next(
            m
            for m in (decode_datagram(d, Authenticator(KEY)) for d in reversed(sent))
            if m.type == "status"
        )
    assert msg.get(HEARS_FIELD) == "bravo"


def test_one_way_loss_is_seen_at_the_end_that_still_hears() -> None:
    """alpha -> bravo is cut on every link: bravo sees alpha die, alpha learns one-way."""
    net = Net()
    net.start()
    net.run_for(4.0)
    for link in net.links:
        net.cut.add(("alpha", "bravo", link))
    net.cut.clear()
    # One-way: drop only alpha -> bravo by stopping delivery to bravo of alpha's packets.
    original = net.nodes["bravo"].core.receive

    def bravo_receive(data: bytes, link: str, now: float, wall: float) -> bool:
        msg = decode_datagram(data, Authenticator(KEY))
        if msg.get("src") == "alpha":
            return False
        return original(data, link, now, wall)

    net.nodes["bravo"].core.receive = bravo_receive  # type: ignore[method-assign]
    net.run_for(5.0)
    alpha = net.nodes["alpha"].core
    assert "bravo" in alpha.one_way, alpha.one_way
    assert alpha.nodes["bravo"].status != "dead"  # alpha still hears bravo
    assert any("one-way communication" in e.text for e in net.nodes["alpha"].events)
    snap = {n["name"]: n for n in alpha.snapshot(net.now)["nodes"]}
    assert "one-way" in (snap["bravo"]["one_way"] or "")
    net.nodes["bravo"].core.receive = original  # type: ignore[method-assign]
    net.run_for(3.0)
    assert "bravo" not in alpha.one_way


def test_send_period_jitter_is_early_never_late() -> None:
    config = make_config("alpha")
    core = Membership(
        config, Authenticator(KEY), uuid=b"\1" * 16, generation=1, now=0.0, rng=random.Random(3)
    )
    core.start(0.0, 1.0)
    gaps = []
    now = 0.0
    for _ in range(200):
        due = core._next_status
        gaps.append(due - now)
        now = due
        core.tick(now, now + 1)
        core.drain_outbound()
        core.drain_events()
    keepalive = config.timing.keepalive_ms / 1000
    steady = gaps[30:]
    assert max(steady) <= keepalive + 1e-9
    assert min(steady) >= keepalive * 0.95 - 1e-9
    assert len({round(g, 6) for g in steady}) > 10  # really jittered


def test_bad_packet_log_is_time_limited_with_a_summary() -> None:
    log = BadPacketLog(per_second=5, summary_period=10.0)
    admitted = sum(log.admit("bad_auth", 100.0 + i / 20_000) for i in range(20_000))
    assert admitted == 5
    assert log.summary(105.0) is None
    summary = log.summary(110.5)
    assert summary is not None and "19995" in summary and "bad_auth: 19995" in summary
    assert log.summary(111.0) is None
    assert log.admit("bad_format", 111.2)  # a new second admits again


def test_peer_generation_survives_our_restart(tmp_path: Path) -> None:
    """Replay of bravo's packets from before its restart is refused even after we restart."""
    net = Net()
    net.start()
    net.run_for(2.0)
    old_packets = [d for who, d in net.wire if who == "bravo"]
    alpha = net.nodes["alpha"].core
    save_peer_generations(tmp_path, {"bravo": alpha.nodes["bravo"].track.generation + 5})
    stored = load_peer_generations(tmp_path)
    assert json.loads((tmp_path / "peer_generations.json").read_text())
    fresh = Membership(
        make_config("alpha"),
        Authenticator(KEY),
        uuid=b"\1" * 16,
        generation=999,
        now=net.now,
        peer_generations=stored,
    )
    for data in old_packets:
        fresh.receive(data, "eth0", net.now, net.wall())
    events = fresh.drain_events()
    assert fresh.rejected["replay"] >= 1
    assert fresh.nodes["bravo"].status != "active"
    assert not any(isinstance(e, ev.NodeStatusChanged) and e.node == "bravo" for e in events)
