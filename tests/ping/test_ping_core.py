"""Ping pseudo-nodes in the membership core, the ICMP codec, and ipfail's decisions."""

from __future__ import annotations

import dataclasses

from engine.config.model import ClusterConfig, MediumKind, MediumSpec, SourceRef, Timing
from engine.core import events as ev
from engine.core.ipfail import IpFail, ipfail_enabled
from engine.core.membership import Membership
from engine.protocol.auth import Authenticator
from engine.protocol.codec import decode_datagram, encode_wire
from engine.protocol.message import Message
from engine.transport.ping import echo_request, icmp_checksum, parse_echo_reply, ping_payload
from tests.core.sim import KEY, WALL0, make_config

AUTH = Authenticator(KEY)
ROUTER = "10.99.0.254"


def ping_config() -> ClusterConfig:
    base = make_config("alpha")
    ping = MediumSpec(MediumKind.PING, ROUTER, SourceRef("ha.cf", 9), members=(ROUTER,))
    return dataclasses.replace(
        base, media=(*base.media, ping), timing=Timing(200, 1000, 600, 3000, 2000)
    )


def core() -> Membership:
    return Membership(ping_config(), AUTH, uuid=b"\1" * 16, generation=5, now=100.0)


def reply(ts: int) -> bytes:
    return ping_payload(ROUTER, format(ts, "x"), AUTH)


def test_ping_node_is_a_pseudo_node_with_one_link_and_deadping() -> None:
    m = core()
    doc = {n["name"]: n for n in m.snapshot(100.0)["nodes"]}
    node = doc[ROUTER]
    assert node["type"] == "ping"
    assert node["deadtime_ms"] == 2000
    assert [link["name"] for link in node["links"]] == [ROUTER]
    assert [n.name for n in m.peers()] == ["bravo"]


def test_echo_reply_makes_it_ping_and_silence_makes_it_dead_without_more() -> None:
    m = core()
    m.start(100.0, WALL0)
    assert m.receive(reply(int(WALL0)), ROUTER, 100.2, WALL0)
    events = m.drain_events()
    assert ev.NodeStatusChanged(ROUTER, "init", "ping") in events
    assert any(isinstance(e, ev.LinkStatusChanged) and e.link == ROUTER for e in events)
    m.comm_up = True  # deadping applies once comm is up
    for step in range(1, 5):
        m.tick(100.2 + step * 0.2, WALL0 + 1)
    assert not [e for e in m.drain_events() if isinstance(e, ev.NodeDead) and e.node == ROUTER]
    for step in range(5, 12):
        m.tick(100.2 + step * 0.2, WALL0 + 2)
    events = m.drain_events()
    dead = [e for e in events if isinstance(e, ev.NodeDead) and e.node == ROUTER]
    assert dead and dead[0].node == ROUTER
    assert "never move resources" in dead[0].reason
    assert ev.NodeStatusChanged(ROUTER, "ping", "dead") in events
    # a replayed old reply does not revive it; a fresh one does
    m.receive(reply(int(WALL0) - 5), ROUTER, 102.5, WALL0 + 2)
    assert not [
        e for e in m.drain_events() if isinstance(e, ev.NodeStatusChanged) and e.node == ROUTER
    ]
    m.receive(reply(int(WALL0) + 3), ROUTER, 102.6, WALL0 + 3)
    assert ev.NodeStatusChanged(ROUTER, "dead", "ping") in m.drain_events()


def test_every_reply_refreshes_the_ping_node_even_with_the_same_ts() -> None:
    """Pings of one second carry identical bytes; each reply still counts (deadping from
    the last one, not from the first of its second)."""
    m = core()
    m.start(100.0, WALL0)
    m.comm_up = True
    now = 100.0
    for _ in range(8):  # 1.6 s of replies to statuses with the same ts
        now += 0.2
        m.receive(reply(int(WALL0)), ROUTER, now, WALL0 + 0.5)
        m.tick(now, WALL0 + 0.5)
    last_reply = now
    while m.nodes[ROUTER].status == "ping" and now < last_reply + 5:
        now += 0.05
        m.tick(now, WALL0 + 1)
    assert m.nodes[ROUTER].status == "dead"
    assert 2.0 <= now - last_reply <= 2.0 + 0.06  # deadping 2 s after the LAST reply


def test_ping_node_cannot_be_spoken_for_on_another_link_or_unsigned() -> None:
    m = core()
    m.receive(reply(int(WALL0)), "eth0", 100.1, WALL0)
    assert m.rejected["bad_ping"] == 1
    status = Message.of(
        ("t", "status"), ("st", "active"), ("src", ROUTER), ("seq", "1"), ("ts", "6a0b1c2d")
    )
    m.receive(encode_wire(status, AUTH), ROUTER, 100.1, WALL0)
    assert m.rejected["bad_ping"] == 2
    other = Authenticator(
        dataclasses.replace(KEY, keys=(dataclasses.replace(KEY.keys[0], secret=b"wrong"),))
    )
    assert not m.receive(ping_payload(ROUTER, "6a0b1c2d", other), ROUTER, 100.1, WALL0)
    assert m.nodes[ROUTER].status == "init"


def test_icmp_echo_round_trip() -> None:
    payload = reply(int(WALL0))
    packet = echo_request(0x1234, 7, payload)
    assert icmp_checksum(packet) == 0
    echoed = bytes([0]) + packet[1:]  # type 0 = echo reply, as the router sends it back
    ip_header = bytes([0x45]) + bytes(19)
    assert parse_echo_reply(ip_header + echoed, has_ip_header=True) == (0x1234, payload)
    assert parse_echo_reply(echoed, has_ip_header=False) == (0x1234, payload)
    assert parse_echo_reply(packet, has_ip_header=False) is None  # our own request
    assert parse_echo_reply(b"\0\0", has_ip_header=False) is None
    msg = decode_datagram(payload, AUTH)
    assert (msg.type, msg.get("st"), msg.get("info"), msg.get("src")) == (
        "NS_st",
        "ping",
        "ping",
        ROUTER,
    )


# ----------------------------------------------------------------------------- ipfail


def pair() -> tuple[IpFail, IpFail]:
    a = IpFail("alpha", "bravo", (ROUTER,), 200)
    b = IpFail("bravo", "alpha", (ROUTER,), 200)
    for side in (a, b):
        side.on_ping_status(ROUTER, "ping", 0.0)
    exchange(a, b, 0.0)
    return a, b


def exchange(a: IpFail, b: IpFail, now: float) -> None:
    """Deliver queued messages both ways until quiet."""
    for _ in range(10):
        moved = False
        for src, dst in ((a, b), (b, a)):
            for msg in src.drain_outbound():
                moved = True
                msg.set("src", src.me)
                dst.on_message(msg, now)
        if not moved:
            return


def test_node_that_lost_its_ping_node_gives_up_after_the_delay() -> None:
    a, b = pair()
    a.on_ping_status(ROUTER, "dead", 10.0)
    exchange(a, b, 10.0)
    assert a.giveup_pending and not b.giveup_pending
    assert ("info", "Telling other node that we have more visible ping nodes.") in b.drain_logs()
    assert not a.due_giveup(10.5)
    assert a.due_giveup(11.0)
    assert a.giveups == 1 and b.giveups == 0


def test_a_refused_give_up_is_retried_but_logged_and_counted_once() -> None:
    a, b = pair()
    a.on_ping_status(ROUTER, "dead", 10.0)
    exchange(a, b, 10.0)
    assert a.giveup_reason == "bravo sees more ping nodes than we do (0 visible here)"
    a.drain_logs()
    assert a.due_giveup(11.0) and not a.retrying
    a.retry_giveup(11.0)  # the policy refused: the cluster is in flux
    assert a.retrying and a.giveup_pending and a.next_deadline() == 11.2
    assert a.due_giveup(11.2)
    a.retry_giveup(11.2)
    assert a.due_giveup(11.4)  # accepted this time
    assert a.drain_logs() == [("info", "giveup() called (timeout worked)")]
    assert a.giveups == 1
    # a new give-up later is a new one: logged and counted again
    b.on_ping_status(ROUTER, "dead", 20.0)
    exchange(a, b, 20.0)
    b.on_ping_status(ROUTER, "ping", 21.0)
    exchange(a, b, 21.0)
    assert a.giveup_pending and not a.retrying
    assert a.due_giveup(22.0) and a.giveups == 2


def test_both_lost_nothing_moves() -> None:
    a, b = pair()
    a.on_ping_status(ROUTER, "dead", 10.0)
    exchange(a, b, 10.0)
    assert a.giveup_pending
    b.on_ping_status(ROUTER, "dead", 10.3)  # a keepalive later: count is balanced again
    exchange(a, b, 10.3)
    assert not a.giveup_pending and not b.giveup_pending
    assert not a.due_giveup(20.0) and not b.due_giveup(20.0)
    assert ("info", "Ping node count is balanced.") in a.drain_logs() + b.drain_logs()


def test_messages_from_others_and_bad_counts_are_ignored() -> None:
    a, _ = pair()
    forged = Message.of(("t", "you_are_dead"), ("src", "charlie"))
    a.on_message(forged, 1.0)
    assert not a.giveup_pending
    a.on_message(Message.of(("t", "num_ping_nodes"), ("src", "bravo"), ("num_ping", "x")), 1.0)
    assert not a.giveup_pending and a.drain_outbound() == []


def test_ipfail_runs_only_when_named_with_ping_nodes_and_one_peer() -> None:
    assert ipfail_enabled(("/usr/lib/heartbeat/ipfail",), (ROUTER,), ("bravo",))
    assert not ipfail_enabled(("/usr/lib/heartbeat/ipfail",), (), ("bravo",))
    assert not ipfail_enabled(("/bin/other",), (ROUTER,), ("bravo",))
    assert not ipfail_enabled(("/usr/lib/heartbeat/ipfail",), (ROUTER,), ("b", "c"))
