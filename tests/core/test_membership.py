"""Membership core with a fake clock: deaths, late warnings, initdead, replays."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from engine.config.model import AuthConfig, AuthKey, SourceRef
from engine.core import events as ev
from engine.core.membership import Membership
from engine.protocol.auth import Authenticator
from engine.protocol.codec import decode_datagram, encode_wire
from engine.protocol.message import Message
from tests.core.sim import KEY, Net, make_config


def formed() -> Net:
    net = Net()
    net.start()
    net.run_for(2.0)
    return net


def test_startup_sequence_and_comm_up() -> None:
    net = Net()
    net.start()
    sent = [decode_datagram(d, None) for src, d in net.wire if src == "alpha"]
    statuses = [m for m in sent if m.type == "status"]
    assert [m.get("st") for m in statuses[:3]] == ["init", "up", "up"]
    # Numbered from the generation (100 for alpha) so that they are unique across runs.
    assert [m.get("seq") for m in statuses[:3]] == ["6400000001", "6400000002", "6400000003"]
    # Startup advertises deadtime + 2 s for five seconds (spec §6.2).
    assert statuses[0].get("dt") == format(3000, "x")
    net.run_for(1.0)
    for node in net.nodes.values():
        assert node.core.comm_up
        assert node.core.status == "active"
        assert node.of(ev.CommUp)
    assert net.nodes["alpha"].core.nodes["bravo"].status == "active"


def test_startup_deadtime_bump_ends_after_five_seconds() -> None:
    net = formed()
    net.wire.clear()
    net.run_for(5.0)
    dts = [decode_datagram(d, None).get("dt") for s, d in net.wire if s == "alpha"]
    assert dts[-1] == format(1000, "x")


def test_dead_exactly_at_advertised_deadtime() -> None:
    net = formed()
    net.run_for(6.0)  # past the startup dt bump
    bravo = net.nodes["bravo"]
    last_heard = net.nodes["alpha"].core.nodes["bravo"].local_lastupdate
    bravo.alive = False
    net.run_for(3.0)
    deaths = net.nodes["alpha"].of(ev.NodeDead)
    assert len(deaths) == 1
    death = deaths[0]
    assert isinstance(death, ev.NodeDead)
    assert death.silent_ms == 1000
    assert "bravo declared dead after 1000 ms without heartbeats on eth0, eth1" in death.reason
    alpha_core = net.nodes["alpha"].core
    assert alpha_core.nodes["bravo"].status == "dead"
    # The link-dead lines follow the node death.
    texts = [e.text for e in net.nodes["alpha"].events]
    i = texts.index("node bravo: is dead")
    assert "Link bravo:eth0 dead." in texts[i:]
    assert last_heard + 1.0 <= net.now


def test_death_uses_peer_advertised_deadtime() -> None:
    net = Net()
    # bravo uses a longer deadtime than alpha; alpha must wait bravo's advertised value.
    net.nodes["bravo"].core.config = make_config("bravo", deadtime=2000, warntime=1000)
    net.start()
    net.run_for(7.0)
    net.nodes["bravo"].alive = False
    net.run_for(1.5)
    assert not net.nodes["alpha"].of(ev.NodeDead)
    net.run_for(1.0)
    death = net.nodes["alpha"].of(ev.NodeDead)[0]
    assert isinstance(death, ev.NodeDead) and death.silent_ms == 2000


def test_late_heartbeat_warning_at_warntime() -> None:
    net = formed()
    net.run_for(6.0)
    net.nodes["bravo"].alive = False
    net.run_for(0.7)  # silent for > warntime (600 ms) but < deadtime
    net.nodes["bravo"].alive = True
    net.nodes["bravo"].core.drain_outbound()
    net.nodes["bravo"].core.tick(net.now, net.wall())
    net.flush()
    late = net.nodes["alpha"].of(ev.LateHeartbeat)
    assert late and isinstance(late[0], ev.LateHeartbeat)
    assert late[0].interval_ms > 600 and not late[0].critical
    assert late[0].text.startswith("Late heartbeat: Node bravo: interval ")
    assert not net.nodes["alpha"].of(ev.NodeDead)


def test_initdead_honoured_for_a_silent_peer() -> None:
    net = Net()
    net.nodes["bravo"].alive = False
    net.start("alpha")
    net.run_until(1000.0 + 2.99)
    assert not net.nodes["alpha"].of(ev.NodeDead)
    net.run_until(1000.0 + 3.01)
    death = net.nodes["alpha"].of(ev.NodeDead)
    assert death and "never heard within initdead 3000 ms" in death[0].reason  # type: ignore[attr-defined]
    assert net.nodes["alpha"].core.comm_up


def test_cut_link_marks_only_that_link_dead() -> None:
    net = formed()
    net.run_for(6.0)  # past the startup deadtime bump
    net.cut.add(("alpha", "bravo", "eth1"))
    net.run_for(1.1)
    alpha = net.nodes["alpha"].core.nodes["bravo"]
    assert alpha.links["eth1"].status == "dead"
    assert alpha.links["eth0"].status == "up"
    assert alpha.status == "active"
    net.cut.clear()
    net.run_for(0.5)
    assert alpha.links["eth1"].status == "up"


def test_duplicates_and_replays_dropped() -> None:
    net = formed()
    alpha = net.nodes["alpha"]
    captured = [d for s, d in net.wire if s == "bravo"]
    before_keep = len(alpha.of(ev.NodeStatusChanged))
    # Replaying an old numbered packet (seq below last) has no effect.
    for data in captured[:5]:
        alpha.core.receive(data, "eth0", net.now, net.wall())
    net.flush()
    assert len(alpha.of(ev.NodeStatusChanged)) == before_keep
    # A packet from an older generation is refused as a replay and counted.
    old_bravo = Membership(
        make_config("bravo"), Authenticator(KEY), uuid=b"\x02" * 16, generation=50, now=net.now
    )
    old_bravo.start(net.now, net.wall())
    for data in old_bravo.drain_outbound():
        alpha.core.receive(data, "eth0", net.now, net.wall())
    assert alpha.core.rejected["replay"] >= 1
    net.flush()
    assert any("attempted replay attack [bravo]" in e.text for e in alpha.events)


def test_wrong_key_rejected_and_counted() -> None:
    net = formed()
    other = AuthConfig(1, (AuthKey(1, "sha1", b"another-key", SourceRef("authkeys", 2)),))
    msg = Message.of(
        ("t", "status"),
        ("st", "active"),
        ("src", "bravo"),
        ("seq", "999"),
        ("hg", "65"),
        ("ts", "6b06dd3a"),
    )
    forged = encode_wire(msg, Authenticator(other))
    alpha = net.nodes["alpha"].core
    alpha.receive(forged, "eth0", net.now, net.wall())
    assert alpha.rejected["bad_auth"] == 1
    assert alpha.nodes["bravo"].track.last_seq != 0x999


def test_restart_detected_by_higher_generation() -> None:
    net = formed()
    bravo2 = Membership(
        make_config("bravo"),
        Authenticator(KEY),
        uuid=b"\x02" * 16,
        generation=500,
        now=net.now,
        rng=random.Random(5),
    )
    net.nodes["bravo"].core = bravo2
    net.start("bravo")
    restarts = net.nodes["alpha"].of(ev.NodeRestarted)
    assert restarts and restarts[0].text == "Heartbeat restart on node bravo"
    assert isinstance(restarts[0], ev.NodeRestarted) and restarts[0].new_generation == 500


def test_gap_requests_retransmission_and_is_filled() -> None:
    net = formed()
    alpha = net.nodes["alpha"]
    bravo = net.nodes["bravo"]
    # Lose bravo's next two packets on every link.
    lost: list[bytes] = []
    for _ in range(2):
        bravo.core.send(Message.of(("t", "custom")), net.now, net.wall())
        lost.extend(bravo.core.drain_outbound())
    net.run_for(0.3)  # bravo's next status reveals the gap
    assert any("lost packet(s) for [bravo]" in e.text for e in alpha.events)
    net.run_for(0.5)
    assert alpha.core.nodes["bravo"].track.missing == {}
    assert any(e.text == "No pkts missing from bravo!" for e in alpha.events)
    got = [e for e in alpha.of(ev.MessageReceived) if e.message.type == "custom"]  # type: ignore[attr-defined]
    assert len(got) == 2


def test_garbage_never_raises_and_changes_nothing() -> None:
    net = formed()
    alpha = net.nodes["alpha"].core
    rng = random.Random(7)
    sample = [d for s, d in net.wire if s == "bravo"][-1]
    for _ in range(3000):
        data = bytearray(sample)
        for _ in range(rng.randrange(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        alpha.receive(bytes(data), "eth0", net.now, net.wall())
        alpha.receive(rng.randbytes(rng.randrange(0, 400)), "eth1", net.now, net.wall())
    assert sum(alpha.rejected.values()) >= 5900
    assert alpha.nodes["bravo"].status == "active"


@pytest.mark.parametrize("three", [("alpha", "bravo", "charlie")])
def test_three_nodes_each_see_the_others(three: tuple[str, str, str]) -> None:
    net = Net(three)
    net.start()
    net.run_for(1.0)
    for node in net.nodes.values():
        assert all(n.status == "active" for n in node.core.peers())
    net.nodes["charlie"].alive = False
    net.run_for(7.0)
    for name in ("alpha", "bravo"):
        assert net.nodes[name].core.nodes["charlie"].status == "dead"
        assert (
            net.nodes[name].core.nodes[{"alpha": "bravo", "bravo": "alpha"}[name]].status
            == "active"
        )


def test_local_stall_does_not_kill_peers() -> None:
    net = formed()
    alpha = net.nodes["alpha"]
    # alpha is frozen for 3 s while bravo keeps sending; its packets are queued.
    queued: list[bytes] = []
    start = net.now
    while net.now < start + 3.0:
        net.now += 0.2
        net.nodes["bravo"].core.tick(net.now, net.wall())
        queued.extend(net.nodes["bravo"].core.drain_outbound())
    alpha.core.tick(net.now, net.wall())
    for data in queued:
        alpha.core.receive(data, "eth0", net.now, net.wall())
    net.flush()
    assert alpha.of(ev.LocalStall)
    assert not alpha.of(ev.NodeDead)


def test_msgfmt_netstring_node_sends_no_embedded_auth_and_classic_peers_accept_it() -> None:
    """``msgfmt`` only decides the embedded classic ``auth`` field (spec §4.4-4.5): both
    settings send netstring, and every receiver checks the trailer."""
    net = Net()
    alpha = net.nodes["alpha"].core
    alpha.apply_config(replace(alpha.config, msgfmt="netstring"), Authenticator(KEY), net.now)
    net.start()
    net.run_for(2.0)
    keyed = Authenticator(KEY)
    sent = {
        name: [decode_datagram(d, keyed) for s, d in net.wire if s == name] for name in net.nodes
    }
    assert sent["alpha"] and all("auth" not in m for m in sent["alpha"])
    assert sent["bravo"] and all("auth" in m for m in sent["bravo"])
    assert net.nodes["bravo"].core.nodes["alpha"].status == "active"
    assert net.nodes["alpha"].core.nodes["bravo"].status == "active"
