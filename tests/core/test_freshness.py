"""Fresh liveness after our restart (issue 15 part 2), on a fake clock.

A peer counts as alive only once one of its signed packets names a sequence number we
sent in this run (its ``hearseq`` echo, an ACK or a retransmit request). Replayed
traffic cannot, so a dead peer whose packets are played back after our restart is shown
``up`` (unconfirmed) at most, never ``active``, and is declared dead at initdead.
"""

from __future__ import annotations

import random

import pytest

from engine.core import events as ev
from engine.core.freshness import ECHO_FIELD, echoed_seq, format_echo, named_seq, seq_base
from engine.core.membership import HEARS_FIELD, Membership
from engine.protocol.auth import Authenticator
from engine.protocol.codec import decode_datagram
from engine.protocol.message import Message
from tests.core.sim import KEY, Net, SimNode, make_config

KEEPALIVE = 0.2
INITDEAD = 3.0


class HeartbeatLike(Membership):
    """A peer whose heartbeats carry only Heartbeat 3.0.6's status fields (no ``hears``,
    no ``hearseq``): it can prove freshness only the way real Heartbeat does, by ACKs."""

    def _status_message(self, now: float) -> Message:
        msg = super()._status_message(now)
        msg.remove(HEARS_FIELD)
        msg.remove(ECHO_FIELD)
        return msg


class Ancient(HeartbeatLike):
    """A peer without flow control (no ``protocol`` field): it never ACKs."""

    def _status_message(self, now: float) -> Message:
        msg = super()._status_message(now)
        msg.remove("protocol")
        return msg


def restart(
    net: Net,
    name: str,
    core_class: type[Membership] = Membership,
    deliver_first: list[bytes] | None = None,
    flush: bool = True,
) -> SimNode:
    """Replace ``name`` by a fresh run: next generation, peers' generations remembered;
    ``deliver_first`` arrive right after its start, before anything else moves."""
    old = net.nodes[name].core
    known = {n.name: n.track.generation for n in old.peers() if n.track.generation}
    core = core_class(
        make_config(name, nodes=tuple(net.nodes)),
        Authenticator(KEY),
        uuid=old.uuid,
        generation=old.generation + 1,
        now=net.now,
        rng=random.Random(old.generation + 1),
        peer_generations=known,
    )
    node = SimNode(name, core)
    net.nodes[name] = node
    core.start(net.now, net.wall())
    for data in deliver_first or []:
        for link in net.links:
            core.receive(data, link, net.now, net.wall())
    if flush:
        net.flush()
    return node


def shown(node: SimNode, peer: str) -> dict[str, object]:
    doc = node.core.snapshot(0.0)
    return next(n for n in doc["nodes"] if n["name"] == peer)


def formed(**kw: object) -> Net:
    net = Net(**kw)  # type: ignore[arg-type]
    net.start()
    net.run_for(2.0)
    return net


def bravo_captured_then_killed(settle: float, seconds: float) -> tuple[Net, list[bytes]]:
    """A formed pair ``settle`` s on; bravo's datagrams of the next ``seconds``; then
    bravo dies (its captured traffic is what an attacker plays back)."""
    net = formed()
    net.run_for(settle)
    net.wire.clear()
    net.run_for(seconds)
    captured = [d for s, d in net.wire if s == "bravo"]
    net.nodes["bravo"].alive = False
    return net, captured


def confirmations(node: SimNode) -> list[ev.NodeConfirmed]:
    return [e for e in node.events if isinstance(e, ev.NodeConfirmed)]


# ----------------------------------------------------------------- the wire fields


def test_sequence_numbers_are_unique_across_runs() -> None:
    assert seq_base(0x6B15C9B2) == 0x6B15C9B200000000
    assert seq_base(0x6B15C9B3) - seq_base(0x6B15C9B2) == 2**32
    net = formed()
    alpha = net.nodes["alpha"].core
    first = next(decode_datagram(d, None) for s, d in net.wire if s == "alpha")
    assert int(first.get("seq") or "", 16) == seq_base(alpha.generation) + 1


def test_echo_field_names_every_peer_heard_and_parses_bounded() -> None:
    net = formed()
    status = [decode_datagram(d, None) for s, d in net.wire if s == "bravo"][-1]
    text = status.get(ECHO_FIELD)
    alpha = net.nodes["alpha"].core
    assert echoed_seq(text, "alpha") == net.nodes["bravo"].core.nodes["alpha"].track.last_seq
    assert echoed_seq(text, "alpha") is not None
    assert echoed_seq(text, "alpha") <= alpha._seq  # type: ignore[operator]
    assert format_echo({}) == " "
    assert echoed_seq("alpha:zz", "alpha") is None
    assert echoed_seq("alpha:" + "f" * 17, "alpha") is None
    assert echoed_seq("x" * 5000 + " alpha:1", "alpha") is None
    assert echoed_seq("alphabet:5 alpha:6", "alpha") == 6
    ack = Message.of(("t", "NS_ackmsg"), ("dest", "alpha"), ("ackseq", "6400000007"))
    assert named_seq(ack, "NS_ackmsg", "alpha") == ("ack", 0x6400000007)
    rexmit = Message.of(("t", "NS_rexmit"), ("firstseq", "12"), ("lastseq", "12"))
    assert named_seq(rexmit, "NS_rexmit", "alpha") == ("rexmit", 12)
    assert named_seq(Message.of(("t", "NS_rexmit"), ("firstseq", "-1")), "NS_rexmit", "a") is None


# ------------------------------------------------------- restart, kill, replay


def test_replayed_dead_peer_is_never_active_and_dies_at_initdead() -> None:
    """Capture bravo, restart alpha, kill bravo, play its packets back at keepalive pace:
    alpha shows bravo ``up`` (unconfirmed), never ``active``, and declares it dead once
    its own initdead has passed; the replay goes on changing nothing."""
    net, captured = bravo_captured_then_killed(4.0, 60 * KEEPALIVE)
    alpha = restart(net, "alpha")
    start = net.now
    shown_states: set[str] = set()
    for data in captured:
        for link in ("eth0", "eth1"):
            alpha.core.receive(data, link, net.now, net.wall())
        net.flush()
        doc = shown(alpha, "bravo")
        shown_states.add(str(doc["status"]))
        if net.now - start < INITDEAD - 0.01:
            assert doc["status"] == "up" and doc["confirmed"] is False, doc
            assert doc["claims"] == "active"
        net.run_for(KEEPALIVE / 2)
    assert net.now - start > INITDEAD + 1.0  # the replay outlasted initdead
    assert "active" not in shown_states
    deaths = [e for e in alpha.events if isinstance(e, ev.NodeDead)]
    assert len(deaths) == 1 and deaths[0].node == "bravo"
    assert "showed within initdead 3000 ms that it hears us" in deaths[0].reason
    assert alpha.core.comm_up
    changed = [
        e
        for e in alpha.events
        if isinstance(e, ev.NodeStatusChanged | ev.PartitionHealed | ev.NodeRestarted)
        and getattr(e, "node", "") == "bravo"
        and not (isinstance(e, ev.NodeStatusChanged) and e.new == "dead")
    ]
    assert changed == []
    assert not confirmations(alpha)
    assert shown(alpha, "bravo")["status"] == "dead"
    assert alpha.core.counters["unconfirmed"] > 0
    assert not any(isinstance(e, ev.MessageReceived) and not e.from_self for e in alpha.events)


def test_packets_captured_in_this_run_do_not_revive_a_dead_peer() -> None:
    """After we declare bravo dead, its packets from before its death (which echo our
    *earlier* numbers) prove nothing: confirmation needs a number sent after the death."""
    net, captured = bravo_captured_then_killed(6.0, 10 * KEEPALIVE)
    net.run_for(1.5)
    alpha = net.nodes["alpha"]
    assert alpha.core.nodes["bravo"].status == "dead"
    mark = len(alpha.events)
    for data in captured:
        alpha.core.receive(data, "eth0", net.now, net.wall())
        net.run_for(KEEPALIVE)
    later = alpha.events[mark:]
    assert not any(isinstance(e, ev.NodeConfirmed | ev.PartitionHealed) for e in later)
    assert shown(alpha, "bravo")["status"] == "dead"


# -------------------------------------------------------------- formation cost


@pytest.mark.parametrize("phase", [i / 10 for i in range(10)])
def test_formation_after_our_restart_costs_at_most_one_keepalive(phase: float) -> None:
    """Worst case: bravo's heartbeat sent just before our restart arrives just after it
    (where the old code counted bravo alive at once). It cannot echo our new numbers, so
    bravo is confirmed by its next heartbeat (or an ACK): at most one keepalive later."""
    net = formed()
    net.run_for(3.0 + phase * KEEPALIVE)
    in_flight = [d for s, d in net.wire if s == "bravo"][-1]
    alpha = restart(net, "alpha", deliver_first=[in_flight], flush=False)
    start = net.now
    assert shown(alpha, "bravo")["status"] == "up"
    assert not alpha.core.nodes["bravo"].fresh.confirmed
    net.flush()
    while net.now < start + 2.0 and not confirmations(alpha):
        net.run_for(0.001)
    assert net.now - start <= KEEPALIVE + 0.001, confirmations(alpha)
    net.run_for(1.0)
    assert alpha.core.comm_up and alpha.core.nodes["bravo"].status == "active"


@pytest.mark.parametrize("phase", [i / 5 for i in range(5)])
def test_formation_costs_at_most_one_keepalive_when_the_instant_answer_is_lost(
    phase: float,
) -> None:
    """bravo answers our first heartbeats at once with its own (echoing us); if that
    answer is lost, its next regular heartbeat echoes us: one keepalive at most."""
    net = formed()
    net.run_for(3.0 + phase * KEEPALIVE)
    alpha = restart(net, "alpha", flush=False)
    start = net.now
    bravo = net.nodes["bravo"].core
    for data in alpha.core.drain_outbound():
        bravo.receive(data, "eth0", net.now, net.wall())
    lost = bravo.drain_outbound()
    assert any(decode_datagram(d, None).type == "status" for d in lost)  # the instant answer
    while net.now < start + 2.0 and not confirmations(alpha):
        net.run_for(0.001)
    assert confirmations(alpha)
    assert net.now - start <= KEEPALIVE + 0.001


def test_both_restart_at_once_and_form_within_one_keepalive() -> None:
    net = Net()
    net.start()
    net.run_for(2 * KEEPALIVE)
    for node in net.nodes.values():
        assert node.core.comm_up
        assert all(p.fresh.confirmed for p in node.core.peers())


def test_a_peer_without_the_echo_is_probed_and_confirmed_by_its_ack() -> None:
    """Real Heartbeat does not echo: our ten-heartbeat burst makes it ACK at once."""
    net = formed()
    net.run_for(2.0)
    restart(net, "bravo", HeartbeatLike)
    net.run_for(3.0)
    alpha = restart(net, "alpha")
    start = net.now
    net.run_for(KEEPALIVE + 0.001)
    got = confirmations(alpha)
    assert got and got[0].how == "ack", alpha.events
    assert net.now - start <= KEEPALIVE + 0.002
    sent = [decode_datagram(d, None) for s, d in net.wire if s == "alpha"]
    assert sum(1 for m in sent if m.type == "status") >= 10
    net.run_for(1.0)
    assert alpha.core.comm_up and alpha.core.nodes["bravo"].status == "active"


def test_a_peer_that_can_neither_echo_nor_ack_is_trusted_with_a_warning() -> None:
    net = formed()
    restart(net, "bravo", Ancient)
    net.run_for(3.0)
    alpha = restart(net, "alpha")
    net.run_for(KEEPALIVE + 0.01)
    got = confirmations(alpha)
    assert got and got[0].how == "unverifiable"
    warnings = [e.text for e in alpha.events if isinstance(e, ev.LogEvent) and e.level == "WARN"]
    assert any("trusted without proof, as Heartbeat does" in t for t in warnings)
    assert shown(alpha, "bravo")["freshness"].startswith("trusted without proof")  # type: ignore[union-attr]


# -------------------------------------------------- deferred restart and heal


def test_peer_restart_while_we_were_down_is_reported_once_confirmed() -> None:
    net = formed()
    net.nodes["alpha"].alive = False
    restart(net, "bravo")
    net.run_for(1.0)
    net.nodes["alpha"].alive = True
    alpha = restart(net, "alpha")
    net.run_for(2 * KEEPALIVE)
    restarts = [e for e in alpha.events if isinstance(e, ev.NodeRestarted)]
    assert len(restarts) == 1 and restarts[0].new_generation == restarts[0].old_generation + 1
    first = next(i for i, e in enumerate(alpha.events) if isinstance(e, ev.NodeConfirmed))
    assert alpha.events.index(restarts[0]) > first


def test_healed_partition_needs_two_way_proof_and_is_reported_once() -> None:
    net = formed()
    net.run_for(6.0)
    for link in net.links:
        net.cut.add(("alpha", "bravo", link))
    net.run_for(2.0)
    for node in net.nodes.values():
        assert all(p.status == "dead" for p in node.core.peers())
    net.cut.clear()
    net.run_for(3 * KEEPALIVE)
    for node in net.nodes.values():
        healed = [e for e in node.events if isinstance(e, ev.PartitionHealed)]
        assert len(healed) == 1, node.name
        assert node.core.nodes[{"alpha": "bravo", "bravo": "alpha"}[node.name]].status == "active"


def test_unconfirmed_peer_gets_no_link_up_and_no_messages_to_the_policy() -> None:
    net = formed()
    net.run_for(1.0)
    net.wire.clear()
    bravo = net.nodes["bravo"].core
    bravo.send(Message.of(("t", "resource"), ("rsc_hold", "all")), net.now, net.wall())
    net.flush()
    captured = [d for s, d in net.wire if s == "bravo"]
    net.nodes["bravo"].alive = False
    alpha = restart(net, "alpha")
    for data in captured:
        alpha.core.receive(data, "eth0", net.now, net.wall())
    net.flush()
    assert not [e for e in alpha.events if isinstance(e, ev.MessageReceived) and not e.from_self]
    assert not [
        e for e in alpha.events if isinstance(e, ev.LinkStatusChanged) and e.node == "bravo"
    ]
    assert alpha.core.nodes["bravo"].links["eth0"].status == "dead"
