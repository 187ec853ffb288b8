"""Cheap handling of byte-identical copies (every medium carries every message), our own
links, and when the shell needs to pump (fake clock, no I/O)."""

from __future__ import annotations

from engine.core import events as ev
from engine.core.membership import NS_COPY_WINDOW, Membership
from engine.protocol.codec import decode_datagram
from engine.protocol.message import Message
from tests.core.sim import Net


def formed() -> Net:
    net = Net()
    net.start()
    net.run_for(6.0)
    return net


def _status_from(core: Membership, net: Net) -> bytes:
    """The status datagram ``core`` sends now (its self-ACK, if any, is left out)."""
    core._send_status(net.now, net.wall())
    out = [d for d in core.drain_outbound() if decode_datagram(d, None).type == "status"]
    core.drain_events()
    assert len(out) == 1
    return out[0]


def _ack_from_bravo(net: Net) -> bytes:
    """A signed NS_ackmsg from bravo to alpha, as bravo's core would send it."""
    bravo = net.nodes["bravo"].core
    ack = Message.of(("t", "NS_ackmsg"), ("dest", "alpha"), ("ackseq", "5"))
    bravo.send(ack, net.now, net.wall())
    out = bravo.drain_outbound()
    bravo.drain_events()
    assert len(out) == 1
    return out[0]


def test_copy_of_an_ns_message_on_the_next_medium_is_a_duplicate() -> None:
    net = formed()
    alpha = net.nodes["alpha"].core
    data = _ack_from_bravo(net)
    before = alpha.counters["duplicates"]
    assert alpha.receive(data, "eth0", net.now, net.wall())
    assert alpha.nodes["bravo"].ackseq == 5
    alpha.nodes["bravo"].ackseq = 0  # if the copy were processed again, it would set it back
    assert alpha.receive(data, "eth1", net.now + 0.001, net.wall())
    assert alpha.counters["duplicates"] == before + 1
    assert alpha.nodes["bravo"].ackseq == 0
    assert alpha.nodes["bravo"].links["eth1"].last_heard == net.now + 0.001


def test_ns_copy_is_processed_again_after_the_window() -> None:
    net = formed()
    alpha = net.nodes["alpha"].core
    data = _ack_from_bravo(net)
    alpha.receive(data, "eth0", net.now, net.wall())
    alpha.nodes["bravo"].ackseq = 0
    before = alpha.counters["duplicates"]
    alpha.receive(data, "eth1", net.now + NS_COPY_WINDOW + 0.1, net.wall())
    assert alpha.counters["duplicates"] == before
    assert alpha.nodes["bravo"].ackseq == 5


def test_copy_of_a_numbered_message_is_a_duplicate_only_while_it_is_the_latest() -> None:
    net = formed()
    alpha, bravo = net.nodes["alpha"].core, net.nodes["bravo"].core
    first = _status_from(bravo, net)
    second = _status_from(bravo, net)
    alpha.receive(first, "eth0", net.now, net.wall())
    alpha.receive(second, "eth0", net.now, net.wall())
    before = alpha.counters["duplicates"]
    alpha.receive(first, "eth1", net.now, net.wall())  # an old packet: the full pipeline
    assert alpha.counters["duplicates"] == before
    alpha.receive(second, "eth1", net.now, net.wall())
    assert alpha.counters["duplicates"] == before + 1


def test_own_links_come_up_when_sends_succeed() -> None:
    net = Net()
    alpha = net.nodes["alpha"].core
    assert alpha.self_node.links["eth0"].status == "dead"
    alpha.own_links_sent({"eth0"}, net.now)
    events = alpha.drain_events()
    ups = [e for e in events if isinstance(e, ev.LinkStatusChanged)]
    assert [(e.node, e.link, e.status) for e in ups] == [("alpha", "eth0", "up")]
    assert alpha.self_node.links["eth1"].status == "dead"
    alpha.own_links_sent({"eth0", "ping-unknown"}, net.now + 1)  # unknown names ignored
    assert not alpha.drain_events()
    assert alpha.self_node.links["eth0"].last_heard == net.now + 1


def test_has_work_ignores_rejections_only() -> None:
    net = formed()
    alpha = net.nodes["alpha"].core
    alpha.drain_events()
    alpha.drain_outbound()
    assert not alpha.has_work()
    alpha.receive(b"garbage", "eth0", net.now, net.wall())
    assert not alpha.has_work()  # a rejection alone: the shell logs it without pumping
    assert any(isinstance(e, ev.PacketRejected) for e in alpha.drain_events())
    msg = Message.of(("t", "NS_ackmsg"), ("dest", "bravo"), ("ackseq", "1"))
    alpha.send(msg, net.now, net.wall())
    assert alpha.has_work()


def test_steady_heartbeat_leaves_no_work() -> None:
    """The common case the shell skips the pump for: an in-order status that changes nothing."""
    net = formed()
    alpha, bravo = net.nodes["alpha"].core, net.nodes["bravo"].core
    data = _status_from(bravo, net)
    while bravo._seq % 10 == alpha.nodes["bravo"].ack_trigger:  # every tenth is ACKed
        alpha.receive(data, "eth0", net.now, net.wall())
        data = _status_from(bravo, net)
    alpha.drain_events()
    alpha.drain_outbound()
    alpha.receive(data, "eth0", net.now + 0.2, net.wall())
    assert not alpha.has_work()


def test_links_of_a_dead_node_die_in_the_same_scan_even_after_a_late_ack() -> None:
    net = formed()
    alpha = net.nodes["alpha"].core
    net.now += 0.15
    alpha.receive(_ack_from_bravo(net), "eth0", net.now, net.wall())  # after its last status
    net.nodes["bravo"].alive = False
    while not net.nodes["alpha"].of(ev.NodeDead):
        net.run_for(0.01)
    # The same tick that declared bravo dead also took its links down, eth0 included,
    # although eth0 heard the ACK 150 ms after bravo's last status.
    links = alpha.nodes["bravo"].links
    assert {name: link.status for name, link in links.items()} == {"eth0": "dead", "eth1": "dead"}
    changes = [e for e in net.nodes["alpha"].of(ev.LinkStatusChanged) if e.node == "bravo"]
    assert "bravo is dead" in changes[-1].reason or "bravo is dead" in changes[-2].reason
